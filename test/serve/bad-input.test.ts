/**
 * A user's mistake gets a 4xx with `{"error": ...}` that says what is wrong: never a 500, never a stopped
 * server. Table-driven; the server must still answer health and inference afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeModel } from '../../src/onnx/encode.js';
import type { RunningServer } from '../../src/serve/server.js';
import { addModel, identityModel } from '../support/onnx-models.js';
import {
  addConfig,
  admin,
  binaryBody,
  call,
  get,
  inferBody,
  post,
  removeRepository,
  serve,
  tempRepository,
  twoInputModel,
} from './serve-support.js';

let repo: string;
let server: RunningServer;

const INFER_LIMIT = 64 * 1024;

beforeAll(async () => {
  repo = await tempRepository({
    add: { config: addConfig('add', { maxBatchSize: 4 }), versions: { 1: addModel({ constant: 1 }) } },
    sum: {
      config:
        'max_batch_size: 4\ninput [ { name: "A", data_type: TYPE_FP32, dims: [ 2 ] }, { name: "B", data_type: TYPE_FP32, dims: [ 2 ] } ]\n',
      versions: { 1: twoInputModel() },
    },
    i32: { versions: { 1: identityModel({ dtype: 'INT32', shape: ['batch', 2] }) } },
    i8: { versions: { 1: identityModel({ dtype: 'INT8', shape: ['batch', 2] }) } },
    flags: { versions: { 1: identityModel({ dtype: 'BOOL', shape: ['batch', 2] }) } },
    words: { versions: { 1: identityModel({ dtype: 'BYTES', shape: ['batch', 2] }) } },
  });
  server = await serve(repo, { maxInferBodyBytes: INFER_LIMIT, maxBodyBytes: 256 * 1024 });
});

afterAll(async () => {
  await server?.close();
  await removeRepository(repo);
});

const X = (data: unknown, shape: unknown = [1, 3], datatype: unknown = 'FP32') => ({
  inputs: [{ name: 'X', shape, datatype, data }],
});
const ok = X([1, 2, 3]);
const f32 = (...values: number[]) => Buffer.from(new Float32Array(values).buffer);
const validOnnx = Buffer.from(encodeModel(addModel({ constant: 7 }))).toString('base64');
const configJson = JSON.stringify({
  name: 'add',
  platform: 'onnxruntime_onnx',
  max_batch_size: 4,
  input: [{ name: 'X', data_type: 'TYPE_FP32', dims: [3] }],
  output: [{ name: 'Y', data_type: 'TYPE_FP32', dims: [3] }],
});

interface Case {
  name: string;
  method?: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  error: string | RegExp;
}

const infer = '/v2/models/add/infer';
const load = '/v2/repository/models/add/load';
const routing = '/v2/models/add/routing';
const bin = (header: unknown, tensors: Buffer[], headerLength?: string) => {
  const b = binaryBody(header, tensors);
  return {
    body: b.body,
    headers: headerLength === undefined ? b.headers : { 'inference-header-content-length': headerLength },
  };
};

const cases: Case[] = [
  { name: 'malformed JSON', path: infer, body: '{"inputs": [', status: 400, error: 'not valid JSON' },
  { name: 'empty body', path: infer, body: '', status: 400, error: 'not valid JSON' },
  { name: 'body is an array', path: infer, body: [], status: 400, error: 'JSON object' },
  { name: 'body is a number', path: infer, body: '42', status: 400, error: 'JSON object' },
  { name: 'no inputs', path: infer, body: {}, status: 400, error: '"inputs" must be a non-empty array' },
  { name: 'inputs empty', path: infer, body: { inputs: [] }, status: 400, error: "'X' (FP32 [-1, 3])" },
  { name: 'inputs not an array', path: infer, body: { inputs: { X: [1] } }, status: 400, error: '"inputs"' },
  {
    name: 'input not an object',
    path: infer,
    body: { inputs: [7] },
    status: 400,
    error: 'inputs[0] must be an object',
  },
  {
    name: 'input without name',
    path: infer,
    body: { inputs: [{ shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] },
    status: 400,
    error: 'has no "name"',
  },
  {
    name: 'unknown input',
    path: infer,
    body: { inputs: [{ name: 'Z', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] },
    status: 400,
    error: "Unknown input 'Z'",
  },
  {
    name: 'input twice',
    path: infer,
    body: { inputs: [ok.inputs[0], ok.inputs[0]] },
    status: 400,
    error: 'given twice',
  },
  {
    name: 'missing input',
    path: '/v2/models/sum/infer',
    body: { inputs: [{ name: 'A', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] },
    status: 400,
    error: "Missing input 'B'",
  },
  {
    name: 'inputs disagree on batch size',
    path: '/v2/models/sum/infer',
    body: {
      inputs: [
        { name: 'A', shape: [1, 2], datatype: 'FP32', data: [1, 2] },
        { name: 'B', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4] },
      ],
    },
    status: 400,
    error: "Inputs disagree on the batch size: 1 and 2 (input 'B')",
  },
  {
    name: 'wrong datatype',
    path: infer,
    body: X([1, 2, 3], [1, 3], 'FP64'),
    status: 400,
    error: 'datatype FP64 but the model expects FP32',
  },
  { name: 'unknown datatype', path: infer, body: X([1, 2, 3], [1, 3], 'FLOAT'), status: 400, error: 'expects FP32' },
  {
    name: 'no datatype',
    path: infer,
    body: { inputs: [{ name: 'X', shape: [1, 3], data: [1, 2, 3] }] },
    status: 400,
    error: 'datatype',
  },
  {
    name: 'no shape',
    path: infer,
    body: { inputs: [{ name: 'X', datatype: 'FP32', data: [1, 2, 3] }] },
    status: 400,
    error: 'no "shape"',
  },
  { name: 'shape not an array', path: infer, body: X([1, 2, 3], '1x3'), status: 400, error: 'no "shape" array' },
  { name: 'negative dimension', path: infer, body: X([1, 2, 3], [-1, 3]), status: 400, error: 'non-negative integers' },
  {
    name: 'fractional dimension',
    path: infer,
    body: X([1, 2, 3], [1.5, 3]),
    status: 400,
    error: 'non-negative integers',
  },
  { name: 'wrong rank', path: infer, body: X([1, 2, 3], [3]), status: 400, error: 'rank 2' },
  {
    name: 'wrong fixed dimension',
    path: infer,
    body: X([1, 2, 3, 4], [1, 4]),
    status: 400,
    error: 'dimension 1 must be 3',
  },
  {
    name: 'batch over max_batch_size',
    path: infer,
    body: X(new Array(15).fill(0), [5, 3]),
    status: 400,
    error: 'max_batch_size 4',
  },
  { name: 'batch of zero rows', path: infer, body: X([], [0, 3]), status: 400, error: 'batch size 0' },
  { name: 'too few elements', path: infer, body: X([1, 2]), status: 400, error: 'holds 3 elements, data has 2' },
  { name: 'too many elements', path: infer, body: X([1, 2, 3, 4]), status: 400, error: 'holds 3 elements, data has 4' },
  { name: 'data not an array', path: infer, body: X('1,2,3'), status: 400, error: '"data" must be an array' },
  {
    name: 'no data',
    path: infer,
    body: { inputs: [{ name: 'X', shape: [1, 3], datatype: 'FP32' }] },
    status: 400,
    error: 'no "data"',
  },
  { name: 'string in FP32 data', path: infer, body: X([1, 'two', 3]), status: 400, error: 'data[1]' },
  { name: 'null in FP32 data', path: infer, body: X([1, null, 3]), status: 400, error: 'data[1]' },
  {
    name: 'nested data off the shape',
    path: infer,
    body: X([[1, 2], [3]], [1, 3]),
    status: 400,
    error: 'needs 1 at depth 0',
  },
  {
    name: 'nested deeper than the shape',
    path: infer,
    body: X([[[1], [2], [3]]], [1, 3]),
    status: 400,
    error: 'nested deeper',
  },
  {
    name: 'fraction for INT32',
    path: '/v2/models/i32/infer',
    body: X([1, 2.5], [1, 2], 'INT32'),
    status: 400,
    error: 'needs an integer',
  },
  {
    name: 'out of range for INT8',
    path: '/v2/models/i8/infer',
    body: X([1, 300], [1, 2], 'INT8'),
    status: 400,
    error: 'out of range for INT8',
  },
  {
    name: 'number for BOOL',
    path: '/v2/models/flags/infer',
    body: X([1, 0], [1, 2], 'BOOL'),
    status: 400,
    error: 'true or false',
  },
  {
    name: 'number for BYTES',
    path: '/v2/models/words/infer',
    body: X(['a', 5], [1, 2], 'BYTES'),
    status: 400,
    error: 'needs a string',
  },
  {
    name: 'outputs not an array',
    path: infer,
    body: { ...ok, outputs: 'Y' },
    status: 400,
    error: '"outputs" must be an array',
  },
  {
    name: 'unknown output',
    path: infer,
    body: { ...ok, outputs: [{ name: 'Z' }] },
    status: 400,
    error: "Unknown output 'Z'",
  },
  {
    name: 'output twice',
    path: infer,
    body: { ...ok, outputs: [{ name: 'Y' }, { name: 'Y' }] },
    status: 400,
    error: 'requested twice',
  },
  {
    name: 'classification asked',
    path: infer,
    body: { ...ok, outputs: [{ name: 'Y', parameters: { classification: 2 } }] },
    status: 400,
    error: 'classification',
  },
  {
    name: 'binary_data not boolean',
    path: infer,
    body: { ...ok, outputs: [{ name: 'Y', parameters: { binary_data: 'yes' } }] },
    status: 400,
    error: 'binary_data',
  },
  {
    name: 'binary_data_output not boolean',
    path: infer,
    body: { ...ok, parameters: { binary_data_output: 1 } },
    status: 400,
    error: 'binary_data_output',
  },
  { name: 'id not a string', path: infer, body: { ...ok, id: 5 }, status: 400, error: '"id" must be a string' },
  {
    name: 'parameters not an object',
    path: infer,
    body: { ...ok, parameters: [] },
    status: 400,
    error: '"parameters" must be an object',
  },
  {
    name: 'header length past the body',
    path: infer,
    ...bin(
      { inputs: [{ name: 'X', shape: [1, 3], datatype: 'FP32', parameters: { binary_data_size: 12 } }] },
      [f32(1, 2, 3)],
      '999999',
    ),
    status: 400,
    error: 'Inference-Header-Content-Length',
  },
  {
    name: 'header length not a number',
    path: infer,
    body: JSON.stringify(ok),
    headers: { 'inference-header-content-length': 'ten' },
    status: 400,
    error: 'Inference-Header-Content-Length',
  },
  {
    name: 'binary size off the shape',
    path: infer,
    ...bin({ inputs: [{ name: 'X', shape: [1, 3], datatype: 'FP32', parameters: { binary_data_size: 8 } }] }, [
      f32(1, 2),
    ]),
    status: 400,
    error: '3 FP32 elements take 12',
  },
  {
    name: 'binary size without the header',
    path: infer,
    body: { inputs: [{ name: 'X', shape: [1, 3], datatype: 'FP32', parameters: { binary_data_size: 12 } }] },
    status: 400,
    error: 'no Inference-Header-Content-Length',
  },
  {
    name: 'bytes after the binary tensors',
    path: infer,
    ...bin({ inputs: [{ name: 'X', shape: [1, 3], datatype: 'FP32', parameters: { binary_data_size: 12 } }] }, [
      f32(1, 2, 3),
      f32(9),
    ]),
    status: 400,
    error: '4 bytes after the tensors',
  },
  {
    name: 'binary size past the end',
    path: infer,
    ...bin({ inputs: [{ name: 'X', shape: [1, 3], datatype: 'FP32', parameters: { binary_data_size: 24 } }] }, [
      f32(1, 2, 3),
    ]),
    status: 400,
    error: 'runs past the end',
  },
  {
    name: 'both data and binary size',
    path: infer,
    ...bin(
      {
        inputs: [{ name: 'X', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3], parameters: { binary_data_size: 12 } }],
      },
      [f32(1, 2, 3)],
    ),
    status: 400,
    error: 'both "data" and binary_data_size',
  },
  {
    name: 'truncated BYTES element',
    path: '/v2/models/words/infer',
    ...bin({ inputs: [{ name: 'X', shape: [1, 2], datatype: 'BYTES', parameters: { binary_data_size: 6 } }] }, [
      Buffer.from([9, 0, 0, 0, 65, 66]),
    ]),
    status: 400,
    error: 'runs past binary_data_size',
  },
  {
    name: 'random bytes as body',
    path: infer,
    body: Buffer.from([0xff, 0xfe, 0x00, 0x13, 0x37]),
    status: 400,
    error: 'not valid JSON',
  },
  {
    name: 'body over the limit',
    path: infer,
    body: JSON.stringify(X(new Array(20000).fill(1.25))),
    status: 413,
    error: 'exceeds the limit of 64 KiB',
  },
  { name: 'unknown model', path: '/v2/models/nope/infer', body: ok, status: 404, error: "Unknown model 'nope'" },
  { name: 'unknown version', path: '/v2/models/add/versions/9/infer', body: ok, status: 404, error: 'no version 9' },
  {
    name: 'version not a number',
    path: '/v2/models/add/versions/latest/infer',
    body: ok,
    status: 400,
    error: "Version 'latest'",
  },
  {
    name: 'version with a leading zero',
    path: '/v2/models/add/versions/01/infer',
    body: ok,
    status: 400,
    error: "Version '01'",
  },
  { name: 'bad percent-encoding', path: '/v2/models/%E0%A4%A/infer', body: ok, status: 400, error: 'percent-encoding' },
  { name: 'GET on infer', method: 'GET', path: infer, status: 405, error: 'answers POST' },
  { name: 'unknown path', method: 'GET', path: '/v2/nothing/here', status: 404, error: 'No endpoint' },
  {
    name: 'unknown model metadata',
    method: 'GET',
    path: '/v2/models/nope',
    status: 404,
    error: "Unknown model 'nope'",
  },
  {
    name: 'unknown model stats',
    method: 'GET',
    path: '/v2/models/nope/stats',
    status: 404,
    error: "Unknown model 'nope'",
  },
  {
    name: 'index ready not boolean',
    path: '/v2/repository/index',
    body: { ready: 'yes' },
    status: 400,
    error: '"ready" must be true or false',
  },
  {
    name: 'routing without a token',
    method: 'PUT',
    path: routing,
    body: { stable: '1', canary: null },
    status: 401,
    error: 'admin token',
  },
  {
    name: 'routing with a wrong token',
    method: 'PUT',
    path: routing,
    body: { stable: '1', canary: null },
    headers: { authorization: 'Bearer nope' },
    status: 401,
    error: 'not the admin token',
  },
  {
    name: 'routing to a version not loaded',
    method: 'PUT',
    path: routing,
    body: { stable: '3', canary: null },
    headers: admin,
    status: 400,
    error: 'version 3 is not loaded and ready',
  },
  {
    name: 'canary weight over 100',
    method: 'PUT',
    path: routing,
    body: { stable: '1', canary: { version: '2', weight: 150 } },
    headers: admin,
    status: 400,
    error: 'from 0 to 100',
  },
  {
    name: 'canary weight negative',
    method: 'PUT',
    path: routing,
    body: { stable: '1', canary: { version: '2', weight: -1 } },
    headers: admin,
    status: 400,
    error: 'from 0 to 100',
  },
  {
    name: 'canary same as stable',
    method: 'PUT',
    path: routing,
    body: { stable: '1', canary: { version: '1', weight: 5 } },
    headers: admin,
    status: 400,
    error: 'is the stable version',
  },
  {
    name: 'routing not JSON',
    method: 'PUT',
    path: routing,
    body: 'stable=1',
    headers: admin,
    status: 400,
    error: 'not valid JSON',
  },
  {
    name: 'routing stable not a version',
    method: 'PUT',
    path: routing,
    body: { stable: 'v1' },
    headers: admin,
    status: 400,
    error: '"stable" must be a version number',
  },
  {
    name: 'load of an invalid model name',
    path: '/v2/repository/models/..%2Fetc/load',
    headers: admin,
    status: 400,
    error: 'not a valid model name',
  },
  {
    name: 'load of an unknown model',
    path: '/v2/repository/models/ghost/load',
    headers: admin,
    status: 404,
    error: "'ghost' has no folder",
  },
  { name: 'load without a token', path: load, status: 401, error: 'admin token' },
  {
    name: 'load files without config',
    path: load,
    body: { parameters: { 'file:2/model.onnx': validOnnx } },
    headers: admin,
    status: 400,
    error: 'must also carry "config"',
  },
  {
    name: 'load file in folder 01',
    path: load,
    body: { parameters: { config: configJson, 'file:01/model.onnx': validOnnx } },
    headers: admin,
    status: 400,
    error: 'not a valid file entry',
  },
  {
    name: 'load file path with ..',
    path: load,
    body: { parameters: { config: configJson, 'file:1/../../x': validOnnx } },
    headers: admin,
    status: 400,
    error: 'not a valid file entry',
  },
  {
    name: 'load file not base64',
    path: load,
    body: { parameters: { config: configJson, 'file:2/model.onnx': '***' } },
    headers: admin,
    status: 400,
    error: 'not valid base64',
  },
  {
    name: 'load config not JSON',
    path: load,
    body: { parameters: { config: 'name: "add"' } },
    headers: admin,
    status: 400,
    error: 'config is not valid JSON',
  },
  {
    name: 'load config of another platform',
    path: load,
    body: { parameters: { config: JSON.stringify({ name: 'add', platform: 'pytorch_libtorch' }) } },
    headers: admin,
    status: 400,
    error: "platform 'pytorch_libtorch'",
  },
  {
    name: 'load config of another name',
    path: load,
    body: { parameters: { config: JSON.stringify({ name: 'other' }) } },
    headers: admin,
    status: 400,
    error: "does not match the model folder 'add'",
  },
  {
    name: 'load unknown parameter',
    path: load,
    body: { parameters: { force: true } },
    headers: admin,
    status: 400,
    error: "Unknown load parameter 'force'",
  },
  {
    name: 'load a file that is not ONNX',
    path: load,
    body: {
      parameters: {
        config: JSON.stringify({ ...JSON.parse(configJson), version_policy: { specific: { versions: [5] } } }),
        'file:5/model.onnx': Buffer.from('not a model').toString('base64'),
      },
    },
    headers: admin,
    status: 400,
    error: /./,
  },
  {
    name: 'load body over the limit',
    path: load,
    body: JSON.stringify({ parameters: { config: configJson, 'file:2/model.onnx': 'A'.repeat(300 * 1024) } }),
    headers: admin,
    status: 413,
    error: 'exceeds the limit of 256 KiB',
  },
  {
    name: 'unload of an unknown model',
    path: '/v2/repository/models/ghost/unload',
    headers: admin,
    status: 404,
    error: "Unknown model 'ghost'",
  },
];

describe('bad input', () => {
  it('has at least 40 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  for (const c of cases) {
    it(`${c.status} for ${c.name}`, async () => {
      const reply = await call(server.url, c.method ?? 'POST', c.path, c.body, c.headers);
      expect(reply.status, reply.text).toBe(c.status);
      expect(reply.headers['content-type']).toContain('application/json');
      expect(typeof reply.json.error).toBe('string');
      if (typeof c.error === 'string') expect(reply.json.error).toContain(c.error);
      else expect(reply.json.error).toMatch(c.error);
    });
  }

  it('still answers health and inference afterwards, and the model loaded before bad loads still serves', async () => {
    expect((await get(server.url, '/v2/health/live')).status).toBe(200);
    expect((await get(server.url, '/v2/health/ready')).status).toBe(200);
    const reply = await post(server.url, infer, inferBody([[1, 2, 3]]));
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ model_version: '1', outputs: [{ data: [2, 3, 4] }] });
    // The refused upload was rolled back: a reload from the folder serves the same model.
    const reload = await post(server.url, load, undefined, admin);
    expect(reload.status, reload.text).toBe(200);
    expect(reload.json.versions).toEqual(['1']);
    const { readdir } = await import('node:fs/promises');
    expect((await readdir(`${repo}/add`)).sort()).toEqual(['1', 'config.pbtxt']);
  });

  it('counts failed requests against the version that answered them', async () => {
    const reply = await post(server.url, infer, X([1, 2]));
    expect(reply.json).toMatchObject({ model_name: 'add', model_version: '1' });
    const stats = await get(server.url, '/v2/models/add/versions/1/stats');
    expect(stats.json.model_stats[0].fail.count).toBeGreaterThan(10);
  });
});
