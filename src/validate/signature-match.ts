/**
 * A model's signature against the one a user expects (modelship.yml): names, datatypes and shapes, with
 * variable dimensions (`-1` or a name such as `batch`) matching any size. Every difference is listed, with
 * the place in the expected signature it concerns so a config line can carry the annotation.
 */
import type { Signature, TensorSignature } from '../runtime/tensor.js';

/** A signature as modelship.yml states it: either side may be left out, and so may a tensor's shape. */
export interface ExpectedTensor {
  name: string;
  datatype: TensorSignature['datatype'];
  shape?: Array<number | string>;
}
export interface ExpectedSignature {
  inputs?: ExpectedTensor[];
  outputs?: ExpectedTensor[];
}

export interface SignatureDifference {
  severity: 'fail' | 'warn';
  message: string;
  /** JSON pointer into the expected signature (`/inputs/0/shape`), or `/inputs` for a tensor it lacks. */
  pointer: string;
}

const isVariable = (dim: number | string | null | undefined): boolean =>
  dim === null || dim === undefined || typeof dim === 'string' || dim < 0;

export const formatShape = (shape: ReadonlyArray<number | string | null>): string =>
  `[${shape.map((dim) => (dim === null ? '?' : String(dim))).join(', ')}]`;

/** Every difference; a side the expectation leaves out is not compared. */
export function compareSignatures(expected: ExpectedSignature, actual: Signature): SignatureDifference[] {
  return [
    ...(expected.inputs ? compareSide('input', '/inputs', expected.inputs, actual.inputs) : []),
    ...(expected.outputs ? compareSide('output', '/outputs', expected.outputs, actual.outputs) : []),
  ];
}

function compareSide(
  kind: 'input' | 'output',
  pointer: string,
  expected: readonly ExpectedTensor[],
  actual: readonly TensorSignature[],
): SignatureDifference[] {
  const differences: SignatureDifference[] = [];
  const byName = new Map(actual.map((tensor) => [tensor.name, tensor]));
  const expectedNames = new Set(expected.map((tensor) => tensor.name));
  const has = actual.length ? actual.map((tensor) => `'${tensor.name}'`).join(', ') : 'none';

  for (const [index, want] of expected.entries()) {
    const here = `${pointer}/${index}`;
    const got = byName.get(want.name);
    if (!got) {
      differences.push({
        severity: 'fail',
        pointer: `${here}/name`,
        message: `Expected ${kind} '${want.name}' is missing from the model (its ${kind}s: ${has}).`,
      });
      continue;
    }
    if (got.datatype !== want.datatype) {
      differences.push({
        severity: 'fail',
        pointer: `${here}/datatype`,
        message: `${capitalize(kind)} '${want.name}' is ${got.datatype}; expected ${want.datatype}.`,
      });
    }
    if (want.shape) differences.push(...compareShape(kind, { ...want, shape: want.shape }, got, `${here}/shape`));
  }
  for (const got of actual) {
    if (expectedNames.has(got.name)) continue;
    // An extra input must be fed by every client; an extra output is only more than was asked for.
    differences.push({
      severity: kind === 'input' ? 'fail' : 'warn',
      pointer,
      message:
        kind === 'input'
          ? `The model has input '${got.name}' ${got.datatype} ${formatShape(got.shape)}, which the expected signature lacks; clients will not send it.`
          : `The model has an extra output '${got.name}' ${got.datatype} ${formatShape(got.shape)}; add it to the expected signature if it is meant to be served.`,
    });
  }
  return differences;
}

function compareShape(
  kind: string,
  want: TensorSignature,
  got: TensorSignature,
  pointer: string,
): SignatureDifference[] {
  const name = `${capitalize(kind)} '${want.name}'`;
  if (got.shape.length !== want.shape.length) {
    return [
      {
        severity: 'fail',
        pointer,
        message: `${name} has rank ${got.shape.length} ${formatShape(got.shape)}; expected rank ${want.shape.length} ${formatShape(want.shape)}.`,
      },
    ];
  }
  const differences: SignatureDifference[] = [];
  for (const [axis, wantDim] of want.shape.entries()) {
    const gotDim = got.shape[axis];
    if (isVariable(wantDim)) {
      if (!isVariable(gotDim)) {
        differences.push({
          severity: 'fail',
          pointer: `${pointer}/${axis}`,
          message: `${name} fixes dimension ${axis} to ${gotDim} where a variable dimension (${wantDim}) is expected ${formatShape(got.shape)}.`,
        });
      }
    } else if (isVariable(gotDim)) {
      differences.push({
        severity: 'warn',
        pointer: `${pointer}/${axis}`,
        message: `${name} accepts any size in dimension ${axis} (${gotDim ?? '?'}) where ${wantDim} is expected; it is compatible but wider.`,
      });
    } else if (gotDim !== wantDim) {
      differences.push({
        severity: 'fail',
        pointer: `${pointer}/${axis}`,
        message: `${name} has dimension ${axis} = ${gotDim}; expected ${wantDim} (model ${formatShape(got.shape)}, expected ${formatShape(want.shape)}).`,
      });
    }
  }
  return differences;
}

const capitalize = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);
