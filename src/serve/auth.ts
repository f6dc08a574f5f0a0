/** Bearer tokens: one for model control and routing, an optional one for reading and inference. */
import { timingSafeEqual } from 'node:crypto';
import type { HttpRequest } from './http1.js';
import { HttpError } from './http-io.js';

export interface Tokens {
  admin?: string;
  read?: string;
}

function presented(req: HttpRequest): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : undefined;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export const AUTH_CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="modelship"' };

/** Throws 401/403 unless the request carries the admin token. */
export function requireAdmin(req: HttpRequest, tokens: Tokens): void {
  if (!tokens.admin) {
    throw new HttpError(
      403,
      'Model control and routing are disabled: the server was started without an admin token. Set MODELSHIP_ADMIN_TOKEN and restart it.',
    );
  }
  const token = presented(req);
  if (token === undefined)
    throw new HttpError(401, 'This endpoint needs the admin token: send "Authorization: Bearer <token>".');
  if (!same(token, tokens.admin)) throw new HttpError(401, 'The bearer token is not the admin token.');
}

/** Throws 401 when a read token is configured and the request carries neither it nor the admin token. */
export function requireRead(req: HttpRequest, tokens: Tokens): void {
  if (!tokens.read) return;
  const token = presented(req);
  if (token === undefined)
    throw new HttpError(401, 'This server needs a bearer token: send "Authorization: Bearer <token>".');
  if (!same(token, tokens.read) && !(tokens.admin && same(token, tokens.admin)))
    throw new HttpError(401, 'The bearer token is not valid for this server.');
}
