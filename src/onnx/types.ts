/**
 * The decoded shape of an ONNX model, as much of it as modelship needs. Weights are never copied:
 * `TensorInfo.rawData` is a view into the bytes the model was parsed from.
 */

/** TensorProto.DataType numbers from onnx.proto. */
export const ElemType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
} as const;
export type ElemType = (typeof ElemType)[keyof typeof ElemType];

/** A dimension: a fixed size, a symbolic name (`"batch"`), or unknown (`null`). */
export type Dim = number | string | null;

export interface ValueInfo {
  name: string;
  /** Element type number; 0 when the value is not a tensor or the type is missing. */
  elemType: number;
  /** undefined when the shape is not given at all (rank unknown). */
  shape?: Dim[];
  docString?: string;
}

export interface ExternalDataRef {
  location: string;
  offset?: number;
  length?: number;
  checksum?: string;
}

export interface TensorInfo {
  name: string;
  elemType: number;
  dims: number[];
  /** Bytes the tensor holds inline (raw_data or typed fields), 0 for external data. */
  byteSize: number;
  /** A view into the parsed buffer (no copy), when raw_data is used. */
  rawData?: Uint8Array;
  external?: ExternalDataRef;
  /** Where the values live: raw_data, a typed repeated field (float_data, int64_data, ...), or an external file. */
  storage: 'raw' | 'typed' | 'external' | 'empty';
}

export type AttributeValue =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: TensorInfo }
  | { type: 'graph'; value: GraphInfo }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'other'; value: null };

export interface NodeInfo {
  name: string;
  opType: string;
  /** '' (or 'ai.onnx') is the default ONNX domain. */
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttributeValue>;
}

export interface GraphInfo {
  name: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  valueInfo: ValueInfo[];
  initializers: TensorInfo[];
  nodes: NodeInfo[];
  docString?: string;
}

export interface OpsetImport {
  domain: string;
  version: number;
}

export interface OnnxModel {
  irVersion: number;
  opsetImports: OpsetImport[];
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  metadataProps: Record<string, string>;
  graph: GraphInfo;
}
