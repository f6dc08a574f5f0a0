/**
 * A small closed-loop HTTP/1.1 load generator: `concurrency` keep-alive connections, each sending the same
 * pre-encoded request back to back until the time is up, reading each response by its Content-Length.
 * It skips node:http on purpose: on a two-core machine the client shares the CPU with the server it
 * measures, so the client's own cost per request has to be as small as possible.
 */
import { connect, type Socket } from 'node:net';

export interface LoadTarget {
  url: string;
  path: string;
  body: Buffer;
  headers: Record<string, string>;
}

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  requestsPerSecond: number;
  latenciesMs: number[];
  firstError?: string;
}

interface Connection {
  socket: Socket;
  /** Called with each complete response's status and body. */
  onResponse?: (status: number, body: Buffer) => void;
  onError?: (error: Error) => void;
  pending: Buffer;
}

const pools = new Map<string, Connection[]>();

function encodeRequest(target: LoadTarget, host: string): Buffer {
  const lines = [`POST ${target.path} HTTP/1.1`, `Host: ${host}`, `Content-Length: ${target.body.length}`];
  for (const [name, value] of Object.entries(target.headers)) lines.push(`${name}: ${value}`);
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), target.body]);
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** Takes complete responses off the front of the connection's buffer. */
function drain(conn: Connection): void {
  for (;;) {
    const end = conn.pending.indexOf(HEADER_END);
    if (end === -1) return;
    const head = conn.pending.toString('latin1', 0, end);
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!length) {
      conn.onError?.(new Error(`response without Content-Length: ${head.split('\r\n')[0]}`));
      return;
    }
    const total = end + 4 + Number(length[1]);
    if (conn.pending.length < total) return;
    const body = conn.pending.subarray(end + 4, total);
    conn.pending = conn.pending.subarray(total);
    conn.onResponse?.(status, body);
  }
}

async function open(url: string): Promise<Connection> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port), noDelay: true });
  const conn: Connection = { socket, pending: Buffer.alloc(0) };
  socket.on('data', (chunk: Buffer) => {
    conn.pending = conn.pending.length === 0 ? chunk : Buffer.concat([conn.pending, chunk]);
    drain(conn);
  });
  socket.on('error', (error) => conn.onError?.(error));
  socket.on('close', () => conn.onError?.(new Error('connection closed')));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return conn;
}

/** Connections are kept per server across samples, so connecting is not what is measured. */
async function connections(url: string, count: number): Promise<Connection[]> {
  // Servers close idle keep-alive connections (node's default after 5 s): drop those.
  const pool = (pools.get(url) ?? []).filter((conn) => !conn.socket.destroyed && conn.socket.writable);
  pools.set(url, pool);
  while (pool.length < count) pool.push(await open(url));
  return pool.slice(0, count);
}

export function closeAgents(url?: string): void {
  for (const [key, pool] of pools) {
    if (url !== undefined && key !== url) continue;
    for (const conn of pool) {
      conn.onError = undefined;
      conn.socket.destroy();
    }
    pools.delete(key);
  }
}

export async function runLoad(target: LoadTarget, concurrency: number, durationMs: number): Promise<LoadResult> {
  const { host } = new URL(target.url);
  const request = encodeRequest(target, host);
  const conns = await connections(target.url, concurrency);
  const latenciesMs: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    conns.map(
      (conn) =>
        new Promise<void>((resolve) => {
          let sent = 0;
          const next = () => {
            sent = performance.now();
            conn.socket.write(request, (error) => {
              if (error) conn.onError?.(error);
            });
          };
          conn.onResponse = (status, body) => {
            const now = performance.now();
            latenciesMs.push(now - sent);
            if (status !== 200) {
              errors++;
              firstError ??= `${status} ${body.toString('utf8', 0, Math.min(body.length, 300))}`;
            }
            if (now < deadline) next();
            else {
              conn.onResponse = undefined;
              resolve();
            }
          };
          conn.onError = (error) => {
            errors++;
            firstError ??= error.message;
            conn.onResponse = undefined;
            resolve();
          };
          next();
        }),
    ),
  );
  // A connection that failed is not reused.
  for (const conn of conns) conn.onError = undefined;
  const pool = pools.get(target.url);
  if (errors > 0 && pool) closeAgents(target.url);
  const seconds = (performance.now() - started) / 1000;
  return {
    requests: latenciesMs.length,
    errors,
    seconds,
    requestsPerSecond: latenciesMs.length / seconds,
    latenciesMs,
    firstError,
  };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
