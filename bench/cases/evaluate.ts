/**
 * Evaluation throughput and memory. Throughput: `evaluate()` over 100,000 generated rows (model loaded,
 * rows read, batched, run and scored), as numpy arrays and as JSONL, against raw onnxruntime-node doing
 * the least such a pass must: load the model and run 100,000 distinct rows, pre-built in memory, at its
 * best batch size, in the same run. The ratio is what evaluation costs on top of inference. (Rerunning
 * one tensor that stays in the processor's caches is faster still; the setup logs that rate too.) JSONL
 * rows must be parsed first, which costs more than inference for these models, so JSONL is also
 * measured against a baseline that parses the same file. Memory: peak RSS of the CLI evaluating
 * 1,000,000 rows with a baseline model (a paired run, the heavier one) in a child process, against the
 * 300 MB budget. The floor case has no project code: it is the least evaluation written inline (read the
 * arrays, run, count the confusion matrix and a log loss) against the same raw baseline, so it prints the
 * highest ratio any evaluation in JavaScript can reach for the model.
 */
import { createWriteStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { npyHeader } from '../../src/fixtures/npy.js';
import { silentLogger } from '../../src/log.js';
import { evaluate } from '../../src/steps/evaluate.js';
import { defineCase, type BenchContext } from '../harness.js';
import { writeMlpModel } from '../../scripts/fixtures/mlp.js';
import {
  measureJsonlOrtThroughput,
  measureLeastEvaluation,
  measureRawOrtEvaluation,
  measureRawOrtThroughput,
  releaseRawSessions,
} from '../ort-throughput.js';
import { runNode } from '../process-stats.js';

const RSS_BUDGET_BYTES = 300 * 1024 * 1024;
const RAW_BATCHES = [64, 256, 1024, 4096, 16384];

/** Writes `rows` JSONL rows, streaming, so that even a million rows never sit in memory here. */
async function writeRows(path: string, rows: number, row: (i: number) => string): Promise<void> {
  const out = createWriteStream(path);
  let chunk = '';
  for (let i = 0; i < rows; i++) {
    chunk += row(i) + '\n';
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

/** Deterministic pseudo-random numbers for the generated rows. */
function lcg(seed: number) {
  let s = seed >>> 0 || 1;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 0x100000000;
}

const IRIS_LABELS = ['setosa', 'versicolor', 'virginica'];

function irisRow(random: () => number) {
  return (i: number) => {
    const f = [4.3 + random() * 3.6, 2 + random() * 2.4, 1 + random() * 5.9, 0.1 + random() * 2.4].map(
      (v) => Math.round(v * 10) / 10,
    );
    const label = IRIS_LABELS[f[2] < 2.5 ? 0 : f[2] < 5 ? 1 : 2];
    return `{"id":"iris-${i}","inputs":{"features":[${f.join(',')}]},"label":"${label}","petal_size":"${f[2] < 2.5 ? 'small' : f[2] < 5 ? 'medium' : 'large'}"}`;
  };
}

/** MNIST-like rows: 784 pixel values 0..255, most of them 0. */
function mnistRow(random: () => number) {
  return (i: number) => {
    const pixels = new Array<number>(784);
    for (let p = 0; p < 784; p++) pixels[p] = random() < 0.8 ? 0 : Math.floor(random() * 256);
    return `{"id":"img-${i}","inputs":{"input":[${pixels.join(',')}]},"label":${Math.floor(random() * 10)}}`;
  };
}

/**
 * The same kind of rows as numpy arrays, as a data scientist saves them (np.save): `<input>.npy` float32
 * [rows, width] and `label.npy` int64 [rows] of class indexes.
 */
function writeArrays(
  dir: string,
  input: string,
  rows: number,
  width: number,
  row: (i: number, out: Float32Array) => number,
) {
  mkdirSync(dir, { recursive: true });
  const features = new Float32Array(rows * width);
  const labels = new BigInt64Array(rows);
  for (let i = 0; i < rows; i++) labels[i] = BigInt(row(i, features.subarray(i * width, (i + 1) * width)));
  writeFileSync(
    join(dir, `${input}.npy`),
    Buffer.concat([npyHeader('<f4', [rows, width]), Buffer.from(features.buffer)]),
  );
  writeFileSync(join(dir, 'label.npy'), Buffer.concat([npyHeader('<i8', [rows]), Buffer.from(labels.buffer)]));
}

function irisArrayRow(random: () => number) {
  return (_: number, out: Float32Array) => {
    out[0] = 4.3 + random() * 3.6;
    out[1] = 2 + random() * 2.4;
    out[2] = 1 + random() * 5.9;
    out[3] = 0.1 + random() * 2.4;
    return out[2] < 2.5 ? 0 : out[2] < 5 ? 1 : 2;
  };
}

function mnistArrayRow(random: () => number) {
  return (_: number, out: Float32Array) => {
    for (let p = 0; p < out.length; p++) out[p] = random() < 0.8 ? 0 : Math.floor(random() * 256);
    return Math.floor(random() * 10);
  };
}

/** The batch size at which raw onnxruntime-node evaluates `rows` rows fastest. */
async function bestRawBatch(model: string, rows: number): Promise<{ batch: number; rowsPerSecond: number }> {
  let best = { batch: 0, rowsPerSecond: 0 };
  for (const batch of RAW_BATCHES) {
    await measureRawOrtEvaluation(model, batch, rows);
    const { rowsPerSecond } = await measureRawOrtEvaluation(model, batch, rows);
    if (rowsPerSecond > best.rowsPerSecond) best = { batch, rowsPerSecond };
  }
  return best;
}

export async function cases(ctx: BenchContext) {
  const iris = join(ctx.repoRoot, 'fixtures', 'models', 'iris-v1', 'model.onnx');
  const irisV2 = join(ctx.repoRoot, 'fixtures', 'models', 'iris-v2', 'model.onnx');
  const rows = ctx.quick ? 2_000 : 100_000;
  const rssRows = ctx.quick ? 20_000 : 1_000_000;
  const mlpShape = ctx.quick
    ? { inputSize: 784, hiddenSizes: [64], outputSize: 10 }
    : { inputSize: 784, hiddenSizes: [256, 128], outputSize: 10 };
  const mlpLabel = `mlp-${[mlpShape.inputSize, ...mlpShape.hiddenSizes, mlpShape.outputSize].join('-')}`;
  const missing = existsSync(iris) ? undefined : `${iris} is missing (npm run fixtures)`;

  const evaluateRowsPerSecond = async ({ model, fixtures }: { model: string; fixtures: string }) => {
    const started = performance.now();
    const result = await evaluate({ model, fixtures, progressIntervalMs: 0 }, silentLogger);
    return result.report.rows / ((performance.now() - started) / 1000);
  };

  type Prepared = { model: string; fixtures: string; batch: number };
  const prepareWithBestBatch =
    (label: string, prepare: () => Promise<{ model: string; fixtures: string }>) => async () => {
      const prepared = await prepare();
      const best = await bestRawBatch(prepared.model, rows);
      await measureRawOrtThroughput(prepared.model, best.batch, best.batch);
      const hot = await measureRawOrtThroughput(prepared.model, best.batch, rows);
      ctx.log(
        `${label}: raw onnxruntime-node evaluates fastest at batch ${best.batch} (${Math.round(best.rowsPerSecond)} rows/s, ` +
          `model load included; one tensor rerun from the caches, no load: ${Math.round(hot.rowsPerSecond)} rows/s)`,
      );
      return { ...prepared, batch: best.batch };
    };

  /** evaluate() against raw onnxruntime-node on pre-built rows: what evaluation costs on top of inference. */
  const againstRaw = (name: string, label: string, prepare: () => Promise<{ model: string; fixtures: string }>) =>
    defineCase<Prepared>({
      name,
      unit: 'rows/s',
      better: 'higher',
      target: 0.85,
      baselineLabel:
        'raw onnxruntime-node: session create + session.run over the same number of distinct pre-built rows, at its best batch size',
      skip: missing,
      setup: prepareWithBestBatch(label, prepare),
      project: evaluateRowsPerSecond,
      baseline: async ({ model, batch }) => (await measureRawOrtEvaluation(model, batch, rows)).rowsPerSecond,
      teardown: () => releaseRawSessions(),
    });

  // Rows that are already tensors (numpy arrays), and rows that must be parsed first (JSONL).
  const arrays = (label: string, prepare: () => Promise<{ model: string; fixtures: string }>) =>
    againstRaw(`evaluate/throughput-npy/${label}/${rows}-rows`, label, prepare);

  /** What scoring rows costs at the least, for a model small enough that inference is not most of the time. */
  const floor = (label: string, prepare: () => Promise<{ model: string; fixtures: string }>) =>
    defineCase<Prepared>({
      name: `evaluate/floor-npy/${label}/${rows}-rows`,
      unit: 'rows/s',
      better: 'higher',
      baselineLabel:
        'raw onnxruntime-node as in throughput-npy; the project side is not modelship but the least evaluation written inline (read the arrays, run, confusion matrix, log loss): the ceiling for any evaluation in JavaScript',
      skip: missing,
      setup: async () => {
        const prepared = await prepareWithBestBatch(label, prepare)();
        // The floor must compute what evaluate does, or its ratio says nothing.
        const least = await measureLeastEvaluation(prepared.model, prepared.fixtures, prepared.batch);
        const { metrics } = (await evaluate({ ...prepared, progressIntervalMs: 0 }, silentLogger)).report;
        if (
          least.accuracy !== metrics.accuracy ||
          Math.abs(least.logLoss - metrics.log_loss) > 1e-9 * metrics.log_loss
        ) {
          throw new Error(
            `the inline evaluation disagrees with evaluate(): accuracy ${least.accuracy} vs ${metrics.accuracy}, log loss ${least.logLoss} vs ${metrics.log_loss}`,
          );
        }
        return prepared;
      },
      project: async ({ model, fixtures, batch }) =>
        (await measureLeastEvaluation(model, fixtures, batch)).rowsPerSecond,
      baseline: async ({ model, batch }) => (await measureRawOrtEvaluation(model, batch, rows)).rowsPerSecond,
      teardown: () => releaseRawSessions(),
    });
  const irisArrays = async () => {
    const fixtures = join(ctx.tmpDir, `iris-${rows}-npy`);
    if (!existsSync(fixtures)) writeArrays(fixtures, 'features', rows, 4, irisArrayRow(lcg(1)));
    return { model: iris, fixtures };
  };

  const throughput = (label: string, prepare: () => Promise<{ model: string; fixtures: string }>) => [
    againstRaw(`evaluate/throughput/${label}/${rows}-rows`, label, prepare),
    // The same target against a baseline that also reads the rows: what evaluation adds beyond parsing.
    defineCase<Prepared>({
      name: `evaluate/throughput-vs-parsed-rows/${label}/${rows}-rows`,
      unit: 'rows/s',
      better: 'higher',
      target: 0.85,
      baselineLabel:
        'session create + readline + JSON.parse of the same JSONL into batch tensors + raw session.run at its best batch size',
      skip: missing,
      setup: prepareWithBestBatch(label, prepare),
      project: evaluateRowsPerSecond,
      baseline: async ({ model, fixtures, batch }) =>
        (await measureJsonlOrtThroughput(model, fixtures, batch)).rowsPerSecond,
      teardown: () => releaseRawSessions(),
    }),
  ];

  const mlpModel = async () => {
    const model = join(ctx.tmpDir, `${mlpLabel}.onnx`);
    if (!existsSync(model)) await writeMlpModel(model, mlpShape);
    return model;
  };

  return [
    arrays('iris-v1', irisArrays),
    floor('iris-v1', irisArrays),
    arrays(mlpLabel, async () => {
      const fixtures = join(ctx.tmpDir, `mnist-${rows}-npy`);
      writeArrays(fixtures, 'input', rows, 784, mnistArrayRow(lcg(2)));
      return { model: await mlpModel(), fixtures };
    }),
    ...throughput('iris-v1', async () => {
      const fixtures = join(ctx.tmpDir, `iris-${rows}.jsonl`);
      await writeRows(fixtures, rows, irisRow(lcg(1)));
      return { model: iris, fixtures };
    }),
    ...throughput(mlpLabel, async () => {
      const model = await mlpModel();
      const fixtures = join(ctx.tmpDir, `mnist-${rows}.jsonl`);
      await writeRows(fixtures, rows, mnistRow(lcg(2)));
      return { model, fixtures };
    }),
    defineCase<{ fixtures: string }>({
      name: `evaluate/peak-rss/iris-paired/${rssRows}-rows`,
      unit: 'MB',
      better: 'lower',
      target: 1,
      baselineLabel: 'the 300 MB budget (a constant): the ratio is peak RSS / 300 MB',
      skip: missing,
      setup: async () => {
        const fixtures = join(ctx.tmpDir, `iris-${rssRows}.jsonl`);
        await writeRows(fixtures, rssRows, irisRow(lcg(3)));
        return { fixtures };
      },
      project: async ({ fixtures }) => {
        const run = await runNode(
          [
            join(ctx.repoRoot, 'dist', 'cli.js'),
            'evaluate',
            irisV2,
            '--baseline-model',
            iris,
            '--fixtures',
            fixtures,
            '--slice-by',
            'petal_size',
            '--quiet',
            '--json',
          ],
          { measureRss: true },
        );
        if (run.exitCode !== 0 && run.exitCode !== 1) throw new Error(`evaluate exited ${run.exitCode}: ${run.stderr}`);
        const report = JSON.parse(run.stdout) as { rows: number };
        if (report.rows !== rssRows) throw new Error(`evaluated ${report.rows} rows, expected ${rssRows}`);
        return run.maxRssBytes! / (1024 * 1024);
      },
      baseline: async () => RSS_BUDGET_BYTES / (1024 * 1024),
    }),
  ];
}
