/** The evaluate action's inputs and outputs, and the one reader of its inputs. */
import { ModelshipError } from '../../errors.js';
import { readGitHubContext } from '../../github/context.js';
import { TASKS, type Task } from '../../metrics/evaluation.js';
import type { EvaluateOptions } from '../../steps/evaluate.js';
import { getBooleanInput, getNumberInput, getOptionalInput } from '../runner.js';

export const Inputs = {
  model: 'model',
  fixtures: 'fixtures',
  task: 'task',
  baselineModel: 'baseline-model',
  baselineReport: 'baseline-report',
  thresholds: 'thresholds',
  config: 'config',
  modelName: 'model-name',
  sliceBy: 'slice-by',
  labelField: 'label-field',
  idField: 'id-field',
  batchSize: 'batch-size',
  threads: 'threads',
  comment: 'comment',
  token: 'token',
  shard: 'shard',
  shards: 'shards',
  merge: 'merge',
  report: 'report',
  seed: 'seed',
} as const;

export const Outputs = {
  passed: 'passed',
  metrics: 'metrics',
  report: 'report',
  flips: 'flips',
} as const;

const PULL_REQUEST_EVENTS = new Set(['pull_request', 'pull_request_target']);

/** A list input: one item per line, or comma-separated. */
const list = (value: string | undefined): string[] | undefined =>
  value
    ?.split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean);

function integer(name: string, min: number): number | undefined {
  const value = getNumberInput(name);
  if (value !== undefined && (!Number.isSafeInteger(value) || value < min)) {
    throw new ModelshipError('INPUT_INVALID', `Input '${name}' must be an integer of at least ${min}, got ${value}.`);
  }
  return value;
}

export function getInputs(): EvaluateOptions {
  const task = getOptionalInput(Inputs.task);
  if (task !== undefined && !TASKS.includes(task as Task)) {
    throw new ModelshipError('INPUT_INVALID', `Input 'task' must be one of ${TASKS.join(', ')}, got '${task}'.`);
  }
  const shard = integer(Inputs.shard, 0);
  const shards = integer(Inputs.shards, 1);
  if ((shard === undefined) !== (shards === undefined)) {
    throw new ModelshipError(
      'INPUT_INVALID',
      "Inputs 'shard' and 'shards' go together.",
      'Set both, e.g. shard: ${{ matrix.shard }} and shards: 4, then merge the shard reports in a later job.',
    );
  }
  const labelField = getOptionalInput(Inputs.labelField);
  const idField = getOptionalInput(Inputs.idField);
  const options: EvaluateOptions = {
    model: getOptionalInput(Inputs.model),
    fixtures: getOptionalInput(Inputs.fixtures),
    task: task as Task | undefined,
    baselineModel: getOptionalInput(Inputs.baselineModel),
    baselineReport: getOptionalInput(Inputs.baselineReport),
    thresholds: getOptionalInput(Inputs.thresholds),
    config: getOptionalInput(Inputs.config),
    modelName: getOptionalInput(Inputs.modelName),
    sliceBy: list(getOptionalInput(Inputs.sliceBy)),
    fields: { ...(labelField ? { label: labelField } : {}), ...(idField ? { id: idField } : {}) },
    batchSize: getOptionalInput(Inputs.batchSize) === 'auto' ? undefined : integer(Inputs.batchSize, 1),
    threads: getOptionalInput(Inputs.threads) === 'auto' ? undefined : integer(Inputs.threads, 1),
    merge: list(getOptionalInput(Inputs.merge)),
    reportPath: getOptionalInput(Inputs.report) ?? 'modelship-evaluate-report.json',
    seed: integer(Inputs.seed, 0),
    ...(shard !== undefined && shards !== undefined ? { shard: { index: shard, count: shards } } : {}),
  };
  if (getBooleanInput(Inputs.comment, true)) {
    const context = readGitHubContext();
    const token = getOptionalInput(Inputs.token);
    if (PULL_REQUEST_EVENTS.has(context.eventName) && context.pullRequestNumber !== undefined && token) {
      options.comment = {
        token,
        apiUrl: context.apiUrl,
        owner: context.owner,
        repo: context.repo,
        issueNumber: context.pullRequestNumber,
        runUrl: context.runUrl,
      };
    }
  }
  return options;
}
