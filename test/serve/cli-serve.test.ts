/**
 * `modelship serve` as users run it: the built CLI in a child process. SIGTERM stops accepting, answers
 * the request in flight and exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, repoRoot } from '../support/build.js';
import { addModel } from '../support/onnx-models.js';
import {
  addConfig,
  ADMIN_TOKEN,
  get,
  inferBody,
  post,
  removeRepository,
  slowRequest,
  tempRepository,
} from './serve-support.js';

let repo: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  ensureBuilt();
  repo = await tempRepository({ m: { config: addConfig('m'), versions: { 1: addModel({ constant: 1 }) } } });
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await removeRepository(repo);
});

interface Cli {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<number | null>;
}

function runCli(args: string[]): Cli {
  const child = spawn(process.execPath, [join(repoRoot, 'dist', 'cli.js'), ...args], {
    env: { ...process.env, MODELSHIP_ADMIN_TOKEN: ADMIN_TOKEN, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stdout!.on('data', (c: Buffer) => stdout.push(c.toString()));
  child.stderr!.on('data', (c: Buffer) => stderr.push(c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout, stderr, exited };
}

async function urlOf(cli: Cli): Promise<string> {
  for (let i = 0; i < 400; i++) {
    const match = /^(http:\/\/\S+)$/m.exec(cli.stdout.join(''));
    if (match) return match[1];
    if (cli.child.exitCode !== null) throw new Error(`serve exited: ${cli.stderr.join('')}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`serve printed no URL: ${cli.stderr.join('')}`);
}

describe('modelship serve', () => {
  it('prints the URL, serves, and on SIGTERM finishes the request in flight and exits 0', async () => {
    const cli = runCli(['serve', '--repository', repo, '--port', '0']);
    const url = await urlOf(cli);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await post(url, '/v2/models/m/infer', inferBody([[1, 2, 3]]))).json.outputs[0].data).toEqual([2, 3, 4]);

    const pending = await slowRequest(url, '/v2/models/m/infer', JSON.stringify(inferBody([[5, 5, 5]])));
    cli.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    expect(cli.child.exitCode).toBeNull();
    // No longer accepting connections.
    await expect(fetch(`${url}/v2/health/live`)).rejects.toThrow();

    const reply = await pending.finish();
    expect(reply.status).toBe(200);
    expect(reply.json.outputs[0].data).toEqual([6, 6, 6]);
    expect(await cli.exited).toBe(0);
    expect(cli.stderr.join('')).toContain('SIGTERM');
  });

  it('loads only the models named with --load-model', async () => {
    const { writeModelFolder } = await import('./serve-support.js');
    await writeModelFolder(repo, 'other', { versions: { 1: addModel({ constant: 2 }) } });
    const cli = runCli(['serve', '--repository', repo, '--port', '0', '--load-model', 'other']);
    const url = await urlOf(cli);
    expect((await get(url, '/v2/models/other/ready')).status).toBe(200);
    expect((await get(url, '/v2/models/m/ready')).status).toBe(404);
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
  });

  it('fails with a clear message for bad options', async () => {
    const missing = runCli(['serve']);
    expect(await missing.exited).toBe(1);
    expect(missing.stderr.join('')).toContain('--repository is required');
    const unknown = runCli(['serve', '--repository', repo, '--load-model', 'ghost', '--port', '0']);
    expect(await unknown.exited).toBe(1);
    expect(unknown.stderr.join('')).toContain("has no model 'ghost'");
    const noRepo = runCli(['serve', '--repository', join(repo, 'nope'), '--port', '0']);
    expect(await noRepo.exited).toBe(1);
    expect(noRepo.stderr.join('')).toContain('Cannot read the model repository');
    const help = runCli(['serve', '--help']);
    expect(await help.exited).toBe(0);
    expect(help.stdout.join('')).toContain('--model-control');
  });
});
