import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelshipError } from '../../src/errors.js';
import { digestModel, digestReadModel, externalDataLocations } from '../../src/onnx/digest.js';
import { encodeModel, type InitializerSpec, type ModelSpec } from '../../src/onnx/encode.js';
import { readModelFile } from '../../src/onnx/read.js';
import { signatureOf } from '../../src/onnx/signature.js';
import { ElemType } from '../../src/onnx/types.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { addModel, identityModel, linearClassifierModel, writeModel } from '../support/onnx-models.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelship-onnx-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function errorOf(work: Promise<unknown>): Promise<ModelshipError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ModelshipError)) throw new Error(`expected a ModelshipError, got ${String(error)}`);
  return error;
}

describe('readModelFile', () => {
  it('reads a file, and a folder as its model.onnx', async () => {
    const bytes = await writeModel(join(dir, 'read', 'model.onnx'), addModel());
    for (const path of [join(dir, 'read', 'model.onnx'), join(dir, 'read')]) {
      const read = await readModelFile(path);
      expect(read.path).toBe(join(dir, 'read', 'model.onnx'));
      expect(read.bytes).toEqual(bytes);
      expect(read.model.graph.name).toBe('add');
      expect(read.model.graph.initializers[0].rawData!.buffer).toBe(read.bytes.buffer);
    }
  });

  it('says what is wrong with a missing file, an empty folder, an LFS pointer and garbage', async () => {
    const missing = await errorOf(readModelFile(join(dir, 'nope.onnx')));
    expect(missing.code).toBe('MODEL_NOT_FOUND');
    expect(missing.message).toContain('nope.onnx');
    await mkdir(join(dir, 'empty'), { recursive: true });
    const empty = await errorOf(readModelFile(join(dir, 'empty')));
    expect(empty.code).toBe('MODEL_NOT_FOUND');
    expect(empty.message).toMatch(/No model.onnx in folder/);
    const pointer = join(dir, 'pointer.onnx');
    await writeFile(
      pointer,
      'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n',
    );
    const lfs = await errorOf(readModelFile(pointer));
    expect(lfs.code).toBe('MODEL_LFS_POINTER');
    expect(lfs.hint).toMatch(/git lfs pull/);
    const garbage = join(dir, 'garbage.onnx');
    await writeFile(garbage, Uint8Array.from([0x3a, 0x10, 0x01]));
    const bad = await errorOf(readModelFile(garbage));
    expect(bad.code).toBe('ONNX_DECODE');
    expect(bad.location).toEqual({ file: garbage });
  });
});

describe('signatureOf', () => {
  it('lists inputs that are not initializers, with OIP datatypes and -1 or names for variable dims', () => {
    const spec = linearClassifierModel({ weights: [[1], [2]], bias: [0] });
    // IR 3 exporters list weights among the graph inputs.
    spec.graph.inputs.push({ name: 'W', elemType: ElemType.FLOAT, shape: [2, 1] });
    spec.graph.inputs.push({ name: 'mask', elemType: ElemType.BOOL, shape: [null, 'seq'] });
    expect(signatureOf(decodeModel(encodeModel(spec)))).toEqual({
      inputs: [
        { name: 'features', datatype: 'FP32', shape: ['batch', 2] },
        { name: 'mask', datatype: 'BOOL', shape: [-1, 'seq'] },
      ],
      outputs: [
        { name: 'label', datatype: 'INT64', shape: ['batch'] },
        { name: 'probabilities', datatype: 'FP32', shape: ['batch', 1] },
      ],
    });
    expect(signatureOf(decodeModel(encodeModel(identityModel({ dtype: 'BYTES', shape: [] }))))).toEqual({
      inputs: [{ name: 'X', datatype: 'BYTES', shape: [] }],
      outputs: [{ name: 'Y', datatype: 'BYTES', shape: [] }],
    });
  });

  it('refuses an element type the serving protocol has no datatype for', () => {
    const spec = identityModel();
    spec.graph.inputs[0].elemType = ElemType.BFLOAT16;
    expect(() => signatureOf(decodeModel(encodeModel(spec)))).toThrow(/element type 16/);
  });
});

describe('digestModel', () => {
  const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

  function externalSpec(initializers: InitializerSpec[]): ModelSpec {
    return {
      graph: {
        name: 'ext',
        inputs: [{ name: 'X', elemType: ElemType.FLOAT, shape: [4] }],
        outputs: [{ name: 'Y', elemType: ElemType.FLOAT, shape: [4] }],
        initializers,
        nodes: [{ opType: 'Add', inputs: ['X', initializers[0].name], outputs: ['Y'] }],
      },
    };
  }

  it('is the SHA-256 of the file for a model without external data', async () => {
    const path = join(dir, 'plain.onnx');
    const bytes = await writeModel(path, addModel({ constant: 3 }));
    expect(await digestModel(path)).toBe(`sha256:${sha256(bytes)}`);
    const read = await readModelFile(path);
    expect(await digestReadModel(read.path, read.model, read.bytes)).toBe(`sha256:${sha256(bytes)}`);
  });

  it('frames the model and each external file, sorted and once per location', async () => {
    const folder = join(dir, 'external');
    await mkdir(join(folder, 'data'), { recursive: true });
    const a = new Float32Array([1, 2, 3, 4]);
    const b = new Float32Array([5, 6, 7, 8, 9, 10, 11, 12]);
    await writeFile(join(folder, 'data', 'z.bin'), a);
    await writeFile(join(folder, 'b.bin'), b);
    const spec = externalSpec([
      { name: 'A', elemType: ElemType.FLOAT, dims: [4], external: { location: 'data/z.bin' } },
      { name: 'B', elemType: ElemType.FLOAT, dims: [4], external: { location: 'b.bin', offset: 0, length: 16 } },
      { name: 'C', elemType: ElemType.FLOAT, dims: [4], external: { location: 'b.bin', offset: 16, length: 16 } },
      { name: 'D', elemType: ElemType.FLOAT, dims: [1], data: Float32Array.from([1]) },
    ]);
    const model = await writeModel(join(folder, 'model.onnx'), spec);
    expect(await externalDataLocations(join(folder, 'model.onnx'))).toEqual(['b.bin', 'data/z.bin']);
    const expected = createHash('sha256')
      .update('modelship-digest-v1\n')
      .update(`model ${model.length}\n`)
      .update(model)
      .update(`external "b.bin" 32\n`)
      .update(new Uint8Array(b.buffer))
      .update(`external "data/z.bin" 16\n`)
      .update(new Uint8Array(a.buffer))
      .digest('hex');
    const digest = await digestModel(folder);
    expect(digest).toBe(`sha256:${expected}`);
    // From the model already read, the external files are still read and framed.
    const read = await readModelFile(folder);
    expect(await digestReadModel(read.path, read.model, read.bytes)).toBe(digest);
    expect(digest).not.toBe(`sha256:${sha256(model)}`);
    // New weights in an external file are a new digest.
    await writeFile(join(folder, 'b.bin'), new Float32Array([5, 6, 7, 8, 9, 10, 11, 13]));
    expect(await digestModel(folder)).not.toBe(digest);
  });

  it('digests a model already read like one read again, when its graph comes in two fields', async () => {
    // Protobuf merges a repeated message field; decoding keeps the last graph, the digest sees both.
    const folder = join(dir, 'two-graphs');
    await mkdir(folder, { recursive: true });
    const external = encodeModel(
      externalSpec([{ name: 'A', elemType: ElemType.FLOAT, dims: [4], external: { location: 'w.bin' } }]),
    );
    const plain = encodeModel(
      externalSpec([{ name: 'A', elemType: ElemType.FLOAT, dims: [4], data: Float32Array.from([1, 2, 3, 4]) }]),
    );
    const bytes = new Uint8Array([...external, ...plain]);
    await writeFile(join(folder, 'model.onnx'), bytes);
    await writeFile(join(folder, 'w.bin'), new Float32Array([5, 6, 7, 8]));
    const read = await readModelFile(folder);
    const digest = await digestModel(folder);
    expect(digest).not.toBe(`sha256:${sha256(bytes)}`);
    expect(await digestReadModel(read.path, read.model, read.bytes)).toBe(digest);
    await rm(join(folder, 'w.bin'));
    expect((await errorOf(digestReadModel(read.path, read.model, read.bytes))).code).toBe('ONNX_EXTERNAL_DATA');
  });

  it('refuses a missing external file and a location outside the model folder', async () => {
    const folder = join(dir, 'external-bad');
    await writeModel(
      join(folder, 'model.onnx'),
      externalSpec([{ name: 'A', elemType: ElemType.FLOAT, dims: [4], external: { location: 'gone.bin' } }]),
    );
    const missing = await errorOf(digestModel(folder));
    expect(missing.code).toBe('ONNX_EXTERNAL_DATA');
    expect(missing.message).toMatch(/"gone.bin" .* is missing/);
    await writeFile(join(dir, 'outside.bin'), new Float32Array(4));
    await writeModel(
      join(folder, 'model.onnx'),
      externalSpec([{ name: 'A', elemType: ElemType.FLOAT, dims: [4], external: { location: '../outside.bin' } }]),
    );
    const escape = await errorOf(digestModel(folder));
    expect(escape.code).toBe('ONNX_EXTERNAL_DATA');
    expect(escape.message).toMatch(/outside the model folder/);
  });

  it('streams a large model and agrees with hashing the file whole', async () => {
    const path = join(dir, 'large.onnx');
    const weights = new Float32Array(5_000_000).map((_, i) => i % 251);
    await writeModel(
      path,
      externalSpec([{ name: 'W', elemType: ElemType.FLOAT, dims: [weights.length], data: weights }]),
    );
    expect(await digestModel(path)).toBe(`sha256:${sha256(await readFile(path))}`);
  });

  it('reports a corrupt model as ONNX_DECODE with the file', async () => {
    const path = join(dir, 'truncated.onnx');
    const bytes = encodeModel(addModel());
    await writeFile(path, bytes.subarray(0, bytes.length - 30));
    const error = await errorOf(digestModel(path));
    expect(error.code).toBe('ONNX_DECODE');
    expect(error.location).toEqual({ file: path });
  });
});
