/**
 * Inputs for the smoke run: the first fixture rows (JSONL, CSV or an ONNX test data set, read by the shared
 * readers in src/fixtures), or values made up from the signature (variable dimensions become 1). Either way the result is plain
 * TensorValues, which cross to the isolated runtime process by structured clone.
 */
import { ModelshipError } from '../errors.js';
import { DEFAULT_FIELDS, readRows } from '../fixtures/rows.js';
import { openNpyFixture } from '../fixtures/npy.js';
import { ArrayFeeds, planInputArrays } from '../fixtures/npy-rows.js';
import { detectFixtureFormat, readTestCases, type TestCase } from '../fixtures/test-data.js';
import { numberToFloat16, TYPED_ARRAYS } from '../runtime/convert.js';
import { RowBatchBuilder } from '../runtime/row-batches.js';
import type { OipDatatype } from '../runtime/datatypes.js';
import type { TensorData, TensorSignature, TensorValue } from '../runtime/tensor.js';
import type { FixtureSource } from './expectations.js';
import { formatShape } from './signature-match.js';

export type Feeds = Record<string, TensorValue>;

/** Synthesized inputs stay small: a model with a huge fixed input gets its smoke run from fixtures only. */
const MAX_SYNTHESIZED_ELEMENTS = 16 * 2 ** 20;

/** The rows the smoke run feeds at most, batched into one call. */
export const SMOKE_ROWS = 32;

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

/** Values per row of a one-input model, when its dimensions past the batch are all fixed (CSV mapping). */
function inputWidth(inputs: readonly TensorSignature[]): number | undefined {
  if (inputs.length !== 1) return undefined;
  const rest = inputs[0].shape.slice(1);
  return rest.every((dim) => typeof dim === 'number' && dim >= 0)
    ? rest.reduce<number>((a, b) => a * (b as number), 1)
    : undefined;
}

/**
 * The smoke run's inputs from fixtures, read by the shared readers (src/fixtures): the first rows of a
 * JSONL or CSV file batched along the first dimension, or the first ONNX test data set as it is.
 */
export async function fixtureFeeds(source: FixtureSource, inputs: readonly TensorSignature[]): Promise<Feeds> {
  const format = await detectFixtureFormat(source.path, source.format);
  if (format === 'test-data') {
    const cases = readTestCases(source.path);
    const first = (await cases.next()).value as TestCase | undefined;
    await cases.return(undefined);
    if (!first) throw new ModelshipError('SMOKE_INPUTS', `${source.path} has no test data set.`);
    // By name when the files name their tensors, else by position, as ONNX test runners match them.
    const byName = new Map(first.inputs.filter((t) => t.name).map((t) => [t.name, t.value]));
    const feeds: Feeds = {};
    inputs.forEach((input, position) => {
      const value = byName.get(input.name) ?? first.inputs[position]?.value;
      if (!value) {
        throw new ModelshipError(
          'SMOKE_INPUTS',
          `${first.dir} has no tensor for input '${input.name}'.`,
          'Give the test data set one input_N.pb per model input.',
        );
      }
      feeds[input.name] = value;
    });
    return feeds;
  }
  if (format === 'npy') return arrayFeeds(source, inputs);
  // Rows go straight into one batch (one row for a model without a batch dimension), as evaluate feeds them.
  const builder = new RowBatchBuilder({ inputs: [...inputs], outputs: [] }, SMOKE_ROWS);
  const batches = readRows({
    path: source.path,
    format,
    fields: { ...DEFAULT_FIELDS, ...source.fields },
    mapping: source.inputs,
    inputNames: inputs.map((input) => input.name),
    inputWidth: inputWidth(inputs),
  });
  try {
    for await (const batch of batches) {
      for (const row of batch) {
        if (builder.full) break;
        builder.add(row.inputs, { file: source.path, line: row.line });
      }
      if (builder.full) break;
    }
  } finally {
    await batches.return(undefined);
  }
  if (builder.rows === 0) {
    throw new ModelshipError('SMOKE_INPUTS', `${source.path} has no rows.`, 'Give the smoke run at least one row.');
  }
  return builder.feeds();
}

/** The first rows of numpy arrays, as evaluate feeds them. */
async function arrayFeeds(source: FixtureSource, inputs: readonly TensorSignature[]): Promise<Feeds> {
  const fixture = await openNpyFixture(source.path);
  try {
    const fields = { ...DEFAULT_FIELDS, ...source.fields };
    const planned = planInputArrays(fixture, inputs, fields, source.inputs);
    const rows = Math.min(planned[0]?.batched ? SMOKE_ROWS : 1, fixture.rows);
    if (rows === 0) {
      throw new ModelshipError('SMOKE_INPUTS', `${source.path} has no rows.`, 'Give the smoke run at least one row.');
    }
    const bytes = new Map(planned.map(({ array }) => [array, new Uint8Array(rows * array.rowBytes)]));
    for (const [array, buffer] of bytes) await array.readRows(buffer, rows);
    return new ArrayFeeds(planned, rows).feeds((array) => bytes.get(array)!, rows);
  } finally {
    await fixture.close();
  }
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
