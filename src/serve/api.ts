/** What each endpoint answers. */
import type { HttpRequest, HttpResponse } from './http1.js';
import { describeError } from '../errors.js';
import { requireAdmin, requireRead, type Tokens } from './auth.js';
import { badRequest, HttpError, isPlainObject, parseJsonBody, sendError, sendJson, sendText } from './http-io.js';
import { parseInferRequest } from './infer-request.js';
import { encodeInferResponse } from './infer-response.js';
import { parseLoadRequest } from './load-request.js';
import { ONNX_PLATFORM } from './model-config.js';
import type { ModelStore } from './model-store.js';
import { parseRouting } from './routing.js';
import type { Route } from './routes.js';
import { prometheusText } from './statistics.js';

export const SERVER_NAME = 'modelship';
export const EXTENSIONS = ['binary_tensor_data', 'model_repository', 'model_configuration', 'statistics', 'routing'];

/** Small JSON bodies: index, unload, routing. */
const SMALL_BODY = 1 << 20;

export interface ApiContext {
  store: ModelStore;
  tokens: Tokens;
  modelControl: 'explicit' | 'poll';
  maxLoadBodyBytes: number;
  maxInferBodyBytes: number;
  version: string;
  isReady(): boolean;
}

const nowNs = () => performance.now() * 1e6;

export async function handle(ctx: ApiContext, route: Route, req: HttpRequest, res: HttpResponse): Promise<void> {
  switch (route.kind) {
    case 'live':
      return sendJson(res, 200, { live: true });
    case 'ready':
      return ctx.isReady() ? sendJson(res, 200, { ready: true }) : sendError(res, 400, 'The server is not ready.');
  }
  if (route.kind === 'load' || route.kind === 'unload' || route.kind === 'routing') requireAdmin(req, ctx.tokens);
  else requireRead(req, ctx.tokens);

  switch (route.kind) {
    case 'infer':
      return infer(ctx, route.model, route.version, req, res);
    case 'server-metadata':
      return sendJson(res, 200, { name: SERVER_NAME, version: ctx.version, extensions: EXTENSIONS });
    case 'model-metadata': {
      const entry = ctx.store.peek(route.model, route.version);
      const tensor = (t: { name: string; datatype: string; shape: number[] }) => ({
        name: t.name,
        datatype: t.datatype,
        shape: t.shape,
      });
      return sendJson(res, 200, {
        name: route.model,
        versions: route.version !== undefined ? [route.version] : ctx.store.readyVersions(route.model),
        platform: ONNX_PLATFORM,
        inputs: entry.signature.inputs.map(tensor),
        outputs: entry.signature.outputs.map(tensor),
      });
    }
    case 'model-ready': {
      try {
        ctx.store.peek(route.model, route.version);
      } catch (error) {
        if (error instanceof HttpError && error.status === 503) throw new HttpError(400, error.message);
        throw error;
      }
      return sendJson(res, 200, { name: route.model, ready: true });
    }
    case 'model-config':
      return sendJson(res, 200, ctx.store.config(route.model, route.version));
    case 'model-stats':
      return sendJson(res, 200, {
        model_stats: ctx.store.statistics(route.model, route.version).map((s) => s.toJson()),
      });
    case 'all-stats':
      return sendJson(res, 200, { model_stats: ctx.store.statistics().map((s) => s.toJson()) });
    case 'metrics': {
      const { stats, ready } = ctx.store.allStatistics();
      return sendText(res, 200, prometheusText(stats, { ready }), 'text/plain; version=0.0.4; charset=utf-8');
    }
    case 'repository-index': {
      const body = parseJsonBody(await req.body(SMALL_BODY));
      if (body !== undefined && !isPlainObject(body))
        throw badRequest('The index request body must be a JSON object such as {"ready": true}.');
      const ready = body?.ready;
      if (ready !== undefined && typeof ready !== 'boolean') throw badRequest('"ready" must be true or false.');
      return sendJson(res, 200, await ctx.store.index(ready === true));
    }
    case 'load': {
      const upload = parseLoadRequest(parseJsonBody(await req.body(ctx.maxLoadBodyBytes), 'The load request'));
      const result = await ctx.store.load(route.model, upload);
      return sendJson(res, 200, result);
    }
    case 'unload': {
      parseJsonBody(await req.body(SMALL_BODY), 'The unload request');
      if (ctx.modelControl === 'poll') {
        throw badRequest(
          'The server polls its repository: remove the model folder instead of unloading it through the API.',
        );
      }
      return sendJson(res, 200, await ctx.store.unload(route.model));
    }
    case 'routing': {
      if (req.method === 'GET') return sendJson(res, 200, ctx.store.routing(route.model));
      if (req.method === 'DELETE') return sendJson(res, 200, await ctx.store.clearRouting(route.model));
      const routing = parseRouting(parseJsonBody(await req.body(SMALL_BODY), 'The routing'));
      return sendJson(res, 200, await ctx.store.setRouting(route.model, routing));
    }
  }
}

async function infer(
  ctx: ApiContext,
  model: string,
  version: string | undefined,
  req: HttpRequest,
  res: HttpResponse,
): Promise<void> {
  const start = nowNs();
  const entry = ctx.store.resolve(model, version);
  entry.acquire();
  let ok = false;
  try {
    const body = await req.body(ctx.maxInferBodyBytes);
    const headerLength = req.headers['inference-header-content-length'];
    const request = parseInferRequest(
      body,
      Array.isArray(headerLength) ? headerLength[0] : headerLength,
      entry.signature,
      entry.config.maxBatchSize,
    );
    let outputs;
    try {
      outputs = await entry.infer(
        request.inputs,
        request.batchSize,
        request.outputs.map((o) => o.name),
      );
    } catch (error) {
      // Inputs are checked against the signature first, so what fails here is the model on these values.
      throw badRequest(`Model '${model}' version ${entry.label} failed on this request: ${describeError(error)}`);
    }
    const encoded = encodeInferResponse(
      model,
      entry.label,
      request.id,
      request.outputs.map((o) => ({ name: o.name, tensor: outputs[o.name], binary: o.binary })),
    );
    res.send(200, encoded.headers, encoded.body);
    ok = true;
  } catch (error) {
    if (error instanceof HttpError) error.details = { model_name: model, model_version: entry.label };
    throw error;
  } finally {
    entry.stats.request(ok, nowNs() - start);
    entry.release();
  }
}
