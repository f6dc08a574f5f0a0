import { link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { decodeModel } from '../../src/onnx/decode.js';
import { encodeModel, type InitializerSpec } from '../../src/onnx/encode.js';
import { checkExternalData, unsafeLocation } from '../../src/onnx/external-data.js';
import { parseLfsPointer } from '../../src/onnx/lfs-pointer.js';
import { ElemType, type ExternalDataRef, type OnnxModel } from '../../src/onnx/types.js';
import { addModel } from '../support/onnx-models.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'modelship-external-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** addModel with its initializer C (float32 [3], 12 bytes) stored externally as given. */
function modelWith(external: ExternalDataRef, dims = [3]): OnnxModel {
  const spec = addModel({ constant: [1, 2, 3] });
  const c: InitializerSpec = { name: 'C', elemType: ElemType.FLOAT, dims, external };
  spec.graph.initializers = [c];
  return decodeModel(encodeModel(spec));
}

let counter = 0;
/** A fresh model folder holding the given files. */
async function folder(files: Record<string, Uint8Array | string> = {}): Promise<string> {
  const dir = path.join(root, `model-${counter++}`);
  await mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  return dir;
}

const twelve = new Uint8Array(12);

describe('checkExternalData', () => {
  test('a contained, complete file passes and is listed', async () => {
    const dir = await folder({ 'weights.bin': twelve });
    const result = await checkExternalData(modelWith({ location: 'weights.bin' }), dir);
    expect(result.findings).toEqual([]);
    expect(result.tensors).toBe(1);
    expect(result.files).toEqual([{ location: 'weights.bin', path: path.join(dir, 'weights.bin'), size: 12 }]);
  });

  test('subfolders, offsets and lengths within the file pass', async () => {
    const dir = await folder({ 'data/all.bin': new Uint8Array(40) });
    const result = await checkExternalData(modelWith({ location: 'data/all.bin', offset: 16, length: 12 }), dir);
    expect(result.findings).toEqual([]);
  });

  test('a model without external data has nothing to check', async () => {
    const result = await checkExternalData(decodeModel(encodeModel(addModel())), await folder());
    expect(result).toEqual({ findings: [], files: [], tensors: 0 });
  });

  test.each([
    ['../outside.bin', "contains '..'"],
    ['data/../../outside.bin', "contains '..'"],
    ['..\\outside.bin', "contains '..'"],
    ['/etc/passwd', 'absolute path'],
    ['C:\\weights.bin', 'absolute path'],
    ['\\\\server\\share\\w.bin', 'absolute path'],
    ['', 'empty'],
  ])('location %j is refused without touching the file system', async (location, why) => {
    const dir = await folder();
    await writeFile(path.join(root, 'outside.bin'), twelve);
    const { findings, files } = await checkExternalData(modelWith({ location }), dir);
    expect(findings).toHaveLength(1);
    expect(findings[0].check).toBe('external-data.location');
    expect(findings[0].message).toContain(why);
    expect(findings[0].message).toContain("initializer 'C'");
    expect(files).toEqual([]);
  });

  test('a symlink is refused, even one pointing inside the folder', async () => {
    const dir = await folder({ 'real.bin': twelve });
    await symlink(path.join(dir, 'real.bin'), path.join(dir, 'weights.bin'));
    const { findings } = await checkExternalData(modelWith({ location: 'weights.bin' }), dir);
    expect(findings.map((f) => f.check)).toEqual(['external-data.file']);
    expect(findings[0].message).toContain('symbolic link');
  });

  test('a file reached through a linked directory is outside the folder', async () => {
    const outside = await folder({ 'weights.bin': twelve });
    const dir = await folder();
    await symlink(outside, path.join(dir, 'linked'));
    const { findings } = await checkExternalData(modelWith({ location: 'linked/weights.bin' }), dir);
    expect(findings).toHaveLength(1);
    expect(findings[0].message).toContain('outside the model folder');
  });

  test('a hard link is refused', async () => {
    const outside = await folder({ 'secret.bin': twelve });
    const dir = await folder();
    await link(path.join(outside, 'secret.bin'), path.join(dir, 'weights.bin'));
    const { findings } = await checkExternalData(modelWith({ location: 'weights.bin' }), dir);
    expect(findings[0]).toMatchObject({
      check: 'external-data.file',
      message: expect.stringContaining('2 hard links'),
    });
  });

  test('missing file, directory, and an LFS pointer in place of the data', async () => {
    const missing = await checkExternalData(modelWith({ location: 'weights.bin' }), await folder());
    expect(missing.findings[0].message).toContain('is missing from the model folder');

    const dirAsFile = await folder();
    await mkdir(path.join(dirAsFile, 'weights.bin'));
    const notFile = await checkExternalData(modelWith({ location: 'weights.bin' }), dirAsFile);
    expect(notFile.findings[0].message).toContain('not a regular file');

    const pointer = 'version https://git-lfs.github.com/spec/v1\noid sha256:' + 'ab'.repeat(32) + '\nsize 12\n';
    const lfs = await checkExternalData(
      modelWith({ location: 'weights.bin' }),
      await folder({ 'weights.bin': pointer }),
    );
    expect(lfs.findings[0].message).toContain('is a Git LFS pointer');
    expect(lfs.findings[0].message).toContain('git lfs pull');
  });

  test('bytes past the end of the file, and a length that disagrees with the dims', async () => {
    const dir = await folder({ 'weights.bin': new Uint8Array(10) });
    const past = await checkExternalData(modelWith({ location: 'weights.bin' }), dir);
    expect(past.findings).toEqual([
      expect.objectContaining({
        check: 'external-data.size',
        message: expect.stringContaining("reads bytes 0..12 of 'weights.bin', which holds 10"),
      }),
    ]);

    const offset = await checkExternalData(
      modelWith({ location: 'w.bin', offset: 8, length: 12 }),
      await folder({ 'w.bin': new Uint8Array(16) }),
    );
    expect(offset.findings[0].message).toContain('reads bytes 8..20');

    const wrongLength = await checkExternalData(
      modelWith({ location: 'w.bin', length: 8 }),
      await folder({ 'w.bin': new Uint8Array(16) }),
    );
    expect(wrongLength.findings[0].message).toContain('= 12 bytes, but its external data length is 8');

    const badOffset = await checkExternalData(
      modelWith({ location: 'w.bin', offset: Number.NaN }),
      await folder({ 'w.bin': twelve }),
    );
    expect(badOffset.findings[0].message).toContain('must be a non-negative integer');
  });

  test('several tensors sharing one file are checked once per file, each against its span', async () => {
    const spec = addModel({ constant: [1, 2, 3] });
    spec.graph.initializers = [
      { name: 'C', elemType: ElemType.FLOAT, dims: [3], external: { location: 'w.bin', offset: 0, length: 12 } },
      { name: 'D', elemType: ElemType.FLOAT, dims: [3], external: { location: 'w.bin', offset: 12, length: 12 } },
    ];
    const dir = await folder({ 'w.bin': new Uint8Array(20) });
    const { findings, files, tensors } = await checkExternalData(decodeModel(encodeModel(spec)), dir);
    expect(tensors).toBe(2);
    expect(files).toHaveLength(1);
    expect(findings).toHaveLength(1);
    expect(findings[0].message).toContain("'D' reads bytes 12..24");
  });
});

test('unsafeLocation accepts plain relative paths only', () => {
  expect(unsafeLocation('weights.bin')).toBeUndefined();
  expect(unsafeLocation('sub/dir/w.bin')).toBeUndefined();
  expect(unsafeLocation('..weights')).toBeUndefined();
  expect(unsafeLocation('a\0b')).toContain('NUL');
});

describe('parseLfsPointer', () => {
  test('reads oid and size of a pointer', () => {
    const text = `version https://git-lfs.github.com/spec/v1\noid sha256:${'0f'.repeat(32)}\nsize 1234\n`;
    expect(parseLfsPointer(Buffer.from(text))).toMatchObject({ oid: `sha256:${'0f'.repeat(32)}`, size: 1234 });
  });

  test('anything else is not a pointer', () => {
    expect(parseLfsPointer(Buffer.from('version 1\n'))).toBeUndefined();
    expect(parseLfsPointer(encodeModel(addModel()))).toBeUndefined();
    const big = Buffer.alloc(2000, 'a');
    Buffer.from('version https://git-lfs.github.com/spec/v1\n').copy(big);
    expect(parseLfsPointer(big)).toBeUndefined();
  });
});
