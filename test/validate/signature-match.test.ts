import { describe, expect, test } from 'vitest';
import type { Signature } from '../../src/runtime/tensor.js';
import { compareSignatures, formatShape } from '../../src/validate/signature-match.js';

const iris: Signature = {
  inputs: [{ name: 'features', datatype: 'FP32', shape: ['batch', 4] }],
  outputs: [
    { name: 'label', datatype: 'INT64', shape: ['batch'] },
    { name: 'probabilities', datatype: 'FP32', shape: ['batch', 3] },
  ],
};

const clone = (signature: Signature): Signature => JSON.parse(JSON.stringify(signature)) as Signature;

describe('compareSignatures', () => {
  test('the same signature, and variable dims however they are named, match', () => {
    expect(compareSignatures(iris, iris)).toEqual([]);
    const expected = clone(iris);
    expected.inputs[0].shape = [-1, 4];
    expected.outputs[0].shape = ['N'];
    expect(compareSignatures(expected, iris)).toEqual([]);
  });

  test('a renamed input is a missing one and an unexpected one', () => {
    const model = clone(iris);
    model.inputs[0].name = 'measurements';
    const differences = compareSignatures(iris, model);
    expect(differences).toEqual([
      {
        severity: 'fail',
        pointer: '/inputs/0/name',
        message: "Expected input 'features' is missing from the model (its inputs: 'measurements').",
      },
      expect.objectContaining({
        severity: 'fail',
        pointer: '/inputs',
        message: expect.stringContaining("input 'measurements' FP32 [batch, 4]"),
      }),
    ]);
  });

  test('datatype, rank and fixed dimension differences are each listed', () => {
    const model = clone(iris);
    model.inputs[0].datatype = 'FP64';
    model.inputs[0].shape = ['batch', 5];
    model.outputs[1].shape = ['batch'];
    const differences = compareSignatures(iris, model);
    expect(differences.map((d) => [d.severity, d.pointer])).toEqual([
      ['fail', '/inputs/0/datatype'],
      ['fail', '/inputs/0/shape/1'],
      ['fail', '/outputs/1/shape'],
    ]);
    expect(differences[0].message).toBe("Input 'features' is FP64; expected FP32.");
    expect(differences[1].message).toContain('dimension 1 = 5; expected 4');
    expect(differences[2].message).toContain('rank 1 [batch]; expected rank 2 [batch, 3]');
  });

  test('a fixed dim where a variable one is expected fails; the reverse only warns', () => {
    const fixedModel = clone(iris);
    fixedModel.inputs[0].shape = [1, 4];
    expect(compareSignatures(iris, fixedModel)).toEqual([
      expect.objectContaining({
        severity: 'fail',
        pointer: '/inputs/0/shape/0',
        message: expect.stringContaining('fixes dimension 0 to 1'),
      }),
    ]);
    const fixedExpected = clone(iris);
    fixedExpected.inputs[0].shape = [8, 4];
    expect(compareSignatures(fixedExpected, iris)).toEqual([
      expect.objectContaining({
        severity: 'warn',
        message: expect.stringContaining('accepts any size in dimension 0'),
      }),
    ]);
  });

  test('an extra output warns, a missing output fails', () => {
    const expected = clone(iris);
    expected.outputs.pop();
    expect(compareSignatures(expected, iris)).toEqual([
      expect.objectContaining({
        severity: 'warn',
        pointer: '/outputs',
        message: expect.stringContaining("extra output 'probabilities'"),
      }),
    ]);
    expect(compareSignatures(iris, { ...iris, outputs: [iris.outputs[0]] })).toEqual([
      expect.objectContaining({ severity: 'fail', pointer: '/outputs/1/name' }),
    ]);
  });
});

test('formatShape', () => {
  expect(formatShape(['batch', 4, -1, null])).toBe('[batch, 4, -1, ?]');
  expect(formatShape([])).toBe('[]');
});
