/** Tensors and signatures as every part of modelship passes them around, independent of onnxruntime. */
import type { OipDatatype } from './datatypes.js';

export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | string[]
  | boolean[];

/** The numeric TensorData kinds, and their constructors. */
export type TypedArray = Exclude<TensorData, string[] | boolean[]>;
export type TypedArrayConstructor =
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor;

/** A tensor: datatype in OIP terms, a concrete shape, row-major data (FP16 as raw Uint16Array bits). */
export interface TensorValue {
  datatype: OipDatatype;
  shape: number[];
  data: TensorData;
}

/** One input or output of a model: `-1` or a name for a variable dimension. */
export interface TensorSignature {
  name: string;
  datatype: OipDatatype;
  shape: Array<number | string>;
}

export interface Signature {
  inputs: TensorSignature[];
  outputs: TensorSignature[];
}
