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
