/**
 * What the deploy tests share: a temp workspace with a Triton repository folder, a real modelship server
 * over it, and a client that keeps sending inference requests and counts every failure.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readLedger, type LedgerEntry } from '../../src/deploy/ledger.js';
import { memoryLogger, type Logger } from '../../src/log.js';
import type { DeployOptions } from '../../src/steps/deploy.js';
import { startServer, type RunningServer } from '../../src/serve/server.js';

export const FIXTURES = resolve('fixtures');
export const IRIS_V1 = join(FIXTURES, 'models/iris-v1/model.onnx');
export const IRIS_V2 = join(FIXTURES, 'models/iris-v2/model.onnx');
export const IRIS_REGRESSED = join(FIXTURES, 'models/iris-regressed/model.onnx');
export const IRIS_BREAKING = join(FIXTURES, 'models/iris-breaking/model.onnx');
export const IRIS_ROWS = join(FIXTURES, 'data/iris/heldout.jsonl');
export const ADMIN_TOKEN = 'test-admin-token';

export interface Workspace {
  dir: string;
  repository: string;
  state: string;
  server: RunningServer;
  log: Logger & { lines: string[] };
  ledger(model?: string, environment?: string): Promise<LedgerEntry[]>;
  close(): Promise<void>;
}

export async function workspace(): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-deploy-'));
  const repository = join(dir, 'models');
  await mkdir(repository);
  const server = await startServer({ repository, port: 0, adminToken: ADMIN_TOKEN, modelControl: 'explicit' });
  const state = join(dir, '.modelship-state', 'models');
  return {
    dir,
    repository,
    state,
    server,
    log: memoryLogger(),
    async ledger(model = 'iris', environment = 'production') {
      return (await readLedger(join(state, model, environment, 'ledger.jsonl'))).entries;
    },
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Deploy options for iris-v1 into the workspace's file:// repository and server, smoke-tested on the held-out rows. */
export const deployOptions = (ws: Workspace, overrides: Partial<DeployOptions>): DeployOptions => ({
  model: IRIS_V1,
  modelName: 'iris',
  environment: 'production',
  target: `file://${ws.repository}`,
  server: ws.server.url,
  adminToken: ADMIN_TOKEN,
  smokeFixtures: IRIS_ROWS,
  ...overrides,
});

export const irisRequest = (features = [5.1, 3.5, 1.4, 0.2]) => ({
  inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: features }],
});

export async function infer(
  url: string,
  model = 'iris',
  version?: number,
  features?: number[],
): Promise<{ status: number; body: { model_version?: string; outputs?: unknown[]; error?: string } }> {
  const path = version === undefined ? `/v2/models/${model}/infer` : `/v2/models/${model}/versions/${version}/infer`;
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(irisRequest(features)),
  });
  return { status: response.status, body: (await response.json()) as { model_version?: string } };
}

/**
 * Sends requests back to back (a few in parallel) until stopped; every non-200 answer or network error is
 * kept. `versions` counts which version answered.
 */
export function trafficLoop(url: string, options: { model?: string; parallel?: number; rows?: number[][] } = {}) {
  let running = true;
  const failures: string[] = [];
  const versions = new Map<string, number>();
  let requests = 0;
  const worker = async () => {
    while (running) {
      try {
        // Picked at random: a fixed cycle could fall into step with the server's canary split.
        const features = options.rows ? options.rows[Math.floor(Math.random() * options.rows.length)] : undefined;
        const { status, body } = await infer(url, options.model ?? 'iris', undefined, features);
        requests++;
        if (status !== 200) failures.push(`${status}: ${body.error ?? JSON.stringify(body)}`);
        else versions.set(String(body.model_version), (versions.get(String(body.model_version)) ?? 0) + 1);
      } catch (error) {
        requests++;
        failures.push(`network: ${(error as Error).message}`);
      }
    }
  };
  const workers = Array.from({ length: options.parallel ?? 2 }, worker);
  return {
    failures,
    versions,
    get requests() {
      return requests;
    },
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}
