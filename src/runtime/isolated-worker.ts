/**
 * The isolated runtime process: loads one model in onnxruntime-node, optionally runs it, reports each stage
 * to its parent and exits. Whatever the native runtime does to this process (abort, segfault, spin) stays
 * here; src/runtime/isolated.ts turns it into a verdict.
 */
import type { InferenceSession } from 'onnxruntime-node';
import type { IsolatedMessage, IsolatedRequest, IsolatedStage } from './isolated-protocol.js';
import { loadOnnxRuntime } from './onnxruntime.js';
import { fromOrtTensor, toOrtTensor } from './convert.js';
import type { TensorValue } from './tensor.js';

const send = (message: IsolatedMessage): Promise<void> =>
  new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

async function serve(request: IsolatedRequest): Promise<void> {
  let stage: IsolatedStage = 'load';
  let session: InferenceSession | undefined;
  try {
    const ort = await loadOnnxRuntime();
    const started = performance.now();
    session = await ort.InferenceSession.create(request.modelPath, { logSeverityLevel: 3 });
    await send({
      type: 'loaded',
      ms: performance.now() - started,
      inputNames: [...session.inputNames],
      outputNames: [...session.outputNames],
    });
    const feedsOf = (feeds: Record<string, TensorValue>) =>
      Object.fromEntries(Object.entries(feeds).map(([name, value]) => [name, toOrtTensor(ort, value)]));

    if (request.smoke) {
      stage = 'smoke';
      const feeds = feedsOf(request.smoke.feeds);
      const begun = performance.now();
      const results = await session.run(feeds, request.smoke.fetches);
      const ms = performance.now() - begun;
      const outputs: Record<string, TensorValue> = {};
      for (const [name, tensor] of Object.entries(results)) outputs[name] = fromOrtTensor(tensor);
      await send({ type: 'smoked', ms, outputs });
    }
    if (request.latency) {
      stage = 'latency';
      const { runs, budgetMs, fetches } = request.latency;
      const feeds = feedsOf(request.latency.feeds);
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
    await send({ type: 'error', stage, message: describe(error) });
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
