/**
 * runtime.load, smoke.run and smoke.latency: the model loaded and run by onnxruntime-node in an isolated
 * process (src/runtime/isolated.ts), on fixture rows or on inputs made up from the signature.
 */
import { describeError, isModelshipError, type SourceLocation } from '../errors.js';
import type { Logger } from '../log.js';
import type { IsolatedOutcome, IsolatedRuntime, StageOutcome } from '../runtime/isolated.js';
import type { IsolatedRequest } from '../runtime/isolated-protocol.js';
import { BUNDLED_RUNTIME } from '../runtime/supported-versions.js';
import { CheckList, type CheckResult } from './checks.js';
import type { FixtureSource } from './expectations.js';
import { formatShape } from './signature-match.js';
import { feedsFromRows, firstRow, readFixtureRows, synthesizeFeeds, type Feeds } from './smoke-inputs.js';
import { assessOutputs, bindDimensions, percentile } from './smoke-outputs.js';
import type { StaticFacts } from './static-checks.js';

export interface RuntimePlan {
  modelPath: string;
  facts: StaticFacts;
  /** JSONL rows for the smoke run; inputs are made up from the signature without them. */
  fixtures?: FixtureSource;
  /** Why configured fixtures were not used, said in the smoke run's message. */
  fixturesNote?: string;
  maxLatencyMs?: number;
  /** Where max-latency-ms was configured, for the annotation when it is exceeded. */
  maxLatencyLocation?: SourceLocation;
  /** Deadline for each stage in the isolated process. */
  timeoutMs: number;
  /** The isolated process, started early so onnxruntime loads while the file is checked; closed when unused. */
  runtime: IsolatedRuntime;
  /** Timed runs for the latency figures. */
  latencyRuns?: number;
}

export interface RuntimeFindings {
  latency?: { p50: number; p95: number; runs: number };
  /** How long onnxruntime took to create the session. */
  loadMs?: number;
  /** Peak resident memory of the isolated process. */
  childMaxRssKb?: number;
}

/** Why the runtime checks are skipped for a model a static check failed. */
export const notHandedOver = (failed: CheckResult): string =>
  `Skipped: ${failed.id} failed, so the model is not handed to onnxruntime.`;

const LATENCY_RUNS = 5;
/** Latency runs stop after this long (at least 3 runs): a big model gets fewer, not a longer validate. */
const LATENCY_BUDGET_MS = 250;

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
const millis = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1)) + ' ms';

function failure(outcome: Extract<StageOutcome<object>, { ok: false }>, doing: string, timeoutMs: number): string {
  switch (outcome.reason) {
    case 'crash':
      return (
        `${doing} crashed the onnxruntime process (${outcome.message}). A model that crashes the runtime must not ` +
        `ship: re-export it, and check it with onnx.checker.check_model(full_check=True).`
      );
    case 'timeout':
      return (
        `${doing} did not finish within ${seconds(timeoutMs)}; the onnxruntime process was killed. ` +
        `A model that hangs the runtime must not ship (look for unbounded Loop trip counts or huge shapes).`
      );
    case 'error':
      return `${doing} failed: ${outcome.message}`;
  }
}

export async function runRuntimeChecks(plan: RuntimePlan, checks: CheckList, log: Logger): Promise<RuntimeFindings> {
  const { facts } = plan;
  if (facts.blockedBy) {
    plan.runtime.close();
    const reason = notHandedOver(facts.blockedBy);
    checks.skipRemaining(reason, ['runtime.load', 'smoke.run', 'smoke.latency']);
    return {};
  }

  // Inputs first: a fixture mistake is reported as such, and the model still gets its load check.
  let feeds: Feeds | undefined;
  let inputsWere: 'fixture rows' | 'made-up inputs' = 'made-up inputs';
  try {
    if (plan.fixtures) {
      const rows = await readFixtureRows(plan.fixtures);
      feeds = feedsFromRows(facts.signature.inputs, rows);
      inputsWere = 'fixture rows';
    } else {
      feeds = synthesizeFeeds(facts.signature.inputs);
    }
  } catch (error) {
    const reason = isModelshipError(error)
      ? describeError(error)
      : `The fixture rows cannot be read: ${describeError(error)}.`;
    if (plan.fixtures) checks.fail('smoke.run', reason);
    else checks.warn('smoke.run', `No smoke run: ${reason}`);
    checks.skip('smoke.latency', 'Skipped: there were no inputs for the smoke run.');
  }

  const fetches = facts.signature.outputs.map((output) => output.name);
  const request: IsolatedRequest = { modelPath: plan.modelPath };
  if (feeds) {
    request.smoke = { feeds, fetches };
    request.latency = {
      feeds: firstRow(facts.signature.inputs, feeds),
      fetches,
      runs: plan.latencyRuns ?? LATENCY_RUNS,
      budgetMs: LATENCY_BUDGET_MS,
    };
  }

  log.info(
    `Loading ${plan.modelPath} in an isolated onnxruntime process (deadline ${seconds(plan.timeoutMs)} per stage)`,
  );
  const outcome = await plan.runtime.run(request);
  recordLoad(outcome, plan, checks);
  const findings: RuntimeFindings = { childMaxRssKb: outcome.maxRssKb };
  if (outcome.load?.ok) findings.loadMs = outcome.load.ms;
  if (!feeds) return findings;
  if (!outcome.load?.ok) {
    checks.skipRemaining('Skipped: runtime.load failed.', ['smoke.run', 'smoke.latency']);
    return findings;
  }
  recordSmoke(outcome, plan, feeds, inputsWere, checks);
  findings.latency = recordLatency(outcome, plan, checks);
  return findings;
}

function recordLoad(outcome: IsolatedOutcome, plan: RuntimePlan, checks: CheckList): void {
  if (!outcome.runtime.ok) {
    checks.fail(
      'runtime.load',
      `onnxruntime-node could not be started, so the model was not loaded: ${outcome.runtime.message}`,
    );
    return;
  }
  const load = outcome.load;
  if (!load) {
    checks.fail('runtime.load', 'The onnxruntime process ended before loading the model.');
  } else if (load.ok) {
    checks.pass(
      'runtime.load',
      `Loaded by onnxruntime ${BUNDLED_RUNTIME.version} in ${millis(load.ms)} (isolated process, ${outcome.runtime.source}).`,
    );
  } else {
    checks.fail('runtime.load', failure(load, 'Loading the model', plan.timeoutMs));
  }
}

function recordSmoke(
  outcome: IsolatedOutcome,
  plan: RuntimePlan,
  feeds: Feeds,
  inputsWere: 'fixture rows' | 'made-up inputs',
  checks: CheckList,
): void {
  const smoke = outcome.smoke;
  const fed = Object.entries(feeds)
    .map(([name, value]) => `${name} ${value.datatype} ${formatShape(value.shape)}`)
    .join(', ');
  if (!smoke) {
    checks.fail('smoke.run', 'The onnxruntime process ended before the smoke run.');
  } else if (!smoke.ok) {
    checks.fail('smoke.run', failure(smoke, `Running the model on ${inputsWere} (${fed})`, plan.timeoutMs));
  } else {
    const declared = plan.facts.signature.outputs;
    const bound = bindDimensions(plan.facts.signature.inputs, feeds);
    const findings = assessOutputs(declared, bound, smoke.outputs, inputsWere);
    const got = Object.entries(smoke.outputs)
      .map(([name, value]) => `${name} ${value.datatype} ${formatShape(value.shape)}`)
      .join(', ');
    const note = inputsWere === 'made-up inputs' && plan.fixturesNote ? ` (${plan.fixturesNote})` : '';
    checks.fromFindings(
      'smoke.run',
      findings,
      `Ran on ${inputsWere}${note} (${fed}) in ${millis(smoke.ms)}: ${got || 'no tensor outputs'}, as declared, all finite.`,
    );
  }
  if (!outcome.latency && checks.get('smoke.latency') === undefined) {
    checks.skip('smoke.latency', 'Skipped: the smoke run did not complete.');
  }
}

function recordLatency(outcome: IsolatedOutcome, plan: RuntimePlan, checks: CheckList): RuntimeFindings['latency'] {
  const latency = outcome.latency;
  if (!latency) return undefined;
  if (!latency.ok) {
    checks.fail('smoke.latency', failure(latency, 'Timing the model', plan.timeoutMs));
    return undefined;
  }
  const p50 = percentile(latency.samples, 50);
  const p95 = percentile(latency.samples, 95);
  const figures = `p50 ${millis(p50)}, p95 ${millis(p95)} over ${latency.samples.length} runs of one request`;
  const limit = plan.maxLatencyMs;
  if (limit === undefined) {
    checks.pass('smoke.latency', `${figures} (no max-latency-ms set).`);
  } else if (p50 > limit) {
    checks.record(
      'smoke.latency',
      'fail',
      `${figures}: the median is over max-latency-ms ${limit}. Make the model faster (quantize, prune, ` +
        `fewer ops) or raise max-latency-ms if the limit is too tight for this runner.`,
      { location: plan.maxLatencyLocation },
    );
  } else if (p95 > limit) {
    checks.record(
      'smoke.latency',
      'warn',
      `${figures}: the median is within max-latency-ms ${limit}, but p95 is over it; slow outliers may miss the limit.`,
      { location: plan.maxLatencyLocation },
    );
  } else {
    checks.pass('smoke.latency', `${figures}, within max-latency-ms ${limit}.`);
  }
  return { p50, p95, runs: latency.samples.length };
}
