/**
 * Serving throughput: `modelship serve` (the built CLI, dynamic batching on) against a minimal baseline
 * server (bench/serve-baseline.ts: node:http, one onnxruntime-node session, JSON, no batching), both in
 * child processes, the same closed-loop client, concurrency 1, 8 and 64, for iris-v1 and a 784-input MLP,
 * JSON and binary requests. A last pair of cases sets binary against JSON on modelship alone.
 * Latency percentiles of each case are logged after it.
 *
 * Where `taskset` is there and the process may use two CPUs or more, the client runs on the first and
 * both servers on the rest. Otherwise the scheduler decides, for seconds at a time, whether a server shares
 * the client's CPU; at concurrency 1 that placement moved a server's rate by a third either way, more than
 * any difference between the servers.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineCase, type BenchContext } from '../harness.js';
import { closeAgents, percentile, runLoad, type LoadTarget } from '../http-load.js';
import { writeMlpModel } from '../../scripts/fixtures/mlp.js';
import { inputData } from '../ort-throughput.js';
import { allowedCpus } from '../../src/runtime/cpu.js';

interface ServedModel {
  label: string;
  /** Model name in the repository. */
  name: string;
  file: string;
  input: string;
  width: number;
  maxBatchSize: number;
}

interface Servers {
  project: { url: string; child: ChildProcess };
  baseline: { url: string; child: ChildProcess };
}

const THREADS = '1';

interface CpuPlan {
  client: string;
  servers: string;
  /** The affinity the process had, restored after the serving cases. */
  all: string;
}

/** The client on the first CPU this process may use, servers on the others; undefined when that cannot be. */
function cpuPlan(): CpuPlan | undefined {
  const cpus = allowedCpus() ?? [];
  if (cpus.length < 2 || spawnSync('taskset', ['-V']).status !== 0) return undefined;
  return { client: String(cpus[0]), servers: cpus.slice(1).join(','), all: cpus.join(',') };
}

/** Sets the CPUs of every thread of this process (the load client). */
function pinSelf(cpus: string): void {
  spawnSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
}

function startChild(args: string[], cwd: string, cpus?: string): Promise<{ url: string; child: ChildProcess }> {
  const child = cpus
    ? spawn('taskset', ['-c', cpus, process.execPath, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} printed no URL: ${stderr}`)), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^(http:\/\/\S+)$/m.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve({ url: match[1], child });
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code}: ${stderr}`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function startServers(ctx: BenchContext, model: ServedModel, cpus: CpuPlan | undefined): Promise<Servers> {
  const repo = join(ctx.tmpDir, `serve-${model.label}`);
  await mkdir(join(repo, model.name, '1'), { recursive: true });
  await copyFile(model.file, join(repo, model.name, '1', 'model.onnx'));
  await writeFile(
    join(repo, model.name, 'config.pbtxt'),
    [
      `name: "${model.name}"`,
      'platform: "onnxruntime_onnx"',
      `max_batch_size: ${model.maxBatchSize}`,
      'dynamic_batching { max_queue_delay_microseconds: 100 }',
    ].join('\n') + '\n',
  );
  const cli = join(ctx.repoRoot, 'dist', 'cli.js');
  const project = await startChild(
    [cli, 'serve', '--repository', repo, '--port', '0', '--intra-op-threads', THREADS],
    ctx.repoRoot,
    cpus?.servers,
  );
  const baseline = await startChild(
    ['--import', 'tsx', join(ctx.repoRoot, 'bench', 'serve-baseline.ts'), model.file, model.name, THREADS],
    ctx.repoRoot,
    cpus?.servers,
  ).catch(async (error: unknown) => {
    await stopChild(project.child);
    throw error;
  });
  // Both sides warm up (JIT, connections, onnxruntime arenas) before the harness's own warm-up sample.
  const warmMs = ctx.quick ? 100 : 1500;
  for (const concurrency of [1, 16]) {
    await runLoad(targets(model, project.url, false), concurrency, warmMs);
    await runLoad(targets(model, project.url, true), concurrency, warmMs);
    await runLoad(targets(model, baseline.url, false), concurrency, warmMs);
  }
  return { project, baseline };
}

function targets(model: ServedModel, url: string, binary: boolean): LoadTarget {
  const data = inputData(model.width);
  const path = `/v2/models/${model.name}/infer`;
  if (!binary) {
    const body = { inputs: [{ name: model.input, shape: [1, model.width], datatype: 'FP32', data: Array.from(data) }] };
    return { url, path, body: Buffer.from(JSON.stringify(body)), headers: { 'content-type': 'application/json' } };
  }
  const raw = Buffer.from(data.buffer);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        { name: model.input, shape: [1, model.width], datatype: 'FP32', parameters: { binary_data_size: raw.length } },
      ],
      parameters: { binary_data_output: true },
    }),
  );
  return {
    url,
    path,
    body: Buffer.concat([header, raw]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
  };
}

export async function cases(ctx: BenchContext) {
  const iris = join(ctx.repoRoot, 'fixtures', 'models', 'iris-v1', 'model.onnx');
  const mlpShape = ctx.quick
    ? { inputSize: 784, hiddenSizes: [64], outputSize: 10 }
    : { inputSize: 784, hiddenSizes: [256, 128], outputSize: 10 };
  const mlpLabel = `mlp-${[mlpShape.inputSize, ...mlpShape.hiddenSizes, mlpShape.outputSize].join('-')}`;
  const mlpFile = join(ctx.tmpDir, `${mlpLabel}.onnx`);
  await writeMlpModel(mlpFile, mlpShape);
  const models: ServedModel[] = [
    { label: 'iris-v1', name: 'iris', file: iris, input: 'features', width: 4, maxBatchSize: 64 },
    {
      label: mlpLabel,
      name: 'mlp',
      file: mlpFile,
      input: 'input',
      width: 784,
      maxBatchSize: 64,
    },
  ];
  const cli = join(ctx.repoRoot, 'dist', 'cli.js');
  const concurrencies = ctx.quick ? [1, 8] : [1, 8, 64];
  const sampleMs = ctx.quick ? 100 : 400;
  let cpus: CpuPlan | undefined;
  let planned = false;

  // Servers are shared by the cases of one model: started by the first, stopped by the last.
  const running = new Map<string, Promise<Servers>>();
  const serversFor = (model: ServedModel) => {
    let servers = running.get(model.label);
    if (!servers) {
      if (!planned) {
        planned = true;
        cpus = cpuPlan();
        ctx.log(
          cpus
            ? `serve: load client on CPU ${cpus.client}, both servers on CPU ${cpus.servers} (taskset)`
            : 'serve: client and servers placed by the scheduler (no taskset, or one CPU)',
        );
      }
      if (cpus) pinSelf(cpus.client);
      servers = startServers(ctx, model, cpus);
      running.set(model.label, servers);
    }
    return servers;
  };
  const stopServers = async (model: ServedModel) => {
    const servers = await running.get(model.label)?.catch(() => undefined);
    running.delete(model.label);
    if (cpus) pinSelf(cpus.all);
    if (!servers) return;
    closeAgents(servers.project.url);
    closeAgents(servers.baseline.url);
    await Promise.all([stopChild(servers.project.child), stopChild(servers.baseline.child)]);
  };

  const measure = async (target: LoadTarget, concurrency: number, latencies: number[]) => {
    const result = await runLoad(target, concurrency, sampleMs);
    if (result.errors > 0)
      throw new Error(`${result.errors} of ${result.requests} requests failed: ${result.firstError}`);
    latencies.push(...result.latenciesMs);
    return result.requestsPerSecond;
  };
  const logLatency = (name: string, project: number[], baseline: number[], baselineName: string) => {
    const ms = (v: number) => `${v.toFixed(2)} ms`;
    ctx.log(
      `${name}: p50 ${ms(percentile(project, 50))}, p99 ${ms(percentile(project, 99))} ` +
        `(${baselineName}: p50 ${ms(percentile(baseline, 50))}, p99 ${ms(percentile(baseline, 99))})`,
    );
  };

  const all = [];
  for (const model of models) {
    const missing = !existsSync(model.file)
      ? `${model.file} is missing (npm run fixtures)`
      : !existsSync(cli)
        ? `${cli} is missing (npm run build)`
        : undefined;
    const variants = ctx.quick ? ['json'] : ['json', 'binary'];
    const isMlp = model.label === mlpLabel;
    for (const encoding of variants) {
      for (const concurrency of concurrencies) {
        const name = `serve/${model.label}/${encoding}/c${concurrency}`;
        const project: number[] = [];
        const baseline: number[] = [];
        const target = concurrency === 1 ? 1.0 : isMlp && concurrency === 64 ? 1.5 : undefined;
        all.push(
          defineCase<Servers>({
            name,
            unit: 'req/s',
            better: 'higher',
            target,
            baselineLabel: 'node:http + one onnxruntime-node session, JSON, no batching',
            skip: missing,
            setup: () => serversFor(model),
            project: (s) => measure(targets(model, s.project.url, encoding === 'binary'), concurrency, project),
            baseline: (s) => measure(targets(model, s.baseline.url, false), concurrency, baseline),
            teardown: async () => logLatency(name, project, baseline, 'baseline'),
          }),
        );
      }
    }
    if (isMlp && !ctx.quick) {
      for (const concurrency of [8, 64]) {
        const name = `serve/${model.label}/binary-vs-json/c${concurrency}`;
        const binary: number[] = [];
        const json: number[] = [];
        all.push(
          defineCase<Servers>({
            name,
            unit: 'req/s',
            better: 'higher',
            target: 2,
            baselineLabel: 'modelship serve, same model, JSON request and response',
            skip: missing,
            setup: () => serversFor(model),
            project: (s) => measure(targets(model, s.project.url, true), concurrency, binary),
            baseline: (s) => measure(targets(model, s.project.url, false), concurrency, json),
            teardown: async () => logLatency(name, binary, json, 'JSON'),
          }),
        );
      }
    }
    // The last case of a model stops its servers.
    const last = all[all.length - 1] as unknown as { teardown?: (s: Servers) => Promise<void> };
    const own = last.teardown;
    last.teardown = async (s) => {
      await own?.(s);
      await stopServers(model);
    };
  }
  return all;
}
