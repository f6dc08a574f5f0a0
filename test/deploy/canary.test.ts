import { describe, expect, it } from 'vitest';
import {
  decideCanary,
  histogramQuantile,
  readVersionCounters,
  windowFigures,
  type CanaryThresholds,
} from '../../src/deploy/canary.js';
import { parseMetricsText } from '../../src/deploy/metrics-text.js';

function exposition(version: string, success: number, failure: number, latencies: number[]): string {
  const bounds = [0.001, 0.005, 0.01, 0.05, Infinity];
  const lines = [
    '# HELP nv_inference_request_success Number of successful inference requests',
    '# TYPE nv_inference_request_success counter',
    `nv_inference_request_success{model="iris",version="${version}"} ${success}`,
    `nv_inference_request_failure{model="iris",version="${version}"} ${failure}`,
    `nv_inference_request_duration_us{model="iris",version="${version}"} ${latencies.reduce((a, b) => a + b, 0) * 1e6}`,
  ];
  for (const le of bounds) {
    const count = latencies.filter((l) => l <= le).length;
    lines.push(
      `modelship_inference_request_duration_seconds_bucket{model="iris",version="${version}",le="${le === Infinity ? '+Inf' : le}"} ${count}`,
    );
  }
  lines.push(
    `modelship_inference_request_duration_seconds_sum{model="iris",version="${version}"} ${latencies.reduce((a, b) => a + b, 0)}`,
    `modelship_inference_request_duration_seconds_count{model="iris",version="${version}"} ${latencies.length}`,
  );
  return lines.join('\n') + '\n';
}

const thresholds: CanaryThresholds = { maxErrorRate: 0.05, maxLatencyRatio: 2, minRequests: 10 };

describe('metrics text', () => {
  it('reads samples with labels, escapes, special values and timestamps', () => {
    const samples = parseMetricsText(
      [
        '# comment',
        'plain 3',
        'with_labels{a="x",b="quote \\" and \\\\ slash"} 4.5 1700000000',
        'inf_value{le="+Inf"} +Inf',
        'broken{a="x" 1',
      ].join('\n'),
    );
    expect(samples).toEqual([
      { name: 'plain', labels: {}, value: 3 },
      { name: 'with_labels', labels: { a: 'x', b: 'quote " and \\ slash' }, value: 4.5 },
      { name: 'inf_value', labels: { le: '+Inf' }, value: Infinity },
    ]);
  });
});

describe('canary analysis', () => {
  it('computes per-version deltas over the window', () => {
    const before = parseMetricsText(exposition('2', 100, 0, Array(100).fill(0.002)));
    const after = parseMetricsText(exposition('2', 190, 10, [...Array(100).fill(0.002), ...Array(100).fill(0.004)]));
    const figures = windowFigures(
      '2',
      readVersionCounters(before, 'iris', '2'),
      readVersionCounters(after, 'iris', '2'),
    );
    expect(figures.requests).toBe(100);
    expect(figures.failures).toBe(10);
    expect(figures.errorRate).toBeCloseTo(0.1);
    expect(figures.meanLatencyMs).toBeCloseTo(4);
    expect(figures.p95LatencyMs).toBeGreaterThan(1);
    expect(figures.p95LatencyMs).toBeLessThanOrEqual(5);
  });

  it('quantiles interpolate inside the bucket', () => {
    const buckets = [
      { le: 0.1, count: 50 },
      { le: 0.2, count: 100 },
      { le: Infinity, count: 100 },
    ];
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.1);
    expect(histogramQuantile(0.75, buckets)).toBeCloseTo(0.15);
    expect(histogramQuantile(0.5, [])).toBeNull();
  });

  const figures = (version: string, requests: number, failures: number, meanLatencyMs: number) => ({
    version,
    requests,
    failures,
    errorRate: requests ? failures / requests : 0,
    meanLatencyMs,
    p95LatencyMs: meanLatencyMs * 1.5,
  });

  it('promotes a canary within its limits', () => {
    const verdict = decideCanary(figures('1', 900, 0, 1), figures('2', 100, 1, 1.2), thresholds, 10);
    expect(verdict.decision).toBe('promote');
    expect(verdict.latencyRatio).toBeCloseTo(1.2);
    expect(verdict.reasons).toEqual([]);
  });

  it('aborts on errors, on latency, and on too little traffic, saying which', () => {
    const errors = decideCanary(figures('1', 900, 0, 1), figures('2', 100, 40, 1), thresholds, 10);
    expect(errors.decision).toBe('abort');
    expect(errors.reasons[0]).toContain('40.00% (40/100)');
    const slow = decideCanary(figures('1', 900, 0, 1), figures('2', 100, 0, 5), thresholds, 10);
    expect(slow.decision).toBe('abort');
    expect(slow.reasons[0]).toContain('5.00×');
    const idle = decideCanary(figures('1', 900, 0, 1), figures('2', 3, 0, 1), thresholds, 10);
    expect(idle.decision).toBe('abort');
    expect(idle.reasons[0]).toContain('only 3 request(s)');
  });

  it('does not blame the canary for errors the stable version has as much', () => {
    const verdict = decideCanary(figures('1', 900, 450, 1), figures('2', 100, 50, 1), thresholds, 10);
    expect(verdict.decision).toBe('promote');
  });
});
