import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { npyHeader } from '../../src/fixtures/npy.js';
import { silentLogger } from '../../src/log.js';
import type { EvaluateReport } from '../../src/report/evaluate-report.js';
import { evaluate, type EvaluateOptions } from '../../src/steps/evaluate.js';
import { comparable, evaluationError } from '../support/evaluate-run.js';
import { identityModel, writeModel } from '../support/onnx-models.js';
import { validate } from '../../src/steps/validate.js';

// numpy's own files (test/data/npy/make.py) holding the same held-out rows as fixtures/data.
const models = 'fixtures/models';
const npy = 'test/data/npy';
const irisJsonl = 'fixtures/data/iris/heldout.jsonl';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelship-evaluate-npy-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const failure = evaluationError;

/** What an evaluation found, without timing, where it ran, or which file it read. */
const findings = (r: EvaluateReport) => {
  const { fixtures: _fixtures, ...rest } = comparable(r);
  return rest;
};

describe('evaluate on numpy arrays', () => {
  it('finds on a stored archive, a compressed one and a folder what it finds on JSONL', async () => {
    const options: EvaluateOptions = {
      model: `${models}/iris-v2`,
      baselineModel: `${models}/iris-v1`,
      sliceBy: ['petal_size'],
      thresholds: 'accuracy: {max-drop: 2%}',
    };
    const fromJsonl = await evaluate({ ...options, fixtures: irisJsonl }, silentLogger);
    expect(fromJsonl.report.flips!.count).toBeGreaterThan(0);
    // The archive holds float64 features and integer labels: both converted as the model needs.
    for (const fixtures of [`${npy}/iris.npz`, `${npy}/iris-compressed.npz`, `${npy}/iris`]) {
      const result = await evaluate({ ...options, fixtures }, silentLogger);
      expect(findings(result.report), fixtures).toEqual(findings(fromJsonl.report));
      expect(result.report.fixtures).toMatchObject({ path: fixtures, format: 'npy', rows: 50 });
    }
  });

  it('gives regression metrics equal to JSONL, and batch size does not change them', async () => {
    const fromJsonl = await evaluate(
      { model: `${models}/mpg-v1`, fixtures: 'fixtures/data/mpg/heldout.jsonl', sliceBy: ['origin'] },
      silentLogger,
    );
    for (const batchSize of [1, 7, 1024]) {
      const result = await evaluate(
        { model: `${models}/mpg-v1`, fixtures: `${npy}/mpg.npz`, sliceBy: ['origin'], batchSize },
        silentLogger,
      );
      expect(result.report.task).toBe('regression');
      expect(result.report.metrics).toEqual(fromJsonl.report.metrics);
      expect(result.report.slices).toEqual(fromJsonl.report.slices);
    }
  });

  it('finds the same on one thread as on every core, and refuses a thread count that is not one', async () => {
    const options: EvaluateOptions = {
      model: `${models}/iris-v2`,
      baselineModel: `${models}/iris-v1`,
      fixtures: `${npy}/iris.npz`,
      sliceBy: ['petal_size'],
    };
    const everyCore = await evaluate(options, silentLogger);
    const oneThread = await evaluate({ ...options, threads: 1 }, silentLogger);
    expect(findings(oneThread.report)).toEqual(findings(everyCore.report));
    for (const threads of [0, 1.5, -2]) {
      const error = await failure({ ...options, threads });
      expect(error.code).toBe('EVALUATE_OPTIONS_INVALID');
      expect(error.message).toContain(`threads must be a positive integer, got ${threads}`);
    }
  });

  it('merges sharded runs into exactly the unsharded result', async () => {
    const options: EvaluateOptions = {
      model: `${models}/iris-regressed`,
      baselineModel: `${models}/iris-v1`,
      fixtures: `${npy}/iris.npz`,
      sliceBy: ['petal_size'],
      batchSize: 4,
    };
    const whole = await evaluate(options, silentLogger);
    const paths: string[] = [];
    for (let index = 0; index < 3; index++) {
      const reportPath = join(dir, `shard-${index}.json`);
      const shard = await evaluate({ ...options, shard: { index, count: 3 }, reportPath }, silentLogger);
      expect(shard.report.rows).toBe([17, 17, 16][index]);
      paths.push(reportPath);
    }
    const merged = await evaluate({ merge: paths }, silentLogger);
    expect(findings(merged.report)).toEqual(findings(whole.report));
    expect(merged.passed).toBe(whole.passed);
  });

  it('takes array and label names from modelship.yml', async () => {
    const config = join(dir, 'modelship.yml');
    const root = process.cwd();
    await writeFile(
      config,
      [
        'models:',
        '  grid:',
        `    path: ${root}/${models}/iris-v1/model.onnx`,
        '    fixtures:',
        `      path: ${root}/${npy}/large-compressed.npz`,
        '      inputs: { features: x }',
        '    thresholds:',
        '      accuracy: { min: 0.1 }',
      ].join('\n') + '\n',
    );
    const result = await evaluate({ config, modelName: 'grid' }, silentLogger);
    expect(result.report.rows).toBe(20_000);
    expect(result.report.fixtures.format).toBe('npy');
  });

  it('says what is wrong with arrays that do not fit the model or the task', async () => {
    const shape = await failure({ model: `${models}/iris-v1`, fixtures: `${npy}/mpg.npz` });
    expect(shape.code).toBe('SIGNATURE_MISMATCH');
    expect(shape.message).toMatch(/Input 'features' takes rows of shape \[4\].*holds rows of shape \(5\)/);

    const noInput = await failure({ model: `${models}/iris-breaking`, fixtures: `${npy}/iris.npz` });
    expect(noInput.code).toBe('SIGNATURE_MISMATCH');
    expect(noInput.message).toMatch(/No array for input 'measurements'.*The arrays are: features <f4 \(50, 4\)/);
    expect(noInput.hint).toMatch(/measurements\.npy/);

    const noLabel = await failure({ model: `${models}/iris-v1`, fixtures: `${npy}/v2.npy` });
    expect(noLabel.code).toBe('SIGNATURE_MISMATCH');

    const label = await failure({ model: `${models}/iris-v1`, fixtures: `${npy}/iris`, fields: { label: 'species' } });
    expect(label.code).toBe('FIXTURE_INVALID');
    expect(label.message).toMatch(/no 'species' array of true labels/);

    const slice = await failure({ model: `${models}/iris-v1`, fixtures: `${npy}/iris`, sliceBy: ['colour'] });
    expect(slice.message).toMatch(/no 'colour' array to slice by/);

    const golden = await failure({ model: `${models}/iris-v1`, fixtures: `${npy}/iris.npz`, task: 'golden' });
    expect(golden.code).toBe('FIXTURE_INVALID');
    expect(golden.hint).toMatch(/test_data_set_N/);

    const strings = await failure({
      model: `${models}/iris-v1`,
      fixtures: `${npy}/iris.npz`,
      mapping: { features: 'petal_size' },
    });
    expect(strings.message).toMatch(/holds rows of shape \(\)|holds strings/);

    const empty = await failure({ model: `${models}/iris-v1`, fixtures: `${npy}/empty.npy` });
    expect(empty.code).toBe('FIXTURE_INVALID');
  });

  it('converts arrays to the datatype of the input, and refuses values the input cannot hold', async () => {
    const model = join(dir, 'int-identity.onnx');
    await writeModel(model, identityModel({ dtype: 'INT64', shape: ['batch', 1] }));
    const arrays = async (name: string, x: number[]) => {
      const folder = join(dir, name);
      await mkdir(folder, { recursive: true });
      await writeFile(
        join(folder, 'X.npy'),
        Buffer.concat([npyHeader('<f8', [x.length, 1]), Buffer.from(new Float64Array(x).buffer)]),
      );
      const labels = new BigInt64Array([2n, 0n, 1n, 2n]);
      await writeFile(join(folder, 'label.npy'), Buffer.concat([npyHeader('<i8', [4]), Buffer.from(labels.buffer)]));
      return folder;
    };
    // float64 values 2.0, 0.0, 1.0 become the int64 classes the identity gives back; 1.9 truncates to 1.
    const result = await evaluate({ model, fixtures: await arrays('floats', [2, 0, 1, 1.9]) }, silentLogger);
    expect(result.report.task).toBe('classification');
    expect(result.report.metrics.accuracy).toBe(0.75);
    const nan = await failure({ model, fixtures: await arrays('nan', [2, 0, NaN, 1]) });
    expect(nan.code).toBe('FIXTURE_INVALID');
    expect(nan.message).toMatch(/X\.npy holds NaN, which no integer stands for/);
  });

  it('sizes batches by the rows the arrays hold when the model leaves their width open', async () => {
    const model = join(dir, 'open-width.onnx');
    await writeModel(model, identityModel({ dtype: 'FP32', shape: ['batch', 'width'] }));
    const folder = join(dir, 'open-width');
    await mkdir(folder, { recursive: true });
    const rows = 3000;
    const width = 64;
    const x = new Float32Array(rows * width).map((_, i) => (i % width === Math.floor(i / width) % 3 ? 1 : 0));
    await writeFile(join(folder, 'X.npy'), Buffer.concat([npyHeader('<f4', [rows, width]), Buffer.from(x.buffer)]));
    const labels = BigInt64Array.from({ length: rows }, (_, r) => BigInt(r % 3));
    await writeFile(join(folder, 'label.npy'), Buffer.concat([npyHeader('<i8', [rows]), Buffer.from(labels.buffer)]));
    // An output of open width is read as class scores when the task says so.
    const result = await evaluate({ model, fixtures: folder, task: 'classification' }, silentLogger);
    expect(result.report.metrics.accuracy).toBe(1);
    // 256 bytes of input a row: 1024 rows make 256 KiB (counting the open width as 1 would give 16384).
    expect(result.report.latency?.batchSize).toBe(1024);
  });

  it('refuses a batch size larger than memory allows, with what to do about it', async () => {
    const model = join(dir, 'open-width-large.onnx');
    await writeModel(model, identityModel({ dtype: 'FP32', shape: ['batch', 'width'] }));
    const folder = join(dir, 'huge');
    await mkdir(folder, { recursive: true });
    // Headers alone: a million rows of 32 KiB, which no batch of them all fits in memory.
    await writeFile(join(folder, 'X.npy'), npyHeader('<f4', [1 << 20, 1 << 13]));
    await writeFile(join(folder, 'label.npy'), npyHeader('<i8', [1 << 20]));
    const error = await failure({ model, fixtures: folder, task: 'classification', batchSize: 1 << 20 });
    expect(error.code).toBe('EVALUATE_OPTIONS_INVALID');
    expect(error.message).toMatch(/A batch of 1048576 rows .* more memory than this process can hold/);
    expect(error.hint).toMatch(/smaller batch-size/);
  });

  it('gives the smoke run of validate its first rows', async () => {
    const result = await validate(
      { model: `${models}/iris-v1/model.onnx`, fixtures: `${npy}/iris.npz`, reportPath: join(dir, 'validate.json') },
      silentLogger,
    );
    const smoke = result.report.checks.find((c) => c.id === 'smoke.run')!;
    expect(smoke.status).toBe('pass');
    expect(smoke.message).toContain('fixture rows (features FP32 [32, 4])');
  });
});
