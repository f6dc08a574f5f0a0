import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigInvalidError, loadConfig, parseConfig } from '../../src/config/load.js';
import { ModelshipError } from '../../src/errors.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'modelship-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Line and column (1-based) of the `occurrence`-th appearance of `needle` in `text`. */
function position(text: string, needle: string, occurrence = 1): { line: number; column: number } {
  let index = -1;
  for (let i = 0; i < occurrence; i++) {
    index = text.indexOf(needle, index + 1);
    if (index < 0) throw new Error(`'${needle}' not in the text`);
  }
  const before = text.slice(0, index).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

function invalid(text: string): ConfigInvalidError {
  try {
    parseConfig(text, { path: path.join(dir, 'modelship.yml'), display: 'modelship.yml' });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigInvalidError);
    expect((error as ModelshipError).code).toBe('CONFIG_INVALID');
    return error as ConfigInvalidError;
  }
  throw new Error('expected CONFIG_INVALID');
}

/** Asserts the error's one problem: its message, and that it points at `needle` in the text. */
function expectProblem(text: string, needle: string, message: string, occurrence = 1) {
  const error = invalid(text);
  const { line, column } = position(text, needle, occurrence);
  expect(error.problems.map((problem) => problem.message)).toEqual([message]);
  expect(error.location).toEqual({ file: 'modelship.yml', line, column });
  expect(error.message).toBe(`modelship.yml:${line}:${column}: ${message}`);
  return error;
}

const valid = `# yaml-language-server: $schema=./schemas/modelship.schema.json
version: 1
models:
  iris:
    path: models/iris.onnx
    task: classification
    labels: [setosa, versicolor, virginica]
    fixtures:
      path: fixtures/iris.jsonl
      inputs:
        features: [sepal_length, sepal_width, petal_length, petal_width]
      label: species
    thresholds:
      accuracy: { min: 0.9, max-drop: 2% }
    environments:
      production:
        target: https://models.example.com
        strategy: canary
        canary-weight: 10
        analysis-window: 60s
  team/mpg:
    path: models/mpg.onnx
    task: regression
`;

describe('loadConfig', () => {
  it('reads a valid file, with paths and positions', async () => {
    await writeFile(path.join(dir, 'modelship.yml'), valid);
    const loaded = await loadConfig(undefined, { cwd: dir });
    expect(loaded.path).toBe(path.join(dir, 'modelship.yml'));
    expect(loaded.dir).toBe(dir);
    expect(Object.keys(loaded.config.models)).toEqual(['iris', 'team/mpg']);
    expect(loaded.model('iris').thresholds).toEqual({ accuracy: { min: 0.9, 'max-drop': '2%' } });
    expect(loaded.model('iris').environments?.production.strategy).toBe('canary');
    expect(loaded.model('team/mpg')).toEqual({ path: 'models/mpg.onnx', task: 'regression' });
    expect(loaded.locate('/models/iris/task')).toEqual({ file: 'modelship.yml', ...position(valid, 'classification') });
    expect(loaded.locate('/models/team~1mpg/path')).toEqual({
      file: 'modelship.yml',
      ...position(valid, 'models/mpg.onnx'),
    });
    expect(loaded.locate('/models/iris/labels/2')).toEqual({ file: 'modelship.yml', ...position(valid, 'virginica') });
    expect(loaded.locate('/models/nope')).toBeUndefined();
  });

  it('takes another file name relative to cwd, and names it relative to cwd in errors', async () => {
    await mkdir(path.join(dir, 'config'), { recursive: true });
    await writeFile(path.join(dir, 'config', 'ship.yaml'), 'models:\n  a:\n    path: 5\n');
    const error = await loadConfig('config/ship.yaml', { cwd: dir }).catch((e: unknown) => e as ModelshipError);
    expect(error).toBeInstanceOf(ConfigInvalidError);
    expect((error as ModelshipError).message).toBe('config/ship.yaml:3:11: models.a.path must be a string (got 5)');
    expect((error as ModelshipError).location).toEqual({ file: 'config/ship.yaml', line: 3, column: 11 });
  });

  it('BAD CALL - a missing file or a folder is CONFIG_NOT_FOUND', async () => {
    const missing = await loadConfig('nope.yml', { cwd: dir }).catch((e: unknown) => e as ModelshipError);
    expect(missing).toBeInstanceOf(ModelshipError);
    expect((missing as ModelshipError).code).toBe('CONFIG_NOT_FOUND');
    expect((missing as ModelshipError).message).toBe(
      `The configuration file ${path.join(dir, 'nope.yml')} does not exist.`,
    );

    const empty = await mkdtemp(path.join(dir, 'empty-'));
    const defaultMissing = await loadConfig(undefined, { cwd: empty }).catch((e: unknown) => e as ModelshipError);
    expect((defaultMissing as ModelshipError).hint).toContain('Create modelship.yml at the repository root');

    const folder = await loadConfig('config', { cwd: dir }).catch((e: unknown) => e as ModelshipError);
    expect((folder as ModelshipError).code).toBe('CONFIG_NOT_FOUND');
    expect((folder as ModelshipError).message).toContain('is a folder');
  });
});

describe('BAD CALL - schema errors point at the offending node', () => {
  it('enum: at the value, listing the allowed values', () => {
    const text = 'models:\n  iris:\n    path: m.onnx\n    task: clasification\n';
    expectProblem(
      text,
      'clasification',
      "models.iris.task must be one of classification, regression, golden (got 'clasification')",
    );
  });

  it('type: at the value', () => {
    const text = 'models:\n  iris:\n    path: m.onnx\n    labels: setosa\n';
    expectProblem(text, 'setosa', "models.iris.labels must be a list (got 'setosa')");
  });

  it('unknown property: at the key, with a suggestion and the allowed keys in the hint', () => {
    const text = 'models:\n  iris:\n    path: m.onnx\n    treshold: {}\n';
    const error = expectProblem(
      text,
      'treshold',
      "models.iris has unknown property 'treshold' (did you mean 'thresholds'?)",
    );
    expect(error.hint).toBe(
      'Allowed under models.iris: path, task, labels, signature, fixtures, thresholds, validate, versioning, environments.',
    );
  });

  it('missing required property: at the key of the mapping that lacks it', () => {
    const text = 'models:\n  iris:\n    task: regression\n';
    const error = expectProblem(text, 'iris', "models.iris is missing required property 'path'");
    expect(error.hint).toBe("Add 'path:' under models.iris.");
    expectProblem('version: 1\n', 'version', "the top level is missing required property 'models'");
  });

  it('pattern and anyOf: at the value, saying what form is expected', () => {
    const size = 'models:\n  iris:\n    path: m.onnx\n    validate:\n      max-size: 200 megs\n';
    expectProblem(
      size,
      '200 megs',
      "models.iris.validate.max-size must be an integer >= 0 or a string like '200MB' or '1.5GiB' (got '200 megs')",
    );
    const target = 'models:\n  iris:\n    path: m.onnx\n    environments:\n      prod:\n        target: ftp://host\n';
    expectProblem(
      target,
      'ftp://host',
      "models.iris.environments.prod.target must look like 'file://./model-repository' or 'https://models.example.com' (got 'ftp://host')",
    );
  });

  it('an invalid map key (model name): at the key', () => {
    const text = 'models:\n  iris:\n    path: m.onnx\n  -bad name:\n    path: n.onnx\n';
    expectProblem(
      text,
      '-bad name',
      "models has an invalid name '-bad name': names must look like 'iris' or 'team/iris-classifier' (match ^[a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?$)",
    );
  });

  it('numbers out of range, const, duplicates, empty threshold', () => {
    const weight =
      'models:\n  m:\n    path: m.onnx\n    environments:\n      prod:\n        target: file://./r\n        canary-weight: 150\n';
    expectProblem(weight, '150', 'models.m.environments.prod.canary-weight must be <= 99 (got 150)');
    expectProblem('version: 2\nmodels:\n  m: {path: m.onnx}\n', '2', 'version must be 1 (got 2)');
    expectProblem("version: '1'\nmodels:\n  m: {path: m.onnx}\n", "'1'", "version must be an integer (got '1')");
    expectProblem(
      'models:\n  m:\n    path: m.onnx\n    labels: [a, b, a]\n',
      '[a, b, a]',
      "models.m.labels has 'a' twice (items 0 and 2)",
    );
    expectProblem(
      'models:\n  m:\n    path: m.onnx\n    thresholds:\n      accuracy: {}\n',
      '{}',
      'models.m.thresholds.accuracy must set at least one of min, max, max-drop',
    );
  });

  it('reports every problem, in file order; the location is the first', () => {
    const text = [
      'models:',
      '  iris:',
      '    task: clasification',
      '    path: m.onnx',
      '    signature:',
      '      inputs:',
      '        - { name: x, datatype: FLOAT32, shape: [batch, -2] }',
      '    fixtures:',
      '      inputs: { x: [1, 2] }',
      '  mpg:',
      '    pathh: m.onnx',
      '',
    ].join('\n');
    const error = invalid(text);
    expect(
      error.problems.map((problem) => `${problem.location.line}:${problem.location.column} ${problem.message}`),
    ).toEqual([
      "3:11 models.iris.task must be one of classification, regression, golden (got 'clasification')",
      "7:32 models.iris.signature.inputs[0].datatype must be one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES (got 'FLOAT32')",
      '7:56 models.iris.signature.inputs[0].shape[1] must be an integer >= -1 or a string (got -2)',
      "8:5 models.iris.fixtures is missing required property 'path'",
      '9:20 models.iris.fixtures.inputs.x must be a string or a list of strings (got [1,2])',
      "10:3 models.mpg is missing required property 'path'",
      "11:5 models.mpg has unknown property 'pathh' (did you mean 'path'?)",
    ]);
    expect(error.location).toEqual({ file: 'modelship.yml', line: 3, column: 11 });
    expect(error.message.split('\n')).toHaveLength(7);
    expect(error.message.split('\n')[0]).toBe(
      "modelship.yml:3:11: models.iris.task must be one of classification, regression, golden (got 'clasification')",
    );
  });
});

describe('BAD CALL - YAML errors', () => {
  it('a syntax error names its line and column', () => {
    const text = 'models:\n  iris:\n    path: m.onnx\n    labels: [a, b\n';
    const error = invalid(text);
    expect(error.problems).toHaveLength(1);
    expect(error.message).toMatch(/^modelship\.yml:5:1: YAML syntax: .*end with a \]/);
    expect(error.hint).toBe('Fix the YAML syntax first.');
  });

  it('a duplicated key is an error at the second key', () => {
    const text = 'models:\n  iris:\n    path: a.onnx\n  iris:\n    path: b.onnx\n';
    const error = invalid(text);
    expect(error.location).toEqual({ file: 'modelship.yml', ...position(text, 'iris', 2) });
    expect(error.message).toContain('Map keys must be unique');
  });

  it('an empty file says what it needs', () => {
    expect(invalid('# nothing yet\n').message).toBe(
      "modelship.yml:1:1: the file is empty; it needs a 'models:' mapping",
    );
  });
});

describe('LoadedConfig.model', () => {
  it('BAD CALL - an unknown name is CONFIG_MODEL_UNKNOWN listing the names, with a suggestion', () => {
    const loaded = parseConfig(valid, { path: '/repo/modelship.yml' });
    let error: ModelshipError | undefined;
    try {
      loaded.model('irs');
    } catch (e) {
      error = e as ModelshipError;
    }
    expect(error?.code).toBe('CONFIG_MODEL_UNKNOWN');
    expect(error?.message).toBe(
      "modelship.yml has no model 'irs' (did you mean 'iris'?); it defines 'iris', 'team/mpg'.",
    );
    expect(error?.location).toEqual({ file: 'modelship.yml', ...position(valid, 'models:') });
    expect(() => loaded.model('toString')).toThrow(/has no model 'toString'/);
  });
});
