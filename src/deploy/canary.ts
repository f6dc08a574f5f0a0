/**
 * Canary analysis: /metrics read before and after the analysis window, per-version deltas of the request
 * counters and the latency histogram, and the decision to promote or abort with the figures behind it.
 */
import type { MetricSample } from './metrics-text.js';
import { sumSamples } from './metrics-text.js';

export const SUCCESS_COUNTER = 'nv_inference_request_success';
export const FAILURE_COUNTER = 'nv_inference_request_failure';
export const DURATION_US_COUNTER = 'nv_inference_request_duration_us';
export const LATENCY_HISTOGRAM = 'modelship_inference_request_duration_seconds';

/** Cumulative counters for one model version at one instant. */
export interface VersionCounters {
  success: number;
  failure: number;
  durationUs: number;
  histogram: { count: number; sum: number; buckets: Array<{ le: number; count: number }> };
}

/** What one version did during the window. */
export interface VersionFigures {
  version: string;
  requests: number;
  failures: number;
  errorRate: number;
  /** Mean server-side request latency in milliseconds; null without requests. */
  meanLatencyMs: number | null;
  /** 95th percentile from the histogram buckets (linear within a bucket); null without a histogram. */
  p95LatencyMs: number | null;
}

export interface CanaryThresholds {
  /** Highest acceptable canary error rate (0..1). */
  maxErrorRate: number;
  /** Highest acceptable canary mean latency as a multiple of the stable version's. */
  maxLatencyRatio: number;
  /** Fewest canary requests in the window to judge at all. */
  minRequests: number;
}

export interface CanaryVerdict {
  decision: 'promote' | 'abort';
  stable: VersionFigures;
  canary: VersionFigures;
  latencyRatio: number | null;
  thresholds: CanaryThresholds;
  windowSeconds: number;
  reasons: string[];
}

export function readVersionCounters(samples: readonly MetricSample[], model: string, version: string): VersionCounters {
  const match = { model, version };
  const bucketTotals = new Map<number, number>();
  for (const sample of samples) {
    if (sample.name !== `${LATENCY_HISTOGRAM}_bucket`) continue;
    if (sample.labels.model !== model || sample.labels.version !== version) continue;
    const le = sample.labels.le === '+Inf' ? Infinity : Number(sample.labels.le);
    bucketTotals.set(le, (bucketTotals.get(le) ?? 0) + sample.value);
  }
  return {
    success: sumSamples(samples, SUCCESS_COUNTER, match),
    failure: sumSamples(samples, FAILURE_COUNTER, match),
    durationUs: sumSamples(samples, DURATION_US_COUNTER, match),
    histogram: {
      count: sumSamples(samples, `${LATENCY_HISTOGRAM}_count`, match),
      sum: sumSamples(samples, `${LATENCY_HISTOGRAM}_sum`, match),
      buckets: [...bucketTotals].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le),
    },
  };
}

/** Quantile from cumulative histogram buckets, as Prometheus' histogram_quantile does it. */
export function histogramQuantile(q: number, buckets: ReadonlyArray<{ le: number; count: number }>): number | null {
  if (buckets.length === 0) return null;
  const total = buckets[buckets.length - 1].count;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of buckets) {
    if (bucket.count >= rank) {
      if (bucket.le === Infinity) return lowerBound;
      const inBucket = bucket.count - lowerCount;
      if (inBucket <= 0) return bucket.le;
      return lowerBound + ((bucket.le - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return lowerBound;
}

/** Figures for one version between two readings of /metrics. */
export function windowFigures(version: string, before: VersionCounters, after: VersionCounters): VersionFigures {
  const success = Math.max(0, after.success - before.success);
  const failures = Math.max(0, after.failure - before.failure);
  const requests = success + failures;
  const histCount = after.histogram.count - before.histogram.count;
  const histSum = after.histogram.sum - before.histogram.sum;
  let meanLatencyMs: number | null = null;
  if (histCount > 0) meanLatencyMs = (histSum / histCount) * 1000;
  else if (requests > 0) meanLatencyMs = (after.durationUs - before.durationUs) / requests / 1000;
  const beforeByLe = new Map(before.histogram.buckets.map((b) => [b.le, b.count]));
  const deltaBuckets = after.histogram.buckets.map((b) => ({ le: b.le, count: b.count - (beforeByLe.get(b.le) ?? 0) }));
  const p95 = histogramQuantile(0.95, deltaBuckets);
  return {
    version,
    requests,
    failures,
    errorRate: requests > 0 ? failures / requests : 0,
    meanLatencyMs,
    p95LatencyMs: p95 === null ? null : p95 * 1000,
  };
}

const percent = (rate: number) => `${(rate * 100).toFixed(2)}%`;

/**
 * Promote unless the canary is worse than its limits: too few requests to judge, an error rate above
 * `maxErrorRate` (and above the stable version's, so traffic that fails everywhere does not blame the
 * canary), or a mean latency above `maxLatencyRatio` times the stable version's.
 */
export function decideCanary(
  stable: VersionFigures,
  canary: VersionFigures,
  thresholds: CanaryThresholds,
  windowSeconds: number,
): CanaryVerdict {
  const reasons: string[] = [];
  const latencyRatio =
    canary.meanLatencyMs !== null && stable.meanLatencyMs !== null && stable.meanLatencyMs > 0
      ? canary.meanLatencyMs / stable.meanLatencyMs
      : null;
  if (canary.requests < thresholds.minRequests) {
    reasons.push(
      `only ${canary.requests} request(s) reached the canary in ${windowSeconds} s (at least ${thresholds.minRequests} needed to judge it)`,
    );
  }
  if (canary.errorRate > thresholds.maxErrorRate && canary.errorRate > stable.errorRate) {
    reasons.push(
      `canary error rate ${percent(canary.errorRate)} (${canary.failures}/${canary.requests}) is above the limit ${percent(thresholds.maxErrorRate)} (stable: ${percent(stable.errorRate)})`,
    );
  }
  if (latencyRatio !== null && latencyRatio > thresholds.maxLatencyRatio) {
    reasons.push(
      `canary mean latency ${canary.meanLatencyMs!.toFixed(3)} ms is ${latencyRatio.toFixed(2)}× the stable ${stable.meanLatencyMs!.toFixed(3)} ms (limit ${thresholds.maxLatencyRatio}×)`,
    );
  }
  return {
    decision: reasons.length === 0 ? 'promote' : 'abort',
    stable,
    canary,
    latencyRatio,
    thresholds,
    windowSeconds,
    reasons,
  };
}
