/** The candidate and baseline models of an evaluation: file, digest, signature, labels, a session. */
import type { Logger } from '../log.js';
import { labelsFromMetadata } from '../metrics/predictions.js';
import { digestReadModel } from '../onnx/digest.js';
import { readModelFile } from '../onnx/read.js';
import { signatureOf } from '../onnx/signature.js';
import { openSession, type ModelSession } from './session.js';
import type { Signature } from './tensor.js';

export interface LoadedModel {
  /** As the user gave it. */
  path: string;
  /** The model file read (a folder resolves to its model.onnx). */
  file: string;
  digest: string;
  /** As the file declares it (symbolic dimension names kept). */
  signature: Signature;
  labels?: string[];
  session: ModelSession;
}

/** Reads the model and opens its session, whose runs use `threads` threads. */
export async function loadModel(path: string, log: Logger, threads: number): Promise<LoadedModel> {
  const { model, bytes, path: file } = await readModelFile(path);
  // Evaluation reads and scores rows between runs: threads spinning for the next run would slow that down.
  const [digest, session] = await Promise.all([
    digestReadModel(file, model, bytes),
    openSession(file, { log, spinWait: false, intraOpThreads: threads }),
  ]);
  const labels = labelsFromMetadata(model.metadataProps);
  return { path, file, digest, signature: signatureOf(model), ...(labels ? { labels } : {}), session };
}
