/**
 * The one wrapper over an onnxruntime inference session: open from a path or bytes, read the signature,
 * run with TensorValues in and out. Feeds are checked against the signature first, so a caller's mistake
 * is a TENSOR_INVALID (HTTP 400 in the server) and only a failure inside onnxruntime is INFERENCE_FAILED.
 */
import { stat } from 'node:fs/promises';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { ModelshipError } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { fromOrtTensor, toOrtTensor } from './convert.js';
import { datatypeFromOrt } from './datatypes.js';
import { loadOnnxRuntime, type OrtModule } from './onnxruntime.js';
import type { Signature, TensorSignature, TensorValue } from './tensor.js';

export interface SessionOptions {
  /**
   * Threads within one operator; unset, onnxruntime's default, which on Linux is half the logical CPUs
   * (see ./cpu.ts for a count that fits machines without two hardware threads per core).
   */
  intraOpThreads?: number;
  /** Threads across independent operators. */
  interOpThreads?: number;
  /**
   * Whether onnxruntime's worker threads spin after a run, waiting for the next (its default), or sleep.
   * Spinning wins when runs come back to back; when JavaScript works between runs, spinning threads take
   * the cores it needs.
   */
  spinWait?: boolean;
  log?: Logger;
}

export interface ModelSession {
  /** Tensor inputs and outputs as onnxruntime sees them; a variable dimension is its symbol, or -1. */
  signature: Signature;
  /** Runs the model; `outputNames` defaults to every tensor output. */
  run(feeds: Record<string, TensorValue>, outputNames?: string[]): Promise<Record<string, TensorValue>>;
  release(): Promise<void>;
}

export async function openSession(source: string | Uint8Array, options: SessionOptions = {}): Promise<ModelSession> {
  const log = options.log ?? silentLogger;
  const what = typeof source === 'string' ? source : `a ${source.byteLength}-byte model`;
  const location = typeof source === 'string' ? { file: source } : undefined;
  if (typeof source === 'string') {
    const info = await stat(source).catch(() => undefined);
    if (!info?.isFile()) {
      throw new ModelshipError(
        'MODEL_LOAD_FAILED',
        `Cannot load ${source}: ${info ? 'not a file' : 'no such file'}.`,
        'Check the model path.',
        location,
      );
    }
  }
  const ort = await loadOnnxRuntime({ log });
  const sessionOptions: InferenceSession.SessionOptions = { executionProviders: ['cpu'] };
  for (const [key, value] of [
    ['intraOpNumThreads', options.intraOpThreads],
    ['interOpNumThreads', options.interOpThreads],
  ] as const) {
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new ModelshipError(
        'SESSION_OPTIONS_INVALID',
        `${key === 'intraOpNumThreads' ? 'intraOpThreads' : 'interOpThreads'} must be a non-negative integer, got ${value}.`,
        '0 lets onnxruntime choose.',
      );
    }
    sessionOptions[key] = value;
  }
  if (options.spinWait === false) {
    sessionOptions.extra = { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } };
  }
  let session: InferenceSession;
  try {
    session =
      typeof source === 'string'
        ? await ort.InferenceSession.create(source, sessionOptions)
        : await ort.InferenceSession.create(source, sessionOptions);
  } catch (error) {
    throw new ModelshipError(
      'MODEL_LOAD_FAILED',
      `onnxruntime could not load ${what}: ${messageOf(error)}`,
      'Check that the file is a complete ONNX model (not a Git LFS pointer) whose operators onnxruntime supports.',
      location,
      { cause: error },
    );
  }

  let signature: Signature;
  try {
    signature = {
      inputs: session.inputMetadata.map((meta) => tensorSignature(meta, 'input')),
      outputs: session.outputMetadata.flatMap((meta) => {
        if (!meta.isTensor || !datatypeFromOrt(meta.type)) {
          log.warn(`Output '${meta.name}' of ${what} is not a tensor modelship can carry; it is left out.`);
          return [];
        }
        return [tensorSignature(meta, 'output')];
      }),
    };
  } catch (error) {
    await session.release().catch(() => undefined);
    throw new ModelshipError('MODEL_LOAD_FAILED', `Cannot use ${what}: ${messageOf(error)}`, undefined, location);
  }
  return new OrtModelSession(ort, session, signature);
}

class OrtModelSession implements ModelSession {
  #released = false;
  readonly #inputs: Map<string, InputCheck>;
  readonly #outputs: Set<string>;
  readonly #allOutputs: string[];

  constructor(
    private readonly ort: OrtModule,
    private readonly session: InferenceSession,
    readonly signature: Signature,
  ) {
    // What each run checks, worked out once: a request path runs this for every request.
    this.#inputs = new Map(
      signature.inputs.map((input) => [
        input.name,
        { input, fixed: input.shape.map((dim) => (typeof dim === 'number' && dim >= 0 ? dim : undefined)) },
      ]),
    );
    this.#outputs = new Set(signature.outputs.map((output) => output.name));
    this.#allOutputs = signature.outputs.map((output) => output.name);
  }

  async run(feeds: Record<string, TensorValue>, outputNames?: string[]): Promise<Record<string, TensorValue>> {
    if (this.#released) throw new ModelshipError('INFERENCE_FAILED', 'The model session was already released.');
    const ortFeeds: Record<string, OrtTensor> = {};
    let given = 0;
    for (const name in feeds) {
      const check = this.#inputs.get(name);
      if (!check) {
        throw invalid(`Unknown input '${name}'; the model's inputs are ${list(this.#inputs.keys())}.`);
      }
      const value = feeds[name];
      checkAgainst(check, value);
      ortFeeds[name] = toOrtTensor(this.ort, value, name);
      given++;
    }
    if (given < this.#inputs.size) {
      const missing = [...this.#inputs.keys()].filter((name) => !(name in feeds));
      throw invalid(`Missing input${missing.length > 1 ? 's' : ''} ${list(missing)}.`);
    }
    const fetches = outputNames ?? this.#allOutputs;
    for (const name of fetches) {
      if (!this.#outputs.has(name)) {
        const unknown = fetches.filter((n) => !this.#outputs.has(n));
        throw invalid(`Unknown output ${list(unknown)}; the model's outputs are ${list(this.#outputs)}.`);
      }
    }

    let results: InferenceSession.ReturnType;
    try {
      // A failed run is reported through the thrown error; keep onnxruntime from printing it to stderr as well.
      results = await this.session.run(ortFeeds, fetches, RUN_OPTIONS);
    } catch (error) {
      throw new ModelshipError(
        'INFERENCE_FAILED',
        `onnxruntime failed to run the model: ${messageOf(error)}`,
        undefined,
        undefined,
        {
          cause: error,
        },
      );
    }
    const out: Record<string, TensorValue> = {};
    for (const name of fetches) out[name] = fromOrtTensor(results[name] as OrtTensor, name);
    return out;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.session.release();
  }
}

function tensorSignature(meta: InferenceSession.ValueMetadata, kind: 'input' | 'output'): TensorSignature {
  if (!meta.isTensor) throw new Error(`${kind} '${meta.name}' is not a tensor (a sequence or map)`);
  const row = datatypeFromOrt(meta.type);
  if (!row) throw new Error(`${kind} '${meta.name}' has element type '${meta.type}', which modelship does not carry`);
  return {
    name: meta.name,
    datatype: row.oip,
    shape: meta.shape.map((dim) => (typeof dim === 'string' ? dim || -1 : dim)),
  };
}

/** The checks onnxruntime would otherwise fail with a less readable message. */
interface InputCheck {
  input: TensorSignature;
  /** Each dimension's size, or undefined where it may vary. */
  fixed: Array<number | undefined>;
}

const RUN_OPTIONS: InferenceSession.RunOptions = { logSeverityLevel: 4 };

function checkAgainst({ input, fixed }: InputCheck, value: TensorValue): void {
  if (value.datatype !== input.datatype) {
    throw invalid(`Input '${input.name}' is ${input.datatype}, got ${value.datatype}.`);
  }
  if (fixed.length === 0) return; // rank unknown to onnxruntime: let it judge
  let fits = value.shape.length === fixed.length;
  for (let i = 0; fits && i < fixed.length; i++) fits = fixed[i] === undefined || fixed[i] === value.shape[i];
  if (!fits) {
    throw invalid(`Input '${input.name}' has shape [${input.shape.join(', ')}], got [${value.shape.join(', ')}].`);
  }
}

const invalid = (message: string) => new ModelshipError('TENSOR_INVALID', message);
const list = (names: Iterable<string>) => [...names].map((name) => `'${name}'`).join(', ') || '(none)';
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
