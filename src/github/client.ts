/**
 * The one Octokit factory. Every GitHub call in modelship goes through a client made here, so retry,
 * pacing and logging behave the same in every step.
 */
import { getOctokit } from '@actions/github';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import type { Logger } from '../log.js';

export type GitHubClient = ReturnType<typeof getOctokit>;

export interface GitHubClientOptions {
  token: string;
  /** REST API root; default `GITHUB_API_URL`, else https://api.github.com. */
  baseUrl?: string;
  log?: Logger;
  /** Retries of a request that failed with a 5xx or a network error; 4xx answers are never retried. Default 3. */
  retries?: number;
  /** Base of the quadratic retry back-off (1, 4, 9 × this). Default 1000 ms, 10 ms against a loopback host. */
  retryDelayMs?: number;
  /**
   * GitHub asks integrations to space writes (one per second, notifications one per three seconds) and
   * to wait out rate limits. On by default; off against a loopback host, which is not GitHub.
   */
  throttle?: boolean;
  /** How many times to wait out a primary or secondary rate limit before giving up. Default 2. */
  rateLimitRetries?: number;
}

/** Client errors are the caller's to handle: retrying them only hides the answer. */
const doNotRetry = [400, 401, 403, 404, 409, 410, 422, 451];

export function createGitHubClient(options: GitHubClientOptions): GitHubClient {
  const baseUrl = (options.baseUrl ?? process.env.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/+$/, '');
  const local = isLoopbackUrl(baseUrl);
  const log = options.log;
  const rateLimitRetries = options.rateLimitRetries ?? 2;
  const onLimit =
    (kind: string) =>
    (retryAfter: number, request: { method: string; url: string }, _o: unknown, retryCount: number) => {
      const again = retryCount < rateLimitRetries;
      log?.warn(
        `GitHub ${kind} rate limit hit on ${request.method} ${request.url}; ${again ? `retrying in ${retryAfter} s` : 'giving up'}.`,
      );
      return again;
    };
  return getOctokit(
    options.token,
    {
      baseUrl,
      userAgent: 'modelship',
      log: {
        debug: (message: string) => log?.debug(message),
        info: (message: string) => log?.debug(message),
        warn: (message: string) => log?.warn(message),
        error: (message: string) => log?.error(message),
      },
      retry: {
        doNotRetry,
        retries: options.retries ?? 3,
        retryAfterBaseValue: options.retryDelayMs ?? (local ? 10 : 1000),
      },
      throttle: {
        enabled: options.throttle ?? !local,
        onRateLimit: onLimit('primary'),
        onSecondaryRateLimit: onLimit('secondary'),
      },
    },
    retry,
    throttling,
  );
}

function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
