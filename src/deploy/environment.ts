/**
 * One model in one environment, as deploy and rollback change it: the Triton-layout repository (the target
 * folder, or for HTTP targets the mirror kept in the state folder), the server when there is one, and the
 * ledger, all under the lease. Deploy and rollback are sequences of these moves.
 */
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelshipError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { digestModel, externalDataLocations } from '../onnx/digest.js';
import { crashPoint } from './fault-injection.js';
import {
  appendLedgerEntry,
  current,
  history,
  readLedger,
  unfinished,
  versionLabel,
  type LedgerAction,
  type LedgerEntry,
  type LedgerOutcome,
  type ServedVersion,
} from './ledger.js';
import type { Lease } from './lock.js';
import {
  listVersions,
  readPolicy,
  removeLeftovers,
  removeVersion,
  setVersionPolicy,
  versionModelFile,
  type ModelRepository,
} from './model-repository.js';
import { OipClient, type PushedFile } from './oip-client.js';
import type { DeployTarget, StatePaths } from './target.js';
import { minimalConfigJson } from './triton-config.js';

export interface Actor {
  /** Who ran it: the GitHub actor, or user@host from the CLI. */
  actor: string;
  runUrl: string | null;
}

export interface EnvironmentOptions {
  model: string;
  environment: string;
  target: DeployTarget;
  paths: StatePaths;
  /** The server for a file:// target, when there is one. */
  server?: string;
  adminToken?: string;
  readyTimeoutMs?: number;
  /** `triton`: the server has no routing extension, whatever it answers. */
  serverKind?: 'modelship' | 'triton' | 'kserve';
  who: Actor;
  log: Logger;
}

/** A server speaks modelship's routing extension (modelship serve) or it does not (Triton). */
export type ServerKind = 'routing' | 'plain';

export class DeployEnvironment {
  readonly model: string;
  readonly environment: string;
  readonly target: DeployTarget;
  readonly paths: StatePaths;
  readonly repo: ModelRepository;
  readonly client?: OipClient;
  readonly who: Actor;
  readonly log: Logger;
  readonly readyTimeoutMs: number;
  serverKind?: ServerKind;
  private readonly declaredKind?: string;
  entries: LedgerEntry[] = [];
  lease?: Lease;

  constructor(options: EnvironmentOptions) {
    this.model = options.model;
    this.environment = options.environment;
    this.target = options.target;
    this.paths = options.paths;
    this.who = options.who;
    this.log = options.log;
    this.readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
    this.declaredKind = options.serverKind;
    const root = options.target.kind === 'file' ? options.target.root : options.paths.mirror;
    this.repo = { root, model: options.model };
    const url = options.target.kind === 'http' ? options.target.url : options.server;
    if (url) this.client = new OipClient(url, { adminToken: options.adminToken });
  }

  get pushes(): boolean {
    return this.target.kind === 'http';
  }

  get routing(): boolean {
    return this.serverKind === 'routing';
  }

  /** The URL clients call for this model, when there is a server. */
  get modelUrl(): string | undefined {
    return this.client?.modelUrl(this.model);
  }

  /** Checks the server answers and learns whether it routes. */
  async probeServer(): Promise<void> {
    if (!this.client) return;
    if (!(await this.client.live())) {
      throw new ModelshipError(
        'SERVER_NOT_LIVE',
        `The server at ${this.client.baseUrl} is not live (GET /v2/health/live).`,
        'Start the server, or check the URL.',
      );
    }
    this.serverKind =
      this.declaredKind !== 'triton' && (await this.client.supportsRouting(this.model)) ? 'routing' : 'plain';
    this.log.info(
      `Server ${this.client.baseUrl}: ${this.routing ? 'modelship serve (routing: pinned versions, canaries)' : 'no routing extension (Triton): a deploy replaces the version'}.`,
    );
  }

  async readLedger(): Promise<LedgerEntry[]> {
    const read = await readLedger(this.paths.ledger);
    if (read.torn) {
      this.log.warn(
        `The ledger ${this.paths.ledger} ends with a torn line ${read.torn.line} (a write cut short by a crash); it was never committed and is ignored.`,
      );
    }
    this.entries = read.entries;
    return this.entries;
  }

  async record(
    action: LedgerAction,
    outcome: LedgerOutcome,
    version: { numericVersion: number; semver: string | null; digest: string },
    reason: string | null,
    details?: Record<string, unknown>,
  ): Promise<LedgerEntry> {
    await this.lease?.assertHeld();
    const entry: LedgerEntry = {
      time: new Date().toISOString(),
      actor: this.who.actor,
      runUrl: this.who.runUrl,
      action,
      semver: version.semver,
      numericVersion: version.numericVersion,
      digest: version.digest,
      outcome,
      reason,
      ...(details ? { details } : {}),
    };
    await appendLedgerEntry(this.paths.ledger, entry);
    this.entries.push(entry);
    return entry;
  }

  serving(): ServedVersion | undefined {
    return current(this.entries);
  }

  /**
   * A repository that served before modelship kept its ledger (an existing Triton repository): the version
   * serving now — the server's routing, else the highest in the policy, else the highest folder — is recorded
   * as deployed, so a failed first deploy puts it back and a rollback can return to it. File targets only:
   * for a server URL the files are not here to check.
   */
  async adoptUnrecorded(): Promise<ServedVersion | undefined> {
    if (this.serving() || this.target.kind !== 'file') return undefined;
    const onDisk = await listVersions(this.repo);
    if (onDisk.length === 0) return undefined;
    let candidate: number | undefined;
    if (this.client && this.routing) {
      const routing = await this.client.getRouting(this.model).catch(() => undefined);
      if (routing?.stable) candidate = Number(routing.stable);
    }
    const policy = await readPolicy(this.repo);
    if (candidate === undefined && policy?.kind === 'specific') candidate = Math.max(...policy.versions);
    candidate ??= Math.max(...onDisk);
    if (!onDisk.includes(candidate)) return undefined;
    const digest = await this.digestOnDisk(candidate);
    if (!digest) return undefined;
    await this.record(
      'deploy',
      'succeeded',
      { numericVersion: candidate, semver: null, digest },
      'adopted: it served before this environment had a ledger',
    );
    this.log.info(
      `Version ${candidate} already serves ${this.repo.root}/${this.model}; recorded in the ledger as the current version.`,
    );
    return this.serving();
  }

  /** The version that served before the current one (kept loaded beside it for an instant rollback). */
  servedBefore(): ServedVersion | undefined {
    const now = this.serving();
    return history(this.entries).find((row) => row.numericVersion !== now?.numericVersion);
  }

  /** The versions to keep loaded when `version` serves: it, and on a routing server the one before it. */
  policyFor(version: number, alongside?: number): number[] {
    if (!this.routing || alongside === undefined || alongside === version) return [version];
    return [alongside, version];
  }

  /** Digest of the files of a version on disk, or undefined when the folder is gone. */
  async digestOnDisk(version: number): Promise<string | undefined> {
    const file = versionModelFile(this.repo, version);
    if (!(await stat(file).catch(() => undefined))) return undefined;
    return digestModel(file);
  }

  /**
   * Makes the repository say `versions` and the server load them. For HTTP targets the versions the server
   * does not have ready travel in the load request.
   */
  async publish(wanted: number[]): Promise<void> {
    await this.lease?.assertHeld();
    // A version retention or a crash removed cannot be loaded; the one that must serve (last) is always kept.
    const onDisk = new Set(await listVersions(this.repo));
    const versions = wanted.filter((v, i) => i === wanted.length - 1 || onDisk.has(v));
    await setVersionPolicy(this.repo, versions);
    crashPoint('after-policy-updated');
    if (!this.client) return;
    if (!this.pushes) {
      await this.client.load(this.model);
      return;
    }
    const files: PushedFile[] = [];
    for (const version of versions) {
      if (await this.client.modelReady(this.model, version).catch(() => false)) continue;
      const file = versionModelFile(this.repo, version);
      files.push({ relativePath: `${version}/model.onnx`, source: file });
      for (const location of await externalDataLocations(file)) {
        files.push({
          relativePath: `${version}/${location}`,
          source: join(this.repo.root, this.model, String(version), location),
        });
      }
    }
    const config = minimalConfigJson(this.model, versions);
    await this.client.load(this.model, files.length > 0 ? { config, files } : { config });
  }

  async waitReady(version: number): Promise<number> {
    if (!this.client) return 0;
    return this.client.waitModelReady(this.model, version, { timeoutMs: this.readyTimeoutMs });
  }

  /** Points unversioned traffic at `stable` (and a share at the canary). No-op on a server without routing. */
  async route(stable: number, canary: { version: number; weight: number } | null = null): Promise<void> {
    if (!this.client || !this.routing) return;
    await this.lease?.assertHeld();
    await this.client.setRouting(this.model, {
      stable: String(stable),
      canary: canary ? { version: String(canary.version), weight: canary.weight } : null,
    });
  }

  /**
   * Before changing anything, makes sure the new version cannot take traffic by being loaded: pins the routing
   * to what serves (until pinned, modelship serve sends unversioned requests to the highest ready version).
   */
  async pin(stable: number): Promise<void> {
    if (!this.client || !this.routing) return;
    const routing = await this.client.getRouting(this.model).catch(() => undefined);
    if (routing?.pinned && routing.stable === String(stable) && routing.canary === null) return;
    if (routing?.stable && routing.stable !== String(stable) && routing.pinned) {
      this.log.warn(
        `The server routes ${this.model} to version ${routing.stable}, the ledger says ${stable} serves; routing follows the ledger.`,
      );
    }
    if (!(await this.client.modelReady(this.model, stable).catch(() => false))) {
      await this.publish(this.policyFor(stable, this.servedBefore()?.numericVersion));
      await this.waitReady(stable);
    }
    await this.route(stable);
  }

  /**
   * A deploy or rollback that a crash interrupted (a `started` entry with no outcome): the environment is put
   * back to what the ledger says serves, the half-written version removed, and the interruption recorded.
   */
  async recoverInterrupted(): Promise<LedgerEntry | undefined> {
    const open = unfinished(this.entries);
    const leftovers = await removeLeftovers(this.repo);
    if (leftovers.length > 0)
      this.log.info(`Removed ${leftovers.length} temporary file(s) left by an interrupted run.`);
    if (!open) return undefined;
    this.log.warn(
      `The last ${open.action} (${versionLabel(open)}, started ${open.time} by ${open.actor}${open.runUrl ? `, ${open.runUrl}` : ''}) never recorded an outcome: it was interrupted. Restoring what the ledger says serves.`,
    );
    const serving = this.serving();
    const everServed = new Set(this.entries.filter((e) => e.outcome === 'succeeded').map((e) => e.numericVersion));
    try {
      if (serving) {
        const policy = this.policyFor(serving.numericVersion, this.servedBefore()?.numericVersion);
        const onDisk = new Set(await listVersions(this.repo));
        await this.route(serving.numericVersion).catch(() => undefined);
        await this.publish(policy.filter((v) => onDisk.has(v)));
        await this.waitReady(serving.numericVersion);
        await this.route(serving.numericVersion);
      }
      if (!everServed.has(open.numericVersion) && open.numericVersion !== serving?.numericVersion) {
        await removeVersion(this.repo, open.numericVersion);
        if (!serving) await this.removeModelIfEmpty();
      }
    } catch (error) {
      throw new ModelshipError(
        'RECOVERY_FAILED',
        `Could not restore ${this.model} in '${this.environment}' after an interrupted ${open.action}: ${describeError(error)}`,
        'Check the server, then run the deploy or rollback again; nothing new was started.',
      );
    }
    await this.record(
      open.action,
      'failed',
      open,
      `interrupted: no outcome was recorded (the run was killed or lost its lease); ${serving ? `${versionLabel(serving)} restored` : 'nothing served before'}`,
    );
    return open;
  }

  /** After a failed first deploy: no version left, so no model folder for Triton to trip over. */
  async removeModelIfEmpty(): Promise<void> {
    if ((await listVersions(this.repo)).length > 0) return;
    if (this.client) await this.client.unload(this.model).catch(() => undefined);
    if (await readPolicy(this.repo)) await rm(join(this.repo.root, this.model, 'config.pbtxt'), { force: true });
  }
}
