import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { actionParserErrors, actionlintErrors, workflowParserErrors } from './support/workflow-lint.js';

const root = join(import.meta.dirname, '..');
const files = [
  ...readdirSync(join(root, 'workflows')).map((f) => `workflows/${f}`),
  ...readdirSync(join(root, '.github', 'workflows')).map((f) => `.github/workflows/${f}`),
].filter((f) => f.endsWith('.yml'));

interface Step {
  uses?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  jobs: Record<string, { steps?: Step[] }>;
}

/** Our own action a step uses, from `owner/modelship/actions/<step>@ref` or `./actions/<step>`. */
const ownAction = (uses: string | undefined) => uses?.match(/(?:^\.\/|\/modelship\/)actions\/([a-z]+)(?:@|$)/)?.[1];

describe.each(files)('%s', (file) => {
  const text = readFileSync(join(root, file), 'utf8');

  test("passes GitHub's workflow parser", () => {
    expect(workflowParserErrors(file, text)).toEqual([]);
  });

  test('passes actionlint', async () => {
    // actionlint knows GitHub's hosted runner labels only; our serving jobs run on labelled self-hosted runners.
    const errors = (await actionlintErrors(file, text)).filter((e) => !/label "model-serving" is unknown/.test(e));
    expect(errors).toEqual([]);
  });

  test('passes only inputs our actions declare, and every required one', () => {
    const workflow = parse(text) as Workflow;
    for (const job of Object.values(workflow.jobs)) {
      for (const step of job.steps ?? []) {
        const name = ownAction(step.uses);
        if (!name) continue;
        const meta = parse(readFileSync(join(root, 'actions', name, 'action.yml'), 'utf8')) as {
          inputs?: Record<string, { required?: boolean; default?: unknown }>;
        };
        const declared = meta.inputs ?? {};
        for (const key of Object.keys(step.with ?? {})) expect(Object.keys(declared), `${name}: ${key}`).toContain(key);
        for (const [key, input] of Object.entries(declared)) {
          if (input.required && input.default === undefined)
            expect(step.with ?? {}, `${name}: ${key}`).toHaveProperty(key);
        }
      }
    }
  });
});

test('every action.yml passes the action parser', () => {
  for (const step of readdirSync(join(root, 'actions'))) {
    const file = `actions/${step}/action.yml`;
    expect(actionParserErrors(file, readFileSync(join(root, file), 'utf8'))).toEqual([]);
  }
});
