/**
 * Golden checks: a model's outputs against expected outputs within tolerance, the way the ONNX backend
 * tests compare them — same dtype and shape; strings and booleans exact; numbers |a-b| <= atol + rtol*|b|;
 * NaN equals NaN.
 */
import { float16ToNumber } from '../runtime/convert.js';
import type { TensorValue } from '../runtime/tensor.js';

export interface Tolerance {
  rtol: number;
  atol: number;
}

/** The ONNX backend test defaults. */
export const DEFAULT_TOLERANCE: Tolerance = { rtol: 1e-3, atol: 1e-7 };

export interface ElementComparison {
  elements: number;
  mismatches: number;
  maxAbsError: number;
  /** Largest |a-b|/|b| over elements whose expected value is not 0. */
  maxRelError: number;
  /** First element out of tolerance: its flat index and both values. */
  first?: { index: number; actual: string; expected: string };
}

type Elements = ArrayLike<unknown>;

const asNumber = (value: unknown): number => (typeof value === 'bigint' ? Number(value) : Number(value));

export function compareElements(
  actual: Elements,
  actualOffset: number,
  expected: Elements,
  expectedOffset: number,
  count: number,
  tolerance: Tolerance,
  decode: (value: unknown) => number = asNumber,
): ElementComparison {
  const result: ElementComparison = { elements: count, mismatches: 0, maxAbsError: 0, maxRelError: 0 };
  for (let i = 0; i < count; i++) {
    const a = actual[actualOffset + i];
    const e = expected[expectedOffset + i];
    let ok: boolean;
    if (typeof e === 'string' || typeof a === 'string' || typeof e === 'boolean' || typeof a === 'boolean') {
      ok = a === e;
    } else {
      const x = decode(a);
      const y = decode(e);
      if (Number.isNaN(x) || Number.isNaN(y)) {
        ok = Number.isNaN(x) && Number.isNaN(y);
      } else if (x === y) {
        ok = true;
      } else {
        const abs = Math.abs(x - y);
        ok = abs <= tolerance.atol + tolerance.rtol * Math.abs(y);
        if (Number.isFinite(abs)) {
          result.maxAbsError = Math.max(result.maxAbsError, abs);
          if (y !== 0) result.maxRelError = Math.max(result.maxRelError, abs / Math.abs(y));
        }
      }
    }
    if (!ok) {
      result.mismatches++;
      result.first ??= { index: i, actual: String(a), expected: String(e) };
    }
  }
  return result;
}

/** Whole tensors: dtype, then shape, then values. */
export function compareTensors(
  actual: TensorValue,
  expected: TensorValue,
  tolerance: Tolerance,
): ElementComparison & { message?: string } {
  const count = expected.data.length;
  if (actual.datatype !== expected.datatype) {
    return { ...failed(count), message: `datatype ${actual.datatype}, expected ${expected.datatype}` };
  }
  if (actual.shape.length !== expected.shape.length || actual.shape.some((d, i) => d !== expected.shape[i])) {
    return { ...failed(count), message: `shape [${actual.shape}], expected [${expected.shape}]` };
  }
  const decode = actual.datatype === 'FP16' ? (v: unknown) => float16ToNumber(v as number) : asNumber;
  const result = compareElements(actual.data, 0, expected.data, 0, count, tolerance, decode);
  if (result.first) {
    return {
      ...result,
      message: `${result.mismatches} of ${count} values out of tolerance; first at ${result.first.index}: got ${result.first.actual}, expected ${result.first.expected}`,
    };
  }
  return result;
}

const failed = (count: number): ElementComparison => ({
  elements: count,
  mismatches: count,
  maxAbsError: 0,
  maxRelError: 0,
});

export interface OutputTally {
  cases: number;
  passed: number;
  elements: number;
  mismatches: number;
  maxAbsError: number;
  maxRelError: number;
}

export interface GoldenState {
  cases: number;
  passed: number;
  outputs: Record<string, OutputTally>;
}

/** Per-output and overall pass rates; a case passes when every output it checks passes. */
export class GoldenAccumulator {
  cases = 0;
  passed = 0;
  readonly outputs = new Map<string, OutputTally>();

  /** Records one case: each checked output's comparison. Returns whether the case passed. */
  addCase(comparisons: Record<string, ElementComparison>): boolean {
    let pass = true;
    for (const [name, c] of Object.entries(comparisons)) {
      const tally = this.tally(name);
      tally.cases++;
      tally.elements += c.elements;
      tally.mismatches += c.mismatches;
      tally.maxAbsError = Math.max(tally.maxAbsError, c.maxAbsError);
      tally.maxRelError = Math.max(tally.maxRelError, c.maxRelError);
      if (c.mismatches === 0) tally.passed++;
      else pass = false;
    }
    this.cases++;
    if (pass) this.passed++;
    return pass;
  }

  private tally(name: string): OutputTally {
    let tally = this.outputs.get(name);
    if (!tally) {
      tally = { cases: 0, passed: 0, elements: 0, mismatches: 0, maxAbsError: 0, maxRelError: 0 };
      this.outputs.set(name, tally);
    }
    return tally;
  }

  metrics(): Record<string, number> {
    let maxAbs = 0;
    let maxRel = 0;
    for (const t of this.outputs.values()) {
      maxAbs = Math.max(maxAbs, t.maxAbsError);
      maxRel = Math.max(maxRel, t.maxRelError);
    }
    return {
      pass_rate: this.cases > 0 ? this.passed / this.cases : NaN,
      max_abs_error: maxAbs,
      max_rel_error: maxRel,
    };
  }

  perOutput(): Array<{ output: string; passRate: number } & OutputTally> {
    return [...this.outputs.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([output, t]) => ({ output, passRate: t.cases > 0 ? t.passed / t.cases : NaN, ...t }));
  }

  toState(): GoldenState {
    return { cases: this.cases, passed: this.passed, outputs: Object.fromEntries(this.outputs) };
  }

  mergeState(state: GoldenState): void {
    this.cases += state.cases;
    this.passed += state.passed;
    for (const [name, t] of Object.entries(state.outputs)) {
      const tally = this.tally(name);
      tally.cases += t.cases;
      tally.passed += t.passed;
      tally.elements += t.elements;
      tally.mismatches += t.mismatches;
      tally.maxAbsError = Math.max(tally.maxAbsError, t.maxAbsError);
      tally.maxRelError = Math.max(tally.maxRelError, t.maxRelError);
    }
  }
}
