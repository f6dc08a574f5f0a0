/**
 * An environment's settings from modelship.yml (`models.<name>.environments.<env>`), for what the inputs
 * leave out: inputs always win. `url` is the server a file:// repository is served by (and the URL shown on
 * the deployment); `server: triton` says the server has no routing, `server: kserve` that deploy renders
 * an InferenceService.
 */
import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DEFAULT_CONFIG_FILE, loadConfig } from '../config/load.js';
import type { EnvironmentEntry } from '../config/types.js';
import { parseDuration } from '../config/values.js';
import { ModelshipError } from '../errors.js';

export interface EnvironmentSettings {
  /** The model file from the config, absolute. */
  model?: string;
  target?: string;
  server?: string;
  serverKind?: EnvironmentEntry['server'];
  state?: string;
  strategy?: 'replace' | 'canary';
  canaryWeight?: number;
  analysisWindowSeconds?: number;
  maxErrorRate?: number;
  maxLatencyRatio?: number;
  keep?: number;
  environmentUrl?: string;
}

/**
 * Reads the settings of `environment` for `modelName`. With no `config` given, modelship.yml is read when it
 * exists in `cwd`; an environment the file does not name gives no settings.
 */
export async function readEnvironmentSettings(
  config: string | undefined,
  modelName: string,
  environment: string,
  cwd: string,
): Promise<EnvironmentSettings> {
  const file = config ?? DEFAULT_CONFIG_FILE;
  if (config === undefined) {
    const present = await access(resolve(cwd, file)).then(
      () => true,
      () => false,
    );
    if (!present) return {};
  }
  const loaded = await loadConfig(file, { cwd });
  const entry = loaded.config.models[modelName];
  if (!entry) {
    // An explicitly named config must know the model (this throws, listing the names it has).
    if (config !== undefined) loaded.model(modelName);
    return {};
  }
  const env = entry.environments?.[environment];
  const settings: EnvironmentSettings = { model: resolve(loaded.dir, entry.path) };
  if (!env) return settings;
  const http = /^https?:\/\//.test(env.target);
  let analysisWindowSeconds: number | undefined;
  if (env['analysis-window'] !== undefined) {
    try {
      analysisWindowSeconds = parseDuration(env['analysis-window']) / 1000;
    } catch (error) {
      throw new ModelshipError(
        'CONFIG_INVALID',
        (error as Error).message,
        undefined,
        loaded.locate(`/models/${modelName}/environments/${environment}/analysis-window`),
      );
    }
  }
  return {
    ...settings,
    target: env.target.startsWith('file://')
      ? `file://${resolve(loaded.dir, env.target.slice('file://'.length))}`
      : env.target,
    server: !http ? env.url : undefined,
    serverKind: env.server,
    state: env.state === undefined ? undefined : resolve(loaded.dir, env.state),
    strategy: env.strategy,
    canaryWeight: env['canary-weight'],
    analysisWindowSeconds,
    maxErrorRate: env['max-error-rate'],
    maxLatencyRatio: env['max-latency-ratio'],
    keep: env.keep,
    environmentUrl: env.url,
  };
}

/** `options` with every setting it leaves undefined taken from `settings`. */
export function withSettings<T extends object>(options: T, settings: EnvironmentSettings): T {
  const merged = { ...options } as Record<string, unknown>;
  for (const [key, value] of Object.entries(settings)) {
    if (merged[key] === undefined && value !== undefined) merged[key] = value;
  }
  return merged as T;
}
