import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { ACTION_ORDER, renderReadme } from '../scripts/docs.js';
import { actionParserErrors } from './support/workflow-lint.js';

const root = join(import.meta.dirname, '..');

interface Metadata {
  runs: { using: string; main: string };
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

describe.each(ACTION_ORDER)('actions/%s/action.yml', (step) => {
  const file = join(root, 'actions', step, 'action.yml');
  const text = readFileSync(file, 'utf8');
  const meta = parse(text) as Metadata;

  test("passes GitHub's action parser", () => {
    expect(actionParserErrors(`actions/${step}/action.yml`, text)).toEqual([]);
  });

  test('runs its own bundle on node24', () => {
    expect(meta.runs.using).toBe('node24');
    expect(meta.runs.main).toBe(`../../dist/actions/${step}.js`);
    expect(existsSync(join(root, 'actions', step, meta.runs.main))).toBe(true);
  });

  const inputsModule = join(root, 'src', 'actions', 'inputs', `${step}.ts`);
  test.runIf(existsSync(inputsModule))(
    'declares exactly the inputs and outputs the entry reads and writes',
    async () => {
      const { Inputs, Outputs } = (await import(inputsModule)) as {
        Inputs: Record<string, string>;
        Outputs: Record<string, string>;
      };
      expect(Object.keys(meta.inputs ?? {}).sort()).toEqual(Object.values(Inputs).sort());
      expect(Object.keys(meta.outputs ?? {}).sort()).toEqual(Object.values(Outputs).sort());
    },
  );
});

test('README reference tables match action.yml and the config schema (run `npm run docs`)', async () => {
  expect(readFileSync(join(root, 'README.md'), 'utf8')).toBe(await renderReadme(root));
});
