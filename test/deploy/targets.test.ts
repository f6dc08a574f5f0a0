import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readLedger } from '../../src/deploy/ledger.js';
import { deploy, type DeployOptions } from '../../src/steps/deploy.js';
import { rollback } from '../../src/steps/rollback.js';
import { memoryLogger } from '../../src/log.js';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import { ADMIN_TOKEN, IRIS_REGRESSED, IRIS_ROWS, IRIS_V1, IRIS_V2, infer, trafficLoop } from './harness.js';

let dir: string;
let server: RunningServer;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelship-targets-'));
  await mkdir(join(dir, 'served'));
  server = await startServer({ repository: join(dir, 'served'), port: 0, adminToken: ADMIN_TOKEN });
});
afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const versionFolders = async (root: string) =>
  (await readdir(join(root, 'iris')).catch(() => [] as string[])).filter((n) => /^\d+$/.test(n)).sort();

describe('http(s):// target: the model travels in the load request', () => {
  const options = (overrides: Partial<DeployOptions>): DeployOptions => ({
    model: IRIS_V1,
    modelName: 'iris',
    environment: 'staging',
    target: server.url,
    state: join(dir, 'state'),
    adminToken: ADMIN_TOKEN,
    smokeFixtures: IRIS_ROWS,
    smokeRows: 4,
    ...overrides,
  });

  it('deploys without shared storage, keeps retained versions in the state folder, and rolls back from there', async () => {
    const log = memoryLogger();
    expect((await deploy(options({ version: '1.0.0' }), log)).status).toBe('deployed');
    const traffic = trafficLoop(server.url);
    try {
      expect((await deploy(options({ model: IRIS_V2, version: '1.1.0' }), log)).status).toBe('deployed');
      expect((await deploy(options({ model: IRIS_REGRESSED, version: '1.2.0' }), log)).status).toBe('deployed');
      expect((await infer(server.url)).body.model_version).toBe('3');
      // Version 1 is no longer loaded (policy [2, 3]); the rollback pushes it from the state folder.
      const back = await rollback(
        {
          modelName: 'iris',
          environment: 'staging',
          target: server.url,
          state: join(dir, 'state'),
          adminToken: ADMIN_TOKEN,
          to: '#1',
          reason: 'regressed',
        },
        log,
      );
      expect(back.status).toBe('rolled-back');
      expect((await infer(server.url)).body.model_version).toBe('1');
    } finally {
      await traffic.stop();
    }
    expect(traffic.failures).toEqual([]);
    const mirror = join(dir, 'state', 'iris', 'staging', 'repository');
    expect(await versionFolders(mirror)).toEqual(['1', '2', '3']);
    expect(await versionFolders(join(dir, 'served'))).toEqual(['1', '2', '3']);
    const { entries } = await readLedger(join(dir, 'state', 'iris', 'staging', 'ledger.jsonl'));
    expect(entries.filter((e) => e.outcome === 'succeeded').map((e) => e.semver)).toEqual([
      '1.0.0',
      '1.1.0',
      '1.2.0',
      '1.0.0',
    ]);
  });

  it('needs a state folder', async () => {
    await expect(deploy(options({ state: undefined }), memoryLogger())).rejects.toMatchObject({
      code: 'STATE_REQUIRED',
    });
  });
});

/**
 * A server without the routing extension, as Triton is: modelship serve behind a proxy that drops
 * `routing` from the extensions it lists and answers 404 on the routing route.
 */
async function withoutRouting(upstream: string): Promise<{ url: string; server: Server }> {
  const target = new URL(upstream);
  const proxy = createServer((req, res) => {
    if (req.url?.endsWith('/routing')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Not Found"}');
      return;
    }
    const forward = request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        if (req.url !== '/v2') {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const meta = JSON.parse(Buffer.concat(chunks).toString()) as { extensions: string[] };
          meta.extensions = meta.extensions.filter((e) => e !== 'routing');
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(meta));
        });
      },
    );
    req.pipe(forward);
  });
  await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, server: proxy };
}

describe('a server without routing (Triton)', () => {
  it('replace sets version_policy to the new version only, loads it and verifies it; rollback reloads the old one', async () => {
    const plain = await withoutRouting(server.url);
    const repository = join(dir, 'served');
    const log = memoryLogger();
    const base: DeployOptions = {
      modelName: 'iris',
      environment: 'production',
      target: `file://${repository}`,
      server: plain.url,
      adminToken: ADMIN_TOKEN,
      smokeFixtures: IRIS_ROWS,
      smokeRows: 4,
    };
    await deploy({ ...base, model: IRIS_V1, version: '1.0.0' }, log);
    const traffic = trafficLoop(plain.url);
    try {
      const second = await deploy({ ...base, model: IRIS_V2, version: '1.1.0' }, log);
      expect(second.status).toBe('deployed');
      expect(log.lines).toContain(
        `info: Server ${plain.url}: no routing extension (Triton): a deploy replaces the version.`,
      );
      expect(await readFile(join(repository, 'iris', 'config.pbtxt'), 'utf8')).toContain(
        'version_policy: { specific: { versions: [2] } }',
      );
      expect((await infer(plain.url)).body.model_version).toBe('2');
      await expect(
        deploy({ ...base, model: IRIS_REGRESSED, version: '1.2.0', strategy: 'canary' }, log),
      ).rejects.toMatchObject({ code: 'CANARY_UNSUPPORTED' });

      const back = await rollback({ ...base, reason: 'drill' }, log);
      expect(back.status).toBe('rolled-back');
      expect((await infer(plain.url)).body.model_version).toBe('1');
      expect(await readFile(join(repository, 'iris', 'config.pbtxt'), 'utf8')).toContain(
        'version_policy: { specific: { versions: [1] } }',
      );
    } finally {
      await traffic.stop();
      await new Promise((done) => plain.server.close(done));
    }
    expect(traffic.failures).toEqual([]);
    // No routing.json: nothing pinned the routing on a server without the extension.
    expect((await readdir(join(repository, 'iris'))).sort()).toEqual(['1', '2', 'config.pbtxt']);
  });
});

describe('kserve:// target', () => {
  it('renders an InferenceService for the version, a canary share with the canary strategy', async () => {
    const result = await deploy(
      {
        model: IRIS_V2,
        modelName: 'iris',
        version: '1.1.0',
        environment: 'production',
        target: 'kserve://models/iris',
        strategy: 'canary',
        canaryWeight: 20,
        storageUri: 's3://bucket/{model}/{version}',
        cwd: dir,
      },
      memoryLogger(),
    );
    expect(result.status).toBe('rendered');
    expect(result.manifest?.path).toBe(join(dir, 'iris-inferenceservice.yaml'));
    const manifest = parse(await readFile(result.manifest!.path, 'utf8'));
    expect(manifest.spec.predictor).toMatchObject({
      canaryTrafficPercent: 20,
      model: { modelFormat: { name: 'onnx' }, protocolVersion: 'v2', storageUri: 's3://bucket/iris/1.1.0' },
    });
    expect(manifest.metadata).toMatchObject({ name: 'iris', namespace: 'models' });
  });
});
