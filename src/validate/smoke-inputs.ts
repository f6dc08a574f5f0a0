/**
 * Inputs for the smoke run: fixture rows batched along the first dimension, or values made up from the
 * signature (variable dimensions become 1) when there are no fixtures. Either way the result is plain
 * TensorValues, which cross to the isolated runtime process by structured clone.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ModelshipError } from '../errors.js';
import type { OipDatatype } from '../runtime/datatypes.js';
import type { Signature, TensorData, TensorSignature, TensorValue } from '../runtime/tensor.js';
import { formatShape } from './signature-match.js';

export type Feeds = Record<string, TensorValue>;

/** Synthesized inputs stay small: a model with a huge fixed input gets its smoke run from fixtures only. */
const MAX_SYNTHESIZED_ELEMENTS = 16 * 2 ** 20;

/** The rows the smoke run feeds at most, batched into one call. */
export const SMOKE_ROWS = 32;

export interface FixtureRow {
  id?: string | number;
  inputs: Record<string, unknown>;
}

const isVariable = (dim: number | string): boolean => typeof dim === 'string' || dim < 0;

function allocate(datatype: OipDatatype, count: number): TensorData {
  switch (datatype) {
    case 'FP32':
      return new Float32Array(count);
    case 'FP64':
      return new Float64Array(count);
    case 'FP16':
      return new Uint16Array(count);
    case 'INT8':
      return new Int8Array(count);
    case 'UINT8':
      return new Uint8Array(count);
    case 'INT16':
      return new Int16Array(count);
    case 'UINT16':
      return new Uint16Array(count);
    case 'INT32':
      return new Int32Array(count);
    case 'UINT32':
      return new Uint32Array(count);
    case 'INT64':
      return new BigInt64Array(count);
    case 'UINT64':
      return new BigUint64Array(count);
    case 'BOOL':
      return new Array<boolean>(count).fill(false);
    case 'BYTES':
      return new Array<string>(count).fill('');
  }
}

/** A deterministic stream of numbers in [0, 1): the same model always sees the same inputs. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** IEEE half-precision bits of a value in [0, 1), enough for made-up inputs. */
function halfBits(value: number): number {
  if (value === 0) return 0;
  const exponent = Math.floor(Math.log2(value));
  const mantissa = Math.round((value / 2 ** exponent - 1) * 1024);
  return ((exponent + 15) << 10) | Math.min(mantissa, 1023);
}

/**
 * Inputs made up from the signature: floats in [0, 1), integers 0 (a safe index for embeddings and
 * gathers), false, ''. Throws ModelshipError SMOKE_INPUTS when a shape leaves nothing to make up.
 */
export function synthesizeFeeds(inputs: readonly TensorSignature[], batch = 1): Feeds {
  const feeds: Feeds = {};
  const random = seededRandom(0x5eed);
  for (const input of inputs) {
    const shape = input.shape.map((dim, axis) => (isVariable(dim) ? (axis === 0 ? batch : 1) : (dim as number)));
    const count = shape.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(count) || count > MAX_SYNTHESIZED_ELEMENTS) {
      throw new ModelshipError(
        'SMOKE_INPUTS',
        `Input '${input.name}' ${formatShape(input.shape)} needs ${count} elements, too many to make up.`,
        'Give fixture rows for the smoke run (fixtures input or the model entry in modelship.yml).',
      );
    }
    const data = allocate(input.datatype, count);
    if (data instanceof Float32Array || data instanceof Float64Array) {
      for (let i = 0; i < count; i++) data[i] = random();
    } else if (input.datatype === 'FP16') {
      for (let i = 0; i < count; i++) (data as Uint16Array)[i] = halfBits(random());
    }
    feeds[input.name] = { datatype: input.datatype, shape, data };
  }
  return feeds;
}

/** The first `limit` rows of a JSONL fixture file (`{"inputs": {"<name>": [...]}, ...}` per line). */
export async function readFixtureRows(file: string, limit = SMOKE_ROWS): Promise<FixtureRow[]> {
  const rows: FixtureRow[] = [];
  const stream = createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === '') continue;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch (error) {
        throw new ModelshipError(
          'FIXTURES_INVALID',
          `Line ${lineNumber} of ${file} is not JSON: ${(error as Error).message}.`,
          'Fixture files hold one JSON object per line.',
          { file, line: lineNumber },
        );
      }
      const inputs = (row as { inputs?: unknown } | null)?.inputs;
      if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) {
        throw new ModelshipError(
          'FIXTURES_INVALID',
          `Line ${lineNumber} of ${file} has no "inputs" object.`,
          'Each row looks like {"id": "1", "inputs": {"<input name>": [...]}}.',
          { file, line: lineNumber },
        );
      }
      rows.push({ id: (row as FixtureRow).id, inputs: inputs as Record<string, unknown> });
      if (rows.length >= limit) break;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ModelshipError('FIXTURES_NOT_FOUND', `Fixture file ${file} does not exist.`, undefined, { file });
    }
    throw error;
  } finally {
    lines.close();
    stream.destroy();
  }
  return rows;
}

/** Shape and flattened values of a nested JSON array (a scalar has shape []). */
function flatten(value: unknown, where: string): { shape: number[]; values: unknown[] } {
  if (!Array.isArray(value)) return { shape: [], values: [value] };
  if (value.length === 0) return { shape: [0], values: [] };
  const parts = value.map((item) => flatten(item, where));
  const inner = parts[0].shape;
  for (const part of parts) {
    if (part.shape.join(',') !== inner.join(',')) throw new Error(`${where} is a ragged array`);
  }
  return { shape: [value.length, ...inner], values: parts.flatMap((part) => part.values) };
}

function fill(datatype: OipDatatype, values: unknown[], where: string): TensorData {
  const data = allocate(datatype, values.length);
  for (const [i, value] of values.entries()) {
    if (datatype === 'BYTES') {
      if (typeof value !== 'string') throw new Error(`${where} holds ${JSON.stringify(value)} where text is expected`);
      (data as string[])[i] = value;
    } else if (datatype === 'BOOL') {
      if (typeof value !== 'boolean' && value !== 0 && value !== 1) {
        throw new Error(`${where} holds ${JSON.stringify(value)} where true/false is expected`);
      }
      (data as boolean[])[i] = Boolean(value);
    } else if (typeof value !== 'number') {
      throw new Error(`${where} holds ${JSON.stringify(value)} where a number is expected`);
    } else if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
      data[i] = BigInt(Math.trunc(value));
    } else if (datatype === 'FP16') {
      (data as Uint16Array)[i] = halfBits(Math.min(Math.abs(value), 65504));
    } else {
      (data as Exclude<TensorData, string[] | boolean[] | BigInt64Array | BigUint64Array>)[i] = value;
    }
  }
  return data;
}

/**
 * Fixture rows batched along the first dimension of each input. A row's value either lacks the batch
 * dimension (it is stacked) or has it (it is concatenated). Throws ModelshipError SMOKE_INPUTS naming the
 * row and input that do not fit the signature.
 */
export function feedsFromRows(inputs: readonly TensorSignature[], rows: readonly FixtureRow[]): Feeds {
  const feeds: Feeds = {};
  for (const input of inputs) {
    const fixedBatch = input.shape.length > 0 && !isVariable(input.shape[0]) ? (input.shape[0] as number) : undefined;
    const use = fixedBatch !== undefined ? rows.slice(0, Math.max(1, fixedBatch)) : rows;
    const values: unknown[] = [];
    let batch = 0;
    let rowShape: number[] | undefined;
    try {
      for (const [index, row] of use.entries()) {
        const where = `fixture row ${row.id ?? index + 1}, input '${input.name}',`;
        if (!(input.name in row.inputs)) throw new Error(`${where.slice(0, -1)} is missing`);
        const flat = flatten(row.inputs[input.name], where);
        let shape = flat.shape;
        if (shape.length === input.shape.length - 1) shape = [1, ...shape];
        if (shape.length !== input.shape.length) {
          throw new Error(`${where} has shape ${formatShape(flat.shape)} but the model expects ${formatShape(input.shape)}`);
        }
        for (const [axis, dim] of input.shape.entries()) {
          if (axis > 0 && !isVariable(dim) && dim !== shape[axis]) {
            throw new Error(`${where} has shape ${formatShape(flat.shape)} but the model expects ${formatShape(input.shape)}`);
          }
        }
        if (rowShape && rowShape.slice(1).join(',') !== shape.slice(1).join(',')) {
          throw new Error(`${where} has shape ${formatShape(shape)}, unlike the rows before it`);
        }
        rowShape = shape;
        batch += shape[0] ?? 1;
        values.push(...flat.values);
      }
      if (fixedBatch !== undefined && batch !== fixedBatch) {
        throw new Error(`input '${input.name}' needs a batch of exactly ${fixedBatch}; the fixture rows give ${batch}`);
      }
      const shape = rowShape ? [batch, ...rowShape.slice(1)] : [0];
      feeds[input.name] = { datatype: input.datatype, shape, data: fill(input.datatype, values, `input '${input.name}'`) };
    } catch (error) {
      if (error instanceof ModelshipError) throw error;
      throw new ModelshipError(
        'SMOKE_INPUTS',
        `The fixture rows do not fit the model: ${(error as Error).message}.`,
        'Fix the fixture file, or point the fixtures input at rows for this model.',
      );
    }
  }
  return feeds;
}

/** The first row of each feed whose batch dimension is variable, for latency runs that time one request. */
export function firstRow(inputs: readonly TensorSignature[], feeds: Feeds): Feeds {
  const single: Feeds = { ...feeds };
  for (const input of inputs) {
    const tensor = feeds[input.name];
    if (!tensor || input.shape.length === 0 || !isVariable(input.shape[0]) || tensor.shape[0] <= 1) continue;
    const per = tensor.data.length / tensor.shape[0];
    single[input.name] = { ...tensor, shape: [1, ...tensor.shape.slice(1)], data: tensor.data.slice(0, per) as TensorData };
  }
  return single;
}
