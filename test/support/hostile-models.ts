/** Models that are valid ONNX but hostile to whoever runs them, for tests of the isolated runtime. */
import type { ModelSpec } from '../../src/onnx/encode.js';
import { ElemType } from '../../src/onnx/types.js';

/**
 * Y = X after a Loop of 2^63 - 1 iterations: loads in an instant, and any run spins the runtime forever.
 * Input `X` float32 [1], output `Y` float32 [1].
 */
export function foreverLoopModel(): ModelSpec {
  return {
    producerName: 'modelship-tests',
    graph: {
      name: 'forever',
      inputs: [{ name: 'X', elemType: ElemType.FLOAT, shape: [1] }],
      outputs: [{ name: 'Y', elemType: ElemType.FLOAT, shape: [1] }],
      initializers: [
        { name: 'M', elemType: ElemType.INT64, dims: [], data: BigInt64Array.from([2n ** 63n - 1n]) },
        { name: 'C', elemType: ElemType.BOOL, dims: [], data: [true] },
      ],
      nodes: [
        {
          opType: 'Loop',
          inputs: ['M', 'C', 'X'],
          outputs: ['Y'],
          name: 'forever',
          attributes: {
            body: {
              type: 'graph',
              value: {
                name: 'body',
                inputs: [
                  { name: 'i', elemType: ElemType.INT64, shape: [] },
                  { name: 'cond_in', elemType: ElemType.BOOL, shape: [] },
                  { name: 'v', elemType: ElemType.FLOAT, shape: [1] },
                ],
                outputs: [
                  { name: 'cond_out', elemType: ElemType.BOOL, shape: [] },
                  { name: 'v_out', elemType: ElemType.FLOAT, shape: [1] },
                ],
                nodes: [
                  { opType: 'Identity', inputs: ['cond_in'], outputs: ['cond_out'], name: 'keep_going' },
                  { opType: 'Identity', inputs: ['v'], outputs: ['v_out'], name: 'carry' },
                ],
              },
            },
          },
        },
      ],
    },
  };
}
