/** The inputs and outputs a caller sees, read from the model file (no session needed). */
import { ModelshipError } from '../errors.js';
import { datatypeFromOnnx } from '../runtime/datatypes.js';
import type { Signature, TensorSignature } from '../runtime/tensor.js';
import type { OnnxModel, ValueInfo } from './types.js';

function tensorSignature(info: ValueInfo, role: 'input' | 'output'): TensorSignature {
  const row = datatypeFromOnnx(info.elemType);
  if (!row) {
    throw new ModelshipError(
      'ONNX_UNSUPPORTED_TYPE',
      `Graph ${role} "${info.name}" has element type ${info.elemType}, which modelship cannot serve`,
      'Inputs and outputs must be tensors of BOOL, (U)INT8-64, FLOAT16, FLOAT, DOUBLE or STRING.',
    );
  }
  // A missing shape (rank unknown) reads as an empty list; a dimension with no value nor name as -1.
  const shape = (info.shape ?? []).map((dim) => (dim === null ? -1 : dim));
  return { name: info.name, datatype: row.oip, shape };
}

/** Graph inputs that are not initializers (IR < 4 lists weights as inputs too), and graph outputs. */
export function signatureOf(model: OnnxModel): Signature {
  const initializers = new Set(model.graph.initializers.map((init) => init.name));
  return {
    inputs: model.graph.inputs.filter((input) => !initializers.has(input.name)).map((i) => tensorSignature(i, 'input')),
    outputs: model.graph.outputs.map((o) => tensorSignature(o, 'output')),
  };
}
