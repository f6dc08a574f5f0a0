/**
 * Bundled by test/runtime/provision.test.ts into a folder outside the repository and run there, where
 * onnxruntime-node cannot be found by ordinary resolution: it loads onnxruntime the way an action does,
 * runs the model given as argv[2] (Y = X + 0.5), and prints one JSON line with what happened.
 */
import { isModelshipError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { loadOnnxRuntimeWithSource } from '../../src/runtime/onnxruntime.js';
import { openSession } from '../../src/runtime/session.js';

const say = (level: string) => (message: string) => process.stderr.write(`${level}: ${message}\n`);
const log: Logger = {
  info: say('info'),
  warn: say('warn'),
  error: say('error'),
  debug: say('debug'),
  group: (_name, work) => work(),
};

try {
  const { source, dir } = await loadOnnxRuntimeWithSource({ log });
  const session = await openSession(process.argv[2], { log, intraOpThreads: 1 });
  const out = await session.run({ X: { datatype: 'FP32', shape: [1, 3], data: Float32Array.from([1, 2, 3]) } });
  await session.release();
  process.stdout.write(JSON.stringify({ source, dir, sum: Array.from(out.Y.data as Float32Array) }) + '\n');
} catch (error) {
  if (!isModelshipError(error)) throw error;
  process.stdout.write(JSON.stringify({ code: error.code, message: error.message, hint: error.hint }) + '\n');
  process.exitCode = 1;
}
