/**
 * Per-slice accumulators: one entry per value of each slice field. A field with too many distinct values
 * (an id, a timestamp) is dropped whole rather than cut at an arbitrary first N, which would depend on row
 * order and so differ between shards.
 */
export const MAX_SLICE_VALUES = 50;

export class SliceTable<T> {
  private readonly fields = new Map<string, Map<string, T> | 'too-many'>();

  constructor(
    fieldNames: readonly string[],
    private readonly create: () => T,
    private readonly limit = MAX_SLICE_VALUES,
  ) {
    for (const name of fieldNames) this.fields.set(name, new Map());
  }

  /** The entry for a field's value, or undefined once the field has been dropped. */
  entry(field: string, value: string): T | undefined {
    const values = this.fields.get(field);
    if (values === undefined || values === 'too-many') return undefined;
    let entry = values.get(value);
    if (entry === undefined) {
      if (values.size >= this.limit) {
        this.fields.set(field, 'too-many');
        return undefined;
      }
      entry = this.create();
      values.set(value, entry);
    }
    return entry;
  }

  dropped(): string[] {
    return [...this.fields].filter(([, v]) => v === 'too-many').map(([k]) => k);
  }

  /** Fields and their values, values sorted so reports do not depend on row order. */
  entries(): Array<[string, Array<[string, T]>]> {
    const out: Array<[string, Array<[string, T]>]> = [];
    for (const [field, values] of this.fields) {
      if (values === 'too-many') continue;
      out.push([field, [...values].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
    }
    return out;
  }

  /** Every kept field's values mapped through `f`, as records (values sorted, as `entries`). */
  map<U>(f: (entry: T) => U): Record<string, Record<string, U>> {
    const out: Record<string, Record<string, U>> = {};
    for (const [field, values] of this.entries()) {
      out[field] = {};
      for (const [value, entry] of values) out[field][value] = f(entry);
    }
    return out;
  }

  markDropped(field: string): void {
    if (this.fields.has(field)) this.fields.set(field, 'too-many');
  }
}
