/**
 * The HTTP/1.1 layer on its own, over real TCP sockets on 127.0.0.1: raw bytes in, raw bytes out. Request
 * parsing (Content-Length, chunked, split writes, pipelining), keep-alive, `Expect: 100-continue`, body
 * limits, strictness (each bad request is answered and closes its connection, and the server keeps
 * answering), timeouts, `close()`, clients that go away mid-request, and ordinary clients (fetch).
 */
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { HttpError } from '../../src/serve/http-io.js';
import { HttpServer, type HttpLimits, type HttpRequest, type HttpResponse } from '../../src/serve/http1.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `done` until it holds (true) or `ms` pass (false): for conditions no socket event signals. */
async function waitFor(done: () => boolean, ms = 2000): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// A raw client: writes bytes, parses what comes back (status line, headers, Content-Length body).

interface Reply {
  statusLine: string;
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const clients = new Set<RawClient>();

class RawClient {
  /** Every reply parsed so far, interim (1xx) ones included. */
  readonly replies: Reply[] = [];
  /** Every byte received. */
  raw = Buffer.alloc(0);
  /** Bytes received and not (yet) parsed as a reply. */
  rest = Buffer.alloc(0);
  /** The server ended or closed the connection (FIN, reset or close). */
  ended = false;
  endedAt = 0;
  /** Final replies at these positions (0-based, 1xx not counted) have no body: answers to HEAD. */
  readonly bodiless = new Set<number>();
  private readonly listeners = new Set<() => void>();

  private constructor(readonly socket: Socket) {
    clients.add(this);
    socket.on('data', (chunk: Buffer) => {
      this.raw = Buffer.concat([this.raw, chunk]);
      this.rest = Buffer.concat([this.rest, chunk]);
      this.parse();
      this.notify();
    });
    const ended = () => {
      if (!this.ended) {
        this.ended = true;
        this.endedAt = performance.now();
      }
      this.parse();
      this.notify();
    };
    socket.on('end', ended);
    socket.on('close', ended);
    socket.on('error', ended);
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.off('error', reject);
        socket.setNoDelay(true);
        resolve(new RawClient(socket));
      });
      socket.once('error', reject);
    });
  }

  get finals(): Reply[] {
    return this.replies.filter((r) => !(r.status >= 100 && r.status < 200));
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Writes each byte separately, with a pause between, so the server sees many small reads. */
  async trickle(data: string | Buffer): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    for (let i = 0; i < bytes.length; i++) {
      this.socket.write(bytes.subarray(i, i + 1));
      await sleep(1);
    }
  }

  /** True once `done()` holds; false if it does not within `ms`. */
  until(done: () => boolean, ms = 2000): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (value: boolean) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve(value);
      };
      const check = () => {
        if (done()) finish(true);
      };
      const timer = setTimeout(() => finish(false), ms);
      this.listeners.add(check);
    });
  }

  /** Waits for `n` final replies, or for the server to close, or `ms`; returns the final replies. */
  async waitReplies(n: number, ms = 2000): Promise<Reply[]> {
    await this.until(() => this.finals.length >= n || this.ended, ms);
    return this.finals;
  }

  /** True if the server closes the connection within `ms`. */
  closed(ms = 2000): Promise<boolean> {
    return this.until(() => this.ended, ms);
  }

  destroy(): void {
    this.socket.destroy();
    clients.delete(this);
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private parse(): void {
    for (;;) {
      const end = this.rest.indexOf('\r\n\r\n');
      if (end === -1) return;
      const [statusLine, ...lines] = this.rest.toString('latin1', 0, end).split('\r\n');
      const match = /^HTTP\/1\.[01] (\d{3}) /.exec(statusLine);
      const status = match ? Number(match[1]) : NaN;
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim().toLowerCase();
        headers[name] =
          headers[name] === undefined
            ? line.slice(colon + 1).trim()
            : `${headers[name]}, ${line.slice(colon + 1).trim()}`;
      }
      const interim = status >= 100 && status < 200;
      let length = interim || this.bodiless.has(this.finals.length) ? 0 : Number(headers['content-length'] ?? NaN);
      if (Number.isNaN(length)) {
        // No (usable) Content-Length: the body runs to the close.
        if (!this.ended) return;
        length = this.rest.length - end - 4;
      }
      if (this.rest.length < end + 4 + length) return;
      this.replies.push({
        statusLine,
        status,
        headers,
        body: Buffer.from(this.rest.subarray(end + 4, end + 4 + length)),
      });
      this.rest = this.rest.subarray(end + 4 + length);
    }
  }
}

/** Opens a connection, writes `data`, waits for `n` final replies (or the close). */
async function exchange(port: number, data: string | Buffer, n = 1, ms = 2000): Promise<RawClient> {
  const client = await RawClient.open(port);
  client.write(data);
  await client.waitReplies(n, ms);
  return client;
}

interface Echoed {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}
const echoed = (reply: Reply): Echoed => JSON.parse(reply.body.toString('latin1')) as Echoed;

// ---------------------------------------------------------------------------------------------------------
// Servers under test: an echo handler steered by the query string.
//   limit=N  body(N) (default 4 MiB)      wait=MS  wait before calling body()
//   delay=MS wait before answering        cl=1     the handler sets Content-Length itself

interface Stats {
  calls: number;
  answered: number;
  /** Statuses of the HttpErrors that body() rejected with. */
  rejected: number[];
  /** URLs of the requests dispatched, in order. */
  urls: string[];
}

const servers: HttpServer[] = [];

async function echo(req: HttpRequest, res: HttpResponse, stats: Stats): Promise<void> {
  const query = new URL(req.url, 'http://x').searchParams;
  const num = (name: string, fallback: number) => (query.has(name) ? Number(query.get(name)) : fallback);
  let body: Buffer;
  try {
    const wait = num('wait', 0);
    if (wait > 0) await sleep(wait);
    body = await req.body(num('limit', 4 << 20));
  } catch (error) {
    const status = error instanceof HttpError ? error.status : 500;
    stats.rejected.push(status);
    res.send(status, { 'Content-Type': 'application/json' }, JSON.stringify({ error: (error as Error).message }));
    return;
  }
  const delay = num('delay', 0);
  if (delay > 0) await sleep(delay);
  const text = JSON.stringify({
    method: req.method,
    url: req.url,
    headers: req.headers,
    body: body.toString('latin1'),
  });
  const headers: Record<string, string | number> = { 'Content-Type': 'application/json' };
  if (query.has('cl')) headers['Content-Length'] = Buffer.byteLength(text);
  res.send(200, headers, text);
}

async function startEcho(limits?: HttpLimits): Promise<{ server: HttpServer; port: number; stats: Stats }> {
  const stats: Stats = { calls: 0, answered: 0, rejected: [], urls: [] };
  const server = new HttpServer(
    (req, res) => {
      stats.calls++;
      stats.urls.push(req.url);
      void echo(req, res, stats);
    },
    limits,
    () => stats.answered++,
  );
  servers.push(server);
  await server.listen(0, '127.0.0.1');
  return { server, port: server.address().port, stats };
}

async function stop(server: HttpServer): Promise<void> {
  const closed = server.close();
  server.closeAllConnections();
  await closed;
}

/** A GET on a new connection is answered 200: the server survived whatever came before. */
async function expectAlive(port: number): Promise<void> {
  const client = await exchange(port, 'GET /alive HTTP/1.1\r\nHost: x\r\n\r\n');
  expect(client.finals[0]?.status).toBe(200);
  expect(echoed(client.finals[0]).url).toBe('/alive');
  client.destroy();
}

afterEach(() => {
  for (const client of clients) client.destroy();
});

afterAll(async () => {
  await Promise.all(servers.map(stop));
});

let main: Awaited<ReturnType<typeof startEcho>>;
const mainPort = async () => {
  main ??= await startEcho();
  return main.port;
};

// ---------------------------------------------------------------------------------------------------------

describe('requests and bodies', () => {
  it('answers a GET and echoes a POST body with a correct Content-Length', async () => {
    const port = await mainPort();
    const get = await exchange(port, 'GET /hello?a=1 HTTP/1.1\r\nHost: example\r\nX-Thing: one\r\n\r\n');
    const [reply] = get.finals;
    expect(reply.statusLine).toBe('HTTP/1.1 200 OK');
    expect(Number(reply.headers['content-length'])).toBe(reply.body.length);
    expect(reply.headers['content-type']).toBe('application/json');
    expect(get.rest.length).toBe(0);
    expect(echoed(reply)).toEqual({
      method: 'GET',
      url: '/hello?a=1',
      headers: { host: 'example', 'x-thing': 'one' },
      body: '',
    });

    const post = await exchange(
      port,
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world',
    );
    const [answer] = post.finals;
    expect(answer.status).toBe(200);
    expect(Number(answer.headers['content-length'])).toBe(answer.body.length);
    expect(echoed(answer)).toMatchObject({ method: 'POST', url: '/echo', body: 'hello world' });
    expect(echoed(answer).headers['content-length']).toBe('11');
  });

  it('lower-cases header names and joins repeated fields with ", "', async () => {
    const port = await mainPort();
    const client = await exchange(
      port,
      'GET / HTTP/1.1\r\nHOST: x\r\nAccept: a\r\naccept: b\r\nX-Sp:   padded  \r\n\r\n',
    );
    expect(echoed(client.finals[0]).headers).toEqual({ host: 'x', accept: 'a, b', 'x-sp': 'padded' });
  });

  it('accepts two equal Content-Length headers', async () => {
    const port = await mainPort();
    const client = await exchange(
      port,
      'POST /twice HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello',
    );
    expect(client.finals[0].status).toBe(200);
    expect(echoed(client.finals[0]).body).toBe('hello');
  });

  it('parses a request split byte by byte, head and body, Content-Length and chunked', async () => {
    const port = await mainPort();
    const client = await RawClient.open(port);
    await client.trickle('POST /split HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789');
    await client.trickle(
      'POST /split-chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;k=v\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n',
    );
    const [first, second] = await client.waitReplies(2);
    expect(first.status).toBe(200);
    expect(echoed(first)).toMatchObject({ url: '/split', body: '0123456789' });
    expect(second?.status).toBe(200);
    expect(echoed(second)).toMatchObject({ url: '/split-chunked', body: 'abcde' });
    expect(client.ended).toBe(false);
  });

  it('decodes a chunked body with a chunk extension and a trailer, and keeps the connection', async () => {
    const port = await mainPort();
    const client = await exchange(
      port,
      'POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '5;x=y\r\nhello\r\n6\r\n world\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n',
    );
    const [reply] = client.finals;
    expect(reply.status).toBe(200);
    expect(echoed(reply).body).toBe('hello world0123456789');
    expect(reply.headers.connection).toBeUndefined();
    // The trailer was consumed: the next request on the connection is read from its first byte.
    client.write('GET /after-chunked HTTP/1.1\r\nHost: x\r\n\r\n');
    const [, next] = await client.waitReplies(2);
    expect(next?.status).toBe(200);
    expect(echoed(next).url).toBe('/after-chunked');
  });

  it('answers a malformed chunk size with 400 and closes', async () => {
    const port = await mainPort();
    const client = await exchange(
      port,
      'POST /bad-chunk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
    );
    expect(await client.closed()).toBe(true);
    expect(client.finals.map((r) => r.status)).toEqual([400]);
    expect(client.finals[0].headers.connection).toBe('close');
    await expectAlive(port);
  });
});

describe('keep-alive', () => {
  it('answers two requests one after the other on one connection and keeps it open', async () => {
    const port = await mainPort();
    const client = await exchange(port, 'GET /one HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(client.finals[0].status).toBe(200);
    expect(client.finals[0].headers.connection).toBeUndefined();
    client.write('POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc');
    const [, second] = await client.waitReplies(2);
    expect(second?.status).toBe(200);
    expect(echoed(second)).toMatchObject({ url: '/two', body: 'abc' });
    expect(await client.closed(150)).toBe(false);
  });

  it('closes an HTTP/1.0 connection unless it asks for keep-alive', async () => {
    const port = await mainPort();
    const plain = await exchange(port, 'GET /ten HTTP/1.0\r\n\r\n');
    expect(plain.finals[0].status).toBe(200);
    expect(plain.finals[0].headers.connection).toBe('close');
    expect(await plain.closed()).toBe(true);

    const kept = await exchange(port, 'GET /ten-ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    expect(kept.finals[0].status).toBe(200);
    expect(kept.finals[0].headers.connection).toBe('keep-alive');
    expect(await kept.closed(150)).toBe(false);
    kept.write('GET /ten-ka-2 HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n');
    const [, again] = await kept.waitReplies(2);
    expect(again?.status).toBe(200);
    expect(echoed(again).url).toBe('/ten-ka-2');
  });

  it('answers "Connection: close" with Connection: close and closes', async () => {
    const port = await mainPort();
    const client = await exchange(port, 'GET /bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(client.finals[0].status).toBe(200);
    expect(client.finals[0].headers.connection).toBe('close');
    expect(await client.closed()).toBe(true);
  });

  it('still answers a client that sends a request and then shuts its side', async () => {
    const port = await mainPort();
    const client = await RawClient.open(port);
    client.socket.end('GET /half HTTP/1.1\r\nHost: x\r\n\r\n');
    const [reply] = await client.waitReplies(1);
    expect(reply?.status).toBe(200);
    expect(echoed(reply).url).toBe('/half');
  });

  it('answers every request a client pipelined before shutting its side, then closes', async () => {
    const port = await mainPort();
    const client = await RawClient.open(port);
    client.socket.end(
      'GET /h1?delay=50 HTTP/1.1\r\nHost: x\r\n\r\n' +
        'POST /h2 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok' +
        'GET /h3 HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    const replies = await client.waitReplies(3);
    expect(replies.map((r) => echoed(r).url)).toEqual(['/h1?delay=50', '/h2', '/h3']);
    expect(await client.closed()).toBe(true);
  });

  it('answers three requests written in one write, in order', async () => {
    const port = await mainPort();
    const client = await exchange(
      port,
      'GET /p1?delay=30 HTTP/1.1\r\nHost: x\r\n\r\n' +
        'POST /p2 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody' +
        'GET /p3 HTTP/1.1\r\nHost: x\r\n\r\n',
      3,
    );
    expect(client.finals.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(client.finals.map((r) => echoed(r).url)).toEqual(['/p1?delay=30', '/p2', '/p3']);
    expect(echoed(client.finals[1]).body).toBe('body');
    expect(client.rest.length).toBe(0);
    expect(client.ended).toBe(false);
  });
});

describe('HEAD', () => {
  it('answers HEAD with the Content-Length a GET gets and no body bytes', async () => {
    const port = await mainPort();
    const get = await exchange(port, 'GET /h?cl=1 HTTP/1.1\r\nHost: x\r\n\r\n');
    const getLength = get.finals[0].body.length;

    const client = await RawClient.open(port);
    client.bodiless.add(0);
    client.write('HEAD /h?cl=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /after-head HTTP/1.1\r\nHost: x\r\n\r\n');
    const [head, next] = await client.waitReplies(2);
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    // The echoed method differs ("HEAD" vs "GET"), one byte longer.
    expect(Number(head.headers['content-length'])).toBe(getLength + 1);
    // No stray body: the pipelined GET's answer starts right after HEAD's head.
    expect(next?.statusLine).toBe('HTTP/1.1 200 OK');
    expect(echoed(next).url).toBe('/after-head');
    expect(client.rest.length).toBe(0);
  });

  it('does not claim Content-Length: 0 for HEAD when the handler leaves Content-Length to the layer', async () => {
    const port = await mainPort();
    const client = await RawClient.open(port);
    client.bodiless.add(0);
    client.write('HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n');
    const [head] = await client.waitReplies(1);
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    // RFC 9110 9.3.2: the same fields as for GET, or Content-Length left out; never a wrong length.
    expect(head.headers['content-length']).not.toBe('0');
  });
});

describe('Expect: 100-continue', () => {
  it('sends 100 Continue only when the handler asks for the body, then the answer', async () => {
    const port = await mainPort();
    const client = await exchange(
      port,
      'POST /cont?wait=200 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n',
      1,
      100,
    );
    // The handler has not called body() yet: nothing may have been sent.
    expect(client.raw.length).toBe(0);
    expect(await client.until(() => client.replies.length >= 1, 1000)).toBe(true);
    expect(client.raw.toString('latin1')).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    client.write('hello');
    const [reply] = await client.waitReplies(1);
    expect(reply?.status).toBe(200);
    expect(echoed(reply).body).toBe('hello');
    expect(client.replies.map((r) => r.status)).toEqual([100, 200]);
  });

  it('answers an unknown expectation with 417 and closes', async () => {
    const port = await mainPort();
    const client = await exchange(
      port,
      'POST /x HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\nContent-Length: 5\r\n\r\nhello',
    );
    expect(await client.closed()).toBe(true);
    expect(client.replies.map((r) => r.status)).toEqual([417]);
    await expectAlive(port);
  });
});

describe('body limits', () => {
  it('answers a declared Content-Length over the limit with 413 without waiting for the body', async () => {
    const port = await mainPort();
    const client = await exchange(
      port,
      'POST /big?limit=16 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 100000\r\n\r\n',
    );
    expect(client.replies.map((r) => r.status)).toEqual([413]);
    expect(client.finals[0].headers.connection).toBe('close');
    expect(await client.closed()).toBe(true);
    await expectAlive(port);
  });

  it('answers a chunked body that grows past the limit with 413 and closes', async () => {
    const port = await mainPort();
    const client = await exchange(
      port,
      'POST /big-chunked?limit=16 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' +
        `10\r\n${'a'.repeat(16)}\r\n4\r\nbbbb\r\n`,
    );
    expect(client.finals.map((r) => r.status)).toEqual([413]);
    expect(client.finals[0].headers.connection).toBe('close');
    expect(await client.closed()).toBe(true);
    await expectAlive(port);
  });

  it('answers a chunked body over the limit with 413 even when it was whole before body() was called', async () => {
    const port = await mainPort();
    const client = await exchange(
      port,
      'POST /late-chunked?limit=16&wait=100 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' +
        `40\r\n${'a'.repeat(64)}\r\n0\r\n\r\n`,
    );
    expect(client.finals.map((r) => r.status)).toEqual([413]);
  });

  it('answers a Content-Length body within the limit whole', async () => {
    const port = await mainPort();
    const client = await exchange(
      port,
      `POST /fits?limit=16 HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\n\r\n${'z'.repeat(16)}`,
    );
    expect(client.finals[0].status).toBe(200);
    expect(echoed(client.finals[0]).body).toBe('z'.repeat(16));
  });
});

describe('strictness: answered, connection closed, server still answering', () => {
  const cases: { name: string; request: string; status: number }[] = [
    {
      name: 'Content-Length with Transfer-Encoding',
      request:
        'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
      status: 400,
    },
    {
      name: 'two different Content-Length values',
      request: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
      status: 400,
    },
    {
      name: 'Content-Length 12abc',
      request: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n',
      status: 400,
    },
    { name: 'Content-Length -1', request: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n', status: 400 },
    {
      name: 'Transfer-Encoding gzip',
      request: 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nxxxx',
      status: 501,
    },
    { name: 'a folded header line', request: 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n  folded\r\n\r\n', status: 400 },
    { name: 'a space before the colon', request: 'GET / HTTP/1.1\r\nHost : x\r\n\r\n', status: 400 },
    {
      name: 'a control character in a value',
      request: 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n',
      status: 400,
    },
    { name: 'a bare CR in a value', request: 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n', status: 400 },
    { name: 'a bare LF inside the head', request: 'GET / HTTP/1.1\nHost: x\r\n\r\n', status: 400 },
    { name: 'a request line with three spaces', request: 'GET  / HTTP/1.1\r\nHost: x\r\n\r\n', status: 400 },
    { name: 'a request line with a trailing space', request: 'GET / HTTP/1.1 \r\nHost: x\r\n\r\n', status: 400 },
    { name: 'a request line without a version', request: 'GET /\r\nHost: x\r\n\r\n', status: 400 },
    { name: 'HTTP/2.0', request: 'GET / HTTP/2.0\r\nHost: x\r\n\r\n', status: 505 },
    { name: 'HTTP/1.1 without Host', request: 'GET / HTTP/1.1\r\nX-A: a\r\n\r\n', status: 400 },
    { name: 'two Host headers (RFC 9112 3.2)', request: 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', status: 400 },
    {
      name: 'a head over 16 KiB',
      request: `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`,
      status: 431,
    },
  ];

  it.each(cases)('$name → $status', async ({ request, status }) => {
    const port = await mainPort();
    const client = await exchange(port, request);
    expect(await client.closed()).toBe(true);
    expect(client.replies.map((r) => r.status)).toEqual([status]);
    expect(client.finals[0].headers.connection).toBe('close');
    expect(client.rest.length).toBe(0);
    await expectAlive(port);
  });

  it('does not take bare LF line endings for a request', async () => {
    const port = await mainPort();
    const client = await RawClient.open(port);
    client.write('GET / HTTP/1.1\nHost: x\n\n');
    await client.until(() => client.finals.length > 0 || client.ended, 300);
    expect(client.finals.map((r) => r.status).filter((s) => s < 400)).toEqual([]);
    for (const reply of client.finals) expect(reply.status).toBe(400);
    client.destroy();
    await expectAlive(port);
  });
});

describe('timeouts', () => {
  it('answers an incomplete head with 408 and closes; closes an idle keep-alive connection', async () => {
    const { port } = await startEcho({ headersTimeoutMs: 200, keepAliveTimeoutMs: 200 });

    const slow = await RawClient.open(port);
    const began = performance.now();
    slow.write('GET /slow HTTP/1.1\r\nHost: x\r\n');
    expect(await slow.closed(1500)).toBe(true);
    expect(slow.endedAt - began).toBeGreaterThanOrEqual(150);
    expect(slow.finals.map((r) => r.status)).toEqual([408]);
    expect(slow.finals[0].headers.connection).toBe('close');

    const idle = await exchange(port, 'GET /idle HTTP/1.1\r\nHost: x\r\n\r\n');
    const answered = performance.now();
    expect(idle.finals[0].status).toBe(200);
    expect(await idle.closed(1500)).toBe(true);
    expect(idle.endedAt - answered).toBeGreaterThanOrEqual(150);
    expect(idle.finals).toHaveLength(1);
    expect(idle.rest.length).toBe(0);
  });
});

describe('close()', () => {
  it('closes idle connections, lets an answer in flight finish with Connection: close, then resolves', async () => {
    const { server, port, stats } = await startEcho();
    const idle = await exchange(port, 'GET /idle HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(idle.finals[0].status).toBe(200);
    const busy = await RawClient.open(port);
    busy.write('GET /busy?delay=300 HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await waitFor(() => stats.urls.includes('/busy?delay=300'), 1000)).toBe(true);
    const start = performance.now();

    let resolved = false;
    const closing = server.close().then(() => {
      resolved = true;
    });
    expect(await idle.closed(200)).toBe(true);
    expect(busy.ended).toBe(false);
    expect(resolved).toBe(false);

    const [reply] = await busy.waitReplies(1);
    expect(reply?.status).toBe(200);
    expect(reply.headers.connection).toBe('close');
    expect(performance.now() - start).toBeGreaterThanOrEqual(200);
    expect(await busy.closed()).toBe(true);
    await Promise.race([closing, sleep(2000)]);
    expect(resolved).toBe(true);
    await expect(RawClient.open(port)).rejects.toThrow();
  });
});

describe('connections read one after another', () => {
  it('keeps the partial head and body of each connection intact while others are read', async () => {
    const port = await mainPort();
    const a = await RawClient.open(port);
    const b = await RawClient.open(port);
    const bodyA = 'A'.repeat(3000) + 'a'.repeat(3000);
    const bodyB = 'B'.repeat(5000);
    // A: half a head, then B whole, then the rest of A's head and half its body, then B again, then A's end.
    a.write('POST /a?wait=20 HTTP/1.1\r\nHost: x\r\nX-Long: ' + 'h'.repeat(500));
    await sleep(10);
    b.write(`POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: ${bodyB.length}\r\n\r\n${bodyB}`);
    await b.waitReplies(1);
    a.write(`\r\nContent-Length: ${bodyA.length}\r\n\r\n${bodyA.slice(0, 3000)}`);
    await sleep(10);
    b.write(`POST /b2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nxxxxx\r\n`);
    await sleep(10);
    a.write(bodyA.slice(3000));
    b.write('0\r\n\r\n');
    const [ra] = await a.waitReplies(1);
    const replies = await b.waitReplies(2);
    expect(echoed(ra).url).toBe('/a?wait=20');
    expect(echoed(ra).headers['x-long']).toBe('h'.repeat(500));
    expect(echoed(ra).body).toBe(bodyA);
    expect(echoed(replies[0]).body).toBe(bodyB);
    expect(echoed(replies[1]).body).toBe('xxxxx');
  });
});

describe('clients that go away', () => {
  it('rejects body() when the client leaves mid-body, and every dispatched request is answered once', async () => {
    const { port, stats } = await startEcho();

    // Shuts its side mid-body: body() rejects, and the answer still reaches the half-open client.
    const halfClosed = await RawClient.open(port);
    halfClosed.write('POST /half-body HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part');
    expect(await waitFor(() => stats.urls.includes('/half-body'))).toBe(true);
    halfClosed.socket.end();
    const [cut] = await halfClosed.waitReplies(1);
    expect(cut?.status).toBe(400);
    expect(await halfClosed.closed()).toBe(true);

    // Destroyed mid-body (Content-Length and chunked).
    const gone = await RawClient.open(port);
    gone.write('POST /gone-body HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part');
    expect(await waitFor(() => stats.urls.includes('/gone-body'))).toBe(true);
    gone.destroy();
    const goneChunked = await RawClient.open(port);
    goneChunked.write('POST /gone-chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab');
    expect(await waitFor(() => stats.urls.includes('/gone-chunked'))).toBe(true);
    goneChunked.destroy();

    // Destroyed while the handler works on a whole request: its answer goes nowhere, but it is counted.
    const impatient = await RawClient.open(port);
    impatient.write('GET /impatient?delay=100 HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await waitFor(() => stats.urls.includes('/impatient?delay=100'))).toBe(true);
    impatient.destroy();

    // Destroyed with pipelined requests waiting behind one in flight.
    const piped = await RawClient.open(port);
    piped.write(
      'GET /piped-1?delay=100 HTTP/1.1\r\nHost: x\r\n\r\nPOST /piped-2 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx',
    );
    expect(await waitFor(() => stats.urls.includes('/piped-1?delay=100'))).toBe(true);
    piped.destroy();

    await sleep(300);
    expect(stats.rejected.filter((s) => s === 400).length).toBeGreaterThanOrEqual(3);
    expect(stats.calls).toBeGreaterThanOrEqual(5);
    expect(stats.answered).toBe(stats.calls);
    await expectAlive(port);
    expect(stats.answered).toBe(stats.calls);
  });
});

describe('ordinary clients (fetch)', () => {
  it('GET and a 1 MiB POST', async () => {
    const port = await mainPort();
    const get = await fetch(`http://127.0.0.1:${port}/fetch?q=1`, { headers: { 'X-Test': 'yes' } });
    expect(get.status).toBe(200);
    const got = (await get.json()) as Echoed;
    expect(got).toMatchObject({ method: 'GET', url: '/fetch?q=1' });
    expect(got.headers['x-test']).toBe('yes');

    const payload = Buffer.alloc(1 << 20);
    for (let i = 0; i < payload.length; i++) payload[i] = 97 + (i % 26);
    const post = await fetch(`http://127.0.0.1:${port}/fetch-post`, { method: 'POST', body: payload });
    expect(post.status).toBe(200);
    const text = await post.text();
    expect(Number(post.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    const body = (JSON.parse(text) as Echoed).body;
    expect(body.length).toBe(1 << 20);
    expect(Buffer.from(body, 'latin1').equals(payload)).toBe(true);
  });

  it('50 concurrent fetches all succeed', async () => {
    const port = await mainPort();
    const replies = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const response = await fetch(`http://127.0.0.1:${port}/many/${i}`, { method: 'POST', body: `payload ${i}` });
        return { status: response.status, echoed: (await response.json()) as Echoed };
      }),
    );
    replies.forEach((reply, i) => {
      expect(reply.status).toBe(200);
      expect(reply.echoed).toMatchObject({ url: `/many/${i}`, body: `payload ${i}` });
    });
  });
});

/** A server whose handler is the test's own; counts handler calls and answers. */
async function startWith(
  handler: (req: HttpRequest, res: HttpResponse) => void,
  limits?: HttpLimits,
): Promise<{ server: HttpServer; port: number; stats: { calls: number; answered: number; errors: number } }> {
  const stats = { calls: 0, answered: 0, errors: 0 };
  const server = new HttpServer(
    (req, res) => {
      stats.calls++;
      handler(req, res);
    },
    limits,
    () => stats.answered++,
    () => stats.errors++,
  );
  servers.push(server);
  await server.listen(0, '127.0.0.1');
  return { server, port: server.address().port, stats };
}

const plain = { 'Content-Type': 'text/plain' };

describe('field values: only spaces and tabs around them are optional whitespace', () => {
  it.each([
    ['a vertical tab before chunked', 'Transfer-Encoding: \x0bchunked', 400],
    ['a no-break space after chunked', 'Transfer-Encoding: chunked\xa0', 501],
    ['a bare CR after chunked', 'Transfer-Encoding: chunked\r', 400],
    ['a no-break space after a length', 'Content-Length: 3\xa0', 400],
    ['a bare LF after a length', 'Content-Length: 3\n', 400],
  ])('%s is refused', async (_, header, status) => {
    const port = await mainPort();
    const client = await exchange(port, `POST /ows HTTP/1.1\r\nHost: x\r\n${header}\r\n\r\n3\r\nabc\r\n0\r\n\r\n`);
    expect(client.finals[0]?.status).toBe(status);
    expect(await client.closed()).toBe(true);
  });

  it('keeps headers named like object properties, and accepts chunk sizes with leading zeros', async () => {
    const port = await mainPort();
    const client = await exchange(
      port,
      'POST /proto HTTP/1.1\r\nHost: x\r\n__proto__: p\r\nconstructor: c\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '00000000000003\r\nabc\r\n0\r\n\r\n',
    );
    const echo = echoed(client.finals[0]);
    expect(echo.headers['__proto__']).toBe('p');
    expect(echo.headers.constructor).toBe('c');
    expect(echo.body).toBe('abc');
  });
});

describe('handlers that answer at once, throw, or destroy', () => {
  it('answers every pipelined request before a half-close even when answers come at once', async () => {
    const { port, stats } = await startWith((req, res) => {
      const go = () => res.send(200, plain, req.url);
      if (req.url === '/a') setTimeout(go, 30);
      else go();
    });
    const client = await RawClient.open(port);
    client.socket.end(['/a', '/b', '/c'].map((u) => `GET ${u} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
    const replies = await client.waitReplies(3);
    expect(replies.map((r) => r.body.toString())).toEqual(['/a', '/b', '/c']);
    expect(await client.closed()).toBe(true);
    expect(stats).toMatchObject({ calls: 3, answered: 3 });
  });

  it('keeps a connection open after an at-once answer to a request whose body came with its head', async () => {
    const { port } = await startWith((req, res) => res.send(404, plain, 'no'));
    const client = await exchange(port, 'POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody', 1);
    expect(client.finals[0].status).toBe(404);
    expect(client.finals[0].headers.connection).toBeUndefined();
    client.write('GET /y HTTP/1.1\r\nHost: x\r\n\r\n');
    expect((await client.waitReplies(2)).map((r) => r.status)).toEqual([404, 404]);
  });

  it('counts a handler that throws as answered (the connection goes) and keeps serving', async () => {
    const { port, stats } = await startWith((req, res) => {
      if (req.url === '/throw') throw new Error('handler bug');
      res.send(200, plain, 'ok');
    });
    const client = await exchange(port, 'GET /throw HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await client.closed()).toBe(true);
    expect(stats).toMatchObject({ calls: 1, answered: 1, errors: 1 });
    const next = await exchange(port, 'GET /ok HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(next.finals[0].status).toBe(200);
  });

  it('ignores destroy() after send(): the next pipelined request is still answered', async () => {
    const { port } = await startWith((req, res) => {
      res.send(200, plain, req.url);
      queueMicrotask(() => res.destroy());
    });
    const client = await exchange(port, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n', 2);
    expect(client.finals.map((r) => r.body.toString())).toEqual(['/a', '/b']);
    expect(client.ended).toBe(false);
  });
});

describe('clients that read slowly or not at all', () => {
  const big = Buffer.alloc(8 << 20, 7);

  it('delivers a large answer whole to a client that starts reading late, closing or keep-alive', async () => {
    const { port } = await startWith((req, res) => res.send(200, plain, big), { keepAliveTimeoutMs: 100 });
    for (const connection of ['close', 'keep-alive']) {
      const client = await RawClient.open(port);
      client.socket.pause();
      client.write(`GET /big HTTP/1.1\r\nHost: x\r\nConnection: ${connection}\r\n\r\n`);
      await sleep(500);
      client.socket.resume();
      const [reply] = await client.waitReplies(1, 5000);
      expect(reply?.body.length).toBe(big.length);
    }
  });

  it('stops taking pipelined requests while a client reads none of its answers, then goes on', async () => {
    const answer = Buffer.alloc(64 * 1024, 1);
    const { port, stats } = await startWith((req, res) => res.send(200, plain, answer));
    const client = await RawClient.open(port);
    client.socket.pause();
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(200));
    await sleep(300);
    expect(stats.calls).toBeGreaterThan(0);
    expect(stats.calls).toBeLessThan(200);
    client.socket.resume();
    expect((await client.waitReplies(200, 10_000)).length).toBe(200);
    expect(stats).toMatchObject({ calls: 200, answered: 200 });
  });

  it('close() called twice resolves both callers', async () => {
    const { server } = await startWith((req, res) => res.send(200, plain, 'ok'));
    const results = await Promise.all([server.close(), server.close()]);
    expect(results).toHaveLength(2);
  });
});
