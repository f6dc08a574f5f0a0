import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeModel } from '../src/onnx/decode.js';
import { digestModel } from '../src/onnx/digest.js';
import { signatureOf } from '../src/onnx/signature.js';
import { mlpHiddenSizesForBytes, writeMlpModel } from '../scripts/fixtures/mlp.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelship-mlp-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeMlpModel', () => {
  const options = { inputSize: 784, hiddenSizes: mlpHiddenSizesForBytes(2_000_000), outputSize: 10, seed: 3 };

  it('sizes hidden layers to a byte target', () => {
    for (const target of [1_000_000, 20_000_000, 200_000_000]) {
      const [h] = mlpHiddenSizesForBytes(target);
      const bytes = 4 * (784 * h + h + h * h + h + h * 10 + 10);
      expect(Math.abs(bytes - target) / target).toBeLessThan(0.01);
    }
  });

  it('writes a model with inline weights that onnxruntime runs', async () => {
    const path = join(dir, 'inline.onnx');
    const { bytes } = await writeMlpModel(path, options);
    expect((await stat(path)).size).toBe(bytes);
    expect(Math.abs(bytes - 2_000_000) / 2_000_000).toBeLessThan(0.02);
    const model = decodeModel(await readFile(path));
    expect(signatureOf(model)).toEqual({
      inputs: [{ name: 'input', datatype: 'FP32', shape: ['batch', 784] }],
      outputs: [{ name: 'output', datatype: 'FP32', shape: ['batch', 10] }],
    });
    const s = await ort.InferenceSession.create(path);
    const out = await s.run({ input: new ort.Tensor('float32', new Float32Array(2 * 784).fill(0.5), [2, 784]) });
    expect(out.output.dims).toEqual([2, 10]);
    const values = Array.from(out.output.data as Float32Array);
    expect(values.every(Number.isFinite)).toBe(true);
    expect(new Set(values.slice(0, 10)).size).toBeGreaterThan(1);
  });

  it('writes the same weights to an external data file, and runs the same', async () => {
    const inline = join(dir, 'inline.onnx');
    const folder = await mkdtemp(join(dir, 'external-'));
    const path = join(folder, 'model.onnx');
    const { bytes } = await writeMlpModel(path, { ...options, externalData: true });
    const modelSize = (await stat(path)).size;
    const dataSize = (await stat(`${path}.data`)).size;
    expect(bytes).toBe(modelSize + dataSize);
    expect(modelSize).toBeLessThan(2000);
    const model = decodeModel(await readFile(path));
    expect(model.graph.initializers.every((i) => i.external?.location === 'model.onnx.data')).toBe(true);
    expect(await digestModel(path)).not.toBe(await digestModel(inline));
    const input = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 784 }, (_, i) => (i % 7) / 7),
      [1, 784],
    );
    const a = await (await ort.InferenceSession.create(inline)).run({ input });
    const b = await (await ort.InferenceSession.create(path)).run({ input });
    expect(Array.from(b.output.data as Float32Array)).toEqual(Array.from(a.output.data as Float32Array));
  });
});
