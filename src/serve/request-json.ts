/**
 * Reads the JSON of an inference request straight from its bytes, keeping the numbers of each input's
 * `data` as byte ranges (NumberRun) until the input's datatype is known; they are then decoded straight
 * into the typed array. For a 784-float request this costs a fraction of JSON.parse followed by a copy
 * into a Float32Array, and gives the same values: every conversion is exact or falls back to Number().
 *
 * Anything unusual (invalid JSON, a `__proto__` key, numbers mixed with other values in `data`) throws
 * FastPathMiss, and the caller reads the body with JSON.parse instead, so errors and edge cases are
 * exactly JSON.parse's.
 */

export class FastPathMiss extends Error {}

/**
 * The numbers of one innermost `data` array, read once: each as its first 15 significant digits and a
 * decimal exponent, and where it starts in the bytes for the rare number that needs Number(). One
 * Float64Array holds FIELDS values per number, so a run costs one allocation however short it is.
 */
export class NumberRun {
  constructor(
    readonly bytes: Buffer,
    /** Per number: start, end, signed mantissa (at most 15 digits: an exact double), exponent, dropped. */
    readonly fields: Float64Array,
    readonly count: number,
  ) {}
}

const FIELDS = 5;
const START = 0;
const END = 1;
const MANTISSA = 2;
const EXPONENT = 3;
/** 1 where nonzero digits beyond the 15th were dropped. */
const DROPPED = 4;

/** Where runs are read before being copied out at their exact size; reading is synchronous, so one will do. */
let scratch = new Float64Array(1024 * FIELDS);
const SCRATCH_LIMIT = (1 << 16) * FIELDS;

const miss = (): never => {
  throw new FastPathMiss();
};

// Byte classes.
const SPACE = new Uint8Array(256);
for (const c of [0x20, 0x09, 0x0a, 0x0d]) SPACE[c] = 1;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/** The protocol's own keys and datatypes, by length: matched in place, they cost no new string. */
const KNOWN_BY_LENGTH: Array<Array<{ text: string; bytes: Buffer }>> = [];
for (const text of [
  'id',
  'name',
  'data',
  'shape',
  'inputs',
  'outputs',
  'datatype',
  'parameters',
  'binary_data',
  'binary_data_size',
  'binary_data_output',
  'classification',
  'FP32',
  'FP64',
  'FP16',
  'INT64',
  'INT32',
  'INT8',
  'UINT8',
  'BOOL',
  'BYTES',
]) {
  (KNOWN_BY_LENGTH[text.length] ??= []).push({ text, bytes: Buffer.from(text, 'latin1') });
}

function known(b: Buffer, start: number, end: number): string | undefined {
  const candidates = KNOWN_BY_LENGTH[end - start];
  if (candidates === undefined) return undefined;
  for (const { text, bytes } of candidates) {
    let k = 0;
    while (k < bytes.length && b[start + k] === bytes[k]) k++;
    if (k === bytes.length) return text;
  }
  return undefined;
}

class Reader {
  i: number;
  constructor(
    readonly b: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.i = start;
  }

  ws(): number {
    const { b, end } = this;
    let i = this.i;
    while (i < end && SPACE[b[i]]) i++;
    this.i = i;
    return i < end ? b[i] : -1;
  }

  expect(c: number): void {
    if (this.ws() !== c) miss();
    this.i++;
  }

  /** A JSON value; `path` says where it is, so only an input's `data` turns number arrays into NumberRuns. */
  value(path: 'top' | 'inputs' | 'input' | 'data' | 'other'): unknown {
    const c = this.ws();
    if (c === 0x7b) return this.object(path);
    if (c === 0x5b) return path === 'data' ? this.dataArray() : this.array(path === 'inputs' ? 'input' : 'other');
    if (c === 0x22) return this.string();
    if (c === 0x2d || isDigit(c)) {
      const start = this.i;
      this.skipNumber();
      return Number(this.b.toString('latin1', start, this.i));
    }
    return this.literal();
  }

  literal(): boolean | null {
    const { b, i } = this;
    if (i + 4 > this.end) miss();
    if (b[i] === 0x74 && b[i + 1] === 0x72 && b[i + 2] === 0x75 && b[i + 3] === 0x65) {
      this.i += 4;
      return true;
    }
    if (
      i + 5 <= this.end &&
      b[i] === 0x66 &&
      b[i + 1] === 0x61 &&
      b[i + 2] === 0x6c &&
      b[i + 3] === 0x73 &&
      b[i + 4] === 0x65
    ) {
      this.i += 5;
      return false;
    }
    if (b[i] === 0x6e && b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c) {
      this.i += 4;
      return null;
    }
    return miss();
  }

  object(path: 'top' | 'inputs' | 'input' | 'data' | 'other'): Record<string, unknown> {
    this.i++;
    const out: Record<string, unknown> = {};
    if (this.ws() === 0x7d) {
      this.i++;
      return out;
    }
    for (;;) {
      if (this.ws() !== 0x22) miss();
      const key = this.string();
      if (key === '__proto__') miss();
      this.expect(0x3a);
      const inner =
        path === 'top' && key === 'inputs' ? 'inputs' : path === 'input' && key === 'data' ? 'data' : 'other';
      out[key] = this.value(inner);
      const c = this.ws();
      this.i++;
      if (c === 0x7d) return out;
      if (c !== 0x2c) miss();
    }
  }

  array(element: 'input' | 'other'): unknown[] {
    this.i++;
    const out: unknown[] = [];
    if (this.ws() === 0x5d) {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value(element));
      const c = this.ws();
      this.i++;
      if (c === 0x5d) return out;
      if (c !== 0x2c) miss();
    }
  }

  /** An array inside `data`: numbers become one NumberRun, arrays nest, anything else is read as usual. */
  dataArray(): unknown {
    const open = this.i;
    this.i++;
    const c = this.ws();
    if (c === 0x5d) {
      this.i++;
      return [];
    }
    if (c === 0x5b) {
      const out: unknown[] = [];
      for (;;) {
        if (this.ws() !== 0x5b) miss();
        out.push(this.dataArray());
        const next = this.ws();
        this.i++;
        if (next === 0x5d) return out;
        if (next !== 0x2c) miss();
      }
    }
    if (c !== 0x2d && !isDigit(c)) {
      this.i = open;
      return this.array('other');
    }
    return this.numberRun();
  }

  /** Numbers up to the closing bracket, each read in one pass over its bytes. */
  numberRun(): NumberRun {
    const { b, end } = this;
    let fields = scratch;
    let n = 0;
    let i = this.i;
    for (;;) {
      let c = b[i];
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
      const at = n * FIELDS;
      if (at === fields.length) {
        const bigger = new Float64Array(fields.length * 4);
        bigger.set(fields);
        fields = bigger;
        // A huge request does not get to keep its memory once read.
        if (bigger.length <= SCRATCH_LIMIT) scratch = bigger;
      }
      fields[at + START] = i;
      let negative = false;
      if (c === 0x2d) {
        negative = true;
        c = b[++i];
      }
      // The first 15 significant digits as two int32 parts (9 + up to 6 digits: short dependency chains),
      // the digits beyond them only checked for being zero; each stage has its own loop.
      let hi = 0;
      let lo = 0;
      let digits = 0;
      let e = 0;
      let cut = 0;
      if (c === 0x30) c = b[++i];
      else if (c >= 0x31 && c <= 0x39) {
        do {
          hi = (hi * 10 + (c - 0x30)) | 0;
          digits++;
          c = b[++i];
        } while (c >= 0x30 && c <= 0x39 && digits < 9);
        while (c >= 0x30 && c <= 0x39 && digits < 15) {
          lo = (lo * 10 + (c - 0x30)) | 0;
          digits++;
          c = b[++i];
        }
        while (c >= 0x30 && c <= 0x39) {
          e++;
          if (c !== 0x30) cut = 1;
          c = b[++i];
        }
      } else miss();
      if (c === 0x2e) {
        c = b[++i];
        if (!(c >= 0x30 && c <= 0x39)) miss();
        // Zeros before the first significant digit only move the exponent.
        if (digits === 0) {
          while (c === 0x30) {
            e--;
            c = b[++i];
          }
        }
        while (c >= 0x30 && c <= 0x39 && digits < 9) {
          hi = (hi * 10 + (c - 0x30)) | 0;
          e--;
          digits++;
          c = b[++i];
        }
        while (c >= 0x30 && c <= 0x39 && digits < 15) {
          lo = (lo * 10 + (c - 0x30)) | 0;
          e--;
          digits++;
          c = b[++i];
        }
        while (c >= 0x30 && c <= 0x39) {
          if (c !== 0x30) cut = 1;
          c = b[++i];
        }
      }
      const m = digits > 9 ? hi * POW10[digits - 9] + lo : hi;
      if (c === 0x65 || c === 0x45) {
        c = b[++i];
        let sign = 1;
        if (c === 0x2b) c = b[++i];
        else if (c === 0x2d) {
          sign = -1;
          c = b[++i];
        }
        if (!(c >= 0x30 && c <= 0x39)) miss();
        let x = 0;
        do {
          if (x < 1e6) x = x * 10 + (c - 0x30);
          c = b[++i];
        } while (c >= 0x30 && c <= 0x39);
        e += sign * x;
      }
      if (i > end) miss();
      fields[at + END] = i;
      fields[at + MANTISSA] = negative ? -m : m;
      fields[at + EXPONENT] = e;
      fields[at + DROPPED] = cut;
      n++;
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
      if (i >= end) miss();
      this.i = i + 1;
      if (c === 0x5d) return new NumberRun(b, fields.slice(0, n * FIELDS), n);
      if (c !== 0x2c) miss();
      i++;
    }
  }

  /** Steps over one number, checking JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
  skipNumber(): void {
    const { b, end } = this;
    let i = this.i;
    if (b[i] === 0x2d) i++;
    if (b[i] === 0x30) i++;
    else if (i < end && b[i] >= 0x31 && b[i] <= 0x39) while (i < end && isDigit(b[i])) i++;
    else miss();
    if (b[i] === 0x2e) {
      i++;
      if (!(i < end && isDigit(b[i]))) miss();
      while (i < end && isDigit(b[i])) i++;
    }
    if (b[i] === 0x65 || b[i] === 0x45) {
      i++;
      if (b[i] === 0x2b || b[i] === 0x2d) i++;
      if (!(i < end && isDigit(b[i]))) miss();
      while (i < end && isDigit(b[i])) i++;
    }
    if (i > end) miss();
    this.i = i;
  }

  string(): string {
    const { b, end } = this;
    const start = ++this.i;
    let i = start;
    let plain = true;
    for (;;) {
      if (i >= end) miss();
      const c = b[i];
      if (c === 0x22) break;
      if (c < 0x20) miss();
      if (c === 0x5c) {
        plain = false;
        i += 2;
        continue;
      }
      if (c >= 0x80) plain = false;
      i++;
    }
    this.i = i + 1;
    if (plain) return known(b, start, i) ?? b.toString('latin1', start, i);
    // Escapes or UTF-8: let JSON.parse decode it, exactly as it would have.
    return JSON.parse(b.toString('utf8', start - 1, i + 1)) as string;
  }
}

/**
 * The request's JSON from `body[0, end)`, with each input's numeric `data` as NumberRun (or arrays of
 * them when nested). Throws FastPathMiss when JSON.parse should read it instead.
 */
export function readRequestJson(body: Buffer, end: number): unknown {
  const reader = new Reader(body, 0, end);
  const value = reader.value('top');
  if (reader.ws() !== -1) miss();
  return value;
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

function scaled(mantissa: number, exponent: number): number {
  return exponent >= 0 ? mantissa * POW10[exponent] : mantissa / POW10[-exponent];
}

/**
 * The double JSON.parse gives for number k: with at most 15 significant digits and a decimal exponent
 * within ±22, mantissa and power of ten are exact doubles and one multiplication or division rounds
 * correctly (Clinger's fast path), else Number() decides.
 */
function numberAt(run: NumberRun, k: number): number {
  const at = k * FIELDS;
  const f = run.fields;
  const e = f[at + EXPONENT];
  if (!f[at + DROPPED] && e >= -22 && e <= 22) return scaled(f[at + MANTISSA], e);
  return Number(run.bytes.toString('latin1', f[at + START], f[at + END]));
}

// Margins that cover the one rounding of scaled() with room to spare.
const BELOW = 1 - 2 ** -50;
const ABOVE = 1 + 2 ** -50;

/**
 * The float32 Math.fround(JSON.parse(text)) gives for number k. With digits dropped the value lies between
 * m·10^e and (m±1)·10^e; when both ends round to the same float32, so does the double JSON.parse would
 * give, whatever the dropped digits were. Only near a float32 rounding boundary is Number() needed.
 */
function float32At(run: NumberRun, k: number): number {
  const at = k * FIELDS;
  const f = run.fields;
  const e = f[at + EXPONENT];
  if (e >= -22 && e <= 22) {
    const m = f[at + MANTISSA];
    if (!f[at + DROPPED]) return Math.fround(scaled(m, e));
    // Shrinking the magnitude of the near end and growing the far end widens the interval either sign.
    const near = Math.fround(scaled(m, e) * BELOW);
    if (near === Math.fround(scaled(m < 0 ? m - 1 : m + 1, e) * ABOVE)) return near;
  }
  return Math.fround(Number(run.bytes.toString('latin1', f[at + START], f[at + END])));
}

/** Total numbers in data made of NumberRuns, checking that nesting follows the shape; -1 when it does not. */
export function runsCount(data: unknown, shape: number[], depth = 0): number {
  if (data instanceof NumberRun) return depth === shape.length - 1 || depth === 0 ? data.count : -1;
  if (!Array.isArray(data) || depth >= shape.length - 1 || data.length !== shape[depth]) return -1;
  let total = 0;
  for (const item of data) {
    const n = runsCount(item, shape, depth + 1);
    if (n < 0 || (depth + 1 === shape.length - 1 && n !== shape[depth + 1])) return -1;
    total += n;
  }
  return total;
}

/** Writes the numbers of `data` (a NumberRun or nested arrays of them) in row-major order. */
export function decodeRuns(data: unknown, target: Float32Array | Float64Array, at = 0): number {
  if (data instanceof NumberRun) {
    const count = data.count;
    if (target instanceof Float32Array) for (let k = 0; k < count; k++) target[at + k] = float32At(data, k);
    else for (let k = 0; k < count; k++) target[at + k] = numberAt(data, k);
    return at + count;
  }
  for (const item of data as unknown[]) at = decodeRuns(item, target, at);
  return at;
}

/** Whether `data` holds NumberRuns (so it came from numbers only). */
export const hasRuns = (data: unknown): boolean =>
  data instanceof NumberRun || (Array.isArray(data) && data.length > 0 && hasRuns(data[0]));

/** The plain JavaScript value JSON.parse would have given for data holding NumberRuns. */
export function runsToJson(data: unknown): unknown {
  if (data instanceof NumberRun) {
    const out = new Array<number>(data.count);
    for (let k = 0; k < data.count; k++) out[k] = numberAt(data, k);
    return out;
  }
  return Array.isArray(data) ? data.map(runsToJson) : data;
}
