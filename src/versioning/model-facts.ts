/** What versioning reads from a model: its signature, its class labels and its digest. */
import { createHash } from 'node:crypto';
import { ModelshipError } from '../errors.js';
import { decodeModel } from '../onnx/decode.js';
import { digestModel } from '../onnx/digest.js';
import { readModelFile } from '../onnx/read.js';
import { signatureOf } from '../onnx/signature.js';
import type { OnnxModel } from '../onnx/types.js';
import type { ModelFacts } from './bump.js';

export interface LocalModelFacts extends ModelFacts {
  digest: string;
  /** The .onnx file read (a folder resolves to its model.onnx). */
  file: string;
  bytes: Uint8Array;
  /** Some weights live in external data files next to the model. */
  externalData: boolean;
}

/**
 * Class labels from the `labels` metadata property (a JSON array of strings, what the fixture and
 * export scripts write); undefined when the model declares none.
 */
export function labelsOf(model: OnnxModel, file?: string): string[] | undefined {
  const text = model.metadataProps.labels;
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (!Array.isArray(value) || !value.every((l) => typeof l === 'string')) {
    throw new ModelshipError(
      'MODEL_LABELS_INVALID',
      `The model's 'labels' metadata property is not a JSON array of strings: ${text.slice(0, 80)}`,
      'Store the class names in order, e.g. ["setosa","versicolor","virginica"], or remove the property.',
      file ? { file } : undefined,
    );
  }
  return value;
}

export async function readModelFacts(path: string, labels?: string[]): Promise<LocalModelFacts> {
  const { model, bytes, path: file } = await readModelFile(path);
  return {
    signature: signatureOf(model),
    labels: labels ?? labelsOf(model, file),
    digest: await digestModel(file),
    file,
    bytes,
    externalData: model.graph.initializers.some((t) => t.storage === 'external'),
  };
}

/**
 * Facts of a model held as bytes (the file at an older commit). Its digest is known only without
 * external data: the digest of a model with external files covers those files too.
 */
export function modelFactsFromBytes(bytes: Uint8Array): ModelFacts {
  const model = decodeModel(bytes);
  const external = model.graph.initializers.some((t) => t.storage === 'external');
  return {
    signature: signatureOf(model),
    labels: labelsOf(model),
    ...(external ? {} : { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` }),
  };
}
