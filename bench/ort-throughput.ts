/**
 * Raw onnxruntime-node throughput: one session, one pre-built input tensor, `session.run` in a loop.
 * Nothing modelship does can be faster, so later benchmarks (evaluation, serving) compare against it.
 */
import * as ort from 'onnxruntime-node';

const sessions = new Map<string, Promise<ort.InferenceSession>>();

/** Sessions are cached per model: creating one is not what these numbers measure. */
export function rawSession(modelPath: string): Promise<ort.InferenceSession> {
  let session = sessions.get(modelPath);
  if (!session) {
    session = ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'] });
    sessions.set(modelPath, session);
  }
  return session;
}

export async function releaseRawSessions(): Promise<void> {
  const all = [...sessions.values()];
  sessions.clear();
  evaluationRows.clear();
  await Promise.all(all.map(async (s) => (await s).release()));
}

/** Shape of the first input with every variable dimension set to `batch` (the first) or 1. */
export async function batchShape(modelPath: string, batch: number): Promise<{ name: string; shape: number[] }> {
  const session = await rawSession(modelPath);
  const meta = session.inputMetadata[0];
  if (!meta?.isTensor) throw new Error(`${modelPath}: the first input is not a tensor.`);
  if (meta.type !== 'float32')
    throw new Error(`${modelPath}: the first input is ${meta.type}; only float32 is measured.`);
  const shape = meta.shape.map((d, i) => (typeof d === 'number' && d > 0 ? d : i === 0 ? batch : 1));
  return { name: meta.name, shape };
}

/** Deterministic float32 inputs in [-1, 1). */
export function inputData(count: number): Float32Array {
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = ((i * 2654435761) % 2000) / 1000 - 1;
  return data;
}

export interface Throughput {
  rowsPerSecond: number;
  rows: number;
  elapsedMs: number;
}

/** Runs `ceil(rows / batch)` batches of `batch` rows and returns rows per second. */
export async function measureRawOrtThroughput(modelPath: string, batch: number, rows: number): Promise<Throughput> {
  const session = await rawSession(modelPath);
  const { name, shape } = await batchShape(modelPath, batch);
  const tensor = new ort.Tensor('float32', inputData(shape.reduce((a, b) => a * b, 1)), shape);
  const runs = Math.max(1, Math.ceil(rows / batch));
  const started = performance.now();
  for (let i = 0; i < runs; i++) await session.run({ [name]: tensor });
  const elapsedMs = performance.now() - started;
  return { rowsPerSecond: (runs * batch) / (elapsedMs / 1000), rows: runs * batch, elapsedMs };
}

const evaluationRows = new Map<string, Float32Array>();

/**
 * The least an evaluation of `rows` rows can take with raw onnxruntime-node: create a session, then run
 * `rows` distinct rows, `batch` at a time, from one pre-built array already in memory (a view per batch;
 * nothing read, parsed or scored). Unlike measureRawOrtThroughput, which reruns one tensor that stays in
 * the processor's caches, every row is new, as fixture rows are; and the model is loaded, as an
 * evaluation must.
 */
export async function measureRawOrtEvaluation(modelPath: string, batch: number, rows: number): Promise<Throughput> {
  const { name, shape } = await batchShape(modelPath, batch);
  const width = shape.slice(1).reduce((a, b) => a * b, 1);
  const key = `${modelPath}:${rows}`;
  let data = evaluationRows.get(key);
  if (!data) {
    data = inputData(rows * width);
    evaluationRows.set(key, data);
  }
  const started = performance.now();
  const session = await ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'] });
  for (let at = 0; at < rows; at += batch) {
    const count = Math.min(batch, rows - at);
    const view = data.subarray(at * width, (at + count) * width);
    await session.run({ [name]: new ort.Tensor('float32', view, [count, ...shape.slice(1)]) });
  }
  const elapsedMs = performance.now() - started;
  await session.release();
  return { rowsPerSecond: rows / (elapsedMs / 1000), rows, elapsedMs };
}

/** Rows that take about `targetMs` at this batch size (at least one batch), from one timed batch. */
export async function rowsForDuration(modelPath: string, batch: number, targetMs: number): Promise<number> {
  await measureRawOrtThroughput(modelPath, batch, batch);
  const probe = await measureRawOrtThroughput(modelPath, batch, batch * 3);
  const perBatchMs = probe.elapsedMs / 3;
  return batch * Math.max(1, Math.min(100_000, Math.round(targetMs / Math.max(perBatchMs, 1e-3))));
}

/**
 * The least any evaluation of a JSONL file must do: load the model, read each line, JSON.parse it, copy
 * its one input into a batch tensor, and `session.run` full batches; no labels, no metrics. Comparing evaluate() with
 * this separates what modelship adds from the cost of parsing the rows, which no pipeline avoids.
 */
export async function measureJsonlOrtThroughput(
  modelPath: string,
  jsonlPath: string,
  batch: number,
): Promise<Throughput> {
  const { createReadStream } = await import('node:fs');
  const { createInterface } = await import('node:readline');
  const { name, shape } = await batchShape(modelPath, batch);
  const width = shape.slice(1).reduce((a, b) => a * b, 1);
  const data = new Float32Array(batch * width);
  let filled = 0;
  let rows = 0;
  const started = performance.now();
  const session = await ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'] });
  const flush = async (count: number) => {
    await session.run({
      [name]: new ort.Tensor('float32', data.subarray(0, count * width), [count, ...shape.slice(1)]),
    });
  };
  for await (const line of createInterface({ input: createReadStream(jsonlPath), crlfDelay: Infinity })) {
    if (!line) continue;
    const values = (JSON.parse(line) as { inputs: Record<string, number[]> }).inputs[name];
    data.set(values, filled * width);
    rows++;
    if (++filled === batch) {
      await flush(filled);
      filled = 0;
    }
  }
  if (filled) await flush(filled);
  const elapsedMs = performance.now() - started;
  await session.release();
  return { rowsPerSecond: rows / (elapsedMs / 1000), rows, elapsedMs };
}

/** The data of a version 1 .npy file (as the benchmarks write them), viewed without a copy. */
function npyData(path: string, bytes: Buffer): Uint8Array {
  if (bytes[6] !== 1) throw new Error(`${path}: only .npy version 1 is read here.`);
  const start = 10 + bytes.readUInt16LE(8);
  return new Uint8Array(bytes.buffer, bytes.byteOffset + start, bytes.byteLength - start);
}

/**
 * The least an evaluation that reports accuracy and log loss must do over numpy arrays, written inline
 * with no checks: create a session, read `<input>.npy` (float32) and `label.npy` (int64) whole, run
 * `batch` rows at a time, and per row count the confusion matrix from the model's `label` output and add
 * -log of the true class's probability. No exact sum, no top-k, no report. Against measureRawOrtEvaluation
 * this is the highest ratio any evaluation that scores rows in JavaScript can reach for the model.
 */
export async function measureLeastEvaluation(
  modelPath: string,
  fixtures: string,
  batch: number,
): Promise<Throughput & { accuracy: number; logLoss: number }> {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { name, shape } = await batchShape(modelPath, batch);
  const width = shape.slice(1).reduce((a, b) => a * b, 1);
  const started = performance.now();
  const session = await ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'] });
  const inputPath = join(fixtures, `${name}.npy`);
  const labelPath = join(fixtures, 'label.npy');
  const inputBytes = npyData(inputPath, readFileSync(inputPath));
  const labelBytes = npyData(labelPath, readFileSync(labelPath));
  if (inputBytes.byteOffset % 4 !== 0 || labelBytes.byteOffset % 8 !== 0)
    throw new Error(`${fixtures}: array data is not aligned for a typed view.`);
  const input = new Float32Array(inputBytes.buffer, inputBytes.byteOffset, inputBytes.byteLength / 4);
  // Class indexes are small: the low 32 bits of each little-endian int64 are the value.
  const labels = new Int32Array(labelBytes.buffer, labelBytes.byteOffset, labelBytes.byteLength / 4);
  const rows = input.length / width;
  let classes = 0;
  let confusion = new Float64Array(0);
  let lossSum = 0;
  for (let at = 0; at < rows; at += batch) {
    const count = Math.min(batch, rows - at);
    const out = await session.run({
      [name]: new ort.Tensor('float32', input.subarray(at * width, (at + count) * width), [count, ...shape.slice(1)]),
    });
    const probabilities = out.probabilities?.data as Float32Array | undefined;
    const label = out.label?.data as BigInt64Array | undefined;
    if (!probabilities || !label) throw new Error(`${modelPath} has no 'label' and 'probabilities' outputs.`);
    if (probabilities.length / count !== classes) {
      classes = probabilities.length / count;
      confusion = new Float64Array(classes * classes);
    }
    const predicted = new Int32Array(label.buffer, label.byteOffset, count * 2);
    for (let r = 0; r < count; r++) {
      const actual = labels[2 * (at + r)];
      confusion[actual * classes + predicted[2 * r]]++;
      lossSum -= Math.log(Math.max(probabilities[r * classes + actual], 1e-15));
    }
  }
  const elapsedMs = performance.now() - started;
  await session.release();
  let correct = 0;
  for (let k = 0; k < classes; k++) correct += confusion[k * classes + k];
  return {
    rowsPerSecond: rows / (elapsedMs / 1000),
    rows,
    elapsedMs,
    accuracy: correct / rows,
    logLoss: lossSum / rows,
  };
}
