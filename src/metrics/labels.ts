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
}
