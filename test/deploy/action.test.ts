/**
 * The built deploy and rollback actions, run as the runner runs them, against a real modelship server
 * and the GitHub API emulator: outputs, job summary, deployments with their statuses, stage tags.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestModel } from '../../src/onnx/digest.js';
import { runAction, workflowDispatchEvent, pushEvent, fakeSha, DEFAULT_REPOSITORY } from '../support/action-runner.js';
import { startGitHubEmulator, type GitHubEmulator } from '../support/github-emulator.js';
import { writeModel } from '../support/onnx-models.js';
import { ADMIN_TOKEN, IRIS_ROWS, IRIS_V1, IRIS_V2, infer, workspace, type Workspace } from './harness.js';
import { statefulNoiseModel } from './models.js';

let ws: Workspace;
let github: GitHubEmulator;
beforeAll(async () => {
  ws = await workspace();
  github = await startGitHubEmulator();
});
afterAll(async () => {
  await github?.close();
  await ws?.close();
});

const repo = () => github.state.repo(DEFAULT_REPOSITORY);

function deployAction(inputs: Record<string, string>, sha = fakeSha('main')) {
  return runAction({
    action: 'deploy',
    inputs: {
      'model-name': 'iris',
      environment: 'production',
      target: `file://${ws.repository}`,
      server: ws.server.url,
      'smoke-fixtures': IRIS_ROWS,
      'tag-stage': 'true',
      ...inputs,
    },
    event: pushEvent({ after: sha }),
    sha,
    token: github.token,
    githubApiUrl: github.url,
    env: { MODELSHIP_ADMIN_TOKEN: ADMIN_TOKEN },
  });
}

describe('deploy and rollback actions', () => {
  it('deploy: outputs, summary, a deployment per run, earlier ones inactive, stage tags on the version commits', async () => {
    const v2Commit = fakeSha('v2-commit');
    github.setRef(DEFAULT_REPOSITORY, 'refs/tags/iris@v1.1.0', v2Commit);

    const first = await deployAction({ model: IRIS_V1, version: '1.0.0' });
    expect(first.exitCode, first.stderr + first.log).toBe(0);
    expect(first.outputs).toMatchObject({
      version: '1.0.0',
      'numeric-version': '1',
      'previous-version': '',
      url: `${ws.server.url}/v2/models/iris`,
      'rolled-back': 'false',
      status: 'deployed',
      'stage-tag': 'iris#production#1',
      digest: await digestModel(IRIS_V1),
    });
    expect(first.annotations.filter((a) => a.level === 'warning').map((a) => a.message)).toEqual([
      expect.stringContaining('No register tag iris@v1.0.0'),
    ]);

    const second = await deployAction({
      model: IRIS_V2,
      version: '1.1.0',
      'expected-digest': await digestModel(IRIS_V2),
    });
    expect(second.exitCode, second.log).toBe(0);
    expect(second.outputs).toMatchObject({
      version: '1.1.0',
      'previous-version': '1.0.0',
      'stage-tag': 'iris#production#2',
    });
    expect(second.summary).toContain('### ✓ iris 1.1.0 (#2) serves production');
    expect(second.summary).toMatch(/\| smoke run \| rows \| result/);

    const deployments = repo().deployments;
    expect(deployments.map((d) => [d.environment, d.payload])).toEqual([
      [
        'production',
        { model: 'iris', version: '1.0.0', digest: await digestModel(IRIS_V1), numericVersion: 1, action: 'deploy' },
      ],
      [
        'production',
        { model: 'iris', version: '1.1.0', digest: await digestModel(IRIS_V2), numericVersion: 2, action: 'deploy' },
      ],
    ]);
    expect(String(deployments[1].id)).toBe(second.outputs['deployment-id']);
    const states = (id: number) =>
      repo()
        .deploymentStatuses.get(id)!
        .map((s) => s.state);
    expect(states(deployments[0].id)).toEqual(['in_progress', 'success', 'inactive']);
    expect(states(deployments[1].id)).toEqual(['in_progress', 'success']);
    expect(repo().deploymentStatuses.get(deployments[1].id)![1].environment_url).toBe(
      `${ws.server.url}/v2/models/iris`,
    );

    // The stage tag of 1.1.0 sits on the commit of its register tag.
    const stageRef = repo().refs.get('refs/tags/iris#production#2');
    expect(stageRef).toBeDefined();
    expect(repo().tags.get(stageRef!.object.sha)?.object.sha).toBe(v2Commit);
  });

  it('a deploy that fails its smoke run fails the step, rolls back, and marks the deployment failed', async () => {
    const noisy = join(ws.dir, 'noisy.onnx');
    await writeModel(noisy, statefulNoiseModel());
    const run = await deployAction({ model: noisy, version: '1.2.0' });
    expect(run.exitCode).toBe(1);
    expect(run.outputs).toMatchObject({ 'rolled-back': 'true', status: 'rolled-back', 'previous-version': '1.1.0' });
    expect(run.annotations.find((a) => a.level === 'error')?.message).toMatch(
      /Deploy failed and was rolled back \(SMOKE_FAILED\)/,
    );
    expect(run.summary).toContain('was rolled back; 1.1.0 (#2) serves production');
    const last = repo().deployments.at(-1)!;
    expect(
      repo()
        .deploymentStatuses.get(last.id)!
        .map((s) => s.state),
    ).toEqual(['in_progress', 'failure']);
    expect((await infer(ws.server.url)).body.model_version).toBe('2');
  });

  it('rollback (workflow_dispatch): previous version back, summary lists the last deployments', async () => {
    const run = await runAction({
      action: 'rollback',
      inputs: {
        'model-name': 'iris',
        environment: 'production',
        target: `file://${ws.repository}`,
        server: ws.server.url,
        reason: 'latency up since 1.1.0',
      },
      event: workflowDispatchEvent({ reason: 'latency up since 1.1.0' }),
      token: github.token,
      githubApiUrl: github.url,
      actor: 'oncall-person',
      env: { MODELSHIP_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    expect(run.exitCode, run.log).toBe(0);
    expect(run.outputs).toMatchObject({ version: '1.0.0', 'previous-version': '1.1.0', status: 'rolled-back' });
    expect((await infer(ws.server.url)).body.model_version).toBe('1');
    expect(run.summary).toContain('### ✓ iris rolled back to 1.0.0 (#1) in production');
    expect(run.summary).toContain('Reason: latency up since 1.1.0');
    // version, digest, when, who: newest first, including the failed deploy and this rollback.
    const rows = run.summary.split('\n').filter((line) => /^\| (\d|–)/.test(line));
    expect(rows[0]).toMatch(
      /^\| 1\.0\.0 \| #1 \| `sha256:[0-9a-f]{12}` \| rollback \| succeeded \| \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \| \[oncall-person\]\(https:\/\/github.com\/acme\/models\/actions\/runs\/\d+\) \| latency up since 1.1.0 \|$/,
    );
    expect(rows.map((r) => r.split(' | ')[0].slice(2))).toEqual(['1.0.0', '1.2.0', '1.1.0', '1.0.0']);
    const last = repo().deployments.at(-1)!;
    expect(last.payload).toMatchObject({ version: '1.0.0', action: 'rollback' });
    expect(
      repo()
        .deploymentStatuses.get(last.id)!
        .map((s) => s.state),
    ).toEqual(['in_progress', 'success']);
  });

  it('rollback without a reason is refused with one clear error', async () => {
    const run = await runAction({
      action: 'rollback',
      inputs: { 'model-name': 'iris', environment: 'production', target: `file://${ws.repository}` },
      githubApiUrl: github.url,
    });
    expect(run.exitCode).toBe(1);
    expect(run.annotations.filter((a) => a.level === 'error').map((a) => a.message)).toEqual([
      expect.stringContaining("Input 'reason' is required."),
    ]);
  });
});
