/**
 * Models for deploy tests with the Iris signature (input `features` float32 [batch, 4]; outputs `label`
 * int64 [batch], `probabilities` float32 [batch, 3]) that misbehave in ways only serving shows.
 */
import type { ModelSpec, NodeSpec } from '../../src/onnx/encode.js';
import { ElemType } from '../../src/onnx/types.js';
import { linearClassifierModel } from '../support/onnx-models.js';

const WEIGHTS = [
  [0.4, 0.1, -0.5],
  [1.0, -0.3, -0.7],
  [-1.6, 0.2, 1.4],
  [-0.8, -0.6, 1.4],
];
const BIAS = [0.2, 1.1, -1.3];

/** The classifier with `extra` nodes turning `logits0` (its raw logits) into `logits`. */
function withLogitsStage(extra: NodeSpec[], initializers: NonNullable<ModelSpec['graph']['initializers']>): ModelSpec {
  const spec = linearClassifierModel({ weights: WEIGHTS, bias: BIAS });
  const nodes = spec.graph.nodes.map((node) => (node.name === 'bias' ? { ...node, outputs: ['logits0'] } : node));
  const at = nodes.findIndex((node) => node.name === 'bias') + 1;
  nodes.splice(at, 0, ...extra);
  return {
    ...spec,
    graph: { ...spec.graph, nodes, initializers: [...(spec.graph.initializers ?? []), ...initializers] },
  };
}

/**
 * Errors at run time for a row whose first feature is 7 or more: floor(features[:, 0]) indexes a table of
 * 7 zeros (onnxruntime refuses an index out of bounds), and the zero is added to the logits. Rows below 7
 * get exactly the plain classifier's answers, so a smoke run on small flowers passes.
 */
export function failsOnLargeFlowersModel(): ModelSpec {
  return withLogitsStage(
    [
      {
        opType: 'Gather',
        inputs: ['features', 'col0'],
        outputs: ['first'],
        name: 'first',
        attributes: { axis: { type: 'int', value: 1 } },
      },
      { opType: 'Floor', inputs: ['first'], outputs: ['floored'], name: 'floor' },
      {
        opType: 'Cast',
        inputs: ['floored'],
        outputs: ['index'],
        name: 'cast',
        attributes: { to: { type: 'int', value: ElemType.INT64 } },
      },
      {
        opType: 'Gather',
        inputs: ['table', 'index'],
        outputs: ['picked'],
        name: 'lookup',
        attributes: { axis: { type: 'int', value: 0 } },
      },
      { opType: 'Unsqueeze', inputs: ['picked', 'axis1'], outputs: ['column'], name: 'column' },
      { opType: 'Add', inputs: ['logits0', 'column'], outputs: ['logits'], name: 'shift' },
    ],
    [
      { name: 'col0', elemType: ElemType.INT64, dims: [], data: BigInt64Array.from([0n]) },
      { name: 'table', elemType: ElemType.FLOAT, dims: [7], data: new Float32Array(7) },
      { name: 'axis1', elemType: ElemType.INT64, dims: [1], data: BigInt64Array.from([1n]) },
    ],
  );
}

/**
 * Adds uniform noise from a seeded generator to the logits: every session starts the same sequence, so a
 * fresh server session answers its first requests exactly as a fresh offline session does, and differently
 * once it has served more requests than the offline run made (the second smoke run, after the switch).
 */
export function statefulNoiseModel(): ModelSpec {
  return withLogitsStage(
    [
      {
        opType: 'RandomUniformLike',
        inputs: ['logits0'],
        outputs: ['noise'],
        name: 'noise',
        attributes: {
          low: { type: 'float', value: 0 },
          high: { type: 'float', value: 1 },
          seed: { type: 'float', value: 7 },
        },
      },
      { opType: 'Add', inputs: ['logits0', 'noise'], outputs: ['logits'], name: 'noisy' },
    ],
    [],
  );
}
