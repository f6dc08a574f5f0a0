import { describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import { encodeModel } from '../../src/onnx/encode.js';
import { addModel, identityModel, linearClassifierModel } from '../support/onnx-models.js';

const session = (bytes: Uint8Array) => ort.InferenceSession.create(bytes);

describe('encodeModel', () => {
  it('writes the same bytes for the same spec', () => {
    const spec = linearClassifierModel({
      weights: [
        [1, 2],
        [3, 4],
      ],
      bias: [0, 1],
      labels: ['a', 'b'],
    });
    expect(encodeModel(spec)).toEqual(encodeModel(structuredClone(spec)));
  });

  it('builds an identity model that onnxruntime runs, for several datatypes', async () => {
    const cases = [
      { dtype: 'FP32', ort: 'float32', data: Float32Array.from([1.5, -2, 3]) },
      { dtype: 'INT64', ort: 'int64', data: BigInt64Array.from([1n, -(2n ** 40n), 3n]) },
      { dtype: 'UINT8', ort: 'uint8', data: Uint8Array.from([0, 7, 255]) },
      { dtype: 'BOOL', ort: 'bool', data: Uint8Array.from([1, 0, 1]) },
      { dtype: 'BYTES', ort: 'string', data: ['a', 'bé', ''] },
      { dtype: 'FP16', ort: 'float16', data: Uint16Array.from([0x3c00, 0xc000, 0]) },
    ] as const;
    for (const c of cases) {
      const s = await session(encodeModel(identityModel({ dtype: c.dtype, shape: [3] })));
      const out = await s.run({ X: new ort.Tensor(c.ort, c.data as never, [3]) });
      expect(out.Y.type).toBe(c.ort);
      expect(Array.from(out.Y.data as ArrayLike<unknown>)).toEqual(Array.from(c.data as ArrayLike<unknown>));
    }
  });

  it('builds an add model whose constant is applied', async () => {
    const s = await session(encodeModel(addModel({ constant: [1, 10, 100] })));
    const out = await s.run({ X: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]) });
    expect(Array.from(out.Y.data as Float32Array)).toEqual([2, 12, 103, 5, 15, 106]);
  });

  it('builds a linear classifier with label and probabilities outputs', async () => {
    const spec = linearClassifierModel({
      weights: [
        [1, 0, 0],
        [0, 1, 0],
      ],
      bias: [0, 0, 0.5],
      labels: ['a', 'b', 'c'],
    });
    const s = await session(encodeModel(spec));
    expect(s.inputNames).toEqual(['features']);
    expect(s.outputNames).toEqual(['label', 'probabilities']);
    const out = await s.run({ features: new ort.Tensor('float32', Float32Array.from([3, 0, 0, 3, 0, 0]), [3, 2]) });
    expect(out.label.type).toBe('int64');
    expect(out.label.dims).toEqual([3]);
    expect(Array.from(out.label.data as BigInt64Array)).toEqual([0n, 1n, 2n]);
    expect(out.probabilities.dims).toEqual([3, 3]);
    const p = out.probabilities.data as Float32Array;
    for (let row = 0; row < 3; row++) expect(p[row * 3] + p[row * 3 + 1] + p[row * 3 + 2]).toBeCloseTo(1, 5);
  });
});
