import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stats, verdictOf, type CaseResult } from '../bench/harness.js';
import { repoRoot } from './support/build.js';

const run = promisify(execFile);

describe('bench/run.ts --quick', () => {
  let dir: string;
  let stdout: string;
  let report: { quick: boolean; results: CaseResult[] };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelship-bench-test-'));
    const out = join(dir, 'latest.json');
    ({ stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', out], {
      cwd: repoRoot,
      timeout: 120_000,
    }));
    report = JSON.parse(await readFile(out, 'utf8'));
  }, 150_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('runs the runtime and cold-start cases without errors', () => {
    const names = report.results.map((r) => r.name);
    expect(names.some((n) => n.startsWith('runtime/iris-v1/batch-'))).toBe(true);
    expect(names).toContain('runtime/mlp-784-64-10/batch-1024');
    expect(names).toContain('cold-start/action-validate');
    expect(report.results.filter((r) => r.error)).toEqual([]);
    expect(report.quick).toBe(true);
  });

  it('prints a ratio for every case and writes it to the JSON', () => {
    for (const result of report.results.filter((r) => !r.skipped)) {
      expect(result.ratio).toBeGreaterThan(0);
      expect(result.project!.median).toBeGreaterThan(0);
      expect(stdout).toContain(`${result.name}\n`);
    }
    expect(stdout.match(/ratio {5}\d+\.\d{3} \(project\/baseline/g)?.length).toBe(
      report.results.filter((r) => !r.skipped).length,
    );
  });

  it('measures peak RSS of the cold start in a child process', () => {
    const coldStart = report.results.find((r) => r.name === 'cold-start/action-validate')!;
    expect(coldStart.peakRss!.project).toBeGreaterThan(10 * 1024 * 1024);
    expect(coldStart.peakRss!.baseline).toBeGreaterThan(10 * 1024 * 1024);
  });
});

describe('harness arithmetic', () => {
  it('median, min and max; verdicts follow the direction', () => {
    expect(stats([5, 1, 3])).toMatchObject({ median: 3, min: 1, max: 5 });
    expect(stats([4, 1, 3, 2]).median).toBe(2.5);
    expect(verdictOf(0.8, 0.9, 'higher')).toBe('MISS');
    expect(verdictOf(0.95, 0.9, 'higher')).toBe('PASS');
    expect(verdictOf(2, 3, 'lower')).toBe('PASS');
    expect(verdictOf(2, undefined, 'lower')).toBeUndefined();
  });
});
