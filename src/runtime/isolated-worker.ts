/**
 * The isolated runtime process: loads one model in onnxruntime-node, optionally runs it, reports each stage
 * to its parent and exits. Whatever the native runtime does to this process (abort, segfault, spin) stays
 * here; src/runtime/isolated.ts turns it into a verdict.
 */
import { readFileSync } from 'node:fs';
import { describeError } from '../errors.js';
import type { IsolatedCommand, IsolatedMessage, IsolatedRequest, IsolatedStage } from './isolated-protocol.js';
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

/** The model loaded (or being loaded), by path. */
let current: { modelPath: string; session: Promise<ModelSession | undefined> } | undefined;

function load(modelPath: string): Promise<ModelSession | undefined> {
  const previous = current?.session;
  const session = (async () => {
    await (await previous)?.release().catch(() => undefined);
    if (!(await runtime)) return undefined;
    const started = performance.now();
    try {
      const opened = await openSession(modelPath);
      await send({ type: 'loaded', modelPath, ms: performance.now() - started, signature: opened.signature });
      return opened;
    } catch (error) {
      await send({ type: 'error', stage: 'load', modelPath, message: describeError(error) });
      return undefined;
    }
  })();
  current = { modelPath, session };
  return session;
}

async function run(request: IsolatedRequest): Promise<void> {
  let stage: IsolatedStage = 'smoke';
  // The preloaded session when it is of this path (or its failure, which the parent has already seen).
  const session = current?.modelPath === request.modelPath ? await current.session : await load(request.modelPath);
  try {
    if (session && request.smoke) {
      const begun = performance.now();
      const outputs = await session.run(request.smoke.feeds, request.smoke.fetches);
      await send({ type: 'smoked', ms: performance.now() - begun, outputs });
    }
    if (session && request.latency) {
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
  // Exiting frees the session faster than releasing it would, and the parent need not wait for either.
  await send({ type: 'done', maxRssKb: peakRssKb() });
  process.disconnect?.();
}

process.on('message', (command: IsolatedCommand) => {
  if (command.type === 'preload') void load(command.modelPath);
  else void run(command);
});
// Without a parent nobody waits for the verdict: stop instead of loading on as an orphan.
process.once('disconnect', () => process.exit(0));
