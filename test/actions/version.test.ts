/**
 * The built version action, run as the GitHub runner runs it: against the emulator with a token,
 * and with git in the workspace without one.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Inputs, Outputs } from '../../src/actions/inputs/version.js';
import { extractRecord, embedRecord } from '../../src/versioning/record.js';
import { runAction } from '../support/action-runner.js';
import { repoRoot } from '../support/build.js';
import { startGitHubEmulator, type GitHubEmulator } from '../support/github-emulator.js';
import { DEFAULT_REPOSITORY } from '../support/github-events.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { linearClassifierModel, writeModel } from '../support/onnx-models.js';

const iris = (seed = 1) =>
  linearClassifierModel({
    weights: [0, 1, 2, 3].map((f) => [0, 1, 2].map((c) => (f + 1) * 0.1 * (c + seed))),
    bias: [0.1, 0.2, 0.3],
    labels: ['setosa', 'versicolor', 'virginica'],
  });

let github: GitHubEmulator;
let repo: TempRepo;
let commit: string;

beforeEach(async () => {
  github = await startGitHubEmulator();
  repo = await createTempRepo();
  await writeModel(join(repo.dir, 'models', 'iris.onnx'), iris());
  commit = await repo.commitAll('model');
});
afterEach(async () => {
  await github.close();
  await repo.remove();
});

const runVersion = (inputs: Record<string, string> = {}, withToken = true) =>
  runAction({
    action: 'version',
    inputs: { model: 'models/iris.onnx', 'model-name': 'iris', ...inputs },
    workspace: repo.dir,
    sha: commit,
    githubApiUrl: github.url,
    ...(withToken ? { token: github.token } : {}),
  });

describe('version action', () => {
  it('keeps action.yml and the Inputs/Outputs constants in step', () => {
    const metadata = parseYaml(readFileSync(join(repoRoot, 'actions/version/action.yml'), 'utf8')) as {
      inputs: Record<string, unknown>;
      outputs: Record<string, unknown>;
    };
    expect(Object.keys(metadata.inputs).sort()).toEqual(Object.values(Inputs).sort());
    expect(Object.keys(metadata.outputs).sort()).toEqual(Object.values(Outputs).sort());
  });

  it('tags and releases through the API, then does nothing the second time', async () => {
    const run = await runVersion({ 'attach-model': 'true' });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.outputs).toMatchObject({
      version: '0.1.0',
      tag: 'iris@v0.1.0',
      'previous-version': '',
      bump: 'initial',
      'bump-reason': 'First version of iris.',
      created: 'true',
    });
    const state = github.state.repo(DEFAULT_REPOSITORY);
    const [release] = state.releases;
    expect(run.outputs['release-url']).toBe(release.html_url);
    expect(release.assets.map((a) => a.name)).toEqual(['iris-0.1.0.onnx']);
    const ref = state.refs.get('refs/tags/iris@v0.1.0')!;
    expect(state.tags.get(ref.object.sha)?.object.sha).toBe(commit);
    expect(run.summary).toContain('## iris 0.1.0: tagged `iris@v0.1.0`');
    expect(run.summary).toContain('| Bump | initial |');
    expect(run.summary).toContain('| input | `features` | FP32 | `[batch, 4]` |');
    expect(run.annotations.filter((a) => a.level === 'error')).toEqual([]);

    const again = await runVersion();
    expect(again.exitCode, again.stdout).toBe(0);
    expect(again.outputs).toMatchObject({ version: '0.1.0', created: 'false', bump: 'none' });
    expect(again.outputs['release-url']).toBe(release.html_url);
    expect(again.summary).toContain('already released as `iris@v0.1.0`');
    expect(state.releases).toHaveLength(1);
  });

  it('puts the bump reason and the signature diff in the summary', async () => {
    await runVersion();
    const wider = iris(2);
    wider.graph.inputs[0].shape = [-1, 4];
    wider.graph.outputs.push({ name: 'logits', elemType: 1, shape: ['batch', 3] });
    await writeModel(join(repo.dir, 'models', 'iris.onnx'), wider);
    commit = await repo.commitAll('logits');
    const run = await runVersion();
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.outputs).toMatchObject({ version: '0.2.0', bump: 'minor', 'previous-version': '0.1.0' });
    expect(run.outputs['bump-reason']).toBe("Compatible change: output 'logits': new output.");
    expect(run.summary).toContain('### Signature changes since 0.1.0');
    expect(run.summary).toContain('| output | `logits` | FP32 | `[batch, 3]` | added (minor) | new output |');
  });

  it('recomputes once when the tag appears between reading and writing', async () => {
    // Another run already tagged a different model as 0.1.0; this run's first read is stale.
    const record = {
      schema: 'modelship/version@1' as const,
      name: 'iris',
      version: '0.1.0',
      digest: 'sha256:' + '1'.repeat(64),
      signature: {
        inputs: [{ name: 'features', datatype: 'FP32' as const, shape: ['batch', 4] }],
        outputs: [
          { name: 'label', datatype: 'INT64' as const, shape: ['batch'] },
          { name: 'probabilities', datatype: 'FP32' as const, shape: ['batch', 3] },
        ],
      },
      labels: ['setosa', 'versicolor', 'virginica'],
    };
    const response = await fetch(`${github.url}/repos/${DEFAULT_REPOSITORY}/git/tags`, {
      method: 'POST',
      headers: { authorization: `token ${github.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tag: 'iris@v0.1.0', message: embedRecord(record), object: commit, type: 'commit' }),
    });
    const tagObject = (await response.json()) as { sha: string };
    github.setRef(DEFAULT_REPOSITORY, 'refs/tags/iris@v0.1.0', tagObject.sha);
    github.injectFault({ method: 'GET', path: /\/git\/matching-refs\//, status: 200, body: [] });

    const run = await runVersion();
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.outputs).toMatchObject({
      version: '0.1.1',
      created: 'true',
      bump: 'patch',
      'previous-version': '0.1.0',
    });
    expect(run.annotations).toContainEqual(
      expect.objectContaining({ level: 'warning', message: expect.stringContaining('iris@v0.1.0 appeared') }),
    );
  });

  it('tags the checkout with git when no token is given', async () => {
    const run = await runVersion({ 'first-version': '1.0.0' }, false);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.outputs).toMatchObject({ version: '1.0.0', tag: 'iris@v1.0.0', created: 'true', 'release-url': '' });
    expect(await repo.tags()).toEqual(['iris@v1.0.0']);
    const message = await repo.git('tag', '-l', '--format=%(contents)', 'iris@v1.0.0');
    expect(extractRecord(message)?.version).toBe('1.0.0');
    expect(github.requests).toEqual([]);
  });

  it('computes without writing in a dry run', async () => {
    const run = await runVersion({ 'dry-run': 'true' });
    expect(run.exitCode).toBe(0);
    expect(run.outputs).toMatchObject({ version: '0.1.0', created: 'false' });
    expect(run.summary).toContain('dry run, nothing created');
    expect(github.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it.each([
    [{ 'model-name': 'iris#1' }, 'MODEL_NAME_INVALID', /Model name 'iris#1'/],
    [{ bump: 'big' }, 'INPUT_INVALID', /bump must be one of auto, major, minor, patch/],
    [{ model: 'models/nope.onnx' }, 'MODEL_NOT_FOUND', /Model not found/],
  ])('fails %j with one %s annotation', async (inputs, code, message) => {
    const run = await runVersion(inputs);
    expect(run.exitCode).toBe(1);
    const errors = run.annotations.filter((a) => a.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ title: code, message: expect.stringMatching(message) });
    expect(run.outputs).toEqual({});
    expect(run.stdout).not.toMatch(/\n\s+at .*\.js:\d+/);
  });

  it('refuses release: true without a token', async () => {
    const run = await runVersion({ release: 'true' }, false);
    expect(run.exitCode).toBe(1);
    expect(run.annotations[0]).toMatchObject({ level: 'error', message: expect.stringContaining('no token') });
  });
});
