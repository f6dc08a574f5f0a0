/**
 * The isolated runtime process: loads one model in onnxruntime-node, optionally runs it, reports each stage
 * to its parent and exits. Whatever the native runtime does to this process (abort, segfault, spin) stays
 * here; src/runtime/isolated.ts turns it into a verdict.
 */
import { describeError } from '../errors.js';
import type { IsolatedMessage, IsolatedRequest, IsolatedStage } from './isolated-protocol.js';
import { loadOnnxRuntimeWithSource } from './onnxruntime.js';
import { openSession, type ModelSession } from './session.js';

const send = (message: IsolatedMessage): Promise<void> =>
  new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });

async function serve(request: IsolatedRequest): Promise<void> {
  let stage: IsolatedStage = 'runtime';
  let session: ModelSession | undefined;
  try {
    const { source, dir } = await loadOnnxRuntimeWithSource();
    await send({ type: 'runtime', source, dir });

    stage = 'load';
    const started = performance.now();
    session = await openSession(request.modelPath);
    await send({ type: 'loaded', ms: performance.now() - started, signature: session.signature });

    if (request.smoke) {
      stage = 'smoke';
      const begun = performance.now();
      const outputs = await session.run(request.smoke.feeds, request.smoke.fetches);
      await send({ type: 'smoked', ms: performance.now() - begun, outputs });
    }
    if (request.latency) {
      stage = 'latency';
      const { feeds, fetches, runs, budgetMs } = request.latency;
      await session.run(feeds, fetches);
      const samples: number[] = [];
      const begun = performance.now();
      while (samples.length < runs && (samples.length < 3 || performance.now() - begun < budgetMs)) {
        const start = performance.now();
        await session.run(feeds, fetches);
        samples.push(performance.now() - start);
      }
      await send({ type: 'timed', samples });
    }
  } catch (error) {
    await send({ type: 'error', stage, message: describeError(error) });
  }
  try {
    await session?.release();
  } catch {
    // The verdict is already sent; a failing release changes nothing about it.
  }
  await send({ type: 'done', maxRssKb: process.resourceUsage().maxRSS });
  process.disconnect?.();
}

process.once('message', (request: IsolatedRequest) => {
  void serve(request);
});
// Without a parent nobody waits for the verdict: stop instead of loading on as an orphan.
process.once('disconnect', () => process.exit(0));
