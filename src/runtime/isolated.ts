/**
 * Loading and running a model in a child process, so that a model which crashes or hangs the native
 * runtime costs a failed check instead of the runner. Each stage has its own deadline; on a deadline the
 * child is killed (SIGKILL: a spinning native thread ignores anything gentler).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { IsolatedMessage, IsolatedRequest, IsolatedStage } from './isolated-protocol.js';
import type { Signature, TensorValue } from './tensor.js';

export type StageOutcome<T> =
  | ({ ok: true } & T)
  | {
      ok: false;
      /** `error`: the runtime refused (an exception); `crash`: the process died; `timeout`: it was killed. */
      reason: 'error' | 'crash' | 'timeout';
      message: string;
    };

export interface IsolatedOutcome {
  /** Finding onnxruntime-node; a failure here is the environment's, not the model's. */
  runtime: StageOutcome<{ source: string }>;
  load?: StageOutcome<{ ms: number; signature: Signature }>;
  smoke?: StageOutcome<{ ms: number; outputs: Record<string, TensorValue> }>;
  latency?: StageOutcome<{ samples: number[] }>;
  /** Peak resident memory of the child, when it lived to report it. */
  maxRssKb?: number;
}

export interface IsolatedOptions {
  /** Deadline for each model stage (load, smoke run, latency runs). */
  timeoutMs: number;
  /** Deadline for finding or provisioning onnxruntime-node. Default 10 minutes. */
  runtimeTimeoutMs?: number;
  /** The worker entry; default: the one bundled next to this code. */
  worker?: WorkerEntry;
}

export interface WorkerEntry {
  file: string;
  execArgv: string[];
}

/**
 * Where the worker lives: bundled, `dist/runtime/isolated-worker.js` seen from `dist/cli.js` or
 * `dist/actions/<step>.js`; from TypeScript source (tests, benchmarks), the .ts file run through tsx.
 */
export function defaultWorker(): WorkerEntry {
  const here = fileURLToPath(import.meta.url);
  const dir = path.dirname(here);
  if (here.endsWith('.ts')) {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    return { file: path.join(dir, 'isolated-worker.ts'), execArgv: ['--import', tsx] };
  }
  for (const candidate of ['runtime/isolated-worker.js', '../runtime/isolated-worker.js', 'isolated-worker.js']) {
    const file = path.join(dir, candidate);
    if (existsSync(file)) return { file, execArgv: [] };
  }
  throw new Error(`The isolated runtime worker is missing next to ${here}; rebuild modelship.`);
}

const STDERR_TAIL = 2000;

/** The last lines of a dead process's stderr that say something: stack frames and banners left out. */
function stderrTail(stderr: string): string {
  return stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !/^(\d+: |at |-----|={3,})/.test(line))
    .slice(-3)
    .join(' | ');
}

/** Runtime messages open with the C++ source location and function signature; the reason comes after. */
export function cleanRuntimeMessage(message: string): string {
  const located = /\/onnxruntime_src\/\S+:\d+ /.exec(message);
  if (!located) return message.trim();
  let depth = 0;
  let opened = false;
  for (let i = located.index + located[0].length; i < message.length; i++) {
    const char = message[i];
    if (char === '(') {
      depth++;
      opened = true;
    } else if (char === ')') {
      depth--;
      if (opened && depth === 0 && message[i + 1] === ' ') {
        return (message.slice(0, located.index) + message.slice(i + 2)).trim();
      }
    }
  }
  return message.trim();
}

/**
 * A runtime process started ahead of the model: node and onnxruntime-node load while the caller is still
 * checking the model file, and the model is handed over with `run` only once it is safe to load.
 */
export interface IsolatedRuntime {
  /** Loads (and runs) the model; resolves with every stage's outcome, never rejects. Call once. */
  run(request: IsolatedRequest): Promise<IsolatedOutcome>;
  /** Stops the process when the model will not be run after all. */
  close(): void;
}

export function startIsolatedRuntime(options: IsolatedOptions): IsolatedRuntime {
  const worker = options.worker ?? defaultWorker();
  const outcome: IsolatedOutcome = { runtime: { ok: false, reason: 'crash', message: 'not started' } };
  // The stages still to answer; the model's are added by run().
  const stages: IsolatedStage[] = ['runtime'];
  let current = 0;
  let requested = false;
  /** An outcome is final: an error answered, a deadline passed, or the process was stopped. */
  let ended = false;
  let exited = false;
  let stderr = '';
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  let resolveOutcome: (outcome: IsolatedOutcome) => void = () => {};
  const done = new Promise<IsolatedOutcome>((resolve) => (resolveOutcome = resolve));

  const child: ChildProcess = fork(worker.file, [], {
    execArgv: worker.execArgv,
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL);
  });

  const record = (stage: IsolatedStage, result: StageOutcome<object>) => {
    if (stage === 'runtime') outcome.runtime = result as IsolatedOutcome['runtime'];
    else (outcome as unknown as Record<string, unknown>)[stage] = result;
  };
  const finish = () => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    resolveOutcome(outcome);
  };
  /** Deadline for the stage now running; none while the process waits for a request. */
  const arm = () => {
    clearTimeout(timer);
    const stage = stages[current];
    if (!stage) return;
    const limit = stage === 'runtime' ? (options.runtimeTimeoutMs ?? 600_000) : options.timeoutMs;
    timer = setTimeout(() => {
      record(stage, {
        ok: false,
        reason: 'timeout',
        message: `no answer within ${Math.round(limit / 100) / 10} s; the process was killed`,
      });
      current = stages.length;
      ended = true;
      child.kill('SIGKILL');
    }, limit);
  };
  const advance = (stage: IsolatedStage) => {
    current = Math.max(current, stages.indexOf(stage) + 1);
    arm();
  };

  child.on('message', (message: IsolatedMessage) => {
    switch (message.type) {
      case 'runtime':
        outcome.runtime = { ok: true, source: message.source };
        advance('runtime');
        break;
      case 'loaded':
        outcome.load = { ok: true, ms: message.ms, signature: message.signature };
        advance('load');
        break;
      case 'smoked':
        outcome.smoke = { ok: true, ms: message.ms, outputs: message.outputs };
        advance('smoke');
        break;
      case 'timed':
        outcome.latency = { ok: true, samples: message.samples };
        advance('latency');
        break;
      case 'error':
        record(message.stage, { ok: false, reason: 'error', message: cleanRuntimeMessage(message.message) });
        current = stages.length;
        ended = true;
        arm();
        break;
      case 'done':
        outcome.maxRssKb = message.maxRssKb;
        break;
    }
  });
  const crashed = (stage: IsolatedStage | undefined, message: string) => {
    if (stage && !ended) record(stage, { ok: false, reason: 'crash', message });
    current = stages.length;
    ended = true;
  };
  /** The stage a death is charged to: the one running, or loading the model when it dies waiting for it. */
  const pendingStage = (): IsolatedStage | undefined => {
    if (current < stages.length) return stages[current];
    return requested ? undefined : 'load';
  };
  child.on('error', (error) => {
    crashed(pendingStage(), `the process could not run: ${error.message}`);
    if (requested) finish();
  });
  // 'close' comes after every IPC message and stderr chunk has been delivered.
  child.on('close', (code, signal) => {
    exited = true;
    const tail = stderrTail(stderr);
    crashed(
      pendingStage(),
      `the runtime process died (${signal ? `signal ${signal}` : `exit code ${code}`})` + (tail ? `: ${tail}` : ''),
    );
    if (requested) finish();
  });
  arm();

  return {
    run(request) {
      if (requested) throw new Error('An isolated runtime runs one request.');
      requested = true;
      if (ended || exited) {
        // onnxruntime could not be loaded, or the process is gone: the outcome already says so.
        if (exited) finish();
        else child.kill('SIGKILL');
        return done;
      }
      stages.push('load');
      if (request.smoke) stages.push('smoke');
      if (request.latency) stages.push('latency');
      // Still loading onnxruntime: its own deadline runs on; already loaded: the model's starts now.
      if (outcome.runtime.ok) arm();
      child.send(request, (error) => {
        if (error) child.kill('SIGKILL');
      });
      return done;
    },
    close() {
      if (requested) return;
      requested = true;
      ended = true;
      current = stages.length;
      child.kill('SIGKILL');
    },
  };
}

/** Starts a runtime process and runs one request in it. */
export function runIsolated(request: IsolatedRequest, options: IsolatedOptions): Promise<IsolatedOutcome> {
  return startIsolatedRuntime(options).run(request);
}
