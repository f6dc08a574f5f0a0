import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  cleanRuntimeMessage,
  runIsolated,
  startIsolatedRuntime,
  type WorkerEntry,
} from '../../src/runtime/isolated.js';
import { foreverLoopModel } from '../support/hostile-models.js';
import { writeModel } from '../support/onnx-models.js';

const fixtures = path.join(import.meta.dirname, '..', '..', 'fixtures', 'models');
const irisV1 = path.join(fixtures, 'iris-v1', 'model.onnx');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'modelship-isolated-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A stand-in worker, written as plain ESM. */
async function standInWorker(name: string, code: string): Promise<WorkerEntry> {
  const file = path.join(dir, `${name}.mjs`);
  await writeFile(file, code);
  return { file, execArgv: [] };
}

/** A stand-in that misbehaves once it is handed a model. */
const misbehavingWorker = (name: string, body: string) =>
  standInWorker(name, `process.once('message', async () => {\n${body}\n});\n`);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('runIsolated with onnxruntime-node', () => {
  test('loads, runs and times a real model, reporting the runtime signature', async () => {
    const feeds = {
      features: {
        datatype: 'FP32' as const,
        shape: [2, 4],
        data: Float32Array.from([5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3]),
      },
    };
    const outcome = await runIsolated(
      {
        modelPath: irisV1,
        smoke: { feeds, fetches: ['label', 'probabilities'] },
        latency: { feeds, fetches: ['label'], runs: 5, budgetMs: 1000 },
      },
      { timeoutMs: 30_000 },
    );
    expect(outcome.runtime).toMatchObject({ ok: true, source: 'node_modules' });
    expect(outcome.load).toMatchObject({ ok: true, signature: { inputs: [{ name: 'features', datatype: 'FP32' }] } });
    if (!outcome.smoke?.ok) throw new Error(`smoke run failed: ${JSON.stringify(outcome.smoke)}`);
    expect(outcome.smoke.outputs.label).toEqual({ datatype: 'INT64', shape: [2], data: BigInt64Array.from([0n, 2n]) });
    expect(outcome.smoke.outputs.probabilities.shape).toEqual([2, 3]);
    expect(outcome.latency).toMatchObject({ ok: true, samples: expect.any(Array) });
    if (outcome.latency?.ok) expect(outcome.latency.samples).toHaveLength(5);
    expect(outcome.maxRssKb).toBeGreaterThan(1000);
  });

  test('a file onnxruntime refuses is an error at load, with the runtime message cleaned', async () => {
    const outcome = await runIsolated(
      { modelPath: path.join(fixtures, 'bad', 'random-bytes.onnx') },
      { timeoutMs: 30_000 },
    );
    expect(outcome.load).toMatchObject({ ok: false, reason: 'error' });
    if (outcome.load && !outcome.load.ok) {
      expect(outcome.load.message).toContain('onnxruntime could not load');
      expect(outcome.load.message).not.toContain('/onnxruntime_src/');
    }
    expect(outcome.smoke).toBeUndefined();
  });

  test('a model that spins the runtime is killed at the deadline and reported as a timeout', async () => {
    const model = path.join(dir, 'forever.onnx');
    await writeModel(model, foreverLoopModel());
    const started = performance.now();
    const outcome = await runIsolated(
      {
        modelPath: model,
        smoke: { feeds: { X: { datatype: 'FP32', shape: [1], data: new Float32Array(1) } }, fetches: ['Y'] },
      },
      { timeoutMs: 1500 },
    );
    const elapsed = performance.now() - started;
    expect(outcome.load?.ok).toBe(true);
    expect(outcome.smoke).toEqual({
      ok: false,
      reason: 'timeout',
      message: 'no answer within 1.5 s; the process was killed',
    });
    expect(elapsed).toBeLessThan(15_000);
  });
});

describe('runIsolated with a misbehaving process', () => {
  test('a segfault during load is a crash naming the signal', async () => {
    const worker = await misbehavingWorker(
      'segfault',
      "process.send({ type: 'runtime', source: 'test', dir: '.' }, () => process.kill(process.pid, 'SIGSEGV'));",
    );
    const outcome = await runIsolated({ modelPath: irisV1 }, { timeoutMs: 10_000, worker });
    expect(outcome.runtime.ok).toBe(true);
    expect(outcome.load).toMatchObject({
      ok: false,
      reason: 'crash',
      message: expect.stringContaining('signal SIGSEGV'),
    });
  });

  test('an abort carries the tail of stderr', async () => {
    const worker = await misbehavingWorker(
      'abort',
      "process.send({ type: 'runtime', source: 'test', dir: '.' }, () => { process.stderr.write('terminate called: bad_alloc\\n', () => process.abort()); });",
    );
    const outcome = await runIsolated({ modelPath: irisV1 }, { timeoutMs: 10_000, worker });
    expect(outcome.load).toMatchObject({ ok: false, reason: 'crash' });
    if (outcome.load && !outcome.load.ok) {
      expect(outcome.load.message).toContain('SIGABRT');
      expect(outcome.load.message).toContain('terminate called: bad_alloc');
    }
  });

  test('an exit before any answer is a crash of the runtime stage; a hang at load is a timeout, and the process is gone', async () => {
    const exits = await misbehavingWorker('exit', 'process.exit(3);');
    const exited = await runIsolated({ modelPath: irisV1 }, { timeoutMs: 10_000, worker: exits });
    expect(exited.runtime).toMatchObject({
      ok: false,
      reason: 'crash',
      message: expect.stringContaining('exit code 3'),
    });
    expect(exited.load).toBeUndefined();

    const pidFile = path.join(dir, 'hang.pid');
    const hangs = await misbehavingWorker(
      'hang',
      `(await import('node:fs')).writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
       process.send({ type: 'runtime', source: 'test', dir: '.' }); setInterval(() => {}, 1000);`,
    );
    const hung = await runIsolated({ modelPath: irisV1 }, { timeoutMs: 500, worker: hangs });
    expect(hung.load).toMatchObject({ ok: false, reason: 'timeout' });
    const pid = Number(await readFile(pidFile, 'utf8'));
    expect(alive(pid)).toBe(false);
  });

  test('a worker file that does not exist is a crash, not a throw', async () => {
    const outcome = await runIsolated(
      { modelPath: irisV1 },
      { timeoutMs: 5000, worker: { file: path.join(dir, 'none.mjs'), execArgv: [] } },
    );
    expect(outcome.runtime.ok).toBe(false);
  });
});

test('cleanRuntimeMessage drops the C++ location and signature', () => {
  const raw =
    '/onnxruntime_src/onnxruntime/core/graph/model.cc:202 onnxruntime::Model::Model(onnx::ModelProto&&, const onnxruntime::PathString&, ' +
    'const onnxruntime::IOnnxRuntimeOpSchemaRegistryList*, const onnxruntime::logging::Logger&, const onnxruntime::ModelOptions&) ' +
    'Unsupported model IR version: 14, max supported IR version: 13\n';
  expect(cleanRuntimeMessage(`onnxruntime could not load m.onnx: ${raw}`)).toBe(
    'onnxruntime could not load m.onnx: Unsupported model IR version: 14, max supported IR version: 13',
  );
  expect(cleanRuntimeMessage('plain message ')).toBe('plain message');
});

describe('startIsolatedRuntime', () => {
  test('close() stops a process that will not be used', async () => {
    const pidFile = path.join(dir, 'idle.pid');
    // The stand-in never answers; what matters is that close() kills it while it waits.
    const worker = await standInWorker(
      'idle-unused',
      `(await import('node:fs')).writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000);\n`,
    );
    const runtime = startIsolatedRuntime({ timeoutMs: 5000, worker });
    for (let i = 0; i < 100 && !(await readFile(pidFile, 'utf8').catch(() => '')); i++)
      await new Promise((r) => setTimeout(r, 50));
    const pid = Number(await readFile(pidFile, 'utf8'));
    expect(alive(pid)).toBe(true);
    runtime.close();
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    expect(alive(pid)).toBe(false);
  });

  test('a real runtime started early runs the model handed over later', async () => {
    const runtime = startIsolatedRuntime({ timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 300));
    const outcome = await runtime.run({ modelPath: irisV1 });
    expect(outcome.runtime.ok).toBe(true);
    expect(outcome.load?.ok).toBe(true);
  });

  test('a process that dies while waiting for the model is charged to the load', async () => {
    const worker = await standInWorker(
      'dies-waiting',
      "process.send({ type: 'runtime', source: 'test', dir: '.' }, () => setTimeout(() => process.exit(7), 50));\n",
    );
    const runtime = startIsolatedRuntime({ timeoutMs: 5000, worker });
    await new Promise((r) => setTimeout(r, 1000));
    const outcome = await runtime.run({ modelPath: irisV1 });
    expect(outcome.runtime.ok).toBe(true);
    expect(outcome.load).toMatchObject({ ok: false, reason: 'crash', message: expect.stringContaining('exit code 7') });
  });

  test('onnxruntime that cannot be found is a runtime failure, and the model is never loaded', async () => {
    const worker = await standInWorker(
      'no-runtime',
      "process.send({ type: 'error', stage: 'runtime', message: 'onnxruntime-node 1.30.0 is not available.' });\n" +
        "process.once('message', () => process.exit(0));\n",
    );
    const runtime = startIsolatedRuntime({ timeoutMs: 5000, worker });
    await new Promise((r) => setTimeout(r, 500));
    const outcome = await runtime.run({ modelPath: irisV1 });
    expect(outcome.runtime).toEqual({
      ok: false,
      reason: 'error',
      message: 'onnxruntime-node 1.30.0 is not available.',
    });
    expect(outcome.load).toBeUndefined();
  });
});
