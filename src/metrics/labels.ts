/**
 * Class names shared by everything that counts classes in one evaluation: the candidate, the baseline
 * and every slice use the same ids, so their matrices line up. Starts from the model's (or the
 * config's) label list; a class the list does not name gets the next id.
 */
export class LabelSpace {
  readonly names: string[] = [];
  private readonly ids = new Map<string, number>();

  constructor(names: readonly string[] = []) {
    for (const name of names) this.id(name);
  }

  get size(): number {
    return this.names.length;
  }

  id(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.ids.set(name, id);
    }
    return id;
  }

  has(name: string): boolean {
    return this.ids.has(name);
  }

  /** The class a model's integer output refers to: the n-th label, or the number itself without a list. */
  idOfIndex(index: number): number {
    return index >= 0 && index < this.names.length ? index : this.id(String(index));
  }

  /**
   * The class ids of `count` numbers, every `stride`-th of `values`, into `into`: idOfIndex for an
   * integer, the class named by the number otherwise (a label of 1.5 is the class '1.5').
   */
  idsOf(values: ArrayLike<number>, count: number, into: Int32Array, stride = 1): void {
    for (let r = 0; r < count; r++) {
      const v = values[r * stride];
      const i = v | 0;
      into[r] = i === v && i >= 0 && i < this.names.length ? i : this.idOfNumber(v);
    }
  }

  /** The class of one number, as idsOf maps it. */
  idOfNumber(value: number): number {
    return Number.isInteger(value) ? this.idOfIndex(value) : this.id(String(value));
  }
}
