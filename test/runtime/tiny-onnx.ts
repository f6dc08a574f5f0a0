/**
 * Just enough protobuf writing to make tiny ONNX models for runtime tests: graphs of single ops with
 * typed inputs and outputs. Field numbers are from onnx.proto.
 */
type Field = [number, 'varint', number] | [number, 'bytes', Uint8Array | string];

function varint(value: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, BigInt(value));
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return out;
}

function message(fields: Field[]): Uint8Array {
  const parts: number[] = [];
  for (const [num, kind, value] of fields) {
    if (kind === 'varint') {
      parts.push(...varint((num << 3) | 0), ...varint(value));
    } else {
      const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
      parts.push(...varint((num << 3) | 2), ...varint(bytes.length), ...bytes);
    }
  }
  return Uint8Array.from(parts);
}

/** A dimension: a size, a symbol, or null for an unnamed variable dimension. */
export type TinyDim = number | string | null;

export interface TinyValue {
  name: string;
  elemType: number;
  shape?: TinyDim[];
  /** A sequence of tensors instead of a tensor. */
  sequence?: boolean;
}

export interface TinyNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Array<{ name: string; int: number }>;
}

function tensorType(value: TinyValue): Uint8Array {
  const fields: Field[] = [[1, 'varint', value.elemType]];
  if (value.shape) {
    const dims = value.shape.map((dim) =>
      message(dim === null ? [] : typeof dim === 'number' ? [[1, 'varint', dim]] : [[2, 'bytes', dim]]),
    );
    fields.push([2, 'bytes', message(dims.map((dim): Field => [1, 'bytes', dim]))]);
  }
  return message(fields);
}

function valueInfo(value: TinyValue): Uint8Array {
  const tensor = message([[1, 'bytes', tensorType(value)]]);
  const type = value.sequence ? message([[4, 'bytes', message([[1, 'bytes', tensor]])]]) : tensor;
  return message([
    [1, 'bytes', value.name],
    [2, 'bytes', type],
  ]);
}

export function tinyModel(spec: { nodes: TinyNode[]; inputs: TinyValue[]; outputs: TinyValue[]; opset?: number }) {
  const nodes = spec.nodes.map((node, i) =>
    message([
      ...node.inputs.map((name): Field => [1, 'bytes', name]),
      ...node.outputs.map((name): Field => [2, 'bytes', name]),
      [3, 'bytes', `node${i}`],
      [4, 'bytes', node.op],
      ...(node.attributes ?? []).map((attribute): Field => [
        5,
        'bytes',
        message([
          [1, 'bytes', attribute.name],
          [3, 'varint', attribute.int],
          [20, 'varint', 2], // AttributeProto.INT
        ]),
      ]),
    ]),
  );
  const graph = message([
    ...nodes.map((node): Field => [1, 'bytes', node]),
    [2, 'bytes', 'tiny'],
    ...spec.inputs.map((value): Field => [11, 'bytes', valueInfo(value)]),
    ...spec.outputs.map((value): Field => [12, 'bytes', valueInfo(value)]),
  ]);
  return message([
    [1, 'varint', 8], // ir_version
    [2, 'bytes', 'modelship-test'],
    [7, 'bytes', graph],
    [
      8,
      'bytes',
      message([
        [1, 'bytes', ''],
        [2, 'varint', spec.opset ?? 17],
      ]),
    ],
  ]);
}

/** y = Identity(x) for one element type, x and y of shape [batch, 2]. */
export function identityModel(elemType: number): Uint8Array {
  return tinyModel({
    nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
    inputs: [{ name: 'x', elemType, shape: ['batch', 2] }],
    outputs: [{ name: 'y', elemType, shape: ['batch', 2] }],
  });
}

/** sum = a + b, float32 of shape [batch, 3]. */
export function addModel(): Uint8Array {
  return tinyModel({
    nodes: [{ op: 'Add', inputs: ['a', 'b'], outputs: ['sum'] }],
    inputs: [
      { name: 'a', elemType: 1, shape: ['batch', 3] },
      { name: 'b', elemType: 1, shape: ['batch', 3] },
    ],
    outputs: [{ name: 'sum', elemType: 1, shape: ['batch', 3] }],
  });
}
