/**
 * The three user journeys end to end, with the built action bundles run as the GitHub runner runs them,
 * the GitHub API emulator, and real `modelship serve` processes (staging and production, each over its own
 * model repository on the "self-hosted runner's" disk). The steps and inputs follow workflows/*.yml:
 *
 * 1. release: a push to main with iris-v1: validate, evaluate, version (tag + release 1.0.0), deploy to
 *    staging, then to production;
 * 2. pull request with iris-v2: validate and evaluate against main's model pass, the sticky comment appears;
 * 3. the same pull request pushed with iris-regressed: evaluate fails, the same comment now names the metric;
 * 4. the pull request (iris-v2) merged: release 1.0.1, staging, then a production canary under live traffic;
 * 5. a workflow_dispatch rollback of production returns it to 1.0.0, and the server answers with it.
 *
 * The tests of this file run in order and build on each other.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readIrisRows, startTraffic } from '../../src/cli/demo/traffic.js';
import {
  DEFAULT_REPOSITORY,
  pullRequestEvent,
  pushEvent,
  runAction,
  workflowDispatchEvent,
  type ActionRun,
  type GitHubEvent,
  type RunActionOptions,
} from '../support/action-runner.js';
import { repoRoot } from '../support/build.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { startGitHubEmulator, type GitHubEmulator, type RepoState } from '../support/github-emulator.js';

const FIXTURES = join(repoRoot, 'fixtures');
const model = (name: string) => join(FIXTURES, 'models', name, 'model.onnx');
const HELDOUT = join(FIXTURES, 'data', 'iris', 'heldout.jsonl');
const ADMIN_TOKEN = 'e2e-admin-token-0123456789';
const MODEL_PATH = 'models/iris/model.onnx';
const PR = 7;

interface ServeProcess {
  child: ChildProcess;
  url: string;
  repository: string;
  stderr: string[];
}

/** `modelship serve` from the built CLI, as on the serving host; resolves once it prints its URL. */
async function startServe(repository: string): Promise<ServeProcess> {
  await mkdir(repository, { recursive: true });
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'dist', 'cli.js'), 'serve', '--repository', repository, '--port', '0'],
    { env: { ...process.env, MODELSHIP_ADMIN_TOKEN: ADMIN_TOKEN, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /^(http:\/\/\S+)$/m.exec(out);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`modelship serve exited with ${code}: ${stderr.join('')}`)));
  });
  return { child, url, repository, stderr };
}

async function stopServe(server: ServeProcess | undefined): Promise<void> {
  if (!server || server.child.exitCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Which version the server routes a plain inference request to. */
async function servedVersion(url: string): Promise<string> {
  const response = await fetch(`${url}/v2/models/iris/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [6.3, 2.8, 5.1, 1.5] }],
    }),
  });
  const body = (await response.json()) as { model_version?: string; error?: string };
  expect(response.status, body.error).toBe(200);
  return body.model_version!;
}

let github: GitHubEmulator;
let repo: TempRepo;
let serving: string;
let staging: ServeProcess;
let production: ServeProcess;
let state: RepoState;
const commits: Record<string, string> = {};

/** What `actions/checkout` gives a job: the commit, and nothing left from an earlier job. */
async function checkout(sha: string): Promise<void> {
  await repo.git('checkout', '--quiet', '--detach', sha);
  await repo.git('clean', '-fdxq');
}

/** A commit in the workspace repository, known to the emulator too (it rejects unknown objects). */
async function commit(message: string, changes: { model?: string }): Promise<string> {
  // Only the change itself: no report an earlier job left in the workspace.
  await repo.git('clean', '-fdxq', '--exclude=models/', '--exclude=fixtures/', '--exclude=modelship.yml');
  if (changes.model) await copyFile(changes.model, join(repo.dir, MODEL_PATH));
  const sha = await repo.commitAll(message);
  const parents = (await repo.git('rev-list', '--parents', '-n', '1', sha)).split(' ').slice(1);
  github.addCommit(DEFAULT_REPOSITORY, { sha, message, parents });
  return sha;
}

/** One step of a job: the built action with the runner's environment, on the checked-out workspace. */
async function step(
  action: RunActionOptions['action'],
  event: GitHubEvent,
  inputs: Record<string, string>,
  options: Partial<RunActionOptions> = {},
): Promise<ActionRun> {
  return runAction({
    action,
    event,
    inputs,
    workspace: repo.dir,
    githubApiUrl: github.url,
    token: github.token,
    env: { MODELSHIP_ADMIN_TOKEN: ADMIN_TOKEN },
    ...options,
  });
}

const ok = (run: ActionRun) => {
  expect(run.exitCode, `${run.log}\n${run.stderr}`).toBe(0);
  expect(run.annotations.filter((a) => a.level === 'error')).toEqual([]);
  return run.outputs;
};

const prComments = () => state.comments.filter((c) => c.issue_url.endsWith(`/issues/${PR}`));

/** The `release` job of model-release.yml, then its `staging` and `production` jobs. */
async function releaseJobs(event: GitHubEvent, traffic?: () => () => Promise<unknown>) {
  await checkout(event.sha!);
  const validated = ok(
    await step('validate', event, { model: MODEL_PATH, config: 'modelship.yml', 'model-name': 'iris' }),
  );
  const evaluated = ok(
    await step('evaluate', event, { model: MODEL_PATH, config: 'modelship.yml', 'model-name': 'iris' }),
  );
  const versioned = ok(
    await step('version', event, {
      model: MODEL_PATH,
      'model-name': 'iris',
      report: evaluated.report,
      release: 'true',
      'attach-model': 'true',
    }),
  );
  const deployInputs = {
    model: MODEL_PATH,
    'model-name': 'iris',
    version: versioned.version,
    'expected-digest': validated.digest,
    config: 'modelship.yml',
    'smoke-fixtures': 'fixtures/iris.jsonl',
  };
  await checkout(event.sha!);
  const staged = ok(await step('deploy', event, { ...deployInputs, environment: 'staging' }));
  await checkout(event.sha!);
  const stopTraffic = traffic?.();
  let produced: Record<string, string>;
  try {
    produced = ok(
      await step('deploy', event, {
        ...deployInputs,
        environment: 'production',
        strategy: 'canary',
        'canary-weight': '30',
        'analysis-window': '2s',
        // Sub-millisecond latencies on a loaded test machine: room for scheduling noise.
        'max-latency-ratio': '2',
        'tag-stage': 'true',
      }),
    );
  } finally {
    await stopTraffic?.();
  }
  return { validated, evaluated, versioned, staged, produced };
}

beforeAll(async () => {
  github = await startGitHubEmulator({ strictObjects: true });
  state = github.state.repo(DEFAULT_REPOSITORY)!;
  serving = await mkdtemp(join(tmpdir(), 'modelship-e2e-serving-'));
  [staging, production] = await Promise.all([
    startServe(join(serving, 'staging', 'models')),
    startServe(join(serving, 'production', 'models')),
  ]);

  repo = await createTempRepo();
  await mkdir(join(repo.dir, 'models', 'iris'), { recursive: true });
  await mkdir(join(repo.dir, 'fixtures'));
  await copyFile(HELDOUT, join(repo.dir, 'fixtures', 'iris.jsonl'));
  await writeFile(
    join(repo.dir, 'modelship.yml'),
    [
      'version: 1',
      'models:',
      '  iris:',
      `    path: ${MODEL_PATH}`,
      '    task: classification',
      '    labels: [setosa, versicolor, virginica]',
      '    fixtures:',
      '      path: fixtures/iris.jsonl',
      '    versioning:',
      '      first-version: 1.0.0',
      '    environments:',
      '      staging:',
      `        target: file://${staging.repository}`,
      `        url: ${staging.url}`,
      '      production:',
      `        target: file://${production.repository}`,
      `        url: ${production.url}`,
      '',
    ].join('\n'),
  );
  commits.v1 = await commit('Add the iris classifier', { model: model('iris-v1') });
  github.setRef(DEFAULT_REPOSITORY, 'refs/heads/main', commits.v1);
});

afterAll(async () => {
  await Promise.all([stopServe(staging), stopServe(production)]);
  await github?.close();
  await repo?.remove();
  if (serving) await rm(serving, { recursive: true, force: true });
});

describe('the model lifecycle through the actions', () => {
  it('a push to main releases iris 1.0.0 and deploys it to staging, then production', async () => {
    const event = pushEvent({ after: commits.v1, commits: [{ id: commits.v1, message: 'Add the iris classifier' }] });
    const { validated, evaluated, versioned, staged, produced } = await releaseJobs(event);

    expect(validated.passed).toBe('true');
    expect(validated.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(JSON.parse(evaluated.metrics).accuracy).toBe(0.96);
    expect(versioned).toMatchObject({ version: '1.0.0', tag: 'iris@v1.0.0', bump: 'initial', created: 'true' });

    const ref = state.refs.get('refs/tags/iris@v1.0.0')!;
    expect(state.tags.get(ref.object.sha)?.object.sha).toBe(commits.v1);
    expect(state.releases.map((r) => [r.tag_name, r.name, r.assets.map((a) => a.name)])).toEqual([
      ['iris@v1.0.0', 'iris 1.0.0', ['iris-1.0.0.onnx']],
    ]);
    expect(versioned['release-url']).toBe(state.releases[0].html_url);
    // The release's model card carries evaluate's figures.
    expect(state.releases[0].body).toContain('accuracy');

    expect(staged).toMatchObject({
      status: 'deployed',
      version: '1.0.0',
      'numeric-version': '1',
      digest: validated.digest,
    });
    // Nothing served production yet, so its canary is a plain replace.
    expect(produced).toMatchObject({ status: 'deployed', version: '1.0.0', 'numeric-version': '1' });
    expect(produced['stage-tag']).toBe('iris#production#1');
    expect(state.refs.has('refs/tags/iris#production#1')).toBe(true);

    expect(state.deployments.map((d) => [d.environment, d.sha, (d.payload as { version: string }).version])).toEqual([
      ['staging', commits.v1, '1.0.0'],
      ['production', commits.v1, '1.0.0'],
    ]);
    for (const d of state.deployments) {
      expect(state.deploymentStatuses.get(d.id)!.map((s) => s.state)).toEqual(['in_progress', 'success']);
    }
    expect(state.deployments.map((d) => String(d.id))).toEqual([staged['deployment-id'], produced['deployment-id']]);
    expect(await servedVersion(staging.url)).toBe('1');
    expect(await servedVersion(production.url)).toBe('1');
  });

  it('a pull request with iris-v2 passes validate and evaluate against main and gets the comment', async () => {
    await checkout(commits.v1);
    await repo.git('checkout', '--quiet', '-b', 'iris-v2');
    commits.v2 = await commit('Train an MLP', { model: model('iris-v2') });
    github.addPullRequest(DEFAULT_REPOSITORY, {
      number: PR,
      headRef: 'iris-v2',
      headSha: commits.v2,
      baseSha: commits.v1,
    });
    const event = pullRequestEvent({
      number: PR,
      headRef: 'iris-v2',
      headSha: commits.v2,
      baseSha: commits.v1,
      mergeSha: commits.v2,
    });
    const baseline = await prJob(event);

    expect(
      ok(await step('validate', event, { model: MODEL_PATH, config: 'modelship.yml', 'model-name': 'iris' })).passed,
    ).toBe('true');
    const run = await step('evaluate', event, {
      model: MODEL_PATH,
      config: 'modelship.yml',
      'model-name': 'iris',
      'baseline-model': baseline,
    });
    const outputs = ok(run);
    expect(outputs.passed).toBe('true');
    expect(JSON.parse(outputs.metrics).accuracy).toBe(0.98);

    const comments = prComments();
    expect(comments).toHaveLength(1);
    expect(comments[0].body).toContain('<!-- modelship:evaluate:iris -->');
    expect(comments[0].body).toMatch(/^### ✓ modelship evaluate: iris/m);
    expect(comments[0].body).toMatch(/^\| accuracy \| 0\.96 \| 0\.98 \| \+?0\.02 \| .* \| ✓ pass \|$/m);
    expect(run.summary).toContain('accuracy');
  });

  it('the same pull request pushed with iris-regressed fails evaluate and the same comment names the metric', async () => {
    const first = { ...prComments()[0] };
    await repo.git('checkout', '--quiet', 'iris-v2');
    commits.regressed = await commit('Retrain on fewer rows', { model: model('iris-regressed') });
    const event = pullRequestEvent({
      number: PR,
      action: 'synchronize',
      headRef: 'iris-v2',
      headSha: commits.regressed,
      baseSha: commits.v1,
      mergeSha: commits.regressed,
    });
    const baseline = await prJob(event);
    expect(
      ok(await step('validate', event, { model: MODEL_PATH, config: 'modelship.yml', 'model-name': 'iris' })).passed,
    ).toBe('true');
    const run = await step('evaluate', event, {
      model: MODEL_PATH,
      config: 'modelship.yml',
      'model-name': 'iris',
      'baseline-model': baseline,
    });
    expect(run.exitCode).toBe(1);
    expect(run.outputs.passed).toBe('false');
    expect(JSON.parse(run.outputs.metrics).accuracy).toBe(0.68);
    // The failing metric with its figures, and the step's own failure; both name the metric.
    const errors = run.annotations.filter((a) => a.level === 'error').map((a) => a.message);
    expect(errors.length).toBeGreaterThan(0);
    for (const message of errors) expect(message).toContain('accuracy');
    expect(errors.join('\n')).toContain('0.96 → 0.68');

    const comments = prComments();
    expect(comments).toHaveLength(1);
    expect(comments[0].id).toBe(first.id);
    expect(comments[0].body).not.toBe(first.body);
    expect(comments[0].body).toMatch(/^\| accuracy \| 0\.96 \| 0\.68 \| -0\.28 \| .* \| ✗ fail \|$/m);
    expect(comments[0].body).toContain('### ✗ modelship evaluate: iris — failed (accuracy)');
  });

  it('the pull request merged with iris-v2 releases 1.0.1 and a canary promotes it in production', async () => {
    // A squash merge: main gets one commit with the pull request's final model.
    await checkout(commits.v1);
    await repo.git('checkout', '--quiet', '-B', 'main');
    commits.merged = await commit(`Train an MLP (#${PR})`, { model: model('iris-v2') });
    github.setRef(DEFAULT_REPOSITORY, 'refs/heads/main', commits.merged);
    const event = pushEvent({
      after: commits.merged,
      before: commits.v1,
      commits: [{ id: commits.merged, message: 'Train an MLP' }],
    });

    const rows = await readIrisRows(HELDOUT);
    let traffic: ReturnType<typeof startTraffic> | undefined;
    const { versioned, staged, produced } = await releaseJobs(event, () => {
      traffic = startTraffic(production.url, 'iris', rows, { clients: 2, pauseMs: 5 });
      return () => traffic!.stop();
    });

    expect(versioned).toMatchObject({ version: '1.0.1', bump: 'patch', 'previous-version': '1.0.0', created: 'true' });
    expect(state.releases.map((r) => r.tag_name)).toEqual(['iris@v1.0.0', 'iris@v1.0.1']);
    expect(staged).toMatchObject({
      status: 'deployed',
      version: '1.0.1',
      'numeric-version': '2',
      'previous-version': '1.0.0',
    });
    expect(produced).toMatchObject({
      status: 'deployed',
      version: '1.0.1',
      'numeric-version': '2',
      'rolled-back': 'false',
    });
    expect(produced['stage-tag']).toBe('iris#production#2');

    // Both versions answered live traffic during the canary, and no request failed.
    expect(traffic!.figures.failures).toBe(0);
    expect(Object.keys(traffic!.figures.byVersion).sort()).toEqual(['1', '2']);
    const ledger = await readFile(
      join(serving, 'production', '.modelship-state', 'models', 'iris', 'production', 'ledger.jsonl'),
      'utf8',
    );
    expect(
      ledger
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { action: string; outcome: string })
        .at(-1),
    ).toMatchObject({
      action: 'promote',
      outcome: 'succeeded',
    });

    const production2 = state.deployments.filter((d) => d.environment === 'production').at(-1)!;
    expect(production2.sha).toBe(commits.merged);
    expect(state.deploymentStatuses.get(production2.id)!.at(-1)?.state).toBe('success');
    expect(await servedVersion(staging.url)).toBe('2');
    expect(await servedVersion(production.url)).toBe('2');
  });

  it('a workflow_dispatch rollback returns production to 1.0.0 and the server answers with it', async () => {
    const reason = 'error rate up since 1.0.1';
    const event = workflowDispatchEvent(
      { environment: 'production', to: 'previous', reason, 'dry-run': false },
      { sha: commits.merged },
    );
    await checkout(commits.merged);
    const run = await step('rollback', event, {
      'model-name': 'iris',
      environment: 'production',
      config: 'modelship.yml',
      to: 'previous',
      reason,
      'dry-run': 'false',
    });
    expect(ok(run)).toMatchObject({
      status: 'rolled-back',
      version: '1.0.0',
      'numeric-version': '1',
      'previous-version': '1.0.1',
    });

    expect(await servedVersion(production.url)).toBe('1');
    expect(await servedVersion(staging.url)).toBe('2');

    const last = state.deployments.at(-1)!;
    expect(last.environment).toBe('production');
    expect(last.payload).toMatchObject({ version: '1.0.0', action: 'rollback' });
    expect(String(last.id)).toBe(run.outputs['deployment-id']);
    const statuses = state.deploymentStatuses.get(last.id)!;
    expect(statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);
    expect(last.description).toContain(reason);
  });
});

/** The pull-request job's first step in model-pr.yml: the base branch's model as the baseline. */
async function prJob(event: GitHubEvent): Promise<string> {
  await checkout(event.sha!);
  const baseline = join(serving, `baseline-${event.sha!.slice(0, 7)}.onnx`);
  const bytes = await repo
    .git('rev-parse', `main:${MODEL_PATH}`)
    .then(() => spawnBytes('git', ['show', `main:${MODEL_PATH}`], repo.dir));
  await writeFile(baseline, bytes);
  return baseline;
}

function spawnBytes(command: string, args: string[], cwd: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`${command} exited ${code}`)),
    );
  });
}
