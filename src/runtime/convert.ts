/**
 * TensorValue <-> onnxruntime tensors, batching along dimension 0, and validation of tensors that arrive
 * as JSON (the OIP `data` field, fixture rows). Invalid input is a TENSOR_INVALID error with the reason:
 * the server answers it with HTTP 400.
 */
import type { Tensor as OrtTensor } from 'onnxruntime-node';
import { ModelshipError } from '../errors.js';
import { DATATYPES, datatypeFromOip, datatypeFromOrt, type OipDatatype } from './datatypes.js';
import type { OrtModule } from './onnxruntime.js';
import type { TensorData, TensorValue, TypedArray, TypedArrayConstructor } from './tensor.js';

type NumericDatatype = Exclude<OipDatatype, 'BOOL' | 'BYTES'>;

/** The typed array that holds each numeric datatype (FP16 as its raw bits). */
export const TYPED_ARRAYS: Readonly<Record<NumericDatatype, TypedArrayConstructor>> = {
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  FP16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
};

const INTEGER_RANGES: Partial<Record<OipDatatype, [bigint, bigint]>> = {
  UINT8: [0n, 255n],
  UINT16: [0n, 65535n],
  UINT32: [0n, 4294967295n],
  UINT64: [0n, 18446744073709551615n],
  INT8: [-128n, 127n],
  INT16: [-32768n, 32767n],
  INT32: [-2147483648n, 2147483647n],
  INT64: [-9223372036854775808n, 9223372036854775807n],
};

const invalid = (reason: string, hint?: string) => new ModelshipError('TENSOR_INVALID', reason, hint);
const label = (name: string | undefined) => (name ? `tensor '${name}'` : 'tensor');

/** Number of elements a shape holds; 1 for a scalar. */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}

function checkShape(shape: unknown, name?: string): asserts shape is number[] {
  if (!Array.isArray(shape) || !shape.every((dim) => Number.isSafeInteger(dim) && (dim as number) >= 0)) {
    throw invalid(`${label(name)}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}.`);
  }
}

/** Checks that `value.data` has the array type and element count its datatype and shape call for. */
export function checkTensorValue(value: TensorValue, name?: string): void {
  const row = datatypeFromOip(value.datatype);
  if (!row) throw invalid(`${label(name)}: unknown datatype '${value.datatype}'.`, datatypeHint());
  checkShape(value.shape, name);
  const { data, datatype } = value;
  let ok: boolean;
  if (datatype === 'BOOL') ok = Array.isArray(data) && data.every((x) => typeof x === 'boolean');
  else if (datatype === 'BYTES') ok = Array.isArray(data) && data.every((x) => typeof x === 'string');
  else ok = data instanceof TYPED_ARRAYS[datatype];
  if (!ok) {
    throw invalid(`${label(name)}: ${datatype} data must be ${expectedContainer(datatype)}, got ${describe(data)}.`);
  }
  const expected = elementCount(value.shape);
  if (data.length !== expected) {
    throw invalid(
      `${label(name)}: shape [${value.shape.join(', ')}] holds ${expected} elements, data has ${data.length}.`,
    );
  }
}

/** A TensorValue as an onnxruntime tensor; numeric data is shared, not copied. */
export function toOrtTensor(ort: OrtModule, value: TensorValue, name?: string): OrtTensor {
  checkTensorValue(value, name);
  const type = datatypeFromOip(value.datatype)!.ort;
  const { data } = value;
  if (value.datatype === 'BOOL') {
    return new ort.Tensor(
      'bool',
      Uint8Array.from(data as boolean[], (x) => (x ? 1 : 0)),
      value.shape,
    );
  }
  if (value.datatype === 'BYTES') return new ort.Tensor('string', data as string[], value.shape);
  return new ort.Tensor(type as 'float32', data as Float32Array, value.shape);
}

/** An onnxruntime tensor as a TensorValue. BOOL becomes boolean[]; FP16 stays raw bits in a Uint16Array. */
export function fromOrtTensor(tensor: OrtTensor, name?: string): TensorValue {
  const row = datatypeFromOrt(tensor.type);
  if (!row) {
    throw new ModelshipError(
      'TENSOR_UNSUPPORTED',
      `${label(name)}: onnxruntime type '${tensor.type}' has no Open Inference Protocol datatype.`,
    );
  }
  const shape = tensor.dims.map(Number);
  const data = tensor.data as unknown;
  if (row.oip === 'BOOL') return { datatype: 'BOOL', shape, data: Array.from(data as Uint8Array, (x) => x !== 0) };
  if (row.oip === 'BYTES') return { datatype: 'BYTES', shape, data: data as string[] };
  const Typed = TYPED_ARRAYS[row.oip];
  if (data instanceof Typed) return { datatype: row.oip, shape, data: data as TypedArray };
  // FP16 arrives as a Float16Array where the runtime has one: keep the bits, as everywhere else.
  const view = data as { buffer: ArrayBuffer; byteOffset: number; length: number };
  return { datatype: row.oip, shape, data: new Typed(view.buffer, view.byteOffset, view.length) as TypedArray };
}

/** Joins tensors along dimension 0 (batching requests); all must share datatype and the other dimensions. */
export function concatBatch(values: readonly TensorValue[]): TensorValue {
  if (values.length === 0) throw invalid('Cannot batch zero tensors.');
  const [first] = values;
  if (first.shape.length === 0) throw invalid('Cannot batch scalars: a tensor needs a dimension 0 to batch along.');
  const inner = first.shape.slice(1);
  let rows = 0;
  values.forEach((value, i) => {
    checkTensorValue(value, `#${i}`);
    if (value.datatype !== first.datatype) {
      throw invalid(`Cannot batch ${first.datatype} with ${value.datatype} (tensor #${i}).`);
    }
    if (value.shape.length !== first.shape.length || value.shape.slice(1).some((dim, d) => dim !== inner[d])) {
      throw invalid(
        `Cannot batch shape [${value.shape.join(', ')}] (tensor #${i}) with [${first.shape.join(', ')}]: ` +
          'only dimension 0 may differ.',
      );
    }
    rows += value.shape[0];
  });
  const shape = [rows, ...inner];
  if (values.length === 1) return { datatype: first.datatype, shape, data: first.data };
  if (first.datatype === 'BOOL' || first.datatype === 'BYTES') {
    return { datatype: first.datatype, shape, data: values.flatMap((value) => value.data as never[]) };
  }
  const Typed = TYPED_ARRAYS[first.datatype];
  const out = new Typed(elementCount(shape)) as TypedArray;
  let offset = 0;
  for (const value of values) {
    (out as Float32Array).set(value.data as Float32Array, offset);
    offset += value.data.length;
  }
  return { datatype: first.datatype, shape, data: out };
}

/**
 * Cuts a tensor along dimension 0 into parts of `sizes` rows (unbatching responses). Numeric parts are
 * views into the input's buffer, not copies.
 */
export function splitBatch(value: TensorValue, sizes: readonly number[]): TensorValue[] {
  checkTensorValue(value);
  if (value.shape.length === 0) throw invalid('Cannot split a scalar along dimension 0.');
  if (!sizes.every((size) => Number.isSafeInteger(size) && size >= 0)) {
    throw invalid(`Split sizes must be non-negative integers, got [${sizes.join(', ')}].`);
  }
  const total = sizes.reduce((sum, size) => sum + size, 0);
  if (total !== value.shape[0]) {
    throw invalid(`Split sizes [${sizes.join(', ')}] add up to ${total}, dimension 0 is ${value.shape[0]}.`);
  }
  const rowSize = elementCount(value.shape.slice(1));
  let row = 0;
  return sizes.map((size) => {
    const start = row * rowSize;
    const end = (row + size) * rowSize;
    row += size;
    const data = Array.isArray(value.data)
      ? (value.data.slice(start, end) as TensorData)
      : ((value.data as Float32Array).subarray(start, end) as TypedArray);
    return { datatype: value.datatype, shape: [size, ...value.shape.slice(1)], data };
  });
}

/**
 * Builds a TensorValue from JSON-shaped data: row-major, flat or nested to exactly `shape`. Numbers for
 * numeric types (64-bit integers may also be bigint or decimal strings), booleans for BOOL, strings for
 * BYTES. Anything else is a TENSOR_INVALID error that names the offending element.
 */
export function tensorFromNested(datatype: string, shape: unknown, data: unknown, name?: string): TensorValue {
  const row = datatypeFromOip(datatype);
  if (!row) throw invalid(`${label(name)}: unknown datatype '${datatype}'.`, datatypeHint());
  checkShape(shape, name);
  const flat = flatten(data, shape, name);
  const oip = row.oip;
  const expected = elementCount(shape);
  if (flat.length !== expected) {
    throw invalid(`${label(name)}: shape [${shape.join(', ')}] holds ${expected} elements, data has ${flat.length}.`);
  }
  const where = (i: number) => `${label(name)}: data[${i}]`;
  if (oip === 'BOOL') {
    flat.forEach((x, i) => {
      if (typeof x !== 'boolean') throw invalid(`${where(i)} is ${JSON.stringify(x)}; BOOL needs true or false.`);
    });
    return { datatype: oip, shape, data: flat as boolean[] };
  }
  if (oip === 'BYTES') {
    flat.forEach((x, i) => {
      if (typeof x !== 'string') throw invalid(`${where(i)} is ${JSON.stringify(x)}; BYTES needs a string.`);
    });
    return { datatype: oip, shape, data: flat as string[] };
  }
  const Typed = TYPED_ARRAYS[oip];
  const out = new Typed(flat.length) as TypedArray;
  const range = INTEGER_RANGES[oip];
  if (range) {
    const wide = oip === 'INT64' || oip === 'UINT64';
    flat.forEach((x, i) => {
      let n: bigint;
      if (typeof x === 'number' && Number.isInteger(x)) n = BigInt(x);
      else if (wide && typeof x === 'bigint') n = x;
      else if (wide && typeof x === 'string' && /^-?\d+$/.test(x)) n = BigInt(x);
      else throw invalid(`${where(i)} is ${describeValue(x)}; ${oip} needs an integer.`);
      if (n < range[0] || n > range[1]) {
        throw invalid(`${where(i)} is ${String(x)}, out of range for ${oip} (${range[0]}..${range[1]}).`);
      }
      (out as BigInt64Array | Int32Array)[i] = (wide ? n : Number(n)) as never;
    });
    return { datatype: oip, shape, data: out };
  }
  flat.forEach((x, i) => {
    if (typeof x !== 'number') throw invalid(`${where(i)} is ${describeValue(x)}; ${oip} needs a number.`);
    (out as Float32Array)[i] = oip === 'FP16' ? numberToFloat16(x) : x;
  });
  return { datatype: oip, shape, data: out };
}

/** Flat JSON-ready values: FP16 bits become numbers, 64-bit integers numbers (exact up to 2^53). */
export function tensorToJsonData(value: TensorValue): Array<number | boolean | string> {
  const { data } = value;
  if (Array.isArray(data)) return data;
  if (value.datatype === 'FP16') return Array.from(data as Uint16Array, float16ToNumber);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Array.from(data, Number);
  return Array.from(data as Float32Array);
}

function flatten(data: unknown, shape: readonly number[], name?: string): unknown[] {
  if (!Array.isArray(data)) {
    if (shape.length === 0) return [data];
    throw invalid(`${label(name)}: data must be an array, got ${describeValue(data)}.`);
  }
  if (!data.some(Array.isArray)) return data;
  // Nested data must follow the shape level by level.
  const out: unknown[] = [];
  const walk = (node: unknown, depth: number, path: string) => {
    if (depth === shape.length) {
      if (Array.isArray(node)) {
        throw invalid(`${label(name)}: data${path} is nested deeper than shape [${shape.join(', ')}].`);
      }
      out.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw invalid(
        `${label(name)}: data${path} has ${Array.isArray(node) ? `${node.length} elements` : describeValue(node)}, ` +
          `shape [${shape.join(', ')}] needs ${shape[depth]} at depth ${depth}.`,
      );
    }
    node.forEach((child, i) => walk(child, depth + 1, `${path}[${i}]`));
  };
  walk(data, 0, '');
  return out;
}

/**
 * 64-bit integers as numbers, from their two 32-bit halves: reading a BigInt64Array element makes a
 * BigInt, which costs more than scoring the row it belongs to. One rounding, as Number(bigint) rounds.
 * Written into `into` when it is large enough (batch loops reuse one: a new typed array per batch costs
 * more than the conversion).
 */
export function int64ToNumbers(data: BigInt64Array | BigUint64Array, into?: Float64Array): Float64Array {
  const count = data.length;
  const halves = new Int32Array(data.buffer as ArrayBuffer, data.byteOffset, count * 2);
  const signed = data instanceof BigInt64Array;
  const out = into && into.length >= count ? into.subarray(0, count) : new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const low = halves[2 * i] >>> 0;
    const high = signed ? halves[2 * i + 1] : halves[2 * i + 1] >>> 0;
    out[i] = high * 4294967296 + low;
  }
  return out;
}

const float32 = new Float32Array(1);
const uint32 = new Uint32Array(float32.buffer);

/** IEEE 754 half-precision bits for a number, rounded to nearest even. */
export function numberToFloat16(value: number): number {
  float32[0] = value;
  const bits = uint32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0); // Infinity or NaN
  let halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00; // too large: Infinity
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign; // too small: signed zero
    mantissa |= 0x800000;
    const shift = 14 - halfExponent;
    const half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    return sign | (half + (rest > halfway || (rest === halfway && half & 1) ? 1 : 0));
  }
  const rest = mantissa & 0x1fff;
  let half = (halfExponent << 10) | (mantissa >>> 13);
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half += 1; // a carry into the exponent is still right
  halfExponent = half >>> 10;
  return sign | (halfExponent >= 0x1f ? 0x7c00 : half);
}

/** The number that IEEE 754 half-precision bits stand for. */
export function float16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

function expectedContainer(datatype: OipDatatype): string {
  if (datatype === 'BOOL') return 'an array of booleans';
  if (datatype === 'BYTES') return 'an array of strings';
  return `a ${TYPED_ARRAYS[datatype].name}`;
}

function describe(data: unknown): string {
  if (Array.isArray(data)) return `an array of ${data.length === 0 ? 'nothing' : typeof data[0]}s`;
  if (ArrayBuffer.isView(data)) return `a ${data.constructor.name}`;
  return describeValue(data);
}

function describeValue(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  return JSON.stringify(value);
}

function datatypeHint(): string {
  return `Use one of ${DATATYPES.map((row) => row.oip).join(', ')}.`;
}
