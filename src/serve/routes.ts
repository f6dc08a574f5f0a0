/** The server's endpoints: a request path to what it asks for, and the methods each answers. */
import { badRequest } from './http-io.js';

export type Route =
  | { kind: 'live' }
  | { kind: 'ready' }
  | { kind: 'server-metadata' }
  | { kind: 'metrics' }
  | { kind: 'all-stats' }
  | { kind: 'model-metadata'; model: string; version?: string }
  | { kind: 'model-ready'; model: string; version?: string }
  | { kind: 'model-config'; model: string; version?: string }
  | { kind: 'model-stats'; model: string; version?: string }
  | { kind: 'infer'; model: string; version?: string }
  | { kind: 'routing'; model: string }
  | { kind: 'repository-index' }
  | { kind: 'load'; model: string }
  | { kind: 'unload'; model: string };

export const METHODS: Record<Route['kind'], readonly string[]> = {
  live: ['GET'],
  ready: ['GET'],
  'server-metadata': ['GET'],
  metrics: ['GET'],
  'all-stats': ['GET'],
  'model-metadata': ['GET'],
  'model-ready': ['GET'],
  'model-config': ['GET'],
  'model-stats': ['GET'],
  infer: ['POST'],
  routing: ['GET', 'PUT', 'DELETE'],
  'repository-index': ['POST'],
  load: ['POST'],
  unload: ['POST'],
};

function segment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw badRequest(`Path segment '${raw}' is not valid percent-encoding.`);
  }
}

function versionSegment(raw: string): string {
  const v = segment(raw);
  if (!/^[1-9][0-9]{0,15}$/.test(v)) throw badRequest(`Version '${v}' is not a positive integer.`);
  return v;
}

const MODEL_ACTIONS = new Set(['ready', 'config', 'stats', 'infer']);
const actionKind = { ready: 'model-ready', config: 'model-config', stats: 'model-stats', infer: 'infer' } as const;

/** Routes of URLs seen before: clients ask the same few paths again and again. */
const seen = new Map<string, Route>();
const SEEN_LIMIT = 1024;

/** The route for a request URL, or undefined when no endpoint has that path. The route is shared: read it only. */
export function matchRoute(url: string): Route | undefined {
  const known = seen.get(url);
  if (known !== undefined) return known;
  const route = parseRoute(url);
  if (route !== undefined) {
    if (seen.size >= SEEN_LIMIT) seen.clear();
    seen.set(url, Object.freeze(route));
  }
  return route;
}

function parseRoute(url: string): Route | undefined {
  const q = url.indexOf('?');
  const pathname = q === -1 ? url : url.slice(0, q);
  const parts = pathname.split('/');
  // parts[0] is '' for the leading slash; a trailing slash is tolerated.
  if (parts[0] !== '') return undefined;
  if (parts.length > 2 && parts[parts.length - 1] === '') parts.pop();
  const p = parts.slice(1);
  if (p.length === 1 && p[0] === 'metrics') return { kind: 'metrics' };
  if (p[0] !== 'v2') return undefined;
  if (p.length === 1) return { kind: 'server-metadata' };
  if (p[1] === 'health' && p.length === 3) {
    if (p[2] === 'live') return { kind: 'live' };
    if (p[2] === 'ready') return { kind: 'ready' };
    return undefined;
  }
  if (p[1] === 'repository') {
    if (p.length === 3 && p[2] === 'index') return { kind: 'repository-index' };
    if (p.length === 5 && p[2] === 'models' && (p[4] === 'load' || p[4] === 'unload')) {
      return { kind: p[4], model: segment(p[3]) };
    }
    return undefined;
  }
  if (p[1] !== 'models') return undefined;
  if (p.length === 3 && p[2] === 'stats') return { kind: 'all-stats' };
  if (p.length < 3 || p[2] === '') return undefined;
  const model = segment(p[2]);
  if (p.length === 3) return { kind: 'model-metadata', model };
  if (p.length === 4) {
    if (p[3] === 'routing') return { kind: 'routing', model };
    if (MODEL_ACTIONS.has(p[3])) return { kind: actionKind[p[3] as keyof typeof actionKind], model };
    return undefined;
  }
  if (p[3] !== 'versions') return undefined;
  if (p.length === 5) return { kind: 'model-metadata', model, version: versionSegment(p[4]) };
  if (p.length === 6 && MODEL_ACTIONS.has(p[5])) {
    return { kind: actionKind[p[5] as keyof typeof actionKind], model, version: versionSegment(p[4]) };
  }
  return undefined;
}
