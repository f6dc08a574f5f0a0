/**
 * The server's HTTP/1.1 layer over node:net: strict request parsing (RFC 9112), Content-Length and chunked
 * bodies, keep-alive and pipelining, `Expect: 100-continue`, and whole responses written in one go.
 *
 * node:http would do, but its per-request machinery (a readable and a writable stream per exchange, their
 * events, header objects) is a real share of a small model's request; this layer spends about 4 µs on one.
 * It knows only what this server needs: every response is whole and has a Content-Length, and request
 * bodies are read whole, up to a limit.
 *
 * Parsing is strict where leniency lets a proxy in front and this server disagree about where a request
 * ends: a Content-Length beside Transfer-Encoding, two differing Content-Lengths, a transfer coding other
 * than chunked, folded header lines, bare CR or LF, and control characters are 400 and close the connection.
 */
import { createServer, Socket, type AddressInfo, type OnReadOpts, type Server } from 'node:net';
import { HttpError } from './http-io.js';

export interface HttpLimits {
  /** Largest request line plus headers. Default 16 KiB (node:http's). */
  maxHeaderBytes?: number;
  /** A request's head must arrive within this. Default 60 s. */
  headersTimeoutMs?: number;
  /** A whole request must arrive within this. Default 300 s. */
  requestTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this. Default 5 s. */
  keepAliveTimeoutMs?: number;
  /** A connection whose client reads none of its answer for this long is closed. Default 60 s. */
  sendTimeoutMs?: number;
}

export type HttpHandler = (req: HttpRequest, res: HttpResponse) => void;

const CRLF2 = Buffer.from('\r\n\r\n');
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Visible ASCII and obs-text, no spaces or controls. */
const TARGET = /^[\x21-\x7e\x80-\xff]+$/;
/** Field values: no controls but horizontal tab. */
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n');
const OWS_AROUND = /^[ \t]+|[ \t]+$/g;

const REASONS: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  417: 'Expectation Failed',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

/** A protocol error found while parsing: answered, then the connection is closed. */
class ProtocolError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** One request. Its body arrives after the handler is called and is read whole with `body(limit)`. */
export class HttpRequest {
  /** True once the whole body has arrived. */
  complete = false;
  /** Body bytes that arrived before `body()` asked for them. */
  private chunks: Buffer[] = [];
  private received = 0;
  private waiting: { limit: number; resolve(body: Buffer): void; reject(error: unknown): void } | undefined;
  private failure: unknown;
  private continueSent = false;

  constructor(
    private readonly conn: Connection,
    readonly method: string,
    readonly url: string,
    /** Lower-case names; repeated fields joined with ", ". */
    readonly headers: Readonly<Record<string, string>>,
    /** The declared body length, or -1 for a chunked body. */
    readonly declaredLength: number,
    readonly expectsContinue: boolean,
    readonly http10: boolean,
  ) {}

  /** The whole body; a 413 as soon as it is known to be longer than `limit` bytes. */
  body(limit: number): Promise<Buffer> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.declaredLength > limit) return Promise.reject(tooLarge(limit, this.declaredLength));
    if (this.complete) return this.received > limit ? Promise.reject(tooLarge(limit)) : Promise.resolve(this.take());
    if (this.expectsContinue && !this.continueSent) {
      this.continueSent = true;
      this.conn.write(CONTINUE);
    }
    this.conn.resume();
    return new Promise((resolve, reject) => {
      this.waiting = { limit, resolve, reject };
      this.check();
    });
  }

  /** From the connection: body bytes, in a buffer the connection reuses (so they are copied). */
  push(chunk: Buffer): void {
    if (this.failure !== undefined) return;
    this.chunks.push(Buffer.from(chunk));
    this.received += chunk.length;
    this.check();
    // Nobody is reading: stop taking data until somebody does.
    if (!this.waiting && this.received > PAUSE_AFTER) this.conn.pause();
  }

  /** From the connection: the body is complete. */
  end(): void {
    this.complete = true;
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve(this.take());
    }
  }

  /** From the connection: the body will not arrive. */
  abort(error: unknown): void {
    this.failure ??= error;
    this.chunks = [];
    if (this.waiting) {
      const { reject } = this.waiting;
      this.waiting = undefined;
      reject(error);
    }
  }

  private check(): void {
    if (this.waiting && this.received > this.waiting.limit) {
      const limit = this.waiting.limit;
      this.abort(tooLarge(limit));
    }
  }

  private take(): Buffer {
    const body =
      this.chunks.length === 1
        ? this.chunks[0]
        : this.chunks.length === 0
          ? EMPTY
          : Buffer.concat(this.chunks, this.received);
    this.chunks = [];
    return body;
  }
}

const EMPTY = Buffer.alloc(0);
/** Body bytes held for a handler that has not asked for them yet. */
const PAUSE_AFTER = 1 << 20;
/** Answer bytes waiting for a client to read them, past which no further pipelined request is taken. */
const WRITE_HIGH = 1 << 20;

const formatBytes = (n: number) =>
  n >= 1 << 20 && n % (1 << 20) === 0
    ? `${n / (1 << 20)} MiB`
    : n >= 1024 && n % 1024 === 0
      ? `${n / 1024} KiB`
      : `${n} bytes`;

function tooLarge(limit: number, declared?: number): HttpError {
  return new HttpError(
    413,
    declared !== undefined
      ? `Request body of ${declared} bytes exceeds the limit of ${formatBytes(limit)}.`
      : `Request body exceeds the limit of ${formatBytes(limit)}.`,
  );
}

/** The answer to one request: written whole by `send`. */
export class HttpResponse {
  headersSent = false;
  private extra: string[] | undefined;

  constructor(
    private readonly conn: Connection,
    private readonly request: HttpRequest,
    private readonly head: boolean,
    private readonly onDone: () => void,
  ) {}

  /** A header for the answer `send` writes. */
  setHeader(name: string, value: string): void {
    (this.extra ??= []).push(`${name}: ${value}\r\n`);
  }

  send(status: number, headers: Readonly<Record<string, string | number>>, body: Buffer | string): void {
    if (this.headersSent) throw new Error('A response was already sent.');
    this.headersSent = true;
    this.conn.respond(this.request, status, headers, this.extra, body, this.head);
    this.onDone();
  }

  /** Abandons the exchange: the connection is closed without an answer. */
  destroy(): void {
    // Once answered, the connection may already carry the next request: leave it be.
    if (this.headersSent) return;
    this.headersSent = true;
    this.conn.destroy();
    this.onDone();
  }
}

type State = 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'answering' | 'draining';

class Connection {
  private pending: Buffer = EMPTY;
  private state: State = 'head';
  private request: HttpRequest | undefined;
  /** Body bytes still to come: of the Content-Length body, or of the current chunk. */
  private remaining = 0;
  private keepAlive = true;
  /** When the current request began to arrive, or when the connection went idle. */
  since = performance.now();
  /** Where the search for the end of the head resumes. */
  private scanned = 0;
  closed = false;
  private paused = false;
  private parsing = false;
  /** The client shut its side of the connection. */
  private peerDone = false;
  private trailerBytes = 0;
  /** Answers are waiting in the socket for a client that does not read: no new request is taken. */
  private blocked = false;
  /** Bytes waiting in the socket when the sweep last looked, and when that last changed. */
  private unsent = 0;
  private sentAt = performance.now();
  private readonly unblock = () => {
    this.blocked = false;
    this.resume();
    if (this.state === 'head' && this.pending.length > 0) this.parse();
    if (this.peerDone) this.finishAfterPeer();
  };

  constructor(
    private readonly socket: Socket,
    private readonly server: HttpServer,
  ) {
    socket.setNoDelay(true);
    socket.on('end', () => this.peerEnded());
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.closedBySocket());
  }

  get idle(): boolean {
    return this.state === 'head' && this.pending.length === 0 && this.request === undefined;
  }

  /** What the sweep does: undefined nothing, 0 close, else answer with that status and close. */
  get timedOut(): number | undefined {
    const now = performance.now();
    const limits = this.server.limits;
    // An answer still going out is not idleness; a client that stops taking it is dropped.
    const unsent = this.socket.writableLength;
    if (unsent > 0) {
      if (unsent !== this.unsent) {
        this.unsent = unsent;
        this.sentAt = now;
        return undefined;
      }
      return now - this.sentAt > limits.sendTimeoutMs ? 0 : undefined;
    }
    this.unsent = 0;
    const age = now - this.since;
    if (this.state === 'answering' || this.state === 'draining') return undefined;
    if (this.idle) return age > limits.keepAliveTimeoutMs ? 0 : undefined;
    if (this.state === 'head') return age > limits.headersTimeoutMs ? 408 : undefined;
    return age > limits.requestTimeoutMs ? 408 : undefined;
  }

  write(data: Buffer | string): void {
    if (!this.closed) this.socket.write(data);
  }

  pause(): void {
    if (!this.paused && !this.closed) {
      this.paused = true;
      this.socket.pause();
    }
  }

  resume(): void {
    if (this.paused && !this.closed) {
      this.paused = false;
      this.socket.resume();
    }
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.closedBySocket();
  }

  /** Closes once the request being answered is answered; at once when there is none. */
  closeSoon(): void {
    this.keepAlive = false;
    if (this.idle) this.endAndDrain();
    // Part of a head: no request was taken yet, so nothing is lost.
    else if (this.state === 'head' && !this.request) this.destroy();
  }

  private closedBySocket(): void {
    this.closed = true;
    this.request?.abort(new HttpError(400, 'The client closed the connection.'));
    this.server.forget(this);
  }

  private peerEnded(): void {
    // The client will send nothing more: answer what it sent, then close.
    this.peerDone = true;
    if (this.state !== 'answering' && this.state !== 'draining') {
      if (this.request && !this.request.complete)
        this.request.abort(new HttpError(400, 'The request body was cut short.'));
      // Nothing being answered: close once what was written is sent.
      if (this.state === 'head' || !this.request) this.endAndDrain();
    }
  }

  /** Bytes read, in a buffer the next read overwrites: what is kept past this call is copied. */
  data(chunk: Buffer): void {
    if (this.state === 'draining') return;
    const fresh = this.pending.length === 0;
    this.pending = fresh ? chunk : Buffer.concat([this.pending, chunk]);
    // Pipelined requests wait while one is answered; a client that sends many more waits too.
    if (this.state !== 'answering' && !this.blocked) this.parse();
    else if (this.pending.length > PAUSE_AFTER) this.pause();
    if (fresh && this.pending.length > 0 && this.pending.buffer === chunk.buffer)
      this.pending = Buffer.from(this.pending);
  }

  /**
   * Consumes what `pending` holds, as far as the state allows. A handler that answers at once answers
   * inside this loop; the loop then goes on with the next pipelined request rather than recursing.
   */
  private parse(): void {
    if (this.parsing) return;
    this.parsing = true;
    try {
      this.consume();
    } catch (error) {
      if (error instanceof ProtocolError) this.reject(error.status, error.message);
      else {
        // A fault here is this server's, not the client's: drop the connection, keep serving, tell.
        this.destroy();
        this.server.onError(error);
      }
    } finally {
      this.parsing = false;
    }
    if (this.peerDone && !this.closed) this.finishAfterPeer();
  }

  private consume(): void {
    for (;;) {
      switch (this.state) {
        case 'head':
          if (this.blocked || !this.parseHead()) return;
          break;
        case 'body':
          if (!this.takeBody()) return;
          if (this.remaining === 0) this.finishBody();
          break;
        case 'chunk-size': {
          const line = this.line(1024, 'chunk size line');
          if (line === undefined) return;
          // Leading zeros are allowed; the size itself is held to 12 hex digits (under 2^48).
          const size = /^0*([0-9A-Fa-f]{1,12})(?:[ \t]*;(.*))?$/.exec(line);
          if (!size || line.length > 1024 || (size[2] !== undefined && BAD_VALUE.test(size[2]))) {
            throw new ProtocolError(400, `Bad chunk size line '${printable(line)}'.`);
          }
          this.remaining = parseInt(size[1], 16);
          this.state = this.remaining === 0 ? 'trailers' : 'chunk-data';
          this.trailerBytes = 0;
          break;
        }
        case 'chunk-data':
          if (!this.takeBody()) return;
          if (this.remaining === 0) this.state = 'chunk-end';
          break;
        case 'chunk-end': {
          if (this.pending.length < 2) return;
          if (this.pending[0] !== 13 || this.pending[1] !== 10)
            throw new ProtocolError(400, 'A chunk does not end with CRLF.');
          this.pending = this.pending.subarray(2);
          this.state = 'chunk-size';
          break;
        }
        case 'trailers': {
          const max = this.server.limits.maxHeaderBytes;
          const line = this.line(max, 'trailer');
          if (line === undefined) return;
          if (line === '') {
            this.finishBody();
            break;
          }
          // Trailers are read and dropped, but held to the rules and the size of a head.
          this.trailerBytes += line.length + 2;
          const colon = line.indexOf(':');
          if (colon <= 0 || !TOKEN.test(line.slice(0, colon)) || BAD_VALUE.test(line) || this.trailerBytes > max) {
            throw new ProtocolError(400, 'Malformed or oversized trailer section.');
          }
          break;
        }
        case 'answering':
        case 'draining':
          return;
      }
    }
  }

  /** Hands the request what `pending` holds of the body (or chunk), up to `remaining`; false when empty. */
  private takeBody(): boolean {
    if (this.pending.length === 0) return false;
    const take = Math.min(this.remaining, this.pending.length);
    this.request!.push(this.pending.subarray(0, take));
    this.pending = this.pending.subarray(take);
    this.remaining -= take;
    return true;
  }

  /** The next CRLF-terminated line of `pending`, taken off it; undefined until it is all there. */
  private line(max: number, what: string): string | undefined {
    const end = this.pending.indexOf('\r\n');
    if (end === -1) {
      if (this.pending.length > max) throw new ProtocolError(400, `The ${what} is too long.`);
      return undefined;
    }
    const text = this.pending.toString('latin1', 0, end);
    this.pending = this.pending.subarray(end + 2);
    return text;
  }

  private parseHead(): boolean {
    // Empty lines before a request are allowed (RFC 9112 2.2).
    while (this.pending.length >= 2 && this.pending[0] === 13 && this.pending[1] === 10) {
      this.pending = this.pending.subarray(2);
    }
    if (this.pending.length === 0) return false;
    if (this.scanned === 0) this.since = performance.now();
    const end = this.pending.indexOf(CRLF2, Math.max(0, this.scanned - 3));
    const max = this.server.limits.maxHeaderBytes;
    if (end === -1) {
      this.scanned = this.pending.length;
      if (this.pending.length > max) throw new ProtocolError(431, `The request head exceeds ${formatBytes(max)}.`);
      return false;
    }
    if (end + 4 > max) throw new ProtocolError(431, `The request head exceeds ${formatBytes(max)}.`);
    this.scanned = 0;
    const head = this.pending.toString('latin1', 0, end);
    this.pending = this.pending.subarray(end + 4);
    this.begin(head);
    return true;
  }

  private begin(head: string): void {
    const lines = head.split('\r\n');
    const requestLine = lines[0];
    const first = requestLine.indexOf(' ');
    const second = requestLine.indexOf(' ', first + 1);
    if (first <= 0 || second === -1 || requestLine.indexOf(' ', second + 1) !== -1) {
      throw new ProtocolError(400, `Malformed request line '${printable(requestLine)}'.`);
    }
    const method = requestLine.slice(0, first);
    const url = requestLine.slice(first + 1, second);
    const version = requestLine.slice(second + 1);
    if (!TOKEN.test(method)) throw new ProtocolError(400, `Malformed method '${printable(method)}'.`);
    if (!TARGET.test(url)) throw new ProtocolError(400, 'Malformed request target.');
    if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') {
      if (/^HTTP\/\d\.\d$/.test(version)) throw new ProtocolError(505, `${version} is not supported; use HTTP/1.1.`);
      throw new ProtocolError(400, `Malformed request line '${printable(requestLine)}'.`);
    }

    // No prototype: a header named __proto__ or constructor is just a header.
    const headers = Object.create(null) as Record<string, string>;
    let contentLength: string | undefined;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i];
      const colon = line.indexOf(':');
      if (colon <= 0) {
        throw new ProtocolError(
          400,
          line[0] === ' ' || line[0] === '\t'
            ? 'Folded header lines are not accepted.'
            : `Malformed header line '${printable(line)}'.`,
        );
      }
      const name = line.slice(0, colon);
      if (!TOKEN.test(name)) throw new ProtocolError(400, `Malformed header name '${printable(name)}'.`);
      // Optional whitespace is spaces and tabs only; anything else around a value is part of it.
      const raw = line.slice(colon + 1);
      if (BAD_VALUE.test(raw)) throw new ProtocolError(400, `Header '${name}' holds a control character.`);
      const value = raw.replace(OWS_AROUND, '');
      const key = name.toLowerCase();
      if (key === 'content-length') {
        if (contentLength !== undefined && contentLength !== value) {
          throw new ProtocolError(400, 'Two different Content-Length headers.');
        }
        contentLength = value;
        headers[key] = value;
        continue;
      }
      const previous = headers[key];
      if (previous !== undefined && key === 'host') throw new ProtocolError(400, 'Two Host headers.');
      headers[key] = previous === undefined ? value : `${previous}, ${value}`;
    }
    if (version === 'HTTP/1.1' && headers.host === undefined)
      throw new ProtocolError(400, 'HTTP/1.1 requests need a Host header.');

    const connection = headers.connection?.toLowerCase();
    this.keepAlive &&= version === 'HTTP/1.1' ? !hasToken(connection, 'close') : hasToken(connection, 'keep-alive');

    let declared = 0;
    let chunked = false;
    const coding = headers['transfer-encoding'];
    if (coding !== undefined) {
      if (contentLength !== undefined) throw new ProtocolError(400, 'Content-Length and Transfer-Encoding together.');
      if (version === 'HTTP/1.0') throw new ProtocolError(400, 'Transfer-Encoding in an HTTP/1.0 request.');
      if (coding.toLowerCase() !== 'chunked') {
        throw new ProtocolError(
          501,
          `Transfer-Encoding '${printable(coding)}' is not supported; send the body as is or chunked.`,
        );
      }
      chunked = true;
      declared = -1;
    } else if (contentLength !== undefined) {
      if (!/^\d{1,15}$/.test(contentLength))
        throw new ProtocolError(400, `Malformed Content-Length '${printable(contentLength)}'.`);
      declared = Number(contentLength);
    }

    let expectsContinue = false;
    const expect = headers.expect;
    if (expect !== undefined) {
      if (expect.toLowerCase() !== '100-continue')
        throw new ProtocolError(417, `Expect '${printable(expect)}' is not supported.`);
      expectsContinue = version === 'HTTP/1.1' && declared !== 0;
    }

    const request = new HttpRequest(this, method, url, headers, declared, expectsContinue, version === 'HTTP/1.0');
    this.request = request;
    if (chunked) this.state = 'chunk-size';
    else if (declared > 0) {
      this.state = 'body';
      this.remaining = declared;
      // A body that came with its head is in before the handler runs, so an answer given at once
      // (a 404, a 405) is not early and the connection stays open.
      this.takeBody();
      if (this.remaining === 0) this.finishBody();
    } else {
      request.end();
      this.state = 'answering';
    }
    const response = new HttpResponse(this, request, method === 'HEAD', this.server.onAnswered);
    try {
      this.server.dispatch(request, response);
    } catch (error) {
      response.destroy();
      this.server.onError(error);
    }
  }

  private finishBody(): void {
    this.state = 'answering';
    this.request!.end();
  }

  /** Writes an answer; the next request is read once this one's body is in. */
  respond(
    request: HttpRequest,
    status: number,
    headers: Readonly<Record<string, string | number>>,
    extra: string[] | undefined,
    body: Buffer | string,
    /** A HEAD request: the head as for GET, without the body. */
    headOnly: boolean,
  ): void {
    if (this.closed || this.state === 'draining') return;
    if (this.peerDone && this.pending.length === 0) this.keepAlive = false;
    // An answer before the whole body arrived (an early error): the rest is not read, so the connection
    // cannot carry another request.
    const early = request !== this.request || this.state !== 'answering';
    if (early || this.server.closing) this.keepAlive = false;
    let head = `HTTP/1.1 ${status} ${REASONS[status] ?? 'Unknown'}\r\n`;
    for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
    if (extra) for (const line of extra) head += line;
    if (headers['Content-Length'] === undefined && headers['content-length'] === undefined) {
      head += `Content-Length: ${typeof body === 'string' ? Buffer.byteLength(body) : body.length}\r\n`;
    }
    if (headOnly) body = '';
    head += !this.keepAlive ? 'Connection: close\r\n\r\n' : request.http10 ? 'Connection: keep-alive\r\n\r\n' : '\r\n';
    if (typeof body === 'string') this.socket.write(head + body);
    else if (body.length <= 16384) {
      const out = Buffer.allocUnsafe(Buffer.byteLength(head, 'latin1') + body.length);
      body.copy(out, out.write(head, 0, 'latin1'));
      this.socket.write(out);
    } else {
      this.socket.cork();
      this.socket.write(head, 'latin1');
      this.socket.write(body);
      this.socket.uncork();
    }
    if (early) {
      this.request?.abort(new HttpError(400, 'The request was answered before its body arrived.'));
      this.request = undefined;
      this.endAndDrain();
      return;
    }
    this.request = undefined;
    if (!this.keepAlive) {
      this.endAndDrain();
      return;
    }
    this.state = 'head';
    this.since = performance.now();
    if (this.socket.writableLength > WRITE_HIGH) {
      // The client is not reading its answers: take no more requests until it does.
      if (!this.blocked) {
        this.blocked = true;
        this.pause();
        this.socket.once('drain', this.unblock);
      }
      return;
    }
    this.resume();
    // Inside parse (an answer given at once), parse goes on with what follows itself.
    if (this.parsing) return;
    if (this.pending.length > 0) this.parse();
    else if (this.peerDone) this.finishAfterPeer();
  }

  /** Requests the client sent before it shut its side are answered; a partial one never completes. */
  private finishAfterPeer(): void {
    if (this.blocked || this.state === 'draining') return;
    if (this.state === 'head') this.endAndDrain();
    else if (this.request && !this.request.complete) {
      this.request.abort(new HttpError(400, 'The request body was cut short.'));
    }
  }

  /** Answers a protocol error and closes. */
  reject(status: number, message: string): void {
    if (this.closed) return;
    if (this.state === 'answering' && this.request) {
      // The handler still owes an answer for the request being answered: let it come, then close.
      this.keepAlive = false;
      this.pending = EMPTY;
      return;
    }
    this.request?.abort(new HttpError(status, message));
    this.request = undefined;
    const body = JSON.stringify({ error: `Bad request: ${message}` });
    this.socket.write(
      `HTTP/1.1 ${status} ${REASONS[status] ?? 'Bad Request'}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    this.endAndDrain();
  }

  /**
   * Sends what was written, then FIN, and reads and drops what the client still sends for a while, so
   * that unread data does not turn the close into a reset that could lose the answer.
   */
  private endAndDrain(): void {
    this.state = 'draining';
    this.pending = EMPTY;
    this.resume();
    // Once all is sent; a client that never reads it is dropped by the sweep (sendTimeoutMs).
    this.socket.end(() => setTimeout(() => this.destroy(), 2000).unref());
  }
}

/** One read buffer for every connection: reads are handled one at a time, before the next. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/**
 * The accepted connection, reading into READ_BUFFER. (node's server then no longer counts it:
 * `getConnections()` and `maxConnections` do not apply; the connections are tracked here.) A plain socket allocates a new 64 KiB buffer for
 * every read and shrinks it to what was read: with small requests that churn made the C allocator hand
 * memory back to the system and fault it in again, about one page fault per request, which costs more
 * than parsing the request. `onread` is the documented way to read into a given buffer; it is offered
 * when a socket is made, so the accepted handle moves to a new socket. Where that is not possible, the
 * accepted socket's own `data` events are used.
 */
function readInto(accepted: Socket, onData: (chunk: Buffer) => void): Socket {
  const handle = (accepted as unknown as { _handle?: object | null })._handle;
  if (!handle) {
    accepted.on('data', onData);
    return accepted;
  }
  (accepted as unknown as { _handle: object | null })._handle = null;
  // The emptied socket goes; the server stops counting it (connections are tracked here).
  accepted.destroy();
  const onread: OnReadOpts = {
    buffer: READ_BUFFER,
    callback: (length) => {
      onData(READ_BUFFER.subarray(0, length));
      return true;
    },
  };
  return new Socket({ handle, allowHalfOpen: true, onread } as ConstructorParameters<typeof Socket>[0]);
}

function hasToken(header: string | undefined, token: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((part) => part.trim() === token);
}

const printable = (text: string) => text.slice(0, 60).replace(/[^\x20-\x7e]/g, '?');

/** A listening HTTP/1.1 server. */
export class HttpServer {
  readonly limits: Required<HttpLimits>;
  closing = false;
  private readonly net: Server;
  private readonly connections = new Set<Connection>();
  private readonly sweeper: NodeJS.Timeout;
  private drained: (() => void) | undefined;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly handler: HttpHandler,
    limits: HttpLimits = {},
    /** Called once per request answered (or given up on). @internal */
    readonly onAnswered: () => void = () => undefined,
    /** Called with a fault of this layer that cost a connection. @internal */
    readonly onError: (error: unknown) => void = () => undefined,
  ) {
    this.limits = {
      maxHeaderBytes: limits.maxHeaderBytes ?? 16 * 1024,
      headersTimeoutMs: limits.headersTimeoutMs ?? 60_000,
      requestTimeoutMs: limits.requestTimeoutMs ?? 300_000,
      keepAliveTimeoutMs: limits.keepAliveTimeoutMs ?? 5_000,
      sendTimeoutMs: limits.sendTimeoutMs ?? 60_000,
    };
    // Half-open: a client may send a request and shut its side; it still gets the answer.
    this.net = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (accepted) => {
      if (this.closing) {
        accepted.destroy();
        return;
      }
      const socket = readInto(accepted, (chunk) => conn.data(chunk));
      const conn = new Connection(socket, this);
      this.connections.add(conn);
      socket.resume();
    });
    const every = Math.max(10, Math.min(1000, this.limits.keepAliveTimeoutMs / 2, this.limits.headersTimeoutMs / 2));
    this.sweeper = setInterval(() => this.sweep(), every).unref();
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.net.once('error', reject);
      this.net.listen(port, host, () => {
        this.net.off('error', reject);
        resolve();
      });
    });
  }

  address(): AddressInfo {
    return this.net.address() as AddressInfo;
  }

  /** @internal */
  dispatch(req: HttpRequest, res: HttpResponse): void {
    this.handler(req, res);
  }

  /** @internal */
  forget(conn: Connection): void {
    this.connections.delete(conn);
    if (this.connections.size === 0) this.drained?.();
  }

  /**
   * Stops accepting connections; idle ones close now, busy ones after their answer. Resolves once the
   * listener is closed and every connection is gone.
   */
  close(): Promise<void> {
    if (this.closed) return this.closed;
    this.closing = true;
    const listening = new Promise<void>((resolve) => this.net.close(() => resolve()));
    const drained = new Promise<void>((resolve) => {
      this.drained = resolve;
      if (this.connections.size === 0) resolve();
    });
    for (const conn of this.connections) conn.closeSoon();
    this.closed = Promise.all([listening, drained]).then(() => clearInterval(this.sweeper));
    return this.closed;
  }

  closeAllConnections(): void {
    for (const conn of this.connections) conn.destroy();
  }

  private sweep(): void {
    for (const conn of this.connections) {
      const timedOut = conn.timedOut;
      if (timedOut === undefined) continue;
      if (timedOut === 0) conn.destroy();
      else conn.reject(timedOut, 'The request took too long to arrive.');
    }
  }
}
