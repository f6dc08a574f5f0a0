// Bundles one file per action step plus the CLI. onnxruntime-node is native and stays external:
// src/runtime/provision.ts finds or installs it at run time.
import { build } from 'esbuild';
import { mkdir, writeFile } from 'node:fs/promises';

export const steps = ['validate', 'evaluate', 'version', 'deploy', 'rollback'];

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  external: ['onnxruntime-node'],
  logLevel: 'warning',
  legalComments: 'none',
  // Bundled CommonJS dependencies call require(); give them one.
  banner: {
    js: "import { createRequire as __modelshipCreateRequire } from 'node:module'; const require = __modelshipCreateRequire(import.meta.url);",
  },
};

await mkdir('dist', { recursive: true });
await writeFile('dist/package.json', JSON.stringify({ type: 'module' }) + '\n');
await Promise.all([
  ...steps.map((step) =>
    build({ ...common, entryPoints: [`src/actions/${step}.ts`], outfile: `dist/actions/${step}.js` }),
  ),
  build({
    ...common,
    entryPoints: ['src/cli.ts'],
    outfile: 'dist/cli.js',
    banner: { js: '#!/usr/bin/env node\n' + common.banner.js },
  }),
  // Child-process entries, forked by the bundles above (src/runtime/isolated.ts finds them here).
  build({ ...common, entryPoints: ['src/runtime/isolated-worker.ts'], outfile: 'dist/runtime/isolated-worker.js' }),
]);
