/**
 * Seeded mutation test: mutated copies of real models (bit flips, truncation, corrupted length fields,
 * spliced bytes) must each end in a verdict: a report with every check pass/warn/fail/skip, within a
 * deadline, never an exception or a hang of the process running validate. Every mutant goes through the
 * step in-process without the runtime; a seeded sample also through the isolated onnxruntime load.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { encodeModel } from '../../src/onnx/encode.js';
import { silentLogger } from '../../src/log.js';
import { validate, type ValidateResult } from '../../src/steps/validate.js';
import { CHECK_IDS } from '../../src/validate/checks.js';
import { linearClassifierModel } from '../support/onnx-models.js';
import { builtRuntimeWorker } from '../support/runtime-worker.js';

const MUTANTS = 1000;
const ISOLATED_SAMPLE = 30;
const SEED = 20240611;
/** A verdict on a model of a few kB that takes longer than this is a hang. */
const STATIC_DEADLINE_MS = 5000;

/** runtime.load's message when the model would have reached onnxruntime but the runtime was left out. */
const TURNED_OFF = 'Skipped: the runtime checks were turned off.';

const models = path.join(import.meta.dirname, '..', '..', 'fixtures', 'models');

/** mulberry32: small, seeded, good enough to pick bytes. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function readVarint(bytes: Uint8Array, at: number): { value: number; end: number } | undefined {
  let value = 0;
  for (let i = 0; i < 10 && at + i < bytes.length; i++) {
    value += (bytes[at + i] & 0x7f) * 2 ** (7 * i);
    if ((bytes[at + i] & 0x80) === 0) return { value, end: at + i + 1 };
  }
  return undefined;
}

/** Offsets and sizes of every length prefix in the protobuf, nested messages included. */
function lengthFields(
  bytes: Uint8Array,
  start = 0,
  end = bytes.length,
  depth = 0,
): Array<{ at: number; size: number }> {
  const found: Array<{ at: number; size: number }> = [];
  let pos = start;
  while (pos < end) {
    const key = readVarint(bytes, pos);
    if (!key || key.value === 0) return found;
    const wire = key.value % 8;
    pos = key.end;
    if (wire === 0) {
      const v = readVarint(bytes, pos);
      if (!v) return found;
      pos = v.end;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const length = readVarint(bytes, pos);
      if (!length || length.end + length.value > end) return found;
      found.push({ at: pos, size: length.end - pos });
      if (depth < 8) found.push(...lengthFields(bytes, length.end, length.end + length.value, depth + 1));
      pos = length.end + length.value;
    } else return found;
  }
  return found;
}

function encodeVarint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

type Kind = 'bit-flip' | 'truncate' | 'length' | 'splice';
const KINDS: Kind[] = ['bit-flip', 'truncate', 'length', 'splice'];

function mutate(source: Uint8Array, kind: Kind, next: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(next() * n);
  switch (kind) {
    case 'bit-flip': {
      const copy = source.slice();
      const flips = 1 + pick(8);
      for (let i = 0; i < flips; i++) copy[pick(copy.length)] ^= 1 << pick(8);
      return copy;
    }
    case 'truncate':
      return source.slice(0, pick(source.length));
    case 'length': {
      const fields = lengthFields(source);
      const field = fields[pick(fields.length)];
      const original = readVarint(source, field.at)!.value;
      const choices = [
        0,
        original + 1,
        Math.max(0, original - 1),
        original * 2 + 7,
        2 ** 31 - 1,
        2 ** 35,
        pick(1 << 16),
      ];
      const value = choices[pick(choices.length)];
      const bytes = encodeVarint(value);
      const out = new Uint8Array(source.length - field.size + bytes.length);
      out.set(source.subarray(0, field.at));
      out.set(bytes, field.at);
      out.set(source.subarray(field.at + field.size), field.at + bytes.length);
      return out;
    }
    case 'splice': {
      const from = pick(source.length);
      const length = 1 + pick(Math.min(64, source.length - from));
      const to = pick(source.length);
      const out = new Uint8Array(source.length + length);
      out.set(source.subarray(0, to));
      out.set(source.subarray(from, from + length), to);
      out.set(source.subarray(to), to + length);
      return out;
    }
  }
}

let dir: string;
const sources: Array<{ name: string; bytes: Uint8Array }> = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'modelship-mutants-'));
  for (const name of ['iris-v1', 'iris-v2', 'mpg-v1']) {
    sources.push({ name, bytes: new Uint8Array(await readFile(path.join(models, name, 'model.onnx'))) });
  }
  sources.push({
    name: 'labelled-classifier',
    bytes: encodeModel(
      linearClassifierModel({
        weights: [
          [1, -1],
          [0.5, 2],
        ],
        bias: [0.1, -0.1],
        labels: ['no', 'yes'],
      }),
    ),
  });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function expectVerdict(result: ValidateResult): void {
  expect(typeof result.passed).toBe('boolean');
  expect(result.report.checks.map((check) => check.id)).toEqual(CHECK_IDS);
  for (const check of result.report.checks) {
    expect(['pass', 'warn', 'fail', 'skip']).toContain(check.status);
    expect(check.message.length).toBeGreaterThan(0);
  }
}

const withDeadline = <T>(work: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    work,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: no verdict within ${ms} ms`)), ms).unref(),
    ),
  ]);

test(`${MUTANTS} mutated models each end in a verdict; a sample of ${ISOLATED_SAMPLE} also through the isolated runtime`, async () => {
  const next = random(SEED);
  const tally: Record<string, number> = { passed: 0, failed: 0 };
  const started = performance.now();
  const byKind: Record<Kind, number> = { 'bit-flip': 0, truncate: 0, length: 0, splice: 0 };
  const reachRuntime: Uint8Array[] = [];
  const others: Uint8Array[] = [];
  const reportPath = path.join(dir, 'report.json');
  // One file, rewritten for each mutant: the file system is the slow part here, not validate.
  const file = path.join(dir, 'model.onnx');

  for (let i = 0; i < MUTANTS; i++) {
    const source = sources[i % sources.length];
    const kind = KINDS[Math.floor(next() * KINDS.length)];
    byKind[kind]++;
    const mutant = mutate(source.bytes, kind, next);
    await writeFile(file, mutant);
    const what = `mutant ${i} (${kind} of ${source.name})`;
    let result: ValidateResult;
    try {
      result = await withDeadline(
        validate({ model: file, skipRuntime: true, reportPath }, silentLogger),
        STATIC_DEADLINE_MS,
        what,
      );
    } catch (error) {
      throw new Error(`${what} threw instead of giving a verdict: ${(error as Error).stack}`);
    }
    expectVerdict(result);
    tally[result.passed ? 'passed' : 'failed']++;
    const blocked = result.report.checks.some((check) => check.id === 'runtime.load' && check.message !== TURNED_OFF);
    (blocked ? others : reachRuntime).push(mutant);
  }

  const inProcessMs = performance.now() - started;
  // Both outcomes occur: the mutations are neither all harmless nor all fatal.
  expect(tally.passed).toBeGreaterThan(0);
  expect(tally.failed).toBeGreaterThan(MUTANTS / 4);
  for (const count of Object.values(byKind)) expect(count).toBeGreaterThan(MUTANTS / 8);

  // The sample favours mutants that reach onnxruntime: those are the ones the isolation is for.
  const pool = [...reachRuntime, ...others];
  const sample: string[] = [];
  for (const [index, bytes] of pool.slice(0, ISOLATED_SAMPLE).entries()) {
    const folder = path.join(dir, `sample-${index}`);
    await mkdir(folder);
    await writeFile(path.join(folder, 'model.onnx'), bytes);
    sample.push(path.join(folder, 'model.onnx'));
  }
  expect(sample).toHaveLength(ISOLATED_SAMPLE);
  const runtimeStatus: Record<string, number> = {};
  const queue = [...sample];
  const worker = builtRuntimeWorker();
  await Promise.all(
    [0, 1].map(async () => {
      for (let file = queue.shift(); file; file = queue.shift()) {
        const result = await validate(
          {
            model: file,
            reportPath: path.join(path.dirname(file), 'report.json'),
            runtimeTimeoutMs: 10_000,
            runtimeWorker: worker,
          },
          silentLogger,
        );
        expectVerdict(result);
        const load = result.report.checks.find((check) => check.id === 'runtime.load')!;
        runtimeStatus[load.status] = (runtimeStatus[load.status] ?? 0) + 1;
      }
    }),
  );
  expect(Object.values(runtimeStatus).reduce((a, b) => a + b, 0)).toBe(ISOLATED_SAMPLE);
  expect(runtimeStatus.pass ?? 0).toBeGreaterThan(0);
  console.log(
    `mutants: ${JSON.stringify(byKind)}; verdicts ${JSON.stringify(tally)} in ${Math.round(inProcessMs)} ms; ` +
      `${reachRuntime.length} would reach the runtime; ` +
      `isolated sample runtime.load ${JSON.stringify(runtimeStatus)}`,
  );
}, 120_000);
