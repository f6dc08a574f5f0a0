/**
 * The part of evaluate's JSON report (`modelship/evaluate-report@1`) that a release's model card shows.
 * Read leniently: a report from a newer evaluate with more fields still reads.
 */
import { ModelshipError } from '../errors.js';
import { readEvaluateReport as readReport, type EvaluateReport } from '../report/evaluate-report.js';

/** What a release's model card reads of a report: fields an older or hand-trimmed report may lack are optional. */
export type EvaluateReportSummary = Pick<EvaluateReport, 'schema' | 'passed' | 'metrics' | 'comparisons'> &
  Partial<Pick<EvaluateReport, 'task' | 'rows'>> & {
    model?: Partial<EvaluateReport['model']>;
    baseline?: Partial<NonNullable<EvaluateReport['baseline']>> & { metrics: Record<string, number> };
  };

/** Reads an evaluate report through the evaluate step's own reader, leniently about what the card does not show. */
export async function readEvaluateReport(path: string): Promise<EvaluateReportSummary> {
  const report: Partial<EvaluateReport> = await readReport(path);
  if (typeof report.passed !== 'boolean') {
    throw new ModelshipError(
      'REPORT_INVALID',
      `The evaluate report '${path}' lacks 'passed'.`,
      'Regenerate it with the evaluate step of the same modelship version.',
      { file: path },
    );
  }
  return {
    ...report,
    comparisons: Array.isArray(report.comparisons) ? report.comparisons : [],
  } as EvaluateReportSummary;
}
