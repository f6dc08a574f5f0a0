/**
 * A seeded paired bootstrap that streams. Rows are dealt into a fixed number of groups — row i into group
 * i while i < groups (so small fixtures get the textbook row bootstrap), later rows by a seeded hash of
 * their index — and each group keeps the sufficient statistics of its rows (counts per class, exact sums
 * of errors) for both models. A resample draws groups with replacement and recomputes both models' metric
 * from the summed statistics, so memory does not grow with rows, and because a row's group depends on its
 * global index alone, shards merge into exactly the unsharded statistics.
 */
import { ExactSum } from './exact-sum.js';
import { hashIndex, seededRandom } from './random.js';

export const BOOTSTRAP_GROUPS = 1000;
export const DEFAULT_RESAMPLES = 1000;
export const DEFAULT_CONFIDENCE = 0.95;

export function bootstrapGroupOf(seed: number, index: number, groups = BOOTSTRAP_GROUPS): number {
  return index < groups ? index : hashIndex(seed, index) % groups;
}

export interface GroupedStatsState {
  groups: number;
  used: number;
  countColumns: number;
  /** Sparse rows: [group, ...counts]. */
  counts: number[][];
  sumColumns: number;
  /** Sparse: [group, column, partials]. */
  sums: Array<[number, number, Array<number | string>]>;
}

/**
 * Per-group integer counts (columns may be added as classes appear) and exact floating sums.
 */
export class GroupedStats {
  private counts: Float64Array;
  private sums: Array<ExactSum | undefined>;
  /** One past the highest group that has a row. */
  used = 0;

  constructor(
    private countColumns: number,
    readonly sumColumns: number,
    readonly groups = BOOTSTRAP_GROUPS,
  ) {
    this.counts = new Float64Array(groups * countColumns);
    this.sums = new Array(groups * sumColumns);
  }

  get columns(): number {
    return this.countColumns;
  }

  /** Makes room for at least `columns` count columns, keeping what is there. */
  widen(columns: number): void {
    if (columns <= this.countColumns) return;
    const wider = Math.max(columns, this.countColumns * 2);
    const next = new Float64Array(this.groups * wider);
    for (let g = 0; g < this.used; g++) {
      next.set(this.counts.subarray(g * this.countColumns, (g + 1) * this.countColumns), g * wider);
    }
    this.counts = next;
    this.countColumns = wider;
  }

  touch(group: number): void {
    if (group >= this.used) this.used = group + 1;
  }

  count(group: number, column: number, by = 1): void {
    this.counts[group * this.countColumns + column] += by;
  }

  sum(group: number, column: number, value: number): void {
    const i = group * this.sumColumns + column;
    (this.sums[i] ??= new ExactSum()).add(value);
  }

  /** Counts and rounded sums per group, flat, for resampling. */
  table(): { counts: Float64Array; sums: Float64Array; countColumns: number } {
    const sums = new Float64Array(this.groups * this.sumColumns);
    this.sums.forEach((s, i) => {
      if (s) sums[i] = s.value();
    });
    return { counts: this.counts, sums, countColumns: this.countColumns };
  }

  toState(): GroupedStatsState {
    const counts: number[][] = [];
    for (let g = 0; g < this.used; g++) {
      const row = Array.from(this.counts.subarray(g * this.countColumns, (g + 1) * this.countColumns));
      if (row.some((v) => v !== 0)) counts.push([g, ...row]);
    }
    const sums: GroupedStatsState['sums'] = [];
    this.sums.forEach((s, i) => {
      if (s) sums.push([Math.floor(i / this.sumColumns), i % this.sumColumns, s.toJSON()]);
    });
    return {
      groups: this.groups,
      used: this.used,
      countColumns: this.countColumns,
      counts,
      sumColumns: this.sumColumns,
      sums,
    };
  }

  /** Adds a state; `mapColumn` moves a count column (e.g. a class id from another label space). */
  mergeState(state: GroupedStatsState, mapColumn: (column: number) => number = (c) => c): void {
    this.used = Math.max(this.used, state.used);
    for (const [group, ...row] of state.counts) {
      row.forEach((v, c) => {
        if (v === 0) return;
        const column = mapColumn(c);
        this.widen(column + 1);
        this.count(group, column, v);
      });
    }
    for (const [group, column, partials] of state.sums) {
      (this.sums[group * this.sumColumns + column] ??= new ExactSum()).merge(ExactSum.from(partials));
    }
  }
}

/**
 * Draws `resamples` resamples of the used groups and returns, for each statistic, its value on every
 * resample. `statistic` gets how many times each group was drawn and returns one number per statistic.
 */
export function bootstrapResamples(
  used: number,
  resamples: number,
  seed: number,
  statistic: (weights: Uint32Array) => number[],
): number[][] {
  const random = seededRandom(seed);
  const weights = new Uint32Array(used);
  const out: number[][] = [];
  for (let b = 0; b < resamples; b++) {
    weights.fill(0);
    for (let i = 0; i < used; i++) weights[Math.floor(random() * used)]++;
    statistic(weights).forEach((v, s) => (out[s] ??= []).push(v));
  }
  return out;
}

/** Percentile interval of the finite values; undefined when there are too few to say anything. */
export function percentileInterval(values: number[], confidence: number): [number, number] | undefined {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length < 10) return undefined;
  const at = (q: number) => {
    const pos = q * (finite.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    return finite[lo] + (finite[hi] - finite[lo]) * (pos - lo);
  };
  const tail = (1 - confidence) / 2;
  return [at(tail), at(1 - tail)];
}

/** Weighted column sums over groups, for the first `width` columns of a table with `stride` per group. */
export function weightedColumns(
  table: Float64Array,
  stride: number,
  weights: Uint32Array,
  width = stride,
): Float64Array {
  const out = new Float64Array(width);
  for (let g = 0; g < weights.length; g++) {
    const w = weights[g];
    if (w === 0) continue;
    const base = g * stride;
    for (let c = 0; c < width; c++) out[c] += w * table[base + c];
  }
  return out;
}
