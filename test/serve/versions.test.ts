/**
 * Versions and traffic: a deploy as the deploy step drives it (pin, load beside, smoke test, canary,
 * promote, retire) and hot swaps, all under concurrent load with zero failed requests; routing that
 * survives a restart; a version released only after its requests in flight are answered.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeModel } from '../../src/onnx/encode.js';
import { addModel } from '../support/onnx-models.js';
import {
  addConfig,
  admin,
  call,
  get,
  inferBody,
  post,
  removeRepository,
  serve,
  slowRequest,
  tempRepository,
  trafficFor,
  trafficLoops,
  writeModelFolder,
  type Reply,
} from './serve-support.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(versions: Record<number, number>, config = addConfig('m')) {
  const repo = await tempRepository({
    m: {
      config,
      versions: Object.fromEntries(Object.entries(versions).map(([v, c]) => [v, addModel({ constant: c })])),
    },
  });
  const server = await serve(repo);
  cleanups.push(() => removeRepository(repo));
  cleanups.push(() => server.close());
  return { repo, server, url: server.url };
}

const zeros = inferBody([[0, 0, 0]]);
const base64Model = (constant: number) => Buffer.from(encodeModel(addModel({ constant }))).toString('base64');
const jsonConfig = (versions: number[]) =>
  JSON.stringify({
    name: 'm',
    platform: 'onnxruntime_onnx',
    max_batch_size: 8,
    input: [{ name: 'X', data_type: 'TYPE_FP32', dims: [3] }],
    output: [{ name: 'Y', data_type: 'TYPE_FP32', dims: [3] }],
    version_policy: { specific: { versions } },
  });

/** Version N of the model adds `constants[N]`: the answer must match the version the reply names. */
const answersMatch = (constants: Record<string, number[]>) => (reply: Reply) => {
  const value = reply.json.outputs[0].data[0];
  const allowed = constants[reply.json.model_version] ?? [];
  return allowed.includes(value) ? undefined : `version ${reply.json.model_version} answered ${value}`;
};

describe('versions and routing', () => {
  it('deploys a new version beside the old one, canaries, promotes and retires under load with zero failures', async () => {
    const { url, repo } = await setup({ 1: 1 });
    const traffic = trafficLoops(url, '/v2/models/m/infer', zeros, {
      concurrency: 8,
      check: answersMatch({ 1: [1], 2: [2] }),
    });
    await trafficFor(traffic.report, 50);

    // Pin the serving version, then load the new one beside it.
    const pinned = await call(url, 'PUT', '/v2/models/m/routing', { stable: '1', canary: null }, admin);
    expect(pinned.json).toEqual({ stable: '1', canary: null, pinned: true });
    const loaded = await post(
      url,
      '/v2/repository/models/m/load',
      { parameters: { config: jsonConfig([1, 2]), 'file:2/model.onnx': base64Model(2) } },
      admin,
    );
    expect(loaded.status, loaded.text).toBe(200);
    expect(loaded.json).toMatchObject({ loaded: ['2'], unloaded: [], versions: ['1', '2'] });
    expect(await readFile(path.join(repo, 'm', 'config.pbtxt'), 'utf8')).toContain('versions: [ 1, 2 ]');
    expect((await get(url, '/v2/models/m/routing', admin)).json).toEqual({ stable: '1', canary: null, pinned: true });
    await trafficFor(traffic.report, 50);
    expect(traffic.report.byVersion['2'] ?? 0).toBe(0);

    // Smoke test the new version by its own path.
    const smoke = await post(url, '/v2/models/m/versions/2/infer', zeros);
    expect(smoke.json).toMatchObject({ model_version: '2', outputs: [{ data: [2, 2, 2] }] });

    // Canary at 25%.
    const statsBefore = await versionCounts(url);
    const canary = await call(
      url,
      'PUT',
      '/v2/models/m/routing',
      { stable: '1', canary: { version: '2', weight: 25 } },
      admin,
    );
    expect(canary.json).toEqual({ stable: '1', canary: { version: '2', weight: 25 }, pinned: true });
    await trafficFor(traffic.report, 300);
    const statsAfter = await versionCounts(url);
    const v1 = statsAfter['1'] - statsBefore['1'];
    const v2 = statsAfter['2'] - statsBefore['2'];
    expect(v2 / (v1 + v2)).toBeGreaterThan(0.18);
    expect(v2 / (v1 + v2)).toBeLessThan(0.32);

    // Promote, then retire version 1 through the version policy.
    await call(url, 'PUT', '/v2/models/m/routing', { stable: '2', canary: null }, admin);
    const retire = await post(url, '/v2/repository/models/m/load', { parameters: { config: jsonConfig([2]) } }, admin);
    expect(retire.json).toMatchObject({ loaded: [], unloaded: ['1'], versions: ['2'] });
    const afterRetire = traffic.report.byVersion['1'];
    await trafficFor(traffic.report, 100);
    expect(traffic.report.byVersion['1']).toBe(afterRetire);

    const report = await traffic.stop();
    expect(report.failures).toEqual([]);
    expect(report.byVersion['1']).toBeGreaterThan(50);
    expect(report.byVersion['2']).toBeGreaterThan(100);
    expect(JSON.parse(await readFile(path.join(repo, 'm', 'routing.json'), 'utf8'))).toEqual({
      stable: '2',
      canary: null,
    });
    const index = await post(url, '/v2/repository/index');
    expect(index.json).toEqual([{ name: 'm', version: '2', state: 'READY', reason: '' }]);
  });

  it('hot swaps a version whose file changed, with zero failures', async () => {
    const { url } = await setup({ 1: 1 });
    const traffic = trafficLoops(url, '/v2/models/m/infer', zeros, {
      concurrency: 8,
      check: answersMatch({ 1: [1, 10] }),
    });
    await trafficFor(traffic.report, 50);
    const swap = await post(
      url,
      '/v2/repository/models/m/load',
      { parameters: { config: jsonConfig([1]), 'file:1/model.onnx': base64Model(10) } },
      admin,
    );
    expect(swap.json).toMatchObject({ loaded: ['1'], unloaded: [], versions: ['1'] });
    const before = traffic.report.total;
    await trafficFor(traffic.report, 100);
    const report = await traffic.stop();
    expect(report.failures).toEqual([]);
    expect(report.total).toBeGreaterThan(before);
    expect((await post(url, '/v2/models/m/infer', zeros)).json.outputs[0].data).toEqual([10, 10, 10]);
    // Statistics carry over a reload of the same version.
    const stats = await get(url, '/v2/models/m/versions/1/stats');
    expect(stats.json.model_stats[0].success.count).toBeGreaterThan(before);
  });

  it('sends unversioned requests to the highest ready version until routing is pinned', async () => {
    const { url, repo } = await setup({ 1: 1 }, addConfig('m', { policy: '{ all {} }' }));
    expect((await post(url, '/v2/models/m/infer', zeros)).json.model_version).toBe('1');
    await writeModelFolder(repo, 'm', { versions: { 2: addModel({ constant: 2 }) } });
    expect((await post(url, '/v2/repository/models/m/load', undefined, admin)).json.loaded).toEqual(['2']);
    expect((await post(url, '/v2/models/m/infer', zeros)).json.model_version).toBe('2');
    await call(url, 'PUT', '/v2/models/m/routing', { stable: 2, canary: null }, admin);
    await writeModelFolder(repo, 'm', { versions: { 3: addModel({ constant: 3 }) } });
    expect((await post(url, '/v2/repository/models/m/load', undefined, admin)).json.loaded).toEqual(['3']);
    // Pinned: loading version 3 does not move traffic.
    expect((await post(url, '/v2/models/m/infer', zeros)).json.model_version).toBe('2');
    expect((await get(url, '/v2/models/m', admin)).json.versions).toEqual(['1', '2', '3']);
    // Unpinned again: the highest.
    const cleared = await call(url, 'DELETE', '/v2/models/m/routing', undefined, admin);
    expect(cleared.json).toEqual({ stable: '3', canary: null, pinned: false });
    expect((await post(url, '/v2/models/m/infer', zeros)).json.model_version).toBe('3');
  });

  it('refuses (409) a load that would unload the stable version, and keeps serving it', async () => {
    const { url, repo } = await setup({ 1: 1 });
    await call(url, 'PUT', '/v2/models/m/routing', { stable: '1', canary: null }, admin);
    const before = await readFile(path.join(repo, 'm', 'config.pbtxt'), 'utf8');
    const refused = await post(
      url,
      '/v2/repository/models/m/load',
      { parameters: { config: jsonConfig([2]), 'file:2/model.onnx': base64Model(2) } },
      admin,
    );
    expect(refused.status).toBe(409);
    expect(refused.json.error).toContain('version 1 is the stable version');
    expect(await readFile(path.join(repo, 'm', 'config.pbtxt'), 'utf8')).toBe(before);
    // The same through the folder: a new version 2 with latest-1 policy would push version 1 out.
    await writeModelFolder(repo, 'm', { versions: { 2: addModel({ constant: 2 }) } });
    expect((await post(url, '/v2/repository/models/m/load', undefined, admin)).status).toBe(409);
    expect((await post(url, '/v2/models/m/infer', zeros)).json.model_version).toBe('1');
    // Unloading the whole model is allowed.
    expect((await post(url, '/v2/repository/models/m/unload', undefined, admin)).status).toBe(200);
    expect((await post(url, '/v2/models/m/infer', zeros)).status).toBe(404);
  });

  it('keeps routing across a restart, and ignores a routing file naming a version not loaded', async () => {
    const { url, repo, server } = await setup({ 1: 1, 2: 2 }, addConfig('m', { policy: '{ all {} }' }));
    await call(url, 'PUT', '/v2/models/m/routing', { stable: '1', canary: { version: '2', weight: 50 } }, admin);
    await server.close();
    const again = await serve(repo);
    cleanups.push(() => again.close());
    expect((await get(again.url, '/v2/models/m/routing', admin)).json).toEqual({
      stable: '1',
      canary: { version: '2', weight: 50 },
      pinned: true,
    });
    const answers = await Promise.all(Array.from({ length: 10 }, () => post(again.url, '/v2/models/m/infer', zeros)));
    expect(answers.filter((a) => a.json.model_version === '2')).toHaveLength(5);
    await again.close();

    await writeFile(path.join(repo, 'm', 'routing.json'), JSON.stringify({ stable: '7', canary: null }));
    const third = await serve(repo);
    cleanups.push(() => third.close());
    expect((await get(third.url, '/v2/models/m/routing', admin)).json).toEqual({
      stable: '2',
      canary: null,
      pinned: false,
    });
    expect(third.lines.join('\n')).toContain('routes to version 7, which is not loaded');
  });

  it('releases a retired version only after its request in flight is answered', async () => {
    const { url } = await setup({ 1: 1, 2: 2 }, addConfig('m', { policy: '{ all {} }' }));
    const pending = await slowRequest(url, '/v2/models/m/versions/1/infer', JSON.stringify(zeros));
    const retire = await post(url, '/v2/repository/models/m/load', { parameters: { config: jsonConfig([2]) } }, admin);
    expect(retire.json).toMatchObject({ unloaded: ['1'], versions: ['2'] });
    const during = await post(url, '/v2/repository/index');
    expect(during.json).toContainEqual({ name: 'm', version: '1', state: 'UNLOADING', reason: '' });
    expect((await post(url, '/v2/models/m/versions/1/infer', zeros)).status).toBe(404);
    const reply = await pending.finish();
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ model_version: '1', outputs: [{ data: [1, 1, 1] }] });
    await new Promise((r) => setTimeout(r, 50));
    const after = await post(url, '/v2/repository/index');
    expect(after.json).toEqual([{ name: 'm', version: '2', state: 'READY', reason: '' }]);
  });
});

async function versionCounts(url: string): Promise<Record<string, number>> {
  const stats = await get(url, '/v2/models/m/stats');
  return Object.fromEntries(
    stats.json.model_stats.map((s: { version: string; success: { count: number } }) => [s.version, s.success.count]),
  );
}
