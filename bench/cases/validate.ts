/**
 * Validating a large model: `modelship validate <model> --json` (the built CLI, spawn to exit) against
 * the floor of any validation, sha256 of the file plus an onnxruntime-node session created from it
 * (bench/validate-baseline.mjs, also spawn to exit). Full mode generates a ~200 MB MLP with inline
 * weights; quick mode a ~2 MB one.
 *
 * Memory: validate must not hold two copies of the weights. The validating process reads the model once
 * (decoding makes views) and streams the digest; onnxruntime loads the model in its own process. The case
 * logs the CLI's peak RSS above the same CLI validating a tiny model, as a multiple of the model size, and
 * the isolated runtime process's own peak.
 */
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { mlpHiddenSizesForBytes, writeMlpModel } from '../../scripts/fixtures/mlp.js';
import type { ValidateReport } from '../../src/validate/report.js';
import { defineCase, type BenchContext } from '../harness.js';
import { runNode } from '../process-stats.js';

interface State {
  model: string;
  bytes: number;
  cli: string;
  baselineScript: string;
  reportPath: string;
}

const MB = 1e6;
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

async function validateOnce(state: State, model: string, measureRss = false) {
  const run = await runNode([state.cli, 'validate', model, '--json', '--report', state.reportPath], { measureRss });
  if (run.exitCode !== 0) throw new Error(`modelship validate exited ${run.exitCode}: ${run.stderr || run.stdout}`);
  return { run, report: JSON.parse(run.stdout) as ValidateReport };
}

export function cases(ctx: BenchContext) {
  const targetBytes = ctx.quick ? 2 * MB : 200 * MB;
  return [
    defineCase<State>({
      name: `validate/mlp-${Math.round(targetBytes / MB)}MB`,
      unit: 'ms',
      better: 'lower',
      target: 1.3,
      baselineLabel: 'sha256 of the file + onnxruntime-node session create (node bench/validate-baseline.mjs)',
      async setup(context) {
        const model = join(context.tmpDir, 'validate-mlp', 'model.onnx');
        await mkdir(join(context.tmpDir, 'validate-mlp'), { recursive: true });
        const hiddenSizes = mlpHiddenSizesForBytes(targetBytes);
        await writeMlpModel(model, { inputSize: 784, hiddenSizes, outputSize: 10 });
        const { size } = await stat(model);
        context.log(`model: MLP 784-${hiddenSizes.join('-')}-10, ${mb(size)} (inline weights)`);
        return {
          model,
          bytes: size,
          cli: join(context.repoRoot, 'dist', 'cli.js'),
          baselineScript: join(context.repoRoot, 'bench', 'validate-baseline.mjs'),
          reportPath: join(context.tmpDir, 'validate-mlp', 'report.json'),
        };
      },
      async project(state) {
        return (await validateOnce(state, state.model)).run.wallMs;
      },
      async baseline(state) {
        const run = await runNode([state.baselineScript, state.model]);
        if (run.exitCode !== 0) throw new Error(`baseline exited ${run.exitCode}: ${run.stderr}`);
        return run.wallMs;
      },
      async peakRss(state, context) {
        const big = await validateOnce(state, state.model, true);
        const tiny = await validateOnce(state, join(context.repoRoot, 'fixtures', 'models', 'iris-v1'), true);
        const base = await runNode([state.baselineScript, state.model], { measureRss: true });
        const project = big.run.maxRssBytes!;
        const above = project - tiny.run.maxRssBytes!;
        const copies = above / state.bytes;
        // Below some tens of MB the allocator's own slack outweighs the model: no verdict.
        const verdict =
          state.bytes < 50 * MB
            ? 'model too small to judge copies'
            : copies < 1.5
              ? 'OK: one copy of the weights'
              : 'MISS: more than one copy of the weights';
        context.log(
          `validate process peak RSS ${mb(project)}: ${mb(above)} above validating a tiny model = ${copies.toFixed(2)}× ` +
            `the model (${mb(state.bytes)}); ${verdict}`,
        );
        const runtime = big.report.runtime?.peakRssBytes;
        if (runtime !== undefined) {
          context.log(
            `isolated onnxruntime process peak RSS ${mb(runtime)} (session created in ${big.report.runtime!.loadMs.toFixed(0)} ms); ` +
              `baseline process (sha256 + session) peak ${mb(base.maxRssBytes!)}`,
          );
        }
        return { project, baseline: base.maxRssBytes! };
      },
    }),
  ];
}
