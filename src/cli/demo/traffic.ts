/**
 * Inference requests as a client of the served model sends them: one at a time to show an answer, or a
 * steady stream that keeps the server busy while a deploy changes what it serves.
 */
import { readFile } from 'node:fs/promises';
import { ModelshipError } from '../../errors.js';

export interface IrisRow {
  id: string;
  features: number[];
  label: string;
}

export async function readIrisRows(path: string): Promise<IrisRow[]> {
  const rows: IrisRow[] = [];
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    if (line.trim() === '') continue;
    const row = JSON.parse(line) as { id: string; inputs: { features: number[] }; label: string };
    rows.push({ id: row.id, features: row.inputs.features, label: row.label });
  }
  if (rows.length === 0) throw new ModelshipError('DEMO_FIXTURES_MISSING', `${path} holds no rows.`);
  return rows;
}

export interface Answer {
  /** The version number the server says answered (`model_version`). */
  modelVersion: string;
  /** The predicted class name. */
  label: string;
  probability: number;
  /** Round trip as the client saw it. */
  latencyMs: number;
}

interface InferBody {
  model_version?: string;
  outputs?: Array<{ name: string; data: number[] }>;
  error?: string;
}

async function post(url: string, features: number[]): Promise<{ status: number; body: InferBody }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: features }] }),
  });
  return { status: response.status, body: (await response.json()) as InferBody };
}

/** One request to the model's unversioned URL: the version the routing picks answers. */
export async function inferOnce(serverUrl: string, model: string, row: IrisRow, labels: string[]): Promise<Answer> {
  const started = performance.now();
  const { status, body } = await post(`${serverUrl}/v2/models/${model}/infer`, row.features);
  const latencyMs = performance.now() - started;
  if (status !== 200) {
    throw new ModelshipError('DEMO_REQUEST_FAILED', `The server answered ${status}: ${body.error ?? 'no error text'}.`);
  }
  const index = body.outputs?.find((o) => o.name === 'label')?.data[0];
  const probabilities = body.outputs?.find((o) => o.name === 'probabilities')?.data ?? [];
  if (index === undefined || body.model_version === undefined) {
    throw new ModelshipError('DEMO_REQUEST_FAILED', 'The answer has no label output or no model_version.');
  }
  return {
    modelVersion: body.model_version,
    label: labels[index] ?? String(index),
    probability: probabilities[index] ?? NaN,
    latencyMs,
  };
}

export interface TrafficFigures {
  requests: number;
  failures: number;
  /** Requests answered, by `model_version`. */
  byVersion: Record<string, number>;
  /** The first few failures, in words. */
  errors: string[];
}

export interface Traffic {
  readonly figures: TrafficFigures;
  stop(): Promise<TrafficFigures>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `clients` loops, each sending the held-out rows in turn with `pauseMs` between requests, until stopped.
 * The pause keeps the rate realistic and leaves the one event loop to the deploy it runs beside.
 */
export function startTraffic(
  serverUrl: string,
  model: string,
  rows: IrisRow[],
  options: { clients?: number; pauseMs?: number } = {},
): Traffic {
  const figures: TrafficFigures = { requests: 0, failures: 0, byVersion: {}, errors: [] };
  const url = `${serverUrl}/v2/models/${model}/infer`;
  let running = true;
  let next = 0;
  const fail = (message: string) => {
    figures.failures++;
    if (figures.errors.length < 5) figures.errors.push(message);
  };
  const client = async () => {
    while (running) {
      const row = rows[next++ % rows.length];
      try {
        const { status, body } = await post(url, row.features);
        figures.requests++;
        if (status === 200 && body.model_version !== undefined) {
          figures.byVersion[body.model_version] = (figures.byVersion[body.model_version] ?? 0) + 1;
        } else fail(`${status}: ${body.error ?? 'no model_version'}`);
      } catch (error) {
        figures.requests++;
        fail(`network: ${(error as Error).message}`);
      }
      await sleep(options.pauseMs ?? 2);
    }
  };
  const clients = Array.from({ length: options.clients ?? 2 }, client);
  return {
    figures,
    async stop() {
      running = false;
      await Promise.all(clients);
      return figures;
    },
  };
}
