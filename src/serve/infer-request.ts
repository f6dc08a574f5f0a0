/**
 * An inference request, JSON or with the binary tensor extension, read and checked against the served
 * signature. Every mistake is a 400 that names the input and what was expected.
 */
import type { OipDatatype } from '../runtime/datatypes.js';
import { datatypeFromOip } from '../runtime/datatypes.js';
import type { TensorData, TensorValue } from '../runtime/tensor.js';
import { isModelshipError } from '../errors.js';
import { tensorFromNested } from '../runtime/convert.js';
import { badRequest, isPlainObject } from './http-io.js';
import { decodeRuns, FastPathMiss, hasRuns, readRequestJson, runsCount, runsToJson } from './request-json.js';
import type { ServedSignature } from './model-config.js';

export interface RequestedOutput {
  name: string;
  binary: boolean;
}

export interface InferRequest {
  id?: string;
  parameters?: Record<string, unknown>;
  inputs: Record<string, TensorValue>;
  /** Outputs to return, in order. */
  outputs: RequestedOutput[];
  /** Rows along dimension 0 when the model batches, else 1. */
  batchSize: number;
}

const describeShape = (shape: ReadonlyArray<number | string>) => `[${shape.join(', ')}]`;
const describeValue = (v: unknown) => {
  const text = JSON.stringify(v);
  return text === undefined ? String(v) : text.length > 40 ? text.slice(0, 37) + '...' : text;
};

/**
 * Reads a request body. `headerLength` is the `Inference-Header-Content-Length` header: when given, the JSON
 * header is that many bytes and binary tensor data follows.
 */
export function parseInferRequest(
  body: Buffer,
  headerLength: string | undefined,
  signature: ServedSignature,
  maxBatchSize: number,
): InferRequest {
  let headerEnd = body.length;
  if (headerLength !== undefined) {
    if (!/^\d+$/.test(headerLength) || Number(headerLength) > body.length) {
      throw badRequest(
        `Inference-Header-Content-Length '${headerLength}' must be a byte count no larger than the body (${body.length} bytes).`,
      );
    }
    headerEnd = Number(headerLength);
  }
  let header: unknown;
  try {
    header = readRequestJson(body, headerEnd);
  } catch (miss) {
    if (!(miss instanceof FastPathMiss)) throw miss;
    try {
      header = JSON.parse(body.toString('utf8', 0, headerEnd));
    } catch (error) {
      throw badRequest(`Request body is not valid JSON: ${(error as Error).message}.`);
    }
  }
  if (!isPlainObject(header)) throw badRequest('The inference request must be a JSON object with an "inputs" array.');

  let id: string | undefined;
  if (header.id !== undefined) {
    if (typeof header.id !== 'string') throw badRequest('"id" must be a string.');
    id = header.id;
  }
  let parameters: Record<string, unknown> | undefined;
  if (header.parameters !== undefined) {
    if (!isPlainObject(header.parameters)) throw badRequest('"parameters" must be an object.');
    parameters = header.parameters;
  }
  const binaryDefault = parameters?.binary_data_output;
  if (binaryDefault !== undefined && typeof binaryDefault !== 'boolean')
    throw badRequest('"parameters.binary_data_output" must be true or false.');

  if (!Array.isArray(header.inputs) || header.inputs.length === 0) {
    throw badRequest(`"inputs" must be a non-empty array; the model expects ${listTensors(signature.inputs)}.`);
  }

  const byName = inputsByName(signature);
  const inputs: Record<string, TensorValue> = {};
  let binaryOffset = headerEnd;
  let batchSize: number | undefined;
  for (let i = 0; i < header.inputs.length; i++) {
    const raw: unknown = header.inputs[i];
    if (!isPlainObject(raw)) throw badRequest(`inputs[${i}] must be an object with name, shape, datatype and data.`);
    const name = raw.name;
    if (typeof name !== 'string') throw badRequest(`inputs[${i}] has no "name".`);
    const spec = byName.get(name);
    if (!spec) throw badRequest(`Unknown input '${name}'; the model expects ${listTensors(signature.inputs)}.`);
    if (name in inputs) throw badRequest(`Input '${name}' is given twice.`);
    if (raw.datatype !== spec.datatype) {
      throw badRequest(
        typeof raw.datatype === 'string' && datatypeFromOip(raw.datatype)
          ? `Input '${name}' has datatype ${raw.datatype} but the model expects ${spec.datatype}.`
          : `Input '${name}' has datatype ${describeValue(raw.datatype)}; the model expects ${spec.datatype}.`,
      );
    }
    const shape = readShape(raw.shape, name);
    if (shape.length !== spec.shape.length) {
      throw badRequest(
        `Input '${name}' has shape ${describeShape(shape)} but the model expects ${describeShape(spec.shape)} (rank ${spec.shape.length}).`,
      );
    }
    for (let d = 0; d < shape.length; d++) {
      if (spec.shape[d] >= 0 && shape[d] !== spec.shape[d]) {
        throw badRequest(
          `Input '${name}' has shape ${describeShape(shape)} but the model expects ${describeShape(spec.shape)} (dimension ${d} must be ${spec.shape[d]}).`,
        );
      }
    }
    if (maxBatchSize > 0) {
      const rows = shape[0];
      if (rows < 1 || rows > maxBatchSize)
        throw badRequest(
          `Input '${name}' has batch size ${rows}; it must be between 1 and max_batch_size ${maxBatchSize}.`,
        );
      if (batchSize !== undefined && rows !== batchSize)
        throw badRequest(`Inputs disagree on the batch size: ${batchSize} and ${rows} (input '${name}').`);
      batchSize = rows;
    }
    const count = shape.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(count) || count > 1 << 30)
      throw badRequest(`Input '${name}' shape ${describeShape(shape)} is too large.`);

    const inputParameters = raw.parameters;
    if (inputParameters !== undefined && !isPlainObject(inputParameters))
      throw badRequest(`Input '${name}': "parameters" must be an object.`);
    const binarySize = inputParameters?.binary_data_size;
    let data: TensorData;
    if (binarySize !== undefined) {
      if (typeof binarySize !== 'number' || !Number.isSafeInteger(binarySize) || binarySize < 0) {
        throw badRequest(`Input '${name}': binary_data_size must be a byte count.`);
      }
      if (headerLength === undefined)
        throw badRequest(
          `Input '${name}' has binary_data_size but the request has no Inference-Header-Content-Length header.`,
        );
      if (raw.data !== undefined) throw badRequest(`Input '${name}' has both "data" and binary_data_size.`);
      if (binaryOffset + binarySize > body.length) {
        throw badRequest(
          `Input '${name}': binary_data_size ${binarySize} runs past the end of the body (${body.length - binaryOffset} bytes left).`,
        );
      }
      data = binaryData(body, binaryOffset, binarySize, spec.datatype, count, name);
      binaryOffset += binarySize;
    } else {
      if (raw.data === undefined) throw badRequest(`Input '${name}' has no "data".`);
      data = jsonData(raw.data, spec.datatype, count, shape, name);
    }
    inputs[name] = { datatype: spec.datatype, shape, data };
  }
  if (binaryOffset !== body.length) {
    throw badRequest(
      `The body has ${body.length - binaryOffset} bytes after the tensors its header describes; binary_data_size values must add up to the binary part.`,
    );
  }
  for (const spec of signature.inputs) {
    if (!(spec.name in inputs) && !spec.optional)
      throw badRequest(`Missing input '${spec.name}' (${spec.datatype} ${describeShape(spec.shape)}).`);
  }

  const outputs = readOutputs(header.outputs, signature, binaryDefault === true);
  return { id, parameters, inputs, outputs, batchSize: batchSize ?? 1 };
}

const inputMaps = new WeakMap<ServedSignature, Map<string, ServedSignature['inputs'][number]>>();

function inputsByName(signature: ServedSignature): Map<string, ServedSignature['inputs'][number]> {
  let map = inputMaps.get(signature);
  if (!map) {
    map = new Map(signature.inputs.map((s) => [s.name, s]));
    inputMaps.set(signature, map);
  }
  return map;
}

function listTensors(tensors: ServedSignature['inputs']): string {
  return tensors.map((t) => `'${t.name}' (${t.datatype} ${describeShape(t.shape)})`).join(', ');
}

function readShape(shape: unknown, name: string): number[] {
  if (!Array.isArray(shape)) throw badRequest(`Input '${name}' has no "shape" array.`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw badRequest(`Input '${name}' has shape ${describeValue(shape)}; dimensions must be non-negative integers.`);
    }
  }
  return shape as number[];
}

function readOutputs(raw: unknown, signature: ServedSignature, binaryDefault: boolean): RequestedOutput[] {
  if (raw === undefined) return signature.outputs.map((o) => ({ name: o.name, binary: binaryDefault }));
  if (!Array.isArray(raw)) throw badRequest('"outputs" must be an array of {"name": ...}.');
  const known = new Set(signature.outputs.map((o) => o.name));
  const seen = new Set<string>();
  return raw.map((item: unknown, i) => {
    if (!isPlainObject(item) || typeof item.name !== 'string')
      throw badRequest(`outputs[${i}] must be an object with a "name".`);
    if (!known.has(item.name))
      throw badRequest(`Unknown output '${item.name}'; the model has ${[...known].map((n) => `'${n}'`).join(', ')}.`);
    if (seen.has(item.name)) throw badRequest(`Output '${item.name}' is requested twice.`);
    seen.add(item.name);
    let binary = binaryDefault;
    if (item.parameters !== undefined) {
      if (!isPlainObject(item.parameters)) throw badRequest(`Output '${item.name}': "parameters" must be an object.`);
      if (item.parameters.classification !== undefined)
        throw badRequest(`Output '${item.name}': the classification extension is not supported.`);
      const b = item.parameters.binary_data;
      if (b !== undefined && typeof b !== 'boolean')
        throw badRequest(`Output '${item.name}': parameters.binary_data must be true or false.`);
      if (b !== undefined) binary = b;
    }
    return { name: item.name, binary };
  });
}

function jsonData(raw: unknown, datatype: OipDatatype, count: number, shape: number[], name: string): TensorData {
  if (hasRuns(raw)) {
    // Numbers only, still as bytes: decode them straight into the tensor when the nesting fits the shape.
    if ((datatype === 'FP32' || datatype === 'FP64') && runsCount(raw, shape) === count) {
      const out = datatype === 'FP32' ? new Float32Array(count) : new Float64Array(count);
      decodeRuns(raw, out);
      return out;
    }
    raw = runsToJson(raw);
  }
  if (!Array.isArray(raw)) throw badRequest(`Input '${name}': "data" must be an array.`);
  try {
    return tensorFromNested(datatype, shape, raw, name).data;
  } catch (error) {
    if (isModelshipError(error))
      throw badRequest(`Input '${name}': ${error.message.replace(`tensor '${name}': `, '')}`);
    throw error;
  }
}

const TYPED: Partial<
  Record<
    OipDatatype,
    {
      new (buffer: ArrayBuffer, offset: number, length: number): TensorData;
      new (length: number): TensorData;
      BYTES_PER_ELEMENT: number;
    }
  >
> = {
  UINT8: Uint8Array,
  INT8: Int8Array,
  UINT16: Uint16Array,
  INT16: Int16Array,
  UINT32: Uint32Array,
  INT32: Int32Array,
  UINT64: BigUint64Array,
  INT64: BigInt64Array,
  FP16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
} as never;

/** Binary tensor data: little-endian elements; BYTES as a 4-byte little-endian length before each element. */
function binaryData(
  body: Buffer,
  offset: number,
  size: number,
  datatype: OipDatatype,
  count: number,
  name: string,
): TensorData {
  if (datatype === 'BYTES') {
    const out: string[] = [];
    let at = offset;
    const end = offset + size;
    while (at < end) {
      if (at + 4 > end) throw badRequest(`Input '${name}': BYTES element ${out.length} has a truncated length prefix.`);
      const length = body.readUInt32LE(at);
      at += 4;
      if (at + length > end)
        throw badRequest(`Input '${name}': BYTES element ${out.length} of ${length} bytes runs past binary_data_size.`);
      out.push(body.toString('utf8', at, at + length));
      at += length;
    }
    if (out.length !== count)
      throw badRequest(`Input '${name}' has ${out.length} BYTES elements but its shape needs ${count}.`);
    return out;
  }
  const row = datatypeFromOip(datatype)!;
  if (size !== count * row.bytes) {
    throw badRequest(
      `Input '${name}': binary_data_size is ${size} bytes but ${count} ${datatype} elements take ${count * row.bytes}.`,
    );
  }
  if (datatype === 'BOOL') {
    const out = new Array<boolean>(count);
    for (let i = 0; i < count; i++) out[i] = body[offset + i] !== 0;
    return out;
  }
  const Ctor = TYPED[datatype]!;
  const start = body.byteOffset + offset;
  if (start % Ctor.BYTES_PER_ELEMENT === 0) return new Ctor(body.buffer as ArrayBuffer, start, count);
  // Unaligned within the pooled buffer: copy to an aligned one.
  const copy = new Uint8Array(size);
  copy.set(body.subarray(offset, offset + size));
  return new Ctor(copy.buffer, 0, count);
}
