/**
 * The evaluate step's JSON report: what version and deploy read later (`metrics`, `passed`), and, for a
 * shard, the accumulated state that `merge` combines into the unsharded result.
 */
import { readFile } from 'node:fs/promises';
import { ModelshipError } from '../errors.js';
import type { EvaluationState, Evidence, SliceSummary, Task } from '../metrics/evaluation.js';
import type { Flip } from '../metrics/flips.js';
import type { LatencyState } from '../metrics/latency.js';
import type { Thresholds } from '../metrics/thresholds.js';
import type { Comparison } from '../metrics/verdict.js';
import type { Signature } from '../runtime/tensor.js';

export const EVALUATE_REPORT_SCHEMA = 'modelship/evaluate-report@1';

export interface LatencyReport {
  /** Rows per inference run. */
  batchSize: number;
  candidate: { p50Ms: number; p95Ms: number };
  baseline?: { p50Ms: number; p95Ms: number };
}

export interface SliceReport extends SliceSummary {
  comparisons?: Array<Pick<Comparison, 'metric' | 'baseline' | 'candidate' | 'delta' | 'significant' | 'pValue'>>;
}

export interface EvaluateReport {
  schema: typeof EVALUATE_REPORT_SCHEMA;
  passed: boolean;
  /** A name for people (the model's name in modelship.yml, or the file's folder). */
  name: string;
  model: { path: string; digest: string; signature: Signature };
  task: Task;
  rows: number;
  /** Finite metrics only: a metric that could not be computed is left out. */
  metrics: Record<string, number>;
  baseline?: { path?: string; digest?: string; metrics: Record<string, number>; source: 'model' | 'report' };
  comparisons: Comparison[];
  slices?: Record<string, Record<string, SliceReport>>;
  flips?: { count: number; fixed: number; broken: number; shown: Flip[] };
  details?: Record<string, unknown>;
  latency?: LatencyReport;
  fixtures: { path: string; format: string; rows: number };
  warnings: string[];
  shard?: { index: number; count: number };
  /** Shard reports only: what merging needs. */
  state?: ShardState;
}

export interface ShardState {
  evaluation: EvaluationState;
  thresholds: Thresholds;
  latency: { candidate: LatencyState; baseline?: LatencyState; batchSize: number };
  baselineReport?: { path: string; digest?: string; metrics: Record<string, number>; rows?: number };
  baselineModel?: { path: string; digest: string };
  evidence?: Record<string, Evidence>;
}

export const finiteMetrics = (metrics: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v)));

/** Reads an evaluate report (a baseline, or a shard to merge), checking it is one. */
export async function readEvaluateReport(path: string): Promise<EvaluateReport> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ModelshipError(
      'REPORT_NOT_FOUND',
      `Cannot read the report ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
      'Check the path; a report is the JSON file an earlier evaluate run wrote.',
      { file: path },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ModelshipError(
      'REPORT_INVALID',
      `The evaluate report ${path} is not JSON: ${(error as Error).message}.`,
      'Pass the JSON report the evaluate step wrote, not its markdown summary.',
      { file: path },
    );
  }
  const report = parsed as Partial<EvaluateReport>;
  if (report?.schema !== EVALUATE_REPORT_SCHEMA || typeof report.metrics !== 'object' || report.metrics === null) {
    throw new ModelshipError(
      'REPORT_INVALID',
      `${path} is not an evaluate report (expected "schema": "${EVALUATE_REPORT_SCHEMA}" and a "metrics" object).`,
      'Pass the JSON report that modelship evaluate wrote.',
      { file: path },
    );
  }
  return report as EvaluateReport;
}
