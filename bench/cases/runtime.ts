/**
 * Inference throughput through modelship's session wrapper (src/runtime/session.ts: feeds checked
 * against the signature, tensors converted both ways) against raw onnxruntime-node on the same model,
 * batch and machine. The raw numbers are the physical limit every later throughput case is held to.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openSession, type ModelSession } from '../../src/runtime/session.js';
import { defineCase, type BenchContext } from '../harness.js';
import { writeMlpModel } from '../../scripts/fixtures/mlp.js';
import {
  batchShape,
  inputData,
  measureRawOrtThroughput,
  releaseRawSessions,
  rowsForDuration,
} from '../ort-throughput.js';

export { measureRawOrtThroughput } from '../ort-throughput.js';

const fixtureModels = ['iris-v1', 'iris-v2', 'mpg-v1'];
const batches = [1, 64, 1024];

/** The wrapper's cost shows at batch 1, where a run is a few microseconds of arithmetic. */
const targets: Record<number, number> = { 1: 0.5, 64: 0.8, 1024: 0.9 };

const sessions = new Map<string, Promise<ModelSession>>();
const projectSession = (path: string) => {
  let session = sessions.get(path);
  if (!session) {
    session = openSession(path);
    sessions.set(path, session);
  }
  return session;
};

async function projectThroughput(path: string, batch: number, rows: number): Promise<number> {
  const session = await projectSession(path);
  const { name, shape } = await batchShape(path, batch);
  const feed = { [name]: { datatype: 'FP32' as const, shape, data: inputData(shape.reduce((a, b) => a * b, 1)) } };
  const runs = Math.max(1, Math.ceil(rows / batch));
  const started = performance.now();
  for (let i = 0; i < runs; i++) await session.run(feed);
  return (runs * batch) / ((performance.now() - started) / 1000);
}

export async function cases(ctx: BenchContext) {
  const models: { label: string; path: string }[] = [];
  for (const name of ctx.quick ? fixtureModels.slice(0, 1) : fixtureModels) {
    models.push({ label: name, path: join(ctx.repoRoot, 'fixtures', 'models', name, 'model.onnx') });
  }
  const mlp = ctx.quick
    ? { inputSize: 784, hiddenSizes: [64], outputSize: 10 }
    : { inputSize: 784, hiddenSizes: [256, 128], outputSize: 10 };
  const mlpLabel = `mlp-${[mlp.inputSize, ...mlp.hiddenSizes, mlp.outputSize].join('-')}`;
  const mlpPath = join(ctx.tmpDir, `${mlpLabel}.onnx`);
  await writeMlpModel(mlpPath, mlp);
  models.push({ label: mlpLabel, path: mlpPath });

  const targetMs = ctx.quick ? 15 : 250;
  return models.flatMap(({ label, path }) =>
    batches.map((batch, index) =>
      defineCase<{ rows: number }>({
        name: `runtime/${label}/batch-${batch}`,
        unit: 'rows/s',
        better: 'higher',
        target: targets[batch],
        baselineLabel: 'raw onnxruntime-node session.run, same input tensor reused',
        skip: existsSync(path) ? undefined : `${path} is missing (npm run fixtures)`,
        setup: async () => ({ rows: await rowsForDuration(path, batch, targetMs) }),
        project: ({ rows }) => projectThroughput(path, batch, rows),
        baseline: async ({ rows }) => (await measureRawOrtThroughput(path, batch, rows)).rowsPerSecond,
        // Sessions are shared by the batch sizes of one model; the last one releases them.
        teardown:
          index === batches.length - 1
            ? async () => {
                await (await sessions.get(path))?.release();
                sessions.delete(path);
                await releaseRawSessions();
              }
            : undefined,
      }),
    ),
  );
}
