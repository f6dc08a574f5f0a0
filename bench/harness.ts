/**
 * The benchmark harness. Each case measures the project and a baseline in the same run, alternating
 * repetitions after a warm-up, and reports medians, min/max and the ratio project/baseline against an
 * informational target. These machines are noisy: the ratio is what carries meaning, and a MISS never
 * fails the run.
 *
 * Cases live in bench/cases/*.ts; each file exports `cases`, an array or a function of the context.
 */

export interface BenchContext {
  /** Few repeats and small sizes: proves the benchmarks run, measures nothing worth reading. */
  quick: boolean;
  repeats: number;
  warmup: number;
  repoRoot: string;
  /** A folder for this run, removed at the end. */
  tmpDir: string;
  log(message: string): void;
}

export type Better = 'lower' | 'higher';

export interface BenchCase<State = unknown> {
  /** `group/what/variant`; `--only` matches a substring of it. */
  name: string;
  /** Unit of one sample, e.g. `ms` or `rows/s`. */
  unit: string;
  better: Better;
  /** Bound on project/baseline: at most this when lower is better, at least when higher is. */
  target?: number;
  /** What the baseline is, printed under the table. */
  baselineLabel: string;
  /** Set when the case cannot run here (a missing fixture); printed as SKIP. */
  skip?: string;
  setup?(ctx: BenchContext): Promise<State>;
  /** One sample of the project. */
  project(state: State, ctx: BenchContext): Promise<number>;
  /** One sample of the baseline. */
  baseline(state: State, ctx: BenchContext): Promise<number>;
  /** Peak resident memory of each side in bytes, measured in child processes. */
  peakRss?(state: State, ctx: BenchContext): Promise<{ project: number; baseline: number }>;
  teardown?(state: State): Promise<void>;
}

export type CaseSource = BenchCase<never>[] | ((ctx: BenchContext) => BenchCase<never>[] | Promise<BenchCase<never>[]>);

/** Lets a file declare a case with its own State type and still export a plain array. */
export function defineCase<State>(c: BenchCase<State>): BenchCase<never> {
  return c as unknown as BenchCase<never>;
}

export interface Stats {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export interface CaseResult {
  name: string;
  unit: string;
  better: Better;
  baselineLabel: string;
  skipped?: string;
  error?: string;
  project?: Stats;
  baseline?: Stats;
  /** median(project) / median(baseline). */
  ratio?: number;
  target?: number;
  verdict?: 'PASS' | 'MISS';
  peakRss?: { project: number; baseline: number; ratio: number };
}

export function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], samples };
}

export function verdictOf(ratio: number, target: number | undefined, better: Better): CaseResult['verdict'] {
  if (target === undefined) return undefined;
  return (better === 'lower' ? ratio <= target : ratio >= target) ? 'PASS' : 'MISS';
}

export async function runCase(c: BenchCase<never>, ctx: BenchContext): Promise<CaseResult> {
  const result: CaseResult = { name: c.name, unit: c.unit, better: c.better, baselineLabel: c.baselineLabel };
  if (c.skip) return { ...result, skipped: c.skip };
  let state: never | undefined;
  try {
    state = (await c.setup?.(ctx)) as never;
    // Warm both sides, then alternate so drift on a shared machine hits both alike.
    for (let i = 0; i < ctx.warmup; i++) {
      await c.project(state as never, ctx);
      await c.baseline(state as never, ctx);
    }
    const project: number[] = [];
    const baseline: number[] = [];
    for (let i = 0; i < ctx.repeats; i++) {
      if (i % 2 === 0) {
        project.push(await c.project(state as never, ctx));
        baseline.push(await c.baseline(state as never, ctx));
      } else {
        baseline.push(await c.baseline(state as never, ctx));
        project.push(await c.project(state as never, ctx));
      }
    }
    result.project = stats(project);
    result.baseline = stats(baseline);
    result.ratio = result.project.median / result.baseline.median;
    result.target = c.target;
    result.verdict = verdictOf(result.ratio, c.target, c.better);
    if (c.peakRss) {
      const rss = await c.peakRss(state as never, ctx);
      result.peakRss = { ...rss, ratio: rss.project / rss.baseline };
    }
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
  } finally {
    if (state !== undefined) await c.teardown?.(state).catch(() => undefined);
  }
  return result;
}

const formatNumber = (value: number): string => {
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
};
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const spread = (s: Stats, unit: string) =>
  `${formatNumber(s.median)} ${unit} [${formatNumber(s.min)}–${formatNumber(s.max)}]`;

/** One block per case: both sides, the ratio, the target and its verdict. */
export function formatResult(r: CaseResult): string {
  if (r.skipped) return `SKIP  ${r.name}: ${r.skipped}`;
  if (r.error) return `ERROR ${r.name}: ${r.error}`;
  const lines = [`${r.name}`];
  lines.push(`  project   ${spread(r.project!, r.unit)}`);
  lines.push(`  baseline  ${spread(r.baseline!, r.unit)}  (${r.baselineLabel})`);
  const bound = r.target === undefined ? '' : `  target ${r.better === 'lower' ? '≤' : '≥'} ${r.target}  ${r.verdict}`;
  lines.push(`  ratio     ${r.ratio!.toFixed(3)} (project/baseline, ${r.better} is better)${bound}`);
  if (r.peakRss) {
    lines.push(
      `  peak RSS  project ${mib(r.peakRss.project)}, baseline ${mib(r.peakRss.baseline)}, ratio ${r.peakRss.ratio.toFixed(2)}`,
    );
  }
  return lines.join('\n');
}
