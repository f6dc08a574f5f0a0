/** The validate report for people: a job summary in markdown, and the same for a terminal. */
import type { TensorSignature } from '../runtime/tensor.js';
import type { CheckResult, CheckStatus } from '../validate/checks.js';
import type { ValidateReport } from '../validate/report.js';
import { formatShape } from '../validate/signature-match.js';
import { details, markdownTable, statusIcon } from './markdown.js';

function counts(checks: readonly CheckResult[]): Record<CheckStatus, number> {
  const tally: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const check of checks) tally[check.status]++;
  return tally;
}

/** A run of checks skipped for the same reason reads as one row. */
interface Row {
  status: CheckStatus;
  ids: string[];
  title: string;
  message: string;
  location?: CheckResult['location'];
}

function rows(checks: readonly CheckResult[]): Row[] {
  const out: Row[] = [];
  for (const check of checks) {
    const last = out[out.length - 1];
    if (check.status === 'skip' && last?.status === 'skip' && last.message === check.message) {
      last.ids.push(check.id);
      last.title = `${last.ids.length} checks`;
      continue;
    }
    out.push({
      status: check.status,
      ids: [check.id],
      title: check.title,
      message: check.message,
      location: check.location,
    });
  }
  return out;
}

const idsOf = (row: Row) => (row.ids.length === 1 ? row.ids[0] : `${row.ids[0]} … ${row.ids[row.ids.length - 1]}`);

export function validateTally(report: ValidateReport): string {
  const tally = counts(report.checks);
  return [
    `${tally.pass} passed`,
    `${tally.warn} warning${tally.warn === 1 ? '' : 's'}`,
    `${tally.fail} failed`,
    `${tally.skip} skipped`,
  ].join(', ');
}

const shortDigest = (digest: string | null) => (digest ? `\`${digest.slice(0, 19)}…\`` : 'no digest');

function signatureTable(report: ValidateReport): string {
  const rows = (kind: string, tensors: readonly TensorSignature[]) =>
    tensors.map((tensor) => [kind, `\`${tensor.name}\``, tensor.datatype, formatShape(tensor.shape)]);
  const signature = report.signature!;
  return markdownTable(
    ['', 'name', 'datatype', 'shape'],
    [...rows('input', signature.inputs), ...rows('output', signature.outputs)],
  );
}

export function renderValidateSummary(report: ValidateReport): string {
  const heading = report.passed ? '✓ Model validation passed' : '✗ Model validation failed';
  const facts = [
    `\`${report.model}\``,
    shortDigest(report.digest),
    report.irVersion !== null ? `IR ${report.irVersion}` : undefined,
    report.opset !== null ? `opset ${report.opset}` : undefined,
    report.strict ? 'strict (warnings fail)' : undefined,
  ].filter(Boolean);
  const table = markdownTable(
    ['', 'check', 'result'],
    rows(report.checks).map((row) => [
      statusIcon(row.status),
      `${row.title} <sub>\`${idsOf(row)}\`</sub>`,
      row.location?.line ? `${row.message} (${row.location.file}:${row.location.line})` : row.message,
    ]),
  );
  const parts = [`## ${heading}`, `${facts.join(' · ')} — ${validateTally(report)}`, table];
  for (const check of report.checks) {
    if (check.details?.length) {
      parts.push(
        details(
          `${statusIcon(check.status)} ${check.id}: ${check.details.length} item(s)`,
          check.details.map((d) => `- ${d}`).join('\n'),
        ),
      );
    }
  }
  if (report.signature) parts.push(details('Signature', signatureTable(report)));
  if (report.digest) parts.push(`Digest: \`${report.digest}\``);
  return parts.join('\n\n') + '\n';
}

/** Terminal output; `color` paints the status marks. */
export function renderValidateText(
  report: ValidateReport,
  options: { color?: boolean; reportPath?: string } = {},
): string {
  const paint = (code: string, text: string) => (options.color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const mark: Record<CheckStatus, string> = {
    pass: paint('32', '✓'),
    warn: paint('33', '⚠'),
    fail: paint('31', '✗'),
    skip: paint('2', '–'),
  };
  const width = Math.max(...report.checks.map((check) => check.id.length), 10);
  const lines = [`modelship validate ${report.model}`];
  const byId = new Map(report.checks.map((check) => [check.id as string, check]));
  for (const row of rows(report.checks)) {
    const where = row.location?.line ? ` (${row.location.file}:${row.location.line})` : '';
    const label = row.ids.length === 1 ? row.ids[0].padEnd(width) : `${row.ids.length} checks`.padEnd(width);
    const text = `${row.message}${where}`;
    lines.push(`  ${mark[row.status]} ${label}  ${row.status === 'skip' ? paint('2', text) : text}`);
    for (const detail of byId.get(row.ids[0])?.details ?? []) lines.push(`  ${' '.repeat(width + 4)}- ${detail}`);
  }
  if (report.signature) {
    const describe = (tensor: TensorSignature) => `${tensor.name} ${tensor.datatype} ${formatShape(tensor.shape)}`;
    lines.push(
      `signature: inputs ${report.signature.inputs.map(describe).join(', ') || '(none)'}; ` +
        `outputs ${report.signature.outputs.map(describe).join(', ') || '(none)'}`,
    );
  }
  if (report.digest) lines.push(`digest: ${report.digest}`);
  const verdict = report.passed ? paint('32', 'PASSED') : paint('31', 'FAILED');
  lines.push(`${verdict}: ${validateTally(report)}${report.strict ? ' (strict: warnings fail)' : ''}`);
  if (options.reportPath) lines.push(`report: ${options.reportPath}`);
  return lines.join('\n') + '\n';
}
