/**
 * Every endpoint against the Open Inference Protocol facts, over HTTP on 127.0.0.1, with real models in a
 * real repository folder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addModel, identityModel, linearClassifierModel } from '../support/onnx-models.js';
import type { RunningServer } from '../../src/serve/server.js';
import {
  addConfig,
  admin,
  binaryBody,
  get,
  inferBody,
  post,
  readBinaryReply,
  removeRepository,
  serve,
  tempRepository,
  twoInputModel,
} from './serve-support.js';

let repo: string;
let server: RunningServer & { lines: string[] };
let url: string;

beforeAll(async () => {
  repo = await tempRepository({
    add: {
      config: addConfig('add', { policy: '{ all {} }' }),
      versions: { 1: addModel({ constant: 1 }), 2: addModel({ constant: 2 }) },
    },
    cls: {
      versions: {
        1: linearClassifierModel({
          weights: [
            [1, 0],
            [0, 1],
          ],
          bias: [0, 0],
        }),
      },
    },
    words: { versions: { 1: identityModel({ dtype: 'BYTES', shape: ['batch', 2] }) } },
    ids: { versions: { 1: identityModel({ dtype: 'INT64', shape: ['batch', 2] }) } },
    flags: { versions: { 1: identityModel({ dtype: 'BOOL', shape: ['batch', 2] }) } },
    halves: { versions: { 1: identityModel({ dtype: 'FP16', shape: ['batch', 2] }) } },
    sum: { versions: { 1: twoInputModel() } },
    wrong_platform: {
      config: 'name: "wrong_platform"\nplatform: "tensorflow_savedmodel"\n',
      versions: { 1: addModel() },
    },
    missing_file: { config: addConfig('missing_file'), versions: {} },
    bad_version: { versions: { 1: addModel() } },
    mismatch: {
      config:
        'max_batch_size: 8\ninput [ { name: "X", data_type: TYPE_FP64, dims: [ 3 ] } ]\noutput [ { name: "Y", data_type: TYPE_FP32, dims: [ 3 ] } ]\n',
      versions: { 1: addModel() },
    },
  });
  const { mkdir } = await import('node:fs/promises');
  await mkdir(`${repo}/missing_file/1`, { recursive: true });
  await mkdir(`${repo}/bad_version/01`, { recursive: true });
  server = await serve(repo);
  url = server.url;
});

afterAll(async () => {
  await server?.close();
  await removeRepository(repo);
});

describe('health and metadata', () => {
  it('answers live and ready with 200', async () => {
    expect((await get(url, '/v2/health/live')).status).toBe(200);
    expect((await get(url, '/v2/health/ready')).status).toBe(200);
  });

  it('binds 127.0.0.1 by default', () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('describes the server and its extensions', async () => {
    const reply = await get(url, '/v2');
    expect(reply.status).toBe(200);
    expect(reply.json.name).toBe('modelship');
    expect(typeof reply.json.version).toBe('string');
    expect(reply.json.extensions).toEqual(
      expect.arrayContaining(['binary_tensor_data', 'model_repository', 'statistics', 'model_configuration']),
    );
  });

  it('describes a model with and without a version, -1 for variable dimensions', async () => {
    const all = await get(url, '/v2/models/add');
    expect(all.status).toBe(200);
    expect(all.json).toEqual({
      name: 'add',
      versions: ['1', '2'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'X', datatype: 'FP32', shape: [-1, 3] }],
      outputs: [{ name: 'Y', datatype: 'FP32', shape: [-1, 3] }],
    });
    const one = await get(url, '/v2/models/add/versions/1');
    expect(one.json.versions).toEqual(['1']);
    const cls = await get(url, '/v2/models/cls');
    expect(cls.json.outputs).toEqual([
      { name: 'label', datatype: 'INT64', shape: [-1] },
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
    ]);
  });

  it('answers model readiness with and without a version', async () => {
    expect((await get(url, '/v2/models/add/ready')).status).toBe(200);
    expect((await get(url, '/v2/models/add/versions/2/ready')).status).toBe(200);
    expect((await get(url, '/v2/models/add/versions/3/ready')).status).toBe(404);
    expect((await get(url, '/v2/models/nope/ready')).status).toBe(404);
  });

  it("returns the config in Triton's JSON form, completed from the model when there is no config.pbtxt", async () => {
    const add = await get(url, '/v2/models/add/config');
    expect(add.json).toMatchObject({
      name: 'add',
      platform: 'onnxruntime_onnx',
      max_batch_size: 8,
      input: [{ name: 'X', data_type: 'TYPE_FP32', dims: [3] }],
      output: [{ name: 'Y', data_type: 'TYPE_FP32', dims: [3] }],
      version_policy: { all: {} },
    });
    const cls = await get(url, '/v2/models/cls/versions/1/config');
    expect(cls.json).toMatchObject({
      name: 'cls',
      max_batch_size: 0,
      input: [{ name: 'features', data_type: 'TYPE_FP32', dims: [-1, 2] }],
    });
  });
});

describe('inference', () => {
  it('answers JSON with flat or nested data, naming the version that answered', async () => {
    const flat = await post(url, '/v2/models/add/infer', {
      id: 'r1',
      inputs: [{ name: 'X', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] }],
    });
    expect(flat.status).toBe(200);
    expect(flat.json).toEqual({
      model_name: 'add',
      model_version: '2',
      id: 'r1',
      outputs: [{ name: 'Y', datatype: 'FP32', shape: [2, 3], data: [3, 4, 5, 6, 7, 8] }],
    });
    const nested = await post(
      url,
      '/v2/models/add/versions/1/infer',
      inferBody([[1, 2, 3]], { parameters: { priority: 1 } }),
    );
    expect(nested.json.model_version).toBe('1');
    expect(nested.json.outputs[0].data).toEqual([2, 3, 4]);
    const nestedData = await post(url, '/v2/models/add/infer', {
      inputs: [
        {
          name: 'X',
          shape: [2, 3],
          datatype: 'FP32',
          data: [
            [0, 0, 0],
            [1, 1, 1],
          ],
        },
      ],
    });
    expect(nestedData.json.outputs[0].data).toEqual([2, 2, 2, 3, 3, 3]);
  });

  it('returns only the outputs asked for, in the order asked', async () => {
    const body = { inputs: [{ name: 'features', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 1] }] };
    const both = await post(url, '/v2/models/cls/infer', body);
    expect(both.json.outputs.map((o: { name: string }) => o.name)).toEqual(['label', 'probabilities']);
    expect(both.json.outputs[0]).toEqual({ name: 'label', datatype: 'INT64', shape: [2], data: [1, 0] });
    const probs = both.json.outputs[1].data as number[];
    expect(probs[0] + probs[1]).toBeCloseTo(1, 5);
    const one = await post(url, '/v2/models/cls/infer', { ...body, outputs: [{ name: 'probabilities' }] });
    expect(one.json.outputs.map((o: { name: string }) => o.name)).toEqual(['probabilities']);
  });

  it('carries BYTES as strings, BOOL, INT64 with every digit, FP16 as numbers', async () => {
    const words = await post(url, '/v2/models/words/infer', {
      inputs: [{ name: 'X', shape: [1, 2], datatype: 'BYTES', data: ['héllo', ''] }],
    });
    expect(words.json.outputs[0]).toEqual({ name: 'Y', datatype: 'BYTES', shape: [1, 2], data: ['héllo', ''] });
    const flags = await post(url, '/v2/models/flags/infer', {
      inputs: [{ name: 'X', shape: [1, 2], datatype: 'BOOL', data: [true, false] }],
    });
    expect(flags.json.outputs[0].data).toEqual([true, false]);
    const ids = await post(url, '/v2/models/ids/infer', {
      inputs: [{ name: 'X', shape: [1, 2], datatype: 'INT64', data: ['9007199254740993', -5] }],
    });
    expect(ids.status).toBe(200);
    expect(ids.text).toContain('"data":[9007199254740993,-5]');
    const halves = await post(url, '/v2/models/halves/infer', {
      inputs: [{ name: 'X', shape: [1, 2], datatype: 'FP16', data: [1.5, -0.25] }],
    });
    expect(halves.json.outputs[0]).toEqual({ name: 'Y', datatype: 'FP16', shape: [1, 2], data: [1.5, -0.25] });
  });

  it('takes two inputs', async () => {
    const reply = await post(url, '/v2/models/sum/infer', {
      inputs: [
        { name: 'A', shape: [1, 2], datatype: 'FP32', data: [1, 2] },
        { name: 'B', shape: [1, 2], datatype: 'FP32', data: [10, 20] },
      ],
    });
    expect(reply.json.outputs[0].data).toEqual([11, 22]);
  });

  it('reads binary tensors and answers binary when asked', async () => {
    const x = Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
    const { body, headers } = binaryBody(
      {
        inputs: [{ name: 'X', shape: [2, 3], datatype: 'FP32', parameters: { binary_data_size: x.length } }],
        parameters: { binary_data_output: true },
      },
      [x],
    );
    const reply = await post(url, '/v2/models/add/infer', body, headers);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/octet-stream');
    const { header, rest } = readBinaryReply(reply);
    expect(header.model_version).toBe('2');
    expect(header.outputs[0]).toEqual({
      name: 'Y',
      datatype: 'FP32',
      shape: [2, 3],
      parameters: { binary_data_size: 24 },
    });
    expect([...new Float32Array(rest.buffer.slice(rest.byteOffset, rest.byteOffset + rest.length))]).toEqual([
      3, 4, 5, 6, 7, 8,
    ]);
  });

  it('answers binary for one output and JSON for another when outputs say so', async () => {
    const reply = await post(url, '/v2/models/cls/infer', {
      inputs: [{ name: 'features', shape: [1, 2], datatype: 'FP32', data: [0, 5] }],
      outputs: [{ name: 'label', parameters: { binary_data: true } }, { name: 'probabilities' }],
    });
    const { header, rest } = readBinaryReply(reply);
    expect(header.outputs[0]).toEqual({
      name: 'label',
      datatype: 'INT64',
      shape: [1],
      parameters: { binary_data_size: 8 },
    });
    expect(rest.readBigInt64LE(0)).toBe(1n);
    expect(header.outputs[1].data).toHaveLength(2);
  });

  it('reads and writes BYTES in the binary form (length-prefixed)', async () => {
    const element = (s: string) => {
      const bytes = Buffer.from(s);
      const length = Buffer.alloc(4);
      length.writeUInt32LE(bytes.length);
      return Buffer.concat([length, bytes]);
    };
    const data = Buffer.concat([element('ab'), element('ünï')]);
    const { body, headers } = binaryBody(
      {
        inputs: [{ name: 'X', shape: [1, 2], datatype: 'BYTES', parameters: { binary_data_size: data.length } }],
        outputs: [{ name: 'Y', parameters: { binary_data: true } }],
      },
      [data],
    );
    const reply = await post(url, '/v2/models/words/infer', body, headers);
    const { header, rest } = readBinaryReply(reply);
    expect(header.outputs[0].parameters.binary_data_size).toBe(data.length);
    expect(rest.equals(data)).toBe(true);
  });
});

describe('repository, statistics and metrics', () => {
  it('indexes loaded models as READY and refuses what Triton could not load, with the reason', async () => {
    const reply = await post(url, '/v2/repository/index', {});
    expect(reply.status).toBe(200);
    const byName = (name: string) => reply.json.filter((e: { name: string }) => e.name === name);
    expect(byName('add')).toEqual([
      { name: 'add', version: '1', state: 'READY', reason: '' },
      { name: 'add', version: '2', state: 'READY', reason: '' },
    ]);
    expect(byName('wrong_platform')[0]).toMatchObject({
      state: 'UNAVAILABLE',
      reason: expect.stringContaining("platform 'tensorflow_savedmodel'"),
    });
    expect(byName('missing_file')[0]).toMatchObject({
      state: 'UNAVAILABLE',
      reason: expect.stringContaining('no model.onnx'),
    });
    expect(byName('bad_version')[0]).toMatchObject({ state: 'UNAVAILABLE', reason: expect.stringContaining("'01'") });
    expect(byName('mismatch')[0]).toMatchObject({ state: 'UNAVAILABLE', reason: expect.stringContaining('TYPE_FP64') });
    const ready = await post(url, '/v2/repository/index', { ready: true });
    expect(ready.json.every((e: { state: string }) => e.state === 'READY')).toBe(true);
    expect((await post(url, '/v2/models/mismatch/infer', inferBody([[1, 2, 3]]))).status).toBe(503);
  });

  it("keeps per-version statistics in Triton's shape", async () => {
    await post(
      url,
      '/v2/models/add/versions/1/infer',
      inferBody([
        [1, 1, 1],
        [2, 2, 2],
      ]),
    );
    await post(url, '/v2/models/add/versions/1/infer', { inputs: [] });
    const reply = await get(url, '/v2/models/add/versions/1/stats');
    expect(reply.status).toBe(200);
    const [stats] = reply.json.model_stats;
    expect(stats).toMatchObject({ name: 'add', version: '1' });
    expect(stats.success.count).toBeGreaterThanOrEqual(2);
    expect(stats.fail.count).toBeGreaterThanOrEqual(1);
    expect(stats.inference_count).toBeGreaterThanOrEqual(3);
    expect(stats.execution_count).toBeGreaterThanOrEqual(2);
    expect(stats.queue.count).toBe(stats.success.count);
    expect(
      stats.batch_stats.find((b: { batch_size: number }) => b.batch_size === 2).compute_infer.count,
    ).toBeGreaterThanOrEqual(1);
    const both = await get(url, '/v2/models/add/stats');
    expect(both.json.model_stats.map((s: { version: string }) => s.version)).toEqual(['1', '2']);
    const all = await get(url, '/v2/models/stats');
    expect(all.json.model_stats.length).toBeGreaterThanOrEqual(7);
  });

  it('exposes Prometheus metrics with model and version labels and a latency histogram', async () => {
    const reply = await get(url, '/metrics');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toContain('text/plain');
    for (const name of [
      'nv_inference_request_success',
      'nv_inference_request_failure',
      'nv_inference_count',
      'nv_inference_exec_count',
      'nv_inference_request_duration_us',
      'nv_inference_queue_duration_us',
    ]) {
      expect(reply.text).toContain(`# TYPE ${name} counter`);
      expect(reply.text).toMatch(new RegExp(`^${name}\\{model="add",version="1"\\} \\d+$`, 'm'));
    }
    expect(reply.text).toContain('# TYPE modelship_inference_request_duration_seconds histogram');
    const success = Number(/^nv_inference_request_success\{model="add",version="1"\} (\d+)$/m.exec(reply.text)![1]);
    const count = Number(
      /^modelship_inference_request_duration_seconds_count\{model="add",version="1"\} (\d+)$/m.exec(reply.text)![1],
    );
    const failure = Number(/^nv_inference_request_failure\{model="add",version="1"\} (\d+)$/m.exec(reply.text)![1]);
    expect(count).toBe(success + failure);
    expect(reply.text).toMatch(
      /^modelship_inference_request_duration_seconds_bucket\{model="add",version="1",le="\+Inf"\} \d+$/m,
    );
  });

  it('unloads and loads a model through the API', async () => {
    const unload = await post(url, '/v2/repository/models/cls/unload', undefined, admin);
    expect(unload.status).toBe(200);
    expect((await get(url, '/v2/models/cls/ready')).status).toBe(404);
    const index = await post(url, '/v2/repository/index');
    expect(index.json.find((e: { name: string }) => e.name === 'cls')).toMatchObject({
      state: 'UNAVAILABLE',
      reason: 'unloaded',
    });
    const load = await post(url, '/v2/repository/models/cls/load', undefined, admin);
    expect(load.status).toBe(200);
    expect(load.json).toMatchObject({ model: 'cls', loaded: ['1'], versions: ['1'] });
    expect((await get(url, '/v2/models/cls/ready')).status).toBe(200);
  });

  it('reports unpinned routing as the highest version', async () => {
    const reply = await get(url, '/v2/models/add/routing', admin);
    expect(reply.json).toEqual({ stable: '2', canary: null, pinned: false });
  });
});

describe('tokens', () => {
  it('guards every endpoint but health with the read token when one is set', async () => {
    const guarded = await serve(repo, { readToken: 'reader', loadModels: ['add'] });
    try {
      expect((await get(guarded.url, '/v2/health/ready')).status).toBe(200);
      const denied = await post(guarded.url, '/v2/models/add/infer', inferBody([[1, 2, 3]]));
      expect(denied.status).toBe(401);
      expect(denied.headers['www-authenticate']).toContain('Bearer');
      expect((await get(guarded.url, '/v2/models/add', { authorization: 'Bearer wrong' })).status).toBe(401);
      expect(
        (await post(guarded.url, '/v2/models/add/infer', inferBody([[1, 2, 3]]), { authorization: 'Bearer reader' }))
          .status,
      ).toBe(200);
      expect((await get(guarded.url, '/metrics', admin)).status).toBe(200);
      expect(
        (await post(guarded.url, '/v2/repository/models/add/load', undefined, { authorization: 'Bearer reader' }))
          .status,
      ).toBe(401);
    } finally {
      await guarded.close();
    }
  });

  it('refuses model control when started without an admin token', async () => {
    const saved = process.env.MODELSHIP_ADMIN_TOKEN;
    delete process.env.MODELSHIP_ADMIN_TOKEN;
    const open = await serve(repo, { adminToken: undefined, loadModels: ['add'] });
    try {
      const reply = await post(open.url, '/v2/repository/models/add/load', undefined, admin);
      expect(reply.status).toBe(403);
      expect(reply.json.error).toContain('MODELSHIP_ADMIN_TOKEN');
    } finally {
      await open.close();
      if (saved !== undefined) process.env.MODELSHIP_ADMIN_TOKEN = saved;
    }
  });
});
