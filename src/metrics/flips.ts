/**
 * Rows whose outcome changed between baseline and candidate. Keeps the count and the first few by row
 * index; shards keep their own first few, so the merged list is the unsharded one.
 */
export interface Flip {
  index: number;
  id?: string;
  expected?: string;
  baseline: string;
  candidate: string;
}

export interface FlipState {
  count: number;
  /** Flips that made the candidate right where the baseline was wrong. */
  fixed: number;
  /** Flips that made the candidate wrong where the baseline was right. */
  broken: number;
  first: Flip[];
}

export class FlipLog {
  count = 0;
  fixed = 0;
  broken = 0;
  first: Flip[] = [];

  constructor(readonly limit: number) {}

  add(flip: Flip, change: 'fixed' | 'broken' | 'changed'): void {
    this.count++;
    if (change === 'fixed') this.fixed++;
    else if (change === 'broken') this.broken++;
    if (this.first.length < this.limit) this.first.push(flip);
  }

  toState(): FlipState {
    return { count: this.count, fixed: this.fixed, broken: this.broken, first: this.first };
  }

  mergeState(state: FlipState): void {
    this.count += state.count;
    this.fixed += state.fixed;
    this.broken += state.broken;
    this.first = [...this.first, ...state.first].sort((a, b) => a.index - b.index).slice(0, this.limit);
  }
}
