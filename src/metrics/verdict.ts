/**
 * From metrics, thresholds and evidence to a verdict per metric. A limit (`min`, `max`) is a limit. A drop
 * against the baseline beyond `max-drop` fails only when it is significant; otherwise it passes with a
 * warning that says why the evidence is not enough.
 */
import { higherIsBetter, isRowProportion } from './catalog.js';
import type { Evidence } from './evaluation.js';
import { allowedDrop, describeThreshold, formatNumber, type Threshold, type Thresholds } from './thresholds.js';

export type Verdict = 'pass' | 'warn' | 'fail';

export interface Comparison {
  metric: string;
  baseline: number | null;
  candidate: number | null;
  /** candidate − baseline. */
  delta: number | null;
  threshold: string | null;
  /** Whether the difference from the baseline is statistically significant; null without a test. */
  significant: boolean | null;
  pValue?: number;
  ci?: [number, number];
  verdict: Verdict;
  reason: string;
}

/** Where the baseline's numbers came from. */
export type BaselineSource =
  | { kind: 'paired'; evidence: Record<string, Evidence> }
  | { kind: 'report'; rows?: number; candidateRows: number }
  | { kind: 'none' };

export interface JudgeOptions {
  confidence: number;
}

const fmt = formatNumber;
const pText = (p: number) => (p < 1e-4 ? '< 0.0001' : `= ${formatNumber(p)}`);

/** Two-sided p-value of a pooled two-proportion z-test: the best we can do without paired rows. */
export function twoProportionPValue(p1: number, n1: number, p2: number, n2: number): number {
  const pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (!(se > 0)) return p1 === p2 ? 1 : 0;
  const z = Math.abs(p1 - p2) / se;
  return Math.min(1, 2 * normalTail(z));
}

/** P(Z > z) for a standard normal (Abramowitz–Stegun 7.1.26 via erfc, error < 1.5e-7). */
function normalTail(z: number): number {
  const x = z / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return 0.5 * poly * Math.exp(-x * x);
}

interface Significance {
  significant: boolean | null;
  pValue?: number;
  ci?: [number, number];
  /** Why the evidence is or is not enough, for the reason text. */
  note: string;
}

function significance(
  metric: string,
  candidate: number,
  baseline: number,
  source: BaselineSource,
  options: JudgeOptions,
): Significance {
  const alpha = 1 - options.confidence;
  const worseSide = higherIsBetter(metric) ? -1 : 1;
  if (source.kind === 'paired') {
    const e = source.evidence[metric];
    if (!e) return { significant: null, note: 'no paired test for this metric' };
    if (e.test === 'mcnemar') {
      const discordant = e.baselineOnly + e.candidateOnly;
      return {
        significant: e.pValue < alpha,
        pValue: e.pValue,
        note: `McNemar p ${pText(e.pValue)}: ${e.baselineOnly} rows only the baseline got right, ${e.candidateOnly} only the candidate, of ${e.rows} (${discordant} discordant)`,
      };
    }
    if (e.test === 'bootstrap') {
      const [lo, hi] = e.ci;
      const significant = worseSide < 0 ? hi < 0 : lo > 0;
      return {
        significant: significant || (worseSide < 0 ? lo > 0 : hi < 0),
        ci: e.ci,
        note: `${Math.round(e.confidence * 100)}% bootstrap CI of the difference [${fmt(lo)}, ${fmt(hi)}] over ${e.rows} rows`,
      };
    }
    return { significant: false, note: e.reason };
  }
  if (source.kind === 'report') {
    if (isRowProportion(metric) && source.rows) {
      const p = twoProportionPValue(candidate, source.candidateRows, baseline, source.rows);
      return {
        significant: p < alpha,
        pValue: p,
        note: `unpaired two-proportion test p ${pText(p)} (baseline from a report: ${source.rows} vs ${source.candidateRows} rows)`,
      };
    }
    return { significant: null, note: 'baseline from a report: no paired rows to test significance' };
  }
  return { significant: null, note: '' };
}

export function judgeMetric(
  metric: string,
  candidate: number | undefined,
  baseline: number | undefined,
  threshold: Threshold | undefined,
  source: BaselineSource,
  options: JudgeOptions,
): Comparison {
  const hasBaseline = baseline !== undefined && Number.isFinite(baseline);
  const hasCandidate = candidate !== undefined && Number.isFinite(candidate);
  const base: Comparison = {
    metric,
    baseline: hasBaseline ? baseline : null,
    candidate: hasCandidate ? candidate : null,
    delta: hasBaseline && hasCandidate ? candidate - baseline : null,
    threshold: threshold ? describeThreshold(threshold, hasBaseline ? baseline : undefined) : null,
    significant: null,
    verdict: 'pass',
    reason: '',
  };
  if (!hasCandidate) {
    return threshold
      ? {
          ...base,
          verdict: 'fail',
          reason: `${metric} could not be computed on these fixtures, so its threshold cannot be checked`,
        }
      : { ...base, reason: `${metric} could not be computed` };
  }

  let sig: Significance | undefined;
  if (hasBaseline) {
    sig = significance(metric, candidate, baseline, source, options);
    base.significant = sig.significant;
    if (sig.pValue !== undefined) base.pValue = sig.pValue;
    if (sig.ci !== undefined) base.ci = sig.ci;
  }

  if (threshold?.min !== undefined && candidate < threshold.min) {
    return {
      ...base,
      verdict: 'fail',
      reason: `${metric} ${fmt(candidate)} is below the minimum ${fmt(threshold.min)}`,
    };
  }
  if (threshold?.max !== undefined && candidate > threshold.max) {
    return {
      ...base,
      verdict: 'fail',
      reason: `${metric} ${fmt(candidate)} is above the maximum ${fmt(threshold.max)}`,
    };
  }

  if (!hasBaseline) {
    if (threshold?.maxDrop && threshold.min === undefined && threshold.max === undefined) {
      return { ...base, reason: 'no baseline to compare against' };
    }
    return { ...base, reason: threshold ? 'within limits' : 'no threshold' };
  }

  const higher = higherIsBetter(metric);
  const worsening = higher ? baseline - candidate : candidate - baseline;
  const direction = higher ? (worsening > 0 ? 'dropped' : 'rose') : worsening > 0 ? 'rose' : 'fell';
  const change = `${metric} ${direction} by ${fmt(Math.abs(candidate - baseline))} (${fmt(baseline)} → ${fmt(candidate)})`;
  const worseAndSignificant = worsening > 0 && sig!.significant === true;

  if (!threshold?.maxDrop) {
    if (worsening === 0) return { ...base, reason: threshold ? 'within limits; unchanged' : 'no threshold; unchanged' };
    const note = worseAndSignificant ? '; significantly worse' : '';
    return { ...base, reason: `${threshold ? 'within limits' : 'no threshold'}; ${change}${note}` };
  }

  const allowed = allowedDrop(threshold.maxDrop, baseline);
  // Rounding in the metric's arithmetic must not turn "exactly the allowed drop" into a failure.
  const beyond = worsening > allowed + 1e-12 * Math.max(1, Math.abs(baseline));
  if (!beyond) {
    return {
      ...base,
      reason:
        worsening > 0
          ? `${change}, within the allowed ${fmt(allowed)}`
          : worsening === 0
            ? 'unchanged'
            : `${change}: better than the baseline`,
    };
  }
  if (sig!.significant === true) {
    return {
      ...base,
      verdict: 'fail',
      reason: `${change}, beyond the allowed ${fmt(allowed)}; significant: ${sig!.note}`,
    };
  }
  if (sig!.significant === false) {
    const rows = source.kind === 'paired' ? rowsOf(source.evidence[metric]) : undefined;
    const why = rows !== undefined ? `${rows} rows: not enough evidence` : 'not enough evidence';
    return {
      ...base,
      verdict: 'warn',
      reason: `${change}, beyond the allowed ${fmt(allowed)}, but ${why} (${sig!.note})`,
    };
  }
  // No test could be run (a report baseline for a non-proportion metric): the threshold decides alone.
  return { ...base, verdict: 'fail', reason: `${change}, beyond the allowed ${fmt(allowed)} (${sig!.note})` };
}

const rowsOf = (e: Evidence | undefined): number | undefined => e?.rows;

export interface JudgeInput {
  metrics: Record<string, number>;
  baselineMetrics?: Record<string, number>;
  thresholds: Thresholds;
  source: BaselineSource;
  confidence: number;
}

/** One comparison per reported metric, plus any thresholded metric that was not reported. */
export function judge(input: JudgeInput): { comparisons: Comparison[]; passed: boolean } {
  const names = [...Object.keys(input.metrics)];
  for (const m of Object.keys(input.thresholds)) if (!names.includes(m)) names.push(m);
  const comparisons = names.map((metric) =>
    judgeMetric(
      metric,
      input.metrics[metric],
      input.baselineMetrics?.[metric],
      input.thresholds[metric],
      input.source,
      { confidence: input.confidence },
    ),
  );
  return { comparisons, passed: comparisons.every((c) => c.verdict !== 'fail') };
}
