/**
 * The part of evaluate's JSON report (`modelship/evaluate-report@1`) that a release's model card shows.
 * Read leniently: a report from a newer evaluate with more fields still reads.
 */
import { readFile } from 'node:fs/promises';
import { ModelshipError } from '../errors.js';

export const EVALUATE_REPORT_SCHEMA = 'modelship/evaluate-report@1';

export interface EvaluateComparison {
  metric: string;
  baseline: number;
  candidate: number;
  delta: number;
  threshold?: number;
  significant?: boolean;
  pValue?: number;
  verdict: 'pass' | 'warn' | 'fail';
  reason?: string;
}

export interface EvaluateReportSummary {
  schema: typeof EVALUATE_REPORT_SCHEMA;
  passed: boolean;
  model?: { path?: string; digest?: string };
  task?: string;
  rows?: number;
  metrics: Record<string, number>;
  baseline?: { path?: string; digest?: string; metrics: Record<string, number> };
  comparisons: EvaluateComparison[];
}

export async function readEvaluateReport(path: string): Promise<EvaluateReportSummary> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ModelshipError(
      'REPORT_NOT_FOUND',
      `Cannot read the evaluate report '${path}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
      "Pass the JSON report that 'modelship evaluate --report <file>' (or the evaluate action's 'report' output) wrote.",
      { file: path },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ModelshipError(
      'REPORT_INVALID',
      `The evaluate report '${path}' is not JSON: ${(error as Error).message}.`,
      'Pass the JSON report the evaluate step wrote, not its markdown summary.',
      { file: path },
    );
  }
  const report = value as Partial<EvaluateReportSummary> | null;
  if (!report || typeof report !== 'object' || report.schema !== EVALUATE_REPORT_SCHEMA) {
    throw new ModelshipError(
      'REPORT_INVALID',
      `'${path}' is not an evaluate report (expected "schema": "${EVALUATE_REPORT_SCHEMA}").`,
      'Pass the JSON report the evaluate step wrote.',
      { file: path },
    );
  }
  if (typeof report.passed !== 'boolean' || typeof report.metrics !== 'object' || report.metrics === null) {
    throw new ModelshipError(
      'REPORT_INVALID',
      `The evaluate report '${path}' lacks 'passed' or 'metrics'.`,
      'Regenerate it with the evaluate step of the same modelship version.',
      { file: path },
    );
  }
  return {
    ...report,
    comparisons: Array.isArray(report.comparisons) ? report.comparisons : [],
  } as EvaluateReportSummary;
}
