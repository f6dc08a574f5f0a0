/**
 * A floating-point sum that does not depend on the order of its terms (Shewchuk's algorithm, as in
 * Python's math.fsum). Shard reports carry the partials, so merged shards give bit-for-bit the sum of
 * an unsharded run.
 */
export class ExactSum {
  private partials: number[] = [];
  /** NaN and infinities cannot go through the partials; they are kept aside. */
  private special = 0;

  add(x: number): void {
    if (!Number.isFinite(x)) {
      this.special += x;
      return;
    }
    const partials = this.partials;
    let i = 0;
    for (let j = 0; j < partials.length; j++) {
      let y = partials[j];
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) partials[i++] = lo;
      x = hi;
    }
    partials.length = i;
    partials.push(x);
  }

  merge(other: ExactSum): void {
    for (const p of other.partials) this.add(p);
    this.special += other.special;
  }

  /** The correctly rounded sum. */
  value(): number {
    if (this.special !== 0 || Number.isNaN(this.special)) return this.special;
    const partials = this.partials;
    let n = partials.length;
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
    return this.special === 0 ? [...this.partials] : [...this.partials, String(this.special)];
  }

  static from(values: ReadonlyArray<number | string> | undefined): ExactSum {
    const sum = new ExactSum();
    for (const v of values ?? []) sum.add(Number(v));
    return sum;
  }
}
