/**
 * validate: stop every broken, unsafe or mismatched model artifact before it ships. File, structure,
 * external data, operators, runtime load and smoke run (isolated), signature, labels, digest; every check
 * named, with pass / warn / fail / skip and a message that says what to do.
 *
 * Memory and time: the structure is decoded from one buffer holding the file without its weights
 * (src/onnx/skeleton.ts), the digest streams the file through the hash, and onnxruntime loads the model from
 * its path in its own process, started (and loading) while the file is checked. This process never holds
 * the weights.
 */
import { mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { digestModel } from '../onnx/digest.js';
import { resolveModelPath } from '../onnx/read.js';
import { readModelSkeleton } from '../onnx/skeleton.js';
import { startIsolatedRuntime, type IsolatedRuntime, type WorkerEntry } from '../runtime/isolated.js';
import { BUNDLED_RUNTIME } from '../runtime/supported-versions.js';
import { CheckList, skippedBecause, verdict, type CheckResult } from '../validate/checks.js';
import { resolveExpectations, type ExpectationOptions, type Expectations } from '../validate/expectations.js';
import { writeReport, VALIDATE_REPORT_SCHEMA, type ValidateReport } from '../validate/report.js';
import { notHandedOver, runRuntimeChecks } from '../validate/runtime-checks.js';
import { compareSignatures } from '../validate/signature-match.js';
import { formatSize } from '../validate/size.js';
import { MODEL_CHECK_IDS, runStaticChecks, type StaticFacts } from '../validate/static-checks.js';

/** What to validate and what to expect of it (see ExpectationOptions), and how to run the checks. */
export interface ValidateOptions extends ExpectationOptions {
  /** Where the JSON report goes. Default: next to the model, `<model file>.validate.json`. */
  reportPath?: string;
  /** Deadline for each stage of the isolated runtime (load, smoke run, latency). Default 120 s. */
  runtimeTimeoutMs?: number;
  /** Skip runtime.load and the smoke run (they are then reported as skipped). */
  skipRuntime?: boolean;
  /** The isolated runtime's entry, for tests that need a different one. */
  runtimeWorker?: WorkerEntry;
}

export interface ValidateResult {
  passed: boolean;
  report: ValidateReport;
  /** Where the JSON report was written; undefined when there was no model file to write it next to. */
  reportPath?: string;
}

const DEFAULT_RUNTIME_TIMEOUT_MS = 120_000;
/** readFile and protobuf both stop at 2 GiB; bigger models keep their weights in external data. */
const MAX_MODEL_FILE_BYTES = 2 ** 31 - 1;

export async function validate(options: ValidateOptions, log: Logger): Promise<ValidateResult> {
  const expect = await resolveExpectations(options);
  const checks = new CheckList();
  const report: ValidateReport = {
    schema: VALIDATE_REPORT_SCHEMA,
    passed: false,
    model: expect.model,
    digest: null,
    irVersion: null,
    opset: null,
    signature: null,
    strict: expect.strict,
    checks: [],
  };

  const modelFile = await log.group('File', () => checkFile(expect, checks));
  // Node and onnxruntime start in their own process now, and start loading the model through a link in an
  // empty folder: no external data is reachable from there, so nothing unchecked is read. The checks below
  // decide whether that session is run, replaced by one from the model's own folder, or thrown away.
  let runtime: IsolatedRuntime | undefined;
  let preload: { dir: string; path: string } | undefined;
  if (modelFile && !options.skipRuntime) {
    runtime = startIsolatedRuntime({
      timeoutMs: options.runtimeTimeoutMs ?? DEFAULT_RUNTIME_TIMEOUT_MS,
      worker: options.runtimeWorker,
    });
    preload = await linkAlone(modelFile.path);
    if (preload) runtime.preload(preload.path);
  }
  try {
    if (modelFile) {
      const facts = await log.group('Structure', () => readAndCheck(modelFile.path, expect, checks));
      checkSize(modelFile.size, facts, expect, checks);
      if (facts) {
        report.irVersion = facts.irVersion;
        report.opset = facts.opset;
        report.signature = facts.signature;
        checkSignature(facts, expect, checks);
        checkLabels(facts, expect, checks);
      }
      // The digest streams from disk while the runtime works in its own process.
      const digest = digestWhenSafe(modelFile.path, facts, checks);
      if (facts && runtime) {
        const timeoutMs = options.runtimeTimeoutMs ?? DEFAULT_RUNTIME_TIMEOUT_MS;
        const plan = {
          modelPath: modelFile.path,
          preloadedPath: preload?.path,
          facts,
          fixtures: expect.fixtures,
          maxLatencyMs: expect.maxLatencyMs,
          maxLatencyLocation: expect.locations.maxLatencyMs,
          timeoutMs,
          runtime,
        };
        const found = await log.group('Runtime', () => runRuntimeChecks(plan, checks, log));
        if (found.latency) report.latency = found.latency;
        if (found.loadMs !== undefined) {
          report.runtime = { loadMs: found.loadMs };
          if (found.childMaxRssKb !== undefined) report.runtime.peakRssBytes = found.childMaxRssKb * 1024;
        }
      } else if (facts) {
        const reason = facts.blockedBy
          ? notHandedOver(facts.blockedBy)
          : 'Skipped: the runtime checks were turned off.';
        checks.skipRemaining(reason, ['runtime.load', 'smoke.run', 'smoke.latency']);
      }
      report.digest = await digest;
      checkDigest(report.digest, expect, checks);
    }
  } finally {
    runtime?.close();
    if (preload) await rm(preload.dir, { recursive: true, force: true });
  }

  report.checks = checks.list();
  report.passed = verdict(report.checks, expect.strict);
  for (const check of report.checks) logCheck(check, log);
  // Next to the model by default; with no model file there is no such place, and the verdict says why.
  const reportPath = options.reportPath ?? (modelFile ? `${modelFile.path}.validate.json` : undefined);
  if (reportPath) {
    await writeReport(reportPath, report);
    log.info(`Report: ${reportPath}`);
  }
  return { passed: report.passed, report, reportPath };
}

/** A symbolic link to the model, alone in a fresh folder; undefined where links cannot be made. */
async function linkAlone(modelFile: string): Promise<{ dir: string; path: string } | undefined> {
  let dir: string | undefined;
  try {
    dir = await mkdtemp(path.join(tmpdir(), 'modelship-load-'));
    const link = path.join(dir, path.basename(modelFile));
    await symlink(path.resolve(modelFile), link);
    return { dir, path: link };
  } catch {
    if (dir) await rm(dir, { recursive: true, force: true });
    return undefined;
  }
}

function logCheck(check: CheckResult, log: Logger): void {
  const line = `${check.id}: ${check.message}`;
  if (check.status === 'fail') log.error(line, check.location);
  else if (check.status === 'warn') log.warn(line, check.location);
  else log.debug(`${check.status} ${line}`);
}

async function checkFile(expect: Expectations, checks: CheckList): Promise<{ path: string; size: number } | undefined> {
  try {
    const file = await resolveModelPath(expect.model);
    const { size } = await stat(file);
    checks.pass('file.exists', `${file} (${formatSize(size)}).`);
    return { path: file, size };
  } catch (error) {
    checks.fail('file.exists', describeError(error));
    checks.skipRemaining(skippedBecause(checks.get('file.exists')!));
    return undefined;
  }
}

async function readAndCheck(file: string, expect: Expectations, checks: CheckList): Promise<StaticFacts | undefined> {
  const { size } = await stat(file);
  if (size > MAX_MODEL_FILE_BYTES) {
    checks.pass('file.lfs-pointer', 'The file is not a Git LFS pointer.');
    checks.fail(
      'structure.decode',
      `${file} is ${formatSize(size)}; an ONNX file cannot exceed 2 GB. Save the weights as external data ` +
        `(onnx.save_model(..., save_as_external_data=True)) and pass the model folder.`,
    );
    checks.skipRemaining(skippedBecause(checks.get('structure.decode')!), MODEL_CHECK_IDS);
    return undefined;
  }
  // The structure without the weights: the digest streams the whole file, onnxruntime loads it itself.
  let bytes: Uint8Array | undefined;
  try {
    ({ bytes } = await readModelSkeleton(file));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? describeError(error);
    checks.fail('structure.decode', `${file} cannot be read (${code}). Check that the runner may read it.`);
    checks.skipRemaining(skippedBecause(checks.get('structure.decode')!), ['file.lfs-pointer', ...MODEL_CHECK_IDS]);
    return undefined;
  }
  const facts = await runStaticChecks(
    bytes,
    {
      displayPath: file,
      modelDir: path.dirname(path.resolve(file)),
      allowedDomains: expect.allowedDomains,
      runtime: BUNDLED_RUNTIME,
    },
    checks,
  );
  // Nothing refers to the bytes past this point: the decoded model stayed inside runStaticChecks.
  bytes = undefined;
  return facts;
}

function checkSize(modelBytes: number, facts: StaticFacts | undefined, expect: Expectations, checks: CheckList): void {
  const external = facts?.externalFiles ?? [];
  const total = modelBytes + external.reduce((sum, file) => sum + file.size, 0);
  const parts = external.length
    ? ` (model file ${formatSize(modelBytes)} + ${external.map((f) => `${f.location} ${formatSize(f.size)}`).join(' + ')})`
    : '';
  if (expect.maxSize === undefined) {
    checks.pass('file.size', `${formatSize(total)}${parts} (no max-size set).`);
  } else if (total > expect.maxSize.bytes) {
    checks.record(
      'file.size',
      'fail',
      `${formatSize(total)}${parts} is over max-size ${expect.maxSize.text} (${formatSize(expect.maxSize.bytes)}). ` +
        `Shrink the model (quantize, prune) or raise max-size.`,
      { location: expect.locations.maxSize },
    );
  } else {
    checks.pass('file.size', `${formatSize(total)}${parts}, within max-size ${expect.maxSize.text}.`);
  }
}

function checkSignature(facts: StaticFacts, expect: Expectations, checks: CheckList): void {
  if (!expect.signature) {
    checks.skip('signature.match', 'No expected signature given (set signature in the model entry of modelship.yml).');
    return;
  }
  const differences = compareSignatures(expect.signature, facts.signature);
  if (differences.length === 0) {
    checks.pass('signature.match', 'Inputs and outputs match the expected signature.');
    return;
  }
  const status = differences.some((d) => d.severity === 'fail') ? 'fail' : 'warn';
  const first = differences.find((d) => d.severity === status)!;
  checks.record(
    'signature.match',
    status,
    differences.length === 1
      ? first.message
      : `${differences.length} differences from the expected signature; first: ${first.message}`,
    {
      details: differences.length > 1 ? differences.map((d) => d.message) : undefined,
      location: expect.locations.signature?.(first.pointer),
    },
  );
}

function checkLabels(facts: StaticFacts, expect: Expectations, checks: CheckList): void {
  if (!expect.labels) {
    checks.skip('labels.match', 'No expected labels given.');
    return;
  }
  if (!facts.labels) {
    checks.skip('labels.match', "The model carries no 'labels' metadata to compare with.");
    return;
  }
  const want = expect.labels;
  const got = facts.labels;
  if (want.length === got.length && want.every((label, i) => label === got[i])) {
    checks.pass('labels.match', `${got.length} labels, in the expected order.`);
    return;
  }
  const missing = want.filter((label) => !got.includes(label));
  const extra = got.filter((label) => !want.includes(label));
  const problem =
    missing.length || extra.length
      ? [missing.length ? `missing ${missing.join(', ')}` : '', extra.length ? `unexpected ${extra.join(', ')}` : '']
          .filter(Boolean)
          .join('; ')
      : `same labels in a different order (model: ${got.join(', ')})`;
  checks.record(
    'labels.match',
    'fail',
    `The model's labels differ from the expected ${want.join(', ')}: ${problem}. ` +
      `Class indices follow label order, so fix the model or the labels list.`,
    { location: expect.locations.labels },
  );
}

async function digestWhenSafe(
  modelFile: string,
  facts: StaticFacts | undefined,
  checks: CheckList,
): Promise<string | null> {
  if (!facts) return null;
  const unsafe = checks.firstFailure(['external-data.location', 'external-data.file']);
  if (unsafe) {
    checks.skip('digest.match', `Skipped: ${unsafe.id} failed, so the external data is not read.`);
    return null;
  }
  try {
    return await digestModel(modelFile);
  } catch (error) {
    checks.fail('digest.match', `The digest could not be computed: ${describeError(error)}`);
    return null;
  }
}

function checkDigest(digest: string | null, expect: Expectations, checks: CheckList): void {
  if (checks.get('digest.match')) return;
  if (digest === null) {
    checks.skip('digest.match', 'Skipped: the model did not decode, so its external data is unknown.');
    return;
  }
  if (!expect.expectedDigest) {
    checks.pass('digest.match', `${digest} (no expected-digest to compare with).`);
    return;
  }
  if (expect.expectedDigest === digest) {
    checks.pass('digest.match', `${digest}, as expected.`);
    return;
  }
  checks.record(
    'digest.match',
    'fail',
    `The model's digest is ${digest}, but expected-digest is ${expect.expectedDigest}. The model changed; ` +
      `if that is intended, update expected-digest.`,
  );
}
