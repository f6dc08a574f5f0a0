/**
 * `modelship demo` from the built bundle, as a user runs it: the lifecycle's results in the JSON summary,
 * the exit code, and nothing left behind (no temporary folder, no process, no listening server), also
 * when it is interrupted or cannot run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DemoSummary } from '../src/cli/demo/lifecycle.js';
import { repoRoot } from './support/build.js';

interface DemoRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  pid: number;
}

let tmp: string;
beforeEach(async () => {
  // The demo's temporary folder goes here (TMPDIR), so the test sees exactly what it leaves.
  tmp = await mkdtemp(join(tmpdir(), 'modelship-demo-test-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Runs the CLI in its own process group, so that every process it starts can be found afterwards. */
function runDemo(
  args: string[],
  options: { env?: Record<string, string>; interruptWhen?: (output: string) => boolean } = {},
): Promise<DemoRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'dist', 'cli.js'), 'demo', ...args], {
      cwd: repoRoot,
      env: { ...process.env, TMPDIR: tmp, NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    const watch = () => {
      if (!interrupted && options.interruptWhen?.(stdout + stderr)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    };
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      watch();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      watch();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 55_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, pid: child.pid! });
    });
  });
}

/** True while any process of the group `pgid` lives; polls a little, since a child may be exiting. */
async function groupAlive(pgid: number): Promise<boolean> {
  for (let i = 0; i < 40; i++) {
    try {
      process.kill(-pgid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
      throw error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

function refusesConnections(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

const leftovers = async () => (await readdir(tmp)).filter((name) => name.startsWith('modelship-demo-'));

describe('modelship demo', () => {
  it('runs the lifecycle, reports it as JSON, exits 0 and leaves nothing behind', async () => {
    const run = await runDemo(['--json']);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout) as DemoSummary;

    expect(summary.ok).toBe(true);
    expect(summary.stages.map((s) => [s.id, s.ok])).toEqual([
      ['serve', true],
      ['validate-v1', true],
      ['evaluate-v1', true],
      ['version-v1', true],
      ['deploy-v1', true],
      ['request-v1', true],
      ['evaluate-v2', true],
      ['evaluate-regressed', true],
      ['version-v2', true],
      ['deploy-v2-canary', true],
      ['request-v2', true],
      ['rollback', true],
      ['request-rollback', true],
    ]);
    expect(summary.validate).toMatchObject({ passed: true, failed: 0 });
    expect(summary.validate?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    // Held-out accuracies of the bundled models: v1 96%, v2 98%, regressed 68% (fixtures/README.md).
    expect(summary.evaluate.v1).toMatchObject({ passed: true, rows: 50, accuracy: 0.96 });
    expect(summary.evaluate.v2).toMatchObject({ passed: true, accuracy: 0.98, baselineAccuracy: 0.96 });
    expect(summary.evaluate.regressed).toMatchObject({ passed: false, caught: true, accuracy: 0.68 });
    expect(summary.evaluate.regressed?.failing.map((f) => f.metric)).toContain('accuracy');

    expect(summary.versions.v1).toMatchObject({ version: '1.0.0', tag: 'iris@v1.0.0', bump: 'initial' });
    expect(summary.versions.v2).toMatchObject({
      version: '1.0.1',
      tag: 'iris@v1.0.1',
      bump: 'patch',
      previousVersion: '1.0.0',
    });
    expect(summary.versions.v1?.digest).toBe(summary.validate?.digest);

    expect(summary.deploys.first).toMatchObject({ status: 'deployed', version: '1.0.0', numericVersion: 1 });
    const canary = summary.deploys.canary!;
    expect(canary).toMatchObject({ status: 'deployed', version: '1.0.1', numericVersion: 2, decision: 'promote' });
    expect(canary.canary!.requests).toBeGreaterThanOrEqual(10);
    expect(canary.canary!.failures).toBe(0);
    expect(canary.traffic.failures).toBe(0);
    // Live traffic saw both versions answer while the canary ran.
    expect(Object.keys(canary.traffic.byVersion).sort()).toEqual(['1', '2']);

    expect(summary.rollback).toMatchObject({ status: 'rolled-back', from: '1.0.1', to: '1.0.0' });
    expect(summary.rollback?.traffic.failures).toBe(0);
    expect(summary.requests.map((r) => [r.stage, r.modelVersion, r.version])).toEqual([
      ['request-v1', '1', '1.0.0'],
      ['request-v2', '2', '1.0.1'],
      ['request-rollback', '1', '1.0.0'],
    ]);

    expect(summary.kept).toBe(false);
    expect(summary.workspace?.startsWith(tmp)).toBe(true);
    expect(existsSync(summary.workspace!)).toBe(false);
    expect(await leftovers()).toEqual([]);
    expect(await groupAlive(run.pid)).toBe(false);
    expect(await refusesConnections(summary.server!.url)).toBe(true);
    // Progress went to stderr, one numbered line per stage.
    expect(run.stderr).toMatch(/✓ 13\. Live request: .* model_version 1 = 1\.0\.0/);
    expect(run.stderr).toContain('regression caught, as expected: accuracy failed');
  });

  it('cleans up and exits 130 when interrupted in the middle of the canary', async () => {
    const run = await runDemo([], { interruptWhen: (output) => output.includes('✓  9. Version iris-v2') });
    expect(run.code, run.stdout + run.stderr).toBe(130);
    expect(run.stdout).toContain('SIGINT: stopping the server and removing the temporary folder');
    expect(run.stdout).not.toContain('✓ 10.');
    const url = /Start the embedded server: (http:\/\/127\.0\.0\.1:\d+)/.exec(run.stdout)?.[1];
    expect(url).toBeDefined();
    expect(await leftovers()).toEqual([]);
    expect(await groupAlive(run.pid)).toBe(false);
    expect(await refusesConnections(url!)).toBe(true);
  });

  it('keeps the folder with --keep, also when interrupted, and says where', async () => {
    const run = await runDemo(['--keep'], { interruptWhen: (output) => output.includes('✓  6. Live request') });
    expect(run.code, run.stdout + run.stderr).toBe(130);
    const kept = /Kept: (\S+)/.exec(run.stdout)?.[1];
    expect(kept?.startsWith(tmp)).toBe(true);
    expect(await leftovers()).toEqual([kept!.slice(tmp.length + 1)]);
    // What the stages so far made: the version tag and the stage tag, the served version, the ledger.
    const tags = spawnSync('git', ['tag', '--list'], { cwd: join(kept!, 'project'), encoding: 'utf8' });
    expect(tags.stdout.split('\n').filter(Boolean).sort()).toEqual(['iris#staging#1', 'iris@v1.0.0']);
    expect(existsSync(join(kept!, 'serving', 'models', 'iris', '1', 'model.onnx'))).toBe(true);
    expect(existsSync(join(kept!, 'serving', 'state', 'iris', 'staging', 'ledger.jsonl'))).toBe(true);
    expect(await groupAlive(run.pid)).toBe(false);
  });

  it('fails with exit 1 and a clear message when git is missing, leaving nothing behind', async () => {
    const run = await runDemo(['--json'], { env: { PATH: '/nonexistent' } });
    expect(run.code).toBe(1);
    const summary = JSON.parse(run.stdout) as DemoSummary;
    expect(summary.ok).toBe(false);
    expect(summary.error).toMatch(/git is not installed or not on PATH/);
    expect(run.stderr).toContain('✗ The lifecycle did not behave as expected');
    expect(await leftovers()).toEqual([]);
    expect(await groupAlive(run.pid)).toBe(false);
  });

  it('refuses a bad option with a usage error', async () => {
    const run = await runDemo(['--canary-window', 'soon']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("--canary-window must be a number of seconds from 0.5 to 600, not 'soon'");
    expect(run.stderr).toContain('[CLI_USAGE]');
    expect(await leftovers()).toEqual([]);
  });
});
