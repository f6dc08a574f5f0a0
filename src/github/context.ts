/**
 * What the runner tells an action about the run, read from its environment. Read once, passed on as
 * plain data, so steps never look at process.env themselves.
 */
import { readFileSync } from 'node:fs';
import { ModelshipError } from '../errors.js';

export interface GitHubRunContext {
  owner: string;
  repo: string;
  sha: string;
  ref: string;
  eventName: string;
  /** The webhook payload of the event that started the run; `{}` when the runner gave none. */
  payload: Record<string, unknown>;
  /** Link to this workflow run, for summaries and deployment statuses. */
  runUrl: string;
  runId: string;
  actor: string;
  apiUrl: string;
  serverUrl: string;
  /** Set for pull_request and pull_request_target events (and issue comments on a pull request). */
  pullRequestNumber?: number;
}

type Env = Record<string, string | undefined>;

const hint = 'Run this inside a GitHub Actions job, or set the variable the way the runner does.';

function required(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new ModelshipError('GITHUB_CONTEXT_MISSING', `Environment variable ${name} is not set.`, hint);
  return value;
}

export function readGitHubContext(env: Env = process.env): GitHubRunContext {
  const repository = required(env, 'GITHUB_REPOSITORY');
  const match = /^([^/\s]+)\/([^/\s]+)$/.exec(repository);
  if (!match) {
    throw new ModelshipError(
      'GITHUB_CONTEXT_INVALID',
      `GITHUB_REPOSITORY must be 'owner/repo', got '${repository}'.`,
      hint,
    );
  }
  const [, owner, repo] = match;
  const serverUrl = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
  const apiUrl = (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '');
  const runId = env.GITHUB_RUN_ID ?? '';
  const payload = readPayload(env.GITHUB_EVENT_PATH);
  return {
    owner,
    repo,
    sha: required(env, 'GITHUB_SHA'),
    ref: env.GITHUB_REF ?? '',
    eventName: required(env, 'GITHUB_EVENT_NAME'),
    payload,
    runUrl: runId ? `${serverUrl}/${owner}/${repo}/actions/runs/${runId}` : `${serverUrl}/${owner}/${repo}/actions`,
    runId,
    actor: env.GITHUB_ACTOR ?? '',
    apiUrl,
    serverUrl,
    pullRequestNumber: pullRequestNumberOf(payload),
  };
}

function readPayload(path: string | undefined): Record<string, unknown> {
  if (!path) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ModelshipError(
      'GITHUB_CONTEXT_INVALID',
      `Cannot read the event payload at GITHUB_EVENT_PATH (${path}): ${(error as Error).message}.`,
      hint,
    );
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // reported below with the same message as a payload that is not an object
  }
  throw new ModelshipError(
    'GITHUB_CONTEXT_INVALID',
    `The event payload at GITHUB_EVENT_PATH (${path}) is not a JSON object.`,
    hint,
  );
}

function pullRequestNumberOf(payload: Record<string, unknown>): number | undefined {
  const pr = payload.pull_request as { number?: unknown } | undefined;
  if (pr && typeof pr.number === 'number') return pr.number;
  const issue = payload.issue as { number?: unknown; pull_request?: unknown } | undefined;
  if (issue && issue.pull_request && typeof issue.number === 'number') return issue.number;
  return undefined;
}
