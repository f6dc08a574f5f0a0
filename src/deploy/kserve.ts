/**
 * KServe: the InferenceService manifest for a model version. modelship does not talk to a cluster; it
 * renders the manifest (applied with `kubectl apply -f`, or by a GitOps controller). A canary is a
 * `canaryTrafficPercent` on the new revision; KServe promotes when the field is dropped and rolls back
 * with `canaryTrafficPercent: 0`.
 */
import { stringify } from 'yaml';
import { ModelshipError } from '../errors.js';

export interface InferenceServiceOptions {
  name: string;
  namespace?: string;
  /** Where the Triton-layout repository for this version lives (s3://, gs://, pvc://, https://). */
  storageUri: string;
  /** Percent of traffic for the new revision; omitted means all of it (a promote). */
  canaryTrafficPercent?: number;
  /** Recorded as annotations, so every version is a new revision and the cluster says what it runs. */
  version?: string;
  digest?: string;
  /** Serving runtime; KServe picks one for onnx + v2 when omitted. */
  runtime?: string;
}

export function inferenceService(options: InferenceServiceOptions): Record<string, unknown> {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(options.name) || options.name.length > 63) {
    throw new ModelshipError(
      'KSERVE_NAME',
      `'${options.name}' is not a valid InferenceService name.`,
      'Kubernetes names are lower-case letters, digits and hyphens (at most 63), starting and ending with a letter or digit.',
    );
  }
  const percent = options.canaryTrafficPercent;
  if (percent !== undefined && !(Number.isInteger(percent) && percent >= 0 && percent <= 100)) {
    throw new ModelshipError('KSERVE_CANARY', `canaryTrafficPercent must be an integer from 0 to 100, got ${percent}.`);
  }
  const annotations: Record<string, string> = {};
  if (options.version) annotations['modelship.dev/version'] = options.version;
  if (options.digest) annotations['modelship.dev/digest'] = options.digest;
  const metadata: Record<string, unknown> = { name: options.name };
  if (options.namespace) metadata.namespace = options.namespace;
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  const model: Record<string, unknown> = {
    modelFormat: { name: 'onnx' },
    protocolVersion: 'v2',
    storageUri: options.storageUri,
  };
  if (options.runtime) model.runtime = options.runtime;
  const predictor: Record<string, unknown> = {};
  if (percent !== undefined) predictor.canaryTrafficPercent = percent;
  if (Object.keys(annotations).length > 0) predictor.annotations = annotations;
  predictor.model = model;
  return { apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', metadata, spec: { predictor } };
}

export function renderInferenceService(options: InferenceServiceOptions): string {
  return stringify(inferenceService(options));
}

/** Fills `{version}`, `{numericVersion}` and `{model}` in a storage URI template. */
export function storageUriFor(
  template: string,
  values: { model: string; version: string; numericVersion: number },
): string {
  return template
    .replaceAll('{model}', values.model)
    .replaceAll('{version}', values.version)
    .replaceAll('{numericVersion}', String(values.numericVersion));
}
