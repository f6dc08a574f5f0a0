/**
 * A generated multilayer perceptron (MatMul + Add + Relu layers, float32, dynamic batch), the size of
 * an MNIST classifier by default: a model with real arithmetic for throughput benchmarks.
 */
import { writeFile } from 'node:fs/promises';
import { encodeModel, type InitializerSpec, type NodeSpec } from '../src/onnx/encode.js';
import { ElemType } from '../src/onnx/types.js';

export interface MlpShape {
  inputSize: number;
  hiddenSizes: number[];
  outputSize: number;
}

/** Seeded weights (xorshift), scaled by 1/sqrt(fan-in): the same shape gives the same bytes. */
function weights(count: number, fanIn: number, seed: number): Float32Array {
  let x = seed >>> 0 || 1;
  const scale = 1 / Math.sqrt(fanIn);
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    values[i] = (((x >>> 0) / 0xffffffff) * 2 - 1) * scale;
  }
  return values;
}

export function mlpModelBytes(shape: MlpShape): Uint8Array {
  const sizes = [shape.inputSize, ...shape.hiddenSizes, shape.outputSize];
  const initializers: InitializerSpec[] = [];
  const nodes: NodeSpec[] = [];
  let current = 'input';
  for (let i = 0; i < sizes.length - 1; i++) {
    const [fanIn, fanOut] = [sizes[i], sizes[i + 1]];
    const last = i === sizes.length - 2;
    initializers.push(
      {
        name: `dense${i}.weight`,
        elemType: ElemType.FLOAT,
        dims: [fanIn, fanOut],
        data: weights(fanIn * fanOut, fanIn, i + 1),
      },
      { name: `dense${i}.bias`, elemType: ElemType.FLOAT, dims: [fanOut], data: new Float32Array(fanOut) },
    );
    nodes.push(
      { name: `dense${i}/MatMul`, opType: 'MatMul', inputs: [current, `dense${i}.weight`], outputs: [`dense${i}/mm`] },
      {
        name: `dense${i}/Add`,
        opType: 'Add',
        inputs: [`dense${i}/mm`, `dense${i}.bias`],
        outputs: [last ? 'logits' : `dense${i}/out`],
      },
    );
    if (!last) {
      nodes.push({ name: `dense${i}/Relu`, opType: 'Relu', inputs: [`dense${i}/out`], outputs: [`dense${i}/relu`] });
      current = `dense${i}/relu`;
    }
  }
  return encodeModel({
    producerName: 'modelship-bench',
    producerVersion: '1',
    graph: {
      name: `mlp_${sizes.join('_')}`,
      inputs: [{ name: 'input', elemType: ElemType.FLOAT, shape: ['batch', shape.inputSize] }],
      outputs: [{ name: 'logits', elemType: ElemType.FLOAT, shape: ['batch', shape.outputSize] }],
      initializers,
      nodes,
    },
  });
}

export async function writeMlpModel(path: string, shape: MlpShape): Promise<string> {
  await writeFile(path, mlpModelBytes(shape));
  return path;
}
