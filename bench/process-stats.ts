/**
 * Timing and peak memory of a child process. Peak RSS is read by the child itself at exit (a preloaded
 * module, rss-reporter.mjs, writes it to a file), since Node cannot read a finished child's rusage.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const reporter = fileURLToPath(new URL('./rss-reporter.mjs', import.meta.url));

export interface ProcessRun {
  wallMs: number;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Set when `measureRss` was asked for. */
  maxRssBytes?: number;
}

export interface ProcessOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Preloads the RSS reporter (adds a little start-up time: time and memory runs are kept apart). */
  measureRss?: boolean;
  /** Node flags placed before the script, e.g. `['--import', 'tsx']`. */
  nodeArgs?: string[];
}

/** Runs `node <nodeArgs> <args>` and times it from spawn to exit. */
export async function runNode(args: string[], options: ProcessOptions = {}): Promise<ProcessRun> {
  const rssFile = options.measureRss ? join(tmpdir(), `modelship-rss-${randomUUID()}.json`) : undefined;
  const nodeArgs = [...(options.nodeArgs ?? []), ...(rssFile ? ['--import', reporter] : [])];
  const env = { ...(options.env ?? process.env), ...(rssFile ? { MODELSHIP_BENCH_RSS_FILE: rssFile } : {}) };
  const started = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, ...args], {
    env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => stdout.push(c));
  child.stderr.on('data', (c: Buffer) => stderr.push(c));
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  const wallMs = performance.now() - started;
  const run: ProcessRun = {
    wallMs,
    exitCode,
    stdout: Buffer.concat(stdout).toString('utf8'),
    stderr: Buffer.concat(stderr).toString('utf8'),
  };
  if (rssFile) {
    const report = JSON.parse(await readFile(rssFile, 'utf8')) as { maxRSS: number };
    run.maxRssBytes = report.maxRSS * 1024;
    await rm(rssFile, { force: true });
  }
  return run;
}
