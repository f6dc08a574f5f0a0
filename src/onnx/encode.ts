/**
 * Writes ONNX ModelProto and TensorProto. Used to build fixtures and test models, so it writes what it
 * is asked to (a test may need a broken model) but never silently reinterprets data: a typed array that
 * does not fit the element type is a programming error. Same spec in, same bytes out: fields are
 * written in field-number order and maps in insertion order.
 */
import { ElemType, type Dim, type ExternalDataRef, type OpsetImport, type ValueInfo } from './types.js';
import { WireWriter, utf8 } from './wire.js';
import { datatypeFromOip } from '../runtime/datatypes.js';
import type { TensorData, TensorValue, TypedArray, TypedArrayConstructor } from '../runtime/tensor.js';

export interface InitializerSpec {
  name: string;
  elemType: number;
  dims: number[];
  /** Values, written as raw_data little-endian (strings as string_data). */
  data?: TensorData;
  /** Exact raw_data bytes, written as given (may disagree with dims on purpose). */
  raw?: Uint8Array;
  /** Marks the tensor as stored in an external file (data_location = EXTERNAL). */
  external?: ExternalDataRef;
}

export type AttributeSpec =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensor'; value: InitializerSpec }
  | { type: 'graph'; value: GraphSpec };

export interface NodeSpec {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  /** '' is the default ONNX domain. */
  domain?: string;
  attributes?: Record<string, AttributeSpec>;
}

export interface GraphSpec {
  name: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  nodes: NodeSpec[];
  initializers?: InitializerSpec[];
  valueInfo?: ValueInfo[];
  docString?: string;
}

export interface ModelSpec {
  /** Defaults to 8. */
  irVersion?: number;
  /** Defaults to the default domain at opset 17. */
  opsetImports?: OpsetImport[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  metadataProps?: Record<string, string>;
  graph: GraphSpec;
}

export const DEFAULT_IR_VERSION = 8;
export const DEFAULT_OPSET = 17;

const AttributeType = { float: 1, int: 2, string: 3, tensor: 4, graph: 5, floats: 6, ints: 7, strings: 8 } as const;
const DATA_LOCATION_EXTERNAL = 1;

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The typed array each element type's values come in. */
export const typedArrayFor: Record<number, TypedArrayConstructor> = {
  [ElemType.FLOAT]: Float32Array,
  [ElemType.DOUBLE]: Float64Array,
  [ElemType.INT8]: Int8Array,
  [ElemType.UINT8]: Uint8Array,
  [ElemType.INT16]: Int16Array,
  [ElemType.UINT16]: Uint16Array,
  [ElemType.FLOAT16]: Uint16Array,
  [ElemType.BFLOAT16]: Uint16Array,
  [ElemType.INT32]: Int32Array,
  [ElemType.UINT32]: Uint32Array,
  [ElemType.INT64]: BigInt64Array,
  [ElemType.UINT64]: BigUint64Array,
  [ElemType.BOOL]: Uint8Array,
};

/**
 * Little-endian raw_data bytes for numeric or bool values. On a little-endian host this is a view of
 * the array's memory, not a copy.
 */
export function rawDataOf(elemType: number, data: TensorData): Uint8Array {
  if (elemType === ElemType.BOOL && Array.isArray(data)) {
    return Uint8Array.from(data as unknown[], (v) => (v ? 1 : 0));
  }
  const expected = typedArrayFor[elemType];
  if (expected === undefined) throw new Error(`No raw_data encoding for element type ${elemType}`);
  if (!(data instanceof expected)) {
    const got = Array.isArray(data) ? 'an array' : data.constructor.name;
    throw new Error(`Element type ${elemType} needs a ${expected.name}, got ${got}`);
  }
  const typed = data as TypedArray;
  const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  if (littleEndian || typed.BYTES_PER_ELEMENT === 1) return bytes;
  const swapped = new Uint8Array(bytes.length);
  const size = typed.BYTES_PER_ELEMENT;
  for (let i = 0; i < bytes.length; i += size) for (let j = 0; j < size; j++) swapped[i + j] = bytes[i + size - 1 - j];
  return swapped;
}

function tensorWriter(spec: InitializerSpec): WireWriter {
  const w = new WireWriter();
  for (const dim of spec.dims) w.varintField(1, dim);
  w.varintField(2, spec.elemType);
  if (spec.data !== undefined && spec.elemType === ElemType.STRING) {
    if (!Array.isArray(spec.data) || spec.data.some((v) => typeof v !== 'string')) {
      throw new Error(`String tensor ${spec.name} needs a string[]`);
    }
    for (const value of spec.data as string[]) w.stringField(6, value);
  }
  w.stringField(8, spec.name);
  if (spec.raw !== undefined) w.bytesField(9, spec.raw);
  else if (spec.data !== undefined && spec.elemType !== ElemType.STRING)
    w.bytesField(9, rawDataOf(spec.elemType, spec.data));
  if (spec.external) {
    const entries: Array<[string, string]> = [['location', spec.external.location]];
    if (spec.external.offset !== undefined) entries.push(['offset', String(spec.external.offset)]);
    if (spec.external.length !== undefined) entries.push(['length', String(spec.external.length)]);
    if (spec.external.checksum !== undefined) entries.push(['checksum', spec.external.checksum]);
    for (const [key, value] of entries) w.messageField(13, new WireWriter().stringField(1, key).stringField(2, value));
    w.varintField(14, DATA_LOCATION_EXTERNAL);
  }
  return w;
}

function dimWriter(dim: Dim): WireWriter {
  const w = new WireWriter();
  if (typeof dim === 'number') w.varintField(1, dim);
  else if (typeof dim === 'string') w.stringField(2, dim);
  return w;
}

function valueInfoWriter(info: ValueInfo): WireWriter {
  const tensorType = new WireWriter().varintField(1, info.elemType);
  if (info.shape !== undefined) {
    const shape = new WireWriter();
    for (const dim of info.shape) shape.messageField(1, dimWriter(dim));
    tensorType.messageField(2, shape);
  }
  const w = new WireWriter().stringField(1, info.name).messageField(2, new WireWriter().messageField(1, tensorType));
  if (info.docString) w.stringField(3, info.docString);
  return w;
}

function attributeWriter(name: string, attr: AttributeSpec): WireWriter {
  const w = new WireWriter().stringField(1, name);
  switch (attr.type) {
    case 'float':
      w.floatField(2, attr.value);
      break;
    case 'int':
      w.varintField(3, attr.value);
      break;
    case 'string':
      w.bytesField(4, utf8(attr.value));
      break;
    case 'tensor':
      w.messageField(5, tensorWriter(attr.value));
      break;
    case 'graph':
      w.messageField(6, graphWriter(attr.value));
      break;
    case 'floats':
      for (const v of attr.value) w.floatField(7, v);
      break;
    case 'ints':
      for (const v of attr.value) w.varintField(8, v);
      break;
    case 'strings':
      for (const v of attr.value) w.bytesField(9, utf8(v));
      break;
  }
  return w.varintField(20, AttributeType[attr.type]);
}

function nodeWriter(node: NodeSpec): WireWriter {
  const w = new WireWriter();
  for (const input of node.inputs) w.stringField(1, input);
  for (const output of node.outputs) w.stringField(2, output);
  if (node.name) w.stringField(3, node.name);
  w.stringField(4, node.opType);
  for (const [name, attr] of Object.entries(node.attributes ?? {})) w.messageField(5, attributeWriter(name, attr));
  if (node.domain) w.stringField(7, node.domain);
  return w;
}

function graphWriter(graph: GraphSpec): WireWriter {
  const w = new WireWriter();
  for (const node of graph.nodes) w.messageField(1, nodeWriter(node));
  w.stringField(2, graph.name);
  for (const init of graph.initializers ?? []) w.messageField(5, tensorWriter(init));
  if (graph.docString) w.stringField(10, graph.docString);
  for (const input of graph.inputs) w.messageField(11, valueInfoWriter(input));
  for (const output of graph.outputs) w.messageField(12, valueInfoWriter(output));
  for (const info of graph.valueInfo ?? []) w.messageField(13, valueInfoWriter(info));
  return w;
}

function modelWriter(spec: ModelSpec): WireWriter {
  const w = new WireWriter().varintField(1, spec.irVersion ?? DEFAULT_IR_VERSION);
  if (spec.producerName) w.stringField(2, spec.producerName);
  if (spec.producerVersion) w.stringField(3, spec.producerVersion);
  if (spec.domain) w.stringField(4, spec.domain);
  if (spec.modelVersion !== undefined) w.varintField(5, spec.modelVersion);
  if (spec.docString) w.stringField(6, spec.docString);
  w.messageField(7, graphWriter(spec.graph));
  for (const opset of spec.opsetImports ?? [{ domain: '', version: DEFAULT_OPSET }]) {
    const entry = new WireWriter();
    if (opset.domain) entry.stringField(1, opset.domain);
    w.messageField(8, entry.varintField(2, opset.version));
  }
  for (const [key, value] of Object.entries(spec.metadataProps ?? {})) {
    w.messageField(14, new WireWriter().stringField(1, key).stringField(2, value));
  }
  return w;
}

/** A ModelProto as one buffer. */
export function encodeModel(spec: ModelSpec): Uint8Array {
  return modelWriter(spec).toBytes();
}

/**
 * A ModelProto as ordered chunks: large initializers are the caller's own arrays (on a little-endian
 * host), so a big model can be streamed to a file without assembling it in memory.
 */
export function encodeModelChunks(spec: ModelSpec): { chunks: Uint8Array[]; length: number } {
  const w = modelWriter(spec);
  const length = w.length;
  return { chunks: w.finish(), length };
}

/** A TensorProto as in ONNX test data (`input_0.pb`): numbers as little-endian raw_data, strings as string_data. */
export function encodeTensorProto(name: string, value: TensorValue): Uint8Array {
  const row = datatypeFromOip(value.datatype);
  if (!row) throw new Error(`Unknown datatype ${value.datatype}`);
  return tensorWriter({ name, elemType: row.onnx, dims: value.shape, data: value.data }).toBytes();
}
