import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelshipError } from '../src/errors.js';
import { decodeModel, decodeTensorProto } from '../src/onnx/decode.js';
import { isLfsPointer, readModelFile } from '../src/onnx/read.js';
import { signatureOf } from '../src/onnx/signature.js';
import type { TensorValue } from '../src/runtime/tensor.js';

const FIXTURES = 'fixtures';
const GOOD = ['iris-v1', 'iris-v2', 'iris-regressed', 'iris-breaking', 'mpg-v1'];
const IRIS = ['setosa', 'versicolor', 'virginica'];
ort.env.logLevel = 'fatal';

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)).split('\\').join('/'))
    .sort();
}

const sha256 = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

async function session(name: string) {
  return ort.InferenceSession.create(join(FIXTURES, 'models', name, 'model.onnx'));
}

interface Row {
  id: string;
  inputs: { features: number[] };
  label: string | number;
  [slice: string]: unknown;
}
const readJsonl = async (path: string): Promise<Row[]> =>
  (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Row);

async function predict(name: string, rows: Row[]): Promise<ort.InferenceSession.OnnxValueMapType> {
  const s = await session(name);
  const width = rows[0].inputs.features.length;
  const input = new ort.Tensor('float32', Float32Array.from(rows.flatMap((r) => r.inputs.features)), [
    rows.length,
    width,
  ]);
  return s.run({ [s.inputNames[0]]: input });
}

async function irisAccuracy(name: string, rows: Row[]): Promise<number> {
  const labels = (await predict(name, rows)).label.data as BigInt64Array;
  return rows.filter((row, i) => IRIS[Number(labels[i])] === row.label).length / rows.length;
}

describe('fixtures', () => {
  let regenerated: string;
  beforeAll(async () => {
    regenerated = await mkdtemp(join(tmpdir(), 'modelship-fixtures-'));
    await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/fixtures.ts', regenerated]);
  });
  afterAll(async () => {
    await rm(regenerated, { recursive: true, force: true });
  });

  it('are reproduced byte for byte by the fixtures script', async () => {
    const committed = await listFiles(FIXTURES);
    expect(await listFiles(regenerated)).toEqual(committed);
    const differing: string[] = [];
    for (const file of committed) {
      if ((await sha256(join(FIXTURES, file))) !== (await sha256(join(regenerated, file)))) differing.push(file);
    }
    expect(differing).toEqual([]);
  });

  it('stay small', async () => {
    let total = 0;
    for (const file of await listFiles(FIXTURES)) total += (await readFile(join(FIXTURES, file))).length;
    expect(total).toBeLessThan(2_000_000);
  });

  it.each(GOOD)('%s runs in onnxruntime and matches its test_data_set_0', async (name) => {
    const folder = join(FIXTURES, 'models', name, 'test_data_set_0');
    const s = await session(name);
    const files = await readdir(folder);
    const load = (prefix: string) =>
      Promise.all(
        files
          .filter((f) => f.startsWith(prefix))
          .sort()
          .map(async (f) => decodeTensorProto(await readFile(join(folder, f)))),
      );
    const inputs = await load('input_');
    const outputs = await load('output_');
    expect(inputs.map((i) => i.name)).toEqual(s.inputNames);
    expect(outputs.map((o) => o.name)).toEqual(s.outputNames);
    const feeds = Object.fromEntries(
      inputs.map(({ name: n, value }) => [n, new ort.Tensor('float32', value.data as Float32Array, value.shape)]),
    );
    const results = await s.run(feeds);
    for (const { name: output, value } of outputs) {
      const actual = results[output];
      expect(actual.dims).toEqual(value.shape);
      expectClose(Array.from(actual.data as ArrayLike<number | bigint>), value);
    }
  });

  function expectClose(actual: Array<number | bigint>, expected: TensorValue): void {
    const want = Array.from(expected.data as ArrayLike<number | bigint>);
    expect(actual).toHaveLength(want.length);
    if (expected.datatype === 'INT64') {
      expect(actual).toEqual(want);
      return;
    }
    want.forEach((w, i) => {
      const a = Number(actual[i]);
      expect(Math.abs(a - Number(w)), `element ${i}: ${a} vs ${w}`).toBeLessThanOrEqual(
        1e-7 + 1e-3 * Math.abs(Number(w)),
      );
    });
  }

  it('have the signatures and metadata the models promise', async () => {
    for (const name of GOOD) {
      const { model } = await readModelFile(join(FIXTURES, 'models', name));
      const signature = signatureOf(model);
      expect(model.irVersion).toBe(8);
      expect(model.opsetImports).toEqual([{ domain: '', version: 17 }]);
      expect(model.metadataProps['modelship.trained_on']).toBeTruthy();
      if (name === 'mpg-v1') {
        expect(signature).toEqual({
          inputs: [{ name: 'features', datatype: 'FP32', shape: ['batch', 5] }],
          outputs: [{ name: 'mpg', datatype: 'FP32', shape: ['batch', 1] }],
        });
        continue;
      }
      expect(JSON.parse(model.metadataProps.labels)).toEqual(IRIS);
      expect(signature).toEqual({
        inputs: [
          { name: name === 'iris-breaking' ? 'measurements' : 'features', datatype: 'FP32', shape: ['batch', 4] },
        ],
        outputs: [
          { name: 'label', datatype: 'INT64', shape: ['batch'] },
          { name: 'probabilities', datatype: 'FP32', shape: ['batch', 3] },
        ],
      });
    }
  });

  it('rank the Iris models as their names say on the held-out data', async () => {
    const rows = await readJsonl(join(FIXTURES, 'data/iris/heldout.jsonl'));
    expect(rows).toHaveLength(50);
    const v1 = await irisAccuracy('iris-v1', rows);
    const v2 = await irisAccuracy('iris-v2', rows);
    const regressed = await irisAccuracy('iris-regressed', rows);
    expect(v1).toBeGreaterThanOrEqual(0.9);
    expect(v2).toBeGreaterThanOrEqual(v1);
    expect(regressed).toBeLessThanOrEqual(v1 - 0.15);
    expect(await irisAccuracy('iris-breaking', rows)).toBe(v1);
    const readme = await readFile(join(FIXTURES, 'README.md'), 'utf8');
    expect(readme).toContain(`accuracy ${(v1 * 100).toFixed(1)}%`);
    expect(readme).toContain(`accuracy ${(v2 * 100).toFixed(1)}%`);
  });

  it('predict car MPG usefully on the held-out data', async () => {
    const rows = await readJsonl(join(FIXTURES, 'data/mpg/heldout.jsonl'));
    const mpg = (await predict('mpg-v1', rows)).mpg.data as Float32Array;
    const targets = rows.map((r) => r.label as number);
    const mean = targets.reduce((a, b) => a + b, 0) / targets.length;
    const mae = targets.reduce((s, y, i) => s + Math.abs(y - mpg[i]), 0) / targets.length;
    const r2 =
      1 - targets.reduce((s, y, i) => s + (y - mpg[i]) ** 2, 0) / targets.reduce((s, y) => s + (y - mean) ** 2, 0);
    expect(mae).toBeLessThan(4);
    expect(r2).toBeGreaterThan(0.6);
    const documented = /MAE ([\d.]+) mpg, R² ([\d.]+)/.exec(await readFile(join(FIXTURES, 'README.md'), 'utf8'));
    expect(Number(documented?.[1])).toBeCloseTo(mae, 2);
    expect(Number(documented?.[2])).toBeCloseTo(r2, 2);
    expect(new Set(rows.map((r) => r.origin))).toEqual(new Set(['USA', 'Europe', 'Japan']));
  });

  it('hold the same rows in JSONL and CSV', async () => {
    for (const [set, sliceField] of [
      ['iris', 'petal_size'],
      ['mpg', 'origin'],
    ] as const) {
      const rows = await readJsonl(join(FIXTURES, `data/${set}/heldout.jsonl`));
      const [header, ...lines] = (await readFile(join(FIXTURES, `data/${set}/heldout.csv`), 'utf8')).trim().split('\n');
      const columns = header.split(',');
      expect(columns[0]).toBe('id');
      expect(columns.slice(-2)).toEqual(['label', sliceField]);
      expect(lines).toHaveLength(rows.length);
      lines.forEach((line, i) => {
        const cells = line.split(',');
        const row = rows[i];
        expect(cells[0]).toBe(row.id);
        expect(cells.slice(1, -2).map(Number)).toEqual(row.inputs.features);
        expect(cells.at(-2)).toBe(String(row.label));
        expect(cells.at(-1)).toBe(row[sliceField]);
      });
    }
    expect(await readFile(join(FIXTURES, 'data/iris/heldout.csv'), 'utf8')).toMatch(
      /^id,sepal_length,sepal_width,petal_length,petal_width,label,petal_size\n/,
    );
  });
});

describe('broken fixture models', () => {
  const bad = (file: string) => join(FIXTURES, 'models/bad', file);
  const decodeBad = async (file: string) => decodeModel(await readFile(bad(file)));

  it('lists every file in its README', async () => {
    const readme = await readFile(bad('README.md'), 'utf8');
    for (const file of await listFiles(join(FIXTURES, 'models/bad'))) {
      if (file !== 'README.md') expect(readme).toContain(`\`${file}\`: `);
    }
  });

  it('truncated and random bytes do not decode; the LFS pointer is recognised as one', async () => {
    for (const file of ['truncated.onnx', 'random-bytes.onnx']) {
      await expect(decodeBad(file)).rejects.toMatchObject({ code: 'ONNX_DECODE' });
    }
    expect(isLfsPointer(await readFile(bad('lfs-pointer.onnx')))).toBe(true);
    await expect(readModelFile(bad('lfs-pointer.onnx'))).rejects.toBeInstanceOf(ModelshipError);
    const pointer = await readFile(bad('lfs-pointer.onnx'), 'utf8');
    const target = await readFile(join(FIXTURES, 'models/iris-v1/model.onnx'));
    expect(pointer).toBe(
      `version https://git-lfs.github.com/spec/v1\noid sha256:${createHash('sha256').update(target).digest('hex')}\nsize ${target.length}\n`,
    );
  });

  it('each decode and carry the one defect their README names', async () => {
    const escape = await decodeBad('external-escape/model.onnx');
    expect(escape.graph.initializers[0].external?.location).toBe('../outside.bin');
    expect((await readFile(bad('outside.bin'))).length).toBe(escape.graph.initializers[0].external?.length);

    const short = (await decodeBad('short-raw-data.onnx')).graph.initializers[0];
    expect(short.dims).toEqual([3]);
    expect(short.rawData!.length).toBe(8);

    const unsorted = (await decodeBad('unsorted-nodes.onnx')).graph.nodes;
    expect(unsorted.map((n) => n.name)).toEqual(['relu', 'add']);

    const duplicate = (await decodeBad('duplicate-output.onnx')).graph.nodes.flatMap((n) => n.outputs);
    expect(duplicate.filter((o) => o === 'Y')).toHaveLength(2);

    const custom = await decodeBad('custom-domain.onnx');
    expect(custom.graph.nodes.map((n) => n.domain)).toContain('com.example.secret');
    expect(custom.opsetImports.map((o) => o.domain)).not.toContain('com.example.secret');

    const dangling = await decodeBad('dangling-output.onnx');
    const produced = new Set(dangling.graph.nodes.flatMap((n) => n.outputs));
    expect(dangling.graph.outputs.filter((o) => !produced.has(o.name)).map((o) => o.name)).toEqual(['Z']);
  });

  it('are refused by onnxruntime, except unsorted nodes, which it sorts itself', async () => {
    for (const file of [
      'truncated.onnx',
      'random-bytes.onnx',
      'lfs-pointer.onnx',
      'external-escape/model.onnx',
      'short-raw-data.onnx',
      'duplicate-output.onnx',
      'custom-domain.onnx',
      'dangling-output.onnx',
    ]) {
      await expect(ort.InferenceSession.create(bad(file)), file).rejects.toThrow();
    }
    const s = await ort.InferenceSession.create(bad('unsorted-nodes.onnx'));
    const out = await s.run({ X: new ort.Tensor('float32', Float32Array.from([1, 2, -3]), [1, 3]) });
    expect(Array.from(out.Y.data as Float32Array)).toEqual([1.5, 1, 0]);
  });
});
