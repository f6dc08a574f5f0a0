/**
 * Per-row latency percentiles from a log-bucketed histogram (2% wide buckets from 100 ns to ~17 min):
 * constant memory, mergeable, and within 1% of the true percentile.
 */
const MIN_MS = 1e-4;
const GROWTH = 1.02;
const BUCKETS = 1200;
const LOG_GROWTH = Math.log(GROWTH);

export interface LatencyState {
  rows: number;
  /** Sparse: [bucket, count] pairs. */
  buckets: Array<[number, number]>;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  rows = 0;

  /** Records `rows` rows that took `msPerRow` each (a batch's time spread over its rows). */
  add(msPerRow: number, rows = 1): void {
    const bucket =
      msPerRow <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log(msPerRow / MIN_MS) / LOG_GROWTH) + 1);
    this.counts[bucket] += rows;
    this.rows += rows;
  }

  /** The q-quantile (0..1) in milliseconds: the geometric middle of its bucket. */
  quantile(q: number): number {
    if (this.rows === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.rows));
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b];
      if (seen >= rank) return b === 0 ? MIN_MS : MIN_MS * Math.pow(GROWTH, b - 0.5);
    }
    return NaN;
  }

  summary(): { p50Ms: number; p95Ms: number; rows: number } {
    return { p50Ms: this.quantile(0.5), p95Ms: this.quantile(0.95), rows: this.rows };
  }

  toState(): LatencyState {
    const buckets: Array<[number, number]> = [];
    this.counts.forEach((count, bucket) => {
      if (count > 0) buckets.push([bucket, count]);
    });
    return { rows: this.rows, buckets };
  }

  mergeState(state: LatencyState): void {
    for (const [bucket, count] of state.buckets) this.counts[bucket] += count;
    this.rows += state.rows;
  }
}
