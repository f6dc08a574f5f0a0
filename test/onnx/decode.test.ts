import { describe, expect, it } from 'vitest';
import { decodeModel, decodeTensorProto } from '../../src/onnx/decode.js';
import { encodeModel, encodeTensorProto, type ModelSpec } from '../../src/onnx/encode.js';
import { ElemType } from '../../src/onnx/types.js';
import { WireWriter } from '../../src/onnx/wire.js';
import { ModelshipError } from '../../src/errors.js';
import type { TensorValue } from '../../src/runtime/tensor.js';
import { linearClassifierModel } from '../support/onnx-models.js';

const fullSpec: ModelSpec = {
  irVersion: 9,
  opsetImports: [
    { domain: '', version: 17 },
    { domain: 'ai.onnx.ml', version: 3 },
  ],
  producerName: 'tests',
  producerVersion: '1.2.3',
  domain: 'org.example',
  modelVersion: 42,
  docString: 'a model',
  metadataProps: { labels: '["a","b"]', 'modelship.trained_on': 'nothing' },
  graph: {
    name: 'g',
    docString: 'the graph',
    inputs: [
      { name: 'x', elemType: ElemType.FLOAT, shape: ['batch', 3, null] },
      { name: 'unranked', elemType: ElemType.INT64 },
    ],
    outputs: [{ name: 'y', elemType: ElemType.FLOAT, shape: [-1 + 2, 3] }],
    valueInfo: [{ name: 'mid', elemType: ElemType.DOUBLE, shape: [] }],
    initializers: [
      { name: 'w', elemType: ElemType.FLOAT, dims: [2, 2], data: Float32Array.from([1, 2, 3, 4]) },
      { name: 'big', elemType: ElemType.INT64, dims: [1], data: BigInt64Array.from([-(2n ** 40n)]) },
      {
        name: 'ext',
        elemType: ElemType.FLOAT,
        dims: [8],
        external: { location: 'weights.bin', offset: 0, length: 32 },
      },
      { name: 'names', elemType: ElemType.STRING, dims: [2], data: ['p', 'q'] },
    ],
    nodes: [
      {
        opType: 'Custom',
        domain: 'com.example',
        name: 'n0',
        inputs: ['x', ''],
        outputs: ['mid'],
        attributes: {
          f: { type: 'float', value: 0.5 },
          i: { type: 'int', value: -7 },
          s: { type: 'string', value: 'héllo' },
          fs: { type: 'floats', value: [1.5, -2] },
          is: { type: 'ints', value: [1, -1, 2 ** 40] },
          ss: { type: 'strings', value: ['a', 'b'] },
          t: {
            type: 'tensor',
            value: { name: 'c', elemType: ElemType.FLOAT, dims: [1], data: Float32Array.from([9]) },
          },
          body: {
            type: 'graph',
            value: {
              name: 'inner',
              inputs: [],
              outputs: [{ name: 'o', elemType: ElemType.BOOL, shape: [1] }],
              nodes: [{ opType: 'Constant', inputs: [], outputs: ['o'] }],
            },
          },
        },
      },
      { opType: 'Identity', inputs: ['mid'], outputs: ['y'] },
    ],
  },
};

function decodeErrorOf(bytes: Uint8Array, decode: (b: Uint8Array) => unknown = decodeModel): ModelshipError {
  try {
    decode(bytes);
  } catch (error) {
    if (error instanceof ModelshipError) return error;
    throw new Error(`expected a ModelshipError, got ${String(error)}`);
  }
  throw new Error('expected decoding to fail');
}

describe('decodeModel', () => {
  it('reads back everything the encoder wrote', () => {
    const bytes = encodeModel(fullSpec);
    const model = decodeModel(bytes);
    expect(model).toMatchObject({
      irVersion: 9,
      opsetImports: fullSpec.opsetImports,
      producerName: 'tests',
      producerVersion: '1.2.3',
      domain: 'org.example',
      modelVersion: 42,
      docString: 'a model',
      metadataProps: fullSpec.metadataProps,
    });
    const g = model.graph;
    expect(g.name).toBe('g');
    expect(g.docString).toBe('the graph');
    expect(g.inputs).toEqual([
      { name: 'x', elemType: ElemType.FLOAT, shape: ['batch', 3, null] },
      { name: 'unranked', elemType: ElemType.INT64 },
    ]);
    expect(g.outputs).toEqual([{ name: 'y', elemType: ElemType.FLOAT, shape: [1, 3] }]);
    expect(g.valueInfo).toEqual([{ name: 'mid', elemType: ElemType.DOUBLE, shape: [] }]);
    const [w, big, ext, names] = g.initializers;
    expect(w).toMatchObject({ name: 'w', elemType: ElemType.FLOAT, dims: [2, 2], byteSize: 16, storage: 'raw' });
    expect(Array.from(new Float32Array(w.rawData!.slice().buffer))).toEqual([1, 2, 3, 4]);
    expect(big).toMatchObject({ dims: [1], byteSize: 8, storage: 'raw' });
    expect(ext).toMatchObject({
      storage: 'external',
      byteSize: 0,
      external: { location: 'weights.bin', offset: 0, length: 32 },
    });
    expect(names).toMatchObject({ elemType: ElemType.STRING, storage: 'typed', byteSize: 2 });
    const [n0, n1] = g.nodes;
    expect(n0).toMatchObject({
      opType: 'Custom',
      domain: 'com.example',
      name: 'n0',
      inputs: ['x', ''],
      outputs: ['mid'],
    });
    expect(n0.attributes.f).toEqual({ type: 'float', value: 0.5 });
    expect(n0.attributes.i).toEqual({ type: 'int', value: -7 });
    expect(n0.attributes.s).toEqual({ type: 'string', value: 'héllo' });
    expect(n0.attributes.fs).toEqual({ type: 'floats', value: [1.5, -2] });
    expect(n0.attributes.is).toEqual({ type: 'ints', value: [1, -1, 2 ** 40] });
    expect(n0.attributes.ss).toEqual({ type: 'strings', value: ['a', 'b'] });
    expect(n0.attributes.t).toMatchObject({ type: 'tensor', value: { name: 'c', dims: [1], byteSize: 4 } });
    const body = n0.attributes.body;
    expect(body.type).toBe('graph');
    if (body.type === 'graph') {
      expect(body.value.name).toBe('inner');
      expect(body.value.outputs).toEqual([{ name: 'o', elemType: ElemType.BOOL, shape: [1] }]);
      expect(body.value.nodes[0].opType).toBe('Constant');
    }
    expect(n1).toMatchObject({ opType: 'Identity', domain: '', name: '', inputs: ['mid'], outputs: ['y'] });
  });

  it('keeps raw_data as a view of the input, not a copy', () => {
    const bytes = encodeModel(linearClassifierModel({ weights: [[1, 2, 3]], bias: [0, 0, 0] }));
    const model = decodeModel(bytes);
    for (const init of model.graph.initializers) {
      expect(init.rawData!.buffer).toBe(bytes.buffer);
      expect(init.rawData!.byteOffset).toBeGreaterThan(bytes.byteOffset);
    }
  });

  it('parses a 200 MB model without copying its weights', () => {
    const floats = 10_000_000;
    const layer = (name: string, seed: number) => {
      const data = new Float32Array(floats);
      data[0] = seed;
      data[floats - 1] = -seed;
      return { name, elemType: ElemType.FLOAT, dims: [floats / 1000, 1000], data };
    };
    const bytes = encodeModel({
      graph: {
        name: 'big',
        inputs: [{ name: 'x', elemType: ElemType.FLOAT, shape: ['batch', 1000] }],
        outputs: [{ name: 'y', elemType: ElemType.FLOAT, shape: ['batch', 1000] }],
        initializers: [1, 2, 3, 4, 5].map((i) => layer(`w${i}`, i)),
        nodes: [{ opType: 'Identity', inputs: ['x'], outputs: ['y'] }],
      },
    });
    expect(bytes.length).toBeGreaterThan(200_000_000);
    const model = decodeModel(bytes);
    expect(model.graph.initializers).toHaveLength(5);
    model.graph.initializers.forEach((init, i) => {
      expect(init.rawData!.buffer).toBe(bytes.buffer);
      expect(init.byteSize).toBe(floats * 4);
      const view = new DataView(init.rawData!.buffer, init.rawData!.byteOffset, init.rawData!.byteLength);
      expect(view.getFloat32(0, true)).toBe(i + 1);
      expect(view.getFloat32(floats * 4 - 4, true)).toBe(-(i + 1));
    });
  });

  it('accepts packed and unpacked dims, ints and typed initializer fields', () => {
    const tensor = new WireWriter();
    tensor.tag(1, 2).varint(2).varint(2).varint(3); // dims packed: [2, 3]
    tensor.varintField(2, ElemType.FLOAT);
    tensor.stringField(8, 't');
    for (let i = 0; i < 6; i++) tensor.floatField(4, i); // float_data unpacked
    const attr = new WireWriter().stringField(1, 'perm').tag(8, 2).varint(2).varint(1).varint(0).varintField(20, 7);
    const node = new WireWriter()
      .stringField(1, 'x')
      .stringField(2, 'y')
      .stringField(4, 'Transpose')
      .messageField(5, attr);
    const graph = new WireWriter().messageField(1, node).stringField(2, 'g').messageField(5, tensor);
    const model = decodeModel(new WireWriter().varintField(1, 8).messageField(7, graph).toBytes());
    expect(model.graph.initializers[0]).toMatchObject({ name: 't', dims: [2, 3], storage: 'typed', byteSize: 24 });
    expect(model.graph.nodes[0].attributes.perm).toEqual({ type: 'ints', value: [1, 0] });
  });
});

const everyDtype: TensorValue[] = [
  { datatype: 'BOOL', shape: [2, 2], data: [true, false, false, true] },
  { datatype: 'UINT8', shape: [3], data: Uint8Array.from([0, 128, 255]) },
  { datatype: 'UINT16', shape: [2], data: Uint16Array.from([1, 65535]) },
  { datatype: 'UINT32', shape: [2], data: Uint32Array.from([1, 2 ** 32 - 1]) },
  { datatype: 'UINT64', shape: [2], data: BigUint64Array.from([1n, 2n ** 64n - 1n]) },
  { datatype: 'INT8', shape: [2], data: Int8Array.from([-128, 127]) },
  { datatype: 'INT16', shape: [2], data: Int16Array.from([-32768, 32767]) },
  { datatype: 'INT32', shape: [1, 2], data: Int32Array.from([-(2 ** 31), 2 ** 31 - 1]) },
  { datatype: 'INT64', shape: [2], data: BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n]) },
  { datatype: 'FP16', shape: [3], data: Uint16Array.from([0x3c00, 0x7e00, 0x8001]) },
  { datatype: 'FP32', shape: [2, 1, 2], data: Float32Array.from([1.5, -0, NaN, Infinity]) },
  { datatype: 'FP64', shape: [], data: Float64Array.from([Math.PI]) },
  { datatype: 'BYTES', shape: [3], data: ['', 'ascii', 'ünïcödé ✓'] },
  { datatype: 'FP32', shape: [0, 4], data: new Float32Array(0) },
  { datatype: 'BYTES', shape: [0], data: [] },
];

describe('TensorProto', () => {
  it.each(everyDtype.map((v) => [`${v.datatype} [${v.shape.join(',')}]`, v] as const))(
    'round-trips %s',
    (_label, value) => {
      const bytes = encodeTensorProto('t_0', value);
      const decoded = decodeTensorProto(bytes);
      expect(decoded.name).toBe('t_0');
      expect(decoded.value.datatype).toBe(value.datatype);
      expect(decoded.value.shape).toEqual(value.shape);
      expect(decoded.value.data.constructor).toBe(value.data.constructor);
      expect(Array.from(decoded.value.data as ArrayLike<unknown>)).toEqual(
        Array.from(value.data as ArrayLike<unknown>),
      );
    },
  );

  it('decodes raw_data that sits at an odd offset', () => {
    const bytes = encodeTensorProto('odd_name', { datatype: 'FP64', shape: [2], data: Float64Array.from([1.25, -3]) });
    const shifted = new Uint8Array(bytes.length + 1).subarray(1);
    shifted.set(bytes);
    expect(Array.from(decodeTensorProto(shifted).value.data as Float64Array)).toEqual([1.25, -3]);
  });

  // onnx.numpy_helper and older exporters write typed fields instead of raw_data.
  const typed = (elemType: number, dims: number[], write: (w: WireWriter) => void) => {
    const w = new WireWriter();
    for (const d of dims) w.varintField(1, d);
    w.varintField(2, elemType);
    write(w);
    return decodeTensorProto(w.stringField(8, 'v').toBytes()).value;
  };
  const packed = (w: WireWriter, field: number, values: Array<number | bigint>) => {
    const inner = new WireWriter();
    for (const v of values) inner.varint(v);
    w.messageField(field, inner);
  };

  it('decodes float_data, packed and unpacked', () => {
    const unpacked = typed(ElemType.FLOAT, [2], (w) => w.floatField(4, 1.5).floatField(4, -2));
    expect(unpacked).toEqual({ datatype: 'FP32', shape: [2], data: Float32Array.from([1.5, -2]) });
    const packedFloats = typed(ElemType.FLOAT, [2], (w) => {
      const inner = new Uint8Array(8);
      new DataView(inner.buffer).setFloat32(0, 3, true);
      new DataView(inner.buffer).setFloat32(4, 4, true);
      w.bytesField(4, inner);
    });
    expect(packedFloats.data).toEqual(Float32Array.from([3, 4]));
  });

  it('decodes int32_data for int32 and every narrower type', () => {
    expect(typed(ElemType.INT32, [2], (w) => packed(w, 5, [-1, 7])).data).toEqual(Int32Array.from([-1, 7]));
    expect(typed(ElemType.INT8, [2], (w) => packed(w, 5, [-128, 127])).data).toEqual(Int8Array.from([-128, 127]));
    expect(typed(ElemType.INT16, [1], (w) => w.varintField(5, -300)).data).toEqual(Int16Array.from([-300]));
    expect(typed(ElemType.UINT8, [2], (w) => packed(w, 5, [0, 255])).data).toEqual(Uint8Array.from([0, 255]));
    expect(typed(ElemType.UINT16, [1], (w) => packed(w, 5, [65535])).data).toEqual(Uint16Array.from([65535]));
    expect(typed(ElemType.FLOAT16, [1], (w) => packed(w, 5, [0x3c00])).data).toEqual(Uint16Array.from([0x3c00]));
    expect(typed(ElemType.BOOL, [3], (w) => packed(w, 5, [1, 0, 1])).data).toEqual([true, false, true]);
  });

  it('decodes int64_data, uint64_data (uint32, uint64), double_data and string_data', () => {
    expect(typed(ElemType.INT64, [2], (w) => packed(w, 7, [-(2n ** 62n), 5n])).data).toEqual(
      BigInt64Array.from([-(2n ** 62n), 5n]),
    );
    expect(typed(ElemType.UINT64, [1], (w) => packed(w, 11, [2n ** 64n - 1n])).data).toEqual(
      BigUint64Array.from([2n ** 64n - 1n]),
    );
    expect(typed(ElemType.UINT32, [1], (w) => w.varintField(11, 2 ** 32 - 1)).data).toEqual(
      Uint32Array.from([2 ** 32 - 1]),
    );
    const doubles = new Uint8Array(8);
    new DataView(doubles.buffer).setFloat64(0, Math.E, true);
    expect(typed(ElemType.DOUBLE, [1], (w) => w.bytesField(10, doubles)).data).toEqual(Float64Array.from([Math.E]));
    expect(typed(ElemType.STRING, [2], (w) => w.stringField(6, 'x').stringField(6, 'yz')).data).toEqual(['x', 'yz']);
  });

  // Bytes written by onnx 1.12 `helper.make_tensor(name, type, dims, vals)`, which uses the typed fields.
  const writtenByOnnx: Array<[string, TensorValue]> = [
    ['0802100122080000c03f000000c0420166', { datatype: 'FP32', shape: [2], data: Float32Array.from([1.5, -2]) }],
    [
      '080310032a0c80ffffffffffffffff01007f42026938',
      { datatype: 'INT8', shape: [3], data: Int8Array.from([-128, 0, 127]) },
    ],
    ['080210042a0400ffff034203753136', { datatype: 'UINT16', shape: [2], data: Uint16Array.from([0, 65535]) }],
    ['0802100a2a058078808003420168', { datatype: 'FP16', shape: [2], data: Uint16Array.from([0x3c00, 0xc000]) }],
    ['080310092a03010001420162', { datatype: 'BOOL', shape: [3], data: [true, false, true] }],
    [
      '080210073a0b8080808080808080c001074203693634',
      { datatype: 'INT64', shape: [2], data: BigInt64Array.from([-(2n ** 62n), 7n]) },
    ],
    ['0801100c42037533325a05ffffffff0f', { datatype: 'UINT32', shape: [1], data: Uint32Array.from([2 ** 32 - 1]) }],
    [
      '0801100d42037536345a0affffffffffffffffff01',
      { datatype: 'UINT64', shape: [1], data: BigUint64Array.from([2n ** 64n - 1n]) },
    ],
    [
      '08010802100b42016452109a9999999999b93f9c7500883ce437fe',
      { datatype: 'FP64', shape: [1, 2], data: Float64Array.from([0.1, -1e300]) },
    ],
    ['08021008320261623202c3bc420173', { datatype: 'BYTES', shape: [2], data: ['ab', 'ü'] }],
  ];
  it.each(writtenByOnnx.map(([hex, value]) => [value.datatype, hex, value] as const))(
    'decodes %s as onnx writes it with typed fields',
    (_label, hex, value) => {
      expect(decodeTensorProto(Buffer.from(hex, 'hex')).value).toEqual(value);
    },
  );

  it('decodes from a pooled Node Buffer, whose slice is not a copy', () => {
    const bytes = encodeTensorProto('pooled', { datatype: 'INT32', shape: [3], data: Int32Array.from([7, -8, 9]) });
    const pooled = Buffer.from(bytes);
    expect(pooled.byteOffset + pooled.length).toBeLessThanOrEqual(pooled.buffer.byteLength);
    expect(decodeTensorProto(pooled).value.data).toEqual(Int32Array.from([7, -8, 9]));
  });

  it('refuses values that do not fill the shape', () => {
    const short = new WireWriter().varintField(1, 4).varintField(2, ElemType.FLOAT).stringField(8, 's');
    short.bytesField(9, new Uint8Array(12));
    expect(decodeErrorOf(short.toBytes(), decodeTensorProto).message).toMatch(/12 bytes of raw_data .* needs 16/);
    const few = new WireWriter().varintField(1, 3).varintField(2, ElemType.INT64);
    packed(few, 7, [1n, 2n]);
    expect(decodeErrorOf(few.toBytes(), decodeTensorProto).message).toMatch(/2 values but shape \[3\] needs 3/);
    const bf16 = new WireWriter().varintField(1, 1).varintField(2, ElemType.BFLOAT16).bytesField(9, new Uint8Array(2));
    expect(decodeErrorOf(bf16.toBytes(), decodeTensorProto).code).toBe('ONNX_DECODE');
  });
});

describe('malformed input', () => {
  const good = encodeModel(fullSpec);

  it('never fails other than with ONNX_DECODE, for every truncation', () => {
    for (let length = 0; length < good.length; length++) {
      try {
        decodeModel(good.subarray(0, length));
      } catch (error) {
        expect(error).toBeInstanceOf(ModelshipError);
        expect((error as ModelshipError).code).toBe('ONNX_DECODE');
        expect((error as ModelshipError).message).toMatch(/^Cannot decode ONNX model: .+ at byte \d+$/);
      }
    }
    expect(decodeErrorOf(good.subarray(0, good.length - 20)).message).toMatch(/runs past the end|truncated/);
  });

  it('never fails other than with ONNX_DECODE, for seeded random bytes and bit flips', () => {
    let state = 12345;
    const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 8;
    for (let round = 0; round < 2000; round++) {
      const bytes = round % 2 === 0 ? Uint8Array.from({ length: next() % 200 }, () => next() & 0xff) : good.slice();
      if (round % 2 === 1) for (let flips = 0; flips < 3; flips++) bytes[next() % bytes.length] ^= 1 << (next() % 8);
      for (const decode of [decodeModel, decodeTensorProto]) {
        try {
          decode(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(ModelshipError);
          expect((error as ModelshipError).code).toBe('ONNX_DECODE');
        }
      }
    }
  });

  it('names a bad wire type, a length past the end, an overlong varint, field 0 and deep nesting', () => {
    expect(decodeErrorOf(Uint8Array.from([0x08, 0x08, 0x3b])).message).toBe(
      'Cannot decode ONNX model: bad wire type 3 at byte 2',
    );
    expect(decodeErrorOf(Uint8Array.from([0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00])).message).toMatch(
      /length .* runs past the end \(1 bytes left\) at byte 1/,
    );
    expect(decodeErrorOf(Uint8Array.from([0x08, ...new Array(10).fill(0xff), 0x01])).message).toBe(
      'Cannot decode ONNX model: varint too long at byte 1',
    );
    expect(decodeErrorOf(Uint8Array.from([0x00, 0x01])).message).toBe(
      'Cannot decode ONNX model: field number 0 at byte 0',
    );
    expect(decodeErrorOf(Uint8Array.from([0x08, 0x08])).message).toMatch(/no graph/);
    let graph = new WireWriter().stringField(2, 'leaf');
    for (let depth = 0; depth < 40; depth++) {
      const attr = new WireWriter().stringField(1, 'body').messageField(6, graph).varintField(20, 5);
      const node = new WireWriter().stringField(4, 'If').messageField(5, attr);
      graph = new WireWriter().messageField(1, node);
    }
    const deep = new WireWriter().varintField(1, 8).messageField(7, graph).toBytes();
    expect(decodeErrorOf(deep).message).toMatch(/nested deeper than 64/);
    expect(decodeErrorOf(deep).hint).toMatch(/git lfs pull/);
  });
});
