/**
 * Keeps dist/ in step with src/: tests run the built bundles, so a stale bundle would test old code.
 * `npm test` builds first; running one test file through vitest rebuilds here only when needed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** What the build reads; a newer file than the oldest bundle means the bundles are stale. */
const buildInputs = ['src', 'scripts/build.mjs', 'package-lock.json'];

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function bundlePaths(): string[] {
  const actions = join(repoRoot, 'dist', 'actions');
  const bundles = existsSync(actions)
    ? readdirSync(actions)
        .filter((f) => f.endsWith('.js'))
        .map((f) => join(actions, f))
    : [];
  return [...bundles, join(repoRoot, 'dist', 'cli.js')];
}

/** Why dist/ needs a build, or undefined when it is current. */
export function staleReason(): string | undefined {
  const bundles = bundlePaths();
  const missing = bundles.find((b) => !existsSync(b));
  if (bundles.length === 1 || missing) return `${missing ?? 'dist/actions'} is missing`;
  const oldestBundle = Math.min(...bundles.map((b) => statSync(b).mtimeMs));
  for (const input of buildInputs) {
    const path = join(repoRoot, input);
    if (existsSync(path) && newestMtime(path) > oldestBundle) return `${input} changed since the last build`;
  }
  return undefined;
}

export function ensureBuilt(): void {
  const reason = staleReason();
  if (!reason) return;
  process.stderr.write(`Building action bundles (${reason})…\n`);
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
}

/**
 * Bundles one entry file the way scripts/build.mjs bundles the actions (ESM, node target, onnxruntime-node
 * external, a `require` for bundled CommonJS), for actions that exist only in tests.
 */
export async function bundleTestAction(entry: string, outfile: string): Promise<string> {
  const { build } = await import('esbuild');
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    external: ['onnxruntime-node'],
    logLevel: 'warning',
    banner: {
      js: "import { createRequire as __modelshipCreateRequire } from 'node:module'; const require = __modelshipCreateRequire(import.meta.url);",
    },
  });
  return outfile;
}
