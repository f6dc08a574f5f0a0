/**
 * Poll mode: the server follows its repository folder: new models load, new versions replace old ones
 * under the version policy, removed models unload, a broken folder is refused with the reason.
 */
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/serve/server.js';
import { addModel } from '../support/onnx-models.js';
import {
  addConfig,
  admin,
  get,
  inferBody,
  post,
  removeRepository,
  serve,
  tempRepository,
  writeModelFolder,
} from './serve-support.js';

let repo: string;
let server: RunningServer & { lines: string[] };

beforeAll(async () => {
  repo = await tempRepository({ a: { config: addConfig('a'), versions: { 1: addModel({ constant: 1 }) } } });
  server = await serve(repo, { modelControl: 'poll', pollIntervalMs: 30, loadModels: [] });
});

afterAll(async () => {
  await server?.close();
  await removeRepository(repo);
});

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting until ${what}`);
}

const answer = async (model: string) =>
  (await post(server.url, `/v2/models/${model}/infer`, inferBody([[0, 0, 0]]))).json;

describe('poll mode', () => {
  it('loads every model at startup, whatever loadModels says', async () => {
    expect((await answer('a')).model_version).toBe('1');
  });

  it('loads a model folder that appears', async () => {
    await writeModelFolder(repo, 'b', { config: addConfig('b'), versions: { 1: addModel({ constant: 5 }) } });
    await until('b is ready', async () => (await get(server.url, '/v2/models/b/ready')).status === 200);
    expect((await answer('b')).outputs[0].data).toEqual([5, 5, 5]);
  });

  it('serves a new version under the latest-1 policy and retires the old one', async () => {
    await writeModelFolder(repo, 'a', { versions: { 2: addModel({ constant: 2 }) } });
    await until('a serves version 2', async () => (await answer('a')).model_version === '2');
    await until(
      'version 1 is gone',
      async () => (await get(server.url, '/v2/models/a/versions/1/ready')).status === 404,
    );
  });

  it('refuses a broken folder with the reason and keeps serving the rest', async () => {
    await writeModelFolder(repo, 'c', { config: 'platform: "tensorrt_plan"\n', versions: { 1: addModel() } });
    await until('c is refused', async () =>
      (await post(server.url, '/v2/repository/index')).json.some(
        (e: { name: string; state: string; reason: string }) =>
          e.name === 'c' && e.state === 'UNAVAILABLE' && e.reason.includes('tensorrt_plan'),
      ),
    );
    expect(server.lines.join('\n')).toContain("Poll: model 'c' was not (re)loaded");
    // Fixed in place: loaded on a later scan.
    await writeFile(path.join(repo, 'c', 'config.pbtxt'), addConfig('c'));
    await until('c is ready', async () => (await get(server.url, '/v2/models/c/ready')).status === 200);
    expect((await answer('a')).model_version).toBe('2');
  });

  it('unloads a model whose folder is removed', async () => {
    await rm(path.join(repo, 'b'), { recursive: true });
    await until('b is unloaded', async () => (await get(server.url, '/v2/models/b/ready')).status === 404);
  });

  it('refuses unload through the API (the folder decides) but still takes a load', async () => {
    const unload = await post(server.url, '/v2/repository/models/a/unload', undefined, admin);
    expect(unload.status).toBe(400);
    expect(unload.json.error).toContain('polls its repository');
    const load = await post(server.url, '/v2/repository/models/a/load', undefined, admin);
    expect(load.status).toBe(200);
  });
});
