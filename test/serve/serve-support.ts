/**
 * Real model repositories in temporary folders and a small HTTP client for the server tests.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request, Agent } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ModelSpec } from '../../src/onnx/encode.js';
import { ElemType } from '../../src/onnx/types.js';
import { memoryLogger } from '../../src/log.js';
import { startServer, type RunningServer, type ServerOptions } from '../../src/serve/server.js';
import { writeModel } from '../support/onnx-models.js';

export const ADMIN_TOKEN = 'admin-secret-for-tests';
export const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

export interface ModelFolderSpec {
  config?: string;
  versions: Record<number, ModelSpec | Uint8Array>;
}

/** A repository folder holding the given models; removed by the returned cleanup. */
export async function tempRepository(models: Record<string, ModelFolderSpec> = {}): Promise<string> {
  const repo = await mkdtemp(path.join(tmpdir(), 'modelship-repo-'));
  for (const [name, spec] of Object.entries(models)) await writeModelFolder(repo, name, spec);
  return repo;
}

export async function writeModelFolder(repo: string, name: string, spec: ModelFolderSpec): Promise<void> {
  await mkdir(path.join(repo, name), { recursive: true });
  if (spec.config !== undefined) await writeFile(path.join(repo, name, 'config.pbtxt'), spec.config);
  for (const [version, model] of Object.entries(spec.versions)) {
    const file = path.join(repo, name, version, 'model.onnx');
    if (model instanceof Uint8Array) {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, model);
    } else await writeModel(file, model);
  }
}

export const removeRepository = (repo: string) => rm(repo, { recursive: true, force: true });

/** config.pbtxt for a one-input, one-output FP32 model X -> Y with rows of `width`. */
export function addConfig(
  name: string,
  options: { width?: number; maxBatchSize?: number; policy?: string; batchingDelayUs?: number } = {},
): string {
  const width = options.width ?? 3;
  const mbs = options.maxBatchSize ?? 8;
  const dims = mbs > 0 ? `[ ${width} ]` : `[ -1, ${width} ]`;
  return [
    `name: "${name}"`,
    'platform: "onnxruntime_onnx"',
    `max_batch_size: ${mbs}`,
    `input [ { name: "X", data_type: TYPE_FP32, dims: ${dims} } ]`,
    `output [ { name: "Y", data_type: TYPE_FP32, dims: ${dims} } ]`,
    options.policy ? `version_policy: ${options.policy}` : '',
    options.batchingDelayUs !== undefined
      ? `dynamic_batching { max_queue_delay_microseconds: ${options.batchingDelayUs} }`
      : '',
  ]
    .filter(Boolean)
    .join('\n');
}

/** Y = A + B over float32 [batch, 2]: a model with two inputs. */
export function twoInputModel(): ModelSpec {
  return {
    producerName: 'modelship-tests',
    graph: {
      name: 'sum',
      inputs: [
        { name: 'A', elemType: ElemType.FLOAT, shape: ['batch', 2] },
        { name: 'B', elemType: ElemType.FLOAT, shape: ['batch', 2] },
      ],
      outputs: [{ name: 'Y', elemType: ElemType.FLOAT, shape: ['batch', 2] }],
      nodes: [{ opType: 'Add', inputs: ['A', 'B'], outputs: ['Y'], name: 'sum' }],
    },
  };
}

export async function serve(
  repository: string,
  options: Partial<ServerOptions> = {},
): Promise<RunningServer & { lines: string[] }> {
  const log = memoryLogger();
  const server = await startServer({
    repository,
    port: 0,
    adminToken: ADMIN_TOKEN,
    log,
    intraOpThreads: 1,
    ...options,
  });
  return Object.assign(server, { lines: log.lines });
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test assertions read arbitrary JSON
  json: any;
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** One HTTP request over a keep-alive agent; never throws for a status, only for a broken connection. */
export function call(
  base: string,
  method: string,
  pathname: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const payload =
    body === undefined ? undefined : Buffer.isBuffer(body) || typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${pathname}`,
      {
        method,
        agent,
        headers: {
          ...(payload !== undefined ? { 'content-length': String(Buffer.byteLength(payload)) } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const buffer = Buffer.concat(chunks);
          const text = buffer.toString('utf8');
          let json: unknown;
          if (String(res.headers['content-type']).startsWith('application/json')) json = JSON.parse(text);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: buffer, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export const get = (base: string, p: string, headers?: Record<string, string>) =>
  call(base, 'GET', p, undefined, headers);
export const post = (base: string, p: string, body?: unknown, headers?: Record<string, string>) =>
  call(base, 'POST', p, body, headers);

/** A JSON inference request for X of FP32 [rows, width]. */
export function inferBody(rows: number[][], extra: Record<string, unknown> = {}) {
  return {
    inputs: [{ name: 'X', shape: [rows.length, rows[0].length], datatype: 'FP32', data: rows.flat() }],
    ...extra,
  };
}

/** A binary-extension request body: JSON header then raw tensors. */
export function binaryBody(header: unknown, tensors: Buffer[]): { body: Buffer; headers: Record<string, string> } {
  const json = Buffer.from(JSON.stringify(header));
  return {
    body: Buffer.concat([json, ...tensors]),
    headers: { 'inference-header-content-length': String(json.length), 'content-type': 'application/octet-stream' },
  };
}

/** Splits a binary response into its JSON header and the bytes after it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test assertions read arbitrary JSON
export function readBinaryReply(reply: Reply): { header: any; rest: Buffer } {
  const length = Number(reply.headers['inference-header-content-length']);
  return { header: JSON.parse(reply.body.subarray(0, length).toString('utf8')), rest: reply.body.subarray(length) };
}

export interface LoadReport {
  total: number;
  failures: string[];
  byVersion: Record<string, number>;
}

/**
 * Background traffic: `concurrency` loops of inference requests until stopped (or `limit` requests each).
 * `check` returns a complaint about a 200 reply, or undefined when it is right.
 */
export function trafficLoops(
  base: string,
  pathname: string,
  body: unknown,
  options: { concurrency: number; limit?: number; check?: (reply: Reply) => string | undefined },
): { stop(): Promise<LoadReport>; report: LoadReport } {
  const report: LoadReport = { total: 0, failures: [], byVersion: {} };
  let stopped = false;
  const payload = JSON.stringify(body);
  const loop = async () => {
    for (let i = 0; !stopped && i < (options.limit ?? 20_000); i++) {
      let reply: Reply;
      try {
        reply = await post(base, pathname, payload);
      } catch (error) {
        report.failures.push(`connection: ${(error as Error).message}`);
        continue;
      }
      report.total++;
      if (reply.status !== 200) {
        report.failures.push(`${reply.status}: ${reply.text}`);
        continue;
      }
      const version = String(reply.json.model_version);
      report.byVersion[version] = (report.byVersion[version] ?? 0) + 1;
      const complaint = options.check?.(reply);
      if (complaint) report.failures.push(complaint);
    }
  };
  const loops = Array.from({ length: options.concurrency }, loop);
  return {
    report,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return report;
    },
  };
}

/** Waits until `count` more requests have been answered by the loops. */
export async function trafficFor(report: LoadReport, count: number): Promise<void> {
  const target = report.total + count;
  while (report.total < target) await new Promise((r) => setTimeout(r, 5));
}

/**
 * A request whose body is sent in two parts: the server has it in flight until `finish` sends the rest.
 */
export async function slowRequest(base: string, pathname: string, body: string): Promise<{ finish(): Promise<Reply> }> {
  const { request: plainRequest } = await import('node:http');
  const payload = Buffer.from(body);
  let resolveReply: (reply: Reply) => void;
  let rejectReply: (error: Error) => void;
  const replied = new Promise<Reply>((resolve, reject) => {
    resolveReply = resolve;
    rejectReply = reject;
  });
  const req = plainRequest(`${base}${pathname}`, {
    method: 'POST',
    headers: { 'content-length': String(payload.length), 'content-type': 'application/json' },
  });
  req.on('response', (res) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      const buffer = Buffer.concat(chunks);
      const text = buffer.toString('utf8');
      resolveReply({ status: res.statusCode ?? 0, headers: res.headers, body: buffer, text, json: JSON.parse(text) });
    });
  });
  req.on('error', (error) => rejectReply(error));
  const half = Math.floor(payload.length / 2);
  req.write(payload.subarray(0, half));
  req.flushHeaders();
  // Let the server parse the headers and start the request before anything else happens.
  await new Promise((r) => setTimeout(r, 100));
  return {
    finish() {
      req.end(payload.subarray(half));
      return replied;
    },
  };
}
