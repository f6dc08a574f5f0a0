import { describe, expect, it } from 'vitest';
import { ModelshipError } from '../../src/errors.js';
import {
  formatRegisterTag,
  formatStageTag,
  formatTag,
  formatUnassignTag,
  isValidName,
  nextStageCounter,
  parseTag,
  registerTagPrefix,
  stageTagPrefix,
  validateModelName,
} from '../../src/versioning/tags.js';

describe('parseTag', () => {
  // Tags as GTO's README and user guide show them.
  it.each([
    ['rf@v0.0.1', { kind: 'register', name: 'rf', version: '0.0.1' }],
    ['rf@v1.0.1', { kind: 'register', name: 'rf', version: '1.0.1' }],
    ['awesome-model@v0.0.1', { kind: 'register', name: 'awesome-model', version: '0.0.1' }],
    ['churn@v3.1.1', { kind: 'register', name: 'churn', version: '3.1.1' }],
    ['rf#prod#1', { kind: 'stage', name: 'rf', stage: 'prod', counter: 1 }],
    ['rf#production#2', { kind: 'stage', name: 'rf', stage: 'production', counter: 2 }],
    ['rf#prod', { kind: 'stage', name: 'rf', stage: 'prod' }],
    ['model#dev', { kind: 'stage', name: 'model', stage: 'dev' }],
    ['rf@v1.0.0#3', { kind: 'register', name: 'rf', version: '1.0.0', counter: 3 }],
    ['rf@v1.0.0!#4', { kind: 'deregister', name: 'rf', version: '1.0.0', counter: 4 }],
    ['rf#prod!#5', { kind: 'unassign', name: 'rf', stage: 'prod', counter: 5 }],
    ['rf@deprecated', { kind: 'deprecate', name: 'rf' }],
    ['rf@deprecated#6', { kind: 'deprecate', name: 'rf', counter: 6 }],
    ['dvclive/model@v1.2.3', { kind: 'register', name: 'dvclive/model', version: '1.2.3' }],
    ['dvclive/model#staging#7', { kind: 'stage', name: 'dvclive/model', stage: 'staging', counter: 7 }],
  ])('reads GTO tag %s', (tag, expected) => {
    expect(parseTag(tag)).toEqual(expected);
  });

  it.each([
    ['iris@v1.3.0-rc.1', { kind: 'register', name: 'iris', version: '1.3.0-rc.1' }],
    ['iris@v1.3.0-rc.1+build.5', { kind: 'register', name: 'iris', version: '1.3.0-rc.1+build.5' }],
    ['Iris_Large@v10.20.30', { kind: 'register', name: 'Iris_Large', version: '10.20.30' }],
    ['team/iris-v2#canary#12', { kind: 'stage', name: 'team/iris-v2', stage: 'canary', counter: 12 }],
    ['1@v0.0.0', { kind: 'register', name: '1', version: '0.0.0' }],
  ])('reads modelship tag %s', (tag, expected) => {
    expect(parseTag(tag)).toEqual(expected);
  });

  it.each([
    '',
    'v1.0.0',
    'rf',
    'rf@1.0.0',
    'rf@v1.0',
    'rf@v01.0.0',
    'rf@v1.0.0-',
    'rf@v1.0.0-rc.01',
    'rf@vlatest',
    '-rf@v1.0.0',
    'rf-@v1.0.0',
    '/rf@v1.0.0',
    'a//b@v1.0.0',
    'a model@v1.0.0',
    'rf#prod#',
    'rf#prod#-1',
    'rf#prod#01',
    'rf#prod#x',
    'rf#prod!',
    'rf#-prod#1',
    'rf##1',
    'rf@deprecated!',
    'rf@v1.0.0@v2.0.0',
    'rf#prod#1#2',
    'some/folder=some/model@v1.0.0',
  ])('rejects %j', (tag) => {
    expect(parseTag(tag)).toBeUndefined();
  });

  it('tells the model of a register tag apart from a longer name sharing its start', () => {
    expect(parseTag('iris-large@v9.0.0')).toEqual({ kind: 'register', name: 'iris-large', version: '9.0.0' });
    expect('iris-large@v9.0.0'.startsWith(registerTagPrefix('iris'))).toBe(false);
    expect('iris@v1.0.0'.startsWith(registerTagPrefix('iris'))).toBe(true);
    expect('iris#prod#2'.startsWith(stageTagPrefix('iris'))).toBe(true);
    expect('iris-large#prod#2'.startsWith(stageTagPrefix('iris'))).toBe(false);
    expect(() => registerTagPrefix('iris@')).toThrow(/Model name/);
  });
});

describe('formatting', () => {
  it('round-trips every tag in the grammar', () => {
    const tags = [
      'rf@v0.0.1',
      'rf#prod#1',
      'rf#production#2',
      'rf#prod',
      'rf@v1.0.0#3',
      'rf@v1.0.0!#4',
      'rf#prod!#5',
      'rf@deprecated',
      'rf@deprecated#6',
      'dvclive/model@v1.2.3',
      'iris@v1.3.0-rc.1+build.5',
      'team/iris_v2#canary#12',
    ];
    for (const tag of tags) {
      const parsed = parseTag(tag);
      expect(parsed, tag).toBeDefined();
      expect(formatTag(parsed!)).toBe(tag);
    }
  });

  it('round-trips formatted tags', () => {
    for (const [name, version] of [
      ['iris', '0.1.0'],
      ['team/iris', '2.0.0-rc.3'],
      ['a', '1.2.3+sha.abc'],
    ]) {
      const tag = formatRegisterTag(name, version);
      expect(parseTag(tag)).toEqual({ kind: 'register', name, version });
    }
    expect(parseTag(formatStageTag('iris', 'prod', 9))).toEqual({
      kind: 'stage',
      name: 'iris',
      stage: 'prod',
      counter: 9,
    });
    expect(formatUnassignTag('iris', 'prod', 10)).toBe('iris#prod!#10');
  });

  it('writes the forms GTO writes', () => {
    expect(formatRegisterTag('rf', '0.0.1')).toBe('rf@v0.0.1');
    expect(formatStageTag('rf', 'prod', 1)).toBe('rf#prod#1');
  });

  it('refuses to write what does not parse', () => {
    expect(() => formatRegisterTag('iris', 'v1.0.0')).toThrow(/not a SemVer 2.0 version/);
    expect(() => formatRegisterTag('iris', '1.0')).toThrow(ModelshipError);
    expect(() => formatRegisterTag('iris@x', '1.0.0')).toThrow(/Model name 'iris@x'/);
    expect(() => formatStageTag('iris', 'prod#2', 1)).toThrow(/Stage name 'prod#2'/);
    expect(() => formatStageTag('iris', 'prod', -1)).toThrow(/non-negative integer/);
    expect(() => formatStageTag('iris', 'prod', 1.5)).toThrow(/non-negative integer/);
    expect(() => formatTag({ kind: 'unassign', name: 'iris', stage: 'prod' })).toThrow(/needs a counter/);
  });
});

describe('model names', () => {
  it.each(['1', 'm', 'nn', 'm1', '1nn', 'model-prod', 'model-prod-v1', 'dvclive/model', 'Iris_v2', 'a/b/c'])(
    'accepts %j',
    (name) => {
      expect(isValidName(name)).toBe(true);
      expect(validateModelName(name)).toBe(name);
    },
  );

  it.each([
    ['', /is empty/],
    ['m/', /start and end/],
    ['/m', /start and end/],
    ['-model', /start and end/],
    ['model-', /start and end/],
    ['_model', /start and end/],
    ['a//b', /'\/\/'/],
    ['a model', /characters other than/],
    ['model@1', /characters other than/],
    ['model#1', /characters other than/],
    ['model.onnx', /characters other than/],
    ['@namespace/model', /start and end/],
  ])('rejects %j with a hint', (name, reason) => {
    try {
      validateModelName(name);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ModelshipError);
      const e = error as ModelshipError;
      expect(e.code).toBe('MODEL_NAME_INVALID');
      expect(e.message).toMatch(reason);
      expect(e.hint).toMatch(/letters, digits/);
    }
  });
});

describe('nextStageCounter', () => {
  it('counts past every counter of the model and ignores other models', () => {
    const tags = ['iris@v1.0.0', 'iris#prod#1', 'iris#staging#4', 'iris#prod!#2', 'iris-large#prod#30', 'junk'];
    expect(nextStageCounter('iris', tags)).toBe(5);
    expect(nextStageCounter('iris-large', tags)).toBe(31);
    expect(nextStageCounter('mpg', tags)).toBe(1);
  });
});
