import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readEnvironmentSettings, withSettings } from '../../src/deploy/environment-config.js';
import type { LedgerEntry } from '../../src/deploy/ledger.js';
import { compareTensors, readSmokeRows, syntheticRow } from '../../src/deploy/smoke.js';
import { parseTarget, resolveStateDir, validateEnvironment } from '../../src/deploy/target.js';
import { resolveRollbackTarget } from '../../src/steps/rollback.js';
import type { Signature } from '../../src/runtime/tensor.js';
import { IRIS_ROWS } from './harness.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelship-parts-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('targets and state', () => {
  it('parses the three kinds and refuses others with the forms that work', () => {
    expect(parseTarget('file:///srv/models')).toMatchObject({ kind: 'file', root: '/srv/models' });
    expect(parseTarget('file://./models', '/work')).toMatchObject({ kind: 'file', root: '/work/models' });
    expect(parseTarget('https://models.example.com:8443/')).toMatchObject({
      kind: 'http',
      url: 'https://models.example.com:8443',
    });
    expect(parseTarget('kserve://ml/iris')).toMatchObject({ kind: 'kserve', namespace: 'ml', name: 'iris' });
    expect(() => parseTarget('s3://bucket/models')).toThrow(
      /Target 's3:\/\/bucket\/models' is not usable: unknown scheme/,
    );
    expect(() => parseTarget('s3://bucket/models')).toThrow(
      expect.objectContaining({ hint: expect.stringContaining('file://<model repository folder>') }),
    );
  });

  it('puts state beside a file:// repository, and requires it for a server URL', () => {
    expect(resolveStateDir(parseTarget('file:///srv/models'), undefined)).toBe('/srv/.modelship-state/models');
    expect(resolveStateDir(parseTarget('http://h:8000'), 'state', '/w')).toBe('/w/state');
    expect(() => resolveStateDir(parseTarget('http://h:8000'), undefined)).toThrow(/needs a 'state' folder/);
  });

  it('environment names must be usable as folder names', () => {
    expect(validateEnvironment('staging-eu.1')).toBe('staging-eu.1');
    expect(() => validateEnvironment('../prod')).toThrow(/not usable as a name/);
  });
});

describe('modelship.yml environment settings', () => {
  it('fills what the inputs leave out; inputs win', async () => {
    await writeFile(
      join(dir, 'modelship.yml'),
      [
        'models:',
        '  iris:',
        '    path: models/iris.onnx',
        '    environments:',
        '      production:',
        '        target: file://./repository',
        '        url: http://127.0.0.1:8000',
        '        strategy: canary',
        '        canary-weight: 5',
        '        analysis-window: 2m',
        '        max-error-rate: 0.02',
        '        keep: 4',
        '        state: ./state',
        '',
      ].join('\n'),
    );
    const settings = await readEnvironmentSettings(undefined, 'iris', 'production', dir);
    expect(settings).toMatchObject({
      model: join(dir, 'models/iris.onnx'),
      target: `file://${join(dir, 'repository')}`,
      server: 'http://127.0.0.1:8000',
      strategy: 'canary',
      canaryWeight: 5,
      analysisWindowSeconds: 120,
      maxErrorRate: 0.02,
      keep: 4,
      state: join(dir, 'state'),
    });
    expect(withSettings({ keep: 2, strategy: undefined }, settings)).toMatchObject({ keep: 2, strategy: 'canary' });
    expect(await readEnvironmentSettings(undefined, 'iris', 'staging', dir)).toEqual({
      model: join(dir, 'models/iris.onnx'),
    });
    expect(await readEnvironmentSettings(undefined, 'iris', 'production', join(dir, 'none'))).toEqual({});
    await expect(readEnvironmentSettings('modelship.yml', 'mpg', 'production', dir)).rejects.toMatchObject({
      code: 'CONFIG_MODEL_UNKNOWN',
    });
  });
});

describe('smoke comparison', () => {
  const f32 = (values: number[]) => ({
    datatype: 'FP32' as const,
    shape: [values.length],
    data: Float32Array.from(values),
  });
  it('floats within rtol 1e-3 + atol 1e-5, NaN equal to NaN, integers exactly', () => {
    expect(compareTensors(f32([1, NaN, 0]), f32([1.0009, NaN, 0.000009])).message).toBeUndefined();
    expect(compareTensors(f32([1]), f32([1.0011])).message).toMatch(/element 0 is 1, offline 1\.0010999/);
    const i64 = (values: bigint[]) => ({
      datatype: 'INT64' as const,
      shape: [values.length],
      data: BigInt64Array.from(values),
    });
    expect(compareTensors(i64([1n, 2n]), i64([1n, 2n])).message).toBeUndefined();
    expect(compareTensors(i64([1n, 3n]), i64([1n, 2n])).message).toMatch(/must match exactly/);
    expect(compareTensors(f32([1, 2]), { ...f32([1, 2]), shape: [2, 1] }).message).toMatch(/shape/);
  });

  const iris: Signature = {
    inputs: [{ name: 'features', datatype: 'FP32', shape: ['batch', 4] }],
    outputs: [{ name: 'label', datatype: 'INT64', shape: ['batch'] }],
  };

  it('reads a few rows, adding the batch dimension a one-example row lacks', async () => {
    const rows = await readSmokeRows(IRIS_ROWS, iris, 3);
    expect(rows.map((r) => r.id)).toEqual(['iris-3', 'iris-9', 'iris-12']);
    expect(rows[0].feeds.features.shape).toEqual([1, 4]);
    expect(Array.from(rows[0].feeds.features.data as Float32Array)).toEqual(
      Array.from(Float32Array.from([4.7, 3.2, 1.3, 0.2])),
    );
  });

  it('refuses rows that do not fit the signature, with the line', async () => {
    const file = join(dir, 'rows.jsonl');
    await writeFile(file, '{"id":"a","inputs":{"measurements":[1,2,3,4]}}\n');
    await expect(readSmokeRows(file, iris)).rejects.toThrow(/rows.jsonl:1 has no input 'features'/);
    await writeFile(file, 'not json\n');
    await expect(readSmokeRows(file, iris)).rejects.toMatchObject({ location: { file, line: 1 } });
  });

  it('makes one synthetic input from any fixed-rank signature', () => {
    const row = syntheticRow({
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [-1, 3] },
        { name: 'ids', datatype: 'INT64', shape: ['n'] },
        { name: 'text', datatype: 'BYTES', shape: [2] },
      ],
      outputs: [],
    });
    expect(row.feeds.x.shape).toEqual([1, 3]);
    expect(row.feeds.ids.data).toBeInstanceOf(BigInt64Array);
    expect(row.feeds.text.data).toEqual(['smoke-1', 'smoke-2']);
  });
});

describe('rollback target from the ledger', () => {
  const entry = (numericVersion: number, semver: string, action: LedgerEntry['action'] = 'deploy'): LedgerEntry => ({
    time: '2026-01-01T00:00:00.000Z',
    actor: 'a',
    runUrl: null,
    action,
    semver,
    numericVersion,
    digest: `sha256:${numericVersion}`,
    outcome: 'succeeded',
    reason: null,
  });
  const ledger = [entry(1, '1.0.0'), entry(2, '1.1.0'), entry(3, '2.0.0')];

  it('previous, a semver (with or without v), a number', () => {
    expect(resolveRollbackTarget(ledger, 'previous').numericVersion).toBe(2);
    expect(resolveRollbackTarget(ledger, 'v1.0.0').numericVersion).toBe(1);
    expect(resolveRollbackTarget(ledger, '#1').semver).toBe('1.0.0');
    expect(resolveRollbackTarget(ledger, '2')).toMatchObject({ semver: '1.1.0', digest: 'sha256:2' });
  });

  it('says which versions exist when the one named does not', () => {
    expect(() => resolveRollbackTarget(ledger, '9.9.9')).toThrow(/has no version '9.9.9'/);
    try {
      resolveRollbackTarget(ledger, '9.9.9');
    } catch (error) {
      expect((error as { hint: string }).hint).toContain('1.0.0 (#1), 1.1.0 (#2), 2.0.0 (#3)');
    }
    expect(() => resolveRollbackTarget([], 'previous')).toThrow(/nothing to roll back/);
    expect(() => resolveRollbackTarget([entry(1, '1.0.0')], 'previous')).toThrow(/no previous version/);
  });
});
