/**
 * The isolated runtime process: loads one model in onnxruntime-node, optionally runs it, reports each stage
 * to its parent and exits. Whatever the native runtime does to this process (abort, segfault, spin) stays
 * here; src/runtime/isolated.ts turns it into a verdict.
 */
import { readFileSync } from 'node:fs';
import { describeError } from '../errors.js';
import type { IsolatedMessage, IsolatedRequest, IsolatedStage } from './isolated-protocol.js';
import { loadOnnxRuntimeWithSource } from './onnxruntime.js';
import { openSession, type ModelSession } from './session.js';

const send = (message: IsolatedMessage): Promise<void> =>
  new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });

/**
 * Peak resident memory in KiB. On Linux from VmHWM: getrusage's maxrss survives exec, so this process
 * would report the size its parent had when it forked.
 */
function peakRssKb(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]);
  } catch {
    // Not Linux: getrusage is the best there is.
  }
  return process.resourceUsage().maxRSS;
}

// onnxruntime loads as soon as the process starts, while the parent is still checking the model file.
const runtime = loadOnnxRuntimeWithSource().then(
  async ({ source, dir }) => {
    await send({ type: 'runtime', source, dir });
    return true;
  },
  async (error: unknown) => {
    await send({ type: 'error', stage: 'runtime', message: describeError(error) });
    return false;
  },
);

async function serve(request: IsolatedRequest): Promise<void> {
  let stage: IsolatedStage = 'load';
  let session: ModelSession | undefined;
  try {
    if (!(await runtime)) return finish(undefined);
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
      // The smoke run already warmed the session up when it ran on these very inputs.
      // (Structured clone keeps shared references, so "the very inputs" survives the trip.)
      const smokeFeeds = request.smoke?.feeds;
      const warmed = smokeFeeds && Object.entries(feeds).every(([name, tensor]) => smokeFeeds[name] === tensor);
      if (!warmed) await session.run(feeds, fetches);
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
  await finish(session);
}

async function finish(session: ModelSession | undefined): Promise<void> {
  try {
    await session?.release();
  } catch {
    // The verdict is already sent; a failing release changes nothing about it.
  }
  await send({ type: 'done', maxRssKb: peakRssKb() });
  process.disconnect?.();
}

process.once('message', (request: IsolatedRequest) => {
  void serve(request);
});
// Without a parent nobody waits for the verdict: stop instead of loading on as an orphan.
process.once('disconnect', () => process.exit(0));
