/**
 * Turns a failed GitHub API call into a ModelshipError that says what to change: the permission the
 * workflow must grant, the token to pass, or that GitHub itself failed.
 */
import { ModelshipError } from '../errors.js';

interface RequestErrorLike {
  name: string;
  status: number;
  message: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

function isRequestError(error: unknown): error is RequestErrorLike {
  return (
    error instanceof Error &&
    error.name === 'HttpError' &&
    typeof (error as unknown as { status?: unknown }).status === 'number'
  );
}

/** `pull_requests=write; issues=write` → `pull-requests: write` or `issues: write`. */
function permissionsHint(accepted: string): string {
  const options = accepted
    .split(/[;,]/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      const [name, level] = p.split('=');
      return `\`${name.replace(/_/g, '-')}: ${level}\``;
    });
  return options.length === 0
    ? 'Grant the job the permission this call needs under `permissions:` in the workflow.'
    : `Grant the job ${options.join(' or ')} under \`permissions:\` in the workflow.`;
}

function apiMessage(error: RequestErrorLike): string {
  const data = error.response?.data as { message?: unknown; errors?: unknown } | undefined;
  const message = typeof data?.message === 'string' ? data.message : error.message;
  const details = (Array.isArray(data?.errors) ? (data.errors as unknown[]) : []).map((e) => {
    if (typeof e === 'string') return e;
    const { resource, field, code, message: text } = (e ?? {}) as Record<string, unknown>;
    return typeof text === 'string' ? text : [resource, field, code].filter((p) => typeof p === 'string').join(' ');
  });
  return details.some(Boolean) ? `${message} (${details.filter(Boolean).join('; ')})` : message;
}

/**
 * A ModelshipError for a failed GitHub request; anything else is returned unchanged.
 * `doing` completes "GitHub refused to …", e.g. `create the release iris@v1.2.0`.
 */
export function gitHubError(error: unknown, doing: string): unknown {
  if (!isRequestError(error)) return error;
  const headers = error.response?.headers ?? {};
  const message = apiMessage(error);
  const options = { cause: error };
  switch (error.status) {
    case 401:
      return new ModelshipError(
        'GITHUB_UNAUTHORIZED',
        `GitHub rejected the token while trying to ${doing}: ${message}.`,
        'Pass a valid token in the `token` input (the default is the job token, `${{ github.token }}`).',
        undefined,
        options,
      );
    case 403:
    case 429:
      if (String(headers['x-ratelimit-remaining']) === '0' || /rate limit/i.test(message)) {
        return new ModelshipError(
          'GITHUB_RATE_LIMITED',
          `GitHub's rate limit stopped the attempt to ${doing}: ${message}.`,
          'Wait for the limit to reset, or run fewer jobs that call the API at once.',
          undefined,
          options,
        );
      }
      return new ModelshipError(
        'GITHUB_FORBIDDEN',
        `GitHub refused to ${doing}: ${message}.`,
        permissionsHint(String(headers['x-accepted-github-permissions'] ?? '')),
        undefined,
        options,
      );
    case 404:
      return new ModelshipError(
        'GITHUB_NOT_FOUND',
        `GitHub found nothing while trying to ${doing}: ${message}.`,
        'Check the repository, number or tag, and that the token can see the repository.',
        undefined,
        options,
      );
    case 409:
    case 422:
      return new ModelshipError(
        'GITHUB_REJECTED',
        `GitHub refused to ${doing}: ${message}.`,
        undefined,
        undefined,
        options,
      );
    default:
      return new ModelshipError(
        'GITHUB_UNAVAILABLE',
        `GitHub failed while trying to ${doing} (HTTP ${error.status}): ${message}.`,
        'This is on GitHub’s side or the network’s; re-run the job.',
        undefined,
        options,
      );
  }
}
