/**
 * Reads ONNX ModelProto and TensorProto from bytes. Weights stay where they are: an initializer's
 * raw_data is a view of the input (see wire.ts for why the wire format is read by hand). Unknown fields
 * are skipped, as protobuf requires; repeated scalars are accepted packed or unpacked.
 */
import { datatypeFromOnnx } from '../runtime/datatypes.js';
import type { TensorData, TensorValue } from '../runtime/tensor.js';
import { typedArrayFor } from './encode.js';
import {
  ElemType,
  type AttributeValue,
  type Dim,
  type ExternalDataRef,
  type GraphInfo,
  type NodeInfo,
  type OnnxModel,
  type OpsetImport,
  type TensorInfo,
  type ValueInfo,
} from './types.js';
import { WireReader, WireType, textDecoder } from './wire.js';

const { VARINT, I64, LEN, I32 } = WireType;
const DATA_LOCATION_EXTERNAL = 1;

/** Bytes per element of the element types raw_data can hold (strings have none). */
export function elemByteSize(elemType: number): number | undefined {
  if (elemType === ElemType.BFLOAT16) return 2;
  if (elemType === ElemType.COMPLEX64) return 8;
  if (elemType === ElemType.COMPLEX128) return 16;
  const row = datatypeFromOnnx(elemType);
  return row && row.bytes > 0 ? row.bytes : undefined;
}

/** Everything a TensorProto holds, values still in their wire form. */
interface TensorFields {
  name: string;
  elemType: number;
  dims: number[];
  raw?: Uint8Array;
  floats: number[];
  int32s: number[];
  int64s: bigint[];
  doubles: number[];
  uint64s: bigint[];
  strings: Uint8Array[];
  external: Array<[string, string]>;
  dataLocation: number;
}

/** Reads a TensorProto; `keepValues` false counts typed values without keeping them (initializers). */
function readTensor(r: WireReader, keepValues: boolean): TensorFields & { typedCount: number; stringBytes: number } {
  const t: TensorFields & { typedCount: number; stringBytes: number } = {
    name: '',
    elemType: 0,
    dims: [],
    floats: [],
    int32s: [],
    int64s: [],
    doubles: [],
    uint64s: [],
    strings: [],
    external: [],
    dataLocation: 0,
    typedCount: 0,
    stringBytes: 0,
  };
  while (!r.done) {
    const { field, wireType, at } = r.tag();
    switch (field) {
      case 1:
        r.repeated(wireType, VARINT, (x) => void t.dims.push(x.int64()));
        break;
      case 2:
        r.expect(wireType, VARINT, at);
        t.elemType = r.int32();
        break;
      case 4:
        r.repeated(wireType, I32, (x) => {
          const v = x.float();
          t.typedCount++;
          if (keepValues) t.floats.push(v);
        });
        break;
      case 5:
        r.repeated(wireType, VARINT, (x) => {
          const v = x.int32();
          t.typedCount++;
          if (keepValues) t.int32s.push(v);
        });
        break;
      case 6: {
        r.expect(wireType, LEN, at);
        const v = r.bytesView();
        t.typedCount++;
        t.stringBytes += v.length;
        if (keepValues) t.strings.push(v);
        break;
      }
      case 7:
        r.repeated(wireType, VARINT, (x) => {
          const v = x.int64Big();
          t.typedCount++;
          if (keepValues) t.int64s.push(v);
        });
        break;
      case 8:
        r.expect(wireType, LEN, at);
        t.name = r.string();
        break;
      case 9:
        r.expect(wireType, LEN, at);
        t.raw = r.bytesView();
        break;
      case 10:
        r.repeated(wireType, I64, (x) => {
          const v = x.double();
          t.typedCount++;
          if (keepValues) t.doubles.push(v);
        });
        break;
      case 11:
        r.repeated(wireType, VARINT, (x) => {
          const v = x.uint64Big();
          t.typedCount++;
          if (keepValues) t.uint64s.push(v);
        });
        break;
      case 13: {
        r.expect(wireType, LEN, at);
        t.external.push(readStringEntry(r.message()));
        break;
      }
      case 14:
        r.expect(wireType, VARINT, at);
        t.dataLocation = r.int32();
        break;
      default:
        r.skip(wireType);
    }
  }
  return t;
}

function readStringEntry(r: WireReader): [string, string] {
  let key = '';
  let value = '';
  while (!r.done) {
    const { field, wireType, at } = r.tag();
    if (field === 1 || field === 2) {
      r.expect(wireType, LEN, at);
      if (field === 1) key = r.string();
      else value = r.string();
    } else r.skip(wireType);
  }
  return [key, value];
}

function externalRef(entries: Array<[string, string]>): ExternalDataRef {
  const ref: ExternalDataRef = { location: '' };
  for (const [key, value] of entries) {
    if (key === 'location') ref.location = value;
    else if (key === 'offset') ref.offset = Number(value);
    else if (key === 'length') ref.length = Number(value);
    else if (key === 'checksum') ref.checksum = value;
  }
  return ref;
}

function tensorInfo(r: WireReader): TensorInfo {
  const t = readTensor(r, false);
  const info: TensorInfo = { name: t.name, elemType: t.elemType, dims: t.dims, byteSize: 0, storage: 'empty' };
  if (t.dataLocation === DATA_LOCATION_EXTERNAL || t.external.length > 0) {
    info.storage = 'external';
    info.external = externalRef(t.external);
  } else if (t.raw !== undefined) {
    info.storage = 'raw';
    info.rawData = t.raw;
    info.byteSize = t.raw.length;
  } else if (t.typedCount > 0) {
    info.storage = 'typed';
    // Strings have no fixed width: their size is the bytes they hold.
    info.byteSize = t.elemType === ElemType.STRING ? t.stringBytes : t.typedCount * (elemByteSize(t.elemType) ?? 0);
  }
  return info;
}

function readDim(r: WireReader): Dim {
  let dim: Dim = null;
  while (!r.done) {
    const { field, wireType, at } = r.tag();
    if (field === 1) {
      r.expect(wireType, VARINT, at);
      dim = r.int64();
    } else if (field === 2) {
      r.expect(wireType, LEN, at);
      dim = r.string();
    } else r.skip(wireType);
  }
  return dim;
}

/** TypeProto: only tensor_type carries an element type and a shape; other kinds read as elemType 0. */
function readType(r: WireReader, into: ValueInfo): void {
  while (!r.done) {
    const { field, wireType, at } = r.tag();
    if (field !== 1) {
      r.skip(wireType);
      continue;
    }
    r.expect(wireType, LEN, at);
    const tensor = r.message();
    while (!tensor.done) {
      const tag = tensor.tag();
      if (tag.field === 1) {
        tensor.expect(tag.wireType, VARINT, tag.at);
        into.elemType = tensor.int32();
      } else if (tag.field === 2) {
        tensor.expect(tag.wireType, LEN, tag.at);
        const shape = tensor.message();
        into.shape = [];
        while (!shape.done) {
          const d = shape.tag();
          if (d.field === 1) {
            shape.expect(d.wireType, LEN, d.at);
            into.shape.push(readDim(shape.message()));
          } else shape.skip(d.wireType);
        }
      } else tensor.skip(tag.wireType);
    }
  }
}

function readValueInfo(r: WireReader): ValueInfo {
  const info: ValueInfo = { name: '', elemType: 0 };
  while (!r.done) {
    const { field, wireType, at } = r.tag();
    if (field === 1) {
      r.expect(wireType, LEN, at);
      info.name = r.string();
    } else if (field === 2) {
      r.expect(wireType, LEN, at);
      readType(r.message(), info);
    } else if (field === 3) {
      r.expect(wireType, LEN, at);
      info.docString = r.string();
    } else r.skip(wireType);
  }
  return info;
}

/** AttributeProto.AttributeType numbers. */
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

function readAttribute(r: WireReader): { name: string; value: AttributeValue } {
  let name = '';
  let type = 0;
  let f: number | undefined;
  let i: number | undefined;
  let s: string | undefined;
  let t: TensorInfo | undefined;
  let g: GraphInfo | undefined;
  const floats: number[] = [];
  const ints: number[] = [];
  const strings: string[] = [];
  while (!r.done) {
    const { field, wireType, at } = r.tag();
    switch (field) {
      case 1:
        r.expect(wireType, LEN, at);
        name = r.string();
        break;
      case 2:
        r.expect(wireType, I32, at);
        f = r.float();
        break;
      case 3:
        r.expect(wireType, VARINT, at);
        i = r.int64();
        break;
      case 4:
        r.expect(wireType, LEN, at);
        s = r.string();
        break;
      case 5:
        r.expect(wireType, LEN, at);
        t = tensorInfo(r.message());
        break;
      case 6:
        r.expect(wireType, LEN, at);
        g = readGraph(r.message());
        break;
      case 7:
        r.repeated(wireType, I32, (x) => void floats.push(x.float()));
        break;
      case 8:
        r.repeated(wireType, VARINT, (x) => void ints.push(x.int64()));
        break;
      case 9:
        r.expect(wireType, LEN, at);
        strings.push(r.string());
        break;
      case 20:
        r.expect(wireType, VARINT, at);
        type = r.int32();
        break;
      default:
        r.skip(wireType);
    }
  }
  // IR < 3 writers leave `type` out: infer it from the field that is set.
  if (type === 0) {
    if (f !== undefined) type = AttrType.FLOAT;
    else if (i !== undefined) type = AttrType.INT;
    else if (s !== undefined) type = AttrType.STRING;
    else if (t !== undefined) type = AttrType.TENSOR;
    else if (g !== undefined) type = AttrType.GRAPH;
    else if (floats.length > 0) type = AttrType.FLOATS;
    else if (ints.length > 0) type = AttrType.INTS;
    else if (strings.length > 0) type = AttrType.STRINGS;
  }
  let value: AttributeValue;
  switch (type) {
    case AttrType.FLOAT:
      value = { type: 'float', value: f ?? 0 };
      break;
    case AttrType.INT:
      value = { type: 'int', value: i ?? 0 };
      break;
    case AttrType.STRING:
      value = { type: 'string', value: s ?? '' };
      break;
    case AttrType.TENSOR:
      value = t ? { type: 'tensor', value: t } : { type: 'other', value: null };
      break;
    case AttrType.GRAPH:
      value = g ? { type: 'graph', value: g } : { type: 'other', value: null };
      break;
    case AttrType.FLOATS:
      value = { type: 'floats', value: floats };
      break;
    case AttrType.INTS:
      value = { type: 'ints', value: ints };
      break;
    case AttrType.STRINGS:
      value = { type: 'strings', value: strings };
      break;
    default:
      value = { type: 'other', value: null };
  }
  return { name, value };
}

function readNode(r: WireReader): NodeInfo {
  const node: NodeInfo = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: {} };
  while (!r.done) {
    const { field, wireType, at } = r.tag();
    switch (field) {
      case 1:
        r.expect(wireType, LEN, at);
        node.inputs.push(r.string());
        break;
      case 2:
        r.expect(wireType, LEN, at);
        node.outputs.push(r.string());
        break;
      case 3:
        r.expect(wireType, LEN, at);
        node.name = r.string();
        break;
      case 4:
        r.expect(wireType, LEN, at);
        node.opType = r.string();
        break;
      case 5: {
        r.expect(wireType, LEN, at);
        const attr = readAttribute(r.message());
        node.attributes[attr.name] = attr.value;
        break;
      }
      case 7:
        r.expect(wireType, LEN, at);
        node.domain = r.string();
        break;
      default:
        r.skip(wireType);
    }
  }
  return node;
}

function readGraph(r: WireReader): GraphInfo {
  const graph: GraphInfo = { name: '', inputs: [], outputs: [], valueInfo: [], initializers: [], nodes: [] };
  while (!r.done) {
    const { field, wireType, at } = r.tag();
    switch (field) {
      case 1:
        r.expect(wireType, LEN, at);
        graph.nodes.push(readNode(r.message()));
        break;
      case 2:
        r.expect(wireType, LEN, at);
        graph.name = r.string();
        break;
      case 5:
        r.expect(wireType, LEN, at);
        graph.initializers.push(tensorInfo(r.message()));
        break;
      case 10:
        r.expect(wireType, LEN, at);
        graph.docString = r.string();
        break;
      case 11:
      case 12:
      case 13: {
        r.expect(wireType, LEN, at);
        const info = readValueInfo(r.message());
        (field === 11 ? graph.inputs : field === 12 ? graph.outputs : graph.valueInfo).push(info);
        break;
      }
      default:
        r.skip(wireType);
    }
  }
  return graph;
}

function readOpset(r: WireReader): OpsetImport {
  const opset: OpsetImport = { domain: '', version: 0 };
  while (!r.done) {
    const { field, wireType, at } = r.tag();
    if (field === 1) {
      r.expect(wireType, LEN, at);
      opset.domain = r.string();
    } else if (field === 2) {
      r.expect(wireType, VARINT, at);
      opset.version = r.int64();
    } else r.skip(wireType);
  }
  return opset;
}

/**
 * Decodes a ModelProto. Initializer raw_data are views of `bytes`; keep `bytes` alive as long as they
 * are used. Throws ModelshipError('ONNX_DECODE') on malformed input.
 */
export function decodeModel(bytes: Uint8Array): OnnxModel {
  const model: OnnxModel = {
    irVersion: 0,
    opsetImports: [],
    producerName: '',
    producerVersion: '',
    domain: '',
    modelVersion: 0,
    docString: '',
    metadataProps: {},
    graph: { name: '', inputs: [], outputs: [], valueInfo: [], initializers: [], nodes: [] },
  };
  const r: WireReader = new WireReader(bytes, 'ONNX model');
  let sawGraph = false;
  while (!r.done) {
    const { field, wireType, at } = r.tag();
    switch (field) {
      case 1:
        r.expect(wireType, VARINT, at);
        model.irVersion = r.int64();
        break;
      case 2:
        r.expect(wireType, LEN, at);
        model.producerName = r.string();
        break;
      case 3:
        r.expect(wireType, LEN, at);
        model.producerVersion = r.string();
        break;
      case 4:
        r.expect(wireType, LEN, at);
        model.domain = r.string();
        break;
      case 5:
        r.expect(wireType, VARINT, at);
        model.modelVersion = r.int64();
        break;
      case 6:
        r.expect(wireType, LEN, at);
        model.docString = r.string();
        break;
      case 7:
        r.expect(wireType, LEN, at);
        model.graph = readGraph(r.message());
        sawGraph = true;
        break;
      case 8:
        r.expect(wireType, LEN, at);
        model.opsetImports.push(readOpset(r.message()));
        break;
      case 14: {
        r.expect(wireType, LEN, at);
        const [key, value] = readStringEntry(r.message());
        model.metadataProps[key] = value;
        break;
      }
      default:
        r.skip(wireType);
    }
  }
  // Almost any byte string is a syntactically valid protobuf; a model without a graph is not a model.
  if (!sawGraph) r.fail('no graph in the file', 0);
  return model;
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function fromRaw(elemType: number, raw: Uint8Array, count: number): TensorData {
  const Ctor = typedArrayFor[elemType];
  const size = Ctor.BYTES_PER_ELEMENT;
  // Copy into fresh aligned memory: raw_data may start at any byte offset. (Not `raw.slice`: on a
  // Buffer that is a view, not a copy.)
  const copy = new Uint8Array(count * size);
  copy.set(raw.subarray(0, count * size));
  if (!littleEndian && size > 1) {
    for (let i = 0; i < copy.length; i += size) copy.subarray(i, i + size).reverse();
  }
  const typed = new Ctor(copy.buffer, 0, count);
  return elemType === ElemType.BOOL ? Array.from(typed as Uint8Array, (v) => v !== 0) : typed;
}

function fromTyped(t: TensorFields): { data: TensorData; count: number } | undefined {
  const e = t.elemType;
  const Ctor = typedArrayFor[e];
  const nonEmpty = (a: unknown[]) => a.length > 0;
  if (e === ElemType.STRING) return { data: t.strings.map((b) => textDecoder.decode(b)), count: t.strings.length };
  if (e === ElemType.FLOAT && nonEmpty(t.floats)) return { data: Float32Array.from(t.floats), count: t.floats.length };
  if (e === ElemType.DOUBLE && nonEmpty(t.doubles))
    return { data: Float64Array.from(t.doubles), count: t.doubles.length };
  if (e === ElemType.INT64 && nonEmpty(t.int64s)) return { data: BigInt64Array.from(t.int64s), count: t.int64s.length };
  if (e === ElemType.UINT64 && nonEmpty(t.uint64s))
    return { data: BigUint64Array.from(t.uint64s), count: t.uint64s.length };
  // onnx keeps uint32 in uint64_data.
  if (e === ElemType.UINT32 && nonEmpty(t.uint64s)) {
    return { data: Uint32Array.from(t.uint64s, (v) => Number(BigInt.asUintN(32, v))), count: t.uint64s.length };
  }
  // int32_data carries int32 and every narrower type (fp16 as its bits), as onnx writes them.
  const narrow: number[] = [
    ElemType.INT32,
    ElemType.INT8,
    ElemType.INT16,
    ElemType.UINT8,
    ElemType.UINT16,
    ElemType.FLOAT16,
  ];
  if (narrow.includes(e) && nonEmpty(t.int32s)) {
    return { data: (Ctor as Int32ArrayConstructor).from(t.int32s), count: t.int32s.length };
  }
  if (e === ElemType.BOOL && nonEmpty(t.int32s)) return { data: t.int32s.map((v) => v !== 0), count: t.int32s.length };
  return undefined;
}

function emptyOf(elemType: number): TensorData {
  if (elemType === ElemType.STRING) return [];
  if (elemType === ElemType.BOOL) return [];
  return new typedArrayFor[elemType](0);
}

/**
 * Decodes a TensorProto as ONNX test data stores it (`input_0.pb`): raw_data or the typed fields onnx
 * itself writes (float_data, int32_data, int64_data, double_data, uint64_data, string_data).
 */
export function decodeTensorProto(bytes: Uint8Array): { name: string; value: TensorValue } {
  const r: WireReader = new WireReader(bytes, 'ONNX tensor');
  const t = readTensor(r, true);
  const row = datatypeFromOnnx(t.elemType);
  if (!row) r.fail(`unsupported element type ${t.elemType}`, 0);
  if (t.dataLocation === DATA_LOCATION_EXTERNAL || t.external.length > 0) {
    r.fail(`tensor "${t.name}" keeps its values in an external file, which test data cannot`, 0);
  }
  const expected = t.dims.reduce((a, b) => a * b, 1);
  if (t.dims.some((d) => d < 0) || !Number.isSafeInteger(expected)) r.fail(`bad shape [${t.dims.join(', ')}]`, 0);
  let data: TensorData;
  let count: number;
  if (t.raw !== undefined && t.elemType !== ElemType.STRING) {
    if (t.raw.length !== expected * row.bytes) {
      r.fail(
        `tensor "${t.name}" has ${t.raw.length} bytes of raw_data but shape [${t.dims.join(', ')}] of ${row.onnxName} needs ${expected * row.bytes}`,
        0,
      );
    }
    data = fromRaw(t.elemType, t.raw, expected);
    count = expected;
  } else {
    const typed = fromTyped(t);
    data = typed?.data ?? emptyOf(t.elemType);
    count = typed?.count ?? 0;
  }
  if (count !== expected) {
    r.fail(`tensor "${t.name}" has ${count} values but shape [${t.dims.join(', ')}] needs ${expected}`, 0);
  }
  return { name: t.name, value: { datatype: row.oip, shape: t.dims, data } };
}
