/**
 * config.pbtxt and Triton's JSON config: the parser, the fields that matter, the checks Triton makes
 * when a config and a model disagree; version policies; canary splitting; routing bodies.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isModelshipError } from '../../src/errors.js';
import {
  configFingerprint,
  configJsonToPbtxt,
  modelConfigJson,
  parseModelConfigJson,
  parseModelConfigText,
  reconcileSignature,
  versionsInPolicy,
  type ModelConfig,
} from '../../src/serve/model-config.js';
import { parsePbtxt } from '../../src/serve/pbtxt.js';
import { readModelFolder } from '../../src/serve/repository.js';
import { CanarySplitter, parseRouting } from '../../src/serve/routing.js';

const TRITON_CONFIG = `
# An ONNX classifier, as the Triton docs write them.
name: "iris"
platform: "onnxruntime_onnx"
max_batch_size: 32
input [
  {
    name: "features"
    data_type: TYPE_FP32
    dims: [ 4 ]
  }
]
output [
  {
    name: "label"
    data_type: TYPE_INT64
    dims: [ ]
  },
  {
    name: 'probabilities'
    data_type: TYPE_FP32
    dims: 3
  }
]
version_policy: { latest: { num_versions: 2 } }
dynamic_batching {
  preferred_batch_size: [ 8, 16 ]
  max_queue_delay_microseconds: 100
}
instance_group [ { count: 2, kind: KIND_CPU } ]
parameters { key: "note" value: { string_value: "a" "b" } }
`;

function fails(work: () => unknown): { message: string; line?: number } {
  try {
    work();
  } catch (error) {
    if (isModelshipError(error)) return { message: `${error.message} ${error.hint ?? ''}`, line: error.location?.line };
    throw error;
  }
  throw new Error('expected a ModelshipError');
}

describe('pbtxt', () => {
  it('parses messages, lists, repeated scalars, enums, adjacent strings and escapes', () => {
    const tree = parsePbtxt('a: "x\\ty" \'z\'\nb < c: -1.5e2 >\nd: [1, 0x10]\nd: 3\ne: TRUE_ENUM; f: inf');
    const field = (name: string) => tree.fields.get(name)!;
    expect(field('a')).toEqual([{ kind: 'string', value: 'x\tyz', line: 1 }]);
    const b = field('b')[0];
    expect(b.kind === 'message' && b.fields.get('c')![0]).toMatchObject({ kind: 'number', value: -150 });
    expect(field('d').map((v) => (v.kind === 'number' ? v.value : undefined))).toEqual([1, 16, 3]);
    expect(field('e')[0]).toMatchObject({ kind: 'ident', value: 'TRUE_ENUM' });
    expect(field('f')[0]).toMatchObject({ kind: 'number', value: Infinity });
  });

  it('says where the syntax breaks', () => {
    expect(fails(() => parseModelConfigText('name: "m"\ninput [ { name: "x" ', 'm'))).toMatchObject({
      message: expect.stringMatching(/^config\.pbtxt:2:\d+: missing '}'/),
      line: 2,
    });
    expect(fails(() => parseModelConfigText('name "m"', 'm')).message).toContain("expected ':' after 'name'");
    expect(fails(() => parseModelConfigText('name: "m', 'm')).message).toContain('string is not closed');
  });
});

describe('model config', () => {
  it("reads the fields that matter from Triton's pbtxt and accepts the rest Triton knows", () => {
    const config = parseModelConfigText(TRITON_CONFIG, 'iris');
    expect(config).toEqual<ModelConfig>({
      name: 'iris',
      platform: 'onnxruntime_onnx',
      maxBatchSize: 32,
      inputs: [{ name: 'features', datatype: 'FP32', dims: [4], optional: false }],
      outputs: [
        { name: 'label', datatype: 'INT64', dims: [], optional: false },
        { name: 'probabilities', datatype: 'FP32', dims: [3], optional: false },
      ],
      versionPolicy: { kind: 'latest', numVersions: 2 },
      dynamicBatching: { maxQueueDelayMicroseconds: 100, preferredBatchSize: [8, 16] },
      defaultModelFilename: 'model.onnx',
    });
  });

  it('gives the same config from the JSON form, and writes JSON as pbtxt that reads back the same', () => {
    const fromText = parseModelConfigText(TRITON_CONFIG, 'iris');
    const json = JSON.stringify(modelConfigJson(fromText));
    expect(parseModelConfigJson(json, 'iris')).toEqual(fromText);
    const text = configJsonToPbtxt(json);
    expect(text).toContain('data_type: TYPE_FP32');
    expect(parseModelConfigText(text, 'iris')).toEqual(fromText);
    // Protobuf's JSON mapping writes 64-bit integers as strings; they are read as numbers.
    const stringy = parseModelConfigJson(
      JSON.stringify({ max_batch_size: '4', input: [{ name: 'x', data_type: 'TYPE_FP32', dims: ['-1', '3'] }] }),
      'm',
    );
    expect(stringy.inputs[0].dims).toEqual([-1, 3]);
  });

  it.each([
    ['unknown field', 'nmae: "m"', "unknown field 'nmae'"],
    ['other platform', 'platform: "tensorflow_graphdef"', "platform 'tensorflow_graphdef' is not served"],
    ['other backend', 'backend: "python"', "backend 'python' is not served"],
    ['name of another model', 'name: "other"', "name 'other' does not match the model folder 'm'"],
    [
      'unknown datatype',
      'input [ { name: "x", data_type: TYPE_FLOAT, dims: [1] } ]',
      'TYPE_FLOAT, which is not supported',
    ],
    ['no dims', 'input [ { name: "x", data_type: TYPE_FP32 } ]', "input 'x' has no dims"],
    [
      'tensor listed twice',
      'input [ { name: "x", data_type: TYPE_FP32, dims: [1] }, { name: "x", data_type: TYPE_FP32, dims: [1] } ]',
      'listed twice',
    ],
    ['batching without batch size', 'dynamic_batching { }', 'dynamic_batching needs max_batch_size > 0'],
    ['two policies', 'version_policy { all { } latest { num_versions: 1 } }', 'exactly one of latest, all, specific'],
    ['zero latest', 'version_policy { latest { num_versions: 0 } }', 'num_versions of 1 or more'],
    ['sequence batching', 'sequence_batching { }', "'sequence_batching' is not supported"],
    ['negative batch size', 'max_batch_size: -2', 'max_batch_size must be 0 or more'],
    ['name given twice', 'name: "m"\nname: "m"', "'name' is given 2 times"],
  ])('refuses %s with the reason and the line', (_label, text, reason) => {
    const failure = fails(() => parseModelConfigText(`# config\n${text}`, 'm'));
    expect(failure.message).toContain(reason);
    expect(failure.line).toBeGreaterThanOrEqual(2);
  });

  it('selects versions by policy', () => {
    expect(versionsInPolicy({ kind: 'latest', numVersions: 2 }, [3, 1, 10, 2])).toEqual({
      versions: [3, 10],
      missing: [],
    });
    expect(versionsInPolicy({ kind: 'all' }, [2, 1])).toEqual({ versions: [1, 2], missing: [] });
    expect(versionsInPolicy({ kind: 'specific', versions: [1, 4] }, [1, 2, 3])).toEqual({
      versions: [1],
      missing: [4],
    });
  });

  it('leaves the version policy out of what makes a version reload', () => {
    const a = parseModelConfigText('max_batch_size: 4\nversion_policy { all { } }', 'm');
    const b = parseModelConfigText('max_batch_size: 4', 'm');
    const c = parseModelConfigText('max_batch_size: 8', 'm');
    expect(configFingerprint(a)).toBe(configFingerprint(b));
    expect(configFingerprint(a)).not.toBe(configFingerprint(c));
  });
});

describe('config against model', () => {
  const model = {
    inputs: [{ name: 'x', datatype: 'FP32' as const, shape: ['batch', 4] }],
    outputs: [{ name: 'y', datatype: 'FP32' as const, shape: ['batch', 2] }],
  };
  const config = (text: string) => parseModelConfigText(text, 'm');

  it('completes a config that lists nothing from the model', () => {
    expect(reconcileSignature(config('max_batch_size: 8'), model, 'f').inputs).toEqual([
      { name: 'x', datatype: 'FP32', shape: [-1, 4], optional: false },
    ]);
  });

  it('takes the narrower of config and model dimensions', () => {
    const text = 'input [ { name: "x", data_type: TYPE_FP32, dims: [ 3, -1 ] } ]';
    const loose = { inputs: [{ name: 'x', datatype: 'FP32' as const, shape: ['n', 'm'] }], outputs: [] };
    expect(reconcileSignature(config(text), loose, 'f').inputs[0].shape).toEqual([3, -1]);
  });

  it.each([
    [
      'a fixed batch dimension with max_batch_size',
      'max_batch_size: 4',
      { ...model, inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [1, 4] }] },
      'needs a variable first dimension',
    ],
    [
      'a datatype mismatch',
      'max_batch_size: 4\ninput [ { name: "x", data_type: TYPE_FP16, dims: [4] } ]',
      model,
      "is TYPE_FP16 but the model's is TYPE_FP32",
    ],
    [
      'a dimension mismatch',
      'max_batch_size: 4\ninput [ { name: "x", data_type: TYPE_FP32, dims: [5] } ]',
      model,
      "dimension 1 = 5 but the model's is 4",
    ],
    [
      'the batch dimension written into dims',
      'max_batch_size: 4\ninput [ { name: "x", data_type: TYPE_FP32, dims: [-1, 4] } ]',
      model,
      'leave out the batch dimension',
    ],
    [
      'an input the model lacks',
      'input [ { name: "z", data_type: TYPE_FP32, dims: [-1, 4] } ]',
      model,
      "config input 'z' is not an input of the model",
    ],
    [
      'an output the model lacks',
      'output [ { name: "z", data_type: TYPE_FP32, dims: [-1, 2] } ]',
      model,
      "config output 'z' is not an output",
    ],
    [
      'an input the config leaves out',
      'input [ { name: "x", data_type: TYPE_FP32, dims: [-1, 4] } ]',
      { ...model, inputs: [...model.inputs, { name: 'w', datatype: 'FP32' as const, shape: [1] }] },
      "has input 'w' that the config does not list",
    ],
  ])('refuses %s', (_label, text, signature, reason) => {
    expect(fails(() => reconcileSignature(config(text), signature, 'f')).message).toContain(reason);
  });
});

describe('model folders', () => {
  it('reads a folder without config.pbtxt, and refuses version folders such as 0 or 007', async () => {
    const repo = await mkdtemp(path.join(tmpdir(), 'modelship-folder-'));
    try {
      await mkdir(path.join(repo, 'm', '3'), { recursive: true });
      await mkdir(path.join(repo, 'm', 'notes'), { recursive: true });
      await writeFile(path.join(repo, 'm', '3', 'model.onnx'), 'x');
      const folder = await readModelFolder(repo, 'm');
      expect(folder.hasConfigFile).toBe(false);
      expect(folder.versions.map((v) => v.version)).toEqual([3]);
      await mkdir(path.join(repo, 'm', '007'));
      await expect(readModelFolder(repo, 'm')).rejects.toThrow("version folder '007'");
      await rm(path.join(repo, 'm', '007'), { recursive: true });
      await mkdir(path.join(repo, 'm', '0'));
      await expect(readModelFolder(repo, 'm')).rejects.toThrow("version folder '0'");
    } finally {
      await rm(repo, { recursive: true, force: true });
    }
  });
});

describe('routing', () => {
  it.each([0, 1, 10, 25, 33, 50, 99, 100])('sends exactly %i of every 100 requests to the canary', (weight) => {
    const splitter = new CanarySplitter();
    for (let round = 0; round < 3; round++) {
      let canary = 0;
      for (let i = 0; i < 100; i++) if (splitter.next(weight)) canary++;
      expect(canary).toBe(weight);
    }
  });

  it('reads routing bodies and refuses malformed ones', () => {
    expect(parseRouting({ stable: 2, canary: { version: '3', weight: 12.5 } })).toEqual({
      stable: '2',
      canary: { version: '3', weight: 12.5 },
    });
    expect(parseRouting({ stable: '2' })).toEqual({ stable: '2', canary: null });
    for (const bad of [
      null,
      [],
      { stable: '0' },
      { stable: '2', canary: 3 },
      { stable: '2', canary: { version: '3' } },
      { stable: '2', extra: 1 },
    ]) {
      expect(() => parseRouting(bad)).toThrow();
    }
  });
});
