/**
 * A floating-point sum that does not depend on the order of its terms (Shewchuk's algorithm, as in
 * Python's math.fsum). Shard reports carry the partials, so merged shards give bit-for-bit the sum of
 * an unsharded run.
 */
export class ExactSum {
  private partials: number[] = [];
  /** Partials in use (the array is reused rather than truncated, which is slow in V8). */
  private count = 0;
  /** NaN and infinities cannot go through the partials; they are kept aside. */
  private special = 0;

  add(x: number): void {
    if (!Number.isFinite(x)) {
      this.special += x;
      return;
    }
    const partials = this.partials;
    const n = this.count;
    let i = 0;
    for (let j = 0; j < n; j++) {
      const y = partials[j];
      const big = Math.abs(x) < Math.abs(y) ? y : x;
      const small = big === x ? y : x;
      const hi = big + small;
      const lo = small - (hi - big);
      if (lo !== 0) partials[i++] = lo;
      x = hi;
    }
    partials[i] = x;
    this.count = i + 1;
  }

  merge(other: ExactSum): void {
    for (let j = 0; j < other.count; j++) this.add(other.partials[j]);
    this.special += other.special;
  }

  /** The correctly rounded sum. */
  value(): number {
    if (this.special !== 0 || Number.isNaN(this.special)) return this.special;
    const partials = this.partials;
    let n = this.count;
    if (n === 0) return 0;
    let hi = partials[--n];
    let lo = 0;
    while (n > 0) {
      const x = hi;
      const y = partials[--n];
      hi = x + y;
      lo = y - (hi - x);
      if (lo !== 0) break;
    }
    // Round half-even correctly when the remaining partials push the result across a rounding boundary.
    if (n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0))) {
      const y = lo * 2;
      const x = hi + y;
      if (y === x - hi) hi = x;
    }
    return hi;
  }

  /** Partials, and NaN or an infinity as a string (JSON has no literal for them). */
  toJSON(): Array<number | string> {
    const partials = this.partials.slice(0, this.count);
    return this.special === 0 ? partials : [...partials, String(this.special)];
  }

  static from(values: ReadonlyArray<number | string> | undefined): ExactSum {
    const sum = new ExactSum();
    for (const v of values ?? []) sum.add(Number(v));
    return sum;
  }
}

/**
 * Many terms in [2^-50, 64) sum exactly without ExactSum's loop per term. Round a term to a multiple of
 * 2^-26, what is left to a multiple of 2^-58, what is left of that to a multiple of 2^-90: the last
 * remainder is below 2^-91 and a multiple of 2^-102 (the term's last bit, as the term is at least 2^-50),
 * and every step is exact. Each of the four parts, summed in a double of its own, stays exact for
 * SPLIT_TERMS terms: every partial sum fits 53 bits on its grid (the largest, up to 2^26 on a 2^-26 grid).
 * Adding the four sums to an ExactSum then gives what adding every term would. `x + S - S` rounds x to
 * the last bit of S, and S = 1.5 × 2^e keeps the sum in one binade: `h = x + SPLIT_26 - SPLIT_26` is x on
 * the 2^-26 grid.
 */
export const SPLIT_26 = 1.5 * 2 ** 26;
export const SPLIT_58 = 1.5 * 2 ** -6;
export const SPLIT_90 = 1.5 * 2 ** -38;
export const SPLIT_TERMS = 1 << 20;
