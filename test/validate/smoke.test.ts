import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ModelshipError } from '../../src/errors.js';
import type { TensorSignature, TensorValue } from '../../src/runtime/tensor.js';
import { feedsFromRows, firstRow, readFixtureRows, synthesizeFeeds } from '../../src/validate/smoke-inputs.js';
import { assessOutputs, bindDimensions, countNonFinite, percentile } from '../../src/validate/smoke-outputs.js';

const features: TensorSignature = { name: 'features', datatype: 'FP32', shape: ['batch', 4] };
const iris = path.join(import.meta.dirname, '..', '..', 'fixtures', 'data', 'iris', 'heldout.jsonl');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'modelship-smoke-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const codeOf = (work: () => unknown): string | undefined => {
  try {
    work();
  } catch (error) {
    return error instanceof ModelshipError ? error.code : `not a ModelshipError: ${String(error)}`;
  }
  return undefined;
};

describe('synthesizeFeeds', () => {
  test('variable dims become the batch (axis 0) or 1; values are deterministic', () => {
    const inputs: TensorSignature[] = [
      features,
      { name: 'ids', datatype: 'INT64', shape: [-1, 'len'] },
      { name: 'mask', datatype: 'BOOL', shape: [2] },
      { name: 'text', datatype: 'BYTES', shape: [1] },
      { name: 'half', datatype: 'FP16', shape: [3] },
    ];
    const feeds = synthesizeFeeds(inputs, 2);
    expect(feeds.features.shape).toEqual([2, 4]);
    expect(feeds.features.data).toBeInstanceOf(Float32Array);
    expect(Array.from(feeds.features.data as Float32Array).every((v) => v >= 0 && v < 1)).toBe(true);
    expect(feeds.ids).toEqual({ datatype: 'INT64', shape: [2, 1], data: new BigInt64Array(2) });
    expect(feeds.mask.data).toEqual([false, false]);
    expect(feeds.text.data).toEqual(['']);
    expect(countNonFinite(feeds.half)).toEqual({ nan: 0, infinite: 0 });
    expect(synthesizeFeeds(inputs, 2)).toEqual(feeds);
  });

  test('a huge fixed input is refused rather than allocated', () => {
    expect(codeOf(() => synthesizeFeeds([{ name: 'x', datatype: 'FP32', shape: [100000, 100000] }]))).toBe(
      'SMOKE_INPUTS',
    );
  });
});

describe('fixture rows', () => {
  test('reads the first rows of the Iris fixture and batches them', async () => {
    const rows = await readFixtureRows({ path: iris }, 5);
    expect(rows).toHaveLength(5);
    expect(rows[0].id).toBe('iris-3');
    const feeds = feedsFromRows([features], rows);
    expect(feeds.features.shape).toEqual([5, 4]);
    expect(Array.from(feeds.features.data as Float32Array).slice(0, 4)).toEqual([4.7, 3.2, 1.3, 0.2].map(Math.fround));
  });

  test('inputs mapped to fields and columns', async () => {
    const file = path.join(dir, 'mapped.jsonl');
    await writeFile(file, '{"id": 7, "x": {"f": [1, 2, 3, 4]}, "a": 1, "b": 2}\n');
    const [row] = await readFixtureRows({ path: file, inputs: { features: 'x.f', pair: ['a', 'b'] } });
    expect(row).toEqual({ id: 7, inputs: { features: [1, 2, 3, 4], pair: [1, 2] } });
    const [partial] = await readFixtureRows({ path: file, inputs: { features: 'nowhere', pair: ['a', 'c'] } });
    expect(partial.inputs).toEqual({});
  });

  test('rows that already carry the batch dimension are concatenated', () => {
    const feeds = feedsFromRows(
      [features],
      [
        { inputs: { features: [[1, 2, 3, 4]] } },
        {
          inputs: {
            features: [
              [5, 6, 7, 8],
              [9, 9, 9, 9],
            ],
          },
        },
      ],
    );
    expect(feeds.features.shape).toEqual([3, 4]);
  });

  test('a fixed batch takes that many rows', () => {
    const rows = [1, 2, 3].map((i) => ({ inputs: { x: [i, i] } }));
    const feeds = feedsFromRows([{ name: 'x', datatype: 'INT32', shape: [2, 2] }], rows);
    expect(feeds.x).toEqual({ datatype: 'INT32', shape: [2, 2], data: Int32Array.from([1, 1, 2, 2]) });
  });

  test('rows that do not fit name the row and input', () => {
    const run = (rows: Array<{ id?: string; inputs: Record<string, unknown> }>) => {
      try {
        feedsFromRows([features], rows);
      } catch (error) {
        return error as ModelshipError;
      }
      throw new Error('expected an error');
    };
    expect(run([{ id: 'r1', inputs: { other: [1] } }]).message).toContain(
      "fixture row r1, input 'features' is missing",
    );
    expect(run([{ id: 'r2', inputs: { features: [1, 2, 3] } }]).message).toContain(
      'has shape [3] but the model expects [batch, 4]',
    );
    expect(run([{ inputs: { features: [1, 2, 'x', 4] } }]).message).toContain('FP32 needs a number');
    expect(run([]).code).toBe('SMOKE_INPUTS');
  });

  test('a bad line is a FIXTURES_INVALID error with its line number; a missing file FIXTURES_NOT_FOUND', async () => {
    const file = path.join(dir, 'bad.jsonl');
    await writeFile(file, '{"inputs": {"features": [1,2,3,4]}}\n\n{oops\n');
    await expect(readFixtureRows({ path: file })).rejects.toMatchObject({
      code: 'FIXTURES_INVALID',
      location: { file, line: 3 },
    });
    await writeFile(file, '{"features": [1,2,3,4]}\n');
    await expect(readFixtureRows({ path: file })).rejects.toMatchObject({
      code: 'FIXTURES_INVALID',
      message: expect.stringContaining('no "inputs"'),
    });
    await expect(readFixtureRows({ path: path.join(dir, 'none.jsonl') })).rejects.toMatchObject({
      code: 'FIXTURES_NOT_FOUND',
    });
  });

  test('firstRow keeps one row of inputs whose batch is variable', () => {
    const feeds = feedsFromRows(
      [features],
      [{ inputs: { features: [1, 2, 3, 4] } }, { inputs: { features: [5, 6, 7, 8] } }],
    );
    const one = firstRow([features], feeds);
    expect(one.features.shape).toEqual([1, 4]);
    expect(Array.from(one.features.data as Float32Array)).toEqual([1, 2, 3, 4]);
    expect(feeds.features.shape).toEqual([2, 4]);
  });
});

describe('assessOutputs', () => {
  const declared: TensorSignature[] = [
    { name: 'label', datatype: 'INT64', shape: ['batch'] },
    { name: 'probabilities', datatype: 'FP32', shape: ['batch', 3] },
  ];
  const good: Record<string, TensorValue> = {
    label: { datatype: 'INT64', shape: [2], data: BigInt64Array.from([0n, 2n]) },
    probabilities: { datatype: 'FP32', shape: [2, 3], data: new Float32Array(6).fill(1 / 3) },
  };
  const bound = new Map([['batch', 2]]);

  test('outputs as declared pass', () => {
    expect(assessOutputs(declared, bound, good, 'fixture rows')).toEqual([]);
    expect(
      bindDimensions([features], { features: { datatype: 'FP32', shape: [2, 4], data: new Float32Array(8) } }),
    ).toEqual(bound);
  });

  test('missing outputs, wrong datatype, wrong shape, NaN and Infinity fail', () => {
    const nan = new Float32Array(6).fill(0.5);
    nan[1] = NaN;
    nan[4] = Infinity;
    const findings = assessOutputs(
      declared,
      bound,
      {
        label: { datatype: 'INT32', shape: [2, 1], data: new Int32Array(2) },
        probabilities: { datatype: 'FP32', shape: [2, 3], data: nan },
      },
      'made-up inputs',
    );
    expect(findings.map((f) => f.message)).toEqual([
      "Output 'label' came back as INT32; the model declares INT64.",
      expect.stringContaining("Output 'label' came back with shape [2, 1]; the model declares [batch]"),
      "Output 'probabilities' holds 1 NaN and 1 infinite value(s) of 6 on made-up inputs. Check the weights for NaN/Inf and the inputs' expected range.",
    ]);
    expect(assessOutputs(declared, bound, { label: good.label }, 'fixture rows')[0].message).toContain('returned none');
    const wide = assessOutputs(
      declared,
      bound,
      { ...good, probabilities: { datatype: 'FP32', shape: [2, 4], data: new Float32Array(8) } },
      'fixture rows',
    );
    expect(wide[0].message).toContain('[2, 4]; the model declares [batch, 3]');
  });

  test('a named dimension bound differently by the inputs warns', () => {
    const findings = assessOutputs(declared, new Map([['batch', 5]]), good, 'fixture rows');
    expect(findings.every((f) => f.severity === 'warn')).toBe(true);
    expect(findings[0].message).toContain("the inputs bound 'batch' to 5");
  });

  test('FP16 NaN and Infinity are read from the bits', () => {
    expect(
      countNonFinite({ datatype: 'FP16', shape: [4], data: Uint16Array.from([0x3c00, 0x7c00, 0xfc00, 0x7e00]) }),
    ).toEqual({
      nan: 1,
      infinite: 2,
    });
  });
});

test('percentile is nearest-rank', () => {
  const samples = [5, 1, 4, 2, 3, 10, 6, 7, 8, 9];
  expect(percentile(samples, 50)).toBe(5);
  expect(percentile(samples, 95)).toBe(10);
  expect(percentile([3], 95)).toBe(3);
  expect(percentile([], 50)).toBeNaN();
});
