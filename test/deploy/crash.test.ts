/**
 * Crash consistency: `modelship deploy` killed with SIGKILL at each named point (MODELSHIP_FAULT_INJECT)
 * while clients keep sending requests. After every kill the old version still serves, the ledger reads
 * (a torn last line at most), and the repository is one Triton can load; the next deploy takes the expired
 * lease over, restores what the ledger says, and records the interruption.
 */
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { current, readLedger } from '../../src/deploy/ledger.js';
import { readPolicy } from '../../src/deploy/model-repository.js';
import { digestModel } from '../../src/onnx/digest.js';
import { deploy } from '../../src/steps/deploy.js';
import { ADMIN_TOKEN, IRIS_ROWS, IRIS_V1, IRIS_V2, infer, trafficLoop, workspace, type Workspace } from './harness.js';

const CLI = resolve('dist/cli.js');

function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: {
        ...process.env,
        MODELSHIP_ADMIN_TOKEN: ADMIN_TOKEN,
        MODELSHIP_LEASE_TTL_SECONDS: '0.5',
        NO_COLOR: '1',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('exit', (code, signal) => done({ code, signal, stderr }));
  });
}

let ws: Workspace;
let deployArgs: string[];
let digests: Set<string>;
const ledgerFile = () => join(ws.state, 'iris', 'production', 'ledger.jsonl');

beforeAll(async () => {
  ws = await workspace();
  deployArgs = [
    'deploy',
    IRIS_V2,
    '--model-name',
    'iris',
    '--environment',
    'production',
    '--version',
    '1.1.0',
    '--target',
    `file://${ws.repository}`,
    '--server',
    ws.server.url,
    '--smoke-fixtures',
    IRIS_ROWS,
    '--smoke-rows',
    '4',
  ];
  digests = new Set([await digestModel(IRIS_V1), await digestModel(IRIS_V2)]);
  await deploy(
    {
      model: IRIS_V1,
      modelName: 'iris',
      environment: 'production',
      version: '1.0.0',
      target: `file://${ws.repository}`,
      server: ws.server.url,
      adminToken: ADMIN_TOKEN,
    },
    ws.log,
  );
});
afterAll(async () => {
  await ws?.close();
});

/** What must hold after any kill before the switch. */
async function expectConsistent(): Promise<void> {
  const read = await readLedger(ledgerFile());
  expect(current(read.entries)?.numericVersion).toBe(1);
  const modelDir = join(ws.repository, 'iris');
  const versions = (await readdir(modelDir)).filter((name) => /^\d+$/.test(name));
  // Every version folder is whole (a model with a known digest), and the policy names only folders that exist.
  for (const version of versions)
    expect(digests.has(await digestModel(join(modelDir, version, 'model.onnx')))).toBe(true);
  const policy = await readPolicy({ root: ws.repository, model: 'iris' });
  expect(policy?.kind).toBe('specific');
  for (const version of policy?.kind === 'specific' ? policy.versions : []) {
    expect((await stat(join(modelDir, String(version)))).isDirectory()).toBe(true);
  }
  expect(await readdir(ws.repository)).toEqual(['iris']);
  expect((await infer(ws.server.url)).body.model_version).toBe('1');
}

describe('deploy killed mid-way', () => {
  it('leaves the old version serving and repository and ledger consistent at every point, then recovers', async () => {
    const traffic = trafficLoop(ws.server.url);
    try {
      for (const point of [
        'after-lease',
        'after-ledger-started',
        'mid-version-copy',
        'after-version-written',
        'after-policy-updated',
        'after-load',
        'ledger-torn-write',
      ]) {
        const run = await runCli(deployArgs, { MODELSHIP_FAULT_INJECT: point });
        expect(run.signal, `${point}: ${run.stderr}`).toBe('SIGKILL');
        await expectConsistent();
      }
      const torn = await readLedger(ledgerFile());
      expect(torn.torn).toBeDefined();

      // Killed after the switch: the new version took traffic but never recorded success, so the next run
      // puts back what the ledger says (1.0.0) before deploying again.
      const afterSwitch = await runCli(deployArgs, { MODELSHIP_FAULT_INJECT: 'after-switch' });
      expect(afterSwitch.signal).toBe('SIGKILL');
      expect(current((await readLedger(ledgerFile())).entries)?.numericVersion).toBe(1);

      const final = await runCli(deployArgs, {});
      expect(final.code, final.stderr).toBe(0);
      expect(final.stderr).toMatch(/Taking over the deploy lease held by \S+@\S+ \(pid \d+ on /);
      expect(final.stderr).toMatch(/never recorded an outcome: it was interrupted/);
    } finally {
      await traffic.stop();
    }
    expect(traffic.failures).toEqual([]);
    expect(traffic.requests).toBeGreaterThan(50);

    const { entries, torn } = await readLedger(ledgerFile());
    expect(torn).toBeUndefined();
    const serving = current(entries);
    expect(serving).toMatchObject({ semver: '1.1.0' });
    expect((await infer(ws.server.url)).body.model_version).toBe(String(serving?.numericVersion));
    // Every interrupted run that got as far as the ledger is closed by a `failed` entry before the next starts.
    const outcomes = entries.map((e) => e.outcome);
    for (let i = 0; i < outcomes.length - 1; i++) {
      if (outcomes[i] === 'started') expect(outcomes[i + 1]).not.toBe('started');
    }
    const interrupted = entries.filter((e) => e.outcome === 'failed' && e.reason?.startsWith('interrupted'));
    expect(interrupted.length).toBeGreaterThanOrEqual(5);
    expect((await readdir(join(ws.repository, 'iris'))).filter((n) => n.startsWith('.'))).toEqual([]);
  });
});
