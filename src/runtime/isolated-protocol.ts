/**
 * Messages between validate and the isolated runtime process (structured clone over IPC, so typed arrays
 * cross as they are). The child answers each stage as it finishes; a stage that never answers crashed or hung.
 */
import type { Signature, TensorValue } from './tensor.js';

export interface IsolatedRequest {
  /** The model file; the child loads it from disk so the parent never holds the runtime's copy of the weights. */
  modelPath: string;
  /** One run on these inputs, its outputs sent back. */
  smoke?: {
    feeds: Record<string, TensorValue>;
    /** Outputs to fetch (tensors only: the runtime cannot return sequences or maps). */
    fetches: string[];
  };
  /** Timed runs on these inputs, after one warm-up run unless the smoke run had the same inputs. */
  latency?: {
    feeds: Record<string, TensorValue>;
    fetches: string[];
    runs: number;
    /** Stop early (after at least 3 runs) once the runs have taken this long. */
    budgetMs: number;
  };
}

/** `runtime`: finding (or provisioning) onnxruntime-node, which is not the model's doing. */
export type IsolatedStage = 'runtime' | 'load' | 'smoke' | 'latency';

export type IsolatedMessage =
  | { type: 'runtime'; source: string; dir: string }
  | { type: 'loaded'; ms: number; signature: Signature }
  | { type: 'smoked'; ms: number; outputs: Record<string, TensorValue> }
  | { type: 'timed'; samples: number[] }
  | { type: 'error'; stage: IsolatedStage; message: string }
  | { type: 'done'; maxRssKb: number };
