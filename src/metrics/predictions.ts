/**
 * Which model outputs answer the task, and how to read a batch of them: a class (from a label output, or
 * the argmax of scores), probabilities (scores that are not a distribution go through softmax), or a
 * regression value.
 */
import { ModelshipError } from '../errors.js';
import { int64ToNumbers } from '../runtime/convert.js';
import type { Signature, TensorSignature, TensorValue } from '../runtime/tensor.js';
import type { Task } from './evaluation.js';
import type { LabelSpace } from './labels.js';

export interface OutputChoice {
  /** Names from modelship.yml, when the defaults do not fit. */
  label?: string;
  probabilities?: string;
  value?: string;
}

export interface OutputPlan {
  label?: TensorSignature;
  probabilities?: TensorSignature;
  value?: TensorSignature;
  /** Outputs to ask the session for. */
  fetch: string[];
}

const LABEL_NAMES = ['label', 'labels', 'output_label', 'class', 'classes', 'prediction', 'predicted_label'];
const SCORE_NAMES = ['probabilities', 'probability', 'output_probability', 'probs', 'scores', 'logits'];
const INTEGER = new Set(['INT64', 'INT32', 'INT16', 'INT8', 'UINT64', 'UINT32', 'UINT16', 'UINT8']);
const FLOAT = new Set(['FP32', 'FP64', 'FP16']);

/** Values per row of an output with a batch dimension: the product of the other dimensions. */
const perRow = (t: TensorSignature): number | undefined => {
  const rest = t.shape.slice(1);
  return rest.every((d) => typeof d === 'number' && d >= 0)
    ? rest.reduce<number>((a, d) => a * (d as number), 1)
    : undefined;
};

const byName = (outputs: TensorSignature[], names: string[]) =>
  names.map((n) => outputs.find((o) => o.name.toLowerCase() === n)).find(Boolean);

function named(signature: Signature, name: string | undefined, role: string): TensorSignature | undefined {
  if (name === undefined) return undefined;
  const found = signature.outputs.find((o) => o.name === name);
  if (!found) {
    throw new ModelshipError(
      'SIGNATURE_MISMATCH',
      `The model has no output '${name}' to read the ${role} from; its outputs are ${signature.outputs.map((o) => o.name).join(', ')}.`,
      'Fix the output name in modelship.yml.',
    );
  }
  return found;
}

/** classification when an output holds classes or per-class scores, else regression. */
export function inferTask(signature: Signature): Task {
  const outputs = signature.outputs;
  if (byName(outputs, LABEL_NAMES) || byName(outputs, SCORE_NAMES)) return 'classification';
  if (outputs.some((o) => INTEGER.has(o.datatype) || o.datatype === 'BYTES')) return 'classification';
  if (outputs.some((o) => FLOAT.has(o.datatype) && (perRow(o) ?? 1) > 1)) return 'classification';
  return 'regression';
}

export function planOutputs(signature: Signature, task: Task, choice: OutputChoice = {}): OutputPlan {
  const outputs = signature.outputs;
  if (task === 'regression') {
    const value =
      named(signature, choice.value, 'prediction') ??
      outputs.find((o) => FLOAT.has(o.datatype) && (perRow(o) ?? 1) === 1) ??
      outputs.find((o) => FLOAT.has(o.datatype));
    if (!value) {
      throw new ModelshipError(
        'SIGNATURE_MISMATCH',
        `No floating-point output to read a regression prediction from; the outputs are ${describeOutputs(outputs)}.`,
        "Set the model's output in modelship.yml, or evaluate with task: classification or golden.",
      );
    }
    return { value, fetch: [value.name] };
  }
  const label =
    named(signature, choice.label, 'predicted class') ??
    byName(
      outputs.filter((o) => INTEGER.has(o.datatype) || o.datatype === 'BYTES'),
      LABEL_NAMES,
    ) ??
    outputs.find((o) => (INTEGER.has(o.datatype) || o.datatype === 'BYTES') && (perRow(o) ?? 1) === 1);
  const probabilities =
    named(signature, choice.probabilities, 'class probabilities') ??
    byName(
      outputs.filter((o) => FLOAT.has(o.datatype)),
      SCORE_NAMES,
    ) ??
    outputs.find((o) => FLOAT.has(o.datatype) && (perRow(o) ?? 2) > 1);
  if (!label && !probabilities) {
    throw new ModelshipError(
      'SIGNATURE_MISMATCH',
      `No output gives a class: the outputs are ${describeOutputs(outputs)}.`,
      'A classifier needs an integer or string label output, or a per-class score output.',
    );
  }
  return {
    ...(label ? { label } : {}),
    ...(probabilities ? { probabilities } : {}),
    fetch: [label, probabilities].filter((o): o is TensorSignature => o !== undefined).map((o) => o.name),
  };
}

export const describeOutputs = (outputs: TensorSignature[]): string =>
  outputs.map((o) => `${o.name} (${o.datatype} [${o.shape.join(', ')}])`).join(', ') || 'none';

export interface ClassBatch {
  labels: Int32Array;
  /** `width` per row: the model's output itself when it holds distributions, else its softmax. */
  probabilities?: ArrayLike<number>;
  width: number;
}

/**
 * Buffers one model's batches are read into, reused from batch to batch: a new typed array per batch
 * (its memory zeroed and later reclaimed by the garbage collector) costs more than reading the batch.
 */
export class ClassBatchBuffers {
  private labels = new Int32Array(0);
  private probabilities = new Float64Array(0);
  private numbers = new Float64Array(0);

  /** Room for `rows` class ids. */
  labelsFor(rows: number): Int32Array {
    return (this.labels = room(this.labels, rows)).subarray(0, rows);
  }

  probabilitiesFor(count: number): Float64Array {
    return (this.probabilities = room(this.probabilities, count)).subarray(0, count);
  }

  /** Scratch for 64-bit integers read as numbers. */
  numbersFor(count: number): Float64Array {
    return (this.numbers = room(this.numbers, count)).subarray(0, count);
  }
}

/** `buffer` when it holds `count` elements, else a new one of the same type that does. */
function room<T extends Int32Array | Float64Array>(buffer: T, count: number): T {
  return buffer.length >= count ? buffer : (new (buffer.constructor as new (length: number) => T)(count) as T);
}

const toNumber = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : (v as number));

/**
 * Reads a batch of classification outputs into class ids of `labels` and probability rows. With
 * `buffers`, the batch lives in them and is valid until the next read into the same buffers.
 */
export function readClassBatch(
  plan: OutputPlan,
  outputs: Record<string, TensorValue>,
  rows: number,
  labels: LabelSpace,
  buffers: ClassBatchBuffers = new ClassBatchBuffers(),
): ClassBatch {
  const out: ClassBatch = { labels: buffers.labelsFor(rows), width: 0 };
  if (plan.probabilities) {
    const scores = outputs[plan.probabilities.name];
    const width = rows > 0 ? scores.data.length / rows : 0;
    const data = scores.data as ArrayLike<number>;
    // Distributions are read where they are; only scores that are not need a buffer.
    out.probabilities = distributions(data, 0, rows, width) ? data : toProbabilities(data, rows, width, buffers);
    out.width = width;
    for (let k = labels.size; k < width; k++) labels.idOfIndex(k);
  }
  if (plan.label) {
    const raw = outputs[plan.label.name].data;
    const data =
      raw instanceof BigInt64Array || raw instanceof BigUint64Array
        ? int64ToNumbers(raw, buffers.numbersFor(raw.length))
        : raw;
    const stride = rows > 0 ? data.length / rows : 1;
    if (ArrayBuffer.isView(data)) {
      labels.idsOf(data as unknown as ArrayLike<number>, rows, out.labels, stride);
    } else {
      for (let r = 0; r < rows; r++) {
        const v = data[r * stride];
        out.labels[r] = typeof v === 'string' ? labels.id(v) : labels.idOfNumber(toNumber(v));
      }
    }
  } else {
    const p = out.probabilities!;
    for (let r = 0; r < rows; r++) {
      let best = 0;
      for (let j = 1; j < out.width; j++) if (p[r * out.width + j] > p[r * out.width + best]) best = j;
      out.labels[r] = labels.idOfIndex(best);
    }
  }
  return out;
}

/** Whether rows [from, to) of `width` values each are distributions: within [0, 1], summing to 1 ± 0.001. */
function distributions(data: ArrayLike<number>, from: number, to: number, width: number): boolean {
  for (let r = from; r < to; r++) {
    const base = r * width;
    let sum = 0;
    for (let j = 0; j < width; j++) {
      const p = data[base + j];
      if (!(p >= 0 && p <= 1)) return false;
      sum += p;
    }
    if (!(Math.abs(sum - 1) <= 1e-3)) return false;
  }
  return true;
}

/** Each row as it is when it is a distribution, else its softmax, in `buffers`. */
function toProbabilities(
  data: ArrayLike<number>,
  rows: number,
  width: number,
  buffers: ClassBatchBuffers,
): Float64Array {
  const probabilities = buffers.probabilitiesFor(rows * width);
  for (let r = 0; r < rows; r++) {
    const base = r * width;
    if (distributions(data, r, r + 1, width)) {
      for (let j = 0; j < width; j++) probabilities[base + j] = data[base + j];
    } else {
      let max = -Infinity;
      for (let j = 0; j < width; j++) if (data[base + j] > max) max = data[base + j];
      softmax(data, probabilities, base, width, max);
    }
  }
  return probabilities;
}

/** Softmax of one row of scores into `out`, given the row's maximum (subtracted first, so exp cannot overflow). */
function softmax(scores: ArrayLike<number>, out: Float64Array, base: number, width: number, max: number): void {
  let sum = 0;
  for (let j = 0; j < width; j++) {
    const e = Math.exp(scores[base + j] - max);
    out[base + j] = e;
    sum += e;
  }
  const scale = 1 / sum;
  for (let j = 0; j < width; j++) out[base + j] *= scale;
}

/** One regression value per row. */
export function readValueBatch(plan: OutputPlan, outputs: Record<string, TensorValue>, rows: number): Float64Array {
  const data = outputs[plan.value!.name].data;
  const stride = rows > 0 ? data.length / rows : 1;
  if (stride !== 1) {
    throw new ModelshipError(
      'SIGNATURE_MISMATCH',
      `Output '${plan.value!.name}' gives ${stride} values per row; a regression needs one.`,
      'Name the output that holds the prediction in modelship.yml.',
    );
  }
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) out[r] = toNumber(data[r]);
  return out;
}

/** Class names a model carries in its metadata (`labels`: a JSON array, or comma-separated). */
export function labelsFromMetadata(metadata: Record<string, string>): string[] | undefined {
  const raw = metadata.labels ?? metadata.classes ?? metadata.class_names;
  if (raw === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (Array.isArray(parsed)) return parsed.map(String);
  } catch {
    // not JSON: a comma-separated list
  }
  return raw.split(',').map((s) => s.trim());
}
