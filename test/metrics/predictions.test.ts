import { describe, expect, it } from 'vitest';
import { LabelSpace } from '../../src/metrics/labels.js';
import {
  ClassBatchBuffers,
  inferTask,
  labelsFromMetadata,
  planOutputs,
  readClassBatch,
  readValueBatch,
  type OutputPlan,
} from '../../src/metrics/predictions.js';
import { labelDifferences, signatureDifferences } from '../../src/metrics/signature-check.js';
import { autoBatchSize, RowBatchBuilder } from '../../src/runtime/row-batches.js';
import type { Signature } from '../../src/runtime/tensor.js';

const classifier: Signature = {
  inputs: [{ name: 'features', datatype: 'FP32', shape: ['batch', 4] }],
  outputs: [
    { name: 'label', datatype: 'INT64', shape: ['batch'] },
    { name: 'probabilities', datatype: 'FP32', shape: ['batch', 3] },
  ],
};
const mlp: Signature = {
  inputs: [{ name: 'input', datatype: 'FP32', shape: ['N', 784] }],
  outputs: [{ name: 'output', datatype: 'FP32', shape: ['N', 10] }],
};
const regressor: Signature = {
  inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 5] }],
  outputs: [{ name: 'mpg', datatype: 'FP32', shape: [-1, 1] }],
};

describe('model outputs', () => {
  it('reads the task from the outputs', () => {
    expect(inferTask(classifier)).toBe('classification');
    expect(inferTask(mlp)).toBe('classification');
    expect(inferTask(regressor)).toBe('regression');
  });

  it('picks the label and score outputs, or names them', () => {
    expect(planOutputs(classifier, 'classification').fetch).toEqual(['label', 'probabilities']);
    expect(planOutputs(mlp, 'classification')).toMatchObject({ probabilities: { name: 'output' }, fetch: ['output'] });
    expect(planOutputs(regressor, 'regression').fetch).toEqual(['mpg']);
    expect(() => planOutputs(classifier, 'classification', { label: 'class' })).toThrow(
      /no output 'class'.*label, probabilities/,
    );
  });

  it('turns logits into probabilities and takes the argmax without a label output', () => {
    const labels = new LabelSpace();
    const batch = readClassBatch(
      planOutputs(mlp, 'classification'),
      { output: { datatype: 'FP32', shape: [2, 3], data: new Float32Array([2, 0, -1, 0.1, 0.7, 0.2]) } },
      2,
      labels,
    );
    expect(labels.names).toEqual(['0', '1', '2']);
    expect(Array.from(batch.labels)).toEqual([0, 1]);
    const e = [Math.exp(2), 1, Math.exp(-1)];
    const sum = e[0] + e[1] + e[2];
    expect(batch.probabilities![0]).toBeCloseTo(e[0] / sum, 12);
    // A row that already is a distribution stays as it is.
    expect(batch.probabilities![4]).toBeCloseTo(0.7, 6);
  });

  it('maps label indices and names through the label space', () => {
    const labels = new LabelSpace(['setosa', 'versicolor', 'virginica']);
    const batch = readClassBatch(
      planOutputs(classifier, 'classification'),
      {
        label: { datatype: 'INT64', shape: [2], data: new BigInt64Array([2n, 0n]) },
        probabilities: { datatype: 'FP32', shape: [2, 3], data: new Float32Array([0, 0, 1, 1, 0, 0]) },
      },
      2,
      labels,
    );
    expect(Array.from(batch.labels).map((id) => labels.names[id])).toEqual(['virginica', 'setosa']);
    expect(labelsFromMetadata({ labels: '["a","b"]' })).toEqual(['a', 'b']);
    expect(labelsFromMetadata({ labels: 'a, b' })).toEqual(['a', 'b']);
    expect(labelsFromMetadata({})).toBeUndefined();
  });

  it('reads batch after batch into the same buffers, each batch right', () => {
    const labels = new LabelSpace(['a', 'b', 'c']);
    const plan = planOutputs(classifier, 'classification');
    const buffers = new ClassBatchBuffers();
    const read = (classes: bigint[], scores: number[]) =>
      readClassBatch(
        plan,
        {
          label: { datatype: 'INT64', shape: [classes.length], data: new BigInt64Array(classes) },
          probabilities: { datatype: 'FP32', shape: [classes.length, 3], data: new Float32Array(scores) },
        },
        classes.length,
        labels,
        buffers,
      );
    const first = read([2n, 0n, 1n], [0, 0, 1, 1, 0, 0, 0, 1, 0]);
    expect(Array.from(first.labels)).toEqual([2, 0, 1]);
    const firstMemory = first.labels.buffer;
    // A smaller batch reuses the memory and sees only its own rows.
    const second = read([1n], [0.25, 0.5, 0.25]);
    expect(second.labels.buffer).toBe(firstMemory);
    expect(Array.from(second.labels)).toEqual([1]);
    expect(Array.from(second.probabilities!)).toEqual([0.25, 0.5, 0.25]);
    // A larger one gets room of its own.
    const third = read([0n, 0n, 2n, 2n], [1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1]);
    expect(Array.from(third.labels)).toEqual([0, 0, 2, 2]);
    expect(third.probabilities).toHaveLength(12);
  });

  it('wants one regression value per row', () => {
    const plan = planOutputs(regressor, 'regression');
    expect(
      Array.from(
        readValueBatch(plan, { mpg: { datatype: 'FP32', shape: [2, 1], data: new Float32Array([1.5, 2]) } }, 2),
      ),
    ).toEqual([1.5, 2]);
    expect(() =>
      readValueBatch(plan, { mpg: { datatype: 'FP32', shape: [1, 2], data: new Float32Array([1, 2]) } }, 1),
    ).toThrow(/2 values per row/);
  });
});

describe('class ids of numbers', () => {
  it('maps numbers as idOfIndex does one by one, and other numbers to classes of their own', () => {
    const values = new Float64Array([2, 0, 7, -1, 1.5, 7, 1, 2]);
    const batch = new LabelSpace(['a', 'b', 'c']);
    const ids = new Int32Array(4);
    // Every other value, as from a [rows, 2] output.
    batch.idsOf(values, 4, ids, 2);
    const one = new LabelSpace(['a', 'b', 'c']);
    expect([...ids]).toEqual([one.idOfIndex(2), one.idOfIndex(7), one.id('1.5'), one.idOfIndex(1)]);
    expect(batch.names).toEqual(['a', 'b', 'c', '7', '1.5']);
    const all = new Int32Array(8);
    batch.idsOf(values, 8, all);
    expect([...all]).toEqual([2, 0, 3, 5, 4, 3, 1, 2]);
    expect(batch.names.slice(5)).toEqual(['-1']);
  });

  it('maps a label output the same from a typed array and from a plain one', () => {
    const plan: OutputPlan = { label: { name: 'label', datatype: 'FP32', shape: ['N'] }, fetch: ['label'] };
    const classes = (data: Float32Array | number[]) => {
      const labels = new LabelSpace(['a', 'b', 'c']);
      const batch = readClassBatch(
        plan,
        { label: { datatype: 'FP32', shape: [3], data: data as Float32Array } },
        3,
        labels,
      );
      return [...batch.labels].map((id) => labels.names[id]);
    };
    expect(classes(Float32Array.from([0.5, 1.5, 2]))).toEqual(['0.5', '1.5', 'c']);
    expect(classes([0.5, 1.5, 2])).toEqual(['0.5', '1.5', 'c']);
  });
});

describe('signature differences', () => {
  it('lists every difference that stops a paired run', () => {
    const other: Signature = {
      inputs: [
        { name: 'features', datatype: 'FP64', shape: ['batch', 5] },
        { name: 'extra', datatype: 'FP32', shape: [1] },
      ],
      outputs: [{ name: 'label', datatype: 'INT32', shape: ['batch'] }],
    };
    expect(signatureDifferences(classifier, other, ['label'])).toEqual([
      "input 'features': datatype FP32 in the candidate, FP64 in the baseline",
      "input 'features': shape [batch, 4] in the candidate, [batch, 5] in the baseline",
      "input 'extra' of the baseline is not an input of the candidate",
      "output 'label': datatype INT64 in the candidate, INT32 in the baseline",
    ]);
    expect(signatureDifferences(classifier, classifier)).toEqual([]);
    expect(labelDifferences(['a', 'b'], ['b', 'a'])).toHaveLength(1);
  });
});

describe('row batches', () => {
  it('sizes batches by input width, one row for a model without a batch dimension', () => {
    // 16 bytes a row: 16384 rows make 256 KiB; 64 bytes: 4096.
    expect(autoBatchSize(classifier)).toBe(16384);
    expect(autoBatchSize({ inputs: [{ name: 'x', datatype: 'FP32', shape: ['N', 16] }], outputs: [] })).toBe(4096);
    // 3136 bytes: 256 KiB would be 83 rows, raised to the floor of 1024.
    expect(autoBatchSize(mlp)).toBe(1024);
    // 3x224x224 floats: 588 KiB a row, so 16 rows fit in 16 MiB, raised to the floor of 32.
    const image: Signature = { inputs: [{ name: 'x', datatype: 'FP32', shape: ['N', 3, 224, 224] }], outputs: [] };
    expect(autoBatchSize(image)).toBe(32);
    // 64 KiB a row: 256 rows fit in 16 MiB.
    expect(autoBatchSize({ inputs: [{ name: 'x', datatype: 'FP32', shape: ['N', 16384] }], outputs: [] })).toBe(256);
    expect(autoBatchSize({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }], outputs: [] })).toBe(1);
  });

  it('counts each datatype at its size, and gives rows of unknown size no more than 1024', () => {
    // int64: 16 of them are 128 bytes, so 2048 rows make 256 KiB.
    expect(autoBatchSize({ inputs: [{ name: 'x', datatype: 'INT64', shape: ['N', 16] }], outputs: [] })).toBe(2048);
    // Text of any length, images of any size: a variable dimension after the first may be large.
    for (const shape of [
      ['N', 'seq'],
      ['N', 3, 'H', 'W'],
    ]) {
      expect(autoBatchSize({ inputs: [{ name: 'x', datatype: 'FP32', shape }], outputs: [] }), String(shape)).toBe(
        1024,
      );
    }
    // The real size of a row, when the caller has it, decides: 602,112 bytes (3x224x224 floats) allow 32.
    const image: Signature = { inputs: [{ name: 'x', datatype: 'FP32', shape: ['N', 3, 'H', 'W'] }], outputs: [] };
    expect(autoBatchSize(image, 602_112)).toBe(32);
    expect(autoBatchSize(image, 16)).toBe(16384);
  });

  it('writes rows of numbers, numeric strings and nested arrays into one tensor', () => {
    const builder = new RowBatchBuilder(
      {
        inputs: [
          { name: 'x', datatype: 'FP32', shape: ['n', 2, 2] },
          { name: 'k', datatype: 'INT64', shape: ['n'] },
        ],
        outputs: [],
      },
      3,
    );
    builder.add(
      {
        x: [
          [1, 2],
          [3, 4],
        ],
        k: 7,
      },
      { file: 'f', line: 1 },
    );
    builder.add({ x: ['5', '6', '7', '8.5'], k: '9' }, { file: 'f', line: 2 });
    const feeds = builder.feeds();
    expect(feeds.x.shape).toEqual([2, 2, 2]);
    expect(Array.from(feeds.x.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6, 7, 8.5]);
    expect(Array.from(feeds.k.data as BigInt64Array)).toEqual([7n, 9n]);
    expect(builder.full).toBe(false);
    expect(() => builder.add({ x: [1, 2, 3], k: 1 }, { file: 'f', line: 3 })).toThrow(/Line 3: Input 'x' has 3 values/);
    expect(() => builder.add({ x: [1, 2, 'a', 4], k: 1 }, { file: 'f', line: 4 })).toThrow(
      /"a" where a number belongs/,
    );
  });
});
