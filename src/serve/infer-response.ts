/** An inference response as JSON, or as a JSON header followed by binary tensors. */
import type { TensorValue } from '../runtime/tensor.js';
import { float16ToNumber } from '../runtime/convert.js';

export interface ResponseOutput {
  name: string;
  tensor: TensorValue;
  binary: boolean;
}

export interface EncodedResponse {
  body: Buffer | string;
  /** Content-Type, Content-Length and, with binary outputs, Inference-Header-Content-Length. */
  headers: Record<string, string | number>;
}

function floatList(data: ArrayLike<number>): string {
  let text = '[';
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    // JSON has no NaN or infinities; null is what JSON.stringify writes for them.
    text += (i ? ',' : '') + (Number.isFinite(v) ? v : 'null');
  }
  return text + ']';
}

/** JSON text of a tensor's data, row-major and flat. 64-bit integers keep every digit. */
export function jsonDataText(tensor: TensorValue): string {
  const data = tensor.data;
  switch (tensor.datatype) {
    case 'FP32':
    case 'FP64':
      return floatList(data as Float32Array);
    case 'FP16':
      return floatList(Array.from(data as Uint16Array, float16ToNumber));
    case 'BOOL':
    case 'BYTES':
      return JSON.stringify(data);
    default:
      return integerList(data as ArrayLike<number | bigint>);
  }
}

/** Integers as JSON; a loop reads typed arrays (BigInt64Array too) faster than Array.prototype.join. */
function integerList(data: ArrayLike<number | bigint>): string {
  let text = '[';
  for (let i = 0; i < data.length; i++) text += (i ? ',' : '') + data[i];
  return text + ']';
}

/** JSON string literals of names (model, version, outputs): the same few for every response. */
const quotedNames = new Map<string, string>();

function quoted(name: string): string {
  let text = quotedNames.get(name);
  if (text === undefined) {
    text = JSON.stringify(name);
    if (quotedNames.size >= 1024) quotedNames.clear();
    quotedNames.set(name, text);
  }
  return text;
}

function binaryBytes(tensor: TensorValue): Buffer {
  const data = tensor.data;
  if (tensor.datatype === 'BYTES') {
    const parts: Buffer[] = [];
    for (const s of data as string[]) {
      const bytes = Buffer.from(s, 'utf8');
      const length = Buffer.allocUnsafe(4);
      length.writeUInt32LE(bytes.length, 0);
      parts.push(length, bytes);
    }
    return Buffer.concat(parts);
  }
  if (tensor.datatype === 'BOOL') return Buffer.from((data as boolean[]).map((b) => (b ? 1 : 0)));
  const typed = data as Exclude<typeof data, string[] | boolean[]>;
  return Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength);
}

export function encodeInferResponse(
  modelName: string,
  version: string,
  id: string | undefined,
  outputs: ResponseOutput[],
): EncodedResponse {
  const head = `{"model_name":${quoted(modelName)},"model_version":${quoted(version)}${id !== undefined ? `,"id":${JSON.stringify(id)}` : ''},"outputs":[`;
  const binaries: Buffer[] = [];
  const parts: string[] = [];
  for (const output of outputs) {
    const meta = `{"name":${quoted(output.name)},"datatype":"${output.tensor.datatype}","shape":[${output.tensor.shape.join(',')}]`;
    if (output.binary) {
      const bytes = binaryBytes(output.tensor);
      binaries.push(bytes);
      parts.push(`${meta},"parameters":{"binary_data_size":${bytes.length}}}`);
    } else {
      parts.push(`${meta},"data":${jsonDataText(output.tensor)}}`);
    }
  }
  const json = head + parts.join(',') + ']}';
  const headerLength = Buffer.byteLength(json);
  if (binaries.length === 0)
    return { body: json, headers: { 'Content-Type': 'application/json', 'Content-Length': headerLength } };
  // The JSON header and the tensors in one buffer, written to the socket with the HTTP head in one go.
  let length = headerLength;
  for (const bytes of binaries) length += bytes.length;
  const body = Buffer.allocUnsafe(length);
  let at = body.write(json, 0, 'utf8');
  for (const bytes of binaries) at += bytes.copy(body, at);
  return {
    body,
    headers: {
      'Content-Type': 'application/octet-stream',
      'Inference-Header-Content-Length': headerLength,
      'Content-Length': length,
    },
  };
}
