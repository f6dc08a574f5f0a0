/**
 * Classification metrics as a streaming accumulator: a confusion matrix (so every count-based metric),
 * an exact log-loss sum and top-k hits. Constant memory in rows; states merge exactly.
 */
import { ExactSum, SPLIT_26, SPLIT_58, SPLIT_90, SPLIT_TERMS } from './exact-sum.js';
import type { LabelSpace } from './labels.js';

/** sklearn's clipping for log loss, so one confident mistake gives a large but finite loss. */
export const LOG_LOSS_EPSILON = 1e-15;

export interface ClassificationState {
  classes: string[];
  /** confusion[actual][predicted], over `classes`. */
  confusion: number[][];
  logLoss?: { rows: number; sum: Array<number | string> };
  topK?: { k: number; rows: number; hits: number };
}

export interface ClassScores {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** Rows whose true class this is. */
  support: number;
}

/** Metrics that depend only on counts per class, shared with the bootstrap, which resamples those counts. */
export function countMetrics(
  actual: ArrayLike<number>,
  predicted: ArrayLike<number>,
  truePositive: ArrayLike<number>,
  classes: number,
): { accuracy: number; balanced_accuracy: number; macro_f1: number; weighted_f1: number } {
  let rows = 0;
  let correct = 0;
  let recallSum = 0;
  let recallClasses = 0;
  let f1Sum = 0;
  let f1Classes = 0;
  let weightedF1 = 0;
  for (let k = 0; k < classes; k++) {
    const n = actual[k];
    const p = predicted[k];
    const tp = truePositive[k];
    rows += n;
    correct += tp;
    if (n > 0) {
      recallSum += tp / n;
      recallClasses++;
    }
    if (n + p > 0) {
      const f1 = (2 * tp) / (n + p);
      f1Sum += f1;
      f1Classes++;
      weightedF1 += n * f1;
    }
  }
  return {
    accuracy: rows > 0 ? correct / rows : NaN,
    balanced_accuracy: recallClasses > 0 ? recallSum / recallClasses : NaN,
    macro_f1: f1Classes > 0 ? f1Sum / f1Classes : NaN,
    weighted_f1: rows > 0 ? weightedF1 / rows : NaN,
  };
}

/** Where the true class ranks among a row's probabilities: log loss and whether it is in the top k. */
export function scoreProbabilities(
  probabilities: ArrayLike<number>,
  offset: number,
  width: number,
  actual: number,
  k: number,
): { logLoss: number; topHit: boolean } {
  const p = actual < width ? probabilities[offset + actual] : 0;
  const clipped = Math.min(Math.max(Number.isNaN(p) ? 0 : p, LOG_LOSS_EPSILON), 1 - LOG_LOSS_EPSILON);
  let above = 0;
  for (let j = 0; j < width; j++) if (probabilities[offset + j] > p) above++;
  return { logLoss: -Math.log(clipped), topHit: actual < width && above < k };
}

export class ClassificationAccumulator {
  /** counts[actual * size + predicted], dense over the first `size` class ids; grown as classes appear. */
  private counts = new Float64Array(0);
  private size = 0;
  private logLossSum = new ExactSum();
  private logLossRows = 0;
  private topHits = 0;
  private topRows = 0;
  /** What the last `add` scored, for paired comparisons without a second pass over the probabilities. */
  lastLogLoss = NaN;
  lastTopHit = false;

  constructor(
    readonly labels: LabelSpace,
    /** k for top-k accuracy; 0 turns it off. */
    readonly topK: number,
  ) {}

  get rows(): number {
    let rows = 0;
    for (let i = 0; i < this.size * this.size; i++) rows += this.counts[i];
    return rows;
  }

  /** Room for class ids below `classes`. */
  private fit(classes: number): void {
    if (classes <= this.size) return;
    const size = Math.max(classes, this.size * 2);
    const counts = new Float64Array(size * size);
    for (let a = 0; a < this.size; a++) counts.set(this.counts.subarray(a * this.size, (a + 1) * this.size), a * size);
    this.counts = counts;
    this.size = size;
  }

  add(actual: number, predicted: number, probabilities?: ArrayLike<number>, offset = 0, width = 0): void {
    this.fit(Math.max(actual, predicted) + 1);
    this.counts[actual * this.size + predicted]++;
    if (probabilities && width > 0) {
      const { logLoss, topHit } = scoreProbabilities(probabilities, offset, width, actual, this.topK);
      this.logLossSum.add(logLoss);
      this.logLossRows++;
      this.lastLogLoss = logLoss;
      if (this.topK > 0) {
        this.topRows++;
        if (topHit) this.topHits++;
      }
      this.lastTopHit = topHit;
    }
  }

  /**
   * A batch of rows at once, counted as `add` counts them row by row (`lastLogLoss` and `lastTopHit`
   * are left alone). Class ids must be below `labels.size`; probabilities are `width` per row.
   */
  addBatch(
    actual: ArrayLike<number>,
    predicted: ArrayLike<number>,
    rows: number,
    probabilities?: ArrayLike<number>,
    width = 0,
  ): void {
    this.fit(this.labels.size);
    const { counts, size } = this;
    for (let r = 0; r < rows; r++) counts[actual[r] * size + predicted[r]]++;
    if (!probabilities || width <= 0) return;
    this.logLossRows += rows;
    const k = this.topK;
    let hits = 0;
    // Row losses lie in [-log(1 - ε), -log(ε)]: within the range exact-sum.ts's split sums exactly.
    for (let from = 0; from < rows; from += SPLIT_TERMS) {
      const to = Math.min(rows, from + SPLIT_TERMS);
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let r = from; r < to; r++) {
        const a = actual[r];
        const o = r * width;
        const p = a < width ? probabilities[o + a] : 0;
        // Without branches on the values: which way they go is a coin toss for a model that errs often.
        if (k > 0) {
          let above = 0;
          for (let j = 0; j < width; j++) above += +(probabilities[o + j] > p);
          hits += +(above < k) & +(a < width);
        }
        // Clipped as in scoreProbabilities; NaN (which min and max keep) counts as ε.
        const clipped = Math.min(Math.max(p, LOG_LOSS_EPSILON), 1 - LOG_LOSS_EPSILON);
        let x = -Math.log(clipped === clipped ? clipped : LOG_LOSS_EPSILON);
        const h0 = x + SPLIT_26 - SPLIT_26;
        x -= h0;
        const h1 = x + SPLIT_58 - SPLIT_58;
        x -= h1;
        const h2 = x + SPLIT_90 - SPLIT_90;
        s0 += h0;
        s1 += h1;
        s2 += h2;
        s3 += x - h2;
      }
      this.logLossSum.add(s0);
      this.logLossSum.add(s1);
      this.logLossSum.add(s2);
      this.logLossSum.add(s3);
    }
    if (k > 0) {
      this.topRows += rows;
      this.topHits += hits;
    }
  }

  private count(actual: number, predicted: number): number {
    return actual < this.size && predicted < this.size ? this.counts[actual * this.size + predicted] : 0;
  }

  /** Confusion matrix over every class seen so far, dense. */
  matrix(): number[][] {
    const size = this.labels.size;
    return Array.from({ length: size }, (_, a) => Array.from({ length: size }, (_, p) => this.count(a, p)));
  }

  metrics(): Record<string, number> {
    const size = this.labels.size;
    const actual = new Float64Array(size);
    const predicted = new Float64Array(size);
    const tp = new Float64Array(size);
    const seen = Math.min(size, this.size);
    for (let a = 0; a < seen; a++) {
      for (let p = 0; p < seen; p++) {
        const n = this.counts[a * this.size + p];
        actual[a] += n;
        predicted[p] += n;
        if (a === p) tp[a] += n;
      }
    }
    const metrics: Record<string, number> = { ...countMetrics(actual, predicted, tp, size) };
    if (this.logLossRows > 0) metrics.log_loss = this.logLossSum.value() / this.logLossRows;
    if (this.topK > 0 && this.topRows > 0) metrics[`top${this.topK}_accuracy`] = this.topHits / this.topRows;
    return metrics;
  }

  perClass(): ClassScores[] {
    const m = this.matrix();
    return this.labels.names.map((label, k) => {
      const support = m[k].reduce((a, b) => a + b, 0);
      const predicted = m.reduce((sum, row) => sum + row[k], 0);
      const tp = m[k][k];
      return {
        label,
        precision: predicted > 0 ? tp / predicted : 0,
        recall: support > 0 ? tp / support : 0,
        f1: support + predicted > 0 ? (2 * tp) / (support + predicted) : 0,
        support,
      };
    });
  }

  toState(): ClassificationState {
    const state: ClassificationState = { classes: [...this.labels.names], confusion: this.matrix() };
    if (this.logLossRows > 0) state.logLoss = { rows: this.logLossRows, sum: this.logLossSum.toJSON() };
    if (this.topK > 0 && this.topRows > 0) state.topK = { k: this.topK, rows: this.topRows, hits: this.topHits };
    return state;
  }

  /** Adds a state (from a shard) whose class ids are mapped by name into this accumulator's label space. */
  mergeState(state: ClassificationState): void {
    const ids = state.classes.map((name) => this.labels.id(name));
    this.fit(this.labels.size);
    state.confusion.forEach((row, a) =>
      row.forEach((n, p) => {
        if (n) this.counts[ids[a] * this.size + ids[p]] += n;
      }),
    );
    if (state.logLoss) {
      this.logLossSum.merge(ExactSum.from(state.logLoss.sum));
      this.logLossRows += state.logLoss.rows;
    }
    if (state.topK && this.topK === state.topK.k) {
      this.topRows += state.topK.rows;
      this.topHits += state.topK.hits;
    }
  }
}
