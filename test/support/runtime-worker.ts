/**
 * The bundled isolated-runtime worker (vitest's global setup keeps dist/ current). Tests that start many
 * isolated runtimes use it: the TypeScript entry pays for tsx in every child.
 */
import { join } from 'node:path';
import type { WorkerEntry } from '../../src/runtime/isolated.js';
import { repoRoot } from './build.js';

export const builtRuntimeWorker = (): WorkerEntry => ({
  file: join(repoRoot, 'dist', 'runtime', 'isolated-worker.js'),
  execArgv: [],
});
