/** Reading bounded request bodies and writing JSON answers and `{"error": ...}` bodies. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ModelshipError } from '../errors.js';

/** A user's error with the HTTP status it is answered with. */
export class HttpError extends ModelshipError {
  /** Fields added to the `{"error": ...}` body, e.g. the model version that answered. */
  details?: Record<string, string>;
  constructor(
    readonly status: number,
    message: string,
    code = codeFor(status),
  ) {
    super(code, message);
  }
}

function codeFor(status: number): string {
  switch (status) {
    case 400:
      return 'BAD_REQUEST';
    case 401:
      return 'UNAUTHORIZED';
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 405:
      return 'METHOD_NOT_ALLOWED';
    case 409:
      return 'CONFLICT';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 503:
      return 'UNAVAILABLE';
    default:
      return 'INTERNAL';
  }
}

export const badRequest = (message: string) => new HttpError(400, message);
export const notFound = (message: string) => new HttpError(404, message);
export const unavailable = (message: string) => new HttpError(503, message);

const formatBytes = (n: number) =>
  n >= 1 << 20 && n % (1 << 20) === 0
    ? `${n / (1 << 20)} MiB`
    : n >= 1024 && n % 1024 === 0
      ? `${n / 1024} KiB`
      : `${n} bytes`;

/** The whole body, or a 413 as soon as it is known to exceed `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(
      new HttpError(413, `Request body of ${declared} bytes exceeds the limit of ${formatBytes(limit)}.`),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(new HttpError(413, `Request body exceeds the limit of ${formatBytes(limit)}.`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
    req.on('error', (error) => {
      if (!failed) reject(error);
      failed = true;
    });
  });
}

/** Parses a JSON body; malformed JSON is a 400 that says where. An empty body is `undefined`. */
export function parseJsonBody(body: Buffer | string, what = 'Request body'): unknown {
  let text: string;
  try {
    text = typeof body === 'string' ? body : body.toString('utf8');
  } catch {
    // Beyond the longest string the JavaScript engine can hold.
    throw new HttpError(413, `${what} of ${body.length} bytes is too large to read as JSON.`);
  }
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badRequest(`${what} is not valid JSON: ${(error as Error).message}.`);
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
  details?: Record<string, string>,
): void {
  sendJson(res, status, { error: message, ...details }, headers);
}

export function sendText(res: ServerResponse, status: number, text: string, contentType: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
