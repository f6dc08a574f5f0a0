/**
 * The rollback step (made for workflow_dispatch): return an environment to an earlier version that is
 * still on disk, verified as a deploy is. The version comes from the ledger (`previous`, a semver, or a
 * repository version number `#N`), its files' digest is checked against the ledger, then: load beside the
 * current one, smoke it by its versioned URL, switch the routing, smoke the model's URL, record it.
 * A failure puts the current version back.
 */
import { resolve } from 'node:path';
import { ModelshipError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { DeployEnvironment, type Actor } from '../deploy/environment.js';
import { readEnvironmentSettings, withSettings } from '../deploy/environment-config.js';
import { crashPoint } from '../deploy/fault-injection.js';
import { GitHubDeploymentTracker, type GitHubDeployTarget } from '../deploy/github-deployment.js';
import {
  current,
  knownVersions,
  numericForSemver,
  previous as previousVersion,
  readLedger,
  unfinished,
  versionLabel,
  type LedgerEntry,
} from '../deploy/ledger.js';
import { acquireLease } from '../deploy/lock.js';
import { listVersions, versionModelFile } from '../deploy/model-repository.js';
import { DEFAULT_SMOKE_ROWS, describeSmokeFailures, runSmoke, type SmokeResult } from '../deploy/smoke.js';
import { parseTarget, resolveStateDir, statePaths, validateEnvironment } from '../deploy/target.js';
import { defaultActor, prepareSmoke, validateDeployModelName, versionName, type DeployedVersion } from './deploy.js';

export interface RollbackOptions {
  modelName: string;
  environment: string;
  /** Default from modelship.yml. */
  target?: string;
  config?: string;
  serverKind?: 'modelship' | 'triton' | 'kserve';
  /** `previous` (default), a semver, or `#N` / `N` for a repository version number. */
  to?: string;
  /** Why: recorded in the ledger and on the GitHub deployment. Required. */
  reason: string;
  /** Print the plan, change nothing. */
  dryRun?: boolean;
  /** For a file:// target: the server to load and verify through. */
  server?: string;
  state?: string;
  smokeFixtures?: string;
  smokeRows?: number;
  adminToken?: string;
  environmentUrl?: string;
  who?: Actor;
  github?: GitHubDeployTarget;
  cwd?: string;
  leaseTtlMs?: number;
  leaseWaitMs?: number;
  readyTimeoutMs?: number;
}

export interface RollbackPlan {
  from: DeployedVersion;
  to: DeployedVersion;
  steps: string[];
}

export interface RollbackResult {
  status: 'rolled-back' | 'unchanged' | 'planned' | 'failed';
  failed: boolean;
  model: string;
  environment: string;
  target: string;
  plan: RollbackPlan;
  url?: string;
  deploymentId?: number;
  reason: string;
  failure?: { code: string; message: string };
  smoke: SmokeResult[];
  timings: Record<string, number>;
  /** The environment's ledger, newest last (for the summary's list of deployments). */
  ledger: LedgerEntry[];
}

/** Finds the version `to` names in the ledger. */
export function resolveRollbackTarget(entries: readonly LedgerEntry[], to: string): DeployedVersion {
  const known = knownVersions(entries);
  const now = current(entries);
  if (!now) {
    throw new ModelshipError(
      'NOTHING_TO_ROLL_BACK',
      'The ledger records no successful deploy in this environment, so there is nothing to roll back.',
      'Check model-name, environment and target (and state, when it was set for the deploys).',
    );
  }
  let numeric: number | undefined;
  const wanted = to.trim();
  if (wanted === '' || wanted === 'previous') {
    const before = previousVersion(entries);
    if (!before) {
      throw new ModelshipError(
        'NOTHING_TO_ROLL_BACK',
        `Only ${versionLabel(now)} has ever served this environment: there is no previous version.`,
        'Deploy another version instead.',
      );
    }
    numeric = before.numericVersion;
  } else if (/^#?[1-9][0-9]*$/.test(wanted) && (wanted.startsWith('#') || !numericForSemver(entries, wanted))) {
    numeric = Number(wanted.replace('#', ''));
  } else {
    numeric = numericForSemver(entries, wanted.replace(/^v(?=\d)/, ''));
  }
  const info = numeric === undefined ? undefined : known.get(numeric);
  if (numeric === undefined || !info) {
    const versions = [...known].map(([n, v]) => (v.semver ? `${v.semver} (#${n})` : `#${n}`)).join(', ');
    throw new ModelshipError(
      'VERSION_UNKNOWN',
      `The ledger of this environment has no version '${to}'.`,
      `Known versions: ${versions || 'none'}. Use 'previous', a semver, or #<number>.`,
    );
  }
  return { semver: info.semver, numericVersion: numeric, digest: info.digest };
}

export async function rollback(input: RollbackOptions, log: Logger): Promise<RollbackResult> {
  const started = performance.now();
  const timings: Record<string, number> = {};
  const cwd = input.cwd ?? process.cwd();
  const model = validateDeployModelName(input.modelName);
  const environment = validateEnvironment(input.environment);
  const { model: _configModel, ...settings } = await readEnvironmentSettings(input.config, model, environment, cwd);
  const options = withSettings(input, settings);
  const reason = options.reason?.trim();
  if (!reason) {
    throw new ModelshipError(
      'REASON_REQUIRED',
      'A rollback needs a reason.',
      'Say why (it is recorded in the ledger and on the GitHub deployment), e.g. "error rate up since 1.4.0".',
    );
  }
  if (!options.target) {
    throw new ModelshipError(
      'TARGET_MISSING',
      `No target for '${environment}'.`,
      `Set 'target', or models.${model}.environments.${environment}.target in modelship.yml.`,
    );
  }
  const target = parseTarget(options.serverKind === 'kserve' ? `kserve://${model}` : options.target, cwd);
  if (target.kind === 'kserve') {
    throw new ModelshipError(
      'ROLLBACK_UNSUPPORTED',
      'modelship does not drive a KServe cluster, so it cannot roll one back.',
      'Set canaryTrafficPercent: 0 on the InferenceService (during a canary), or apply the manifest of the earlier version.',
    );
  }
  const env = new DeployEnvironment({
    model,
    environment,
    target,
    paths: statePaths(resolveStateDir(target, options.state, cwd), model, environment),
    server: options.server,
    adminToken: options.adminToken,
    readyTimeoutMs: options.readyTimeoutMs,
    serverKind: options.serverKind,
    who: options.who ?? defaultActor(),
    log,
  });

  if (options.dryRun) {
    const entries = (await readLedger(env.paths.ledger)).entries;
    const plan = await planFor(env, entries, options.to ?? 'previous');
    const open = unfinished(entries);
    if (open)
      plan.steps.unshift(
        `first restore what the ledger says serves: the last ${open.action} (${versionLabel(open)}) never finished`,
      );
    log.info(`Plan (dry run, nothing changes): ${versionLabel(plan.from)} → ${versionLabel(plan.to)}`);
    for (const step of plan.steps) log.info(`  - ${step}`);
    timings.total = performance.now() - started;
    return {
      status: 'planned',
      failed: false,
      model,
      environment,
      target: target.text,
      plan,
      url: env.modelUrl,
      reason,
      smoke: [],
      timings,
      ledger: entries,
    };
  }

  await env.probeServer();
  const github = new GitHubDeploymentTracker(options.github, log);
  env.lease = await acquireLease(env.paths.lease, {
    owner: `${env.who.actor}${env.who.runUrl ? ` (${env.who.runUrl})` : ''}`,
    ttlMs: options.leaseTtlMs,
    waitMs: options.leaseWaitMs,
    logger: log,
  });
  try {
    await env.readLedger();
    await env.recoverInterrupted();
    const plan = await planFor(env, env.entries, options.to ?? 'previous');
    const { from, to } = plan;
    const base = { model, environment, target: target.text, plan, url: env.modelUrl, reason, timings };
    if (from.numericVersion === to.numericVersion) {
      log.info(`${versionLabel(to)} already serves '${environment}': nothing to do.`);
      timings.total = performance.now() - started;
      return { ...base, status: 'unchanged', failed: false, smoke: [], ledger: env.entries };
    }
    const file = versionModelFile(env.repo, to.numericVersion);
    const smoke = env.client
      ? await prepareSmoke(
          file,
          options.smokeFixtures && resolve(cwd, options.smokeFixtures),
          options.smokeRows ?? DEFAULT_SMOKE_ROWS,
          log,
        )
      : undefined;

    await github.start(
      environment,
      { model, version: versionName(to), digest: to.digest, numericVersion: to.numericVersion, action: 'rollback' },
      `Rolling ${model} back to ${versionName(to)}: ${reason}`,
      options.environmentUrl ?? env.modelUrl,
    );
    await env.record('rollback', 'started', to, reason, { from: from.numericVersion });
    crashPoint('after-ledger-started');
    const smokeResults: SmokeResult[] = [];
    try {
      const loadStarted = performance.now();
      await env.pin(from.numericVersion);
      await env.publish(env.policyFor(to.numericVersion, from.numericVersion));
      timings.readyWait = await env.waitReady(to.numericVersion);
      timings.load = performance.now() - loadStarted;
      crashPoint('after-load');
      if (env.client && smoke) {
        const versioned = await runSmoke(env.client, model, smoke.cases, {
          version: to.numericVersion,
          expectVersion: to.numericVersion,
        });
        smokeResults.push(versioned);
        if (!versioned.passed) throw new ModelshipError('SMOKE_FAILED', describeSmokeFailures(versioned));
      }
      const switchStarted = performance.now();
      await env.route(to.numericVersion);
      timings.switch = performance.now() - switchStarted;
      crashPoint('after-switch');
      if (env.client && smoke) {
        const live = await runSmoke(env.client, model, smoke.cases, { expectVersion: to.numericVersion });
        smokeResults.push(live);
        if (!live.passed) throw new ModelshipError('SMOKE_FAILED', describeSmokeFailures(live));
      }
      timings.smoke = smokeResults.reduce((sum, r) => sum + r.ms, 0);
      crashPoint('before-ledger-outcome');
      await env.record('rollback', 'succeeded', to, reason, { from: from.numericVersion });
    } catch (error) {
      const failure =
        error instanceof ModelshipError
          ? { code: error.code, message: describeError(error) }
          : { code: 'ROLLBACK_FAILED', message: describeError(error) };
      log.info(`Rollback to ${versionLabel(to)} failed: ${failure.message}`);
      let restored = true;
      try {
        await env.route(from.numericVersion).catch(() => undefined);
        await env.publish(env.policyFor(from.numericVersion, to.numericVersion));
        await env.waitReady(from.numericVersion);
        await env.route(from.numericVersion);
      } catch (restoreError) {
        restored = false;
        failure.message += `; putting ${versionLabel(from)} back failed too: ${describeError(restoreError)}`;
      }
      await env.record('rollback', 'failed', to, `${reason} — ${failure.message}`, {
        from: from.numericVersion,
        restored,
      });
      await github.status('failure', `${failure.code}: ${failure.message}`, options.environmentUrl ?? env.modelUrl);
      timings.total = performance.now() - started;
      return {
        ...base,
        status: 'failed',
        failed: true,
        deploymentId: github.deploymentId,
        failure,
        smoke: smokeResults,
        ledger: env.entries,
      };
    }
    await github.status(
      'success',
      `${model} ${versionName(to)} serves ${environment} (rollback)`,
      options.environmentUrl ?? env.modelUrl,
    );
    timings.total = performance.now() - started;
    log.info(`${model} ${versionLabel(to)} serves '${environment}' again (was ${versionLabel(from)}).`);
    return {
      ...base,
      status: 'rolled-back',
      failed: false,
      deploymentId: github.deploymentId,
      smoke: smokeResults,
      ledger: env.entries,
    };
  } finally {
    await env.lease.release();
  }
}

/** What a rollback would do, after checking the version's files are on disk with the ledger's digest. */
async function planFor(env: DeployEnvironment, entries: readonly LedgerEntry[], to: string): Promise<RollbackPlan> {
  const now = current(entries);
  const target = resolveRollbackTarget(entries, to);
  const from = { semver: now!.semver, numericVersion: now!.numericVersion, digest: now!.digest };
  if (target.numericVersion !== from.numericVersion) {
    const onDisk = await listVersions(env.repo);
    if (!onDisk.includes(target.numericVersion)) {
      throw new ModelshipError(
        'VERSION_NOT_ON_DISK',
        `${versionLabel(target)} is no longer in ${env.repo.root}/${env.model} (on disk: ${onDisk.join(', ') || 'none'}); retention removed it.`,
        'Deploy that model file again with the deploy step (the ledger keeps its digest), or raise keep.',
      );
    }
    const digest = await env.digestOnDisk(target.numericVersion);
    if (digest !== target.digest) {
      throw new ModelshipError(
        'DIGEST_MISMATCH',
        `The files of ${versionLabel(target)} have digest ${digest}, the ledger recorded ${target.digest}. Nothing was changed.`,
        'Someone changed the version folder by hand; deploy the right model file again instead.',
      );
    }
  }
  const steps = [
    `check ${env.repo.root}/${env.model}/${target.numericVersion} against the ledger digest ${target.digest}`,
    `load version ${target.numericVersion} beside ${from.numericVersion}${env.pushes ? ' (pushed to the server if it lacks it)' : ''}`,
    'wait until it is ready, smoke it by its versioned URL',
    `route traffic to version ${target.numericVersion}, smoke the model URL`,
    `record the rollback in ${env.paths.ledger}`,
  ];
  return { from, to: target, steps };
}
