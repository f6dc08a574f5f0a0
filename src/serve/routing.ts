/**
 * Which version answers a request that names none: a stable version and optionally a canary with a
 * weight in percent. Kept in `<repo>/<model>/routing.json` so a restarted server routes as before.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { badRequest, isPlainObject } from './http-io.js';
import { writeFileAtomic } from './repository.js';

export interface Routing {
  stable: string;
  canary: { version: string; weight: number } | null;
}

export const ROUTING_FILE = 'routing.json';

function versionText(value: unknown, what: string): string {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return String(value);
  if (typeof value === 'string' && /^[1-9][0-9]*$/.test(value)) return value;
  throw badRequest(`${what} must be a version number such as "2", not ${JSON.stringify(value) ?? 'missing'}.`);
}

/** Reads `{"stable": "2", "canary": {"version": "3", "weight": 10} | null}`; a 400 says what is wrong. */
export function parseRouting(body: unknown): Routing {
  if (!isPlainObject(body))
    throw badRequest(
      'Routing must be a JSON object: {"stable": "2", "canary": {"version": "3", "weight": 10} | null}.',
    );
  for (const key of Object.keys(body)) {
    if (key !== 'stable' && key !== 'canary' && key !== 'pinned')
      throw badRequest(`Unknown routing field '${key}'; expected stable and canary.`);
  }
  const stable = versionText(body.stable, '"stable"');
  let canary: Routing['canary'] = null;
  if (body.canary !== undefined && body.canary !== null) {
    if (!isPlainObject(body.canary)) throw badRequest('"canary" must be null or {"version": "3", "weight": 10}.');
    const version = versionText(body.canary.version, '"canary.version"');
    const weight = body.canary.weight;
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > 100) {
      throw badRequest(`"canary.weight" must be a number from 0 to 100, not ${JSON.stringify(weight) ?? 'missing'}.`);
    }
    if (version === stable)
      throw badRequest(
        `The canary version ${version} is the stable version; give a different version or "canary": null.`,
      );
    canary = { version, weight };
  }
  return { stable, canary };
}

/** The routing file of a model folder, or undefined when there is none or it cannot be read. */
export async function readRoutingFile(modelDir: string): Promise<{ routing?: Routing; problem?: string }> {
  let text: string;
  try {
    text = await readFile(path.join(modelDir, ROUTING_FILE), 'utf8');
  } catch {
    return {};
  }
  try {
    return { routing: parseRouting(JSON.parse(text)) };
  } catch (error) {
    return {
      problem: `${path.join(modelDir, ROUTING_FILE)} is not valid routing (${(error as Error).message}); ignoring it.`,
    };
  }
}

export async function writeRoutingFile(modelDir: string, routing: Routing): Promise<void> {
  await writeFileAtomic(path.join(modelDir, ROUTING_FILE), JSON.stringify(routing, null, 2) + '\n');
}

/**
 * Spreads canary traffic evenly and exactly: of every 100 requests `weight` go to the canary, interleaved
 * rather than in a run (request n is a canary request when floor((n+1)w/100) > floor(nw/100)).
 */
export class CanarySplitter {
  private n = 0;
  next(weight: number): boolean {
    const n = this.n++;
    if (this.n >= 1e12) this.n = 0;
    return Math.floor(((n + 1) * weight) / 100) > Math.floor((n * weight) / 100);
  }
}
