import { describe, expect, it } from 'vitest';
import { bootstrapResamples, percentileInterval } from '../../src/metrics/bootstrap.js';
import { ClassificationEvaluation } from '../../src/metrics/classification-evaluation.js';
import { DEFAULT_SEED, type EvaluationSettings } from '../../src/metrics/evaluation.js';
import { binomialCdfHalf, mcnemarExact } from '../../src/metrics/mcnemar.js';
import { seededRandom } from '../../src/metrics/random.js';
import { RegressionEvaluation } from '../../src/metrics/regression-evaluation.js';

/** C(n, k) / 2^n by exact BigInt arithmetic, to check the log-space sum against. */
function exactCdf(k: number, n: number): number {
  let c = 1n;
  let sum = 0n;
  for (let i = 0; i <= k; i++) {
    if (i > 0) c = (c * BigInt(n - i + 1)) / BigInt(i);
    sum += c;
  }
  return Number((sum * 10n ** 30n) / 2n ** BigInt(n)) / 1e30;
}

const settings = (overrides: Partial<EvaluationSettings> = {}): EvaluationSettings => ({
  seed: DEFAULT_SEED,
  resamples: 1000,
  confidence: 0.95,
  sliceFields: [],
  flipLimit: 5,
  paired: true,
  ...overrides,
});

describe("McNemar's exact test", () => {
  it('is the two-sided binomial tail on discordant rows', () => {
    for (const [k, n] of [
      [1, 10],
      [3, 20],
      [40, 100],
      [10, 200],
    ]) {
      expect(binomialCdfHalf(k, n)).toBeCloseTo(exactCdf(k, n), 12);
    }
    expect(mcnemarExact(9, 1)).toBeCloseTo(2 * exactCdf(1, 10), 12);
    expect(mcnemarExact(1, 9)).toBe(mcnemarExact(9, 1));
    expect(mcnemarExact(5, 5)).toBe(1);
    expect(mcnemarExact(0, 0)).toBe(1);
  });

  it('handles many discordant rows without underflow', () => {
    const p = mcnemarExact(60_000, 40_000);
    expect(p).toBeGreaterThanOrEqual(0);
    expect(p).toBeLessThan(1e-100);
    expect(mcnemarExact(50_010, 49_990)).toBeGreaterThan(0.9);
  });
});

describe('paired bootstrap', () => {
  it('is reproducible from its seed and changes with it', () => {
    const stat = (w: Uint32Array) => [w.reduce((s, v, i) => s + v * i, 0)];
    const a = bootstrapResamples(50, 100, 1, stat);
    expect(bootstrapResamples(50, 100, 1, stat)).toEqual(a);
    expect(bootstrapResamples(50, 100, 2, stat)).not.toEqual(a);
  });

  it('covers the true mean of a known distribution about 95% of the time', () => {
    const random = seededRandom(5);
    let covered = 0;
    const trials = 200;
    for (let t = 0; t < trials; t++) {
      const values = Array.from({ length: 60 }, () => random());
      const deltas = bootstrapResamples(values.length, 400, t + 1, (w) => {
        let s = 0;
        w.forEach((k, i) => (s += k * values[i]));
        return [s / values.length - 0.5];
      })[0];
      const [lo, hi] = percentileInterval(deltas, 0.95)!;
      if (lo <= 0 && 0 <= hi) covered++;
    }
    expect(covered / trials).toBeGreaterThan(0.88);
    expect(covered / trials).toBeLessThan(0.99);
  });

  it('finds a clear regression significant and identical models not', () => {
    const random = seededRandom(9);
    const worse = new RegressionEvaluation(settings());
    const same = new RegressionEvaluation(settings());
    for (let i = 0; i < 3000; i++) {
      const y = random() * 10;
      const noise = random() - 0.5;
      worse.add(i, y, [], y + 2 * noise, y + noise);
      same.add(i, y, [], y + noise, y + noise);
    }
    const w = worse.summary().evidence.mae;
    expect(w.test).toBe('bootstrap');
    if (w.test === 'bootstrap') expect(w.ci[0]).toBeGreaterThan(0);
    const s = same.summary().evidence.mae;
    if (s.test === 'bootstrap') expect(s.ci[0] <= 0 && 0 <= s.ci[1]).toBe(true);
  });
});

describe('classification evaluation', () => {
  const run = (rows: Array<[number, number, number]>, parts: number) => {
    const evaluations = Array.from(
      { length: parts },
      () => new ClassificationEvaluation(settings({ sliceFields: ['half'] }), ['x', 'y', 'z'], 2),
    );
    const probs = (label: number) => [label === 0 ? 0.6 : 0.2, label === 1 ? 0.6 : 0.2, label === 2 ? 0.6 : 0.2];
    rows.forEach(([actual, base, cand], i) => {
      const e = evaluations[i % parts];
      e.add(
        i,
        `r${i}`,
        actual,
        [i < rows.length / 2 ? 'first' : 'second'],
        { label: cand, probabilities: probs(cand), offset: 0, width: 3 },
        {
          label: base,
          probabilities: probs(base),
          offset: 0,
          width: 3,
        },
      );
    });
    if (parts === 1) return evaluations[0].summary();
    const merged = new ClassificationEvaluation(settings({ sliceFields: ['half'] }), ['x', 'y', 'z'], 2);
    for (const e of evaluations.reverse()) merged.mergeState(JSON.parse(JSON.stringify(e.toState())));
    return merged.summary();
  };
  const random = seededRandom(21);
  const rows: Array<[number, number, number]> = Array.from({ length: 2500 }, () => {
    const actual = Math.floor(random() * 3);
    const base = random() < 0.9 ? actual : Math.floor(random() * 3);
    const cand = random() < 0.8 ? actual : Math.floor(random() * 3);
    return [actual, base, cand];
  });

  it('gives a merged set of shard states exactly the unsharded summary', () => {
    const whole = run(rows, 1);
    const sharded = run(rows, 3);
    expect(sharded).toEqual(whole);
    expect(whole.flips!.count).toBe(rows.filter(([, b, c]) => b !== c).length);
    expect(whole.flips!.first.map((f) => f.index)).toEqual(
      rows.flatMap(([, b, c], i) => (b !== c ? [i] : [])).slice(0, 5),
    );
  });

  it('finds the worse candidate significantly worse, by McNemar and by bootstrap', () => {
    const s = run(rows, 1);
    const acc = s.evidence.accuracy;
    expect(acc.test).toBe('mcnemar');
    if (acc.test === 'mcnemar') {
      expect(acc.pValue).toBeLessThan(0.001);
      expect(acc.baselineOnly).toBe(rows.filter(([a, b, c]) => b === a && c !== a).length);
      expect(acc.candidateOnly).toBe(rows.filter(([a, b, c]) => b !== a && c === a).length);
    }
    const f1 = s.evidence.macro_f1;
    if (f1.test !== 'bootstrap') throw new Error('expected a bootstrap interval');
    expect(f1.ci[1]).toBeLessThan(0);
    const delta = s.metrics.macro_f1 - s.baselineMetrics!.macro_f1;
    expect(f1.ci[0]).toBeLessThan(delta);
    expect(f1.ci[1]).toBeGreaterThan(delta);
    expect(s.slices!.half.first.rows + s.slices!.half.second.rows).toBe(rows.length);
  });
});
