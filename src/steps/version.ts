/**
 * The version step: give a model its next semantic version as an immutable annotated git tag
 * (`<name>@v<semver>`) and, on GitHub, a release whose body is the model card.
 *
 * The previous version is the highest register tag of the model; its signature, labels and digest
 * come from the record in its tag annotation or release, or else from the model file at its commit.
 * A digest that already has a version gets that version back and nothing is created.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import semver from 'semver';
import { DEFAULT_CONFIG_FILE, loadConfig } from '../config/load.js';
import type { ModelEntry } from '../config/types.js';
import { ModelshipError } from '../errors.js';
import { createGitHubClient } from '../github/client.js';
import { GitHubVersionStore } from '../github/version-store.js';
import type { Logger } from '../log.js';
import type { Signature } from '../runtime/tensor.js';
import {
  bumpRequests,
  decideBump,
  nextVersion,
  shortDigest,
  sortVersionsDescending,
  validatePrereleaseId,
  type Bump,
  type BumpRequest,
  type ModelFacts,
  type TensorDiff,
} from '../versioning/bump.js';
import { readEvaluateReport, type EvaluateReportSummary } from '../versioning/evaluate-report.js';
import { differsFromCommit, gitTopLevel, LocalGitStore, resolveCommit } from '../versioning/local-git.js';
import { modelFactsFromBytes, readModelFacts, type LocalModelFacts } from '../versioning/model-facts.js';
import { RECORD_SCHEMA, tagMessage, type VersionRecord } from '../versioning/record.js';
import { renderModelCard } from '../versioning/release-notes.js';
import type { ReleaseInfo, StoredVersion, VersionStore } from '../versioning/store.js';
import { formatRegisterTag, validateModelName } from '../versioning/tags.js';

export interface GitHubTarget {
  token: string;
  owner: string;
  repo: string;
  /** REST API root; default https://api.github.com. */
  apiUrl?: string;
  /** For links in the model card; default https://github.com. */
  serverUrl?: string;
}

export interface VersionOptions {
  /** The .onnx file (or a folder holding model.onnx); default the model's `path` in the configuration. */
  model?: string;
  /** The model's name in tags, GTO grammar. */
  modelName: string;
  /** Default `auto`: decided by the bump rule against the previous version. */
  bump?: BumpRequest;
  /** A prerelease identifier: `rc` gives `1.3.0-rc.1`, then `-rc.2`. */
  prerelease?: string;
  /** Evaluate's JSON report; its metrics go into the model card. */
  report?: string;
  /** Create a GitHub release; default true with a GitHub target. */
  release?: boolean;
  /** Upload the model to the release as `<name>-<version>.onnx`. */
  attachModel?: boolean;
  /** Compute and report; create nothing. */
  dryRun?: boolean;
  /** The version of a model without versions; default the configuration's, else `0.1.0`. */
  firstVersion?: string;
  /** modelship.yml: the model's path, labels and `versioning:` (first-version, tag-prefix) come from its entry. */
  config?: string;
  /**
   * Without `config`: read `<workspace>/modelship.yml` when there is one and it names this model.
   * What the action and the CLI do, so a plain run honours the repository's settings.
   */
  discoverConfig?: boolean;
  /** Class labels to use instead of the model's `labels` metadata property. */
  labels?: string[];
  /** The git checkout (local mode: where tags are created). Default: the folder of the model. */
  workspace?: string;
  /** The commit to tag. Default: HEAD of the checkout (the workflow's sha with a GitHub target). */
  commit?: string;
  /** Version through the GitHub API instead of local git. */
  github?: GitHubTarget;
  /** A store to use instead of the one the options above select. */
  store?: VersionStore;
}

export type VersionBump = Bump | 'initial' | 'none';

export interface VersionResult {
  name: string;
  version: string;
  tag: string;
  previousVersion?: string;
  /** `initial` for a first version, `none` when the digest already had a version. */
  bump: VersionBump;
  bumpReason: string;
  /** A new tag was created by this run. */
  created: boolean;
  dryRun: boolean;
  releaseUrl?: string;
  assetUrl?: string;
  digest: string;
  signature: Signature;
  labels?: string[];
  /** The signature diff against the previous version (empty for a first version). */
  tensors: TensorDiff[];
  commit: string;
  mode: 'git' | 'github';
  where: string;
}

const MAX_ATTEMPTS = 2;

/** The name an asset may have on a release (no `/`). */
export const assetName = (name: string, version: string): string => `${name.replace(/\//g, '-')}-${version}.onnx`;

interface Settings {
  bump: BumpRequest;
  prerelease?: string;
  firstVersion: string;
  model: string;
  labels?: string[];
  /** The name in tags: the configuration's tag-prefix, else the model name. */
  tagName: string;
}

/** The model's entry in modelship.yml, when there is a configuration to read. */
async function configEntry(
  options: VersionOptions,
  workspace: string,
  log: Logger,
): Promise<(ModelEntry & { dir: string }) | undefined> {
  if (options.config) {
    const loaded = await loadConfig(options.config, { cwd: workspace });
    return { ...loaded.model(options.modelName), dir: loaded.dir };
  }
  if (!options.discoverConfig) return undefined;
  const candidate = join(workspace, DEFAULT_CONFIG_FILE);
  if (!existsSync(candidate)) return undefined;
  const loaded = await loadConfig(candidate);
  if (!Object.hasOwn(loaded.config.models, options.modelName)) {
    log.debug(`${candidate} has no model '${options.modelName}'; not using it.`);
    return undefined;
  }
  log.info(`Using the settings of '${options.modelName}' in ${candidate}.`);
  return { ...loaded.model(options.modelName), dir: loaded.dir };
}

async function settle(options: VersionOptions, workspace: string, log: Logger): Promise<Settings> {
  validateModelName(options.modelName);
  const entry = await configEntry(options, workspace, log);
  const bump = options.bump ?? 'auto';
  if (!bumpRequests.includes(bump)) {
    throw new ModelshipError(
      'INPUT_INVALID',
      `bump must be one of ${bumpRequests.join(', ')}; got '${String(bump)}'.`,
      "Leave it at 'auto' to decide from the model's signature, or force major, minor or patch.",
    );
  }
  const prerelease = options.prerelease === undefined ? undefined : validatePrereleaseId(options.prerelease);
  const firstVersion = options.firstVersion ?? entry?.versioning?.['first-version'] ?? '0.1.0';
  if (semver.valid(firstVersion) !== firstVersion || semver.prerelease(firstVersion)) {
    throw new ModelshipError(
      'INPUT_INVALID',
      `first-version must be a plain MAJOR.MINOR.PATCH version; got '${firstVersion}'.`,
      "Use '0.1.0' (still unstable) or '1.0.0'.",
    );
  }
  const model = options.model ?? (entry ? resolve(entry.dir, entry.path) : undefined);
  if (!model) {
    throw new ModelshipError(
      'INPUT_MISSING',
      'Which model? No model path is given and no configuration names one.',
      `Pass the model path, or a modelship.yml whose 'models: ${options.modelName}:' entry has a 'path'.`,
    );
  }
  const tagName = entry?.versioning?.['tag-prefix'] ?? options.modelName;
  validateModelName(tagName, 'Tag prefix');
  return { bump, prerelease, firstVersion, model, labels: options.labels ?? entry?.labels, tagName };
}

async function openStore(options: VersionOptions, workspace: string, log: Logger): Promise<VersionStore> {
  if (options.store) return options.store;
  if (options.github) {
    const { token, owner, repo, apiUrl } = options.github;
    const client = createGitHubClient({ token, baseUrl: apiUrl, log });
    const checkout = await LocalGitStore.open(workspace).catch(() => undefined);
    return new GitHubVersionStore(client, { owner, repo }, checkout);
  }
  return LocalGitStore.open(workspace);
}

/** Runs `work` over items, at most `limit` at a time, in order of the items. */
async function mapLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  });
  await Promise.all(workers);
  return results;
}

interface KnownVersion {
  stored: StoredVersion;
  facts?: ModelFacts;
  /** Where the facts came from, for the log. */
  source?: 'record' | 'model file';
}

/** What the store knows of one version: its record, else the model file at its commit. */
async function factsOf(
  store: VersionStore,
  stored: StoredVersion,
  modelFile: string,
  log: Logger,
): Promise<KnownVersion> {
  const record = await store.readRecord(stored);
  if (record) return { stored, facts: record, source: 'record' };
  const bytes = await store.readFileAt(stored, modelFile);
  if (!bytes) return { stored };
  try {
    return { stored, facts: modelFactsFromBytes(bytes), source: 'model file' };
  } catch (error) {
    log.debug(`${stored.tag}: the model file at its commit does not read: ${(error as Error).message}`);
    return { stored };
  }
}

interface Plan {
  versions: StoredVersion[];
  previous?: KnownVersion;
  existing?: KnownVersion;
}

/** Reads the model's versions: the previous one, and one that already holds this digest. */
async function readVersions(store: VersionStore, name: string, current: LocalModelFacts, log: Logger): Promise<Plan> {
  const versions = await store.listVersions(name);
  // GTO may register a version twice (`iris@v1.0.0`, `iris@v1.0.0#3`); the first tag listed stands for it.
  const order = [...new Set(sortVersionsDescending(versions.map((v) => v.version)))];
  const byVersion = new Map<string, StoredVersion>();
  for (const v of versions) if (!byVersion.has(v.version)) byVersion.set(v.version, v);
  const sorted = order.map((v) => byVersion.get(v)!);
  log.info(
    versions.length === 0
      ? `No versions of ${name} in ${store.where} yet.`
      : `${versions.length} version${versions.length === 1 ? '' : 's'} of ${name} in ${store.where}; highest ${sorted[0].version}.`,
  );
  const known = await mapLimited(sorted, 8, (stored) => factsOf(store, stored, current.file, log));
  const existing = known.find((k) => k.facts?.digest === current.digest);
  const unknown = known.filter((k) => !k.facts?.digest).map((k) => k.stored.tag);
  if (unknown.length > 0) {
    log.debug(`No digest known for ${unknown.join(', ')} (no modelship record, no model file at the commit).`);
  }
  return { versions: sorted, previous: known[0], existing };
}

function explain(request: BumpRequest, decided: Bump | undefined, reason: string | undefined): string {
  if (request === 'auto') return reason!;
  if (!decided) return `Bump ${request} requested.`;
  return `Bump ${request} requested (the bump rule says ${decided}: ${reason})`;
}

export async function version(options: VersionOptions, log: Logger): Promise<VersionResult> {
  // Where modelship.yml is looked for: the workspace, else the repository holding the model.
  const startDir = options.workspace
    ? resolve(options.workspace)
    : options.model
      ? await gitTopLevel(dirname(resolve(options.model))).catch(() => dirname(resolve(options.model!)))
      : process.cwd();
  const settings = await settle(options, startDir, log);
  const { bump: request, prerelease, firstVersion } = settings;
  // Tags carry the tag name; the model card and the logs speak of the model.
  const name = settings.tagName;
  const current = await readModelFacts(settings.model, settings.labels);
  log.info(`${current.file}: ${current.digest}`);

  let report: EvaluateReportSummary | undefined;
  if (options.report) {
    report = await readEvaluateReport(options.report);
    if (report.model?.digest && report.model.digest !== current.digest) {
      log.warn(
        `The evaluate report ${options.report} is for another model (${shortDigest(report.model.digest)}, this one is ${shortDigest(current.digest)}); its metrics go into the model card anyway.`,
        { file: options.report },
      );
    }
  }

  const workspace = resolve(options.workspace ?? dirname(current.file));
  const store = await openStore(options, workspace, log);
  const commit = options.commit ?? (await resolveCommit(workspace));
  if (store.kind === 'git' && (await differsFromCommit(workspace, commit, current.file))) {
    log.warn(
      `${current.file} is not committed as it is now; the tag will point at ${commit.slice(0, 12)}, which holds another file.`,
      { file: current.file },
    );
  }

  const base = {
    name: options.modelName,
    digest: current.digest,
    signature: current.signature,
    labels: current.labels,
    commit,
    mode: store.kind,
    where: store.where,
    dryRun: options.dryRun ?? false,
  };
  const releaseWanted = (options.release ?? store.kind === 'github') && !options.dryRun;
  if (options.release && !store.releases) {
    log.warn('Releases need the GitHub API; give a token and a repository to create one. Tagging only.');
  }

  for (let attempt = 1; ; attempt++) {
    const plan = await log.group(`Versions of ${name}`, () => readVersions(store, name, current, log));

    if (plan.existing) {
      const { stored } = plan.existing;
      log.info(`This model (${shortDigest(current.digest)}) is already ${stored.tag}; nothing to create.`);
      const result: VersionResult = {
        ...base,
        version: stored.version,
        tag: stored.tag,
        previousVersion: plan.versions.find((v) => semver.lt(v.version, stored.version))?.version,
        bump: 'none',
        bumpReason: `This model (${shortDigest(current.digest)}) is already released as ${stored.version}.`,
        created: false,
        tensors: [],
      };
      const release = store.releases && (await store.releases.findRelease(stored.tag));
      if (release) result.releaseUrl = release.url;
      else if (releaseWanted && store.releases) {
        log.warn(
          `${stored.tag} has no release. Create one by hand, or delete the tag and run again to have it created with the model card.`,
        );
      }
      return result;
    }

    const previous = plan.previous;
    let decision: ReturnType<typeof decideBump> | undefined;
    if (previous?.facts) {
      decision = decideBump(previous.facts, current);
      log.info(
        `Against ${previous.stored.version} (from its ${previous.source}): ${decision.bump}. ${decision.reason}`,
      );
    } else if (previous && request === 'auto') {
      throw new ModelshipError(
        'VERSION_PREVIOUS_UNKNOWN',
        `Cannot tell what changed since ${previous.stored.tag}: its tag and release carry no modelship record, and the model file is not readable at its commit.`,
        "Choose the bump yourself (bump: major, minor or patch); versions created from then on carry the record. In a workflow, 'fetch-depth: 0' on actions/checkout lets the model file at older commits be read.",
      );
    }
    const bump: Bump = request === 'auto' ? (decision?.bump ?? 'patch') : request;
    if (decision && request !== 'auto' && rankOf(request) < rankOf(decision.bump)) {
      log.warn(`Bump ${request} was requested, but the bump rule says ${decision.bump}: ${decision.reason}`);
    }
    const nextVersionText = nextVersion(previous?.stored.version, bump, {
      prerelease,
      firstVersion,
      existingVersions: plan.versions.map((v) => v.version),
    });
    const tag = formatRegisterTag(name, nextVersionText);
    const first = previous === undefined;
    const bumpReason = first ? `First version of ${name}.` : explain(request, decision?.bump, decision?.reason);
    const record: VersionRecord = {
      schema: RECORD_SCHEMA,
      name,
      version: nextVersionText,
      digest: current.digest,
      signature: current.signature,
      ...(current.labels ? { labels: current.labels } : {}),
      bump: first ? 'initial' : bump,
      commit,
    };
    const result: VersionResult = {
      ...base,
      version: nextVersionText,
      tag,
      previousVersion: previous?.stored.version,
      bump: first ? 'initial' : bump,
      bumpReason,
      created: false,
      tensors: decision?.tensors ?? [],
    };

    if (options.dryRun) {
      log.info(`Dry run: would create ${tag} at ${commit.slice(0, 12)}${releaseWanted ? ' and its release' : ''}.`);
      return result;
    }

    const created = await store.createTag({ tag, commit, message: tagMessage(record, bumpReason) });
    if (!created.created) {
      if (attempt < MAX_ATTEMPTS) {
        log.warn(`${tag} appeared in ${store.where} while this run was computing it; reading the versions again.`);
        continue;
      }
      throw new ModelshipError(
        'VERSION_RACE',
        `${tag} was created by someone else while this run computed it, twice in a row (each time after reading the tags afresh).`,
        'Another job is versioning the same model at the same time. Let one job version a model at a time (a workflow `concurrency:` group), then re-run this one.',
      );
    }
    result.created = true;
    log.info(`Created ${tag} at ${commit.slice(0, 12)} in ${store.where}.`);
    if (store.kind === 'git') log.info(`Push it with: git push origin ${tag}`);

    if (releaseWanted && store.releases) {
      const commitUrl = options.github
        ? `${(options.github.serverUrl ?? 'https://github.com').replace(/\/+$/, '')}/${options.github.owner}/${options.github.repo}/commit/${commit}`
        : undefined;
      const body = renderModelCard({
        name,
        version: nextVersionText,
        tag,
        digest: current.digest,
        signature: current.signature,
        labels: current.labels,
        previousVersion: previous?.stored.version,
        bump: first ? undefined : bump,
        reason: bumpReason,
        tensors: decision?.tensors,
        report,
        commit: { sha: commit, url: commitUrl },
        record,
      });
      const release: ReleaseInfo = await store.releases.createRelease({
        tag,
        name: `${name} ${nextVersionText}`,
        body,
        prerelease: semver.prerelease(nextVersionText) !== null,
      });
      result.releaseUrl = release.url;
      log.info(`Created release ${release.url}.`);
      if (options.attachModel) {
        if (current.externalData) {
          log.warn(
            `${current.file} keeps weights in external data files; only the .onnx file is attached to the release.`,
            { file: current.file },
          );
        }
        const asset = await store.releases.uploadAsset(release, {
          name: assetName(name, nextVersionText),
          data: current.bytes,
          contentType: 'application/octet-stream',
        });
        result.assetUrl = asset.url;
        log.info(`Attached ${asset.name} (${asset.size} bytes).`);
      }
    } else if (options.attachModel && !releaseWanted) {
      log.warn('attach-model needs a release; no release was created, so the model is not attached.');
    }
    return result;
  }
}

const rankOf = (bump: Bump): number => ({ patch: 0, minor: 1, major: 2 })[bump];
