/**
 * evaluate: metrics of a model on fixtures, compared with a baseline (a model run on the same rows, or
 * an earlier report), a verdict per metric and overall, a JSON report, markdown, and the sticky
 * pull-request comment. In merge mode, shard reports combine into the unsharded result.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, relative, resolve } from 'node:path';
import { DEFAULT_CONFIG_FILE, loadConfig } from '../config/load.js';
import { ModelshipError, type SourceLocation } from '../errors.js';
import { usableCores } from '../runtime/cpu.js';
import { loadModel, type LoadedModel } from '../runtime/loaded-model.js';
import { createEvaluation } from '../metrics/fixture-run.js';
import { runEvaluation } from '../metrics/paired-run.js';
import { DEFAULT_FIELDS, type FieldNames, type InputMapping, type Shard } from '../fixtures/rows.js';
import { detectFixtureFormat, type FixtureFormat } from '../fixtures/test-data.js';
import { commentMarker, upsertComment, type CommentOutcome, type CommentTarget } from '../github/comments.js';
import type { Logger } from '../log.js';
import { DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES } from '../metrics/bootstrap.js';
import {
  DEFAULT_FLIP_LIMIT,
  DEFAULT_SEED,
  TASKS,
  type EvaluationSettings,
  type EvaluationSummary,
  type Task,
  type TaskEvaluation,
} from '../metrics/evaluation.js';
import type { Tolerance } from '../metrics/golden.js';
import { LatencyHistogram } from '../metrics/latency.js';
import { inferTask, planOutputs, type OutputChoice } from '../metrics/predictions.js';
import { labelDifferences, signatureDifferences } from '../metrics/signature-check.js';
import { checkThresholdMetrics, defaultThresholds, parseThresholds, type Thresholds } from '../metrics/thresholds.js';
import { judge, type BaselineSource } from '../metrics/verdict.js';
import { renderEvaluateComment, renderEvaluateSummary } from '../report/evaluate.js';
import {
  EVALUATE_REPORT_SCHEMA,
  finiteMetrics,
  readEvaluateReport,
  type EvaluateReport,
  type ShardState,
  type SliceReport,
} from '../report/evaluate-report.js';

export interface EvaluateOptions {
  /** modelship.yml: with `modelName`, fills in whatever the options leave out. */
  config?: string;
  modelName?: string;
  /** The candidate model (a file, or a folder holding model.onnx). Not needed in merge mode. */
  model?: string;
  /** JSONL, CSV, or a folder of ONNX test data sets. */
  fixtures?: string;
  format?: FixtureFormat;
  /** Default: golden for test data sets, else read from the model's outputs. */
  task?: Task;
  /** A model to run on the same rows, for a paired comparison. */
  baselineModel?: string;
  /** A JSON report of an earlier run, when the baseline model is not at hand. */
  baselineReport?: string;
  /** YAML text (`accuracy: {max-drop: 2%}`) or thresholds as modelship.yml writes them. */
  thresholds?: string | Record<string, unknown>;
  /** Where the thresholds are written, for error annotations. */
  thresholdsLocation?: SourceLocation;
  /** A name for people and for the comment marker; default: the model's folder or file name. */
  name?: string;
  /** Class names, when neither the model's metadata nor the labels in the fixtures give them in order. */
  labels?: string[];
  fields?: Partial<Omit<FieldNames, 'slices'>>;
  sliceBy?: string[];
  mapping?: InputMapping;
  outputs?: OutputChoice;
  /** Rows per inference run; default: automatic for a model with a batch dimension, else 1. */
  batchSize?: number;
  /** Threads each model run uses; default: the physical cores this process may use. */
  threads?: number;
  shard?: Shard;
  /** Shard reports to combine instead of running anything. */
  merge?: string[];
  /** Where to write the JSON report. */
  reportPath?: string;
  seed?: number;
  resamples?: number;
  confidence?: number;
  /** How many flips the report lists. */
  flipLimit?: number;
  tolerance?: Partial<Tolerance>;
  progressIntervalMs?: number;
  /** Post or update the pull-request comment here. */
  comment?: CommentTarget & { runUrl?: string };
}

export interface EvaluateResult {
  passed: boolean;
  report: EvaluateReport;
  reportPath?: string;
  /** Rows whose outcome changed against the baseline model. */
  flips: number;
  summary: string;
  comment?: CommentOutcome;
}

const invalidOption = (message: string, hint?: string) => new ModelshipError('EVALUATE_OPTIONS_INVALID', message, hint);

function settingsOf(options: EvaluateOptions, paired: boolean): EvaluationSettings {
  const confidence = options.confidence ?? DEFAULT_CONFIDENCE;
  if (!(confidence > 0.5 && confidence < 1))
    throw invalidOption(`confidence must be between 0.5 and 1, got ${confidence}.`);
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  if (!Number.isSafeInteger(resamples) || resamples < 100)
    throw invalidOption(`resamples must be an integer of at least 100, got ${resamples}.`);
  return {
    seed: (options.seed ?? DEFAULT_SEED) >>> 0,
    resamples,
    confidence,
    sliceFields: options.sliceBy ?? [],
    flipLimit: options.flipLimit ?? DEFAULT_FLIP_LIMIT,
    paired,
  };
}

function checkShard(shard: Shard | undefined): void {
  if (!shard) return;
  if (
    !Number.isSafeInteger(shard.count) ||
    shard.count < 1 ||
    !Number.isSafeInteger(shard.index) ||
    shard.index < 0 ||
    shard.index >= shard.count
  ) {
    throw invalidOption(
      `shard must be an index from 0 to shards − 1 and shards a positive integer, got shard ${shard.index} of ${shard.count}.`,
      'With shards: 4, run shard: 0, 1, 2 and 3 (e.g. from a matrix), then merge their reports.',
    );
  }
}

/** Options with the named model's modelship.yml entry filling the gaps (explicit options win). */
export async function withConfig(options: EvaluateOptions): Promise<EvaluateOptions> {
  if (!options.config && !options.modelName) return options;
  // A model name alone names the model; modelship.yml is read when it is there or needed.
  if (!options.config && options.model && options.fixtures && !existsSync(DEFAULT_CONFIG_FILE)) {
    return { ...options, name: options.name ?? options.modelName };
  }
  const loaded = await loadConfig(options.config ?? DEFAULT_CONFIG_FILE);
  const names = Object.keys(loaded.config.models);
  const name = options.modelName ?? (names.length === 1 ? names[0] : undefined);
  if (!name) {
    throw invalidOption(
      `${loaded.path} describes ${names.length} models; say which one to evaluate.`,
      `Set the model name (one of ${names.join(', ')}).`,
    );
  }
  const entry = loaded.model(name);
  const fromConfig = (p: string) => relative(process.cwd(), resolve(loaded.dir, p)) || '.';
  const f = entry.fixtures;
  return {
    ...options,
    name: options.name ?? name,
    model: options.model ?? fromConfig(entry.path),
    fixtures: options.fixtures ?? (f ? fromConfig(f.path) : undefined),
    format: options.format ?? (f?.format === 'onnx' ? 'test-data' : f?.format),
    task: options.task ?? entry.task,
    labels: options.labels ?? entry.labels,
    mapping: options.mapping ?? f?.inputs,
    fields: { ...(f?.label ? { label: f.label } : {}), ...(f?.id ? { id: f.id } : {}), ...options.fields },
    sliceBy: options.sliceBy ?? f?.slices,
    thresholds: options.thresholds ?? entry.thresholds,
    thresholdsLocation:
      options.thresholds === undefined ? loaded.locate(`/models/${name}/thresholds`) : options.thresholdsLocation,
  };
}

export async function evaluate(options: EvaluateOptions, log: Logger): Promise<EvaluateResult> {
  options = await withConfig(options);
  const built = options.merge?.length ? await mergeShards(options, log) : await runModels(options, log);
  const report = built;
  if (options.reportPath) {
    await mkdir(dirname(options.reportPath), { recursive: true });
    await writeFile(options.reportPath, JSON.stringify(report, null, 2) + '\n');
    log.info(`Report written to ${options.reportPath}.`);
  }
  for (const c of report.comparisons) {
    if (c.verdict === 'fail') log.error(`${c.metric}: ${c.reason}`);
    else if (c.verdict === 'warn') log.warn(`${c.metric}: ${c.reason}`);
  }
  const summary = renderEvaluateSummary(report);
  const result: EvaluateResult = {
    passed: report.passed,
    report,
    ...(options.reportPath ? { reportPath: options.reportPath } : {}),
    flips: report.flips?.count ?? 0,
    summary,
  };
  if (options.comment && !report.shard) {
    const marker = commentMarker(`evaluate:${report.name}`);
    const outcome = await upsertComment(
      options.comment,
      marker,
      renderEvaluateComment(report, marker, options.comment.runUrl),
      log,
    );
    result.comment = outcome;
    if (outcome.status === 'failed') {
      log.warn(
        `Could not post the pull-request comment: ${outcome.error.message} ${outcome.error.hint ?? ''} The job summary has the full report. (A pull request from a fork gets a read-only token; comment from a pull_request_target or workflow_run job instead.)`.replace(
          /\s+/g,
          ' ',
        ),
      );
    } else {
      log.info(`Pull-request comment ${outcome.status}: ${outcome.url}`);
    }
  }
  return result;
}

function nameOf(options: EvaluateOptions, modelPath: string): string {
  if (options.name) return options.name;
  const base = basename(modelPath);
  return base === 'model.onnx' ? basename(dirname(modelPath)) : base.replace(/\.onnx$/i, '');
}

async function runModels(options: EvaluateOptions, log: Logger): Promise<EvaluateReport> {
  if (!options.model) throw invalidOption('No model to evaluate.', 'Pass the model path (or merge shard reports).');
  if (!options.fixtures)
    throw invalidOption('No fixtures to evaluate on.', 'Pass a JSONL or CSV file, or a folder of ONNX test data sets.');
  if (options.baselineModel && options.baselineReport) {
    throw invalidOption(
      'Give a baseline model or a baseline report, not both.',
      'A baseline model gives a paired comparison on the same rows; prefer it when you have it.',
    );
  }
  if (options.task && !TASKS.includes(options.task))
    throw invalidOption(`Unknown task '${options.task}'.`, `Use ${TASKS.join(', ')}.`);
  checkShard(options.shard);
  if (options.batchSize !== undefined && (!Number.isSafeInteger(options.batchSize) || options.batchSize < 1)) {
    throw invalidOption(`batch-size must be a positive integer, got ${options.batchSize}.`);
  }
  if (options.threads !== undefined && (!Number.isSafeInteger(options.threads) || options.threads < 1)) {
    throw invalidOption(`threads must be a positive integer, got ${options.threads}.`);
  }
  const threads = options.threads ?? usableCores();
  const format = await detectFixtureFormat(options.fixtures, options.format);
  const baselineReport = options.baselineReport ? await readEvaluateReport(options.baselineReport) : undefined;

  const models: LoadedModel[] = [];
  try {
    const candidate = await log.group(`Load ${options.model}`, () => loadModel(options.model!, log, threads));
    models.push(candidate);
    const baseline = options.baselineModel
      ? await log.group(`Load baseline ${options.baselineModel}`, () => loadModel(options.baselineModel!, log, threads))
      : undefined;
    if (baseline) models.push(baseline);
    const task: Task = options.task ?? (format === 'test-data' ? 'golden' : inferTask(candidate.session.signature));
    if (baselineReport && baselineReport.task !== task) {
      throw new ModelshipError(
        'BASELINE_MISMATCH',
        `The baseline report is a ${baselineReport.task} report; this is a ${task} evaluation.`,
        'Compare against a report of the same task.',
        { file: options.baselineReport! },
      );
    }
    const thresholds = resolveThresholds(options.thresholds, task, options.thresholdsLocation);

    if (baseline) {
      const outputs =
        task === 'golden' ? undefined : planOutputs(candidate.session.signature, task, options.outputs).fetch;
      const differences = [
        ...signatureDifferences(candidate.signature, baseline.signature, outputs),
        ...(options.labels ? [] : labelDifferences(candidate.labels, baseline.labels)),
      ];
      if (differences.length > 0) {
        throw new ModelshipError(
          'SIGNATURE_MISMATCH',
          `The candidate and the baseline do not have the same signature, so they cannot run on the same rows:\n- ${differences.join('\n- ')}`,
          'This is a breaking change: compare against a baseline report instead, or evaluate without a baseline and release it as a new major version.',
          { file: candidate.file },
        );
      }
    }

    const settings = settingsOf(options, baseline !== undefined);
    const fields: FieldNames = { ...DEFAULT_FIELDS, ...options.fields, slices: settings.sliceFields };
    const run = await log.group(`Evaluate on ${options.fixtures}`, () =>
      runEvaluation(
        {
          task,
          fixtures: options.fixtures!,
          format,
          fields,
          mapping: options.mapping,
          outputs: options.outputs,
          labels: options.labels,
          batchSize: options.batchSize,
          shard: options.shard,
          settings,
          tolerance: options.tolerance,
          progressIntervalMs: options.progressIntervalMs ?? 10_000,
        },
        candidate,
        baseline,
        log,
      ),
    );
    const state: ShardState = {
      evaluation: run.evaluation.toState(),
      thresholds,
      latency: {
        candidate: run.latency.candidate.toState(),
        ...(run.latency.baseline ? { baseline: run.latency.baseline.toState() } : {}),
        batchSize: run.batchSize,
      },
      ...(baseline ? { baselineModel: { path: baseline.path, digest: baseline.digest } } : {}),
      ...(baselineReport
        ? {
            baselineReport: {
              path: options.baselineReport!,
              ...(baselineReport.model?.digest ? { digest: baselineReport.model.digest } : {}),
              metrics: baselineReport.metrics,
              ...(baselineReport.rows ? { rows: baselineReport.rows } : {}),
            },
          }
        : {}),
    };
    return buildReport({
      name: nameOf(options, candidate.path),
      model: { path: candidate.path, digest: candidate.digest, signature: candidate.signature },
      evaluation: run.evaluation,
      latency: run.latency,
      batchSize: run.batchSize,
      fixtures: { path: options.fixtures, format, rows: run.totalRows },
      state,
      shard: options.shard && options.shard.count > 1 ? options.shard : undefined,
    });
  } finally {
    await Promise.all(models.map((m) => m.session.release().catch(() => undefined)));
  }
}

function resolveThresholds(source: EvaluateOptions['thresholds'], task: Task, location?: SourceLocation): Thresholds {
  const parsed = source === undefined ? {} : parseThresholds(source, location);
  const thresholds = Object.keys(parsed).length > 0 ? parsed : defaultThresholds(task);
  checkThresholdMetrics(task, thresholds, location);
  return thresholds;
}

interface ReportInput {
  name: string;
  model: EvaluateReport['model'];
  evaluation: TaskEvaluation;
  latency: { candidate: LatencyHistogram; baseline?: LatencyHistogram };
  batchSize: number;
  fixtures: EvaluateReport['fixtures'];
  state: ShardState;
  shard?: Shard;
}

function buildReport(input: ReportInput): EvaluateReport {
  const { evaluation, state } = input;
  const summary: EvaluationSummary = evaluation.summary();
  const warnings: string[] = [];
  let source: BaselineSource = { kind: 'none' };
  let baselineMetrics: Record<string, number> | undefined;
  let baseline: EvaluateReport['baseline'];
  if (summary.baselineMetrics && state.baselineModel) {
    source = { kind: 'paired', evidence: summary.evidence };
    baselineMetrics = summary.baselineMetrics;
    baseline = { ...state.baselineModel, metrics: finiteMetrics(baselineMetrics), source: 'model' };
  } else if (state.baselineReport) {
    source = { kind: 'report', rows: state.baselineReport.rows, candidateRows: summary.rows };
    baselineMetrics = state.baselineReport.metrics;
    baseline = {
      path: state.baselineReport.path,
      ...(state.baselineReport.digest ? { digest: state.baselineReport.digest } : {}),
      metrics: finiteMetrics(baselineMetrics),
      source: 'report',
    };
    if (state.baselineReport.rows && state.baselineReport.rows !== summary.rows) {
      warnings.push(
        `The baseline report covers ${state.baselineReport.rows} rows, this run ${summary.rows}: the fixtures may differ.`,
      );
    }
  }
  const { comparisons, passed } = judge({
    metrics: summary.metrics,
    baselineMetrics,
    thresholds: state.thresholds,
    source,
    confidence: evaluation.settings.confidence,
  });
  if (summary.droppedSlices?.length) {
    warnings.push(`Not sliced by ${summary.droppedSlices.join(', ')}: more than 50 distinct values.`);
  }
  if (state.baselineModel && state.baselineModel.digest === input.model.digest) {
    warnings.push('The baseline model is the same file as the candidate.');
  }

  let slices: EvaluateReport['slices'];
  if (summary.slices) {
    slices = {};
    for (const [field, values] of Object.entries(summary.slices)) {
      slices[field] = {};
      for (const [value, s] of Object.entries(values)) {
        const entry: SliceReport = {
          rows: s.rows,
          metrics: finiteMetrics(s.metrics),
          ...(s.baseline ? { baseline: finiteMetrics(s.baseline) } : {}),
          ...(s.evidence ? { evidence: s.evidence } : {}),
        };
        slices[field][value] = entry;
      }
    }
  }
  const latency = {
    batchSize: input.batchSize,
    candidate: pick(input.latency.candidate),
    ...(input.latency.baseline ? { baseline: pick(input.latency.baseline) } : {}),
  };
  const report: EvaluateReport = {
    schema: EVALUATE_REPORT_SCHEMA,
    passed,
    name: input.name,
    model: input.model,
    task: summary.task,
    rows: summary.rows,
    metrics: finiteMetrics(summary.metrics),
    ...(baseline ? { baseline } : {}),
    comparisons,
    ...(slices ? { slices } : {}),
    ...(summary.flips
      ? {
          flips: {
            count: summary.flips.count,
            fixed: summary.flips.fixed,
            broken: summary.flips.broken,
            shown: summary.flips.first,
          },
        }
      : {}),
    details: summary.details,
    latency,
    fixtures: input.fixtures,
    warnings,
  };
  if (input.shard) {
    report.shard = input.shard;
    report.state = state;
  }
  return report;
}

const pick = (h: LatencyHistogram) => {
  const { p50Ms, p95Ms } = h.summary();
  return { p50Ms, p95Ms };
};

// ---- merge ----

async function mergeShards(options: EvaluateOptions, log: Logger): Promise<EvaluateReport> {
  const paths = options.merge!;
  const reports = await Promise.all(paths.map((p) => readEvaluateReport(p)));
  const problems: string[] = [];
  reports.forEach((r, i) => {
    if (!r.shard || !r.state)
      problems.push(`${paths[i]} is not a shard report (no shard state; run with shard and shards)`);
  });
  if (problems.length > 0) throw mergeError(problems);
  const first = reports[0];
  const count = first.shard!.count;
  const seen = new Map<number, string>();
  reports.forEach((r, i) => {
    const where = paths[i];
    if (r.shard!.count !== count)
      problems.push(`${where} is shard ${r.shard!.index} of ${r.shard!.count}, the others of ${count}`);
    if (seen.has(r.shard!.index))
      problems.push(`${where} and ${seen.get(r.shard!.index)} are both shard ${r.shard!.index}`);
    seen.set(r.shard!.index, where);
    if (r.model.digest !== first.model.digest) problems.push(`${where} evaluated another model (${r.model.digest})`);
    if (r.task !== first.task) problems.push(`${where} is a ${r.task} evaluation, ${paths[0]} ${first.task}`);
    if (r.fixtures.rows !== first.fixtures.rows)
      problems.push(`${where} read ${r.fixtures.rows} fixture rows, ${paths[0]} ${first.fixtures.rows}`);
    if (JSON.stringify(r.state!.evaluation.settings) !== JSON.stringify(first.state!.evaluation.settings)) {
      problems.push(`${where} ran with other settings (seed, resamples, slices or baseline)`);
    }
    if (r.state!.baselineModel?.digest !== first.state!.baselineModel?.digest)
      problems.push(`${where} had another baseline model`);
  });
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length > 0)
    problems.push(
      `shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${count} ${missing.length > 1 ? 'are' : 'is'} missing`,
    );
  if (problems.length > 0) throw mergeError(problems);

  const ordered = [...reports].sort((a, b) => a.shard!.index - b.shard!.index);
  const settings = first.state!.evaluation.settings;
  const data = first.state!.evaluation.data as { labels?: string[]; topK?: number };
  const evaluation = createEvaluation(first.task, settings, data.labels ?? [], data.topK ?? 0);
  const latency = {
    candidate: new LatencyHistogram(),
    ...(first.state!.latency.baseline ? { baseline: new LatencyHistogram() } : {}),
  };
  for (const r of ordered) {
    evaluation.mergeState(r.state!.evaluation);
    latency.candidate.mergeState(r.state!.latency.candidate);
    if (latency.baseline && r.state!.latency.baseline) latency.baseline.mergeState(r.state!.latency.baseline);
  }
  const thresholds =
    options.thresholds !== undefined
      ? resolveThresholds(options.thresholds, first.task, options.thresholdsLocation)
      : first.state!.thresholds;
  log.info(`Merged ${count} shard reports: ${evaluation.rows.toLocaleString('en-US')} rows.`);
  return buildReport({
    name: options.name ?? first.name,
    model: first.model,
    evaluation,
    latency,
    batchSize: first.state!.latency.batchSize,
    fixtures: first.fixtures,
    state: { ...first.state!, thresholds },
  });
}

const mergeError = (problems: string[]) =>
  new ModelshipError(
    'MERGE_INVALID',
    `Cannot merge these shard reports:\n- ${problems.join('\n- ')}`,
    'Merge the reports of one sharded run: every shard from 0 to shards − 1, same model, fixtures and settings.',
  );
