import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryLogger, silentLogger } from '../../src/log.js';
import type { EvaluateReport } from '../../src/report/evaluate-report.js';
import { evaluate, type EvaluateOptions } from '../../src/steps/evaluate.js';
import { comparable, evaluationError } from '../support/evaluate-run.js';

const models = 'fixtures/models';
const iris = { jsonl: 'fixtures/data/iris/heldout.jsonl', csv: 'fixtures/data/iris/heldout.csv' };
const mpg = { jsonl: 'fixtures/data/mpg/heldout.jsonl', csv: 'fixtures/data/mpg/heldout.csv' };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelship-evaluate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const failure = evaluationError;

describe('evaluate against a baseline model', () => {
  it('passes iris-v2 against iris-v1 and writes the report', async () => {
    const reportPath = join(dir, 'v2.json');
    const result = await evaluate(
      {
        model: `${models}/iris-v2`,
        baselineModel: `${models}/iris-v1`,
        fixtures: iris.jsonl,
        thresholds: 'accuracy: {max-drop: 2%}\nmacro_f1: {min: 0.9}',
        sliceBy: ['petal_size'],
        reportPath,
      },
      silentLogger,
    );
    expect(result.passed).toBe(true);
    const written = JSON.parse(await readFile(reportPath, 'utf8')) as EvaluateReport;
    expect(written).toEqual(JSON.parse(JSON.stringify(result.report)));
    expect(written).toMatchObject({
      schema: 'modelship/evaluate-report@1',
      passed: true,
      task: 'classification',
      rows: 50,
    });
    expect(written.metrics.accuracy).toBeGreaterThanOrEqual(written.baseline!.metrics.accuracy);
    expect(written.model.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(written.comparisons.map((c) => c.verdict)).not.toContain('fail');
    expect(Object.keys(written.slices!.petal_size).sort()).toEqual(['large', 'medium', 'small']);
    const sliceRows = Object.values(written.slices!.petal_size).reduce((n, s) => n + s.rows, 0);
    expect(sliceRows).toBe(50);
    // The flips listed are exactly the rows where the two models disagree.
    expect(result.flips).toBe(written.flips!.count);
    expect(written.flips!.shown.every((f) => f.baseline !== f.candidate)).toBe(true);
    expect(result.summary).toContain('| metric | baseline | candidate | delta | threshold | verdict |');
  });

  it('finds the same candidate metrics alone (counted a batch at a time) as beside a baseline (row by row)', async () => {
    const options = { model: `${models}/iris-regressed`, fixtures: iris.jsonl, batchSize: 16 };
    const alone = await evaluate(options, silentLogger);
    const paired = await evaluate({ ...options, baselineModel: `${models}/iris-v1` }, silentLogger);
    expect(alone.report.metrics.log_loss).toBeGreaterThan(0);
    expect(alone.report.metrics.accuracy).toBeLessThan(1);
    expect(alone.report.metrics).toEqual(paired.report.metrics);
    expect(alone.report.details).toEqual({
      labels: paired.report.details!.labels,
      confusion: paired.report.details!.confusion,
      classes: paired.report.details!.classes,
    });
  });

  it('fails iris-regressed and names the metric', async () => {
    const log = memoryLogger();
    const result = await evaluate(
      {
        model: `${models}/iris-regressed`,
        baselineModel: `${models}/iris-v1`,
        fixtures: iris.jsonl,
        thresholds: 'accuracy: {max-drop: 2%}',
      },
      log,
    );
    expect(result.passed).toBe(false);
    const accuracy = result.report.comparisons.find((c) => c.metric === 'accuracy')!;
    expect(accuracy).toMatchObject({ verdict: 'fail', significant: true });
    expect(accuracy.pValue).toBeLessThan(0.05);
    expect(accuracy.reason).toMatch(/^accuracy dropped by/);
    expect(log.lines.some((l) => l.startsWith('error: accuracy:'))).toBe(true);
    expect(result.summary).toMatch(/failed \(accuracy\)/);
  });

  it('passes a drop it cannot call significant, with a warning that says why', async () => {
    // Ten rows: iris-regressed is wrong on a few, too few to tell from chance.
    const few = join(dir, 'few.jsonl');
    const lines = (await readFile(iris.jsonl, 'utf8')).trim().split('\n');
    await writeFile(few, [...lines.slice(0, 4), ...lines.slice(-4)].join('\n') + '\n');
    const result = await evaluate(
      {
        model: `${models}/iris-regressed`,
        baselineModel: `${models}/iris-v1`,
        fixtures: few,
        thresholds: 'accuracy: {max-drop: 0}',
      },
      silentLogger,
    );
    const accuracy = result.report.comparisons.find((c) => c.metric === 'accuracy')!;
    expect(accuracy.delta).toBeLessThan(0);
    expect(accuracy.verdict).toBe('warn');
    expect(accuracy.reason).toContain('8 rows: not enough evidence');
    expect(result.passed).toBe(true);
  });

  it('refuses a baseline with another signature, listing every difference', async () => {
    const error = await failure({
      model: `${models}/iris-breaking`,
      baselineModel: `${models}/iris-v1`,
      fixtures: iris.jsonl,
    });
    expect(error.code).toBe('SIGNATURE_MISMATCH');
    expect(error.message).toContain("input 'measurements'");
    expect(error.message).toContain("input 'features' of the baseline is not an input of the candidate");
  });

  it('refuses fixtures that do not fit the model, with the file and line', async () => {
    const error = await failure({ model: `${models}/iris-v1`, fixtures: mpg.jsonl });
    expect(error.code).toBe('SIGNATURE_MISMATCH');
    expect(error.location).toMatchObject({ file: mpg.jsonl, line: 1 });
    expect(error.message).toMatch(/input 'features' .* gets 5 values .* takes 4/);
    const renamed = await failure({ model: `${models}/iris-breaking`, fixtures: iris.jsonl });
    expect(renamed.code).toBe('SIGNATURE_MISMATCH');
    expect(renamed.message).toContain("input 'measurements'");
    expect(renamed.message).toContain("'features' is not an input of the model");
  });
});

describe('fixture formats', () => {
  it('gives identical metrics from CSV and JSONL', async () => {
    for (const [model, data, task] of [
      ['iris-v2', iris, 'classification'],
      ['mpg-v1', mpg, 'regression'],
    ] as const) {
      const fromJsonl = await evaluate({ model: `${models}/${model}`, fixtures: data.jsonl }, silentLogger);
      const fromCsv = await evaluate({ model: `${models}/${model}`, fixtures: data.csv }, silentLogger);
      expect(fromJsonl.report.task).toBe(task);
      expect(fromCsv.report.metrics).toEqual(fromJsonl.report.metrics);
      expect(fromCsv.report.rows).toBe(fromJsonl.report.rows);
      expect(fromCsv.report.details).toEqual(fromJsonl.report.details);
    }
  });

  it('checks a model against its ONNX test data set (golden)', async () => {
    const result = await evaluate({ model: `${models}/iris-v1`, fixtures: `${models}/iris-v1` }, silentLogger);
    expect(result.report.task).toBe('golden');
    expect(result.report.metrics.pass_rate).toBe(1);
    const outputs = (result.report.details as { outputs: Array<{ output: string; passRate: number }> }).outputs;
    expect(outputs.map((o) => o.output)).toEqual(['label', 'probabilities']);
    expect(result.passed).toBe(true);
  });

  it('fails another model on that test data set, saying what differs', async () => {
    const result = await evaluate(
      {
        model: `${models}/iris-regressed`,
        baselineModel: `${models}/iris-v1`,
        fixtures: `${models}/iris-v1/test_data_set_0`,
      },
      silentLogger,
    );
    expect(result.report.metrics.pass_rate).toBe(0);
    expect(result.passed).toBe(false);
    const pass = result.report.comparisons.find((c) => c.metric === 'pass_rate')!;
    expect(pass.reason).toMatch(/below the minimum 1/);
    const failures = (result.report.details as { failures: Array<{ output: string; message: string }> }).failures;
    expect(failures[0].message).toMatch(/out of tolerance; first at/);
  });
});

describe('sharding', () => {
  const run = async (options: EvaluateOptions, shards: number) => {
    const paths: string[] = [];
    for (let index = 0; index < shards; index++) {
      const reportPath = join(dir, `shard-${options.fixtures!.replace(/\W/g, '')}-${index}.json`);
      const shard = await evaluate({ ...options, shard: { index, count: shards }, reportPath }, silentLogger);
      expect(shard.report.shard).toEqual({ index, count: shards });
      expect(shard.report.state).toBeDefined();
      paths.push(reportPath);
    }
    return evaluate({ merge: paths.reverse() }, silentLogger);
  };

  it('merges shard reports into exactly the unsharded result', async () => {
    // Five test data sets (copies of one), so that three shards each get some or none.
    const golden = join(dir, 'golden');
    for (let n = 0; n < 5; n++)
      await cp(`${models}/iris-v1/test_data_set_0`, join(golden, `test_data_set_${n}`), { recursive: true });
    for (const options of [
      {
        model: `${models}/iris-regressed`,
        baselineModel: `${models}/iris-v1`,
        fixtures: iris.jsonl,
        sliceBy: ['petal_size'],
        thresholds: 'accuracy: {max-drop: 2%}',
      },
      { model: `${models}/mpg-v1`, baselineModel: `${models}/mpg-v1`, fixtures: mpg.csv, sliceBy: ['origin'] },
      { model: `${models}/iris-regressed`, baselineModel: `${models}/iris-v1`, fixtures: golden },
      // No baseline and no slices: rows are counted a batch at a time, in batches that differ per shard.
      { model: `${models}/iris-regressed`, fixtures: iris.jsonl, batchSize: 7 },
    ] satisfies EvaluateOptions[]) {
      const whole = await evaluate(options, silentLogger);
      const merged = await run(options, 3);
      expect(comparable(merged.report)).toEqual(comparable(whole.report));
      expect(merged.passed).toBe(whole.passed);
      expect(merged.report.shard).toBeUndefined();
    }
  });

  it('refuses an incomplete or mixed set of shards', async () => {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    await evaluate(
      { model: `${models}/iris-v1`, fixtures: iris.jsonl, shard: { index: 0, count: 3 }, reportPath: a },
      silentLogger,
    );
    await evaluate(
      { model: `${models}/iris-v2`, fixtures: iris.jsonl, shard: { index: 0, count: 3 }, reportPath: b },
      silentLogger,
    );
    const error = await failure({ merge: [a, b] });
    expect(error.code).toBe('MERGE_INVALID');
    expect(error.message).toContain('are both shard 0');
    expect(error.message).toContain('evaluated another model');
    expect(error.message).toContain('shards 1, 2 of 3 are missing');
    expect(
      (await failure({ model: `${models}/iris-v1`, fixtures: iris.jsonl, shard: { index: 3, count: 3 } })).code,
    ).toBe('EVALUATE_OPTIONS_INVALID');
  });
});

describe('baselines from reports, thresholds and configuration', () => {
  it('compares with a baseline report', async () => {
    const baseline = join(dir, 'baseline.json');
    await evaluate({ model: `${models}/iris-v1`, fixtures: iris.jsonl, reportPath: baseline }, silentLogger);
    const result = await evaluate(
      {
        model: `${models}/iris-regressed`,
        fixtures: iris.jsonl,
        baselineReport: baseline,
        thresholds: 'accuracy: {max-drop: 2%}\nlog_loss: {max-drop: 0.1}',
      },
      silentLogger,
    );
    expect(result.report.baseline).toMatchObject({ source: 'report', path: baseline });
    const accuracy = result.report.comparisons.find((c) => c.metric === 'accuracy')!;
    expect(accuracy.verdict).toBe('fail');
    expect(accuracy.reason).toContain('unpaired two-proportion test');
    const logLoss = result.report.comparisons.find((c) => c.metric === 'log_loss')!;
    expect(logLoss.verdict).toBe('fail');
    expect(logLoss.reason).toContain('no paired rows');
  });

  it('rejects thresholds on metrics the task does not have', async () => {
    const error = await failure({ model: `${models}/mpg-v1`, fixtures: mpg.jsonl, thresholds: 'accuracy: {min: 0.9}' });
    expect(error.code).toBe('THRESHOLDS_INVALID');
    expect(error.hint).toContain('mae, rmse, r2, mape');
  });

  it('reads the model, fixtures, slices and thresholds from modelship.yml', async () => {
    const config = join(dir, 'modelship.yml');
    const root = process.cwd();
    await writeFile(
      config,
      [
        'models:',
        '  iris:',
        `    path: ${root}/${models}/iris-regressed/model.onnx`,
        '    fixtures:',
        `      path: ${root}/${iris.csv}`,
        '      inputs: { features: [sepal_length, sepal_width, petal_length, petal_width] }',
        '      slices: [petal_size]',
        '    thresholds:',
        '      accuracy: { min: 0.9 }',
      ].join('\n') + '\n',
    );
    const result = await evaluate({ config, modelName: 'iris' }, silentLogger);
    expect(result.report.name).toBe('iris');
    expect(result.passed).toBe(false);
    expect(result.report.comparisons.find((c) => c.metric === 'accuracy')!.reason).toMatch(/below the minimum 0.9/);
    expect(Object.keys(result.report.slices!.petal_size)).toHaveLength(3);
  });
});
