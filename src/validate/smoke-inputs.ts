/**
 * Inputs for the smoke run: fixture rows batched along the first dimension, or values made up from the
 * signature (variable dimensions become 1) when there are no fixtures. Either way the result is plain
 * TensorValues, which cross to the isolated runtime process by structured clone.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ModelshipError } from '../errors.js';
import { concatBatch, numberToFloat16, tensorFromNested, TYPED_ARRAYS } from '../runtime/convert.js';
import type { OipDatatype } from '../runtime/datatypes.js';
import type { TensorData, TensorSignature, TensorValue } from '../runtime/tensor.js';
import type { FixtureSource } from './expectations.js';
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
  if (datatype === 'BOOL') return new Array<boolean>(count).fill(false);
  if (datatype === 'BYTES') return new Array<string>(count).fill('');
  return new TYPED_ARRAYS[datatype](count);
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
      for (let i = 0; i < count; i++) (data as Uint16Array)[i] = numberToFloat16(random());
    }
    feeds[input.name] = { datatype: input.datatype, shape, data };
  }
  return feeds;
}

/** The value at a dotted field path (`inputs.features`) of a row. */
function field(row: unknown, dotted: string): unknown {
  let value = row;
  for (const key of dotted.split('.')) {
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value;
}

/** A row's inputs: the mapped fields, or its `inputs` object. Undefined when the row has neither. */
function inputsOf(row: unknown, mapping: FixtureSource['inputs']): Record<string, unknown> | undefined {
  if (mapping) {
    const inputs: Record<string, unknown> = {};
    for (const [name, source] of Object.entries(mapping)) {
      const value = typeof source === 'string' ? field(row, source) : source.map((column) => field(row, column));
      if (value !== undefined && !(Array.isArray(value) && value.includes(undefined))) inputs[name] = value;
    }
    return inputs;
  }
  const inputs = (row as { inputs?: unknown } | null)?.inputs;
  return typeof inputs === 'object' && inputs !== null && !Array.isArray(inputs)
    ? (inputs as Record<string, unknown>)
    : undefined;
}

/** The first `limit` rows of a JSONL fixture file (`{"inputs": {"<name>": [...]}, ...}` per line by default). */
export async function readFixtureRows(source: FixtureSource, limit = SMOKE_ROWS): Promise<FixtureRow[]> {
  const file = source.path;
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
      const inputs = inputsOf(row, source.inputs);
      if (!inputs) {
        throw new ModelshipError(
          'FIXTURES_INVALID',
          `Line ${lineNumber} of ${file} has no "inputs" object.`,
          'Each row looks like {"id": "1", "inputs": {"<input name>": [...]}}, or map inputs to fields in the fixtures entry of modelship.yml.',
          { file, line: lineNumber },
        );
      }
      const id = (row as { id?: unknown }).id;
      rows.push({ id: typeof id === 'string' || typeof id === 'number' ? id : undefined, inputs });
      if (rows.length >= limit) break;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ModelshipError(
        'FIXTURES_NOT_FOUND',
        `Fixture file ${file} does not exist.`,
        'Check the fixtures path.',
        {
          file,
        },
      );
    }
    throw error;
  } finally {
    lines.close();
    stream.destroy();
  }
  return rows;
}

/** The shape of a nested JSON array (a scalar has shape []); tensorFromNested checks it is not ragged. */
function shapeOf(value: unknown): number[] {
  const shape: number[] = [];
  let level = value;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  return shape;
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
    try {
      const tensors = use.map((row, index) => {
        const where = `fixture row ${row.id ?? index + 1}, input '${input.name}'`;
        if (!(input.name in row.inputs)) throw new Error(`${where} is missing`);
        const value = row.inputs[input.name];
        let shape = shapeOf(value);
        let data = value;
        if (shape.length === input.shape.length - 1) {
          shape = [1, ...shape];
          data = [value];
        }
        const fits =
          shape.length === input.shape.length &&
          input.shape.every((dim, axis) => axis === 0 || isVariable(dim) || dim === shape[axis]);
        if (!fits) {
          throw new Error(
            `${where} has shape ${formatShape(shapeOf(value))} but the model expects ${formatShape(input.shape)}`,
          );
        }
        return tensorFromNested(input.datatype, shape, data, input.name);
      });
      if (tensors.length === 0) throw new Error('the fixture file has no rows');
      const batched = concatBatch(tensors);
      if (fixedBatch !== undefined && batched.shape[0] !== fixedBatch) {
        throw new Error(
          `input '${input.name}' needs a batch of exactly ${fixedBatch}; the fixture rows give ${batched.shape[0]}`,
        );
      }
      feeds[input.name] = batched;
    } catch (error) {
      throw new ModelshipError(
        'SMOKE_INPUTS',
        `The fixture rows do not fit the model: ${(error as Error).message.replace(/\.$/, '')}.`,
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
    single[input.name] = {
      ...tensor,
      shape: [1, ...tensor.shape.slice(1)],
      data: tensor.data.slice(0, per) as TensorData,
    };
  }
  return single;
}
