/**
 * The checks validate runs, with stable ids (reports and workflows refer to them), and the list a run fills
 * in. Order here is the order of the report, file to digest.
 */
import type { SourceLocation } from '../errors.js';
import type { Finding } from '../onnx/checks.js';

export const CHECKS = {
  'file.exists': 'Model file exists',
  'file.lfs-pointer': 'Not a Git LFS pointer',
  'file.size': 'Size within max-size',
  'structure.decode': 'Decodes as ONNX',
  'structure.ir-version': 'IR version supported',
  'structure.opset': 'Opsets imported and supported',
  'structure.graph': 'Graph inputs and outputs declared',
  'structure.names-unique': 'Names unique (SSA)',
  'structure.topological-order': 'Nodes topologically sorted',
  'structure.outputs-produced': 'Every output produced',
  'structure.raw-data': 'Tensor data matches dims',
  'external-data.location': 'External data locations relative',
  'external-data.file': 'External data files contained',
  'external-data.size': 'External data sizes match',
  'operators.domains': 'Operator domains allowed',
  'runtime.load': 'Loads in onnxruntime',
  'signature.match': 'Signature as expected',
  'labels.match': 'Labels as expected',
  'smoke.run': 'Smoke run',
  'smoke.latency': 'Latency within max-latency-ms',
  'digest.match': 'Digest',
} as const;

export type CheckId = keyof typeof CHECKS;
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export const CHECK_IDS = Object.keys(CHECKS) as CheckId[];

export interface CheckResult {
  id: CheckId;
  title: string;
  status: CheckStatus;
  /** One sentence: what was found and, when it is not a pass, what to do. */
  message: string;
  /** Every individual problem when there are several, or facts behind a pass. */
  details?: string[];
  /** Where the expectation that failed was written (a modelship.yml line). */
  location?: SourceLocation;
}

/** Reports cap the list of problems: a fuzzed model can have thousands. */
const MAX_DETAILS = 50;

const capped = (lines: string[]): string[] =>
  lines.length <= MAX_DETAILS ? lines : [...lines.slice(0, MAX_DETAILS), `… and ${lines.length - MAX_DETAILS} more`];

export class CheckList {
  private readonly results = new Map<CheckId, CheckResult>();

  record(
    id: CheckId,
    status: CheckStatus,
    message: string,
    extra: { details?: string[]; location?: SourceLocation } = {},
  ): CheckResult {
    const result: CheckResult = { id, title: CHECKS[id], status, message };
    if (extra.details?.length) result.details = capped(extra.details);
    if (extra.location) result.location = extra.location;
    this.results.set(id, result);
    return result;
  }

  pass(id: CheckId, message: string, details?: string[]): CheckResult {
    return this.record(id, 'pass', message, { details });
  }

  warn(id: CheckId, message: string, details?: string[]): CheckResult {
    return this.record(id, 'warn', message, { details });
  }

  fail(id: CheckId, message: string, details?: string[]): CheckResult {
    return this.record(id, 'fail', message, { details });
  }

  skip(id: CheckId, reason: string): CheckResult {
    return this.record(id, 'skip', reason);
  }

  /** Marks every check not yet recorded as skipped, with the reason. */
  skipRemaining(reason: string, ids: readonly CheckId[] = CHECK_IDS): void {
    for (const id of ids) if (!this.results.has(id)) this.skip(id, reason);
  }

  /** One result from a check's findings: fail if any fails, warn if any warns, else pass with `passMessage`. */
  fromFindings(id: CheckId, findings: ReadonlyArray<Finding<string>>, passMessage: string): CheckResult {
    const own = findings.filter((finding) => finding.check === id);
    if (own.length === 0) return this.pass(id, passMessage);
    const status = own.some((finding) => finding.severity === 'fail') ? 'fail' : 'warn';
    const first = own.find((finding) => finding.severity === status) ?? own[0];
    const message = own.length === 1 ? first.message : `${first.message} (${own.length - 1} more problems listed)`;
    return this.record(id, status, message, { details: own.length > 1 ? own.map((f) => f.message) : undefined });
  }

  get(id: CheckId): CheckResult | undefined {
    return this.results.get(id);
  }

  /** The first failed check among `ids`, to name it as the reason later checks are skipped. */
  firstFailure(ids: readonly CheckId[]): CheckResult | undefined {
    for (const id of ids) {
      const result = this.results.get(id);
      if (result?.status === 'fail') return result;
    }
    return undefined;
  }

  /** Every check, in report order. */
  list(): CheckResult[] {
    return CHECK_IDS.flatMap((id) => {
      const result = this.results.get(id);
      return result ? [result] : [];
    });
  }
}

/** A run passes when nothing failed; under `strict`, when nothing warned either. */
export function verdict(checks: readonly CheckResult[], strict: boolean): boolean {
  return checks.every((check) => check.status !== 'fail' && !(strict && check.status === 'warn'));
}

export const skippedBecause = (failed: CheckResult): string => `Skipped: ${failed.id} failed.`;
