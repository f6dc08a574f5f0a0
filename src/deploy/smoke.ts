/**
 * The smoke run that proves a version live: a few fixture rows (or one synthetic input) sent over HTTP,
 * each answer compared with what onnxruntime-node computes offline from the same model file. Floats
 * within rtol/atol, integers, booleans and strings exactly, NaN equal to NaN.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ModelshipError } from '../errors.js';
import { tensorFromNested, tensorToJsonData } from '../runtime/convert.js';
import type { ModelSession } from '../runtime/session.js';
import type { Signature, TensorValue } from '../runtime/tensor.js';
import type { InferRequest, OipClient } from './oip-client.js';

export const SMOKE_RTOL = 1e-3;
export const SMOKE_ATOL = 1e-5;
export const DEFAULT_SMOKE_ROWS = 16;

export interface SmokeCase {
  id: string;
  feeds: Record<string, TensorValue>;
  /** What onnxruntime-node computes offline for `feeds`. */
  expected: Record<string, TensorValue>;
}

export interface SmokeFailure {
  id: string;
  message: string;
}

export interface SmokeResult {
  passed: boolean;
  /** Where the requests went: the versioned URL or the model's unversioned one. */
  url: string;
  rows: number;
  failures: SmokeFailure[];
  /** Largest |served − offline| over float outputs. */
  maxAbsError: number;
  ms: number;
}

function nestedShape(value: unknown): number[] {
  const shape: number[] = [];
  let node = value;
  while (Array.isArray(node)) {
    shape.push(node.length);
    node = node[0];
  }
  return shape;
}

/** One fixture row's inputs as tensors for `signature`: a row holding one example gets a batch dimension of 1. */
function rowFeeds(inputs: Record<string, unknown>, signature: Signature, where: string): Record<string, TensorValue> {
  const feeds: Record<string, TensorValue> = {};
  for (const input of signature.inputs) {
    if (!(input.name in inputs)) {
      throw new ModelshipError(
        'SMOKE_FIXTURES_INVALID',
        `${where} has no input '${input.name}' (it has ${Object.keys(inputs).join(', ') || 'none'}).`,
        "Smoke fixture rows must carry every model input under 'inputs', named as the model names them.",
      );
    }
    const raw = inputs[input.name];
    let shape = nestedShape(raw);
    let data = raw;
    if (shape.length === input.shape.length - 1) {
      shape = [1, ...shape];
      data = [raw];
    } else if (!Array.isArray(raw) && input.shape.length === 1) {
      shape = [1];
      data = [raw];
    }
    try {
      feeds[input.name] = tensorFromNested(input.datatype, shape, data, input.name);
    } catch (error) {
      throw new ModelshipError(
        'SMOKE_FIXTURES_INVALID',
        `${where}: ${(error as Error).message}`,
        'Check that the smoke fixtures were written for this model signature.',
      );
    }
  }
  return feeds;
}

/** Reads up to `limit` rows `{"id", "inputs": {...}}` from a JSONL file, stopping early (no full read). */
export async function readSmokeRows(
  path: string,
  signature: Signature,
  limit = DEFAULT_SMOKE_ROWS,
): Promise<Array<{ id: string; feeds: Record<string, TensorValue> }>> {
  const rows: Array<{ id: string; feeds: Record<string, TensorValue> }> = [];
  const stream = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === '') continue;
      let row: { id?: unknown; inputs?: unknown };
      try {
        row = JSON.parse(line) as typeof row;
      } catch {
        throw new ModelshipError('SMOKE_FIXTURES_INVALID', `Line ${lineNumber} is not JSON.`, undefined, {
          file: path,
          line: lineNumber,
        });
      }
      if (typeof row.inputs !== 'object' || row.inputs === null) {
        throw new ModelshipError(
          'SMOKE_FIXTURES_INVALID',
          `Line ${lineNumber} has no 'inputs' object.`,
          'Each row looks like {"id": "...", "inputs": {"<input name>": [...]}}.',
          { file: path, line: lineNumber },
        );
      }
      const id = row.id === undefined ? `line ${lineNumber}` : String(row.id);
      rows.push({ id, feeds: rowFeeds(row.inputs as Record<string, unknown>, signature, `${path}:${lineNumber}`) });
      if (rows.length >= limit) break;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ModelshipError('SMOKE_FIXTURES_NOT_FOUND', `Smoke fixtures not found: ${path}`, undefined, {
        file: path,
      });
    }
    throw error;
  } finally {
    lines.close();
    stream.destroy();
  }
  if (rows.length === 0) {
    throw new ModelshipError('SMOKE_FIXTURES_INVALID', `Smoke fixtures ${path} hold no rows.`, undefined, {
      file: path,
    });
  }
  return rows;
}

/** One input that any model with a fixed-rank signature accepts: variable dimensions 1, a small ramp of values. */
export function syntheticRow(signature: Signature): { id: string; feeds: Record<string, TensorValue> } {
  const feeds: Record<string, TensorValue> = {};
  for (const input of signature.inputs) {
    const shape = input.shape.map((dim) => (typeof dim === 'number' && dim > 0 ? dim : 1));
    const count = shape.reduce((a, b) => a * b, 1);
    const ramp = Array.from({ length: count }, (_, i) => (i % 7) + 1);
    let data: unknown[];
    if (input.datatype === 'BOOL') data = ramp.map((x) => x % 2 === 0);
    else if (input.datatype === 'BYTES') data = ramp.map((x) => `smoke-${x}`);
    else if (input.datatype.startsWith('FP')) data = ramp.map((x) => x / 8);
    else data = ramp;
    feeds[input.name] = tensorFromNested(input.datatype, shape, data, input.name);
  }
  return { id: 'synthetic', feeds };
}

/** Runs the rows offline; a row the model itself cannot run is a fixture problem, found before anything changes. */
export async function offlineCases(
  session: ModelSession,
  rows: Array<{ id: string; feeds: Record<string, TensorValue> }>,
): Promise<SmokeCase[]> {
  const cases: SmokeCase[] = [];
  for (const row of rows) {
    try {
      cases.push({ ...row, expected: await session.run(row.feeds) });
    } catch (error) {
      throw new ModelshipError(
        'SMOKE_FIXTURES_INVALID',
        `Smoke row ${row.id} does not run on the model offline: ${(error as Error).message}`,
        'The smoke fixtures must fit the model being deployed; nothing was changed.',
      );
    }
  }
  return cases;
}

const isFloat = (datatype: string) => datatype === 'FP16' || datatype === 'FP32' || datatype === 'FP64';

/** Why two tensors differ, or undefined when they agree within tolerance. */
export function compareTensors(
  served: TensorValue,
  offline: TensorValue,
  tolerance: { rtol: number; atol: number } = { rtol: SMOKE_RTOL, atol: SMOKE_ATOL },
): { message?: string; maxAbsError: number } {
  if (served.datatype !== offline.datatype) {
    return { message: `datatype ${served.datatype}, offline ${offline.datatype}`, maxAbsError: 0 };
  }
  if (served.shape.join(',') !== offline.shape.join(',')) {
    return { message: `shape [${served.shape}], offline [${offline.shape}]`, maxAbsError: 0 };
  }
  const a = tensorToJsonData(served);
  const b = tensorToJsonData(offline);
  let maxAbsError = 0;
  for (let i = 0; i < b.length; i++) {
    const x = a[i];
    const y = b[i];
    if (isFloat(served.datatype)) {
      const xn = x as number;
      const yn = y as number;
      if (Number.isNaN(xn) && Number.isNaN(yn)) continue;
      if (xn === yn) continue;
      const diff = Math.abs(xn - yn);
      maxAbsError = Math.max(maxAbsError, Number.isFinite(diff) ? diff : Infinity);
      if (!(diff <= tolerance.atol + tolerance.rtol * Math.abs(yn))) {
        return {
          message: `element ${i} is ${xn}, offline ${yn} (|diff| ${diff.toExponential(3)} > atol ${tolerance.atol} + rtol ${tolerance.rtol} × |offline|)`,
          maxAbsError,
        };
      }
    } else if (x !== y) {
      return {
        message: `element ${i} is ${JSON.stringify(x)}, offline ${JSON.stringify(y)} (must match exactly)`,
        maxAbsError,
      };
    }
  }
  return { maxAbsError };
}

export function inferRequestFor(smoke: { id: string; feeds: Record<string, TensorValue> }): InferRequest {
  return {
    id: `smoke-${smoke.id}`,
    inputs: Object.entries(smoke.feeds).map(([name, value]) => ({
      name,
      shape: value.shape,
      datatype: value.datatype,
      data: tensorToJsonData(value),
    })),
  };
}

/**
 * Sends every case to the server (to `version`, or unversioned) and compares. With `expectVersion`, every
 * answer must also say it came from that version (proof the routing switch took effect).
 */
export async function runSmoke(
  client: OipClient,
  model: string,
  cases: readonly SmokeCase[],
  options: { version?: number; expectVersion?: number } = {},
): Promise<SmokeResult> {
  const started = performance.now();
  const failures: SmokeFailure[] = [];
  let maxAbsError = 0;
  for (const smoke of cases) {
    let response;
    try {
      response = await client.infer(model, options.version, inferRequestFor(smoke));
    } catch (error) {
      failures.push({ id: smoke.id, message: `request failed: ${(error as Error).message}` });
      continue;
    }
    if (options.expectVersion !== undefined && String(response.model_version) !== String(options.expectVersion)) {
      failures.push({
        id: smoke.id,
        message: `answered by version ${response.model_version ?? '(none given)'}, expected ${options.expectVersion}`,
      });
      continue;
    }
    for (const [name, offline] of Object.entries(smoke.expected)) {
      const output = response.outputs.find((o) => o.name === name);
      if (!output) {
        failures.push({ id: smoke.id, message: `output '${name}' missing from the answer` });
        continue;
      }
      let served: TensorValue;
      try {
        served = tensorFromNested(output.datatype, output.shape, output.data, name);
      } catch (error) {
        failures.push({ id: smoke.id, message: `output '${name}' unreadable: ${(error as Error).message}` });
        continue;
      }
      const compared = compareTensors(served, offline);
      maxAbsError = Math.max(maxAbsError, compared.maxAbsError);
      if (compared.message) {
        failures.push({ id: smoke.id, message: `output '${name}' ${compared.message}` });
      }
    }
  }
  return {
    passed: failures.length === 0,
    url: client.modelUrl(model, options.version),
    rows: cases.length,
    failures,
    maxAbsError,
    ms: performance.now() - started,
  };
}

/** One line for a log or an error: what failed, for which rows. */
export function describeSmokeFailures(result: SmokeResult, limit = 3): string {
  const shown = result.failures.slice(0, limit).map((f) => `row ${f.id}: ${f.message}`);
  const more = result.failures.length > limit ? `; and ${result.failures.length - limit} more` : '';
  return `${result.failures.length} of ${result.rows} smoke row(s) failed at ${result.url}: ${shown.join('; ')}${more}`;
}
