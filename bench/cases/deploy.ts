/**
 * Deploy and rollback against a `modelship serve` process.
 *
 * - deploy/rollback/iris: a rollback end to end for a version still on disk — ledger, digest check of its
 *   files, load beside the current one, ready, smoke by the versioned URL, routing switch, smoke by the model
 *   URL, ledger entry — against the bare protocol calls of an unverified switch (load, ready, PUT routing) on
 *   the same server. Target: under 2 s; printed with the case.
 * - deploy/push/<size>: a deploy over HTTP (the model pushed in the load request: digest, copy kept in the
 *   state folder, push, load, ready, smoke, switch) against a plain copy of the same file on the same disk.
 *   About 200 MB; a small model with --quick.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { OipClient } from '../../src/deploy/oip-client.js';
import { silentLogger } from '../../src/log.js';
import { deploy } from '../../src/steps/deploy.js';
import { rollback, type RollbackOptions } from '../../src/steps/rollback.js';
import { mlpHiddenSizesForBytes, writeMlpModel } from '../../scripts/fixtures/mlp.js';
import { defineCase, type BenchContext } from '../harness.js';

const TOKEN = 'bench-admin-token';
const ROLLBACK_TARGET_MS = 2000;

interface Server {
  url: string;
  process: ChildProcess;
  repository: string;
}

async function startServeProcess(ctx: BenchContext, name: string): Promise<Server> {
  const repository = join(ctx.tmpDir, name, 'repository');
  await mkdir(repository, { recursive: true });
  const child = spawn(
    process.execPath,
    [join(ctx.repoRoot, 'dist', 'cli.js'), 'serve', '--repository', repository, '--port', '0'],
    { env: { ...process.env, MODELSHIP_ADMIN_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /http:\/\/[^\s]+/.exec(out);
      if (match) resolve(match[0].replace(/\/+$/, ''));
    });
    child.on('exit', (code) => reject(new Error(`modelship serve exited with ${code} before listening`)));
  });
  return { url, process: child, repository };
}

async function stopServeProcess(server: Server): Promise<void> {
  const exited = new Promise((resolve) => server.process.once('exit', resolve));
  server.process.kill('SIGTERM');
  await exited;
}

/** A copy of `source` with one unknown protobuf field appended: the same model, a new digest. */
async function variantOf(source: string, target: string, n: number): Promise<void> {
  await copyFile(source, target);
  const payload = Buffer.from(`variant-${n}`);
  // Field 1000, wire type 2 (length-delimited): key varint 0xC2 0x3E. Readers skip unknown fields.
  const field = Buffer.concat([Buffer.from([0xc2, 0x3e, payload.length]), payload]);
  const handle = await open(target, 'a');
  try {
    await handle.write(field);
  } finally {
    await handle.close();
  }
}

export async function cases(ctx: BenchContext) {
  const iris1 = join(ctx.repoRoot, 'fixtures', 'models', 'iris-v1', 'model.onnx');
  const iris2 = join(ctx.repoRoot, 'fixtures', 'models', 'iris-v2', 'model.onnx');
  const rows = join(ctx.repoRoot, 'fixtures', 'data', 'iris', 'heldout.jsonl');

  const rollbackCase = defineCase<{
    server: Server;
    client: OipClient;
    state: string;
    common: Omit<RollbackOptions, 'reason'>;
    raw: { current: number };
  }>({
    name: 'deploy/rollback/iris',
    unit: 'ms',
    better: 'lower',
    target: 25,
    baselineLabel: 'an unverified switch by hand on the same server: load, wait ready, PUT routing',
    async setup() {
      const server = await startServeProcess(ctx, 'rollback');
      const state = join(ctx.tmpDir, 'rollback', 'state');
      const common = {
        modelName: 'iris',
        environment: 'production',
        target: `file://${server.repository}`,
        server: server.url,
        state,
        adminToken: TOKEN,
        smokeFixtures: rows,
      };
      await deploy({ ...common, model: iris1, version: '1.0.0' }, silentLogger);
      await deploy({ ...common, model: iris2, version: '1.1.0' }, silentLogger);
      // The baseline's own model, so its switches never disagree with the ledger of the project's.
      const client = new OipClient(server.url, { adminToken: TOKEN });
      for (const version of [1, 2]) {
        await mkdir(join(server.repository, 'iris-raw', String(version)), { recursive: true });
        await copyFile(
          version === 1 ? iris1 : iris2,
          join(server.repository, 'iris-raw', String(version), 'model.onnx'),
        );
      }
      await client.load('iris-raw', {
        config: JSON.stringify({
          name: 'iris-raw',
          platform: 'onnxruntime_onnx',
          version_policy: { specific: { versions: [1, 2] } },
        }),
      });
      await client.waitModelReady('iris-raw', 2);
      await client.setRouting('iris-raw', { stable: '2', canary: null });
      return { server, client, state, common, raw: { current: 2 } };
    },
    async project({ common }) {
      const result = await rollback({ ...common, reason: 'benchmark' }, silentLogger);
      if (result.status !== 'rolled-back')
        throw new Error(`rollback ended ${result.status}: ${result.failure?.message}`);
      const ms = result.timings.total;
      ctx.log(
        `rollback to ${result.plan.to.semver}: ${Math.round(ms)} ms (target < ${ROLLBACK_TARGET_MS} ms: ${ms < ROLLBACK_TARGET_MS ? 'PASS' : 'MISS'})`,
      );
      return ms;
    },
    async baseline({ client, raw }) {
      const to = raw.current === 2 ? 1 : 2;
      const started = performance.now();
      await client.load('iris-raw');
      await client.waitModelReady('iris-raw', to);
      await client.setRouting('iris-raw', { stable: String(to), canary: null });
      raw.current = to;
      return performance.now() - started;
    },
    async teardown({ server }) {
      await stopServeProcess(server);
    },
  });

  const targetBytes = ctx.quick ? 2_000_000 : 200_000_000;
  const sizeLabel = ctx.quick ? '2mb' : '200mb';
  const pushCase = defineCase<{ server: Server; base: string; state: string; n: number; digest?: string }>({
    name: `deploy/push/${sizeLabel}`,
    unit: 'ms',
    better: 'lower',
    target: 40,
    baselineLabel: 'a plain copy of the model file on the same disk (fs.copyFile)',
    async setup() {
      const server = await startServeProcess(ctx, 'push');
      const base = join(ctx.tmpDir, 'push', 'mlp.onnx');
      await writeMlpModel(base, { inputSize: 784, hiddenSizes: mlpHiddenSizesForBytes(targetBytes), outputSize: 10 });
      ctx.log(`push: model of ${((await stat(base)).size / 1e6).toFixed(1)} MB`);
      return { server, base, state: join(ctx.tmpDir, 'push', 'state'), n: 0 };
    },
    async project(s) {
      const model = join(ctx.tmpDir, 'push', `variant-${++s.n}.onnx`);
      await variantOf(s.base, model, s.n);
      const started = performance.now();
      const result = await deploy(
        {
          model,
          modelName: 'mlp',
          environment: 'bench',
          target: s.server.url,
          state: s.state,
          adminToken: TOKEN,
          keep: 2,
        },
        silentLogger,
      );
      const ms = performance.now() - started;
      if (result.status !== 'deployed') throw new Error(`deploy ended ${result.status}: ${result.failure?.message}`);
      ctx.log(
        `push deploy #${s.n}: ${Math.round(ms)} ms (${Object.entries(result.timings)
          .map(([k, v]) => `${k} ${Math.round(v)}`)
          .join(', ')})`,
      );
      await rm(model, { force: true });
      return ms;
    },
    async baseline(s) {
      const copy = join(ctx.tmpDir, 'push', 'copy.onnx');
      const started = performance.now();
      await copyFile(s.base, copy);
      const ms = performance.now() - started;
      await rm(copy, { force: true });
      return ms;
    },
    async teardown({ server }) {
      await stopServeProcess(server);
    },
  });

  return [rollbackCase, pushCase];
}
