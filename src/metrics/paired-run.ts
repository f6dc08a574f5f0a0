/**
 * Runs the candidate (and the baseline, on the very same feeds) over the fixtures in one streaming pass
 * and feeds the task's accumulators. Only one batch of rows is alive at a time, so memory stays flat
 * whatever the number of rows.
 */
import { performance } from 'node:perf_hooks';
import { ModelshipError } from '../errors.js';
import { createRowParser, type FieldNames, type FixtureRow, type InputMapping, type Shard } from '../fixtures/rows.js';
import { readLineBatches } from '../fixtures/lines.js';
import {
  listTestDataSets,
  readTestCases,
  type FixtureFormat,
  type TestCase,
  type TestTensor,
} from '../fixtures/test-data.js';
import type { Logger } from '../log.js';
import { ClassificationEvaluation, defaultTopK, type ClassPrediction } from './classification-evaluation.js';
import type { EvaluationSettings, Task, TaskEvaluation } from './evaluation.js';
import {
  compareElements,
  compareTensors,
  DEFAULT_TOLERANCE,
  type ElementComparison,
  type Tolerance,
} from './golden.js';
import { GoldenEvaluation } from './golden-evaluation.js';
import { LatencyHistogram } from './latency.js';
import { planOutputs, readClassBatch, readValueBatch, type OutputChoice, type OutputPlan } from './predictions.js';
import { RegressionEvaluation } from './regression-evaluation.js';
import { autoBatchSize, RowBatchBuilder } from '../runtime/row-batches.js';
import type { Signature, TensorSignature, TensorValue } from '../runtime/tensor.js';
import type { LoadedModel } from '../runtime/loaded-model.js';

export interface RunOptions {
  task: Task;
  fixtures: string;
  format: FixtureFormat;
  fields: FieldNames;
  mapping?: InputMapping;
  outputs?: OutputChoice;
  labels?: string[];
  batchSize?: number;
  shard?: Shard;
  settings: EvaluationSettings;
  tolerance?: Partial<Tolerance>;
  /** How often to log progress; 0 turns it off. */
  progressIntervalMs: number;
}

export interface RunResult {
  evaluation: TaskEvaluation;
  latency: { candidate: LatencyHistogram; baseline?: LatencyHistogram };
  batchSize: number;
  /** Rows in the fixture file (all shards). */
  totalRows: number;
  /** Outputs the evaluation read, for the signature check against a baseline. */
  outputs: string[];
}

export function createEvaluation(
  task: Task,
  settings: EvaluationSettings,
  labels: string[],
  topK: number,
): TaskEvaluation {
  if (task === 'classification') return new ClassificationEvaluation(settings, labels, topK);
  if (task === 'regression') return new RegressionEvaluation(settings);
  return new GoldenEvaluation(settings);
}

/** Class names to start from: configured, else the model's, else 0..K-1 for a K-wide score output. */
export function initialLabels(options: RunOptions, candidate: LoadedModel, plan: OutputPlan): string[] {
  if (options.labels?.length) return options.labels;
  if (candidate.labels?.length) return candidate.labels;
  const width = plan.probabilities?.shape
    .slice(1)
    .reduce<number>((n, d) => n * (typeof d === 'number' && d > 0 ? d : NaN), 1);
  return width && Number.isFinite(width) ? Array.from({ length: width }, (_, k) => String(k)) : [];
}

/** One formatter for every count: toLocaleString builds a new one per call, milliseconds each. */
const COUNT = new Intl.NumberFormat('en-US');

class Progress {
  private readonly start = performance.now();
  private last = this.start;
  constructor(
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {}
  tick(rows: number): void {
    if (this.intervalMs <= 0) return;
    const now = performance.now();
    if (now - this.last < this.intervalMs) return;
    this.last = now;
    this.log.info(`${COUNT.format(rows)} rows, ${COUNT.format(Math.round(rows / ((now - this.start) / 1000)))} rows/s`);
  }
  done(rows: number): void {
    const seconds = (performance.now() - this.start) / 1000;
    this.log.info(
      `Evaluated ${COUNT.format(rows)} rows in ${seconds.toFixed(1)} s (${COUNT.format(Math.round(rows / Math.max(seconds, 1e-9)))} rows/s).`,
    );
  }
}

export async function runEvaluation(
  options: RunOptions,
  candidate: LoadedModel,
  baseline: LoadedModel | undefined,
  log: Logger,
): Promise<RunResult> {
  return options.format === 'test-data'
    ? runTestData(options, candidate, baseline, log)
    : runRows(options, candidate, baseline, log);
}

/** Values per row of a one-input model whose dimensions after the batch are all fixed. */
function fixedWidth(signature: Signature): number | undefined {
  if (signature.inputs.length !== 1) return undefined;
  const rest = signature.inputs[0].shape.slice(1);
  return rest.every((d) => typeof d === 'number' && d >= 0)
    ? rest.reduce<number>((a, d) => a * (d as number), 1)
    : undefined;
}

/** Every input name the model takes, and every name the row gives that it does not. */
function checkFirstRow(row: FixtureRow, signature: Signature, file: string): void {
  const names = new Set(signature.inputs.map((i) => i.name));
  const problems = [
    ...signature.inputs
      .filter((i) => !(i.name in row.inputs))
      .map((i) => `input '${i.name}' (${i.datatype} [${i.shape.join(', ')}]) is missing from the rows`),
    ...Object.keys(row.inputs)
      .filter((n) => !names.has(n))
      .map((n) => `'${n}' is not an input of the model`),
  ];
  if (problems.length > 0) {
    throw new ModelshipError(
      'SIGNATURE_MISMATCH',
      `The fixtures do not fit the model's inputs (${[...names].join(', ')}):\n- ${problems.join('\n- ')}`,
      'Fix the fixture rows or the input mapping, or evaluate the model these fixtures were written for.',
      { file, line: row.line },
    );
  }
}

function labelOf(label: unknown, line: number, task: Task, file: string, fields: FieldNames): unknown {
  if (label === undefined || label === null || label === '') {
    throw new ModelshipError(
      'FIXTURE_INVALID',
      `Line ${line} has no '${fields.label}' to compare the prediction with.`,
      `Every row of a ${task} fixture needs a label (the field is set by fixtures.label in modelship.yml).`,
      { file, line },
    );
  }
  return label;
}

/**
 * What scoring needs of each row in the batch being filled, once its inputs are in the batch tensors.
 * The parsed rows themselves are not kept, so they die young instead of being promoted by the garbage
 * collector (which cost more than the parsing on large files).
 */
class PendingRows {
  count = 0;
  readonly index: number[] = [];
  readonly line: number[] = [];
  readonly id: Array<string | undefined> = [];
  readonly label: unknown[] = [];
  readonly slices: Array<ReadonlyArray<string | undefined>> = [];
  readonly expected: Array<Record<string, unknown> | undefined> = [];

  push(row: FixtureRow): void {
    const n = this.count++;
    this.index[n] = row.index;
    this.line[n] = row.line;
    this.id[n] = row.id;
    this.label[n] = row.label;
    this.slices[n] = row.slices;
    this.expected[n] = row.expected;
  }

  clear(): void {
    this.count = 0;
  }
}

async function runRows(
  options: RunOptions,
  candidate: LoadedModel,
  baseline: LoadedModel | undefined,
  log: Logger,
): Promise<RunResult> {
  const { task, fixtures: file, fields, settings } = options;
  const signature = candidate.session.signature;
  const batchSize = options.batchSize ?? autoBatchSize(signature);
  const builder = new RowBatchBuilder(signature, batchSize);
  const plan = task === 'golden' ? undefined : planOutputs(signature, task, options.outputs);
  const labels = plan ? initialLabels(options, candidate, plan) : [];
  const topK = plan?.probabilities ? defaultTopK(Math.max(labels.length, 3)) : 0;
  const evaluation = createEvaluation(task, settings, labels, topK);
  const latency = { candidate: new LatencyHistogram(), ...(baseline ? { baseline: new LatencyHistogram() } : {}) };
  const tolerance = { ...DEFAULT_TOLERANCE, ...options.tolerance };
  const progress = new Progress(log, options.progressIntervalMs);
  let goldenOutputs: string[] | undefined;
  const pending = new PendingRows();
  const counted = { rows: 0 };

  const flush = async () => {
    const rows = pending.count;
    if (rows === 0) return;
    const feeds = builder.feeds();
    const fetch = plan?.fetch ?? goldenOutputs!;
    const t0 = performance.now();
    const candOut = await candidate.session.run(feeds, fetch);
    const t1 = performance.now();
    latency.candidate.add((t1 - t0) / rows, rows);
    let baseOut: Record<string, TensorValue> | undefined;
    if (baseline) {
      baseOut = await baseline.session.run(feeds, fetch);
      latency.baseline!.add((performance.now() - t1) / rows, rows);
    }
    if (evaluation instanceof ClassificationEvaluation) {
      const c = readClassBatch(plan!, candOut, rows, evaluation.labels);
      const b = baseOut ? readClassBatch(plan!, baseOut, rows, evaluation.labels) : undefined;
      // One prediction object per model, moved along the batch (add keeps none of them).
      const cp: ClassPrediction = { label: 0, probabilities: c.probabilities, offset: 0, width: c.width };
      const bp: ClassPrediction | undefined = b
        ? { label: 0, probabilities: b.probabilities, offset: 0, width: b.width }
        : undefined;
      for (let r = 0; r < rows; r++) {
        const raw = labelOf(pending.label[r], pending.line[r], task, file, fields);
        const actual =
          typeof raw === 'number' && Number.isInteger(raw)
            ? evaluation.labels.idOfIndex(raw)
            : evaluation.labels.id(String(raw));
        cp.label = c.labels[r];
        cp.offset = r * c.width;
        if (b && bp) {
          bp.label = b.labels[r];
          bp.offset = r * b.width;
        }
        evaluation.add(pending.index[r], pending.id[r], actual, pending.slices[r], cp, bp);
      }
    } else if (evaluation instanceof RegressionEvaluation) {
      const c = readValueBatch(plan!, candOut, rows);
      const b = baseOut ? readValueBatch(plan!, baseOut, rows) : undefined;
      for (let r = 0; r < rows; r++) {
        const line = pending.line[r];
        const raw = labelOf(pending.label[r], line, task, file, fields);
        const actual = typeof raw === 'number' ? raw : Number(String(raw).trim());
        if (!Number.isFinite(actual) || String(raw).trim() === '') {
          throw new ModelshipError(
            'FIXTURE_INVALID',
            `Line ${line}: the label ${JSON.stringify(raw)} is not a number.`,
            'A regression label is the true value.',
            { file, line },
          );
        }
        evaluation.add(pending.index[r], actual, pending.slices[r], c[r], b?.[r]);
      }
    } else {
      const golden = evaluation as GoldenEvaluation;
      for (let r = 0; r < rows; r++) {
        const expected = pending.expected[r];
        const line = pending.line[r];
        golden.add(
          pending.index[r],
          pending.id[r],
          compareRow(expected, line, candOut, r, rows, tolerance, file),
          baseOut ? compareRow(expected, line, baseOut, r, rows, tolerance, file) : undefined,
        );
      }
    }
    builder.reset();
    pending.clear();
    progress.tick(evaluation.rows);
  };

  const parser = createRowParser({
    path: file,
    format: options.format as 'jsonl' | 'csv',
    fields,
    mapping: options.mapping,
    inputNames: builder.inputNames,
    inputWidth: fixedWidth(signature),
    shard: options.shard,
    counted,
  });
  // Row by row straight into the batch tensors: a chunk's parsed rows are never all alive at once.
  for await (const { lines, firstLine } of readLineBatches(file)) {
    for (let i = 0; i < lines.length; i++) {
      const row = parser.line(lines[i], firstLine + i);
      if (!row) continue;
      if (pending.count === 0 && evaluation.rows === 0) {
        checkFirstRow(row, signature, file);
        if (task === 'golden') goldenOutputs = goldenOutputNames(row, signature, file);
      }
      builder.add(row.inputs, { file, line: row.line });
      pending.push(row);
      if (builder.full) await flush();
    }
  }
  parser.end();
  await flush();
  progress.done(evaluation.rows);
  // A shard may draw no rows (more shards than rows); the file itself must have some.
  if (counted.rows === 0) {
    throw new ModelshipError(
      'FIXTURE_INVALID',
      `${file} has no rows.`,
      'Each line of a JSONL file, or each CSV line after the header, is a row.',
      { file },
    );
  }
  return {
    evaluation,
    latency,
    batchSize: Math.min(builder.capacity, evaluation.rows),
    totalRows: counted.rows,
    outputs: plan?.fetch ?? goldenOutputs ?? [],
  };
}

function goldenOutputNames(row: FixtureRow, signature: Signature, file: string): string[] {
  const expected = Object.keys(row.expected ?? {});
  const names = new Set(signature.outputs.map((o) => o.name));
  const unknown = expected.filter((n) => !names.has(n));
  if (expected.length === 0 || unknown.length > 0) {
    throw new ModelshipError(
      'SIGNATURE_MISMATCH',
      expected.length === 0
        ? `Line ${row.line} has no expected outputs for a golden check.`
        : `Expected outputs ${unknown.map((n) => `'${n}'`).join(', ')} are not outputs of the model (${[...names].join(', ')}).`,
      'A golden JSONL row carries {"outputs": {"<output name>": [...]}} beside its inputs.',
      { file, line: row.line },
    );
  }
  return expected;
}

function flatten(value: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(value)) for (const v of value) flatten(v, out);
  else out.push(value);
  return out;
}

function compareRow(
  expectedOutputs: Record<string, unknown> | undefined,
  line: number,
  outputs: Record<string, TensorValue>,
  r: number,
  rows: number,
  tolerance: Tolerance,
  file: string,
): Record<string, ElementComparison> {
  const result: Record<string, ElementComparison> = {};
  for (const [name, expectedValue] of Object.entries(expectedOutputs ?? {})) {
    const actual = outputs[name];
    const perRow = actual.data.length / rows;
    const expected = flatten(expectedValue);
    if (expected.length !== perRow) {
      throw new ModelshipError(
        'SIGNATURE_MISMATCH',
        `Line ${line}: output '${name}' gives ${perRow} values per row, the row expects ${expected.length}.`,
        undefined,
        { file, line },
      );
    }
    result[name] = compareElements(actual.data as ArrayLike<unknown>, r * perRow, expected, 0, perRow, tolerance);
  }
  return result;
}

// ---- ONNX test data sets ----

const variable = (d: number | string) => typeof d === 'string' || d < 0;
const fits = (t: TensorValue, s: TensorSignature) =>
  t.shape.length === s.shape.length && s.shape.every((d, i) => variable(d) || d === t.shape[i]);

/** Matches a case's tensors to the model's by name when every file names one, else by position. */
function matchTensors(
  kind: 'input' | 'output',
  tensors: TestTensor[],
  declared: TensorSignature[],
  testCase: TestCase,
  problems: string[],
): Array<[TensorSignature, TestTensor]> {
  const byName = tensors.every((t) => t.name !== '' && declared.some((d) => d.name === t.name));
  if (kind === 'input' && tensors.length !== declared.length) {
    problems.push(
      `${testCase.id} has ${tensors.length} input file${tensors.length === 1 ? '' : 's'}; the model takes ${declared.length} input${declared.length === 1 ? '' : 's'} (${declared.map((d) => d.name).join(', ')})`,
    );
  }
  if (kind === 'output' && tensors.length > declared.length) {
    problems.push(`${testCase.id} has ${tensors.length} expected outputs; the model gives ${declared.length}`);
  }
  const pairs: Array<[TensorSignature, TestTensor]> = [];
  tensors.forEach((t, i) => {
    const d = byName ? declared.find((x) => x.name === t.name) : declared[i];
    if (!d) return;
    if (d.datatype !== t.value.datatype)
      problems.push(`${kind} '${d.name}': the model has ${d.datatype}, ${t.file} holds ${t.value.datatype}`);
    else if (!fits(t.value, d))
      problems.push(
        `${kind} '${d.name}': the model has shape [${d.shape.join(', ')}], ${t.file} holds [${t.value.shape.join(', ')}]`,
      );
    pairs.push([d, t]);
  });
  return pairs;
}

async function runTestData(
  options: RunOptions,
  candidate: LoadedModel,
  baseline: LoadedModel | undefined,
  log: Logger,
): Promise<RunResult> {
  const evaluation = new GoldenEvaluation(options.settings);
  const signature = candidate.session.signature;
  const latency = { candidate: new LatencyHistogram(), ...(baseline ? { baseline: new LatencyHistogram() } : {}) };
  const progress = new Progress(log, options.progressIntervalMs);
  let totalRows = 0;
  let outputs: string[] = [];
  for await (const testCase of readTestCases(options.fixtures, options.shard)) {
    totalRows = Math.max(totalRows, testCase.index + 1);
    const problems: string[] = [];
    const inputs = matchTensors('input', testCase.inputs, signature.inputs, testCase, problems);
    const expected = matchTensors('output', testCase.outputs, signature.outputs, testCase, problems);
    if (problems.length > 0) {
      throw new ModelshipError(
        'SIGNATURE_MISMATCH',
        `The test data does not fit the model:\n- ${problems.join('\n- ')}`,
        'Regenerate the test data for this model, or evaluate the model it was made for.',
        { file: testCase.dir },
      );
    }
    const feeds = Object.fromEntries(inputs.map(([d, t]) => [d.name, t.value]));
    const fetch = expected.map(([d]) => d.name);
    outputs = fetch;
    const tolerance = { ...testCase.tolerance, ...options.tolerance };
    const judge = async (model: LoadedModel, histogram: LatencyHistogram) => {
      const t0 = performance.now();
      const out = await model.session.run(feeds, fetch);
      histogram.add(performance.now() - t0, 1);
      return Object.fromEntries(expected.map(([d, t]) => [d.name, compareTensors(out[d.name], t.value, tolerance)]));
    };
    const cand = await judge(candidate, latency.candidate);
    const base = baseline ? await judge(baseline, latency.baseline!) : undefined;
    evaluation.add(testCase.index, testCase.id, cand, base);
    progress.tick(evaluation.rows);
  }
  progress.done(evaluation.rows);
  // Every shard lists the same folders, so the total is known even when the last one went elsewhere.
  if (options.shard) totalRows = (await listTestDataSets(options.fixtures)).length;
  return { evaluation, latency, batchSize: 1, totalRows, outputs };
}
