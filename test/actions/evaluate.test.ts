/**
 * The built evaluate action, run as the GitHub runner runs it, against the GitHub API emulator: one
 * pull-request comment per model, created once and then edited in place on every push.
 */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGitHubClient } from '../../src/github/client.js';
import { runAction, pullRequestEvent, pushEvent, type ActionRun } from '../support/action-runner.js';
import { repoRoot } from '../support/build.js';
import { startGitHubEmulator, type GitHubEmulator } from '../support/github-emulator.js';
import { DEFAULT_REPOSITORY } from '../support/github-events.js';

let workspace: string;
let github: GitHubEmulator;
const [owner, repo] = DEFAULT_REPOSITORY.split('/');
const PR = 7;
const marker = '<!-- modelship:evaluate:iris -->';

beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'modelship-evaluate-action-'));
  for (const name of ['iris-v1', 'iris-v2', 'iris-regressed']) {
    await cp(join(repoRoot, 'fixtures/models', name), join(workspace, 'models', name), { recursive: true });
  }
  await cp(join(repoRoot, 'fixtures/data/iris'), join(workspace, 'data'), { recursive: true });
});
afterAll(async () => {
  await rm(workspace, { recursive: true, force: true });
});
beforeEach(async () => {
  github = await startGitHubEmulator();
  github.addPullRequest(DEFAULT_REPOSITORY, { number: PR });
});
afterEach(async () => {
  await github.close();
});

const evaluateAction = (
  candidate: string,
  extra: { token?: string; inputs?: Record<string, string>; push?: boolean } = {},
) =>
  runAction({
    action: 'evaluate',
    workspace,
    githubApiUrl: github.url,
    token: extra.token ?? github.token,
    event: extra.push ? pushEvent() : pullRequestEvent({ number: PR, action: 'synchronize' }),
    inputs: {
      model: `models/${candidate}`,
      'baseline-model': 'models/iris-v1',
      fixtures: 'data/heldout.jsonl',
      'model-name': 'iris',
      config: '',
      thresholds: 'accuracy: {max-drop: 2%}',
      'slice-by': 'petal_size',
      report: `reports/${candidate}.json`,
      ...extra.inputs,
    },
  });

const comments = () => github.state.repo(DEFAULT_REPOSITORY).comments;
const errors = (run: ActionRun) => run.annotations.filter((a) => a.level === 'error');

describe('evaluate action', () => {
  it('creates the pull-request comment once, then updates it in place on the next push', async () => {
    // Enough earlier comments that ours lands on the second page of the listing.
    const client = createGitHubClient({ token: github.token, baseUrl: github.url });
    for (let i = 0; i < 105; i++)
      await client.rest.issues.createComment({ owner, repo, issue_number: PR, body: `chatter ${i}` });

    // The action needs nothing but pull-requests: write.
    github.addToken('ghs_pullRequestsOnly', { 'pull-requests': 'write', metadata: 'read' });
    const token = 'ghs_pullRequestsOnly';

    const first = await evaluateAction('iris-v2', { token });
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    expect(first.outputs.passed).toBe('true');
    expect(JSON.parse(first.outputs.metrics).accuracy).toBeGreaterThan(0.9);
    expect(first.outputs.report).toBe('reports/iris-v2.json');
    const report = JSON.parse(await readFile(join(workspace, first.outputs.report), 'utf8'));
    expect(report.passed).toBe(true);
    expect(Number(first.outputs.flips)).toBe(report.flips.count);
    expect(first.summary).toContain('| metric | baseline | candidate | delta | threshold | verdict |');
    expect(first.summary).toContain('**Slices by petal_size**');
    let ours = comments().filter((c) => c.body?.includes(marker));
    expect(ours).toHaveLength(1);
    expect(comments()).toHaveLength(106);
    const id = ours[0].id;
    expect(ours[0].body).toContain('modelship evaluate: iris — passed');

    const second = await evaluateAction('iris-regressed', { token });
    expect(second.exitCode).toBe(1);
    expect(second.outputs.passed).toBe('false');
    expect(
      errors(second)
        .map((a) => a.message)
        .join('\n'),
    ).toMatch(/accuracy dropped by/);
    ours = comments().filter((c) => c.body?.includes(marker));
    expect(ours).toHaveLength(1);
    expect(ours[0].id).toBe(id);
    expect(ours[0].body).toContain('modelship evaluate: iris — failed (accuracy)');
    expect(comments()).toHaveLength(106);
    const writes = github.requests.filter((r) => r.method !== 'GET' && r.path.includes('/comments'));
    expect(writes.map((r) => r.method)).toEqual([...Array(106).fill('POST'), 'PATCH']);
  });

  it('warns and goes on when the token may not comment (a fork pull request)', async () => {
    github.addToken('ghs_readOnly', { contents: 'read', 'pull-requests': 'read', issues: 'read', metadata: 'read' });
    const run = await evaluateAction('iris-v2', { token: 'ghs_readOnly' });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.outputs.passed).toBe('true');
    expect(comments()).toHaveLength(0);
    const warning = run.annotations.find((a) => a.level === 'warning' && /pull-request comment/.test(a.message));
    expect(warning?.message).toMatch(/pull-requests: write/);
    expect(run.summary).toContain('modelship evaluate: iris — passed');
  });

  it('leaves pull requests alone on other events and when comment is off', async () => {
    expect((await evaluateAction('iris-v2', { push: true })).exitCode).toBe(0);
    expect((await evaluateAction('iris-v2', { inputs: { comment: 'false' } })).exitCode).toBe(0);
    expect(comments()).toHaveLength(0);
    expect(github.requests.filter((r) => r.path.includes('/comments'))).toEqual([]);
  });

  it('turns a bad input into one error annotation', async () => {
    const run = await evaluateAction('iris-v2', { inputs: { thresholds: 'accuracy: {max-dorp: 1}' } });
    expect(run.exitCode).toBe(1);
    expect(errors(run)).toHaveLength(1);
    expect(errors(run)[0].message).toContain("unknown limit 'max-dorp'");
  });
});
