/**
 * The one way src/ gets onnxruntime-node. It is native and external to the bundles, and an action runs
 * from a checkout that never ran `npm install`, so it is looked for in order:
 *   1. MODELSHIP_ONNXRUNTIME_PATH: a folder whose node_modules holds onnxruntime-node (or the package itself);
 *   2. ordinary resolution from this file (the CLI, tests, and any checkout that ran npm install);
 *   3. the runner tool cache, if an earlier job on this runner provisioned it;
 *   4. provisioning: download the pinned, integrity-checked packages into the tool cache (./provision.ts).
 * docs/onnxruntime-provisioning.md describes the mechanism for users.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelshipError } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { ONNXRUNTIME_PIN } from './onnxruntime-pin.js';
import { findProvisioned, provisionOnnxRuntime, registryFromEnv, toolCacheFromEnv } from './provision.js';

export type OrtModule = typeof import('onnxruntime-node');

export interface LoadOnnxRuntimeOptions {
  log?: Logger;
  /** Default: RUNNER_TOOL_CACHE, else a per-user cache folder. */
  toolCache?: string;
  /** Default: MODELSHIP_NPM_REGISTRY, else npm_config_registry, else https://registry.npmjs.org/. */
  registry?: string;
}

export type OnnxRuntimeSource = 'env' | 'node_modules' | 'tool-cache' | 'provisioned';

export interface LoadedOnnxRuntime {
  ort: OrtModule;
  source: OnnxRuntimeSource;
  /** The folder the package was loaded from. */
  dir: string;
}

let loading: Promise<LoadedOnnxRuntime> | undefined;

/** onnxruntime-node, found or provisioned once per process (the first call's options decide where). */
export async function loadOnnxRuntime(options: LoadOnnxRuntimeOptions = {}): Promise<OrtModule> {
  return (await loadOnnxRuntimeWithSource(options)).ort;
}

/** As loadOnnxRuntime, also saying where the module came from (for logs and reports). */
export function loadOnnxRuntimeWithSource(options: LoadOnnxRuntimeOptions = {}): Promise<LoadedOnnxRuntime> {
  loading ??= locateOnnxRuntime(options).catch((error: unknown) => {
    loading = undefined; // let a later call try again, e.g. after the network came back
    throw error;
  });
  return loading;
}

async function locateOnnxRuntime(options: LoadOnnxRuntimeOptions): Promise<LoadedOnnxRuntime> {
  const log = options.log ?? silentLogger;
  const { name, version } = ONNXRUNTIME_PIN.node;
  const tried: string[] = [];
  const found = (result: LoadedOnnxRuntime) => {
    log.debug(`Using ${name} from ${result.dir} (${result.source}).`);
    return result;
  };

  const envPath = process.env.MODELSHIP_ONNXRUNTIME_PATH;
  if (envPath) {
    // An explicit setting that does not work is an error, not a reason to download something else.
    const folder = path.resolve(envPath);
    try {
      return found(requireFrom(folder, 'env'));
    } catch (error) {
      throw new ModelshipError(
        'ONNXRUNTIME_UNAVAILABLE',
        `MODELSHIP_ONNXRUNTIME_PATH is ${folder}, but ${name} does not load from there: ${firstLine(error)}`,
        `Run 'npm install ${name}@${version}' in that folder, or unset MODELSHIP_ONNXRUNTIME_PATH.`,
        undefined,
        { cause: error },
      );
    }
  }
  tried.push('MODELSHIP_ONNXRUNTIME_PATH (not set)');

  try {
    const ort = createRequire(import.meta.url)(name) as OrtModule;
    const dir = path.dirname(createRequire(import.meta.url).resolve(`${name}/package.json`));
    return found({ ort, source: 'node_modules', dir });
  } catch (error) {
    tried.push(`node_modules next to ${describeHere()} (${firstLine(error)})`);
  }

  const toolCache = options.toolCache ?? toolCacheFromEnv();
  const cached = await findProvisioned(toolCache);
  if (cached) {
    try {
      return found(requireFrom(cached, 'tool-cache'));
    } catch (error) {
      tried.push(`the tool cache ${cached} (${firstLine(error)})`);
    }
  } else {
    tried.push(`the tool cache ${toolCache} (not provisioned yet)`);
  }

  const registry = options.registry ?? registryFromEnv();
  try {
    const dir = await log.group(`Provisioning ${name} ${version}`, () =>
      provisionOnnxRuntime({ toolCache, registry, log }),
    );
    return found(requireFrom(dir, 'provisioned'));
  } catch (error) {
    tried.push(`downloading ${name} ${version} from ${registry} into ${toolCache} (${firstLine(error)})`);
  }

  throw new ModelshipError(
    'ONNXRUNTIME_UNAVAILABLE',
    `${name} ${version} is not available. Tried: ${tried.map((entry, i) => `(${i + 1}) ${entry}`).join('; ')}.`,
    `Run 'npm install' where modelship runs, or set MODELSHIP_ONNXRUNTIME_PATH to a folder where ` +
      `'npm install ${name}@${version}' was run, or set MODELSHIP_NPM_REGISTRY to a reachable npm registry mirror.`,
  );
}

/** Loads the package from `folder/node_modules`, or from `folder` when it is the package itself. */
function requireFrom(folder: string, source: OnnxRuntimeSource): LoadedOnnxRuntime {
  const { name } = ONNXRUNTIME_PIN.node;
  const require = createRequire(path.join(folder, 'noop.js'));
  let packageJson: string;
  try {
    packageJson = require.resolve(`${name}/package.json`, { paths: [folder] });
  } catch {
    const own = path.join(folder, 'package.json');
    const ownName = existsSync(own) ? (JSON.parse(readFileSync(own, 'utf8')) as { name?: unknown }).name : undefined;
    if (ownName !== name) throw new Error(`no node_modules/${name} in ${folder}`);
    packageJson = own;
  }
  const dir = path.dirname(packageJson);
  return { ort: require(dir) as OrtModule, source, dir };
}

function describeHere(): string {
  return import.meta.url.startsWith('file:') ? path.dirname(fileURLToPath(import.meta.url)) : import.meta.url;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0];
}
