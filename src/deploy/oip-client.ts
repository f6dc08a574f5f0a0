/**
 * A client for an Open Inference Protocol (KServe V2 / Triton REST) server: health, readiness, the
 * repository extension (load with or without the model pushed in the request, unload), modelship's
 * routing extension, inference and /metrics. Deploy and rollback talk to servers only through here.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { open, stat } from 'node:fs/promises';
import { ModelshipError } from '../errors.js';
import { parseMetricsText, type MetricSample } from './metrics-text.js';

export interface Routing {
  stable: string | null;
  canary: { version: string; weight: number } | null;
  pinned?: boolean;
}

export interface OipTensor {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
  parameters?: Record<string, unknown>;
}

export interface InferRequest {
  id?: string;
  inputs: OipTensor[];
  outputs?: Array<{ name: string }>;
}

export interface InferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  outputs: OipTensor[];
}

export interface RepositoryIndexEntry {
  name: string;
  version?: string;
  state?: string;
  reason?: string;
}

/** A file pushed in a load request: `file:<relativePath>` = base64 of the file at `source`. */
export interface PushedFile {
  relativePath: string;
  source: string;
}

export class OipHttpError extends ModelshipError {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly url: string,
    readonly body: string,
  ) {
    super(
      'OIP_HTTP',
      `${method} ${url} answered ${status}${body ? `: ${errorText(body)}` : ''}`,
      status === 401 || status === 403
        ? 'The server wants an admin token for this: set MODELSHIP_ADMIN_TOKEN to the token the server was started with.'
        : undefined,
    );
  }
}

function errorText(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // not JSON: the raw text says more than nothing
  }
  return body.slice(0, 300);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Base64 is made from 3-byte groups; reading in multiples of 3 lets chunks be encoded separately. */
const PUSH_CHUNK = 3 * 256 * 1024;

export interface OipClientOptions {
  /** Bearer token for admin routes (routing), the server's MODELSHIP_ADMIN_TOKEN. */
  adminToken?: string;
  /** Per-request timeout for ordinary calls. Default 30 s; loads get `loadTimeoutMs`. */
  timeoutMs?: number;
  /** Timeout for a load (which may push and load a large model). Default 10 minutes. */
  loadTimeoutMs?: number;
}

export class OipClient {
  readonly baseUrl: string;
  private readonly adminToken?: string;
  private readonly timeoutMs: number;
  private readonly loadTimeoutMs: number;

  constructor(baseUrl: string, options: OipClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.adminToken = options.adminToken;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.loadTimeoutMs = options.loadTimeoutMs ?? 10 * 60_000;
  }

  modelUrl(model: string, version?: string | number): string {
    const base = `${this.baseUrl}/v2/models/${encodeURIComponent(model)}`;
    return version === undefined ? base : `${base}/versions/${encodeURIComponent(String(version))}`;
  }

  private async call(
    method: string,
    path: string,
    options: { body?: unknown; admin?: boolean; timeoutMs?: number } = {},
  ): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = {};
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.admin && this.adminToken) headers.authorization = `Bearer ${this.adminToken}`;
    const url = `${this.baseUrl}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(options.timeoutMs ?? this.timeoutMs),
      });
    } catch (error) {
      throw unreachable(method, url, error);
    }
    return { status: response.status, text: await response.text() };
  }

  private async json<T>(method: string, path: string, options: { body?: unknown; admin?: boolean } = {}): Promise<T> {
    const { status, text } = await this.call(method, path, options);
    if (status < 200 || status >= 300) throw new OipHttpError(status, method, `${this.baseUrl}${path}`, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async live(): Promise<boolean> {
    return (await this.call('GET', '/v2/health/live')).status === 200;
  }

  async serverReady(): Promise<boolean> {
    return (await this.call('GET', '/v2/health/ready')).status === 200;
  }

  async modelReady(model: string, version?: string | number): Promise<boolean> {
    const path = new URL(this.modelUrl(model, version)).pathname + '/ready';
    return (await this.call('GET', path)).status === 200;
  }

  /** Polls readiness until it holds or `timeoutMs` passes (then MODEL_NOT_READY, with the repository's reason). */
  async waitModelReady(
    model: string,
    version: string | number,
    options: { timeoutMs?: number; intervalMs?: number } = {},
  ): Promise<number> {
    const started = Date.now();
    const timeoutMs = options.timeoutMs ?? 120_000;
    for (;;) {
      if (await this.modelReady(model, version).catch(() => false)) return Date.now() - started;
      if (Date.now() - started > timeoutMs) {
        const index = await this.repositoryIndex().catch(() => []);
        const row = index.find((r) => r.name === model && String(r.version) === String(version));
        throw new ModelshipError(
          'MODEL_NOT_READY',
          `${model} version ${version} did not become ready within ${Math.round(timeoutMs / 1000)} s${row ? ` (state ${row.state}${row.reason ? `: ${row.reason}` : ''})` : ''}.`,
          'Check the server log for the load error.',
        );
      }
      await sleep(options.intervalMs ?? 50);
    }
  }

  async repositoryIndex(): Promise<RepositoryIndexEntry[]> {
    return this.json('POST', '/v2/repository/index', { body: {} });
  }

  /**
   * Asks the server to (re)load a model. With `config` (Triton's JSON model config) and `files`, the request
   * carries the model itself, streamed as base64 so a large model is never held in memory whole.
   */
  async load(model: string, options: { config?: string; files?: PushedFile[] } = {}): Promise<void> {
    const path = `/v2/repository/models/${encodeURIComponent(model)}/load`;
    if (!options.files?.length) {
      const body = options.config === undefined ? {} : { parameters: { config: options.config } };
      const { status, text } = await this.call('POST', path, { body, admin: true, timeoutMs: this.loadTimeoutMs });
      if (status !== 200) throw new OipHttpError(status, 'POST', `${this.baseUrl}${path}`, text);
      return;
    }
    if (options.config === undefined) {
      throw new ModelshipError('OIP_LOAD', 'A load request that pushes files must carry the model config too.');
    }
    const { status, text } = await this.pushLoad(path, options.config, options.files);
    if (status !== 200) throw new OipHttpError(status, 'POST', `${this.baseUrl}${path}`, text);
  }

  private async pushLoad(path: string, config: string, files: PushedFile[]): Promise<{ status: number; text: string }> {
    const sizes = await Promise.all(files.map(async (file) => (await stat(file.source)).size));
    const parts: Array<string | PushedFile> = [`{"parameters":{"config":${JSON.stringify(config)}`];
    let length = Buffer.byteLength(parts[0] as string);
    files.forEach((file, i) => {
      const head = `,${JSON.stringify(`file:${file.relativePath}`)}:"`;
      parts.push(head, file, '"');
      length += Buffer.byteLength(head) + Math.ceil(sizes[i] / 3) * 4 + 1;
    });
    parts.push('}}');
    length += 2;

    const url = new URL(`${this.baseUrl}${path}`);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': length };
    if (this.adminToken) headers.authorization = `Bearer ${this.adminToken}`;
    return new Promise((resolve, reject) => {
      const req = send(url, { method: 'POST', headers, timeout: this.loadTimeoutMs }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${Math.round(this.loadTimeoutMs / 1000)} s`)));
      req.on('error', (error) => reject(unreachable('POST', url.href, error)));
      const write = (chunk: string | Buffer) =>
        new Promise<void>((done, fail) => {
          if (req.write(chunk)) done();
          else {
            const onDrain = () => {
              req.off('error', fail);
              done();
            };
            req.once('drain', onDrain);
            req.once('error', fail);
          }
        });
      (async () => {
        for (const part of parts) {
          if (typeof part === 'string') {
            await write(part);
            continue;
          }
          const handle = await open(part.source, 'r');
          try {
            const buffer = Buffer.allocUnsafe(PUSH_CHUNK);
            for (;;) {
              const { bytesRead } = await handle.read(buffer, 0, PUSH_CHUNK, null);
              if (bytesRead === 0) break;
              await write(buffer.subarray(0, bytesRead).toString('base64'));
            }
          } finally {
            await handle.close();
          }
        }
        req.end();
      })().catch((error: unknown) => req.destroy(error as Error));
    });
  }

  async unload(model: string): Promise<void> {
    await this.json('POST', `/v2/repository/models/${encodeURIComponent(model)}/unload`, { body: {}, admin: true });
  }

  /**
   * The routing of a model, or undefined when the server has no routing extension (Triton answers 404 on the
   * route itself; modelship serve answers 404 with a JSON error only for a model it does not know).
   */
  async getRouting(model: string): Promise<Routing | undefined> {
    const path = `/v2/models/${encodeURIComponent(model)}/routing`;
    const { status, text } = await this.call('GET', path, { admin: true });
    if (status === 200) return JSON.parse(text) as Routing;
    if (status === 404 && !/model|version/i.test(errorText(text))) return undefined;
    throw new OipHttpError(status, 'GET', `${this.baseUrl}${path}`, text);
  }

  /**
   * Whether the server speaks modelship's routing extension: listed in `GET /v2` extensions (Triton lists its
   * own, without it); a server that lists none is asked on the route itself, where 404 means no.
   */
  async supportsRouting(model: string): Promise<boolean> {
    const meta = await this.call('GET', '/v2');
    if (meta.status === 200) {
      try {
        const extensions = (JSON.parse(meta.text) as { extensions?: unknown }).extensions;
        if (Array.isArray(extensions)) return extensions.includes('routing');
      } catch {
        // not JSON: ask the route
      }
    }
    const path = `/v2/models/${encodeURIComponent(model)}/routing`;
    const { status, text } = await this.call('GET', path, { admin: true });
    if (status === 401 || status === 403) throw new OipHttpError(status, 'GET', `${this.baseUrl}${path}`, text);
    if (status === 404) return /model|version/i.test(errorText(text));
    return status !== 405;
  }

  async setRouting(model: string, routing: { stable: string; canary: { version: string; weight: number } | null }) {
    return this.json<Routing>('PUT', `/v2/models/${encodeURIComponent(model)}/routing`, {
      body: routing,
      admin: true,
    });
  }

  async infer(model: string, version: string | number | undefined, body: InferRequest): Promise<InferResponse> {
    const path = new URL(this.modelUrl(model, version)).pathname + '/infer';
    return this.json('POST', path, { body });
  }

  async metrics(): Promise<MetricSample[]> {
    const { status, text } = await this.call('GET', '/metrics');
    if (status !== 200) throw new OipHttpError(status, 'GET', `${this.baseUrl}/metrics`, text);
    return parseMetricsText(text);
  }
}

function unreachable(method: string, url: string, error: unknown): ModelshipError {
  const cause = error as Error & { cause?: { code?: string; message?: string } };
  const detail = cause.cause?.code ?? cause.cause?.message ?? cause.message;
  return new ModelshipError(
    'SERVER_UNREACHABLE',
    `${method} ${url} failed: ${detail}.`,
    'Check the server URL and that the server is running and reachable from this runner.',
    undefined,
    { cause: error },
  );
}
