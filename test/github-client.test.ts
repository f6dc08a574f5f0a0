import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isModelshipError, type ModelshipError } from '../src/errors.js';
import { createGitHubClient } from '../src/github/client.js';
import { readGitHubContext } from '../src/github/context.js';
import { gitHubError } from '../src/github/errors.js';
import { memoryLogger } from '../src/log.js';
import { startGitHubEmulator, type GitHubEmulator } from './support/github-emulator.js';
import { pullRequestEvent } from './support/github-events.js';

let github: GitHubEmulator;
let dir: string;
beforeAll(async () => {
  github = await startGitHubEmulator();
  dir = await mkdtemp(join(tmpdir(), 'modelship-context-'));
});
afterAll(async () => {
  await github.close();
  await rm(dir, { recursive: true, force: true });
});

describe('createGitHubClient', () => {
  it('takes the API root from GITHUB_API_URL when no baseUrl is given', async () => {
    const saved = process.env.GITHUB_API_URL;
    process.env.GITHUB_API_URL = github.url;
    try {
      const client = createGitHubClient({ token: github.token });
      expect((await client.rest.repos.get({ owner: 'acme', repo: 'models' })).status).toBe(200);
    } finally {
      if (saved === undefined) delete process.env.GITHUB_API_URL;
      else process.env.GITHUB_API_URL = saved;
    }
  });

  it('gives up on a 5xx after the configured retries', async () => {
    github.injectFault({ path: '/repos/acme/models', status: 503, times: 10 });
    const client = createGitHubClient({ token: github.token, baseUrl: github.url, retries: 2, retryDelayMs: 1 });
    const before = github.requests.length;
    await expect(client.rest.repos.get({ owner: 'acme', repo: 'models' })).rejects.toMatchObject({ status: 503 });
    expect(github.requests.length - before).toBe(3);
    github.clearFaults();
  });

  it('waits out a rate limit once and says so in the log', async () => {
    const log = memoryLogger();
    const reset = String(Math.floor(Date.now() / 1000));
    github.injectFault({
      path: '/repos/acme/models',
      status: 403,
      body: { message: 'API rate limit exceeded' },
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset },
    });
    const client = createGitHubClient({ token: github.token, baseUrl: github.url, throttle: true, log });
    expect((await client.rest.repos.get({ owner: 'acme', repo: 'models' })).status).toBe(200);
    expect(log.lines.some((l) => l.includes('primary rate limit') && l.includes('retrying'))).toBe(true);
  });
});

describe('gitHubError', () => {
  const refused = async (token: string, call: (c: ReturnType<typeof createGitHubClient>) => Promise<unknown>) => {
    const client = createGitHubClient({ token, baseUrl: github.url });
    try {
      await call(client);
    } catch (error) {
      return gitHubError(error, 'do the thing') as ModelshipError;
    }
    throw new Error('expected a failure');
  };

  it('401, 403 (with the permission to grant), 404 and 422 become ModelshipErrors with hints', async () => {
    const unauthorized = await refused('ghs_wrong', (c) => c.rest.repos.get({ owner: 'acme', repo: 'models' }));
    expect(unauthorized).toMatchObject({ code: 'GITHUB_UNAUTHORIZED' });
    expect(unauthorized.hint).toContain('token');

    github.addToken('ghs_read', { contents: 'read' });
    const forbidden = await refused('ghs_read', (c) =>
      c.rest.repos.createRelease({ owner: 'acme', repo: 'models', tag_name: 'v1' }),
    );
    expect(forbidden).toMatchObject({ code: 'GITHUB_FORBIDDEN' });
    expect(forbidden.message).toBe('GitHub refused to do the thing: Resource not accessible by integration.');
    expect(forbidden.hint).toContain('`contents: write`');

    const missing = await refused(github.token, (c) => c.rest.repos.get({ owner: 'acme', repo: 'nope' }));
    expect(missing).toMatchObject({ code: 'GITHUB_NOT_FOUND' });

    await createGitHubClient({ token: github.token, baseUrl: github.url }).rest.repos.createRelease({
      owner: 'acme',
      repo: 'models',
      tag_name: 'dup',
    });
    const duplicate = await refused(github.token, (c) =>
      c.rest.repos.createRelease({ owner: 'acme', repo: 'models', tag_name: 'dup' }),
    );
    expect(duplicate).toMatchObject({ code: 'GITHUB_REJECTED' });
    expect(duplicate.message).toContain('Validation Failed (Release tag_name already_exists)');
  });

  it('leaves other errors alone', () => {
    const plain = new Error('not from GitHub');
    expect(gitHubError(plain, 'x')).toBe(plain);
  });
});

describe('readGitHubContext', () => {
  it('reads the runner variables and the pull request number from the payload', async () => {
    const event = pullRequestEvent({ number: 7 });
    const path = join(dir, 'event.json');
    await writeFile(path, JSON.stringify(event.payload));
    const context = readGitHubContext({
      GITHUB_REPOSITORY: 'acme/models',
      GITHUB_SHA: event.sha,
      GITHUB_REF: event.ref,
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: path,
      GITHUB_RUN_ID: '99',
      GITHUB_ACTOR: 'octocat',
      GITHUB_SERVER_URL: 'https://github.example.com/',
      GITHUB_API_URL: 'https://github.example.com/api/v3',
    });
    expect(context).toMatchObject({
      owner: 'acme',
      repo: 'models',
      sha: event.sha,
      ref: 'refs/pull/7/merge',
      eventName: 'pull_request',
      pullRequestNumber: 7,
      runUrl: 'https://github.example.com/acme/models/actions/runs/99',
      apiUrl: 'https://github.example.com/api/v3',
      actor: 'octocat',
    });
    expect((context.payload.pull_request as { number: number }).number).toBe(7);
  });

  it('a missing variable or an unreadable payload is a ModelshipError naming it', async () => {
    const base = { GITHUB_REPOSITORY: 'acme/models', GITHUB_SHA: 'a'.repeat(40), GITHUB_EVENT_NAME: 'push' };
    const failure = (env: Record<string, string>) => {
      try {
        readGitHubContext(env);
      } catch (error) {
        expect(isModelshipError(error)).toBe(true);
        return (error as ModelshipError).message;
      }
      throw new Error('expected a failure');
    };
    expect(failure({ ...base, GITHUB_SHA: '' })).toContain('GITHUB_SHA');
    expect(failure({ ...base, GITHUB_REPOSITORY: 'no-slash' })).toContain("'owner/repo'");
    expect(failure({ ...base, GITHUB_EVENT_PATH: join(dir, 'missing.json') })).toContain('GITHUB_EVENT_PATH');
    const notJson = join(dir, 'bad.json');
    await writeFile(notJson, '[1, 2');
    expect(failure({ ...base, GITHUB_EVENT_PATH: notJson })).toContain('not a JSON object');
    expect(readGitHubContext(base).payload).toEqual({});
  });
});
