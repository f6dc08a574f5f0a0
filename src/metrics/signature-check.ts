/** Differences between two signatures that stop a paired evaluation, each as one line a user can read. */
import type { Signature, TensorSignature } from '../runtime/tensor.js';

const dims = (t: TensorSignature) => `[${t.shape.join(', ')}]`;
const variable = (d: number | string) => typeof d === 'string' || d < 0;

/** Same rank, and every dimension fixed in both is equal. */
function shapesCompatible(a: TensorSignature, b: TensorSignature): boolean {
  return (
    a.shape.length === b.shape.length &&
    a.shape.every((d, i) => variable(d) || variable(b.shape[i]) || d === b.shape[i])
  );
}

function tensorDifferences(kind: 'input' | 'output', a: TensorSignature, b: TensorSignature): string[] {
  const out: string[] = [];
  if (a.datatype !== b.datatype)
    out.push(`${kind} '${a.name}': datatype ${a.datatype} in the candidate, ${b.datatype} in the baseline`);
  if (!shapesCompatible(a, b))
    out.push(`${kind} '${a.name}': shape ${dims(a)} in the candidate, ${dims(b)} in the baseline`);
  return out;
}

/**
 * Every input must match; of the outputs only those the evaluation reads (`outputs`), since a baseline
 * without a newly added output can still be compared on the ones both have.
 */
export function signatureDifferences(candidate: Signature, baseline: Signature, outputs?: string[]): string[] {
  const out: string[] = [];
  const baseInputs = new Map(baseline.inputs.map((i) => [i.name, i]));
  for (const input of candidate.inputs) {
    const other = baseInputs.get(input.name);
    if (!other) out.push(`input '${input.name}' ${input.datatype} ${dims(input)} is not an input of the baseline`);
    else out.push(...tensorDifferences('input', input, other));
  }
  const candidateInputs = new Set(candidate.inputs.map((i) => i.name));
  for (const input of baseline.inputs) {
    if (!candidateInputs.has(input.name))
      out.push(`input '${input.name}' of the baseline is not an input of the candidate`);
  }
  const baseOutputs = new Map(baseline.outputs.map((o) => [o.name, o]));
  for (const output of candidate.outputs) {
    if (outputs && !outputs.includes(output.name)) continue;
    const other = baseOutputs.get(output.name);
    if (!other) out.push(`output '${output.name}' is not an output of the baseline`);
    else out.push(...tensorDifferences('output', output, other));
  }
  return out;
}

export function labelDifferences(candidate: string[] | undefined, baseline: string[] | undefined): string[] {
  if (!candidate || !baseline) return [];
  if (candidate.length === baseline.length && candidate.every((l, i) => l === baseline[i])) return [];
  return [`class labels: [${candidate.join(', ')}] in the candidate, [${baseline.join(', ')}] in the baseline`];
}
