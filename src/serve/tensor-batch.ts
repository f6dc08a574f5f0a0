/** Joining tensors along the first (batch) dimension and splitting them back. */
import type { TensorData, TensorValue } from '../runtime/tensor.js';

type Typed = Exclude<TensorData, string[] | boolean[]>;

/** One tensor holding the given tensors one after another along dimension 0. They share datatype and inner shape. */
export function concatBatch(tensors: TensorValue[]): TensorValue {
  if (tensors.length === 1) return tensors[0];
  const first = tensors[0];
  const rows = tensors.reduce((n, t) => n + t.shape[0], 0);
  const shape = [rows, ...first.shape.slice(1)];
  if (Array.isArray(first.data)) {
    const data = ([] as unknown[]).concat(...tensors.map((t) => t.data as unknown[]));
    return { datatype: first.datatype, shape, data: data as TensorData };
  }
  const total = tensors.reduce((n, t) => n + t.data.length, 0);
  const Ctor = (first.data as Typed).constructor as new (length: number) => Typed;
  const data = new Ctor(total);
  let offset = 0;
  for (const t of tensors) {
    (data as { set(source: ArrayLike<number | bigint>, offset: number): void }).set(
      t.data as ArrayLike<number | bigint>,
      offset,
    );
    offset += t.data.length;
  }
  return { datatype: first.datatype, shape, data };
}

/** Splits a tensor along dimension 0 into pieces of the given row counts (views, not copies, for typed data). */
export function splitBatch(tensor: TensorValue, rows: number[]): TensorValue[] {
  if (rows.length === 1) return [tensor];
  const total = tensor.shape[0];
  const perRow = total === 0 ? 0 : tensor.data.length / total;
  const pieces: TensorValue[] = [];
  let start = 0;
  for (const n of rows) {
    const end = start + n * perRow;
    const data = Array.isArray(tensor.data)
      ? tensor.data.slice(start, end)
      : (tensor.data as Typed).subarray(start, end);
    pieces.push({ datatype: tensor.datatype, shape: [n, ...tensor.shape.slice(1)], data: data as TensorData });
    start = end;
  }
  return pieces;
}
