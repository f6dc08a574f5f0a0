/**
 * Provisioning for real, without the internet: the real onnxruntime tarballs (from `npm pack`, i.e. npm's
 * cache or registry) served by a registry-like HTTP server on 127.0.0.1, installed into temporary tool
 * caches, and loaded by a bundled probe in a folder where ordinary module resolution finds nothing.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/log.js';
import { ONNXRUNTIME_PIN } from '../../src/runtime/onnxruntime-pin.js';
import { provisionOnnxRuntime, provisionedDir, tarballUrl } from '../../src/runtime/provision.js';
import { encodeModel } from '../../src/onnx/encode.js';
import { addModel } from '../support/onnx-models.js';

const run = promisify(execFile);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { node, common } = ONNXRUNTIME_PIN;
const ours = `${process.platform}-${process.arch}`;

const work = await mkdtemp(path.join(os.tmpdir(), 'modelship-provision-'));
const packed = await run(
  'npm',
  ['pack', `${node.name}@${node.version}`, `${common.name}@${common.version}`, '--pack-destination', work, '--json'],
  { cwd: work, maxBuffer: 64 * 1024 * 1024, shell: process.platform === 'win32' },
).then(
  () => undefined,
  (error: Error) => error.message.split('\n')[0],
);
if (packed)
  console.warn(`Skipping provisioning tests: 'npm pack' could not fetch the onnxruntime tarballs (${packed}).`);

/** A registry that serves the two tarballs at npm's paths, counts requests, and can corrupt one byte. */
class TarballRegistry {
  requests = 0;
  tamper = false;
  private server?: Server;
  private files = new Map<string, Buffer>();

  async start(): Promise<string> {
    for (const pkg of [node, common]) {
      const bytes = await readFile(path.join(work, `${pkg.name}-${pkg.version}.tgz`));
      this.files.set(new URL(tarballUrl('http://registry.test/', pkg)).pathname, bytes);
    }
    this.server = createServer((request, response) => {
      this.requests++;
      const file = this.files.get(request.url ?? '');
      if (!file) return void response.writeHead(404).end('not found');
      let body = file;
      if (this.tamper && request.url?.includes(node.name)) {
        body = Buffer.from(file);
        body[body.length >> 1] ^= 0xff;
      }
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      response.end(body);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

interface ProbeResult {
  source?: string;
  dir?: string;
  sum?: number[];
  code?: string;
  message?: string;
  hint?: string;
}

describe.skipIf(packed !== undefined)('onnxruntime provisioning', () => {
  const registry = new TarballRegistry();
  let registryUrl: string;
  let probe: string;
  let model: string;

  beforeAll(async () => {
    registryUrl = await registry.start();
    // The probe lives outside the repository, so `import 'onnxruntime-node'` from it resolves to nothing.
    const probeDir = await mkdtemp(path.join(os.tmpdir(), 'modelship-probe-'));
    probe = path.join(probeDir, 'probe.mjs');
    await build({
      entryPoints: [path.join(repo, 'test/runtime/ort-probe.ts')],
      outfile: probe,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: ['onnxruntime-node'],
      logLevel: 'warning',
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
    model = path.join(probeDir, 'add.onnx');
    await writeFile(model, encodeModel(addModel({ constant: 0.5 })));
  });

  afterAll(async () => {
    await registry.stop();
    await rm(work, { recursive: true, force: true });
    if (probe) await rm(path.dirname(probe), { recursive: true, force: true });
  });

  async function runProbe(env: Record<string, string | undefined>): Promise<ProbeResult & { stderr: string }> {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, MODELSHIP_ONNXRUNTIME_PATH: undefined, NODE_PATH: undefined };
    delete childEnv.npm_config_registry;
    Object.assign(childEnv, env);
    for (const key of Object.keys(childEnv)) if (childEnv[key] === undefined) delete childEnv[key];
    const result = await run(process.execPath, [probe, model], { env: childEnv, cwd: path.dirname(probe) }).catch(
      (error: { stdout: string; stderr: string }) => error,
    );
    const line = result.stdout.trim().split('\n').pop() ?? '';
    let parsed: ProbeResult;
    try {
      parsed = JSON.parse(line) as ProbeResult;
    } catch {
      throw new Error(`the probe printed no result:\n${result.stdout}\n${result.stderr}`);
    }
    return { ...parsed, stderr: result.stderr };
  }

  async function cacheDir(): Promise<string> {
    return mkdtemp(path.join(work, 'toolcache-'));
  }

  it('provisions on first use where nothing else has onnxruntime-node, then reuses the tool cache', async () => {
    const toolCache = await cacheDir();
    const before = registry.requests;
    const first = await runProbe({ RUNNER_TOOL_CACHE: toolCache, MODELSHIP_NPM_REGISTRY: registryUrl });
    expect(first.code, first.message).toBeUndefined();
    expect(first.source).toBe('provisioned');
    expect(first.sum).toEqual([1.5, 2.5, 3.5]);
    expect(first.dir).toBe(path.join(provisionedDir(toolCache), 'node_modules', node.name));
    expect(registry.requests - before).toBe(2);
    expect(first.stderr).toMatch(new RegExp(`Downloading ${node.name} ${node.version} \\(\\d+\\.\\d MB\\)`));
    expect(first.stderr).toContain(`Verified ${node.name} ${node.version}`);
    expect(first.stderr).toMatch(/Extracted onnxruntime-node .* \(\d+\.\d MB\)/);

    const second = await runProbe({ RUNNER_TOOL_CACHE: toolCache, MODELSHIP_NPM_REGISTRY: registryUrl });
    expect(second.source).toBe('tool-cache');
    expect(second.sum).toEqual([1.5, 2.5, 3.5]);
    expect(registry.requests - before).toBe(2);
    expect(second.stderr).not.toContain('Downloading');

    // The tree holds the two packages only, with this platform's binaries and no staging leftovers.
    const tree = provisionedDir(toolCache);
    expect(await readdir(path.dirname(tree))).toEqual([ours]);
    expect((await readdir(path.join(tree, 'node_modules'))).sort()).toEqual([common.name, node.name].sort());
    const installed = JSON.parse(await readFile(path.join(tree, 'node_modules', node.name, 'package.json'), 'utf8'));
    expect(installed.version).toBe(node.version);
    const binaries = path.join(tree, 'node_modules', node.name, 'bin', 'napi-v6');
    expect(await readdir(binaries)).toEqual([process.platform]);
    expect(await readdir(path.join(binaries, process.platform))).toEqual([process.arch]);

    // An explicit MODELSHIP_ONNXRUNTIME_PATH wins over everything else.
    const explicit = await runProbe({ MODELSHIP_ONNXRUNTIME_PATH: tree, RUNNER_TOOL_CACHE: await cacheDir() });
    expect(explicit.source).toBe('env');
    expect(explicit.sum).toEqual([1.5, 2.5, 3.5]);
    expect(registry.requests - before).toBe(2);
  });

  it('BAD CALL - refuses a tampered tarball with ONNXRUNTIME_UNAVAILABLE and leaves nothing behind', async () => {
    const toolCache = await cacheDir();
    registry.tamper = true;
    try {
      const result = await runProbe({ RUNNER_TOOL_CACHE: toolCache, MODELSHIP_NPM_REGISTRY: registryUrl });
      expect(result.code).toBe('ONNXRUNTIME_UNAVAILABLE');
      expect(result.message).toContain('failed its integrity check');
      expect(result.message).toContain('(1) MODELSHIP_ONNXRUNTIME_PATH (not set)');
      expect(result.message).toMatch(/\(2\) node_modules next to .*Cannot find module 'onnxruntime-node'/);
      expect(result.message).toContain(`(3) the tool cache ${toolCache} (not provisioned yet)`);
      expect(result.message).toContain(`(4) downloading ${node.name} ${node.version} from ${registryUrl}`);
      expect(result.hint).toContain('MODELSHIP_ONNXRUNTIME_PATH');
      expect(await readdir(toolCache)).toEqual([]);
    } finally {
      registry.tamper = false;
    }
  });

  it('BAD CALL - an unreachable registry or a broken MODELSHIP_ONNXRUNTIME_PATH is ONNXRUNTIME_UNAVAILABLE', async () => {
    const unreachable = await runProbe({
      RUNNER_TOOL_CACHE: await cacheDir(),
      MODELSHIP_NPM_REGISTRY: 'http://127.0.0.1:1/',
    });
    expect(unreachable.code).toBe('ONNXRUNTIME_UNAVAILABLE');
    expect(unreachable.message).toMatch(
      /GET http:\/\/127\.0\.0\.1:1\/onnxruntime-common\/-\/onnxruntime-common-.*\.tgz failed/,
    );

    const broken = path.join(work, 'no-such-folder');
    const explicit = await runProbe({ MODELSHIP_ONNXRUNTIME_PATH: broken, MODELSHIP_NPM_REGISTRY: registryUrl });
    expect(explicit.code).toBe('ONNXRUNTIME_UNAVAILABLE');
    expect(explicit.message).toContain(`MODELSHIP_ONNXRUNTIME_PATH is ${broken}`);
  });

  it('lets concurrent provisioners race: both get the one complete tree', async () => {
    const toolCache = await cacheDir();
    const log = memoryLogger();
    const before = registry.requests;
    const [a, b] = await Promise.all([
      provisionOnnxRuntime({ toolCache, registry: registryUrl, log }),
      provisionOnnxRuntime({ toolCache, registry: registryUrl, log }),
    ]);
    expect(a).toBe(provisionedDir(toolCache));
    expect(b).toBe(a);
    expect(registry.requests - before).toBe(4);
    expect(await readdir(path.dirname(a))).toEqual([ours]);
    expect((await stat(path.join(a, 'node_modules', node.name, 'dist', 'index.js'))).isFile()).toBe(true);
    expect(log.lines.filter((line) => line.startsWith('info: Installed')).length).toBe(1);
    expect(log.lines.filter((line) => line.includes('Another process installed')).length).toBe(1);

    // A third call finds it and downloads nothing.
    expect(await provisionOnnxRuntime({ toolCache, registry: registryUrl })).toBe(a);
    expect(registry.requests - before).toBe(4);
  });

  it('BAD CALL - a platform the pinned version has no binary for fails before downloading', async () => {
    const before = registry.requests;
    await expect(
      provisionOnnxRuntime({ toolCache: await cacheDir(), registry: registryUrl, platform: 'freebsd', arch: 'x64' }),
    ).rejects.toThrow(/ships no native binary for freebsd-x64/);
    expect(registry.requests).toBe(before);
  });
});

describe('onnxruntime provisioning housekeeping', () => {
  it('removes staging folders abandoned by killed provisioners, not those of live ones', async () => {
    const toolCache = await mkdtemp(path.join(os.tmpdir(), 'modelship-toolcache-'));
    try {
      const versionDir = path.dirname(provisionedDir(toolCache));
      const abandoned = path.join(versionDir, '.staging-1-aaaaaaaaaaaa');
      const live = path.join(versionDir, '.staging-2-bbbbbbbbbbbb');
      await mkdir(path.join(abandoned, 'downloads'), { recursive: true });
      await mkdir(path.join(live, 'downloads'), { recursive: true });
      const dayAgo = new Date(Date.now() - 24 * 3600_000);
      await utimes(abandoned, dayAgo, dayAgo);
      await expect(provisionOnnxRuntime({ toolCache, registry: 'http://127.0.0.1:1/' })).rejects.toThrow(/failed/);
      expect(await readdir(versionDir)).toEqual([path.basename(live)]);
    } finally {
      await rm(toolCache, { recursive: true, force: true });
    }
  });
});
