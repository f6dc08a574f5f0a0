import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deploy, type DeployOptions } from '../../src/steps/deploy.js';
import { writeModel } from '../support/onnx-models.js';
import {
  ADMIN_TOKEN,
  deployOptions,
  IRIS_V1,
  IRIS_V2,
  infer,
  trafficLoop,
  workspace,
  type Workspace,
} from './harness.js';
import { failsOnLargeFlowersModel, statefulNoiseModel } from './models.js';

let ws: Workspace;
beforeAll(() => {
  // The failing model fails on purpose, hundreds of times; onnxruntime would log every one.
  ort.env.logLevel = 'fatal';
});
beforeEach(async () => {
  ws = await workspace();
});
afterEach(async () => {
  await ws.close();
});

const options = (overrides: Partial<DeployOptions>): DeployOptions =>
  deployOptions(ws, {
    smokeRows: 8,
    ...overrides,
  });

async function routing(): Promise<unknown> {
  const response = await fetch(`${ws.server.url}/v2/models/iris/routing`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  return response.json();
}

const versionFolders = async () =>
  (await readdir(join(ws.repository, 'iris'))).filter((name) => /^\d+$/.test(name)).sort();

describe('canary on modelship serve', () => {
  it('promotes a healthy canary after watching its traffic, with the figures', async () => {
    await deploy(options({ version: '1.0.0' }), ws.log);
    const traffic = trafficLoop(ws.server.url);
    let result;
    try {
      result = await deploy(
        // The server shares this process's one thread with the clients, so per-request latency is mostly
        // queueing noise (means of 3 to 5 ms either way); the latency limit is loosened to test the promote path.
        options({
          model: IRIS_V2,
          version: '1.1.0',
          strategy: 'canary',
          canaryWeight: 30,
          analysisWindowSeconds: 1.5,
          maxLatencyRatio: 4,
        }),
        ws.log,
      );
    } finally {
      await traffic.stop();
    }
    expect(result.status).toBe('deployed');
    expect(result.canary?.decision).toBe('promote');
    expect(result.canary?.canary.requests).toBeGreaterThanOrEqual(10);
    expect(result.canary?.stable.requests).toBeGreaterThan(result.canary!.canary.requests);
    expect(result.canary?.canary.errorRate).toBe(0);
    expect(result.canary?.canary.meanLatencyMs).toBeGreaterThan(0);
    expect(traffic.failures).toEqual([]);
    expect(traffic.versions.get('2')).toBeGreaterThan(0);
    expect(await routing()).toEqual({ stable: '2', canary: null, pinned: true });
    const ledger = await ws.ledger();
    expect(ledger.at(-1)).toMatchObject({ action: 'promote', outcome: 'succeeded', numericVersion: 2 });
    expect(ledger.at(-1)?.reason).toMatch(/^canary promoted: v2 \d+ req, 0.00% errors/);
  });

  it('aborts a canary that fails under traffic and leaves the stable version serving', async () => {
    await deploy(options({ version: '1.0.0' }), ws.log);
    const failing = join(ws.dir, 'failing.onnx');
    await writeModel(failing, failsOnLargeFlowersModel());
    const traffic = trafficLoop(ws.server.url, {
      rows: [
        [5.1, 3.5, 1.4, 0.2],
        [7.7, 3.0, 6.1, 2.3],
      ],
    });
    let result;
    try {
      result = await deploy(
        options({ model: failing, version: '1.2.0', strategy: 'canary', canaryWeight: 50, analysisWindowSeconds: 1.5 }),
        ws.log,
      );
    } finally {
      await traffic.stop();
    }
    expect(result.status).toBe('rolled-back');
    expect(result.failed).toBe(true);
    expect(result.rolledBack).toBe(true);
    expect(result.failure?.code).toBe('CANARY_ABORTED');
    expect(result.canary?.decision).toBe('abort');
    expect(result.canary?.canary.errorRate).toBeGreaterThan(0.2);
    expect(result.canary?.stable.errorRate).toBe(0);
    expect(result.canary?.reasons[0]).toMatch(/canary error rate .* is above the limit 1.00%/);
    // The smoke run on small flowers passed: the failure showed only under traffic.
    expect(result.smoke[0]).toMatchObject({ passed: true, rows: 8 });
    expect(await routing()).toEqual({ stable: '1', canary: null, pinned: true });
    expect((await infer(ws.server.url, 'iris', undefined, [7.7, 3.0, 6.1, 2.3])).body.model_version).toBe('1');
    expect(await versionFolders()).toEqual(['1']);
    expect((await ws.ledger()).at(-1)).toMatchObject({ action: 'abort', outcome: 'rolled-back', semver: '1.2.0' });
  });
});

describe('automatic rollback', () => {
  it('a smoke run after the switch whose answers differ from onnxruntime offline rolls back by itself', async () => {
    await deploy(options({ version: '1.0.0' }), ws.log);
    const noisy = join(ws.dir, 'noisy.onnx');
    await writeModel(noisy, statefulNoiseModel());
    const traffic = trafficLoop(ws.server.url);
    let result;
    try {
      result = await deploy(options({ model: noisy, version: '1.3.0' }), ws.log);
    } finally {
      await traffic.stop();
    }
    expect(result.status).toBe('rolled-back');
    expect(result.failure?.code).toBe('SMOKE_FAILED');
    expect(result.failure?.message).toMatch(
      /smoke row\(s\) failed at http:\/\/127.0.0.1:\d+\/v2\/models\/iris: row iris-3: output 'probabilities' element \d+ is .*, offline .* > atol 0.00001/,
    );
    // The versioned smoke run (fresh session) matched; the one through the switched route did not.
    expect(result.smoke.map((s) => s.passed)).toEqual([true, false]);
    expect(result.previous?.semver).toBe('1.0.0');
    expect(traffic.failures).toEqual([]);
    expect((await infer(ws.server.url)).body.model_version).toBe('1');
    expect(await versionFolders()).toEqual(['1']);
    const ledger = await ws.ledger();
    expect(ledger.map((e) => `${e.action}:${e.outcome}:${e.numericVersion}`).slice(-2)).toEqual([
      'deploy:started:2',
      'deploy:rolled-back:2',
    ]);
    // The number is never handed out again.
    const next = await deploy(options({ model: IRIS_V2, version: '1.4.0' }), ws.log);
    expect(next.deployed.numericVersion).toBe(3);
  });

  it('a failed first deploy leaves nothing behind for Triton to trip over', async () => {
    const noisy = join(ws.dir, 'noisy.onnx');
    await writeModel(noisy, statefulNoiseModel());
    const result = await deploy(options({ model: noisy, version: '0.1.0' }), ws.log);
    expect(result.status).toBe('rolled-back');
    expect(await versionFolders()).toEqual([]);
    expect((await infer(ws.server.url)).status).toBe(404);
  });

  it('adopts a version that served before the ledger existed, and puts it back when a deploy fails', async () => {
    await mkdir(join(ws.repository, 'iris', '7'), { recursive: true });
    await copyFile(IRIS_V1, join(ws.repository, 'iris', '7', 'model.onnx'));
    await writeFile(join(ws.repository, 'iris', 'config.pbtxt'), 'name: "iris"\nplatform: "onnxruntime_onnx"\n');
    const load = await fetch(`${ws.server.url}/v2/repository/models/iris/load`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(load.status).toBe(200);
    const noisy = join(ws.dir, 'noisy.onnx');
    await writeModel(noisy, statefulNoiseModel());
    const result = await deploy(options({ model: noisy, version: '2.0.0' }), ws.log);
    expect(result.status).toBe('rolled-back');
    expect(result.previous).toMatchObject({ numericVersion: 7, semver: null });
    expect(result.deployed.numericVersion).toBe(8);
    expect((await infer(ws.server.url)).body.model_version).toBe('7');
    expect((await ws.ledger())[0]).toMatchObject({
      action: 'deploy',
      outcome: 'succeeded',
      numericVersion: 7,
      reason: 'adopted: it served before this environment had a ledger',
    });
  });

  it('two deploys at once take turns: the ledger never interleaves', async () => {
    await deploy(options({ version: '1.0.0' }), ws.log);
    const [a, b] = await Promise.all([
      deploy(options({ model: IRIS_V2, version: '1.1.0' }), ws.log),
      deploy(options({ model: IRIS_V1.replace('iris-v1', 'iris-regressed'), version: '1.2.0' }), ws.log),
    ]);
    expect([a.status, b.status]).toEqual(['deployed', 'deployed']);
    const ledger = (await ws.ledger()).slice(2);
    expect(ledger.map((e) => e.outcome)).toEqual(['started', 'succeeded', 'started', 'succeeded']);
    expect(ledger[0].numericVersion).toBe(ledger[1].numericVersion);
    expect(ledger[2].numericVersion).toBe(ledger[3].numericVersion);
    expect(new Set([ledger[0].semver, ledger[2].semver])).toEqual(new Set(['1.1.0', '1.2.0']));
    expect(ws.log.lines.some((line) => line.includes('Waiting for the deploy lease'))).toBe(true);
  });
});
