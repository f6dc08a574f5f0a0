/**
 * `npm run bench [-- --quick] [-- --only <name>] [-- --repeats N] [-- --out <file>]`
 * Runs every case exported by bench/cases/*.ts, prints each with its ratio, and writes the results
 * as JSON (default bench/results/latest.json). Exit status is 0 whatever the ratios: targets inform.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  formatResult,
  runCase,
  type BenchCase,
  type BenchContext,
  type CaseResult,
  type CaseSource,
} from './harness.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

async function loadCases(ctx: BenchContext): Promise<BenchCase<never>[]> {
  const dir = join(repoRoot, 'bench', 'cases');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.ts')).sort();
  const all: BenchCase<never>[] = [];
  for (const file of files) {
    const module = (await import(pathToFileURL(join(dir, file)).href)) as { cases?: CaseSource };
    if (!module.cases) throw new Error(`bench/cases/${file} exports no 'cases'.`);
    const cases = typeof module.cases === 'function' ? await module.cases(ctx) : module.cases;
    all.push(...cases);
  }
  return all;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      repeats: { type: 'string' },
      warmup: { type: 'string' },
      out: { type: 'string' },
      list: { type: 'boolean', default: false },
    },
  });
  const quick = values.quick ?? false;
  const tmpDir = await mkdtemp(join(tmpdir(), 'modelship-bench-'));
  const ctx: BenchContext = {
    quick,
    repeats: Number(values.repeats ?? (quick ? 2 : 9)),
    warmup: Number(values.warmup ?? 1),
    repoRoot,
    tmpDir,
    log: (message) => process.stderr.write(`  ${message}\n`),
  };
  try {
    const only = values.only ?? [];
    const cases = (await loadCases(ctx)).filter((c) => only.length === 0 || only.some((o) => c.name.includes(o)));
    if (values.list) {
      for (const c of cases) process.stdout.write(`${c.name}${c.skip ? `  (skip: ${c.skip})` : ''}\n`);
      return;
    }
    if (cases.length === 0) throw new Error(`No case matches --only ${only.join(', ')}; see --list.`);
    process.stdout.write(
      `modelship benchmarks${quick ? ' (quick: proves they run, numbers mean little)' : ''}: ` +
        `${cases.length} cases, ${ctx.repeats} repeats after ${ctx.warmup} warm-up, node ${process.version}, ` +
        `${cpus().length} CPUs\n\n`,
    );
    const results: CaseResult[] = [];
    for (const c of cases) {
      const result = await runCase(c, ctx);
      results.push(result);
      process.stdout.write(formatResult(result) + '\n\n');
    }
    const counted = (v: string) => results.filter((r) => r.verdict === v).length;
    process.stdout.write(
      `${results.length} cases: ${counted('PASS')} PASS, ${counted('MISS')} MISS, ` +
        `${results.filter((r) => r.skipped).length} skipped, ${results.filter((r) => r.error).length} errors ` +
        `(targets are informational)\n`,
    );
    const out = values.out ?? join(repoRoot, 'bench', 'results', 'latest.json');
    await mkdir(dirname(out), { recursive: true });
    const report = {
      date: new Date().toISOString(),
      quick,
      repeats: ctx.repeats,
      warmup: ctx.warmup,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryBytes: totalmem(),
      results,
    };
    await writeFile(out, JSON.stringify(report, null, 2) + '\n');
    process.stdout.write(`Results written to ${out}\n`);
    if (results.some((r) => r.error)) process.exitCode = 1;
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
}

await main();
