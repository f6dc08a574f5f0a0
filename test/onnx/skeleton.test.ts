/**
 * The skeleton (a model file read without its weights) must decode to the same structure as the whole
 * file, for good models and for mutated ones alike: the checks see no difference, only the weights' values.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { writeMlpModel } from '../../scripts/fixtures/mlp.js';
import { checkStructure } from '../../src/onnx/checks.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { readModelSkeleton } from '../../src/onnx/skeleton.js';
import { BUNDLED_RUNTIME } from '../../src/runtime/supported-versions.js';

let dir: string;
let model: string;
let bytes: Uint8Array;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'modelship-skeleton-'));
  model = path.join(dir, 'mlp.onnx');
  // 784*64 floats = 200 kB of weights in the first layer: big enough to be left out.
  await writeMlpModel(model, { inputSize: 784, hiddenSizes: [64], outputSize: 10 });
  bytes = new Uint8Array(await readFile(model));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A decoded model or its error, with weights reduced to their length so skeleton and file compare equal. */
function structureOf(data: Uint8Array): string {
  try {
    // A plain view: Buffer views would serialize their contents.
    const decoded = decodeModel(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    const findings = checkStructure(decoded, BUNDLED_RUNTIME);
    return JSON.stringify({ decoded, findings }, (_key, value: unknown) =>
      value instanceof Uint8Array ? `<${value.byteLength} bytes>` : typeof value === 'bigint' ? `${value}n` : value,
    );
  } catch (error) {
    return `error: ${(error as Error).message}`;
  }
}

test('the weights are left out, and the structure is that of the whole file', async () => {
  const skeleton = await readModelSkeleton(model);
  expect(skeleton.bytes.byteLength).toBe(bytes.byteLength);
  expect(skeleton.skipped).toBe(784 * 64 * 4);
  expect(structureOf(skeleton.bytes)).toBe(structureOf(bytes));
  // What was left out really was not read.
  expect(Buffer.compare(Buffer.from(skeleton.bytes), Buffer.from(bytes))).not.toBe(0);
});

test('files that are not models are read whole', async () => {
  const text = path.join(dir, 'text.onnx');
  await writeFile(text, 'version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 1\n');
  const skeleton = await readModelSkeleton(text);
  expect(skeleton.skipped).toBe(0);
  expect(Buffer.from(skeleton.bytes).toString()).toContain('git-lfs');
});

test('300 mutated copies decode (or fail) from the skeleton exactly as from the whole file', async () => {
  let state = 0x5eed;
  const next = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const file = path.join(dir, 'mutant.onnx');
  let decoded = 0;
  for (let i = 0; i < 300; i++) {
    const mutant = bytes.slice();
    // Corrupt the structure (the first kilobyte and the tail, where the graph's fields live) more than the weights.
    const at = next() < 0.6 ? Math.floor(next() * 1024) : Math.floor(next() * mutant.length);
    if (i % 3 === 0) mutant[at] ^= 1 << Math.floor(next() * 8);
    else if (i % 3 === 1) mutant[at] = Math.floor(next() * 256);
    else mutant[mutant.length - 1 - Math.floor(next() * 2048)] ^= 0x80;
    const cut = i % 10 === 9 ? mutant.subarray(0, Math.floor(next() * mutant.length)) : mutant;
    await writeFile(file, cut);
    const whole = structureOf(cut);
    expect(structureOf((await readModelSkeleton(file)).bytes), `mutant ${i}`).toBe(whole);
    if (!whole.startsWith('error:')) decoded++;
  }
  // Both kinds occur: some mutants still decode, some do not.
  expect(decoded).toBeGreaterThan(0);
  expect(decoded).toBeLessThan(300);
});
