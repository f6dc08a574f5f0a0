/**
 * What every run over fixtures shares: its options and result, the evaluation it feeds, progress lines,
 * and the scoring of a batch of rows (run the candidate, and the baseline on the very same feeds, read
 * the outputs the task needs, feed the evaluation row by row) for the formats that build batches of
 * rows (JSONL, CSV, numpy arrays).
 */
import { performance } from 'node:perf_hooks';
import { ModelshipError } from '../errors.js';
import type { FieldNames, InputMapping, Shard } from '../fixtures/rows.js';
import type { FixtureFormat } from '../fixtures/test-data.js';
import type { Logger } from '../log.js';
import type { LoadedModel } from '../runtime/loaded-model.js';
import type { TensorValue } from '../runtime/tensor.js';
import { ClassificationEvaluation, defaultTopK, type ClassPrediction } from './classification-evaluation.js';
import type { EvaluationSettings, Task, TaskEvaluation } from './evaluation.js';
import { compareElements, DEFAULT_TOLERANCE, type ElementComparison, type Tolerance } from './golden.js';
import { GoldenEvaluation } from './golden-evaluation.js';
import { LatencyHistogram } from './latency.js';
import {
  ClassBatchBuffers,
  planOutputs,
  readClassBatch,
  readValueBatch,
  type OutputChoice,
  type OutputPlan,
} from './predictions.js';
import { RegressionEvaluation } from './regression-evaluation.js';

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

export class Progress {
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

/** What scoring reads of each row of a batch, by the row's place in the batch. */
export interface BatchRows {
  readonly count: number;
  /** The row's index in the fixture file. */
  readonly index: ArrayLike<number>;
  /** The row's line in its file (JSONL, CSV) or its 1-based position (arrays), for messages. */
  readonly line: ArrayLike<number>;
  readonly id: ArrayLike<string | undefined>;
  readonly label: ArrayLike<unknown>;
  readonly slices: ArrayLike<ReadonlyArray<string | undefined>>;
  readonly expected: ArrayLike<Record<string, unknown> | undefined>;
}

/**
 * What scoring needs of each row in the batch being filled, once its inputs are in the batch tensors.
 * The parsed rows themselves are not kept, so they die young instead of being promoted by the garbage
 * collector (which cost more than the parsing on large files).
 */
export class PendingRows implements BatchRows {
  count = 0;
  readonly index: number[] = [];
  readonly line: number[] = [];
  readonly id: Array<string | undefined> = [];
  readonly label: unknown[] = [];
  readonly slices: Array<ReadonlyArray<string | undefined>> = [];
  readonly expected: Array<Record<string, unknown> | undefined> = [];

  push(
    index: number,
    line: number,
    id: string | undefined,
    label: unknown,
    slices: ReadonlyArray<string | undefined>,
    expected?: Record<string, unknown>,
  ): void {
    const n = this.count++;
    this.index[n] = index;
    this.line[n] = line;
    this.id[n] = id;
    this.label[n] = label;
    this.slices[n] = slices;
    this.expected[n] = expected;
  }

  clear(): void {
    this.count = 0;
  }
}

export interface ScorerContext {
  task: Task;
  file: string;
  fields: FieldNames;
  /** How a row is named in messages: by its line (text files) or its position (arrays). */
  rowWord: 'Line' | 'Row';
  evaluation: TaskEvaluation;
  plan: OutputPlan | undefined;
  candidate: LoadedModel;
  baseline: LoadedModel | undefined;
  latency: { candidate: LatencyHistogram; baseline?: LatencyHistogram };
  tolerance: Tolerance;
  progress: Progress;
}

export class BatchScorer {
  readonly pending = new PendingRows();
  /** Outputs a golden check compares: the ones the first row expects. */
  goldenOutputs: string[] | undefined;
  private readonly buffers = { candidate: new ClassBatchBuffers(), baseline: new ClassBatchBuffers() };
  /** Each row's true class id, reused from batch to batch. */
  private actual = new Int32Array(0);

  constructor(readonly ctx: ScorerContext) {}

  /** Runs a batch's feeds and scores its rows: by default the pending rows, which are then cleared. */
  async score(feeds: Record<string, TensorValue>, batch: BatchRows = this.pending): Promise<void> {
    const { ctx } = this;
    const { evaluation, plan, candidate, baseline, latency } = ctx;
    const rows = batch.count;
    if (rows === 0) return;
    const fetch = plan?.fetch ?? this.goldenOutputs!;
    const t0 = performance.now();
    const candOut = await candidate.session.run(feeds, fetch);
    const t1 = performance.now();
    latency.candidate.add((t1 - t0) / rows, rows);
    let baseOut: Record<string, TensorValue> | undefined;
    if (baseline) {
      baseOut = await baseline.session.run(feeds, fetch);
      latency.baseline!.add((performance.now() - t1) / rows, rows);
    }
    if (evaluation instanceof ClassificationEvaluation) this.classify(batch, evaluation, candOut, baseOut);
    else if (evaluation instanceof RegressionEvaluation) this.regress(batch, evaluation, candOut, baseOut);
    else this.golden(batch, evaluation as GoldenEvaluation, candOut, baseOut);
    if (batch === this.pending) this.pending.clear();
    ctx.progress.tick(evaluation.rows);
  }

  private classify(
    batch: BatchRows,
    evaluation: ClassificationEvaluation,
    candOut: Record<string, TensorValue>,
    baseOut: Record<string, TensorValue> | undefined,
  ): void {
    const plan = this.ctx.plan!;
    const rows = batch.count;
    const c = readClassBatch(plan, candOut, rows, evaluation.labels, this.buffers.candidate);
    const b = baseOut ? readClassBatch(plan, baseOut, rows, evaluation.labels, this.buffers.baseline) : undefined;
    const actual = (this.actual = this.actual.length >= rows ? this.actual : new Int32Array(rows)).subarray(0, rows);
    const { labels } = evaluation;
    const column = batch.label;
    if (ArrayBuffer.isView(column)) {
      // Class numbers from a numeric array (numpy): nothing to check for a missing label.
      labels.idsOf(column as unknown as ArrayLike<number>, rows, actual);
    } else {
      for (let r = 0; r < rows; r++) {
        const raw = this.labelOf(batch, r);
        actual[r] = typeof raw === 'number' && Number.isInteger(raw) ? labels.idOfIndex(raw) : labels.id(String(raw));
      }
    }
    if (!evaluation.rowByRow) {
      evaluation.addBatch(actual, rows, c);
      return;
    }
    // One prediction object per model, moved along the batch (add keeps none of them).
    const cp: ClassPrediction = { label: 0, probabilities: c.probabilities, offset: 0, width: c.width };
    const bp: ClassPrediction | undefined = b
      ? { label: 0, probabilities: b.probabilities, offset: 0, width: b.width }
      : undefined;
    for (let r = 0; r < rows; r++) {
      cp.label = c.labels[r];
      cp.offset = r * c.width;
      if (b && bp) {
        bp.label = b.labels[r];
        bp.offset = r * b.width;
      }
      evaluation.add(batch.index[r], batch.id[r], actual[r], batch.slices[r], cp, bp);
    }
  }

  private regress(
    batch: BatchRows,
    evaluation: RegressionEvaluation,
    candOut: Record<string, TensorValue>,
    baseOut: Record<string, TensorValue> | undefined,
  ): void {
    const { plan, file, rowWord } = this.ctx;
    const rows = batch.count;
    const c = readValueBatch(plan!, candOut, rows);
    const b = baseOut ? readValueBatch(plan!, baseOut, rows) : undefined;
    for (let r = 0; r < rows; r++) {
      const raw = this.labelOf(batch, r);
      const actual = typeof raw === 'number' ? raw : Number(String(raw).trim());
      if (!Number.isFinite(actual) || String(raw).trim() === '') {
        const line = batch.line[r];
        throw new ModelshipError(
          'FIXTURE_INVALID',
          `${rowWord} ${line}: the label ${JSON.stringify(raw)} is not a number.`,
          'A regression label is the true value.',
          { file, ...(rowWord === 'Line' ? { line } : {}) },
        );
      }
      evaluation.add(batch.index[r], actual, batch.slices[r], c[r], b?.[r]);
    }
  }

  private golden(
    batch: BatchRows,
    evaluation: GoldenEvaluation,
    candOut: Record<string, TensorValue>,
    baseOut: Record<string, TensorValue> | undefined,
  ): void {
    const { tolerance, file } = this.ctx;
    const rows = batch.count;
    for (let r = 0; r < rows; r++) {
      const expected = batch.expected[r];
      const line = batch.line[r];
      evaluation.add(
        batch.index[r],
        batch.id[r],
        compareRow(expected, line, candOut, r, rows, tolerance, file),
        baseOut ? compareRow(expected, line, baseOut, r, rows, tolerance, file) : undefined,
      );
    }
  }

  private labelOf(batch: BatchRows, r: number): unknown {
    const label = batch.label[r];
    if (label === undefined || label === null || label === '') {
      const { task, file, fields, rowWord } = this.ctx;
      const line = batch.line[r];
      throw new ModelshipError(
        'FIXTURE_INVALID',
        `${rowWord} ${line} has no '${fields.label}' to compare the prediction with.`,
        `Every row of a ${task} fixture needs a label (the field is set by fixtures.label in modelship.yml).`,
        { file, ...(rowWord === 'Line' ? { line } : {}) },
      );
    }
    return label;
  }
}

/** The scorer of a run over rows, with the task's evaluation, latency histograms and progress set up from the options. */
export function createScorer(
  options: RunOptions,
  candidate: LoadedModel,
  baseline: LoadedModel | undefined,
  log: Logger,
  rowWord: ScorerContext['rowWord'],
): BatchScorer {
  const { task } = options;
  const plan = task === 'golden' ? undefined : planOutputs(candidate.session.signature, task, options.outputs);
  const labels = plan ? initialLabels(options, candidate, plan) : [];
  const topK = plan?.probabilities ? defaultTopK(Math.max(labels.length, 3)) : 0;
  return new BatchScorer({
    task,
    file: options.fixtures,
    fields: options.fields,
    rowWord,
    evaluation: createEvaluation(task, options.settings, labels, topK),
    plan,
    candidate,
    baseline,
    latency: { candidate: new LatencyHistogram(), ...(baseline ? { baseline: new LatencyHistogram() } : {}) },
    tolerance: { ...DEFAULT_TOLERANCE, ...options.tolerance },
    progress: new Progress(log, options.progressIntervalMs),
  });
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
