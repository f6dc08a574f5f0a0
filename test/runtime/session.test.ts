import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelshipError } from '../../src/errors.js';
import { memoryLogger } from '../../src/log.js';
import { ElemType } from '../../src/onnx/types.js';
import { TYPED_ARRAYS, numberToFloat16 } from '../../src/runtime/convert.js';
import { DATATYPES } from '../../src/runtime/datatypes.js';
import { openSession } from '../../src/runtime/session.js';
import type { TensorValue } from '../../src/runtime/tensor.js';
import { encodeModel, type NodeSpec } from '../../src/onnx/encode.js';
import { WireWriter } from '../../src/onnx/wire.js';
import type { ValueInfo } from '../../src/onnx/types.js';
import { identityModel } from '../support/onnx-models.js';

function model(nodes: NodeSpec[], inputs: ValueInfo[], outputs: ValueInfo[]): Uint8Array {
  return encodeModel({ graph: { name: 'test', nodes, inputs, outputs } });
}

/** sum = a + b, float32 [batch, 3]. */
const addModel = () =>
  model(
    [{ opType: 'Add', inputs: ['a', 'b'], outputs: ['sum'] }],
    [
      { name: 'a', elemType: ElemType.FLOAT, shape: ['batch', 3] },
      { name: 'b', elemType: ElemType.FLOAT, shape: ['batch', 3] },
    ],
    [{ name: 'sum', elemType: ElemType.FLOAT, shape: ['batch', 3] }],
  );

/**
 * y = Identity(x) and seq = SequenceConstruct(x): one tensor output and one sequence output. The model
 * encoder writes tensor types only, so the sequence type is written by hand (onnx.proto field numbers).
 */
function sequenceOutputModel(): Uint8Array {
  const tensorType = (dims: Array<number | null>) => {
    const shape = new WireWriter();
    for (const dim of dims)
      shape.messageField(1, dim === null ? new WireWriter() : new WireWriter().varintField(1, dim));
    return new WireWriter().varintField(1, ElemType.FLOAT).messageField(2, shape);
  };
  const tensor = (dims: Array<number | null>) => new WireWriter().messageField(1, tensorType(dims));
  const valueInfo = (name: string, type: WireWriter) => new WireWriter().stringField(1, name).messageField(2, type);
  const node = (op: string, output: string) =>
    new WireWriter().stringField(1, 'x').stringField(2, output).stringField(3, op).stringField(4, op);
  const sequence = new WireWriter().messageField(4, new WireWriter().messageField(1, tensor([null, 4])));
  const graph = new WireWriter()
    .messageField(1, node('Identity', 'y'))
    .messageField(1, node('SequenceConstruct', 'seq'))
    .stringField(2, 'test')
    .messageField(11, valueInfo('x', tensor([null, 4])))
    .messageField(12, valueInfo('y', tensor([null, 4])))
    .messageField(12, valueInfo('seq', sequence));
  return new WireWriter()
    .varintField(1, 8)
    .messageField(7, graph)
    .messageField(8, new WireWriter().stringField(1, '').varintField(2, 17))
    .toBytes();
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'modelship-session-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<ModelshipError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelshipError);
  return error as ModelshipError;
}

/** Six sample values of each datatype, chosen to survive a round trip exactly (FP16 as bits). */
function sample(datatype: TensorValue['datatype']): TensorValue['data'] {
  switch (datatype) {
    case 'BOOL':
      return [true, false, false, true, true, false];
    case 'BYTES':
      return ['a', '', 'ünïcødé', 'x y', '0', 'last'];
    case 'FP16':
      return Uint16Array.from([1, -2, 0.5, 65504, -0.25, 3], numberToFloat16);
    case 'INT64':
      return BigInt64Array.from([-9223372036854775808n, -1n, 0n, 1n, 42n, 9223372036854775807n]);
    case 'UINT64':
      return BigUint64Array.from([0n, 1n, 2n, 3n, 2n ** 63n, 18446744073709551615n]);
    case 'INT8':
      return Int8Array.from([-128, -1, 0, 1, 100, 127]);
    case 'UINT8':
      return Uint8Array.from([0, 1, 2, 128, 254, 255]);
    case 'INT16':
      return Int16Array.from([-32768, -1, 0, 1, 1000, 32767]);
    case 'UINT16':
      return Uint16Array.from([0, 1, 2, 1000, 40000, 65535]);
    case 'INT32':
      return Int32Array.from([-2147483648, -1, 0, 1, 123456, 2147483647]);
    case 'UINT32':
      return Uint32Array.from([0, 1, 2, 123456, 3000000000, 4294967295]);
    case 'FP32':
      return Float32Array.from([-1.5, 0, 1e-30, 3.25, NaN, Infinity]);
    case 'FP64':
      return Float64Array.from([-1.5, 0, 1e-300, Math.PI, NaN, -Infinity]);
  }
}

describe('openSession', () => {
  it('opens a model from bytes and reads its signature with symbolic dims', async () => {
    const session = await openSession(addModel());
    expect(session.signature).toEqual({
      inputs: [
        { name: 'a', datatype: 'FP32', shape: ['batch', 3] },
        { name: 'b', datatype: 'FP32', shape: ['batch', 3] },
      ],
      outputs: [{ name: 'sum', datatype: 'FP32', shape: ['batch', 3] }],
    });
    const result = await session.run({
      a: { datatype: 'FP32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
      b: { datatype: 'FP32', shape: [2, 3], data: Float32Array.from([10, 20, 30, 40, 50, 60]) },
    });
    expect(result.sum.shape).toEqual([2, 3]);
    expect(Array.from(result.sum.data as Float32Array)).toEqual([11, 22, 33, 44, 55, 66]);
    await session.release();
    await session.release(); // a second release is harmless
  });

  it('opens a model from a path, and from a view into a larger buffer', async () => {
    const file = path.join(dir, 'add.onnx');
    await writeFile(file, addModel());
    const fromPath = await openSession(file, { intraOpThreads: 1, interOpThreads: 1 });
    expect(fromPath.signature.inputs.map((input) => input.name)).toEqual(['a', 'b']);
    await fromPath.release();

    const bytes = addModel();
    const padded = new Uint8Array(bytes.length + 16);
    padded.set(bytes, 7);
    const fromView = await openSession(padded.subarray(7, 7 + bytes.length));
    expect(fromView.signature.outputs[0].name).toBe('sum');
    await fromView.release();
  });

  it('reports an unnamed variable dimension as -1 and leaves non-tensor outputs out with a warning', async () => {
    const log = memoryLogger();
    const session = await openSession(sequenceOutputModel(), { log });
    expect(session.signature.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [-1, 4] }]);
    expect(session.signature.outputs.map((output) => output.name)).toEqual(['y']);
    expect(log.lines.some((line) => line.startsWith('warn:') && line.includes("'seq'"))).toBe(true);
    const out = await session.run({ x: { datatype: 'FP32', shape: [1, 4], data: Float32Array.from([1, 2, 3, 4]) } });
    expect(Object.keys(out)).toEqual(['y']);
    await session.release();
  });

  it('runs only the outputs asked for', async () => {
    const session = await openSession(
      model(
        [
          { opType: 'Neg', inputs: ['x'], outputs: ['neg'] },
          { opType: 'Abs', inputs: ['x'], outputs: ['abs'] },
        ],
        [{ name: 'x', elemType: ElemType.FLOAT, shape: [3] }],
        [
          { name: 'neg', elemType: ElemType.FLOAT, shape: [3] },
          { name: 'abs', elemType: ElemType.FLOAT, shape: [3] },
        ],
      ),
    );
    const out = await session.run({ x: { datatype: 'FP32', shape: [3], data: Float32Array.from([-1, 2, -3]) } }, [
      'abs',
    ]);
    expect(Object.keys(out)).toEqual(['abs']);
    expect(Array.from(out.abs.data as Float32Array)).toEqual([1, 2, 3]);
    await session.release();
  });
});

describe('every datatype through onnxruntime', () => {
  for (const row of DATATYPES) {
    it(`${row.oip} goes in and comes back unchanged through an Identity model`, async () => {
      const session = await openSession(encodeModel(identityModel({ dtype: row.oip, shape: ['batch', 2] })));
      expect(session.signature.inputs[0]).toEqual({ name: 'X', datatype: row.oip, shape: ['batch', 2] });
      const data = sample(row.oip);
      const value = { datatype: row.oip, shape: [3, 2], data } as TensorValue;
      const { Y: y } = await session.run({ X: value });
      expect(y.datatype).toBe(row.oip);
      expect(y.shape).toEqual([3, 2]);
      if (row.oip === 'BOOL' || row.oip === 'BYTES') {
        expect(y.data).toEqual(data);
      } else {
        expect(y.data).toBeInstanceOf(TYPED_ARRAYS[row.oip]);
        expect(Array.from(y.data as Float32Array)).toEqual(Array.from(data as Float32Array));
      }
      await session.release();
    });
  }
});

describe('BAD CALL - errors', () => {
  it('a missing file is MODEL_LOAD_FAILED naming the file', async () => {
    const missing = path.join(dir, 'nope.onnx');
    const error = await rejection(openSession(missing));
    expect(error.code).toBe('MODEL_LOAD_FAILED');
    expect(error.message).toContain(missing);
    expect(error.location?.file).toBe(missing);
  });

  it('random bytes are MODEL_LOAD_FAILED carrying onnxruntime’s message', async () => {
    const error = await rejection(openSession(Uint8Array.from([8, 1, 0xff, 0xff, 0xff, 0x13, 0x37])));
    expect(error.code).toBe('MODEL_LOAD_FAILED');
    expect(error.message).toMatch(/^onnxruntime could not load a 7-byte model: .+/);
  });

  it('a model onnxruntime rejects (unknown operator) is MODEL_LOAD_FAILED', async () => {
    const unknownOp = model(
      [{ opType: 'NoSuchOperator', inputs: ['x'], outputs: ['y'] }],
      [{ name: 'x', elemType: ElemType.FLOAT, shape: [1] }],
      [{ name: 'y', elemType: ElemType.FLOAT, shape: [1] }],
    );
    const error = await rejection(openSession(unknownOp));
    expect(error.code).toBe('MODEL_LOAD_FAILED');
    expect(error.message).toContain('NoSuchOperator');
  });

  it('bad feeds are TENSOR_INVALID with the reason', async () => {
    const session = await openSession(addModel());
    const a: TensorValue = { datatype: 'FP32', shape: [1, 3], data: Float32Array.from([1, 2, 3]) };
    const cases: Array<[Record<string, TensorValue>, string[] | undefined, RegExp]> = [
      [{ a }, undefined, /Missing input 'b'/],
      [{ a, b: a, c: a }, undefined, /Unknown input 'c'; the model's inputs are 'a', 'b'/],
      [{ a, b: { ...a, datatype: 'FP64', data: Float64Array.from([1, 2, 3]) } }, undefined, /'b' is FP32, got FP64/],
      [{ a, b: { ...a, shape: [3, 1] } }, undefined, /'b' has shape \[batch, 3\], got \[3, 1\]/],
      [{ a, b: { ...a, shape: [2, 3] } }, undefined, /holds 6 elements, data has 3/],
      [
        { a, b: { ...a, data: Int32Array.from([1, 2, 3]) } },
        undefined,
        /FP32 data must be a Float32Array, got a Int32Array/,
      ],
      [{ a, b: a }, ['nope'], /Unknown output 'nope'/],
    ];
    for (const [feeds, outputs, reason] of cases) {
      const error = await rejection(session.run(feeds, outputs));
      expect(error.code).toBe('TENSOR_INVALID');
      expect(error.message).toMatch(reason);
    }
    await session.release();
  });

  it('a failure inside onnxruntime is INFERENCE_FAILED', async () => {
    const session = await openSession(
      model(
        [{ opType: 'Reshape', inputs: ['x', 'shape'], outputs: ['y'] }],
        [
          { name: 'x', elemType: ElemType.FLOAT, shape: [6] },
          { name: 'shape', elemType: ElemType.INT64, shape: [2] },
        ],
        [{ name: 'y', elemType: ElemType.FLOAT, shape: [null, null] }],
      ),
    );
    const x: TensorValue = { datatype: 'FP32', shape: [6], data: new Float32Array(6) };
    const ok = await session.run({ x, shape: { datatype: 'INT64', shape: [2], data: BigInt64Array.from([2n, 3n]) } });
    expect(ok.y.shape).toEqual([2, 3]);
    const error = await rejection(
      session.run({ x, shape: { datatype: 'INT64', shape: [2], data: BigInt64Array.from([5n, 5n]) } }),
    );
    expect(error.code).toBe('INFERENCE_FAILED');
    expect(error.message).toMatch(/^onnxruntime failed to run the model: .*cannot be reshaped/);
    await session.release();
    const released = await rejection(session.run({ x, shape: ok.y as never }));
    expect(released.code).toBe('INFERENCE_FAILED');
  });
});
