/**
 * Rows of plain values (numbers, numeric strings from CSV, nested arrays) written straight into one
 * batch of input tensors for a model: no per-row tensors, no concatenation. A model whose first input
 * dimension is variable takes many rows per run; any other takes one.
 */
import { ModelshipError } from '../errors.js';
import { numberToFloat16, TYPED_ARRAYS } from './convert.js';
import { datatypeFromOip, type OipDatatype } from './datatypes.js';
import type { Signature, TensorData, TensorSignature, TensorValue } from './tensor.js';

/** Where a value came from, for error messages. */
export interface RowSource {
  file: string;
  line: number;
}

const isVariable = (dim: number | string): boolean => typeof dim === 'string' || dim < 0;

/** Whether the model takes a batch of rows: every input's first dimension is variable. */
export function hasBatchDimension(signature: Signature): boolean {
  return signature.inputs.length > 0 && signature.inputs.every((i) => i.shape.length > 0 && isVariable(i.shape[0]));
}

/** Input bytes per run to aim for: enough that onnxruntime's fixed cost per run fades. */
const TARGET_BATCH_BYTES = 256 << 10;
/** Rows per run at least (when they fit in MAX_BATCH_BYTES) and at most. */
const MIN_BATCH_ROWS = 1024;
const MAX_BATCH_ROWS = 16384;
/** Input bytes per run at most, so that a batch of large rows (images) stays small in memory. */
const MAX_BATCH_BYTES = 16 << 20;

/**
 * Rows per run when not set: a power of two near 256 KiB of input, from 1024 to 16384 rows, fewer (at
 * least 32) when 1024 would hold more than 16 MiB; 1 for a model without a batch dimension. A run costs
 * onnxruntime some 15 µs whatever its size, which dominates narrow rows: raw session.run over 100,000
 * rows of a 4-feature classifier took 3.9 ms at 1024 rows a run and 1.5 ms at 16384 (two threads). Wide
 * rows gain nothing from more: a 784-wide MLP ran fastest at 1024 and slower from 4096 on, when
 * onnxruntime splits its operators differently.
 *
 * `rowBytes` is a row's real size when the caller knows it (numpy arrays); otherwise it comes from the
 * signature, and a row with a variable dimension after the first (text of any length, images of any
 * size) may be any size: it gets no more than 1024 rows, each counted as if that dimension were 1.
 */
export function autoBatchSize(signature: Signature, rowBytes?: number): number {
  if (!hasBatchDimension(signature)) return 1;
  const row = rowBytes !== undefined ? { bytes: rowBytes, known: true } : signatureRowBytes(signature);
  const powerOfTwo = (bytes: number) =>
    2 ** Math.floor(Math.log2(Math.max(1, Math.floor(bytes / Math.max(1, row.bytes)))));
  const rows = row.known
    ? Math.min(MAX_BATCH_ROWS, Math.max(MIN_BATCH_ROWS, powerOfTwo(TARGET_BATCH_BYTES)))
    : MIN_BATCH_ROWS;
  return Math.max(32, Math.min(rows, powerOfTwo(MAX_BATCH_BYTES)));
}

/** Input bytes of one row as the signature tells them, and whether it tells them all. */
function signatureRowBytes(signature: Signature): { bytes: number; known: boolean } {
  let bytes = 0;
  let known = true;
  for (const input of signature.inputs) {
    const rest = input.shape.slice(1);
    if (rest.some(isVariable) || input.datatype === 'BYTES') known = false;
    const elements = rest.reduce<number>((n, d) => n * (isVariable(d) ? 1 : (d as number)), 1);
    bytes += elements * (datatypeFromOip(input.datatype)?.bytes || 4);
  }
  return { bytes, known };
}

/** The nested shape of a JSON value: [] for a scalar, [n, ...] for arrays. */
function nestedShape(value: unknown): number[] {
  const shape: number[] = [];
  let v = value;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  return shape;
}

interface InputSlot {
  input: TensorSignature;
  /** Shape of one row (without the batch dimension when batched). */
  rowShape?: number[];
  rowElements: number;
  data?: TensorData;
}

export class RowBatchBuilder {
  readonly batched: boolean;
  readonly capacity: number;
  private readonly slots: InputSlot[];
  rows = 0;

  constructor(
    readonly signature: Signature,
    batchSize: number,
  ) {
    this.batched = hasBatchDimension(signature);
    this.capacity = this.batched ? Math.max(1, Math.floor(batchSize)) : 1;
    this.slots = signature.inputs.map((input) => ({ input, rowElements: 0 }));
  }

  /** Input names the rows must carry. */
  get inputNames(): string[] {
    return this.slots.map((s) => s.input.name);
  }

  get full(): boolean {
    return this.rows >= this.capacity;
  }

  /** Per-row shape of each input, once the first row fixed the variable ones. */
  rowShapes(): Record<string, number[] | undefined> {
    return Object.fromEntries(this.slots.map((s) => [s.input.name, s.rowShape]));
  }

  /** Writes one row's inputs at the next position of the batch. */
  add(inputs: Record<string, unknown>, source: RowSource): void {
    for (const slot of this.slots) {
      const value = inputs[slot.input.name];
      if (value === undefined) {
        throw rowError(`Row has no value for input '${slot.input.name}'.`, source);
      }
      if (!slot.rowShape) this.plan(slot, value, source);
      this.write(slot, value, source);
    }
    this.rows++;
  }

  /** The batch as feeds (views over the builder's buffers: run them before adding more rows). */
  feeds(): Record<string, TensorValue> {
    const feeds: Record<string, TensorValue> = {};
    for (const slot of this.slots) {
      const count = this.rows * slot.rowElements;
      const data = slot.data!;
      const view = Array.isArray(data) ? data.slice(0, count) : (data as Float32Array).subarray(0, count);
      feeds[slot.input.name] = {
        datatype: slot.input.datatype,
        shape: this.batched ? [this.rows, ...slot.rowShape!] : slot.rowShape!,
        data: view as TensorData,
      };
    }
    return feeds;
  }

  reset(): void {
    this.rows = 0;
  }

  private plan(slot: InputSlot, value: unknown, source: RowSource): void {
    const declared = this.batched ? slot.input.shape.slice(1) : slot.input.shape;
    const given = nestedShape(value);
    const givenCount = given.reduce((a, b) => a * b, 1);
    let rowShape: number[];
    if (declared.every((d) => !isVariable(d))) {
      rowShape = declared as number[];
    } else if (given.length === declared.length) {
      rowShape = declared.map((d, i) => (isVariable(d) ? given[i] : (d as number)));
    } else {
      const fixed = declared.reduce<number>((n, d) => n * (isVariable(d) ? 1 : (d as number)), 1);
      const variable = declared.filter(isVariable).length;
      if (variable !== 1 || givenCount % fixed !== 0) {
        throw signatureError(slot.input, `a value of shape [${given}]`, source);
      }
      rowShape = declared.map((d) => (isVariable(d) ? givenCount / fixed : (d as number)));
    }
    slot.rowShape = rowShape;
    slot.rowElements = rowShape.reduce((a, b) => a * b, 1);
    if (givenCount !== slot.rowElements) {
      throw signatureError(
        slot.input,
        `${givenCount} value${givenCount === 1 ? '' : 's'} (shape [${given}])`,
        source,
        slot.rowElements,
      );
    }
    const total = slot.rowElements * this.capacity;
    const datatype = slot.input.datatype;
    slot.data =
      datatype === 'BOOL' || datatype === 'BYTES'
        ? new Array(total)
        : (new TYPED_ARRAYS[datatype as Exclude<OipDatatype, 'BOOL' | 'BYTES'>](total) as TensorData);
  }

  private write(slot: InputSlot, value: unknown, source: RowSource): void {
    const n = slot.rowElements;
    const offset = this.rows * n;
    const data = slot.data!;
    const datatype = slot.input.datatype;
    // The common case: a flat array of numbers into a float tensor.
    if ((datatype === 'FP32' || datatype === 'FP64') && Array.isArray(value) && value.length === n) {
      const target = data as Float32Array;
      for (let i = 0; i < n; i++) {
        const v = value[i];
        if (typeof v === 'number') target[offset + i] = v;
        else target[offset + i] = toNumber(v, slot, source);
      }
      return;
    }
    let i = 0;
    const put = (v: unknown) => {
      if (i >= n) return void i++;
      const at = offset + i++;
      switch (datatype) {
        case 'BYTES':
          (data as string[])[at] = typeof v === 'string' ? v : String(v);
          break;
        case 'BOOL':
          (data as boolean[])[at] = v === true || v === 1 || v === 'true' || v === '1';
          break;
        case 'INT64':
        case 'UINT64':
          (data as BigInt64Array)[at] = toBigInt(v, slot, source);
          break;
        case 'FP16':
          (data as Uint16Array)[at] = numberToFloat16(toNumber(v, slot, source));
          break;
        default:
          (data as Float32Array)[at] = toNumber(v, slot, source);
      }
    };
    const walk = (v: unknown) => {
      if (Array.isArray(v)) for (const x of v) walk(x);
      else put(v);
    };
    walk(value);
    if (i !== n) {
      throw rowError(
        `Input '${slot.input.name}' has ${i} value${i === 1 ? '' : 's'} in this row; the model takes ${n} per row.`,
        source,
      );
    }
  }
}

function toNumber(v: unknown, slot: InputSlot, source: RowSource): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const trimmed = v.trim();
    const n = Number(trimmed);
    if (trimmed !== '' && (!Number.isNaN(n) || trimmed === 'NaN')) return n;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw rowError(`Input '${slot.input.name}' has ${JSON.stringify(v) ?? 'nothing'} where a number belongs.`, source);
}

function toBigInt(v: unknown, slot: InputSlot, source: RowSource): bigint {
  try {
    if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
    if (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v)) return BigInt(v.trim());
  } catch {
    // fall through to the error below
  }
  throw rowError(`Input '${slot.input.name}' has ${JSON.stringify(v) ?? 'nothing'} where an integer belongs.`, source);
}

function rowError(message: string, source: RowSource): ModelshipError {
  return new ModelshipError('FIXTURE_INVALID', `Line ${source.line}: ${message}`, undefined, {
    file: source.file,
    line: source.line,
  });
}

function signatureError(input: TensorSignature, got: string, source: RowSource, expected?: number): ModelshipError {
  return new ModelshipError(
    'SIGNATURE_MISMATCH',
    `The fixtures do not fit the model: input '${input.name}' (${input.datatype} [${input.shape.join(', ')}]) gets ${got} per row${expected !== undefined ? `, but takes ${expected}` : ''}.`,
    'Fix the fixture rows or the column mapping, or evaluate the model these fixtures were written for.',
    { file: source.file, line: source.line },
  );
}
