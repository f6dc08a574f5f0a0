/**
 * The Open Inference Protocol (KServe V2 / Triton REST) server over a Triton-layout model repository.
 */
import { describeError, isModelshipError, ModelshipError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { handle, type ApiContext } from './api.js';
import { HttpServer, type HttpRequest, type HttpResponse } from './http1.js';
import { HttpError, sendError } from './http-io.js';
import { ModelStore, type SessionOpener } from './model-store.js';
import { RepositoryPoller } from './poller.js';
import { listModelNames } from './repository.js';
import { METHODS, matchRoute } from './routes.js';
import { AUTH_CHALLENGE } from './auth.js';

export interface ServerOptions {
  /** The model repository folder (Triton layout). */
  repository: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 (the default) picks a free port; `modelship serve` defaults to 8000. */
  port?: number;
  /** Bearer token for load, unload and routing. Default: the MODELSHIP_ADMIN_TOKEN environment variable. */
  adminToken?: string;
  /** When set, every endpoint but health needs this token (or the admin token). */
  readToken?: string;
  /** `explicit` (default): models change through the API. `poll`: the repository is rescanned. */
  modelControl?: 'explicit' | 'poll';
  /** Poll mode rescan interval. Default 1000 ms. */
  pollIntervalMs?: number;
  /** Largest load request body. Default 512 MiB. */
  maxBodyBytes?: number;
  /** Largest inference request body. Default 64 MiB (or maxBodyBytes when smaller). */
  maxInferBodyBytes?: number;
  /** Models to load at startup in explicit mode: names, or '*' for every model in the repository (default). */
  loadModels?: string[] | '*';
  /** onnxruntime intra-op threads per session. Default 1. */
  intraOpThreads?: number;
  /** How long close() waits for requests in flight before closing connections. Default 30 s. */
  shutdownGraceMs?: number;
  log?: Logger;
  /** Opens model sessions; onnxruntime-node unless given. */
  openSession?: SessionOpener;
}

export interface ServerStats {
  /** HTTP requests being answered now. */
  inFlight: number;
  /** HTTP requests answered since start. */
  requests: number;
  /** Triton's statistics for every serving version. */
  model_stats: Array<Record<string, unknown>>;
}

export interface RunningServer {
  url: string;
  port: number;
  /** Stops accepting connections, answers requests in flight, releases every session. */
  close(): Promise<void>;
  stats(): ServerStats;
}

const MiB = 1 << 20;

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const log = options.log ?? silentLogger;
  const host = options.host ?? '127.0.0.1';
  const modelControl = options.modelControl ?? 'explicit';
  if (modelControl !== 'explicit' && modelControl !== 'poll') {
    throw new ModelshipError(
      'SERVE_OPTIONS',
      `Model control '${String(modelControl)}' is not known.`,
      "Use 'explicit' or 'poll'.",
    );
  }
  const maxLoadBodyBytes = options.maxBodyBytes ?? 512 * MiB;
  const maxInferBodyBytes = options.maxInferBodyBytes ?? Math.min(64 * MiB, maxLoadBodyBytes);
  const adminToken = options.adminToken ?? (process.env.MODELSHIP_ADMIN_TOKEN || undefined);
  const store = new ModelStore({
    repository: options.repository,
    log,
    intraOpThreads: options.intraOpThreads,
    openSession: options.openSession,
  });

  const available = await listModelNames(options.repository);
  const wanted =
    modelControl === 'poll' || options.loadModels === undefined || options.loadModels === '*'
      ? available
      : options.loadModels;
  const unknown = wanted.filter((name) => !available.includes(name));
  if (unknown.length > 0) {
    throw new ModelshipError(
      'MODEL_NOT_FOUND',
      `The repository ${options.repository} has no model${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(', ')}.`,
      `Models there: ${available.join(', ') || 'none'}.`,
    );
  }

  let ready = false;
  let closing: Promise<void> | undefined;
  let inFlight = 0;
  let answered = 0;
  let idle: (() => void) | undefined;

  const ctx: ApiContext = {
    store,
    tokens: { admin: adminToken, read: options.readToken },
    modelControl,
    maxLoadBodyBytes,
    maxInferBodyBytes,
    version: process.env.MODELSHIP_VERSION ?? '0.1.0',
    isReady: () => ready && !closing,
  };

  const server = new HttpServer(
    (req, res) => {
      inFlight++;
      void dispatch(req, res);
    },
    { keepAliveTimeoutMs: 30_000 },
    () => {
      inFlight--;
      answered++;
      if (inFlight === 0) idle?.();
    },
    (error) =>
      log.error(`HTTP connection dropped: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`),
  );

  async function dispatch(req: HttpRequest, res: HttpResponse): Promise<void> {
    try {
      const route = matchRoute(req.url);
      if (!route) throw new HttpError(404, `No endpoint ${req.method} ${req.url.split('?')[0]}.`);
      const methods = METHODS[route.kind];
      if (!methods.includes(req.method)) {
        const error = new HttpError(405, `${req.url.split('?')[0]} answers ${methods.join(', ')}, not ${req.method}.`);
        error.details = {};
        res.setHeader('Allow', methods.join(', '));
        throw error;
      }
      await handle(ctx, route, req, res);
    } catch (error) {
      fail(req, res, error);
    }
  }

  function fail(req: HttpRequest, res: HttpResponse, error: unknown): void {
    let status = 500;
    let message: string;
    if (error instanceof HttpError) {
      status = error.status;
      message = error.message;
    } else if (isModelshipError(error)) {
      status = 400;
      message = describeError(error);
    } else {
      message = `Internal error: ${describeError(error)}`;
      log.error(`${req.method} ${req.url}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // An answer before the whole body arrived closes the connection after it (the HTTP layer sees to that).
    const headers: Record<string, string> = status === 401 ? { ...AUTH_CHALLENGE } : {};
    sendError(res, status, message, headers, error instanceof HttpError ? error.details : undefined);
  }

  await server.listen(options.port ?? 0, host).catch((error: NodeJS.ErrnoException) => {
    throw new ModelshipError(
      'SERVE_LISTEN',
      `Cannot listen on ${host}:${options.port ?? 0}: ${error.code ?? error.message}.`,
      error.code === 'EADDRINUSE' ? 'Another process uses that port: pick another with --port.' : undefined,
    );
  });
  const port = server.address().port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let poller: RepositoryPoller | undefined;
  try {
    await log.group(
      `Loading ${wanted.length} model${wanted.length === 1 ? '' : 's'} from ${options.repository}`,
      async () => {
        for (const name of wanted) {
          try {
            await store.load(name);
          } catch (error) {
            log.error(`Model '${name}' is not served: ${describeError(error)}`);
          }
        }
      },
    );
    if (modelControl === 'poll') {
      poller = new RepositoryPoller(options.repository, store, options.pollIntervalMs ?? 1000, log);
      await poller.start();
    }
  } catch (error) {
    server.close();
    await store.close();
    throw error;
  }
  ready = true;
  log.info(`Serving ${store.loadedModels().length} model(s) at ${url} (model control: ${modelControl}).`);

  async function shutdown(): Promise<void> {
    await poller?.stop();
    const closed = server.close();
    if (inFlight > 0) {
      const drained = new Promise<void>((resolve) => (idle = resolve));
      const grace = new Promise<void>((resolve) => setTimeout(resolve, options.shutdownGraceMs ?? 30_000).unref());
      await Promise.race([drained, grace]);
    }
    server.closeAllConnections();
    await closed;
    await store.close();
  }

  return {
    url,
    port,
    close: () => (closing ??= shutdown()),
    stats: () => ({ inFlight, requests: answered, model_stats: store.statistics().map((s) => s.toJson()) }),
  };
}
