/**
 * An onnxruntime-node session behind the ModelSession interface the server runs models through.
 */
import type * as Ort from 'onnxruntime-node';
import { ModelshipError } from '../errors.js';
import { datatypeFromOip, datatypeFromOrt, type OrtType } from '../runtime/datatypes.js';
import type { Signature, TensorData, TensorValue } from '../runtime/tensor.js';

type OrtModule = typeof Ort;

let ortModule: Promise<OrtModule> | undefined;
async function loadOrt(): Promise<OrtModule> {
  ortModule ??= import('onnxruntime-node').then(
    (m) => ((m as unknown as { default?: OrtModule }).default ?? m) as OrtModule,
  );
  return ortModule;
}

export interface ModelSession {
  signature: Signature;
  run(feeds: Record<string, TensorValue>, outputNames?: string[]): Promise<Record<string, TensorValue>>;
  release(): Promise<void>;
}

export async function openSession(
  source: string | Uint8Array,
  options: { intraOpThreads?: number } = {},
): Promise<ModelSession> {
  const ort = await loadOrt();
  let session: Ort.InferenceSession;
  try {
    const sessionOptions: Ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: options.intraOpThreads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    };
    session =
      typeof source === 'string'
        ? await ort.InferenceSession.create(source, sessionOptions)
        : await ort.InferenceSession.create(source, sessionOptions);
  } catch (error) {
    throw new ModelshipError(
      'MODEL_LOAD_FAILED',
      `onnxruntime cannot load ${typeof source === 'string' ? source : 'the model'}: ${(error as Error).message}`,
      'Check that the file is a valid ONNX model (modelship validate).',
    );
  }
  const describe = (metadata: readonly Ort.InferenceSession.ValueMetadata[], kind: string) =>
    metadata.map((m) => {
      if (!m.isTensor)
        throw new ModelshipError(
          'MODEL_LOAD_FAILED',
          `${kind} '${m.name}' is not a tensor; only tensor inputs and outputs are served.`,
        );
      const row = datatypeFromOrt(m.type);
      if (!row)
        throw new ModelshipError(
          'MODEL_LOAD_FAILED',
          `${kind} '${m.name}' has element type ${m.type}, which the Open Inference Protocol cannot carry.`,
        );
      return {
        name: m.name,
        datatype: row.oip,
        shape: m.shape.map((d) => (typeof d === 'number' ? d : d === '' ? -1 : d)),
      };
    });
  let signature: Signature;
  try {
    signature = {
      inputs: describe(session.inputMetadata, 'input'),
      outputs: describe(session.outputMetadata, 'output'),
    };
  } catch (error) {
    await session.release();
    throw error;
  }
  return {
    signature,
    async run(feeds, outputNames) {
      const ortFeeds: Record<string, Ort.Tensor> = {};
      for (const [name, value] of Object.entries(feeds)) ortFeeds[name] = toOrt(ort, value);
      const results = outputNames ? await session.run(ortFeeds, outputNames) : await session.run(ortFeeds);
      const out: Record<string, TensorValue> = {};
      for (const [name, tensor] of Object.entries(results)) {
        out[name] = fromOrt(tensor as Ort.Tensor);
        (tensor as Ort.Tensor).dispose?.();
      }
      return out;
    },
    release: () => session.release(),
  };
}

function toOrt(ort: OrtModule, value: TensorValue): Ort.Tensor {
  const row = datatypeFromOip(value.datatype)!;
  const data = value.datatype === 'BOOL' ? Uint8Array.from(value.data as boolean[], (b) => (b ? 1 : 0)) : value.data;
  return new ort.Tensor(row.ort as OrtType & Ort.Tensor.Type, data as never, value.shape);
}

function fromOrt(tensor: Ort.Tensor): TensorValue {
  const row = datatypeFromOrt(tensor.type);
  if (!row) throw new Error(`onnxruntime returned a tensor of type ${tensor.type}`);
  let data = tensor.data as TensorData;
  if (row.oip === 'BOOL') data = Array.from(tensor.data as Uint8Array, (b) => b !== 0);
  return { datatype: row.oip, shape: [...tensor.dims], data };
}
