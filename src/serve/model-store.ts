/**
 * The models the server holds: loading, reloading and unloading versions as the repository and the
 * version policy say, answering which version serves a request, and the routing between versions.
 *
 * A reload never interrupts traffic: new sessions open beside the old ones, the switch happens in one
 * synchronous step, and a replaced version is released only after its requests in flight are answered.
 */
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { describeError, isModelshipError } from '../errors.js';
import type { Logger } from '../log.js';
import { badRequest, HttpError, notFound, unavailable } from './http-io.js';
import {
  configFingerprint,
  configJsonToPbtxt,
  modelConfigJson,
  parseModelConfigJson,
  reconcileSignature,
  versionsInPolicy,
  type ModelConfig,
} from './model-config.js';
import {
  isModelName,
  listModelNames,
  readModelFolder,
  versionFoldersPresent,
  writeFileAtomic,
  type ModelFolder,
} from './repository.js';
import { CanarySplitter, readRoutingFile, ROUTING_FILE, writeRoutingFile, type Routing } from './routing.js';
import { ServedVersion } from './served-version.js';
import { openSession, type ModelSession } from '../runtime/session.js';
import { VersionStats } from './statistics.js';

/** Files a load request carries: a config in Triton's JSON form and model files by `<N>/<name>`. */
export interface ModelUpload {
  config: string;
  files: Array<{ version: number; name: string; content: Buffer }>;
}

export interface IndexEntry {
  name: string;
  version: string;
  state: 'READY' | 'LOADING' | 'UNLOADING' | 'UNAVAILABLE';
  reason: string;
}

export interface LoadResult {
  model: string;
  /** Versions that opened a new session in this load. */
  loaded: string[];
  /** Versions taken out of service by this load (released once their requests finish). */
  unloaded: string[];
  /** Versions serving after the load. */
  versions: string[];
}

export interface RoutingView extends Routing {
  pinned: boolean;
}

export type SessionOpener = (file: string, options: { intraOpThreads?: number }) => Promise<ModelSession>;

interface ModelRecord {
  name: string;
  config?: ModelConfig;
  versions: Map<number, ServedVersion>;
  /** Versions opening now, for the index. */
  loading: Set<number>;
  /** Versions out of service, answering their last requests. */
  draining: Set<ServedVersion>;
  /** Why a version ('' for the whole model) could not be loaded. */
  failures: Map<string, string>;
  routing: Routing | null;
  splitter: CanarySplitter;
  unloaded: boolean;
  /** The highest ready version: the answer when routing is not pinned. */
  highest?: ServedVersion;
  lock: Promise<unknown>;
}

export interface ModelStoreOptions {
  repository: string;
  log: Logger;
  intraOpThreads?: number;
  openSession?: SessionOpener;
}

export class ModelStore {
  private readonly models = new Map<string, ModelRecord>();
  private readonly repository: string;
  private readonly log: Logger;
  private readonly open: SessionOpener;
  private readonly intraOpThreads?: number;

  constructor(options: ModelStoreOptions) {
    this.repository = options.repository;
    this.log = options.log;
    this.open = options.openSession ?? openSession;
    this.intraOpThreads = options.intraOpThreads;
  }

  private record(name: string): ModelRecord {
    let record = this.models.get(name);
    if (!record) {
      record = {
        name,
        versions: new Map(),
        loading: new Set(),
        draining: new Set(),
        failures: new Map(),
        routing: null,
        splitter: new CanarySplitter(),
        unloaded: false,
        lock: Promise.resolve(),
      };
      this.models.set(name, record);
    }
    return record;
  }

  /** Runs model changes one at a time per model. */
  private locked<T>(name: string, work: (record: ModelRecord) => Promise<T>): Promise<T> {
    const record = this.record(name);
    const run = record.lock.then(() => work(record));
    record.lock = run.catch(() => undefined);
    return run;
  }

  /** Names of models with at least one version serving. */
  loadedModels(): string[] {
    return [...this.models.values()].filter((r) => r.versions.size > 0).map((r) => r.name);
  }

  /** The version that answers a request. Advances the canary split: call once per request. */
  resolve(name: string, version?: string): ServedVersion {
    const record = this.models.get(name);
    if (!record) throw notFound(`Unknown model '${name}': it is not loaded.`);
    if (version !== undefined) return this.exactVersion(record, version);
    let entry: ServedVersion | undefined;
    const routing = record.routing;
    if (routing) {
      const target =
        routing.canary && routing.canary.weight > 0 && record.splitter.next(routing.canary.weight)
          ? routing.canary.version
          : routing.stable;
      entry = record.versions.get(Number(target));
    }
    entry ??= record.highest;
    if (!entry) throw this.notReady(record);
    return entry;
  }

  /** Like resolve for metadata and readiness: the stable (or highest) version, without taking a canary turn. */
  peek(name: string, version?: string): ServedVersion {
    const record = this.models.get(name);
    if (!record) throw notFound(`Unknown model '${name}': it is not loaded.`);
    if (version !== undefined) return this.exactVersion(record, version);
    const entry = (record.routing && record.versions.get(Number(record.routing.stable))) || record.highest;
    if (!entry) throw this.notReady(record);
    return entry;
  }

  private exactVersion(record: ModelRecord, version: string): ServedVersion {
    const n = Number(version);
    const entry = record.versions.get(n);
    if (entry) return entry;
    if (record.loading.has(n)) throw unavailable(`Model '${record.name}' version ${version} is loading.`);
    const failure = record.failures.get(version);
    if (failure) throw unavailable(`Model '${record.name}' version ${version} is unavailable: ${failure}`);
    const loaded = [...record.versions.keys()].sort((a, b) => a - b);
    throw notFound(
      `Model '${record.name}' has no version ${version} loaded${loaded.length ? ` (loaded: ${loaded.join(', ')})` : ''}.`,
    );
  }

  private notReady(record: ModelRecord): HttpError {
    if (record.loading.size > 0) return unavailable(`Model '${record.name}' is loading.`);
    const failure = [...record.failures.values()][0];
    if (failure) return unavailable(`Model '${record.name}' is unavailable: ${failure}`);
    return notFound(`Unknown model '${record.name}': it is not loaded${record.unloaded ? ' (it was unloaded)' : ''}.`);
  }

  readyVersions(name: string): string[] {
    const record = this.models.get(name);
    return record ? [...record.versions.keys()].sort((a, b) => a - b).map(String) : [];
  }

  /** Triton's JSON config of a loaded model. */
  config(name: string, version?: string): Record<string, unknown> {
    const entry = this.peek(name, version);
    return modelConfigJson(entry.config, entry.signature);
  }

  /**
   * Loads or reloads a model from its folder (after writing the upload into it, when given): new versions in
   * the policy open beside the serving ones, versions out of the policy leave service.
   */
  load(name: string, upload?: ModelUpload): Promise<LoadResult> {
    if (!isModelName(name))
      return Promise.reject(badRequest(`'${name}' is not a valid model name: use letters, digits, '.', '_' and '-'.`));
    return this.locked(name, async (record) => {
      if (!upload) return this.reload(record);
      const undo = await this.writeUpload(record, upload);
      try {
        return await this.reload(record);
      } catch (error) {
        // A refused upload leaves the folder as it was, so a restart serves what is served now.
        await undo().catch((e: unknown) =>
          this.log.warn(`Model '${name}': could not restore the folder after a refused upload: ${describeError(e)}`),
        );
        throw error;
      }
    });
  }

  private async reload(record: ModelRecord): Promise<LoadResult> {
    const name = record.name;
    let folder: ModelFolder;
    try {
      folder = await readModelFolder(this.repository, name);
    } catch (error) {
      if (isModelshipError(error) && error.code === 'MODEL_NOT_FOUND') {
        if (record.versions.size === 0 && record.failures.size === 0 && !record.unloaded) this.models.delete(name);
        throw new HttpError(404, describeError(error));
      }
      record.failures.set('', describeError(error));
      throw this.loadFailure(name, error);
    }
    this.checkRoutedVersionsKept(
      record,
      folder.versions.map((v) => v.version),
    );

    const configPrint = configFingerprint(folder.config);
    const fingerprintOf = (file: string) => `${file}|${configPrint}`;
    const toOpen = folder.versions.filter(
      (v) => record.versions.get(v.version)?.fingerprint !== fingerprintOf(v.fingerprint),
    );
    record.loading = new Set(toOpen.map((v) => v.version));
    const opened: ServedVersion[] = [];
    for (const v of toOpen) {
      try {
        const session = await this.open(v.file, { intraOpThreads: this.intraOpThreads });
        try {
          const signature = reconcileSignature(folder.config, session.signature, v.file);
          const stats = record.versions.get(v.version)?.stats ?? new VersionStats(name, String(v.version));
          opened.push(
            new ServedVersion(name, v.version, session, folder.config, signature, fingerprintOf(v.fingerprint), stats),
          );
        } catch (error) {
          await session.release().catch(() => undefined);
          throw error;
        }
      } catch (error) {
        await Promise.all(opened.map((o) => o.session.release().catch(() => undefined)));
        record.loading.clear();
        record.failures.set(String(v.version), describeError(error));
        this.log.error(`Model '${name}' version ${v.version} cannot be loaded: ${describeError(error)}`);
        throw this.loadFailure(name, error, v.version);
      }
    }

    // The switch: one synchronous step, so every request sees either the old set or the new one.
    const retiring: ServedVersion[] = [];
    for (const entry of opened) {
      const old = record.versions.get(entry.version);
      record.versions.set(entry.version, entry);
      if (old) retiring.push(old);
    }
    const wanted = new Set(folder.versions.map((v) => v.version));
    const removed: string[] = [];
    for (const [version, entry] of record.versions) {
      if (!wanted.has(version)) {
        record.versions.delete(version);
        retiring.push(entry);
        removed.push(String(version));
      }
    }
    record.loading.clear();
    record.failures.clear();
    record.config = folder.config;
    record.unloaded = false;
    this.refreshHighest(record);
    for (const entry of retiring) this.drain(record, entry);

    if (record.routing?.canary && !record.versions.has(Number(record.routing.canary.version))) {
      this.log.info(
        `Model '${name}': canary version ${record.routing.canary.version} left service; all traffic goes to ${record.routing.stable}.`,
      );
      record.routing = { stable: record.routing.stable, canary: null };
      await writeRoutingFile(folder.dir, record.routing);
    }
    if (!record.routing) await this.adoptRoutingFile(record, folder.dir);

    const result = {
      model: name,
      loaded: opened.map((o) => o.label),
      unloaded: removed,
      versions: [...record.versions.keys()].sort((a, b) => a - b).map(String),
    };
    if (result.loaded.length || result.unloaded.length) {
      this.log.info(
        `Model '${name}': serving version${result.versions.length > 1 ? 's' : ''} ${result.versions.join(', ')}` +
          (result.loaded.length ? `; loaded ${result.loaded.join(', ')}` : '') +
          (result.unloaded.length ? `; unloading ${result.unloaded.join(', ')}` : ''),
      );
    }
    return result;
  }

  private loadFailure(name: string, error: unknown, version?: number): HttpError {
    if (error instanceof HttpError) return error;
    const where = version !== undefined ? `Model '${name}' version ${version}` : `Model '${name}'`;
    return badRequest(`${where} cannot be loaded: ${describeError(error)}`);
  }

  /** A version that routing sends traffic to as stable cannot leave service. */
  private checkRoutedVersionsKept(record: ModelRecord, versions: number[]): void {
    if (!record.routing) return;
    const stable = Number(record.routing.stable);
    if (record.versions.has(stable) && !versions.includes(stable)) {
      throw new HttpError(
        409,
        `Model '${record.name}': version ${stable} is the stable version in routing and would be unloaded. Route traffic to another version first (PUT /v2/models/${record.name}/routing), keep version ${stable} in version_policy, or unload the whole model.`,
      );
    }
  }

  /** Writes the upload into the model folder; returns what puts the folder back as it was. */
  private async writeUpload(record: ModelRecord, upload: ModelUpload): Promise<() => Promise<void>> {
    const config = (() => {
      try {
        return parseModelConfigJson(upload.config, record.name);
      } catch (error) {
        throw badRequest(describeError(error));
      }
    })();
    const present = new Set(await versionFoldersPresent(this.repository, record.name));
    for (const f of upload.files) present.add(f.version);
    const { versions, missing } = versionsInPolicy(config.versionPolicy, [...present]);
    if (missing.length > 0)
      throw badRequest(
        `Model '${record.name}': version_policy names version ${missing.join(', ')}, which is neither uploaded nor in the repository.`,
      );
    this.checkRoutedVersionsKept(record, versions);
    const dir = path.join(this.repository, record.name);
    const createdDirs: string[] = [];
    const previous = new Map<string, Buffer | undefined>();
    const remember = async (file: string) => previous.set(file, await readFile(file).catch(() => undefined));
    const undo = async () => {
      for (const [file, content] of previous) {
        if (content) await writeFileAtomic(file, content);
        else await rm(file, { force: true });
      }
      for (const created of createdDirs.reverse()) await rm(created, { recursive: true, force: true });
    };
    try {
      for (const folder of [dir, ...new Set(upload.files.map((f) => path.join(dir, String(f.version))))]) {
        if (!(await stat(folder).catch(() => undefined))) {
          await mkdir(folder, { recursive: true });
          createdDirs.push(folder);
        }
      }
      for (const file of upload.files) {
        const target = path.join(dir, String(file.version), file.name);
        await remember(target);
        await writeFileAtomic(target, file.content);
      }
      const configFile = path.join(dir, 'config.pbtxt');
      await remember(configFile);
      await writeFileAtomic(configFile, configJsonToPbtxt(upload.config));
    } catch (error) {
      await undo().catch(() => undefined);
      throw error;
    }
    this.log.info(
      `Model '${record.name}': wrote config.pbtxt${upload.files.length ? ` and ${upload.files.map((f) => `${f.version}/${f.name}`).join(', ')}` : ''}.`,
    );
    return undo;
  }

  private async adoptRoutingFile(record: ModelRecord, dir: string): Promise<void> {
    const { routing, problem } = await readRoutingFile(dir);
    if (problem) this.log.warn(problem);
    if (!routing) return;
    if (!record.versions.has(Number(routing.stable))) {
      this.log.warn(
        `Model '${record.name}': ${ROUTING_FILE} routes to version ${routing.stable}, which is not loaded; serving the highest version instead.`,
      );
      return;
    }
    const canary = routing.canary && record.versions.has(Number(routing.canary.version)) ? routing.canary : null;
    record.routing = { stable: routing.stable, canary };
    this.log.info(
      `Model '${record.name}': routing from ${ROUTING_FILE}: stable ${routing.stable}${canary ? `, canary ${canary.version} at ${canary.weight}%` : ''}.`,
    );
  }

  private refreshHighest(record: ModelRecord): void {
    let highest: ServedVersion | undefined;
    for (const entry of record.versions.values()) if (!highest || entry.version > highest.version) highest = entry;
    record.highest = highest;
  }

  private drain(record: ModelRecord, entry: ServedVersion): void {
    record.draining.add(entry);
    void entry.retire().then(() => record.draining.delete(entry));
  }

  /** Takes every version of a model out of service; resolves once their requests in flight are answered. */
  unload(name: string): Promise<{ model: string; unloaded: string[] }> {
    if (!isModelName(name)) return Promise.reject(notFound(`Unknown model '${name}'.`));
    return this.locked(name, async (record) => {
      const entries = [...record.versions.values()];
      if (entries.length === 0 && record.failures.size === 0 && !record.unloaded) {
        const present = await listModelNames(this.repository).catch(() => [] as string[]);
        if (!present.includes(name)) {
          this.models.delete(name);
          throw notFound(`Unknown model '${name}': it is neither loaded nor in the repository.`);
        }
      }
      record.versions.clear();
      record.routing = null;
      record.failures.clear();
      record.unloaded = true;
      this.refreshHighest(record);
      for (const entry of entries) this.drain(record, entry);
      await Promise.all(entries.map((e) => e.retire()));
      if (entries.length)
        this.log.info(
          `Model '${name}': unloaded version${entries.length > 1 ? 's' : ''} ${entries.map((e) => e.label).join(', ')}.`,
        );
      return { model: name, unloaded: entries.map((e) => e.label) };
    });
  }

  routing(name: string): RoutingView {
    const record = this.models.get(name);
    if (!record) this.missing(name);
    if (record.versions.size === 0) throw this.notReady(record);
    if (record.routing) return { ...record.routing, pinned: true };
    return { stable: record.highest!.label, canary: null, pinned: false };
  }

  /** Pins routing: both versions must be loaded and ready. Written to routing.json before it takes effect. */
  setRouting(name: string, routing: Routing): Promise<RoutingView> {
    if (!this.models.get(name)) return Promise.reject(notFound(`Unknown model '${name}': it is not loaded.`));
    return this.locked(name, async (record) => {
      for (const v of [routing.stable, ...(routing.canary ? [routing.canary.version] : [])]) {
        if (!record.versions.has(Number(v))) {
          const loaded = [...record.versions.keys()].sort((a, b) => a - b);
          throw badRequest(
            `Model '${name}' version ${v} is not loaded and ready (ready: ${loaded.join(', ') || 'none'}).`,
          );
        }
      }
      await writeRoutingFile(path.join(this.repository, name), routing);
      record.routing = { stable: routing.stable, canary: routing.canary ? { ...routing.canary } : null };
      this.log.info(
        `Model '${name}': routing stable ${routing.stable}${routing.canary ? `, canary ${routing.canary.version} at ${routing.canary.weight}%` : ''}.`,
      );
      return { ...record.routing, pinned: true };
    });
  }

  /** Unpins routing: requests without a version go to the highest ready version again. */
  clearRouting(name: string): Promise<RoutingView> {
    if (!this.models.get(name)) return Promise.reject(notFound(`Unknown model '${name}': it is not loaded.`));
    return this.locked(name, async (record) => {
      await rm(path.join(this.repository, name, ROUTING_FILE), { force: true });
      record.routing = null;
      return this.routing(name);
    });
  }

  async index(readyOnly: boolean): Promise<IndexEntry[]> {
    const names = new Set(await listModelNames(this.repository).catch(() => [] as string[]));
    for (const name of this.models.keys()) names.add(name);
    const entries: IndexEntry[] = [];
    for (const name of [...names].sort()) {
      const record = this.models.get(name);
      const own: IndexEntry[] = [];
      if (record) {
        for (const v of record.versions.keys()) own.push({ name, version: String(v), state: 'READY', reason: '' });
        for (const v of record.loading)
          if (!record.versions.has(v)) own.push({ name, version: String(v), state: 'LOADING', reason: '' });
        for (const e of record.draining)
          if (!record.versions.has(e.version)) own.push({ name, version: e.label, state: 'UNLOADING', reason: '' });
        for (const [v, reason] of record.failures)
          if (!v || !record.versions.has(Number(v))) own.push({ name, version: v, state: 'UNAVAILABLE', reason });
      }
      if (own.length === 0)
        own.push({ name, version: '', state: 'UNAVAILABLE', reason: record?.unloaded ? 'unloaded' : 'not loaded' });
      own.sort((a, b) => Number(a.version) - Number(b.version));
      entries.push(...own);
    }
    return readyOnly ? entries.filter((e) => e.state === 'READY') : entries;
  }

  /** Statistics of the serving versions, optionally of one model or one version. */
  statistics(name?: string, version?: string): VersionStats[] {
    if (name === undefined) {
      return [...this.models.values()].flatMap((r) =>
        [...r.versions.values()].sort((a, b) => a.version - b.version).map((e) => e.stats),
      );
    }
    if (version !== undefined) return [this.exactVersion(this.models.get(name) ?? this.missing(name), version).stats];
    const record = this.models.get(name);
    if (!record || record.versions.size === 0) throw this.notReady(record ?? this.missing(name));
    return [...record.versions.values()].sort((a, b) => a.version - b.version).map((e) => e.stats);
  }

  private missing(name: string): never {
    throw notFound(`Unknown model '${name}': it is not loaded.`);
  }

  /** Every distinct statistics object, serving or draining, for /metrics. */
  allStatistics(): { stats: VersionStats[]; ready: Array<{ model: string; version: string; ready: boolean }> } {
    const stats = new Set<VersionStats>();
    const ready: Array<{ model: string; version: string; ready: boolean }> = [];
    for (const record of this.models.values()) {
      for (const e of [...record.versions.values()].sort((a, b) => a.version - b.version)) {
        stats.add(e.stats);
        ready.push({ model: record.name, version: e.label, ready: true });
      }
      for (const e of record.draining) stats.add(e.stats);
    }
    return { stats: [...stats], ready };
  }

  /** Takes everything out of service once requests in flight are answered, and releases the sessions. */
  async close(): Promise<void> {
    const all: Promise<void>[] = [];
    for (const record of this.models.values()) {
      for (const entry of record.versions.values()) all.push(entry.retire());
      for (const entry of record.draining) all.push(entry.retire());
      record.versions.clear();
      record.highest = undefined;
    }
    await Promise.all(all);
  }
}
