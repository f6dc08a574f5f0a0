import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ModelshipError } from '../../src/errors.js';
import {
  concatBatch,
  elementCount,
  float16ToNumber,
  fromOrtTensor,
  int64ToNumbers,
  numberToFloat16,
  splitBatch,
  tensorFromNested,
  tensorToJsonData,
  toOrtTensor,
} from '../../src/runtime/convert.js';
import { DATATYPES } from '../../src/runtime/datatypes.js';
import type { OrtModule } from '../../src/runtime/onnxruntime.js';
import type { TensorValue } from '../../src/runtime/tensor.js';

const ortModule = ort as unknown as OrtModule;

function thrown(work: () => unknown): ModelshipError {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(ModelshipError);
    return error as ModelshipError;
  }
  throw new Error('expected a ModelshipError');
}

const fp32 = (shape: number[], values: number[]): TensorValue => ({
  datatype: 'FP32',
  shape,
  data: Float32Array.from(values),
});

describe('elementCount', () => {
  it('multiplies dimensions; a scalar holds one element, an empty dimension none', () => {
    expect(elementCount([2, 3, 4])).toBe(24);
    expect(elementCount([])).toBe(1);
    expect(elementCount([5, 0])).toBe(0);
  });
});

describe('TensorValue <-> ort.Tensor', () => {
  it('converts every datatype both ways with the ORT type from the table', () => {
    for (const row of DATATYPES) {
      const value = tensorFromNested(
        row.oip,
        [2, 2],
        row.oip === 'BOOL' ? [true, false, true, true] : row.oip === 'BYTES' ? ['a', 'b', 'c', 'd'] : [1, 0, 2, 3],
      );
      const tensor = toOrtTensor(ortModule, value);
      expect(tensor.type).toBe(row.ort);
      expect(tensor.dims).toEqual([2, 2]);
      const back = fromOrtTensor(tensor);
      expect(back).toEqual(value);
    }
  });

  it('keeps FP16 as raw bits, whichever array onnxruntime hands back', () => {
    const bits = Uint16Array.from([0x3c00, 0xc000, 0x7bff]);
    const back = fromOrtTensor(new ort.Tensor('float16', bits, [3]));
    expect(back.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(back.data as Uint16Array)).toEqual([0x3c00, 0xc000, 0x7bff]);
  });

  it('BAD CALL - refuses data of the wrong array type or length', () => {
    expect(thrown(() => toOrtTensor(ortModule, { ...fp32([2], [1, 2]), data: [1, 2] as never })).message).toMatch(
      /FP32 data must be a Float32Array, got an array of numbers/,
    );
    expect(thrown(() => toOrtTensor(ortModule, fp32([2, 2], [1, 2]))).message).toMatch(
      /shape \[2, 2\] holds 4 elements, data has 2/,
    );
    expect(thrown(() => toOrtTensor(ortModule, { ...fp32([1], [1]), datatype: 'FLOAT' as never })).code).toBe(
      'TENSOR_INVALID',
    );
  });
});

describe('int64ToNumbers', () => {
  it('reads 64-bit integers as Number(bigint) does, into a given buffer when it is large enough', () => {
    const values = [0n, -1n, 2n ** 53n + 1n, -(2n ** 62n), 4294967296n, 123456789012n];
    const expected = values.map(Number);
    expect(Array.from(int64ToNumbers(new BigInt64Array(values)))).toEqual(expected);
    expect(Array.from(int64ToNumbers(new BigUint64Array([2n ** 64n - 1n, 7n])))).toEqual([2 ** 64, 7]);
    const into = new Float64Array(8).fill(99);
    const out = int64ToNumbers(new BigInt64Array(values), into);
    expect(out.buffer).toBe(into.buffer);
    expect(Array.from(out)).toEqual(expected);
    // Too small: a new array, the given one untouched.
    const small = new Float64Array(2);
    expect(Array.from(int64ToNumbers(new BigInt64Array(values), small))).toEqual(expected);
    expect(Array.from(small)).toEqual([0, 0]);
  });
});

describe('concatBatch / splitBatch', () => {
  it('joins along dimension 0 and splits back to the same parts', () => {
    const parts = [fp32([1, 2], [1, 2]), fp32([2, 2], [3, 4, 5, 6]), fp32([0, 2], [])];
    const batch = concatBatch(parts);
    expect(batch.shape).toEqual([3, 2]);
    expect(Array.from(batch.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    const back = splitBatch(batch, [1, 2, 0]);
    expect(back.map((part) => part.shape)).toEqual([
      [1, 2],
      [2, 2],
      [0, 2],
    ]);
    expect(back.map((part) => Array.from(part.data as Float32Array))).toEqual([[1, 2], [3, 4, 5, 6], []]);
  });

  it('batches strings, booleans and 64-bit integers', () => {
    const strings = concatBatch([
      { datatype: 'BYTES', shape: [1], data: ['a'] },
      { datatype: 'BYTES', shape: [2], data: ['b', 'c'] },
    ]);
    expect(strings).toEqual({ datatype: 'BYTES', shape: [3], data: ['a', 'b', 'c'] });
    expect(splitBatch(strings, [2, 1]).map((part) => part.data)).toEqual([['a', 'b'], ['c']]);

    const bools = concatBatch([
      { datatype: 'BOOL', shape: [1, 1], data: [true] },
      { datatype: 'BOOL', shape: [1, 1], data: [false] },
    ]);
    expect(bools.data).toEqual([true, false]);

    const ints = concatBatch([
      { datatype: 'INT64', shape: [1], data: BigInt64Array.from([2n ** 62n]) },
      { datatype: 'INT64', shape: [1], data: BigInt64Array.from([-1n]) },
    ]);
    expect(ints.data).toBeInstanceOf(BigInt64Array);
    expect(Array.from(ints.data as BigInt64Array)).toEqual([2n ** 62n, -1n]);
  });

  it('BAD CALL - refuses mismatched batches and splits', () => {
    expect(thrown(() => concatBatch([])).message).toMatch(/zero tensors/);
    expect(thrown(() => concatBatch([fp32([1, 2], [1, 2]), fp32([1, 3], [1, 2, 3])])).message).toMatch(
      /shape \[1, 3\] \(tensor #1\) with \[1, 2\]: only dimension 0 may differ/,
    );
    expect(
      thrown(() => concatBatch([fp32([1], [1]), { datatype: 'FP64', shape: [1], data: Float64Array.from([1]) }]))
        .message,
    ).toMatch(/Cannot batch FP32 with FP64/);
    expect(thrown(() => concatBatch([fp32([], [1])])).message).toMatch(/scalars/);
    expect(thrown(() => splitBatch(fp32([3], [1, 2, 3]), [1, 1])).message).toMatch(/add up to 2, dimension 0 is 3/);
  });
});

describe('tensorFromNested', () => {
  it('accepts flat and nested row-major data', () => {
    const flat = tensorFromNested('INT32', [2, 3], [1, 2, 3, 4, 5, 6]);
    const nested = tensorFromNested(
      'INT32',
      [2, 3],
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
    );
    expect(nested).toEqual(flat);
    expect(flat.data).toBeInstanceOf(Int32Array);
    expect(tensorFromNested('FP64', [], 2.5)).toEqual({ datatype: 'FP64', shape: [], data: Float64Array.from([2.5]) });
  });

  it('takes 64-bit integers as numbers, bigints or decimal strings, at their full range', () => {
    const value = tensorFromNested('INT64', [3], [1, -9223372036854775808n, '9223372036854775807']);
    expect(Array.from(value.data as BigInt64Array)).toEqual([1n, -9223372036854775808n, 9223372036854775807n]);
    const unsigned = tensorFromNested('UINT64', [1], ['18446744073709551615']);
    expect(Array.from(unsigned.data as BigUint64Array)).toEqual([18446744073709551615n]);
  });

  it('converts FP16 numbers to bits, rounding to nearest even', () => {
    const value = tensorFromNested('FP16', [4], [1, -2, 65504, 1 + 2 ** -11]);
    expect(Array.from(value.data as Uint16Array)).toEqual([0x3c00, 0xc000, 0x7bff, 0x3c00]);
    expect(tensorToJsonData(value)).toEqual([1, -2, 65504, 1]);
  });

  it('BAD CALL - names the offending element and the reason', () => {
    const cases: Array<[string, unknown, unknown, RegExp]> = [
      ['FLOAT32', [1], [1], /unknown datatype 'FLOAT32'/],
      ['FP32', [2, -1], [1], /shape must be an array of non-negative integers/],
      ['FP32', [2, 2], [1, 2, 3], /shape \[2, 2\] holds 4 elements, data has 3/],
      ['FP32', [2, 2], [[1, 2], [3]], /data\[1\] has 1 elements, shape \[2, 2\] needs 2 at depth 1/],
      ['FP32', [2], [[1], [2]], /data\[0\] is nested deeper than shape \[2\]/],
      ['FP32', [2], [1, 'x'], /data\[1\] is "x"; FP32 needs a number/],
      ['INT32', [1], [1.5], /data\[0\] is 1.5; INT32 needs an integer/],
      ['UINT8', [2], [1, 256], /data\[1\] is 256, out of range for UINT8 \(0..255\)/],
      ['INT8', [1], [-129], /out of range for INT8 \(-128..127\)/],
      ['UINT64', [1], ['-1'], /out of range for UINT64/],
      ['INT32', [1], ['7'], /data\[0\] is "7"; INT32 needs an integer/],
      ['BOOL', [2], [true, 1], /data\[1\] is 1; BOOL needs true or false/],
      ['BYTES', [1], [5], /data\[0\] is 5; BYTES needs a string/],
      ['FP32', [2], 'nope', /data must be an array, got "nope"/],
    ];
    for (const [datatype, shape, data, reason] of cases) {
      const error = thrown(() => tensorFromNested(datatype, shape, data, 'x'));
      expect(error.code).toBe('TENSOR_INVALID');
      expect(error.message).toMatch(/^tensor 'x': /);
      expect(error.message).toMatch(reason);
    }
  });
});

describe('float16', () => {
  it('round-trips every finite half value exactly', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const exponent = (bits >>> 10) & 0x1f;
      if (exponent === 0x1f) continue;
      const back = numberToFloat16(float16ToNumber(bits));
      if (back !== bits) throw new Error(`0x${bits.toString(16)} came back as 0x${back.toString(16)}`);
    }
  });

  it('handles infinities, NaN, overflow, and underflow to zero', () => {
    expect(numberToFloat16(Infinity)).toBe(0x7c00);
    expect(numberToFloat16(-Infinity)).toBe(0xfc00);
    expect(Number.isNaN(float16ToNumber(numberToFloat16(NaN)))).toBe(true);
    expect(numberToFloat16(70000)).toBe(0x7c00);
    expect(numberToFloat16(65520)).toBe(0x7c00); // rounds up past the largest half
    expect(numberToFloat16(2 ** -26)).toBe(0);
    expect(numberToFloat16(2 ** -24)).toBe(1);
    expect(numberToFloat16(-0)).toBe(0x8000);
  });
});
