/**
 * Where a deploy goes, and where its state (ledger and lease) lives.
 *
 * Targets:
 * - `file://<dir>`: a Triton-layout model repository on disk (absolute, or relative to the working folder);
 *   with a `server` URL, the server is told to load and is verified over HTTP.
 * - `http://host:port`, `https://…`: modelship serve or Triton (explicit model control) with no shared
 *   storage: the model travels in the load request.
 * - `kserve://<namespace>/<name>`: an InferenceService manifest is rendered, nothing is applied.
 *
 * State must never sit where Triton would read it as a model, so it is not a top-level folder of the
 * repository. Default for `file://` targets: a sibling folder `<parent>/.modelship-state/<repository folder
 * name>/`. `http(s)://` targets need `state` given (a persistent path): the runner's disk is thrown away
 * after the job. Inside it, per model and environment: `ledger.jsonl`, `lease.json`, and for HTTP targets
 * `repository/` (the retained versions, so a rollback needs no download).
 */
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { ModelshipError } from '../errors.js';

export type DeployTarget =
  | { kind: 'file'; root: string; text: string }
  | { kind: 'http'; url: string; text: string }
  | { kind: 'kserve'; namespace?: string; name: string; text: string };

export function parseTarget(text: string, cwd = process.cwd()): DeployTarget {
  const trimmed = text.trim();
  if (trimmed.startsWith('file://')) {
    const path = decodeURIComponent(trimmed.slice('file://'.length));
    if (path === '') throw badTarget(text, 'a file:// target needs a folder');
    return { kind: 'file', root: isAbsolute(path) ? path : resolve(cwd, path), text: trimmed };
  }
  if (/^https?:\/\//.test(trimmed)) {
    let url: URL;
    try {
      url = new URL(trimmed);
    } catch {
      throw badTarget(text, 'not a valid URL');
    }
    return { kind: 'http', url: url.href.replace(/\/+$/, ''), text: trimmed };
  }
  if (trimmed.startsWith('kserve://')) {
    const parts = trimmed.slice('kserve://'.length).split('/').filter(Boolean);
    if (parts.length === 1) return { kind: 'kserve', name: parts[0], text: trimmed };
    if (parts.length === 2) return { kind: 'kserve', namespace: parts[0], name: parts[1], text: trimmed };
    throw badTarget(text, 'a kserve:// target is kserve://<namespace>/<name> or kserve://<name>');
  }
  throw badTarget(text, 'unknown scheme');
}

function badTarget(text: string, reason: string): ModelshipError {
  return new ModelshipError(
    'TARGET_INVALID',
    `Target '${text}' is not usable: ${reason}.`,
    'Use file://<model repository folder>, http(s)://<server>:<port>, or kserve://<namespace>/<name>.',
  );
}

/** The state folder for a target: the one given, or the default beside a file:// repository. */
export function resolveStateDir(target: DeployTarget, state: string | undefined, cwd = process.cwd()): string {
  if (state) return isAbsolute(state) ? state : resolve(cwd, state);
  if (target.kind === 'file') return join(dirname(target.root), '.modelship-state', basename(target.root));
  throw new ModelshipError(
    'STATE_REQUIRED',
    `A ${target.kind === 'http' ? 'server URL' : 'KServe'} target needs a 'state' folder for the deploy ledger and lease.`,
    "Set 'state' to a persistent folder every deploy of this environment can reach (a shared volume or a path on a self-hosted runner); a hosted runner's disk is discarded after the job.",
  );
}

const ENVIRONMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Environment names become folder names: letters, digits, '.', '_', '-'. */
export function validateEnvironment(environment: string): string {
  if (ENVIRONMENT_NAME.test(environment) && environment.length <= 100) return environment;
  throw new ModelshipError(
    'ENVIRONMENT_INVALID',
    `Environment '${environment}' is not usable as a name.`,
    "Use letters, digits, '.', '_' and '-', starting with a letter or digit (e.g. 'production', 'staging-eu').",
  );
}

export interface StatePaths {
  dir: string;
  ledger: string;
  lease: string;
  /** For HTTP targets: a Triton-layout copy of the retained versions. */
  mirror: string;
}

export function statePaths(stateDir: string, model: string, environment: string): StatePaths {
  const dir = join(stateDir, model, environment);
  return {
    dir,
    ledger: join(dir, 'ledger.jsonl'),
    lease: join(dir, 'lease.json'),
    mirror: join(dir, 'repository'),
  };
}
