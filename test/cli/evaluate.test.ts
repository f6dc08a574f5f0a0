/** `modelship evaluate` as a user runs it: the built CLI in a subprocess. */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/build.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelship-evaluate-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cli = (...args: string[]) => {
  const run = spawnSync(process.execPath, [join(repoRoot, 'dist', 'cli.js'), 'evaluate', ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
};

describe('modelship evaluate', () => {
  it('prints the summary and exits 0 when the candidate passes', () => {
    const run = cli(
      'fixtures/models/iris-v2',
      '--fixtures',
      'fixtures/data/iris/heldout.csv',
      '--baseline-model',
      'fixtures/models/iris-v1',
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('modelship evaluate: iris-v2 — passed');
    expect(run.stderr).toMatch(/Evaluated 50 rows in .* rows\/s/);
  });

  it('exits 1 on a regression, with the JSON report on stdout', () => {
    const run = cli(
      'fixtures/models/iris-regressed',
      '--fixtures',
      'fixtures/data/iris/heldout.jsonl',
      '--baseline-model',
      'fixtures/models/iris-v1',
      '--thresholds',
      'accuracy: {max-drop: 2%}',
      '--json',
      '--quiet',
    );
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ passed: false, task: 'classification', rows: 50 });
    expect(run.stderr).toMatch(/error: accuracy: accuracy dropped by/);
  });

  it('writes shard reports and merges them', async () => {
    const reports = [0, 1].map((i) => join(dir, `shard-${i}.json`));
    for (const [i, report] of reports.entries()) {
      const run = cli(
        'fixtures/models/mpg-v1',
        '--fixtures',
        'fixtures/data/mpg/heldout.jsonl',
        '--shard',
        String(i),
        '--shards',
        '2',
        '--report',
        report,
        '--quiet',
      );
      expect(run.code, run.stderr).toBe(0);
    }
    const merged = join(dir, 'merged.json');
    const run = cli('--merge', ...reports, '--report', merged, '--quiet');
    expect(run.code, run.stderr).toBe(0);
    const whole = JSON.parse(
      cli('fixtures/models/mpg-v1', '--fixtures', 'fixtures/data/mpg/heldout.jsonl', '--json', '--quiet').stdout,
    );
    const report = JSON.parse(await readFile(merged, 'utf8'));
    expect(report.metrics).toEqual(whole.metrics);
    expect(report.rows).toBe(78);
  });

  it('says what is wrong in one line, with the file', () => {
    const run = cli('fixtures/models/iris-v1', '--fixtures', 'fixtures/data/mpg/heldout.jsonl');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/modelship: fixtures\/data\/mpg\/heldout.jsonl:1: The fixtures do not fit the model/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(cli('fixtures/models/iris-v1', '--shard', '1', '--fixtures', 'x.jsonl').stderr).toMatch(
      /--shard and --shards go together/,
    );
  });
});
