import { describe, expect, it } from 'vitest';
import { ClassificationAccumulator, countMetrics } from '../../src/metrics/classification.js';
import { ExactSum } from '../../src/metrics/exact-sum.js';
import { LabelSpace } from '../../src/metrics/labels.js';
import { LatencyHistogram } from '../../src/metrics/latency.js';
import { RegressionAccumulator } from '../../src/metrics/regression.js';
import { seededRandom } from '../../src/metrics/random.js';

const classify = (actual: number[], predicted: number[], probabilities?: number[][], topK = 0) => {
  const labels = new LabelSpace();
  const acc = new ClassificationAccumulator(labels, topK);
  const width = probabilities?.[0]?.length ?? 0;
  for (let k = 0; k < width; k++) labels.idOfIndex(k);
  actual.forEach((a, i) => {
    const row = probabilities?.[i];
    acc.add(labels.idOfIndex(a), labels.idOfIndex(predicted[i]), row, 0, row?.length ?? 0);
  });
  return acc;
};

describe('exact sums', () => {
  it('gives the correctly rounded sum whatever the order', () => {
    const random = seededRandom(7);
    const values = Array.from({ length: 2000 }, () => (random() - 0.5) * Math.pow(10, Math.floor(random() * 30) - 15));
    const forward = ExactSum.from(values).value();
    const backward = ExactSum.from([...values].reverse()).value();
    const halves = ExactSum.from(values.slice(0, 700));
    halves.merge(ExactSum.from(values.slice(700)));
    expect(backward).toBe(forward);
    expect(halves.value()).toBe(forward);
    // A naive sum of the same values usually differs from the exact one in the last bits; the exact one
    // must at least be as close to the naive forward and backward sums as they are to each other.
    const naive = values.reduce((a, b) => a + b, 0);
    expect(Math.abs(forward - naive)).toBeLessThan(1e-12 * Math.max(1, Math.abs(naive)) + 1e-3);
  });

  it('survives cancellation that loses a naive sum', () => {
    expect(ExactSum.from([1e100, 1, -1e100]).value()).toBe(1);
    expect([1e100, 1, -1e100].reduce((a, b) => a + b, 0)).not.toBe(1);
    expect(ExactSum.from(Array(10).fill(0.1)).value()).toBe(1);
  });

  it('carries NaN and infinities through JSON', () => {
    const sum = ExactSum.from([1, Infinity]);
    expect(ExactSum.from(JSON.parse(JSON.stringify(sum))).value()).toBe(Infinity);
    expect(Number.isNaN(ExactSum.from(JSON.parse(JSON.stringify(ExactSum.from([Infinity, -Infinity])))).value())).toBe(
      true,
    );
  });
});

describe('classification metrics', () => {
  it('match the scikit-learn documentation examples', () => {
    // balanced_accuracy_score([0,1,0,0,1,0], [0,1,0,0,0,1]) == 0.625
    expect(classify([0, 1, 0, 0, 1, 0], [0, 1, 0, 0, 0, 1]).metrics().balanced_accuracy).toBeCloseTo(0.625, 12);
    // f1_score([0,1,2,0,1,2], [0,2,1,0,0,1], average='macro') == 0.26666..., weighted likewise
    const m = classify([0, 1, 2, 0, 1, 2], [0, 2, 1, 0, 0, 1]).metrics();
    expect(m.macro_f1).toBeCloseTo(0.8 / 3, 12);
    expect(m.weighted_f1).toBeCloseTo(0.8 / 3, 12);
    expect(m.accuracy).toBeCloseTo(1 / 3, 12);
    // log_loss(["spam","ham","ham","spam"], [[.1,.9],[.9,.1],[.8,.2],[.35,.65]]) == 0.21616...
    const ll = classify(
      [1, 0, 0, 1],
      [1, 0, 0, 1],
      [
        [0.1, 0.9],
        [0.9, 0.1],
        [0.8, 0.2],
        [0.35, 0.65],
      ],
    ).metrics().log_loss;
    expect(ll).toBeCloseTo(-(Math.log(0.9) + Math.log(0.9) + Math.log(0.8) + Math.log(0.65)) / 4, 12);
    expect(ll).toBeCloseTo(0.21616, 4);
  });

  it('computes per-class scores and the confusion matrix from the rows', () => {
    const actual = [0, 0, 1, 1, 1, 2, 2, 2, 2];
    const predicted = [0, 1, 1, 1, 2, 2, 2, 0, 2];
    const acc = classify(actual, predicted);
    const matrix = acc.matrix();
    actual.forEach((a, i) => (matrix[a][predicted[i]] -= 1));
    expect(matrix.flat().every((v) => v === 0)).toBe(true);
    const classes = acc.perClass();
    for (const k of [0, 1, 2]) {
      const tp = actual.filter((a, i) => a === k && predicted[i] === k).length;
      const support = actual.filter((a) => a === k).length;
      const pred = predicted.filter((p) => p === k).length;
      expect(classes[k]).toMatchObject({ support, precision: tp / pred, recall: tp / support });
      expect(classes[k].f1).toBeCloseTo((2 * (tp / pred) * (tp / support)) / (tp / pred + tp / support), 12);
    }
  });

  it('counts top-k hits by rank of the true class', () => {
    const probs = [
      [0.5, 0.3, 0.2],
      [0.5, 0.3, 0.2],
      [0.5, 0.3, 0.2],
    ];
    const m = classify([0, 1, 2], [0, 0, 0], probs, 2).metrics();
    expect(m.top2_accuracy).toBeCloseTo(2 / 3, 12);
  });

  it('merges states by class name into the same metrics', () => {
    const labels = ['a', 'b', 'c'];
    const rows = Array.from({ length: 90 }, (_, i) => [i % 3, Math.floor(i / 7) % 3]);
    const probabilities = (i: number) => [0.1 + (i % 5) / 10, 0.2, 0.7 - (i % 5) / 10];
    const whole = new ClassificationAccumulator(new LabelSpace(labels), 2);
    rows.forEach(([a, p], i) => whole.add(a, p, probabilities(i), 0, 3));
    // A shard that met the classes in another order: its ids and probability columns follow that order.
    const shardLabels = new LabelSpace(['c', 'a', 'b']);
    const toShard = (id: number) => shardLabels.id(labels[id]);
    const one = new ClassificationAccumulator(shardLabels, 2);
    const two = new ClassificationAccumulator(new LabelSpace(labels), 2);
    rows.forEach(([a, p], i) => {
      const [pa, pb, pc] = probabilities(i);
      if (i % 2) one.add(toShard(a), toShard(p), [pc, pa, pb], 0, 3);
      else two.add(a, p, probabilities(i), 0, 3);
    });
    expect(whole.metrics().accuracy).toBeLessThan(1);
    const merged = new ClassificationAccumulator(new LabelSpace(labels), 2);
    merged.mergeState(JSON.parse(JSON.stringify(two.toState())));
    merged.mergeState(JSON.parse(JSON.stringify(one.toState())));
    expect(merged.matrix()).toEqual(whole.matrix());
    expect(merged.metrics()).toEqual(whole.metrics());
  });

  it('counts a batch exactly as it counts the same rows one by one', () => {
    const random = seededRandom(11);
    const width = 4;
    // Probabilities near 0 and 1, exact 0 and 1 (clipped for log loss), NaN, ties, and true classes the
    // probabilities do not cover (class 4 of 5).
    const special = [0, 1, Number.NaN, 1e-300, 1 - 1e-16, 0.25];
    for (const rows of [1, 37, 5000]) {
      const labels = new LabelSpace(['a', 'b', 'c', 'd', 'e']);
      const actual = Int32Array.from({ length: rows }, () => Math.floor(random() * 5));
      const predicted = Int32Array.from({ length: rows }, () => Math.floor(random() * 4));
      const probabilities = Float32Array.from({ length: rows * width }, () =>
        random() < 0.1 ? special[Math.floor(random() * special.length)] : random() ** 8,
      );
      const byRow = new ClassificationAccumulator(labels, 2);
      for (let r = 0; r < rows; r++) byRow.add(actual[r], predicted[r], probabilities, r * width, width);
      const batch = new ClassificationAccumulator(labels, 2);
      // In two batches, the second starting mid-way, as scoring hands them over.
      const cut = Math.floor(rows / 3);
      batch.addBatch(actual, predicted, cut, probabilities, width);
      batch.addBatch(
        actual.subarray(cut),
        predicted.subarray(cut),
        rows - cut,
        probabilities.subarray(cut * width),
        width,
      );
      expect(batch.matrix()).toEqual(byRow.matrix());
      expect(batch.metrics()).toEqual(byRow.metrics());
      expect(Number.isFinite(batch.metrics().log_loss)).toBe(true);
    }
  });

  it('sums batch log losses exactly, across more rows than one split sum holds', () => {
    const random = seededRandom(5);
    const rows = (1 << 20) + 1000;
    const labels = new LabelSpace(['a', 'b']);
    const actual = new Int32Array(rows);
    const probabilities = new Float64Array(rows * 2);
    for (let r = 0; r < rows; r++) probabilities[r * 2] = random() ** 4;
    probabilities[0] = 0;
    probabilities[2] = 1;
    const acc = new ClassificationAccumulator(labels, 0);
    acc.addBatch(actual, actual, rows, probabilities, 2);
    const losses = Array.from(
      { length: rows },
      (_, r) => -Math.log(Math.min(Math.max(probabilities[r * 2], 1e-15), 1 - 1e-15)),
    );
    const exact = ExactSum.from(losses).value();
    // The rows' order changes a plain sum in its last bits; the exact sum it cannot.
    expect(losses.reduce((a, b) => a + b, 0)).not.toBe(exact);
    expect(acc.metrics().log_loss).toBe(exact / rows);
  });

  it('reports NaN rather than inventing numbers for no rows', () => {
    expect(Number.isNaN(countMetrics([], [], [], 0).accuracy)).toBe(true);
  });
});

describe('regression metrics', () => {
  it('match the scikit-learn documentation examples', () => {
    const acc = new RegressionAccumulator();
    const actual = [3, -0.5, 2, 7];
    const predicted = [2.5, 0.0, 2, 8];
    actual.forEach((a, i) => acc.add(a, predicted[i]));
    const m = acc.metrics();
    expect(m.mae).toBeCloseTo(0.5, 12); // mean_absolute_error
    expect(m.rmse).toBeCloseTo(Math.sqrt(0.375), 12); // mean_squared_error 0.375
    expect(m.r2).toBeCloseTo(0.9486081370449679, 12); // r2_score
    expect(m.mape).toBeCloseTo(0.3273809523809524, 12); // mean_absolute_percentage_error
  });

  it('is exact under merging', () => {
    const random = seededRandom(3);
    const rows = Array.from({ length: 1000 }, () => [random() * 40, random() * 40]);
    const whole = new RegressionAccumulator();
    const a = new RegressionAccumulator();
    const b = new RegressionAccumulator();
    rows.forEach(([y, p], i) => {
      whole.add(y, p);
      (i % 3 === 0 ? a : b).add(y, p);
    });
    const merged = new RegressionAccumulator();
    merged.mergeState(JSON.parse(JSON.stringify(b.toState())));
    merged.mergeState(JSON.parse(JSON.stringify(a.toState())));
    expect(merged.metrics()).toEqual(whole.metrics());
  });
});

describe('latency histogram', () => {
  it('puts percentiles within 2% of the exact ones', () => {
    const random = seededRandom(11);
    const samples = Array.from({ length: 5000 }, () => Math.exp(random() * 8 - 6));
    const h = new LatencyHistogram();
    for (const s of samples) h.add(s);
    const sorted = [...samples].sort((x, y) => x - y);
    for (const q of [0.5, 0.95]) {
      const exact = sorted[Math.ceil(q * sorted.length) - 1];
      expect(Math.abs(h.quantile(q) - exact) / exact).toBeLessThan(0.02);
    }
  });
});
