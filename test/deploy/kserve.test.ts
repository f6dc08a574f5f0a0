import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { inferenceService, renderInferenceService, storageUriFor } from '../../src/deploy/kserve.js';

describe('KServe InferenceService', () => {
  it('renders a v2 ONNX predictor with a canary share', () => {
    const manifest = parse(
      renderInferenceService({
        name: 'iris',
        namespace: 'models',
        storageUri: 's3://bucket/iris/3',
        canaryTrafficPercent: 10,
        version: '1.2.0',
        digest: 'sha256:abc',
      }),
    );
    expect(manifest).toEqual({
      apiVersion: 'serving.kserve.io/v1beta1',
      kind: 'InferenceService',
      metadata: {
        name: 'iris',
        namespace: 'models',
        annotations: { 'modelship.dev/version': '1.2.0', 'modelship.dev/digest': 'sha256:abc' },
      },
      spec: {
        predictor: {
          canaryTrafficPercent: 10,
          annotations: { 'modelship.dev/version': '1.2.0', 'modelship.dev/digest': 'sha256:abc' },
          model: { modelFormat: { name: 'onnx' }, protocolVersion: 'v2', storageUri: 's3://bucket/iris/3' },
        },
      },
    });
  });

  it('a promote drops the field; a rollback sets it to 0', () => {
    const promote = inferenceService({ name: 'iris', storageUri: 'pvc://models/iris' });
    expect((promote.spec as { predictor: Record<string, unknown> }).predictor).not.toHaveProperty(
      'canaryTrafficPercent',
    );
    const rollback = inferenceService({ name: 'iris', storageUri: 'pvc://models/iris', canaryTrafficPercent: 0 });
    expect((rollback.spec as { predictor: Record<string, unknown> }).predictor.canaryTrafficPercent).toBe(0);
  });

  it('rejects names Kubernetes would and bad percentages', () => {
    expect(() => inferenceService({ name: 'Iris_Model', storageUri: 's3://x' })).toThrow(/not a valid/);
    expect(() => inferenceService({ name: 'iris', storageUri: 's3://x', canaryTrafficPercent: 150 })).toThrow(
      /0 to 100/,
    );
  });

  it('fills storage URI templates', () => {
    expect(
      storageUriFor('gs://b/{model}/{numericVersion}?v={version}', {
        model: 'iris',
        version: '1.0.0',
        numericVersion: 4,
      }),
    ).toBe('gs://b/iris/4?v=1.0.0');
  });
});
