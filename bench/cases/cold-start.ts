/**
 * Cold start of the built bundles: spawn to exit of `node dist/actions/<step>.js` with a runner's
 * environment and no inputs (the step fails fast on the missing input, after loading everything),
 * against `node -e ''`. Every workflow run pays this once per step.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineCase, type BenchContext } from '../harness.js';
import { runNode } from '../process-stats.js';

const steps = ['validate', 'evaluate', 'version', 'deploy', 'rollback'];

async function runnerEnv(ctx: BenchContext): Promise<NodeJS.ProcessEnv> {
  const dir = join(ctx.tmpDir, 'runner');
  await mkdir(join(dir, 'workspace'), { recursive: true });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: join(dir, 'workspace'),
    GITHUB_REPOSITORY: 'acme/models',
    GITHUB_SHA: '0'.repeat(40),
    GITHUB_REF: 'refs/heads/main',
    GITHUB_EVENT_NAME: 'workflow_dispatch',
    GITHUB_API_URL: 'http://127.0.0.1:9',
    RUNNER_TEMP: join(dir, 'temp'),
    RUNNER_TOOL_CACHE: join(dir, 'tool'),
  };
  for (const name of ['GITHUB_OUTPUT', 'GITHUB_STEP_SUMMARY', 'GITHUB_ENV', 'GITHUB_STATE']) {
    const file = join(dir, name.toLowerCase());
    await writeFile(file, '');
    env[name] = file;
  }
  return env;
}

export async function cases(ctx: BenchContext) {
  const env = await runnerEnv(ctx);
  const bundles = [
    ...(ctx.quick ? steps.slice(0, 1) : steps).map((step) => ({
      label: `action-${step}`,
      args: [join(ctx.repoRoot, 'dist', 'actions', `${step}.js`)],
    })),
    ...(ctx.quick ? [] : [{ label: 'cli-help', args: [join(ctx.repoRoot, 'dist', 'cli.js'), '--help'] }]),
  ];
  const baseline = ['-e', ''];
  return bundles.map(({ label, args }) =>
    defineCase<undefined>({
      name: `cold-start/${label}`,
      unit: 'ms',
      better: 'lower',
      target: 3,
      baselineLabel: "node -e ''",
      skip: existsSync(args[0]) ? undefined : `${args[0]} is missing (npm run build)`,
      project: async () => (await runNode(args, { env, cwd: env.GITHUB_WORKSPACE })).wallMs,
      baseline: async () => (await runNode(baseline, { env })).wallMs,
      peakRss: async () => {
        const project = await runNode(args, { env, cwd: env.GITHUB_WORKSPACE, measureRss: true });
        const base = await runNode(baseline, { env, measureRss: true });
        return { project: project.maxRssBytes!, baseline: base.maxRssBytes! };
      },
    }),
  );
}
