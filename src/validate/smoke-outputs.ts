/**
 * What a smoke run's outputs must look like: every declared output present, of the declared datatype and
 * shape (named dimensions bound the same way the inputs bound them), and free of NaN and Infinity.
 */
import type { Finding } from '../onnx/checks.js';
import type { TensorSignature, TensorValue } from '../runtime/tensor.js';
import { formatShape } from './signature-match.js';

export type SmokeFinding = Finding<'smoke.run'>;

/** Named dimensions (`batch`) as the inputs fed bound them. */
export function bindDimensions(
  inputs: readonly TensorSignature[],
  feeds: Readonly<Record<string, TensorValue>>,
): Map<string, number> {
  const bound = new Map<string, number>();
  for (const input of inputs) {
    const fed = feeds[input.name];
    if (!fed) continue;
    input.shape.forEach((dim, axis) => {
      if (typeof dim === 'string' && fed.shape[axis] !== undefined && !bound.has(dim)) bound.set(dim, fed.shape[axis]);
    });
  }
  return bound;
}

/** How many NaN and infinite values a floating-point tensor holds (FP16 read from its bits). */
export function countNonFinite(tensor: TensorValue): { nan: number; infinite: number } {
  let nan = 0;
  let infinite = 0;
  if (tensor.datatype === 'FP32' || tensor.datatype === 'FP64') {
    for (const value of tensor.data as Float32Array | Float64Array) {
      if (Number.isNaN(value)) nan++;
      else if (!Number.isFinite(value)) infinite++;
    }
  } else if (tensor.datatype === 'FP16') {
    for (const bits of tensor.data as Uint16Array) {
      if ((bits & 0x7c00) !== 0x7c00) continue;
      if (bits & 0x03ff) nan++;
      else infinite++;
    }
  }
  return { nan, infinite };
}

export function assessOutputs(
  declared: readonly TensorSignature[],
  bound: ReadonlyMap<string, number>,
  outputs: Readonly<Record<string, TensorValue>>,
  inputsWere: 'fixture rows' | 'made-up inputs',
): SmokeFinding[] {
  const findings: SmokeFinding[] = [];
  const fail = (message: string) => findings.push({ check: 'smoke.run', severity: 'fail', message });
  const warn = (message: string) => findings.push({ check: 'smoke.run', severity: 'warn', message });
  for (const output of declared) {
    const got = outputs[output.name];
    if (!got) {
      fail(`Output '${output.name}' was declared but the run returned none.`);
      continue;
    }
    if (got.datatype !== output.datatype) {
      fail(`Output '${output.name}' came back as ${got.datatype}; the model declares ${output.datatype}.`);
    }
    if (got.shape.length !== output.shape.length) {
      fail(
        `Output '${output.name}' came back with shape ${formatShape(got.shape)}; the model declares ${formatShape(output.shape)}. ` +
          `Fix the output's declared shape when exporting.`,
      );
    } else {
      output.shape.forEach((dim, axis) => {
        const actual = got.shape[axis];
        if (typeof dim === 'number' && dim >= 0 && dim !== actual) {
          fail(
            `Output '${output.name}' came back with shape ${formatShape(got.shape)}; the model declares ${formatShape(output.shape)}. ` +
              `Fix the output's declared shape when exporting.`,
          );
        } else if (typeof dim === 'string' && bound.has(dim) && bound.get(dim) !== actual) {
          warn(
            `Output '${output.name}' dimension ${axis} ('${dim}') is ${actual}, but the inputs bound '${dim}' to ${bound.get(dim)}. ` +
              `Give the output its own dimension name if that is intended.`,
          );
        }
      });
    }
    const { nan, infinite } = countNonFinite(got);
    if (nan + infinite > 0) {
      fail(
        `Output '${output.name}' holds ${[nan ? `${nan} NaN` : '', infinite ? `${infinite} infinite` : ''].filter(Boolean).join(' and ')} ` +
          `value(s) of ${got.data.length} on ${inputsWere}. Check the weights for NaN/Inf and the inputs' expected range.`,
      );
    }
  }
  return findings;
}

/** Nearest-rank percentile of samples in milliseconds. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}
