/**
 * What one evaluation accumulates, whatever the task: the candidate's metrics, the baseline's when a
 * baseline model runs on the same rows, the paired evidence between them, slices, flips and latency.
 * `toState()` is what a shard report carries; merging states gives the unsharded result exactly.
 */
import type { FlipState } from './flips.js';
import type { SliceTable } from './slices.js';

export type Task = 'classification' | 'regression' | 'golden';
export const TASKS: readonly Task[] = ['classification', 'regression', 'golden'];

/** How sure we are that a paired difference is real. */
export type Evidence =
  | {
      test: 'mcnemar';
      pValue: number;
      /** Rows only the baseline got right, and only the candidate. */
      baselineOnly: number;
      candidateOnly: number;
      rows: number;
    }
  | {
      test: 'bootstrap';
      /** Interval for candidate − baseline. */
      ci: [number, number];
      confidence: number;
      resamples: number;
      rows: number;
    }
  | { test: 'none'; reason: string; rows: number };

export interface EvaluationSettings {
  seed: number;
  resamples: number;
  confidence: number;
  sliceFields: string[];
  flipLimit: number;
  /** A baseline model runs on the same rows. */
  paired: boolean;
}

export const DEFAULT_SEED = 20_240_607;
export const DEFAULT_FLIP_LIMIT = 20;

export interface SliceSummary {
  rows: number;
  metrics: Record<string, number>;
  baseline?: Record<string, number>;
  evidence?: Record<string, Evidence>;
}

export interface EvaluationSummary {
  task: Task;
  rows: number;
  metrics: Record<string, number>;
  baselineMetrics?: Record<string, number>;
  evidence: Record<string, Evidence>;
  slices?: Record<string, Record<string, SliceSummary>>;
  /** Slice fields with too many distinct values to report. */
  droppedSlices?: string[];
  flips?: FlipState;
  details: Record<string, unknown>;
}

/** The part of a shard report that lets shards merge. */
export interface EvaluationState {
  task: Task;
  settings: EvaluationSettings;
  /** Task-specific accumulators. */
  data: unknown;
}

export interface TaskEvaluation {
  readonly task: Task;
  readonly settings: EvaluationSettings;
  rows: number;
  summary(): EvaluationSummary;
  toState(): EvaluationState;
  mergeState(state: EvaluationState): void;
}

/** Puts a slice table's per-value summaries, and the fields dropped for too many values, into a summary. */
export function addSlices<T>(summary: EvaluationSummary, table: SliceTable<T>, f: (entry: T) => SliceSummary): void {
  const slices = table.map(f);
  if (Object.keys(slices).length > 0) summary.slices = slices;
  const dropped = table.dropped();
  if (dropped.length > 0) summary.droppedSlices = dropped;
}

/** Bootstrap evidence per metric from its resampled deltas: an interval, or why there is none. */
export function bootstrapEvidence(
  names: readonly string[],
  intervals: ReadonlyArray<[number, number] | undefined>,
  confidence: number,
  resamples: number,
  rows: number,
): Record<string, Evidence> {
  const evidence: Record<string, Evidence> = {};
  names.forEach((name, i) => {
    const ci = intervals[i];
    evidence[name] = ci
      ? { test: 'bootstrap', ci, confidence, resamples, rows }
      : { test: 'none', reason: `${rows} rows: too few for a bootstrap`, rows };
  });
  return evidence;
}
