/** `modelship validate` from the built CLI: terminal output, --json, exit codes. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { ValidateReport } from '../../src/validate/report.js';
import { repoRoot } from '../support/build.js';

const cli = path.join(repoRoot, 'dist', 'cli.js');
const models = path.join(repoRoot, 'fixtures', 'models');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'modelship-cli-validate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function modelship(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args], {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: '1' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

test('a good model: a table of checks, PASSED, exit 0, the report where asked', async () => {
  const report = path.join(dir, 'good.json');
  const { code, stdout } = await modelship(
    'validate',
    path.join(models, 'iris-v1'),
    '--report',
    report,
    '--max-size',
    '1.5 KiB',
  );
  expect(code).toBe(0);
  expect(stdout).toMatch(/✓ runtime\.load\s+Loaded by onnxruntime/);
  expect(stdout).toMatch(/✓ file\.size\s+985 B, within max-size 1\.5 KiB\./);
  expect(stdout).toContain(
    'signature: inputs features FP32 [batch, 4]; outputs label INT64 [batch], probabilities FP32 [batch, 3]',
  );
  expect(stdout).toMatch(/^PASSED: 19 passed, 0 warnings, 0 failed, 2 skipped$/m);
  expect(stdout).toContain(`report: ${report}`);
  expect((JSON.parse(await readFile(report, 'utf8')) as ValidateReport).passed).toBe(true);
});

test('--json prints the report and nothing else on stdout; a broken model exits 1', async () => {
  const { code, stdout } = await modelship(
    'validate',
    path.join(models, 'bad', 'unsorted-nodes.onnx'),
    '--json',
    '--report',
    path.join(dir, 'bad.json'),
  );
  expect(code).toBe(1);
  const report = JSON.parse(stdout) as ValidateReport;
  expect(report.passed).toBe(false);
  expect(report.checks.find((c) => c.id === 'structure.topological-order')?.status).toBe('fail');
});

test('a failure reads as one line per check, skipped checks folded', async () => {
  const { code, stdout } = await modelship(
    'validate',
    path.join(models, 'bad', 'random-bytes.onnx'),
    '--report',
    path.join(dir, 'r.json'),
  );
  expect(code).toBe(1);
  expect(stdout).toMatch(/✗ structure\.decode\s+.*random-bytes\.onnx does not decode as an ONNX model/);
  expect(stdout).toMatch(/– 16 checks\s+Skipped: structure\.decode failed\./);
  expect(stdout).toMatch(/^FAILED: 3 passed, 0 warnings, 1 failed, 17 skipped$/m);
});

test('usage mistakes are one line on stderr and exit 1; --help exits 0', async () => {
  const unknown = await modelship('validate', 'x.onnx', '--max-sise', '1MB');
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain("Unknown option '--max-sise'");
  expect(unknown.stderr).toContain('[CLI_USAGE]');

  const size = await modelship('validate', path.join(models, 'iris-v1'), '--max-size', 'huge');
  expect(size.code).toBe(1);
  expect(size.stderr).toContain("modelship: max-size 'huge' is not a size. Write a number of bytes");

  const help = await modelship('validate', '--help');
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('Usage: modelship validate [<model>] [options]');
});
