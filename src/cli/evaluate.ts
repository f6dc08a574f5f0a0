import { resolve } from 'node:path';
import { ModelshipError } from '../errors.js';
import { TASKS, type Task } from '../metrics/evaluation.js';
import { evaluate, type EvaluateOptions } from '../steps/evaluate.js';
import { parseCommandArgs, terminalLogger, type CliCommand } from './command.js';

const help = `Usage: modelship evaluate [<model>] --fixtures <file|folder> [options]
       modelship evaluate --merge <shard report> <shard report> ... [--report out.json]

Metrics of an ONNX model on fixtures (JSONL, CSV, numpy .npz/.npy, or ONNX test data sets), compared with a
baseline, with a verdict per metric. Exits 1 when a metric fails its threshold.

Options:
  --fixtures <path>          rows to evaluate on
  --task <task>              classification | regression | golden (default: from the config or the model)
  --baseline-model <path>    a model to run on the same rows (paired comparison)
  --baseline-report <path>   a report of an earlier run
  --thresholds <yaml>        e.g. 'accuracy: {min: 0.9, max-drop: 2%}'
  --config <modelship.yml>   read the model, fixtures and thresholds from the config ...
  --model-name <name>        ... for this model
  --slice-by <field>         per-slice metrics (repeat, or comma-separated)
  --label-field <name>       field, column or array of the true label (default label)
  --id-field <name>          field or column of the row id (default id)
  --batch-size <n>           rows per inference run (default: automatic)
  --threads <n>              threads per model run (default: the physical cores available)
  --shard <i> --shards <n>   evaluate rows i, i+n, i+2n, ... and write a shard report
  --merge <reports...>       combine shard reports instead of evaluating
  --seed <n>                 bootstrap seed
  --report <path>            write the JSON report here
  --json                     print the JSON report on stdout
  --quiet                    no progress lines
  -h, --help                 this help
`;

const options = {
  fixtures: { type: 'string' },
  task: { type: 'string' },
  'baseline-model': { type: 'string' },
  'baseline-report': { type: 'string' },
  thresholds: { type: 'string' },
  config: { type: 'string' },
  'model-name': { type: 'string' },
  'slice-by': { type: 'string', multiple: true },
  'label-field': { type: 'string' },
  'id-field': { type: 'string' },
  'batch-size': { type: 'string' },
  threads: { type: 'string' },
  shard: { type: 'string' },
  shards: { type: 'string' },
  merge: { type: 'boolean' },
  seed: { type: 'string' },
  report: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
} as const;

function integer(flag: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new ModelshipError(
      'CLI_USAGE',
      `--${flag} must be an integer of at least ${min}, got '${value}'.`,
      "Run 'modelship evaluate --help'.",
    );
  }
  return n;
}

export const command: CliCommand = {
  summary: 'metrics on fixtures; fail on a significant regression against a baseline',
  async run(argv) {
    // `--merge a.json b.json` takes the positionals as reports.
    const parsed = parseCommandArgs('evaluate', argv, options, help);
    if (!parsed) return 0;
    const { values, positionals } = parsed;
    const task = values.task;
    if (task !== undefined && !TASKS.includes(task as Task)) {
      throw new ModelshipError('CLI_USAGE', `--task must be one of ${TASKS.join(', ')}, got '${task}'.`);
    }
    const shard = integer('shard', values.shard, 0);
    const shards = integer('shards', values.shards, 1);
    if ((shard === undefined) !== (shards === undefined)) {
      throw new ModelshipError('CLI_USAGE', '--shard and --shards go together.', "Run 'modelship evaluate --help'.");
    }
    if (!values.merge && positionals.length > 1) {
      throw new ModelshipError(
        'CLI_USAGE',
        `One model at a time, got ${positionals.join(', ')}.`,
        "Run 'modelship evaluate --help'.",
      );
    }
    const evaluateOptions: EvaluateOptions = {
      ...(values.merge ? { merge: positionals } : { model: positionals[0] }),
      fixtures: values.fixtures,
      task: task as Task | undefined,
      baselineModel: values['baseline-model'],
      baselineReport: values['baseline-report'],
      thresholds: values.thresholds,
      config: values.config,
      modelName: values['model-name'],
      sliceBy: values['slice-by']?.flatMap((s) => s.split(',').map((x) => x.trim())).filter(Boolean),
      fields: {
        ...(values['label-field'] ? { label: values['label-field'] } : {}),
        ...(values['id-field'] ? { id: values['id-field'] } : {}),
      },
      batchSize: values['batch-size'] === 'auto' ? undefined : integer('batch-size', values['batch-size'], 1),
      threads: values.threads === 'auto' ? undefined : integer('threads', values.threads, 1),
      seed: integer('seed', values.seed, 0),
      reportPath: values.report ? resolve(values.report) : undefined,
      progressIntervalMs: values.quiet ? 0 : 5_000,
      ...(shard !== undefined && shards !== undefined ? { shard: { index: shard, count: shards } } : {}),
    };
    if (values.merge && positionals.length === 0) {
      throw new ModelshipError(
        'CLI_USAGE',
        '--merge needs the shard reports to combine.',
        "Run 'modelship evaluate --help'.",
      );
    }
    const log = terminalLogger();
    const result = await evaluate(evaluateOptions, values.quiet ? { ...log, info: () => {} } : log);
    if (values.json) process.stdout.write(JSON.stringify(result.report, null, 2) + '\n');
    else process.stdout.write(result.summary);
    // A shard's verdict covers only its rows; the merged report decides.
    return result.passed || result.report.shard ? 0 : 1;
  },
};
