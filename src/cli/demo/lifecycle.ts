/**
 * The whole model lifecycle on the bundled Iris models, with the same step functions the actions and the
 * CLI call and the embedded OIP server: validate, evaluate (a pass and a caught regression), version,
 * deploy, live requests, a canary, a rollback. Each stage states what it expects; the run stops at the
 * first stage that does not behave as expected.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Comparison } from '../../metrics/verdict.js';
import type { EvaluateReport } from '../../report/evaluate-report.js';
import { startServer, type RunningServer } from '../../serve/server.js';
import { deploy, type DeployResult } from '../../steps/deploy.js';
import { evaluate, type EvaluateResult } from '../../steps/evaluate.js';
import { rollback } from '../../steps/rollback.js';
import { validate } from '../../steps/validate.js';
import { version, type VersionResult } from '../../steps/version.js';
import {
  inferOnce,
  readIrisRows,
  startTraffic,
  type Answer,
  type IrisRow,
  type Traffic,
  type TrafficFigures,
} from './traffic.js';
import {
  createDemoWorkspace,
  DEMO_LABELS,
  DEMO_MODEL,
  locateFixtures,
  makeDemoRoot,
  type DemoFixtures,
  type DemoWorkspace,
} from './workspace.js';

export const DEMO_SUMMARY_SCHEMA = 'modelship/demo-summary@1';
export const DEMO_ENVIRONMENT = 'staging';
export const DEMO_MAX_LATENCY_RATIO = 2;
export const ROLLBACK_REASON = 'demo: return staging to the version that served before the canary';

export interface DemoOptions {
  /** Keep the temporary folder after the run. */
  keep?: boolean;
  /** Seconds of live traffic the canary is judged on. Default 2.5. */
  canaryWindowSeconds?: number;
  /** Percent of traffic the canary gets. Default 30. */
  canaryWeight?: number;
  /** Where the steps log (terminal with --verbose; collected otherwise). */
  log: Logger;
  /** Told about each stage as it starts and ends. */
  events?: DemoEvents;
  signal?: AbortSignal;
  /** The bundled fixtures; found above this module when left out. */
  fixtures?: DemoFixtures;
}

export interface StageRecord {
  number: number;
  id: string;
  title: string;
  /** The stage behaved as the lifecycle expects (a caught regression is expected). */
  ok: boolean;
  ms: number;
  /** The key figures, in one line. */
  summary: string;
  /** More lines worth showing under it. */
  details: string[];
}

export interface DemoEvents {
  started?(number: number, title: string): void;
  finished?(stage: StageRecord): void;
}

export interface LiveRequest {
  stage: string;
  row: string;
  expectedLabel: string;
  /** The server's `model_version` (the repository's version number). */
  modelVersion: string;
  /** The semantic version that number stands for in this environment. */
  version: string | null;
  label: string;
  probability: number;
  latencyMs: number;
}

export interface EvaluationFigures {
  passed: boolean;
  rows: number;
  accuracy: number | null;
  baselineAccuracy?: number | null;
  /** Metrics whose verdict is fail. */
  failing: Array<Pick<Comparison, 'metric' | 'baseline' | 'candidate' | 'delta' | 'pValue' | 'reason'>>;
}

export interface VersionFigures {
  version: string;
  tag: string;
  bump: string;
  bumpReason: string;
  previousVersion: string | null;
  digest: string;
}

export interface DemoSummary {
  schema: typeof DEMO_SUMMARY_SCHEMA;
  /** Every stage behaved as expected (including the caught regression). */
  ok: boolean;
  durationMs: number;
  /** The temporary folder; it exists after the run only with `keep`. */
  workspace: string | null;
  kept: boolean;
  server: { url: string } | null;
  stages: StageRecord[];
  validate?: { passed: boolean; digest: string | null; checks: number; failed: number };
  evaluate: { v1?: EvaluationFigures; v2?: EvaluationFigures; regressed?: EvaluationFigures & { caught: boolean } };
  versions: { v1?: VersionFigures; v2?: VersionFigures };
  deploys: {
    first?: { status: string; version: string | null; numericVersion: number; smokeRows: number };
    canary?: {
      status: string;
      version: string | null;
      numericVersion: number;
      decision: string | null;
      weight: number;
      windowSeconds: number;
      canary: { requests: number; failures: number; meanLatencyMs: number | null } | null;
      stable: { requests: number; failures: number; meanLatencyMs: number | null } | null;
      latencyRatio: number | null;
      traffic: TrafficFigures;
    };
  };
  rollback?: {
    status: string;
    from: string | null;
    to: string | null;
    reason: string;
    traffic: TrafficFigures;
  };
  requests: LiveRequest[];
  /** What went wrong, when `ok` is false. */
  error?: string;
}

/** A stage that did not behave as expected: the run stops there. */
class StageFailed extends Error {}

const pct = (value: number | null | undefined) =>
  value === null || value === undefined ? '–' : `${(value * 100).toFixed(1)}%`;
const points = (delta: number | null | undefined) =>
  delta === null || delta === undefined ? '' : ` (${delta >= 0 ? '+' : '−'}${Math.abs(delta * 100).toFixed(1)} pts)`;
const shortDigest = (digest: string | null) => (digest ? `${digest.slice(0, 'sha256:'.length + 12)}…` : '–');
const ms = (value: number | null | undefined) =>
  value === null || value === undefined ? '–' : `${value.toFixed(2)} ms`;

function figuresOf(result: EvaluateResult): EvaluationFigures {
  const report: EvaluateReport = result.report;
  const accuracy = report.comparisons.find((c) => c.metric === 'accuracy');
  return {
    passed: result.passed,
    rows: report.rows,
    accuracy: report.metrics.accuracy ?? null,
    ...(report.baseline ? { baselineAccuracy: report.baseline.metrics.accuracy ?? accuracy?.baseline ?? null } : {}),
    failing: report.comparisons
      .filter((c) => c.verdict === 'fail')
      .map((c) => ({
        metric: c.metric,
        baseline: c.baseline,
        candidate: c.candidate,
        delta: c.delta,
        ...(c.pValue !== undefined ? { pValue: c.pValue } : {}),
        reason: c.reason,
      })),
  };
}

function versionFigures(result: VersionResult): VersionFigures {
  return {
    version: result.version,
    tag: result.tag,
    bump: result.bump,
    bumpReason: result.bumpReason,
    previousVersion: result.previousVersion ?? null,
    digest: result.digest,
  };
}

/**
 * One run of the demo. `run()` goes through the stages; `cleanup()` (also called by `run()` at the end)
 * stops the traffic and the server and removes the temporary folder unless it is kept. Both are safe to
 * call at any time, once or more, which is what an interrupt needs.
 */
export class DemoRun {
  private rootDir?: string;
  private workspace?: DemoWorkspace;
  private server?: RunningServer;
  private traffic?: Traffic;
  private cleaning?: Promise<void>;
  private readonly adminToken = randomBytes(24).toString('hex');
  private readonly summary: DemoSummary = {
    schema: DEMO_SUMMARY_SCHEMA,
    ok: false,
    durationMs: 0,
    workspace: null,
    kept: false,
    server: null,
    stages: [],
    evaluate: {},
    versions: {},
    deploys: {},
    requests: [],
  };
  private readonly numericToSemver = new Map<string, string | null>();

  constructor(private readonly options: DemoOptions) {}

  /** The temporary folder, once created. */
  get root(): string | undefined {
    return this.rootDir;
  }

  async run(): Promise<DemoSummary> {
    const started = performance.now();
    try {
      await this.stages();
      this.summary.ok = this.summary.stages.every((s) => s.ok);
    } catch (error) {
      this.summary.ok = false;
      this.summary.error = describeError(error);
    } finally {
      await this.cleanup();
      this.summary.durationMs = Math.round(performance.now() - started);
    }
    return this.summary;
  }

  cleanup(): Promise<void> {
    return (this.cleaning ??= (async () => {
      const problems: string[] = [];
      await this.traffic?.stop().catch((e: unknown) => problems.push(describeError(e)));
      await this.server?.close().catch((e: unknown) => problems.push(describeError(e)));
      if (this.rootDir) {
        if (this.options.keep) this.summary.kept = true;
        else {
          await rm(this.rootDir, { recursive: true, force: true, maxRetries: 3 }).catch((e: unknown) =>
            problems.push(describeError(e)),
          );
        }
      }
      if (problems.length > 0) this.options.log.warn(`Cleaning up: ${problems.join('; ')}`);
    })());
  }

  private async stage<T>(
    id: string,
    title: string,
    work: () => Promise<{ value: T; summary: string; details?: string[]; ok?: boolean }>,
  ): Promise<T> {
    this.options.signal?.throwIfAborted();
    const number = this.summary.stages.length + 1;
    this.options.events?.started?.(number, title);
    const started = performance.now();
    let record: StageRecord;
    let value: T | undefined;
    try {
      const outcome = await this.options.log.group(`${number}. ${title}`, work);
      // An interrupt pulls the server and the folder from under a stage: what it then says means nothing.
      this.options.signal?.throwIfAborted();
      value = outcome.value;
      record = {
        number,
        id,
        title,
        ok: outcome.ok ?? true,
        ms: Math.round(performance.now() - started),
        summary: outcome.summary,
        details: outcome.details ?? [],
      };
    } catch (error) {
      this.options.signal?.throwIfAborted();
      record = {
        number,
        id,
        title,
        ok: false,
        ms: Math.round(performance.now() - started),
        summary: describeError(error),
        details: [],
      };
    }
    this.summary.stages.push(record);
    this.options.events?.finished?.(record);
    if (!record.ok) throw new StageFailed(`Stage ${number} (${title}) did not behave as expected: ${record.summary}`);
    return value as T;
  }

  private async live(stage: string, row: IrisRow): Promise<LiveRequest> {
    const answer: Answer = await inferOnce(this.server!.url, DEMO_MODEL, row, DEMO_LABELS);
    const request: LiveRequest = {
      stage,
      row: row.id,
      expectedLabel: row.label,
      modelVersion: answer.modelVersion,
      version: this.numericToSemver.get(answer.modelVersion) ?? null,
      label: answer.label,
      probability: answer.probability,
      latencyMs: Math.round(answer.latencyMs * 100) / 100,
    };
    this.summary.requests.push(request);
    return request;
  }

  private liveStage(id: string, expected: { numericVersion: number; semver: string | null }, row: IrisRow) {
    return this.stage(id, 'Live request', async () => {
      const request = await this.live(id, row);
      const ok = request.modelVersion === String(expected.numericVersion);
      return {
        value: request,
        ok,
        summary:
          `${row.id} → ${request.label} (p ${request.probability.toFixed(3)}; expected ${row.label}), ` +
          `model_version ${request.modelVersion} = ${request.version ?? '?'}, ${ms(request.latencyMs)}` +
          (ok ? '' : ` — expected version ${expected.numericVersion} (${expected.semver})`),
      };
    });
  }

  private deployedLabel(result: DeployResult): string {
    const d = result.deployed;
    this.numericToSemver.set(String(d.numericVersion), d.semver);
    return `${d.semver ?? '?'} (repository version ${d.numericVersion})`;
  }

  private async stages(): Promise<void> {
    const log = this.options.log;
    const fixtures = this.options.fixtures ?? locateFixtures();
    const rows = await readIrisRows(fixtures.heldout);
    // A virginica row: the class the regressed model never saw, and where v1 and v2 differ in confidence.
    const shown = rows.find((r) => r.label === 'virginica') ?? rows[0];

    this.rootDir = makeDemoRoot();
    this.summary.workspace = this.rootDir;
    this.workspace = await createDemoWorkspace(fixtures, this.rootDir);
    const ws = this.workspace;
    const reports = join(ws.root, 'reports');
    await mkdir(reports);
    const target = `file://${ws.repository}`;
    const common = {
      modelName: DEMO_MODEL,
      environment: DEMO_ENVIRONMENT,
      target,
      state: ws.state,
      adminToken: this.adminToken,
      smokeFixtures: ws.heldout,
      who: { actor: 'modelship-demo', runUrl: null },
      cwd: ws.project,
    };

    const server = await this.stage('serve', 'Start the embedded server', async () => {
      this.server = await startServer({
        repository: ws.repository,
        host: '127.0.0.1',
        port: 0,
        adminToken: this.adminToken,
        modelControl: 'explicit',
        shutdownGraceMs: 1000,
        log,
      });
      this.summary.server = { url: this.server.url };
      return {
        value: this.server,
        summary: `${this.server.url}, model repository ${ws.repository}, admin token generated for this run`,
      };
    });

    await ws.commitModel(fixtures.model('iris-v1'), 'Add the iris model (softmax regression)');
    const validated = await this.stage('validate-v1', 'Validate iris-v1', async () => {
      const result = await validate(
        {
          model: ws.modelFile,
          config: join(ws.project, 'modelship.yml'),
          modelName: DEMO_MODEL,
          reportPath: join(reports, 'validate-iris-v1.json'),
        },
        log,
      );
      const checks = result.report.checks;
      const failed = checks.filter((c) => c.status === 'fail');
      this.summary.validate = {
        passed: result.passed,
        digest: result.report.digest,
        checks: checks.length,
        failed: failed.length,
      };
      const counted = checks.filter((c) => c.status !== 'skip').length;
      return {
        value: result,
        ok: result.passed,
        summary: `${counted - failed.length}/${counted} checks passed, digest ${shortDigest(result.report.digest)}${result.report.latency ? `, p95 ${ms(result.report.latency.p95)}` : ''}`,
        details: failed.map((c) => `✗ ${c.id}: ${c.message}`),
      };
    });

    await this.stage('evaluate-v1', 'Evaluate iris-v1 on the held-out rows', async () => {
      const result = await evaluate(
        { model: ws.modelFile, fixtures: ws.heldout, name: DEMO_MODEL, reportPath: join(reports, 'evaluate-v1.json') },
        log,
      );
      const figures = figuresOf(result);
      this.summary.evaluate.v1 = figures;
      return {
        value: result,
        ok: result.passed,
        summary: `accuracy ${pct(figures.accuracy)} on ${figures.rows} rows`,
      };
    });

    const v1 = await this.stage('version-v1', 'Version iris-v1', async () => {
      const result = await version(
        {
          model: ws.modelFile,
          modelName: DEMO_MODEL,
          workspace: ws.project,
          discoverConfig: true,
          report: join(reports, 'evaluate-v1.json'),
        },
        log,
      );
      this.summary.versions.v1 = versionFigures(result);
      return {
        value: result,
        ok: result.created,
        summary: `${result.version} (${result.bump}), tag ${result.tag}: ${result.bumpReason}`,
      };
    });

    const first = await this.stage('deploy-v1', `Deploy ${v1.version} to ${DEMO_ENVIRONMENT}`, async () => {
      const result = await deploy(
        {
          ...common,
          model: ws.modelFile,
          version: v1.version,
          expectedDigest: validated.report.digest ?? undefined,
          server: server.url,
          strategy: 'replace',
          tagStage: true,
          workspace: ws.project,
        },
        log,
      );
      const label = this.deployedLabel(result);
      this.summary.deploys.first = {
        status: result.status,
        version: result.deployed.semver,
        numericVersion: result.deployed.numericVersion,
        smokeRows: result.smoke.at(-1)?.rows ?? 0,
      };
      return {
        value: result,
        ok: result.status === 'deployed',
        summary:
          result.status === 'deployed'
            ? `${label} serves; smoke ${result.smoke.map((s) => `${s.passed ? '✓' : '✗'} ${s.rows} rows`).join(', ')}${result.stageTag ? `, stage tag ${result.stageTag}` : ''}`
            : `${result.status}: ${result.failure?.message ?? ''}`,
      };
    });

    await this.liveStage('request-v1', first.deployed, shown);

    await this.stage('evaluate-v2', 'Evaluate iris-v2 against iris-v1', async () => {
      const result = await evaluate(
        {
          model: fixtures.model('iris-v2'),
          baselineModel: ws.modelFile,
          fixtures: ws.heldout,
          name: DEMO_MODEL,
          reportPath: join(reports, 'evaluate-v2.json'),
        },
        log,
      );
      const figures = figuresOf(result);
      this.summary.evaluate.v2 = figures;
      const accuracy = result.report.comparisons.find((c) => c.metric === 'accuracy');
      return {
        value: result,
        ok: result.passed,
        summary: `${result.passed ? 'passes' : 'FAILS'}: accuracy ${pct(figures.accuracy)} vs ${pct(figures.baselineAccuracy)}${points(accuracy?.delta)}, ${result.flips} row(s) changed outcome`,
        details: figures.failing.map((f) => `✗ ${f.metric}: ${f.reason}`),
      };
    });

    await this.stage('evaluate-regressed', 'Evaluate iris-regressed against iris-v1', async () => {
      const result = await evaluate(
        {
          model: fixtures.model('iris-regressed'),
          baselineModel: ws.modelFile,
          fixtures: ws.heldout,
          name: DEMO_MODEL,
          reportPath: join(reports, 'evaluate-regressed.json'),
        },
        log,
      );
      const figures = figuresOf(result);
      const caught = !result.passed && figures.failing.length > 0;
      this.summary.evaluate.regressed = { ...figures, caught };
      return {
        value: result,
        ok: caught,
        summary: caught
          ? `regression caught, as expected: ${figures.failing.map((f) => f.metric).join(', ')} failed`
          : 'the regression was NOT caught: the evaluation passed',
        details: figures.failing.map(
          (f) => `✗ ${f.metric} ${pct(f.candidate)} vs ${pct(f.baseline)}${points(f.delta)}: ${f.reason}`,
        ),
      };
    });

    await ws.commitModel(fixtures.model('iris-v2'), 'Update the iris model (MLP 4-16-3)');
    const v2 = await this.stage('version-v2', 'Version iris-v2', async () => {
      const result = await version(
        {
          model: ws.modelFile,
          modelName: DEMO_MODEL,
          workspace: ws.project,
          discoverConfig: true,
          report: join(reports, 'evaluate-v2.json'),
        },
        log,
      );
      this.summary.versions.v2 = versionFigures(result);
      return {
        value: result,
        ok: result.created,
        summary: `${result.version} (${result.bump}), tag ${result.tag}: ${result.bumpReason}`,
      };
    });

    const weight = this.options.canaryWeight ?? 30;
    const windowSeconds = this.options.canaryWindowSeconds ?? 2.5;
    const canary = await this.stage(
      'deploy-v2-canary',
      `Canary deploy ${v2.version} to ${DEMO_ENVIRONMENT}`,
      async () => {
        this.traffic = startTraffic(server.url, DEMO_MODEL, rows);
        let result: DeployResult;
        try {
          result = await deploy(
            {
              ...common,
              model: ws.modelFile,
              version: v2.version,
              expectedDigest: v2.digest,
              server: server.url,
              strategy: 'canary',
              canaryWeight: weight,
              analysisWindowSeconds: windowSeconds,
              // The Iris models answer in well under a millisecond, where a busy machine's scheduling moves
              // the mean by a third either way: the demo judges latency with room for that.
              maxLatencyRatio: DEMO_MAX_LATENCY_RATIO,
              tagStage: true,
              workspace: ws.project,
            },
            log,
          );
        } finally {
          await this.traffic.stop();
        }
        const traffic = this.traffic.figures;
        this.traffic = undefined;
        const label = this.deployedLabel(result);
        const verdict = result.canary;
        const figures = (v: NonNullable<typeof verdict>['canary'] | undefined) =>
          v ? { requests: v.requests, failures: v.failures, meanLatencyMs: v.meanLatencyMs } : null;
        this.summary.deploys.canary = {
          status: result.status,
          version: result.deployed.semver,
          numericVersion: result.deployed.numericVersion,
          decision: verdict?.decision ?? null,
          weight,
          windowSeconds,
          canary: figures(verdict?.canary),
          stable: figures(verdict?.stable),
          latencyRatio: verdict?.latencyRatio ?? null,
          traffic,
        };
        const ok = result.status === 'deployed' && verdict?.decision === 'promote' && traffic.failures === 0;
        const details = verdict
          ? [
              `canary ${weight}% for ${windowSeconds} s: ${verdict.canary.requests} requests, ${verdict.canary.failures} failed, mean ${ms(verdict.canary.meanLatencyMs)}` +
                ` | stable: ${verdict.stable.requests} requests, ${verdict.stable.failures} failed, mean ${ms(verdict.stable.meanLatencyMs)}` +
                (verdict.latencyRatio !== null
                  ? ` | latency ×${verdict.latencyRatio.toFixed(2)} (limit ×${verdict.thresholds.maxLatencyRatio})`
                  : ''),
              ...verdict.reasons.map((r) => `✗ ${r}`),
            ]
          : [];
        details.push(
          `live traffic during the deploy: ${traffic.requests} requests, ${traffic.failures} failed, answered by ${Object.entries(
            traffic.byVersion,
          )
            .map(([n, count]) => `version ${n}: ${count}`)
            .join(', ')}`,
          ...traffic.errors.map((e) => `✗ ${e}`),
        );
        return {
          value: result,
          ok,
          summary:
            result.status === 'deployed'
              ? `${verdict?.decision === 'promote' ? 'promoted' : 'deployed'}: ${label} serves${result.stageTag ? `, stage tag ${result.stageTag}` : ''}`
              : `${result.status}: ${result.failure?.message ?? ''}`,
          details,
        };
      },
    );

    await this.liveStage('request-v2', canary.deployed, shown);

    const back = await this.stage('rollback', `Roll ${DEMO_ENVIRONMENT} back to the previous version`, async () => {
      this.traffic = startTraffic(server.url, DEMO_MODEL, rows);
      let result;
      try {
        result = await rollback({ ...common, to: 'previous', reason: ROLLBACK_REASON, server: server.url }, log);
      } finally {
        await this.traffic.stop();
      }
      const traffic = this.traffic.figures;
      this.traffic = undefined;
      const { from, to } = result.plan;
      this.summary.rollback = {
        status: result.status,
        from: from.semver,
        to: to.semver,
        reason: result.reason,
        traffic,
      };
      return {
        value: result,
        ok: result.status === 'rolled-back' && traffic.failures === 0,
        summary:
          result.status === 'rolled-back'
            ? `${from.semver} → ${to.semver} (repository version ${to.numericVersion}), reason: "${result.reason}"`
            : `${result.status}: ${result.failure?.message ?? ''}`,
        details: [
          `live traffic during the rollback: ${traffic.requests} requests, ${traffic.failures} failed`,
          ...traffic.errors.map((e) => `✗ ${e}`),
        ],
      };
    });

    await this.liveStage('request-rollback', back.plan.to, shown);
  }
}
