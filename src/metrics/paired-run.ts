/**
 * Runs the candidate (and the baseline, on the very same feeds) over the fixtures in one streaming pass
 * and feeds the task's accumulators. Only one batch of rows is alive at a time, so memory stays flat
 * whatever the number of rows.
 */
import { performance } from 'node:perf_hooks';
import { ModelshipError } from '../errors.js';
import { createRowParser, type FixtureRow } from '../fixtures/rows.js';
import { readLineBatches } from '../fixtures/lines.js';
import { listTestDataSets, readTestCases, type TestCase, type TestTensor } from '../fixtures/test-data.js';
import type { Logger } from '../log.js';
import { runArrays } from './array-run.js';
import { createScorer, Progress, type RunOptions, type RunResult } from './fixture-run.js';
import { compareTensors } from './golden.js';
import { GoldenEvaluation } from './golden-evaluation.js';
import { LatencyHistogram } from './latency.js';
import { autoBatchSize, RowBatchBuilder } from '../runtime/row-batches.js';
import type { Signature, TensorSignature, TensorValue } from '../runtime/tensor.js';
import type { LoadedModel } from '../runtime/loaded-model.js';

export async function runEvaluation(
  options: RunOptions,
  candidate: LoadedModel,
  baseline: LoadedModel | undefined,
  log: Logger,
): Promise<RunResult> {
  if (options.format === 'test-data') return runTestData(options, candidate, baseline, log);
  if (options.format === 'npy') return runArrays(options, candidate, baseline, log);
  return runRows(options, candidate, baseline, log);
}

/** Values per row of a one-input model whose dimensions after the batch are all fixed. */
function fixedWidth(signature: Signature): number | undefined {
  if (signature.inputs.length !== 1) return undefined;
  const rest = signature.inputs[0].shape.slice(1);
  return rest.every((d) => typeof d === 'number' && d >= 0)
    ? rest.reduce<number>((a, d) => a * (d as number), 1)
    : undefined;
}

/** Every input name the model takes, and every name the row gives that it does not. */
function checkFirstRow(row: FixtureRow, signature: Signature, file: string): void {
  const names = new Set(signature.inputs.map((i) => i.name));
  const problems = [
    ...signature.inputs
      .filter((i) => !(i.name in row.inputs))
      .map((i) => `input '${i.name}' (${i.datatype} [${i.shape.join(', ')}]) is missing from the rows`),
    ...Object.keys(row.inputs)
      .filter((n) => !names.has(n))
      .map((n) => `'${n}' is not an input of the model`),
  ];
  if (problems.length > 0) {
    throw new ModelshipError(
      'SIGNATURE_MISMATCH',
      `The fixtures do not fit the model's inputs (${[...names].join(', ')}):\n- ${problems.join('\n- ')}`,
      'Fix the fixture rows or the input mapping, or evaluate the model these fixtures were written for.',
      { file, line: row.line },
    );
  }
}

async function runRows(
  options: RunOptions,
  candidate: LoadedModel,
  baseline: LoadedModel | undefined,
  log: Logger,
): Promise<RunResult> {
  const { task, fixtures: file, fields } = options;
  const signature = candidate.session.signature;
  const batchSize = options.batchSize ?? autoBatchSize(signature);
  const builder = new RowBatchBuilder(signature, batchSize);
  const scorer = createScorer(options, candidate, baseline, log, 'Line');
  const { evaluation, plan, latency, progress } = scorer.ctx;
  const pending = scorer.pending;
  const counted = { rows: 0 };
  const flush = async () => {
    if (pending.count === 0) return;
    await scorer.score(builder.feeds());
    builder.reset();
  };

  const parser = createRowParser({
    path: file,
    format: options.format === 'csv' ? 'csv' : 'jsonl',
    fields,
    mapping: options.mapping,
    inputNames: builder.inputNames,
    inputWidth: fixedWidth(signature),
    shard: options.shard,
    counted,
  });
  // Row by row straight into the batch tensors: a chunk's parsed rows are never all alive at once.
  for await (const { lines, firstLine } of readLineBatches(file)) {
    for (let i = 0; i < lines.length; i++) {
      const row = parser.line(lines[i], firstLine + i);
      if (!row) continue;
      if (pending.count === 0 && evaluation.rows === 0) {
        checkFirstRow(row, signature, file);
        if (task === 'golden') scorer.goldenOutputs = goldenOutputNames(row, signature, file);
      }
      builder.add(row.inputs, { file, line: row.line });
      pending.push(row.index, row.line, row.id, row.label, row.slices, row.expected);
      if (builder.full) await flush();
    }
  }
  parser.end();
  await flush();
  progress.done(evaluation.rows);
  // A shard may draw no rows (more shards than rows); the file itself must have some.
  if (counted.rows === 0) {
    throw new ModelshipError(
      'FIXTURE_INVALID',
      `${file} has no rows.`,
      'Each line of a JSONL file, or each CSV line after the header, is a row.',
      { file },
    );
  }
  return {
    evaluation,
    latency,
    batchSize: Math.min(builder.capacity, evaluation.rows),
    totalRows: counted.rows,
    outputs: plan?.fetch ?? scorer.goldenOutputs ?? [],
  };
}

function goldenOutputNames(row: FixtureRow, signature: Signature, file: string): string[] {
  const expected = Object.keys(row.expected ?? {});
  const names = new Set(signature.outputs.map((o) => o.name));
  const unknown = expected.filter((n) => !names.has(n));
  if (expected.length === 0 || unknown.length > 0) {
    throw new ModelshipError(
      'SIGNATURE_MISMATCH',
      expected.length === 0
        ? `Line ${row.line} has no expected outputs for a golden check.`
        : `Expected outputs ${unknown.map((n) => `'${n}'`).join(', ')} are not outputs of the model (${[...names].join(', ')}).`,
      'A golden JSONL row carries {"outputs": {"<output name>": [...]}} beside its inputs.',
      { file, line: row.line },
    );
  }
  return expected;
}

// ---- ONNX test data sets ----

const variable = (d: number | string) => typeof d === 'string' || d < 0;
const fits = (t: TensorValue, s: TensorSignature) =>
  t.shape.length === s.shape.length && s.shape.every((d, i) => variable(d) || d === t.shape[i]);

/** Matches a case's tensors to the model's by name when every file names one, else by position. */
function matchTensors(
  kind: 'input' | 'output',
  tensors: TestTensor[],
  declared: TensorSignature[],
  testCase: TestCase,
  problems: string[],
): Array<[TensorSignature, TestTensor]> {
  const byName = tensors.every((t) => t.name !== '' && declared.some((d) => d.name === t.name));
  if (kind === 'input' && tensors.length !== declared.length) {
    problems.push(
      `${testCase.id} has ${tensors.length} input file${tensors.length === 1 ? '' : 's'}; the model takes ${declared.length} input${declared.length === 1 ? '' : 's'} (${declared.map((d) => d.name).join(', ')})`,
    );
  }
  if (kind === 'output' && tensors.length > declared.length) {
    problems.push(`${testCase.id} has ${tensors.length} expected outputs; the model gives ${declared.length}`);
  }
  const pairs: Array<[TensorSignature, TestTensor]> = [];
  tensors.forEach((t, i) => {
    const d = byName ? declared.find((x) => x.name === t.name) : declared[i];
    if (!d) return;
    if (d.datatype !== t.value.datatype)
      problems.push(`${kind} '${d.name}': the model has ${d.datatype}, ${t.file} holds ${t.value.datatype}`);
    else if (!fits(t.value, d))
      problems.push(
        `${kind} '${d.name}': the model has shape [${d.shape.join(', ')}], ${t.file} holds [${t.value.shape.join(', ')}]`,
      );
    pairs.push([d, t]);
  });
  return pairs;
}

async function runTestData(
  options: RunOptions,
  candidate: LoadedModel,
  baseline: LoadedModel | undefined,
  log: Logger,
): Promise<RunResult> {
  const evaluation = new GoldenEvaluation(options.settings);
  const signature = candidate.session.signature;
  const latency = { candidate: new LatencyHistogram(), ...(baseline ? { baseline: new LatencyHistogram() } : {}) };
  const progress = new Progress(log, options.progressIntervalMs);
  let totalRows = 0;
  let outputs: string[] = [];
  for await (const testCase of readTestCases(options.fixtures, options.shard)) {
    totalRows = Math.max(totalRows, testCase.index + 1);
    const problems: string[] = [];
    const inputs = matchTensors('input', testCase.inputs, signature.inputs, testCase, problems);
    const expected = matchTensors('output', testCase.outputs, signature.outputs, testCase, problems);
    if (problems.length > 0) {
      throw new ModelshipError(
        'SIGNATURE_MISMATCH',
        `The test data does not fit the model:\n- ${problems.join('\n- ')}`,
        'Regenerate the test data for this model, or evaluate the model it was made for.',
        { file: testCase.dir },
      );
    }
    const feeds = Object.fromEntries(inputs.map(([d, t]) => [d.name, t.value]));
    const fetch = expected.map(([d]) => d.name);
    outputs = fetch;
    const tolerance = { ...testCase.tolerance, ...options.tolerance };
    const judge = async (model: LoadedModel, histogram: LatencyHistogram) => {
      const t0 = performance.now();
      const out = await model.session.run(feeds, fetch);
      histogram.add(performance.now() - t0, 1);
      return Object.fromEntries(expected.map(([d, t]) => [d.name, compareTensors(out[d.name], t.value, tolerance)]));
    };
    const cand = await judge(candidate, latency.candidate);
    const base = baseline ? await judge(baseline, latency.baseline!) : undefined;
    evaluation.add(testCase.index, testCase.id, cand, base);
    progress.tick(evaluation.rows);
  }
  progress.done(evaluation.rows);
  // Every shard lists the same folders, so the total is known even when the last one went elsewhere.
  if (options.shard) totalRows = (await listTestDataSets(options.fixtures)).length;
  return { evaluation, latency, batchSize: 1, totalRows, outputs };
}
