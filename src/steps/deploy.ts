/**
 * The deploy step: ship a model version to an environment, prove it live, and roll back by itself when
 * anything fails, so that a failed deploy always leaves the previous version serving.
 *
 * Before anything changes: the digest is checked against `expected-digest`, the smoke inputs are run
 * offline, the server is probed. Then, under the environment's lease, with every move in the ledger:
 * - replace (modelship serve): pin the routing to what serves, write the version folder, load it beside
 *   the old one, smoke it by its versioned URL, switch the routing, smoke the model's URL;
 * - replace (Triton, no routing): version_policy to the new version only, load, wait ready, smoke;
 * - canary (modelship serve): as replace up to the versioned smoke, then route `canary-weight`% to the new
 *   version, read /metrics over `analysis-window`, and promote or abort by the figures.
 */
import { hostname, userInfo } from 'node:os';
import { ModelshipError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { digestModel, externalDataLocations } from '../onnx/digest.js';
import { resolveModelPath } from '../onnx/read.js';
import { openSession } from '../runtime/session.js';
import type { Signature } from '../runtime/tensor.js';
import { decideCanary, readVersionCounters, windowFigures, type CanaryVerdict } from '../deploy/canary.js';
import { DeployEnvironment, type Actor } from '../deploy/environment.js';
import { readEnvironmentSettings, withSettings } from '../deploy/environment-config.js';
import { crashPoint } from '../deploy/fault-injection.js';
import { GitHubDeploymentTracker, type GitHubDeployTarget } from '../deploy/github-deployment.js';
import { renderInferenceService, storageUriFor } from '../deploy/kserve.js';
import {
  highestNumericVersion,
  knownVersions,
  numericForSemver,
  versionLabel,
  type LedgerEntry,
  type ServedVersion,
} from '../deploy/ledger.js';
import { acquireLease } from '../deploy/lock.js';
import {
  DEFAULT_KEEP,
  applyRetention,
  listVersions,
  nextVersion,
  removeVersion,
  writeVersion,
} from '../deploy/model-repository.js';
import {
  DEFAULT_SMOKE_ROWS,
  describeSmokeFailures,
  offlineCases,
  readSmokeRows,
  runSmoke,
  syntheticRow,
  type SmokeCase,
  type SmokeResult,
} from '../deploy/smoke.js';
import { parseTarget, resolveStateDir, statePaths, validateEnvironment, type DeployTarget } from '../deploy/target.js';
import { validateModelName } from '../versioning/tags.js';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';

export type DeployStrategy = 'replace' | 'canary';

export interface DeployOptions {
  /** The .onnx file (or a folder holding model.onnx); default the model's path in modelship.yml. */
  model?: string;
  /** The model's name in the repository, the ledger and tags. */
  modelName: string;
  /** The semantic version (from the version step); the ledger maps it to the repository's version number. */
  version?: string;
  environment: string;
  /** file://<dir>, http(s)://host:port, or kserve://<namespace>/<name>; default from modelship.yml. */
  target?: string;
  /** modelship.yml; default ./modelship.yml when it exists. Inputs win over its environment settings. */
  config?: string;
  /** The kind of server (modelship.yml `server`): `triton` skips the routing probe, `kserve` renders a manifest. */
  serverKind?: 'modelship' | 'triton' | 'kserve';
  /** For a file:// target: the server that serves the repository, to load and verify through. */
  server?: string;
  /** The folder holding ledger and lease; default beside a file:// repository. Required for HTTP targets. */
  state?: string;
  /** `sha256:<hex>`; the deploy stops before changing anything when the model's digest differs. */
  expectedDigest?: string;
  strategy?: DeployStrategy;
  /** Percent of traffic for a canary. Default 10. */
  canaryWeight?: number;
  /** Seconds of traffic the canary is judged on. Default 60. */
  analysisWindowSeconds?: number;
  /** Highest acceptable canary error rate, 0..1. Default 0.01. */
  maxErrorRate?: number;
  /** Highest acceptable canary/stable mean latency ratio. Default 1.5. */
  maxLatencyRatio?: number;
  /** Fewest canary requests in the window to judge it at all. Default 10. */
  minCanaryRequests?: number;
  /** JSONL rows `{"id", "inputs": {...}}` for the smoke run; one synthetic input when absent. */
  smokeFixtures?: string;
  /** Rows read from `smokeFixtures`. Default 16. */
  smokeRows?: number;
  /** Versions kept on disk (the serving and previous ones always are). Default 3. */
  keep?: number;
  /** Create the stage tag `<name>#<environment>#<N>`. */
  tagStage?: boolean;
  /** KServe: storage URI template of the Triton repository ({model}, {version}, {numericVersion}). */
  storageUri?: string;
  /** KServe: where to write the manifest. Default `<cwd>/<name>-inferenceservice.yaml`. */
  manifest?: string;
  /** Bearer token for the server's admin routes (MODELSHIP_ADMIN_TOKEN). */
  adminToken?: string;
  /** The URL shown on the GitHub deployment; default the model's inference URL. */
  environmentUrl?: string;
  /** Who runs it; default user@host. */
  who?: Actor;
  /** GitHub deployment and stage tag through the API; skipped when absent. */
  github?: GitHubDeployTarget;
  /** A git checkout for a local stage tag (CLI). */
  workspace?: string;
  /** Folder relative paths resolve against. Default process.cwd(). */
  cwd?: string;
  leaseTtlMs?: number;
  leaseWaitMs?: number;
  readyTimeoutMs?: number;
}

export type DeployStatus = 'deployed' | 'unchanged' | 'rolled-back' | 'failed' | 'rendered';

export interface DeployedVersion {
  semver: string | null;
  numericVersion: number;
  digest: string;
}

export interface DeployResult {
  status: DeployStatus;
  /** True when the step must fail the job (a rollback happened or the environment could not be restored). */
  failed: boolean;
  model: string;
  environment: string;
  target: string;
  strategy: DeployStrategy;
  /** What this run deployed (or tried to). */
  deployed: DeployedVersion;
  /** What served before this run. */
  previous?: DeployedVersion;
  /** What serves after this run. */
  serving?: DeployedVersion;
  url?: string;
  deploymentId?: number;
  rolledBack: boolean;
  /** What failed, in words, when the deploy did not go through. */
  failure?: { code: string; message: string };
  smoke: SmokeResult[];
  canary?: CanaryVerdict;
  stageTag?: string;
  removedVersions: number[];
  /** KServe: the manifest text and where it was written. */
  manifest?: { path: string; text: string };
  /** Milliseconds per phase. */
  timings: Record<string, number>;
  /** The environment's last ledger entries, newest last. */
  recent: LedgerEntry[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function defaultActor(): Actor {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (a container): keep 'unknown'
  }
  return { actor: `${user}@${hostname()}`, runUrl: null };
}

/** Model names become folder names in a Triton repository: the tag grammar without '/'. */
export function validateDeployModelName(name: string): string {
  validateModelName(name);
  if (name.includes('/')) {
    throw new ModelshipError(
      'MODEL_NAME_INVALID',
      `Model name '${name}' contains '/', which a Triton model repository cannot hold.`,
      "Deploy it under a name without '/', e.g. 'team-iris'.",
    );
  }
  return name;
}

function checkNumber(name: string, value: number, min: number, max: number): number {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new ModelshipError('INPUT_INVALID', `${name} must be between ${min} and ${max}, got ${value}.`);
  }
  return value;
}

export const versionName = (v: { semver: string | null; numericVersion: number }) =>
  v.semver ?? String(v.numericVersion);

const asDeployed = (v: ServedVersion | DeployedVersion): DeployedVersion => ({
  semver: v.semver,
  numericVersion: v.numericVersion,
  digest: v.digest,
});

/** Offline answers for the smoke rows, computed before anything changes. */
export async function prepareSmoke(
  modelFile: string,
  fixtures: string | undefined,
  rows: number,
  log: Logger,
): Promise<{ cases: SmokeCase[]; signature: Signature }> {
  const session = await openSession(modelFile, { log });
  try {
    const inputs = fixtures
      ? await readSmokeRows(fixtures, session.signature, rows)
      : [syntheticRow(session.signature)];
    const cases = await offlineCases(session, inputs);
    log.info(
      `Smoke: ${cases.length} row(s) ${fixtures ? `from ${fixtures}` : '(one synthetic input)'}, offline answers from onnxruntime-node.`,
    );
    return { cases, signature: session.signature };
  } finally {
    await session.release();
  }
}

export async function deploy(input: DeployOptions, log: Logger): Promise<DeployResult> {
  const started = performance.now();
  const timings: Record<string, number> = {};
  const cwd = input.cwd ?? process.cwd();
  const model = validateDeployModelName(input.modelName);
  const environment = validateEnvironment(input.environment);
  const options = withSettings(input, await readEnvironmentSettings(input.config, model, environment, cwd));
  if (!options.model) {
    throw new ModelshipError(
      'INPUT_MISSING',
      'No model to deploy: give the model file.',
      `Set 'model', or give the model a path in modelship.yml (models.${model}.path).`,
    );
  }
  if (!options.target) {
    throw new ModelshipError(
      'TARGET_MISSING',
      `No target for '${environment}'.`,
      `Set 'target' (file://<repository>, http(s)://<server>, kserve://<namespace>/<name>), or models.${model}.environments.${environment}.target in modelship.yml.`,
    );
  }
  const strategy = options.strategy ?? 'replace';
  if (strategy !== 'replace' && strategy !== 'canary') {
    throw new ModelshipError('INPUT_INVALID', `strategy must be replace or canary, got '${String(strategy)}'.`);
  }
  const canaryWeight = checkNumber('canary-weight', options.canaryWeight ?? 10, 1, 99);
  const windowSeconds = checkNumber('analysis-window', options.analysisWindowSeconds ?? 60, 0.1, 24 * 3600);
  const maxErrorRate = checkNumber('max-error-rate', options.maxErrorRate ?? 0.01, 0, 1);
  const maxLatencyRatio = checkNumber('max-latency-ratio', options.maxLatencyRatio ?? 1.5, 1, 1000);
  const keep = checkNumber('keep', options.keep ?? DEFAULT_KEEP, 1, 1000);
  const target =
    options.serverKind === 'kserve' && !options.target.startsWith('kserve://')
      ? parseTarget(`kserve://${model}`, cwd)
      : parseTarget(options.target, cwd);

  const modelFile = await resolveModelPath(resolve(cwd, options.model));
  const digest = await log.group('Digest', async () => {
    const value = await digestModel(modelFile);
    log.info(`${modelFile}: ${value}`);
    return value;
  });
  if (options.expectedDigest && options.expectedDigest !== digest) {
    throw new ModelshipError(
      'DIGEST_MISMATCH',
      `The model's digest is ${digest}, expected ${options.expectedDigest}. Nothing was changed.`,
      'Deploy the file the version step versioned (pass its digest output), or update expected-digest.',
      { file: modelFile },
    );
  }
  const semver = options.version ?? null;

  if (target.kind === 'kserve') {
    return renderKServe(
      options,
      target,
      { model, environment, strategy, canaryWeight, digest, semver, cwd, timings, started },
      log,
    );
  }

  const stateDir = resolveStateDir(target, options.state, cwd);
  const env = new DeployEnvironment({
    model,
    environment,
    target,
    paths: statePaths(stateDir, model, environment),
    server: options.server,
    adminToken: options.adminToken,
    readyTimeoutMs: options.readyTimeoutMs,
    serverKind: options.serverKind,
    who: options.who ?? defaultActor(),
    log,
  });
  if (target.kind === 'file' && !options.server) {
    log.warn('No server given: the version is written to the repository but cannot be verified live (no smoke run).');
  }
  await env.probeServer();
  if (strategy === 'canary' && env.client && !env.routing) {
    throw new ModelshipError(
      'CANARY_UNSUPPORTED',
      `The server at ${env.client.baseUrl} has no routing extension, so it cannot split traffic for a canary. Nothing was changed.`,
      'Use strategy: replace with Triton, a KServe target for canaries on Kubernetes, or modelship serve.',
    );
  }
  const smoke = env.client
    ? await log.group('Smoke inputs', () =>
        prepareSmoke(
          modelFile,
          options.smokeFixtures && resolve(cwd, options.smokeFixtures),
          options.smokeRows ?? DEFAULT_SMOKE_ROWS,
          log,
        ),
      )
    : undefined;
  const externalData = await externalDataLocations(modelFile);

  const github = new GitHubDeploymentTracker(options.github, log);
  const leaseStarted = performance.now();
  env.lease = await acquireLease(env.paths.lease, {
    owner: `${env.who.actor}${env.who.runUrl ? ` (${env.who.runUrl})` : ''}`,
    ttlMs: options.leaseTtlMs,
    waitMs: options.leaseWaitMs,
    logger: log,
  });
  timings.lease = performance.now() - leaseStarted;
  crashPoint('after-lease');
  try {
    await env.readLedger();
    await env.recoverInterrupted();
    const servingEntry = env.serving() ?? (await env.adoptUnrecorded());
    const previous = servingEntry ? asDeployed(servingEntry) : undefined;
    const base = {
      model,
      environment,
      target: target.text,
      strategy,
      url: env.modelUrl,
      smoke: [] as SmokeResult[],
      removedVersions: [] as number[],
      timings,
    };

    if (previous && previous.digest === digest) {
      log.info(`${versionLabel(previous)} with digest ${digest} already serves '${environment}': nothing to do.`);
      timings.total = performance.now() - started;
      return {
        ...base,
        status: 'unchanged',
        failed: false,
        deployed: previous,
        previous: env.servedBefore() ? asDeployed(env.servedBefore()!) : undefined,
        serving: previous,
        rolledBack: false,
        recent: env.entries.slice(-10),
      };
    }

    // The semver names one digest for good; an existing folder with this digest is reused (a re-deploy).
    const known = knownVersions(env.entries);
    if (semver) {
      const mapped = numericForSemver(env.entries, semver);
      if (mapped !== undefined && known.get(mapped)?.digest !== digest) {
        throw new ModelshipError(
          'SEMVER_CONFLICT',
          `Version ${semver} was deployed to '${environment}' as #${mapped} with digest ${known.get(mapped)?.digest}, but this model's digest is ${digest}. Nothing was changed.`,
          'A version names one model for good: version the new model first (the version step gives it a new version).',
        );
      }
    }
    const onDisk = await listVersions(env.repo);
    let numericVersion: number | undefined;
    for (const [number, info] of known) {
      if (info.digest === digest && onDisk.includes(number) && (await env.digestOnDisk(number)) === digest) {
        numericVersion = number;
      }
    }
    const reuse = numericVersion !== undefined;
    numericVersion ??= nextVersion(onDisk, highestNumericVersion(env.entries));
    const deployed: DeployedVersion = {
      semver: semver ?? known.get(numericVersion)?.semver ?? null,
      numericVersion,
      digest,
    };
    const useCanary = strategy === 'canary' && previous !== undefined;
    if (strategy === 'canary' && !previous)
      log.info('Nothing serves yet, so there is no stable version to compare a canary with: deploying by replace.');

    await github.start(
      environment,
      { model, version: versionName(deployed), digest, numericVersion, action: 'deploy' },
      `Deploying ${model} ${versionName(deployed)} (${strategy})`,
      options.environmentUrl ?? env.modelUrl,
    );

    await env.record('deploy', 'started', deployed, null, {
      strategy: useCanary ? 'canary' : 'replace',
      previous: previous?.numericVersion ?? null,
      target: target.text,
    });
    crashPoint('after-ledger-started');

    const smokeResults: SmokeResult[] = [];
    let verdict: CanaryVerdict | undefined;
    let changed = false;
    try {
      if (previous) await env.pin(previous.numericVersion);
      if (!reuse) {
        const writeStarted = performance.now();
        await log.group(`Write version ${numericVersion}`, async () => {
          changed = true;
          await writeVersion(env.repo, numericVersion, modelFile, externalData);
          const written = await env.digestOnDisk(numericVersion);
          if (written !== digest) {
            throw new ModelshipError(
              'COPY_MISMATCH',
              `The copy in ${env.repo.root}/${model}/${numericVersion} has digest ${written}, the model ${digest}.`,
              'The disk or the source changed during the copy; deploy again.',
            );
          }
          log.info(`${env.repo.root}/${model}/${numericVersion}/model.onnx written and verified.`);
        });
        timings.write = performance.now() - writeStarted;
      }
      crashPoint('after-version-written');
      changed = true;

      const loadStarted = performance.now();
      await log.group(`Load version ${numericVersion}`, async () => {
        await env.publish(env.policyFor(numericVersion, previous?.numericVersion));
        timings.readyWait = await env.waitReady(numericVersion);
        if (env.client) log.info(`Version ${numericVersion} is ready.`);
      });
      timings.load = performance.now() - loadStarted;
      crashPoint('after-load');

      if (env.client && smoke) {
        const versioned = await runSmoke(env.client, model, smoke.cases, {
          version: numericVersion,
          expectVersion: numericVersion,
        });
        smokeResults.push(versioned);
        log.info(
          `Smoke by ${versioned.url}: ${versioned.passed ? 'passed' : 'FAILED'} (${versioned.rows} row(s), max |diff| ${versioned.maxAbsError.toExponential(2)}).`,
        );
        if (!versioned.passed) throw new ModelshipError('SMOKE_FAILED', describeSmokeFailures(versioned));
      }

      if (useCanary && previous && env.client) {
        verdict = await runCanary(env, previous.numericVersion, numericVersion, {
          weight: canaryWeight,
          windowSeconds,
          thresholds: { maxErrorRate, maxLatencyRatio, minRequests: options.minCanaryRequests ?? 10 },
        });
        if (verdict.decision === 'abort') {
          throw new ModelshipError('CANARY_ABORTED', `Canary aborted: ${verdict.reasons.join('; ')}.`);
        }
      }

      const switchStarted = performance.now();
      await env.route(numericVersion);
      timings.switch = performance.now() - switchStarted;
      crashPoint('after-switch');
      if (env.client && smoke) {
        const live = await runSmoke(env.client, model, smoke.cases, { expectVersion: numericVersion });
        smokeResults.push(live);
        log.info(`Smoke by ${live.url}: ${live.passed ? 'passed' : 'FAILED'}.`);
        if (!live.passed) throw new ModelshipError('SMOKE_FAILED', describeSmokeFailures(live));
      }
      crashPoint('before-ledger-outcome');
      await env.record(
        useCanary ? 'promote' : 'deploy',
        'succeeded',
        deployed,
        verdict ? `canary promoted: ${canarySummary(verdict)}` : null,
        verdict ? { canary: verdict } : undefined,
      );
    } catch (error) {
      const failure = failureOf(error);
      // The action reports the failure once (setFailed); here it is part of the story the log tells.
      log.info(`Deploy of ${versionLabel(deployed)} failed: ${failure.message}`);
      let restoreError: unknown;
      if (changed || env.client) {
        restoreError = await log.group(
          `Roll back to ${previous ? versionLabel(previous) : 'nothing (first deploy)'}`,
          () =>
            restore(env, previous, numericVersion, reuse).then(
              () => undefined,
              (e: unknown) => e,
            ),
        );
      }
      if (restoreError === undefined) {
        await env.record(
          useCanary ? 'abort' : 'deploy',
          'rolled-back',
          deployed,
          failure.message,
          verdict ? { canary: verdict } : undefined,
        );
        log.info(previous ? `${versionLabel(previous)} serves again.` : 'Nothing serves, as before.');
      } else {
        await env.record(
          'deploy',
          'failed',
          deployed,
          `${failure.message}; restoring the previous version failed too: ${describeError(restoreError)}`,
        );
        log.info(
          `Restoring the previous version failed: ${describeError(restoreError)}. Check the environment by hand.`,
        );
      }
      await github.status('failure', `${failure.code}: ${failure.message}`, options.environmentUrl ?? env.modelUrl);
      timings.total = performance.now() - started;
      return {
        ...base,
        status: restoreError === undefined ? 'rolled-back' : 'failed',
        failed: true,
        deployed,
        previous,
        serving: restoreError === undefined ? previous : undefined,
        deploymentId: github.deploymentId,
        rolledBack: restoreError === undefined,
        failure:
          restoreError === undefined
            ? failure
            : {
                code: 'ROLLBACK_FAILED',
                message: `${failure.message}; restoring failed: ${describeError(restoreError)}`,
              },
        smoke: smokeResults,
        canary: verdict,
        recent: env.entries.slice(-10),
      };
    }

    // The new version serves and the ledger says so: what follows must not turn success into failure.
    let removedVersions: number[] = [];
    try {
      removedVersions = await applyRetention(
        env.repo,
        keep,
        [numericVersion, previous?.numericVersion].filter((v): v is number => v !== undefined),
      );
      if (removedVersions.length > 0)
        log.info(`Retention (keep ${keep}): removed version(s) ${removedVersions.join(', ')}.`);
    } catch (error) {
      log.warn(`Retention could not remove old versions: ${describeError(error)}`);
    }
    await github.status(
      'success',
      `${model} ${versionName(deployed)} serves ${environment}`,
      options.environmentUrl ?? env.modelUrl,
    );
    const stageTag = options.tagStage
      ? await github.stageTag(
          {
            name: model,
            stage: environment,
            semver: deployed.semver,
            message: `Deploy ${model} ${versionName(deployed)} to ${environment}\n\nnumeric version: ${numericVersion}\ndigest: ${digest}\n${env.who.runUrl ? `run: ${env.who.runUrl}\n` : ''}`,
          },
          options.workspace ? { workspace: resolve(cwd, options.workspace), sha: 'HEAD' } : undefined,
        )
      : undefined;
    timings.total = performance.now() - started;
    log.info(
      `${model} ${versionLabel(deployed)} serves '${environment}'${previous ? ` (was ${versionLabel(previous)})` : ''}.`,
    );
    return {
      ...base,
      status: 'deployed',
      failed: false,
      deployed,
      previous,
      serving: deployed,
      deploymentId: github.deploymentId,
      rolledBack: false,
      smoke: smokeResults,
      canary: verdict,
      stageTag,
      removedVersions,
      recent: env.entries.slice(-10),
    };
  } finally {
    await env.lease.release();
  }
}

function failureOf(error: unknown): { code: string; message: string } {
  if (error instanceof ModelshipError) return { code: error.code, message: describeError(error) };
  return { code: 'DEPLOY_FAILED', message: describeError(error) };
}

/** Puts back what served before: routing, policy, readiness; removes the new version if it never served. */
async function restore(
  env: DeployEnvironment,
  previous: DeployedVersion | undefined,
  attempted: number,
  reused: boolean,
): Promise<void> {
  if (previous) {
    await env.route(previous.numericVersion).catch(() => undefined);
    await env.publish(env.policyFor(previous.numericVersion, env.servedBefore()?.numericVersion));
    await env.waitReady(previous.numericVersion);
    await env.route(previous.numericVersion);
  }
  const everServed = env.entries.some((e) => e.outcome === 'succeeded' && e.numericVersion === attempted);
  if (!reused && !everServed) await removeVersion(env.repo, attempted);
  if (!previous) await env.removeModelIfEmpty();
}

function canarySummary(verdict: CanaryVerdict): string {
  const f = (v: CanaryVerdict['canary']) =>
    `v${v.version} ${v.requests} req, ${(v.errorRate * 100).toFixed(2)}% errors, mean ${v.meanLatencyMs?.toFixed(3) ?? '–'} ms`;
  return `${f(verdict.canary)} vs ${f(verdict.stable)}${verdict.latencyRatio !== null ? `, latency ×${verdict.latencyRatio.toFixed(2)}` : ''}`;
}

async function runCanary(
  env: DeployEnvironment,
  stable: number,
  canary: number,
  options: {
    weight: number;
    windowSeconds: number;
    thresholds: { maxErrorRate: number; maxLatencyRatio: number; minRequests: number };
  },
): Promise<CanaryVerdict> {
  const client = env.client!;
  return env.log.group(`Canary: ${options.weight}% to version ${canary} for ${options.windowSeconds} s`, async () => {
    await env.route(stable, { version: canary, weight: options.weight });
    const before = await client.metrics();
    const windowMs = options.windowSeconds * 1000;
    const tick = Math.max(250, Math.min(10_000, windowMs / 5));
    const start = Date.now();
    while (Date.now() - start < windowMs) {
      await sleep(Math.min(tick, windowMs - (Date.now() - start)));
      await env.lease?.assertHeld();
      const now = await client.metrics();
      const so = windowFigures(
        String(canary),
        readVersionCounters(before, env.model, String(canary)),
        readVersionCounters(now, env.model, String(canary)),
      );
      env.log.info(
        `${Math.round((Date.now() - start) / 1000)} s: canary ${so.requests} request(s), ${so.failures} failed.`,
      );
    }
    const after = await client.metrics();
    const stableFigures = windowFigures(
      String(stable),
      readVersionCounters(before, env.model, String(stable)),
      readVersionCounters(after, env.model, String(stable)),
    );
    const canaryFigures = windowFigures(
      String(canary),
      readVersionCounters(before, env.model, String(canary)),
      readVersionCounters(after, env.model, String(canary)),
    );
    const verdict = decideCanary(stableFigures, canaryFigures, options.thresholds, options.windowSeconds);
    env.log.info(
      `Canary ${verdict.decision}: ${canarySummary(verdict)}${verdict.reasons.length ? ` — ${verdict.reasons.join('; ')}` : ''}.`,
    );
    return verdict;
  });
}

async function renderKServe(
  options: DeployOptions,
  target: Extract<DeployTarget, { kind: 'kserve' }>,
  facts: {
    model: string;
    environment: string;
    strategy: DeployStrategy;
    canaryWeight: number;
    digest: string;
    semver: string | null;
    cwd: string;
    timings: Record<string, number>;
    started: number;
  },
  log: Logger,
): Promise<DeployResult> {
  if (!options.storageUri) {
    throw new ModelshipError(
      'KSERVE_STORAGE_URI',
      'A KServe target needs storage-uri: where the cluster reads the Triton repository of this version.',
      "Set storage-uri, e.g. 's3://models/{model}/{version}' (each version in its own location, so a canary is a new revision).",
    );
  }
  const version = facts.semver ?? facts.digest.slice('sha256:'.length, 'sha256:'.length + 12);
  const text = renderInferenceService({
    name: target.name,
    namespace: target.namespace,
    storageUri: storageUriFor(options.storageUri, { model: facts.model, version, numericVersion: 0 }),
    canaryTrafficPercent: facts.strategy === 'canary' ? facts.canaryWeight : undefined,
    version,
    digest: facts.digest,
  });
  const path = resolve(facts.cwd, options.manifest ?? `${target.name}-inferenceservice.yaml`);
  await writeFile(path, text);
  log.info(`InferenceService manifest written to ${path}; apply it with 'kubectl apply -f ${path}'.`);
  facts.timings.total = performance.now() - facts.started;
  return {
    status: 'rendered',
    failed: false,
    model: facts.model,
    environment: facts.environment,
    target: target.text,
    strategy: facts.strategy,
    deployed: { semver: facts.semver, numericVersion: 0, digest: facts.digest },
    rolledBack: false,
    smoke: [],
    removedVersions: [],
    manifest: { path, text },
    timings: facts.timings,
    recent: [],
  };
}
