/**
 * The one table between ONNX element types, onnxruntime-node tensor types and Open Inference Protocol
 * datatypes. Everything that converts between them goes through here.
 */
import { ElemType } from '../onnx/types.js';

export type OipDatatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BYTES';

export type OrtType =
  | 'bool'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'string';

export interface DatatypeRow {
  onnx: number;
  onnxName: string;
  ort: OrtType;
  oip: OipDatatype;
  /** Bytes per element in the binary tensor extension and in raw_data; 0 for strings. */
  bytes: number;
  /** numpy's type code without the byte order (`f4`); strings have several (`U<n>`, `S<n>`). */
  numpy: string;
}

export const DATATYPES: readonly DatatypeRow[] = [
  { onnx: ElemType.BOOL, onnxName: 'BOOL', ort: 'bool', oip: 'BOOL', bytes: 1, numpy: 'b1' },
  { onnx: ElemType.UINT8, onnxName: 'UINT8', ort: 'uint8', oip: 'UINT8', bytes: 1, numpy: 'u1' },
  { onnx: ElemType.UINT16, onnxName: 'UINT16', ort: 'uint16', oip: 'UINT16', bytes: 2, numpy: 'u2' },
  { onnx: ElemType.UINT32, onnxName: 'UINT32', ort: 'uint32', oip: 'UINT32', bytes: 4, numpy: 'u4' },
  { onnx: ElemType.UINT64, onnxName: 'UINT64', ort: 'uint64', oip: 'UINT64', bytes: 8, numpy: 'u8' },
  { onnx: ElemType.INT8, onnxName: 'INT8', ort: 'int8', oip: 'INT8', bytes: 1, numpy: 'i1' },
  { onnx: ElemType.INT16, onnxName: 'INT16', ort: 'int16', oip: 'INT16', bytes: 2, numpy: 'i2' },
  { onnx: ElemType.INT32, onnxName: 'INT32', ort: 'int32', oip: 'INT32', bytes: 4, numpy: 'i4' },
  { onnx: ElemType.INT64, onnxName: 'INT64', ort: 'int64', oip: 'INT64', bytes: 8, numpy: 'i8' },
  { onnx: ElemType.FLOAT16, onnxName: 'FLOAT16', ort: 'float16', oip: 'FP16', bytes: 2, numpy: 'f2' },
  { onnx: ElemType.FLOAT, onnxName: 'FLOAT', ort: 'float32', oip: 'FP32', bytes: 4, numpy: 'f4' },
  { onnx: ElemType.DOUBLE, onnxName: 'DOUBLE', ort: 'float64', oip: 'FP64', bytes: 8, numpy: 'f8' },
  { onnx: ElemType.STRING, onnxName: 'STRING', ort: 'string', oip: 'BYTES', bytes: 0, numpy: 'U' },
];

const byOnnx = new Map(DATATYPES.map((row) => [row.onnx, row]));
const byOrt = new Map(DATATYPES.map((row) => [row.ort as string, row]));
const byOip = new Map(DATATYPES.map((row) => [row.oip as string, row]));

export const datatypeFromOnnx = (elemType: number): DatatypeRow | undefined => byOnnx.get(elemType);
export const datatypeFromOrt = (type: string): DatatypeRow | undefined => byOrt.get(type);
export const datatypeFromOip = (datatype: string): DatatypeRow | undefined => byOip.get(datatype);
const byNumpy = new Map(DATATYPES.filter((row) => row.bytes > 0).map((row) => [row.numpy, row]));
/** A numeric numpy type code (`f4`, `i8`, `b1`); strings are not in the table. */
export const datatypeFromNumpy = (code: string): DatatypeRow | undefined => byNumpy.get(code);
