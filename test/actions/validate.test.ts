/** The built validate action, run as the GitHub runner runs it: inputs, outputs, summary, annotations, exit code. */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { digestModel } from '../../src/onnx/digest.js';
import type { ValidateReport } from '../../src/validate/report.js';
import { runAction, type ActionRun } from '../support/action-runner.js';

const repo = path.join(import.meta.dirname, '..', '..');
const models = path.join(repo, 'fixtures', 'models');

const yml = `models:
  iris:
    path: models/iris/model.onnx
    labels: [setosa, versicolor, virginica]
    signature:
      inputs:
        - name: features
          datatype: FP32
          shape: [batch, 4]
    fixtures:
      path: data/iris.jsonl
    validate:
      max-size: 10KB
`;
const lineOf = (text: string, source = yml) => source.split('\n').findIndex((line) => line.includes(text)) + 1;

let root: string;
const cleanup: string[] = [];
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'modelship-validate-action-'));
});
afterAll(async () => {
  await Promise.all([root, ...cleanup].map((folder) => rm(folder, { recursive: true, force: true })));
});

/** A workspace holding modelship.yml, the Iris rows and `model` as models/iris/model.onnx. */
async function workspace(name: string, model: string, config = yml): Promise<string> {
  const folder = path.join(root, name);
  await mkdir(path.join(folder, 'models', 'iris'), { recursive: true });
  await mkdir(path.join(folder, 'data'), { recursive: true });
  await copyFile(model, path.join(folder, 'models', 'iris', 'model.onnx'));
  await copyFile(path.join(repo, 'fixtures', 'data', 'iris', 'heldout.jsonl'), path.join(folder, 'data', 'iris.jsonl'));
  await writeFile(path.join(folder, 'modelship.yml'), config);
  return folder;
}

async function run(folder: string, inputs: Record<string, string>): Promise<ActionRun> {
  const result = await runAction({ action: 'validate', workspace: folder, inputs, keepRunnerDir: true });
  if (result.runnerDir) cleanup.push(result.runnerDir);
  return result;
}

describe('a model that passes', () => {
  let folder: string;
  let result: ActionRun;
  beforeAll(async () => {
    folder = await workspace('passes', path.join(models, 'iris-v1', 'model.onnx'));
    result = await run(folder, { config: 'modelship.yml', 'model-name': 'iris' });
  });

  test('exits 0 with no error annotations', () => {
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.annotations.filter((a) => a.level === 'error')).toEqual([]);
    expect(result.groups).toEqual(['File', 'Structure', 'Runtime']);
  });

  test('sets every output', async () => {
    expect(result.outputs.passed).toBe('true');
    expect(result.outputs.digest).toBe(await digestModel(path.join(folder, 'models', 'iris', 'model.onnx')));
    expect(result.outputs['ir-version']).toBe('8');
    expect(result.outputs.opset).toBe('17');
    expect(JSON.parse(result.outputs.signature)).toEqual({
      inputs: [{ name: 'features', datatype: 'FP32', shape: ['batch', 4] }],
      outputs: [
        { name: 'label', datatype: 'INT64', shape: ['batch'] },
        { name: 'probabilities', datatype: 'FP32', shape: ['batch', 3] },
      ],
    });
    expect(result.outputs.report.startsWith(result.runnerEnv.RUNNER_TEMP)).toBe(true);
    const report = JSON.parse(await readFile(result.outputs.report, 'utf8')) as ValidateReport;
    expect(report).toMatchObject({
      schema: 'modelship/validate-report@1',
      passed: true,
      digest: result.outputs.digest,
    });
    expect(report.checks.find((c) => c.id === 'smoke.run')?.message).toContain('fixture rows');
  });

  test('writes a job summary with a table of checks', () => {
    expect(result.summary).toContain('## ✓ Model validation passed');
    expect(result.summary).toContain('| ✓ | Loads in onnxruntime <sub>`runtime.load`</sub> |');
    expect(result.summary).toContain('| ✓ | Signature as expected <sub>`signature.match`</sub> |');
    expect(result.summary).toContain(`Digest: \`${result.outputs.digest}\``);
  });
});

describe('a model that breaks the expected signature', () => {
  let result: ActionRun;
  beforeAll(async () => {
    const folder = await workspace('breaks', path.join(models, 'iris-breaking', 'model.onnx'));
    result = await run(folder, { config: 'modelship.yml', 'model-name': 'iris' });
  });

  test('fails the step with passed=false', () => {
    expect(result.exitCode).toBe(1);
    expect(result.outputs.passed).toBe('false');
    expect(result.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  test('annotates the modelship.yml line that expects the missing input', () => {
    const annotation = result.annotations.find((a) => a.message.startsWith('signature.match'));
    expect(annotation).toMatchObject({ level: 'error', file: 'modelship.yml', line: lineOf('- name: features') });
    expect(annotation?.message).toContain(
      "Expected input 'features' is missing from the model (its inputs: 'measurements')",
    );
  });

  test('shows the failures in the summary', () => {
    expect(result.summary).toContain('## ✗ Model validation failed');
    expect(result.summary).toMatch(
      /\| ✗ \| Signature as expected <sub>`signature.match`<\/sub> \| .*\(modelship\.yml:7\) \|/,
    );
  });
});

test('a truncated model fails structure.decode and leaves digest empty', async () => {
  const folder = await workspace('truncated', path.join(models, 'bad', 'truncated.onnx'));
  const result = await run(folder, { model: 'models/iris/model.onnx', strict: 'true' });
  expect(result.exitCode).toBe(1);
  expect(result.outputs).toMatchObject({ passed: 'false', digest: '', 'ir-version': '', opset: '', signature: '' });
  const errors = result.annotations.filter((a) => a.level === 'error');
  expect(errors).toHaveLength(1);
  expect(errors[0].message).toContain('structure.decode: models/iris/model.onnx does not decode as an ONNX model');
  expect(result.summary).toContain('Skipped: structure.decode failed.');
});

test('a config mistake is one annotation on its modelship.yml line, and no outputs', async () => {
  const broken = yml.replace('max-size: 10KB', 'max-size: lots');
  const folder = await workspace('config', path.join(models, 'iris-v1', 'model.onnx'), broken);
  const result = await run(folder, { 'model-name': 'iris' });
  expect(result.exitCode).toBe(1);
  expect(result.annotations).toEqual([
    expect.objectContaining({
      level: 'error',
      title: 'CONFIG_INVALID',
      file: 'modelship.yml',
      line: lineOf('max-size', broken),
    }),
  ]);
  expect(result.outputs).toEqual({});
});

test('no model and no config is an INPUT_MISSING annotation', async () => {
  const folder = await workspace('nothing', path.join(models, 'iris-v1', 'model.onnx'));
  const result = await run(folder, {});
  expect(result.exitCode).toBe(1);
  expect(result.annotations).toEqual([expect.objectContaining({ level: 'error', title: 'INPUT_MISSING' })]);
});
