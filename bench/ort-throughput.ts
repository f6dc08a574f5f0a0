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
