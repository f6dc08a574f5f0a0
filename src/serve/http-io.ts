/** Errors with their HTTP status, JSON bodies read, and JSON answers and `{"error": ...}` bodies written. */
import type { HttpResponse } from './http1.js';
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

export function sendJson(res: HttpResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.send(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers }, text);
}

export function sendError(
  res: HttpResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
  details?: Record<string, string>,
): void {
  sendJson(res, status, { error: message, ...details }, headers);
}

export function sendText(res: HttpResponse, status: number, text: string, contentType: string): void {
  res.send(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) }, text);
}

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
