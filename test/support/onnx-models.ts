/**
 * Tiny ONNX models for tests, built in code (opset 17, IR 8). Each builder returns a ModelSpec so a
 * test can change one thing before encoding; `writeModel` encodes and writes it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { encodeModel, type ModelSpec } from '../../src/onnx/encode.js';
import { ElemType, type Dim } from '../../src/onnx/types.js';
import { datatypeFromOip, type OipDatatype } from '../../src/runtime/datatypes.js';

function elemTypeOf(dtype: OipDatatype): number {
  const row = datatypeFromOip(dtype);
  if (!row) throw new Error(`Unknown datatype ${dtype}`);
  return row.onnx;
}

/** Y = X, any datatype and shape. Input `X`, output `Y`. */
export function identityModel(options: { dtype?: OipDatatype; shape?: Dim[] } = {}): ModelSpec {
  const elemType = elemTypeOf(options.dtype ?? 'FP32');
  const shape = options.shape ?? ['batch', 4];
  return {
    producerName: 'modelship-tests',
    graph: {
      name: 'identity',
      inputs: [{ name: 'X', elemType, shape }],
      outputs: [{ name: 'Y', elemType, shape }],
      nodes: [{ opType: 'Identity', inputs: ['X'], outputs: ['Y'], name: 'identity' }],
    },
  };
}

/** Y = X + constant (float32); `constant` is a scalar or one value per element of the last dimension. */
export function addModel(options: { constant?: number | number[]; shape?: Dim[] } = {}): ModelSpec {
  const constant = options.constant ?? 1;
  const values = typeof constant === 'number' ? [constant] : constant;
  const shape = options.shape ?? ['batch', typeof constant === 'number' ? 3 : values.length];
  return {
    producerName: 'modelship-tests',
    graph: {
      name: 'add',
      inputs: [{ name: 'X', elemType: ElemType.FLOAT, shape }],
      outputs: [{ name: 'Y', elemType: ElemType.FLOAT, shape }],
      initializers: [
        {
          name: 'C',
          elemType: ElemType.FLOAT,
          dims: typeof constant === 'number' ? [] : [values.length],
          data: Float32Array.from(values),
        },
      ],
      nodes: [{ opType: 'Add', inputs: ['X', 'C'], outputs: ['Y'], name: 'add' }],
    },
  };
}

export interface LinearClassifierOptions {
  /** F rows (features) of C columns (classes). */
  weights: number[][];
  /** C values. */
  bias: number[];
  /** C class names, stored as the `labels` metadata property (a JSON array). */
  labels?: string[];
}

/**
 * A classifier as exported classifiers usually look: input `features` float32 [batch, F]; outputs
 * `label` int64 [batch] (ArgMax, keepdims 0) and `probabilities` float32 [batch, C] (Softmax).
 */
export function linearClassifierModel(options: LinearClassifierOptions): ModelSpec {
  const features = options.weights.length;
  const classes = options.bias.length;
  if (options.weights.some((row) => row.length !== classes))
    throw new Error('every weights row needs one value per class');
  return {
    producerName: 'modelship-tests',
    metadataProps: options.labels ? { labels: JSON.stringify(options.labels) } : {},
    graph: {
      name: 'linear_classifier',
      inputs: [{ name: 'features', elemType: ElemType.FLOAT, shape: ['batch', features] }],
      outputs: [
        { name: 'label', elemType: ElemType.INT64, shape: ['batch'] },
        { name: 'probabilities', elemType: ElemType.FLOAT, shape: ['batch', classes] },
      ],
      initializers: [
        {
          name: 'W',
          elemType: ElemType.FLOAT,
          dims: [features, classes],
          data: Float32Array.from(options.weights.flat()),
        },
        { name: 'B', elemType: ElemType.FLOAT, dims: [classes], data: Float32Array.from(options.bias) },
      ],
      nodes: [
        { opType: 'MatMul', inputs: ['features', 'W'], outputs: ['scores'], name: 'matmul' },
        { opType: 'Add', inputs: ['scores', 'B'], outputs: ['logits'], name: 'bias' },
        {
          opType: 'Softmax',
          inputs: ['logits'],
          outputs: ['probabilities'],
          name: 'softmax',
          attributes: { axis: { type: 'int', value: -1 } },
        },
        {
          opType: 'ArgMax',
          inputs: ['logits'],
          outputs: ['label'],
          name: 'argmax',
          attributes: { axis: { type: 'int', value: 1 }, keepdims: { type: 'int', value: 0 } },
        },
      ],
    },
  };
}

/** Encodes a spec and writes it, creating folders on the way. Returns the bytes written. */
export async function writeModel(path: string, spec: ModelSpec): Promise<Uint8Array> {
  const bytes = encodeModel(spec);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
  return bytes;
}
