import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { memoryLogger } from '../../src/log.js';
import { digestModel } from '../../src/onnx/digest.js';
import { validate, type ValidateOptions, type ValidateResult } from '../../src/steps/validate.js';
import { CHECK_IDS, type CheckResult } from '../../src/validate/checks.js';
import type { ValidateReport } from '../../src/validate/report.js';
import { writeMlpModel } from '../../scripts/fixtures/mlp.js';
import { foreverLoopModel } from '../support/hostile-models.js';
import { writeModel } from '../support/onnx-models.js';
import { builtRuntimeWorker } from '../support/runtime-worker.js';

const repo = path.join(import.meta.dirname, '..', '..');
const models = path.join(repo, 'fixtures', 'models');
const bad = path.join(models, 'bad');
const irisRows = path.join(repo, 'fixtures', 'data', 'iris', 'heldout.jsonl');

let dir: string;
let reports = 0;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'modelship-validate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(options: ValidateOptions): Promise<ValidateResult & { byId: Record<string, CheckResult> }> {
  const result = await validate(
    { reportPath: path.join(dir, `report-${reports++}.json`), runtimeWorker: builtRuntimeWorker(), ...options },
    memoryLogger(),
  );
  return { ...result, byId: Object.fromEntries(result.report.checks.map((check) => [check.id, check])) };
}

const failed = (report: ValidateReport) => report.checks.filter((c) => c.status === 'fail').map((c) => c.id);

/** Each broken fixture, the check that must name it, and words its message must contain. */
const BAD: Array<[string, string[], string[]]> = [
  ['truncated.onnx', ['structure.decode'], ['does not decode', 'runs past the end']],
  ['random-bytes.onnx', ['structure.decode'], ['does not decode', 're-export']],
  ['lfs-pointer.onnx', ['file.lfs-pointer'], ['Git LFS pointer', 'git lfs pull', "'lfs: true'"]],
  ['external-escape/model.onnx', ['external-data.location'], ["'../outside.bin'", "contains '..'"]],
  ['short-raw-data.onnx', ['structure.raw-data'], ["initializer 'C'", 'raw_data holds 8']],
  ['unsorted-nodes.onnx', ['structure.topological-order'], ["node 'relu'", "'T'", 'topologically sorted']],
  ['duplicate-output.onnx', ['structure.names-unique'], ["'Y'", "node 'relu'", "node 'abs'"]],
  // The unknown domain is also missing from opset_import, which onnx.checker reports too.
  [
    'custom-domain.onnx',
    ['structure.opset', 'operators.domains'],
    ['com.example.secret', 'Scramble', 'allowed-domains'],
  ],
  ['dangling-output.onnx', ['structure.outputs-produced'], ["output 'Z'", 'no node']],
];

describe('broken models', () => {
  test('the list covers every model in fixtures/models/bad', async () => {
    const entries = await readdir(bad, { withFileTypes: true });
    const onDisk = entries.flatMap((entry) =>
      entry.isDirectory() ? [`${entry.name}/model.onnx`] : entry.name.endsWith('.onnx') ? [entry.name] : [],
    );
    expect(onDisk.sort()).toEqual(BAD.map(([file]) => file).sort());
  });

  test.each(BAD)('%s fails %j, saying what is wrong', async (file, checks, words) => {
    const { passed, report, byId } = await run({ model: path.join(bad, file) });
    expect(passed).toBe(false);
    expect(failed(report)).toEqual(checks);
    const named = byId[checks[checks.length - 1]];
    for (const word of words) expect(named.message).toContain(word);
    // A model this broken is never handed to onnxruntime.
    expect(byId['runtime.load'].status).toBe('skip');
    expect(byId['runtime.load'].message).toMatch(/^Skipped: /);
    expect(report.checks.map((c) => c.id)).toEqual(CHECK_IDS);
  });
});

describe('good models', () => {
  test.each(['iris-v1', 'iris-v2', 'iris-regressed', 'iris-breaking', 'mpg-v1'])(
    '%s passes every check',
    async (name) => {
      const { passed, report, byId, reportPath } = await run({ model: path.join(models, name) });
      expect(failed(report)).toEqual([]);
      expect(report.checks.filter((c) => c.status === 'warn')).toEqual([]);
      expect(passed).toBe(true);
      expect(byId['smoke.run'].message).toContain('made-up inputs');
      expect(report.digest).toBe(await digestModel(path.join(models, name, 'model.onnx')));
      expect(report).toMatchObject({ schema: 'modelship/validate-report@1', irVersion: 8, opset: 17 });
      // What serving the model takes, measured in the isolated process.
      expect(report.runtime?.loadMs).toBeGreaterThan(0);
      expect(report.runtime?.peakRssBytes).toBeGreaterThan(10 * 2 ** 20);
      expect(JSON.parse(await readFile(reportPath!, 'utf8'))).toEqual(report);
    },
  );

  test('fixture rows feed the smoke run', async () => {
    const { passed, byId, report } = await run({ model: path.join(models, 'iris-v2'), fixtures: irisRows });
    expect(passed).toBe(true);
    expect(byId['smoke.run'].message).toContain('fixture rows (features FP32 [32, 4])');
    expect(report.latency?.runs).toBeGreaterThanOrEqual(3);
  });

  test('a model with external data passes, its data counted in the size and the digest', async () => {
    const folder = path.join(dir, 'mlp');
    await mkdir(folder);
    const { bytes } = await writeMlpModel(path.join(folder, 'model.onnx'), {
      inputSize: 8,
      hiddenSizes: [16],
      outputSize: 2,
      externalData: true,
    });
    const { passed, byId, report } = await run({ model: folder, maxSize: `${bytes}` });
    expect(failed(report)).toEqual([]);
    expect(passed).toBe(true);
    expect(byId['external-data.file'].message).toContain('4 tensor(s) in 1 file(s)');
    expect(byId['file.size'].message).toContain('model.onnx.data');
    expect(report.digest).toBe(await digestModel(folder));

    const over = await run({ model: folder, maxSize: `${bytes - 1}` });
    expect(failed(over.report)).toEqual(['file.size']);
    expect(over.byId['file.size'].message).toContain(`over max-size ${bytes - 1}`);
  });
});

describe('expectations', () => {
  test('expected digest: equal passes, different fails, malformed is refused', async () => {
    const model = path.join(models, 'iris-v1');
    const digest = await digestModel(model);
    expect((await run({ model, expectedDigest: digest.slice('sha256:'.length).toUpperCase() })).passed).toBe(true);
    const other = await run({ model, expectedDigest: `sha256:${'0'.repeat(64)}`, skipRuntime: true });
    expect(failed(other.report)).toEqual(['digest.match']);
    expect(other.byId['digest.match'].message).toContain('update expected-digest');
    await expect(run({ model, expectedDigest: 'sha256:abc' })).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
  });

  test('labels: same order passes, another order fails', async () => {
    const model = path.join(models, 'iris-v1');
    expect(
      (await run({ model, labels: ['setosa', 'versicolor', 'virginica'], skipRuntime: true })).byId['labels.match']
        .status,
    ).toBe('pass');
    const swapped = await run({ model, labels: ['setosa', 'virginica', 'versicolor'], skipRuntime: true });
    expect(swapped.byId['labels.match']).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('different order'),
    });
    const missing = await run({ model, labels: ['cat', 'dog', 'virginica'], skipRuntime: true });
    expect(missing.byId['labels.match'].message).toContain('missing cat, dog; unexpected setosa, versicolor');
  });

  test('strict turns a warning into a failure', async () => {
    const model = path.join(models, 'iris-v1');
    const expectedSignature = { outputs: [{ name: 'label', datatype: 'INT64' as const, shape: ['batch'] }] };
    const lenient = await run({ model, expectedSignature, skipRuntime: true });
    expect(lenient.byId['signature.match'].status).toBe('warn');
    expect(lenient.passed).toBe(true);
    const strict = await run({ model, expectedSignature, skipRuntime: true, strict: true });
    expect(strict.passed).toBe(false);
    expect(strict.report.strict).toBe(true);
  });

  test('fixtures that cannot be read fail the smoke run, not the step', async () => {
    const { byId } = await run({ model: path.join(models, 'iris-v1'), fixtures: dir });
    expect(byId['runtime.load'].status).toBe('pass');
    expect(byId['smoke.run']).toMatchObject({ status: 'fail', message: expect.stringContaining('EISDIR') });
    const missing = await run({ model: path.join(models, 'iris-v1'), fixtures: path.join(dir, 'none.jsonl') });
    expect(missing.byId['smoke.run'].message).toContain('does not exist');
  });

  test('custom domains pass when allowed', async () => {
    const { byId } = await run({
      model: path.join(bad, 'custom-domain.onnx'),
      allowedDomains: ['com.example.secret'],
      skipRuntime: true,
    });
    expect(byId['operators.domains']).toMatchObject({
      status: 'pass',
      message: expect.stringContaining('com.example.secret'),
    });
  });

  test('a latency limit no model meets fails smoke.latency', async () => {
    const { byId } = await run({ model: path.join(models, 'iris-v1'), maxLatencyMs: 1e-6 });
    expect(byId['smoke.latency']).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('over max-latency-ms'),
    });
  });

  test('no model at all is a failed file.exists, and no report is written next to nothing', async () => {
    const result = await validate({ model: path.join(dir, 'missing', 'model.onnx') }, memoryLogger());
    expect(failed(result.report)).toEqual(['file.exists']);
    expect(result.report.checks.filter((c) => c.status === 'skip')).toHaveLength(CHECK_IDS.length - 1);
    expect(result.reportPath).toBeUndefined();
  });
});

describe('modelship.yml', () => {
  const yml = `# models of this repository
models:
  iris:
    path: models/iris/model.onnx
    task: classification
    labels: [setosa, versicolor, virginica]
    signature:
      inputs:
        - name: features
          datatype: FP32
          shape: [-1, 4]
      outputs:
        - name: label
          datatype: INT64
        - name: probabilities
          datatype: FP32
          shape: [batch, 3]
    fixtures:
      path: data/iris.jsonl
    validate:
      max-size: 2KB
      max-latency-ms: 1000
`;
  let root: string;
  const lineOf = (text: string) => yml.split('\n').findIndex((line) => line.includes(text)) + 1;

  beforeAll(async () => {
    root = path.join(dir, 'repo');
    await mkdir(path.join(root, 'models', 'iris'), { recursive: true });
    await mkdir(path.join(root, 'data'), { recursive: true });
    await writeFile(path.join(root, 'modelship.yml'), yml);
    await copyFile(irisRows, path.join(root, 'data', 'iris.jsonl'));
  });

  const withModel = async (source: string) => {
    await copyFile(path.join(models, source, 'model.onnx'), path.join(root, 'models', 'iris', 'model.onnx'));
    return run({ config: path.join(root, 'modelship.yml'), modelName: 'iris' });
  };

  test('the entry supplies path, signature, labels, fixtures and limits', async () => {
    const { passed, byId } = await withModel('iris-v1');
    expect(passed).toBe(true);
    expect(byId['signature.match'].status).toBe('pass');
    expect(byId['labels.match'].status).toBe('pass');
    expect(byId['smoke.run'].message).toContain('fixture rows');
    expect(byId['file.size'].message).toContain('within max-size 2KB');
    expect(byId['smoke.latency'].message).toContain('within max-latency-ms 1000');
  });

  test('a signature mismatch points at the modelship.yml line that expects otherwise', async () => {
    const { passed, byId } = await withModel('iris-breaking');
    expect(passed).toBe(false);
    const check = byId['signature.match'];
    expect(check.status).toBe('fail');
    expect(check.message).toContain("Expected input 'features' is missing");
    expect(check.location).toEqual({
      file: expect.stringMatching(/modelship\.yml$/),
      line: lineOf('- name: features'),
      column: 17,
    });
    // The fixture rows carry `features`, which the breaking model no longer reads.
    expect(byId['smoke.run']).toMatchObject({
      status: 'fail',
      message: expect.stringContaining("input 'measurements' is missing"),
    });
  });

  test('a limit the model exceeds points at its line', async () => {
    const { byId } = await withModel('iris-v2');
    expect(byId['file.size']).toMatchObject({ status: 'pass' });
    await writeFile(path.join(root, 'small.yml'), yml.replace('max-size: 2KB', 'max-size: 100B'));
    const small = await run({ config: path.join(root, 'small.yml'), modelName: 'iris' });
    expect(small.byId['file.size']).toMatchObject({
      status: 'fail',
      location: { line: lineOf('max-size:'), file: expect.stringMatching(/small\.yml$/) },
    });
  });

  test('fixtures in a format the smoke run does not read leave it to made-up inputs, and it says so', async () => {
    await copyFile(path.join(models, 'iris-v1', 'model.onnx'), path.join(root, 'models', 'iris', 'model.onnx'));
    await writeFile(path.join(root, 'csv.yml'), yml.replace('path: data/iris.jsonl', 'path: data/iris.csv'));
    const { passed, byId } = await run({ config: path.join(root, 'csv.yml'), modelName: 'iris' });
    expect(passed).toBe(true);
    expect(byId['smoke.run'].message).toContain('made-up inputs (configured fixtures data/iris.csv are not JSONL)');
  });

  test('an unknown model name is a CONFIG_MODEL_UNKNOWN error suggesting the right one', async () => {
    await expect(run({ config: path.join(root, 'modelship.yml'), modelName: 'iriss' })).rejects.toMatchObject({
      code: 'CONFIG_MODEL_UNKNOWN',
      message: expect.stringContaining("did you mean 'iris'"),
    });
  });
});

describe('hostile models', () => {
  test('a model that spins the runtime fails smoke.run at the deadline; the step goes on', async () => {
    const model = path.join(dir, 'forever', 'model.onnx');
    await writeModel(model, foreverLoopModel());
    const { passed, byId, report } = await run({ model, runtimeTimeoutMs: 1500 });
    expect(passed).toBe(false);
    expect(byId['runtime.load'].status).toBe('pass');
    expect(byId['smoke.run']).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('did not finish within 1.5 s'),
    });
    expect(byId['smoke.latency'].status).toBe('skip');
    expect(report.digest).toMatch(/^sha256:/);
  });
});
