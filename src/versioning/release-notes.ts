/**
 * The model card: the body of a version's GitHub release. Humans read the tables; the next run reads
 * the record embedded at the end.
 */
import { details, markdownTable, statusIcon } from '../report/markdown.js';
import type { Signature } from '../runtime/tensor.js';
import { formatShape, type TensorDiff } from './bump.js';
import type { EvaluateReportSummary } from './evaluate-report.js';
import { embedRecord, type VersionRecord } from './record.js';

export interface ModelCardInput {
  name: string;
  version: string;
  tag: string;
  digest: string;
  signature: Signature;
  labels?: string[];
  previousVersion?: string;
  /** undefined for a first version. */
  bump?: string;
  reason: string;
  /** The signature diff against the previous version, when there is one. */
  tensors?: TensorDiff[];
  report?: EvaluateReportSummary;
  commit?: { sha: string; url?: string };
  record: VersionRecord;
}

const code = (text: string) => `\`${text.replace(/`/g, "'")}\``;

const formatNumber = (value: number | undefined): string => {
  if (value === undefined || value === null || Number.isNaN(value)) return '–';
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 1e-3 && Math.abs(value) < 1e6 ? value.toFixed(4) : value.toExponential(3);
};

const signed = (value: number | undefined): string =>
  value === undefined ? '–' : value > 0 ? `+${formatNumber(value)}` : formatNumber(value);

/** The signature as a table; with a diff, a Change column says what moved since the previous version. */
export function signatureTable(signature: Signature, tensors?: TensorDiff[]): string {
  if (!tensors) {
    const rows = [
      ...signature.inputs.map((t) => ['input', code(t.name), t.datatype, code(formatShape(t.shape))]),
      ...signature.outputs.map((t) => ['output', code(t.name), t.datatype, code(formatShape(t.shape))]),
    ];
    return markdownTable(['Role', 'Name', 'Datatype', 'Shape'], rows);
  }
  return signatureDiffTable(tensors);
}

export function signatureDiffTable(tensors: TensorDiff[]): string {
  const describe = (before?: string, after?: string) =>
    before === undefined ? (after ?? '') : after === undefined || after === before ? before : `${before} → ${after}`;
  const rows = tensors.map((t) => [
    t.role,
    code(t.name),
    describe(t.before?.datatype, t.after?.datatype),
    describe(t.before && code(formatShape(t.before.shape)), t.after && code(formatShape(t.after.shape))),
    t.status === 'same' ? 'unchanged' : `${t.status}${t.level === 'none' ? '' : ` (${t.level})`}`,
    t.changes.join('; '),
  ]);
  return markdownTable(['Role', 'Name', 'Datatype', 'Shape', 'Change', 'Details'], rows);
}

export function metricsSection(report: EvaluateReportSummary): string {
  const comparisons = new Map(report.comparisons.map((c) => [c.metric, c]));
  const hasBaseline = report.baseline !== undefined || comparisons.size > 0;
  const rows = Object.entries(report.metrics).map(([metric, value]) => {
    const c = comparisons.get(metric);
    if (!hasBaseline) return [metric, formatNumber(value)];
    const baseline = c?.baseline ?? report.baseline?.metrics[metric];
    return [
      metric,
      formatNumber(value),
      formatNumber(baseline),
      signed(c?.delta ?? (baseline === undefined ? undefined : value - baseline)),
      c ? `${statusIcon(c.verdict)} ${c.verdict}` : '',
    ];
  });
  const header = hasBaseline ? ['Metric', 'Value', 'Baseline', 'Δ', 'Verdict'] : ['Metric', 'Value'];
  const facts = [
    report.task ? `task ${report.task}` : undefined,
    report.rows !== undefined ? `${report.rows} rows` : undefined,
  ].filter(Boolean);
  const heading = `### Evaluation ${report.passed ? '✓ passed' : '✗ failed'}${facts.length ? ` (${facts.join(', ')})` : ''}`;
  return [heading, '', rows.length > 0 ? markdownTable(header, rows) : '_The report holds no metrics._'].join('\n');
}

export function renderModelCard(input: ModelCardInput): string {
  const source = input.commit
    ? input.commit.url
      ? `[${code(input.commit.sha.slice(0, 12))}](${input.commit.url})`
      : code(input.commit.sha)
    : '–';
  const facts = markdownTable(
    ['', ''],
    [
      ['Version', `${code(input.version)}${input.previousVersion ? ` (previous ${code(input.previousVersion)})` : ''}`],
      ['Tag', code(input.tag)],
      ['Bump', input.bump ? `${input.bump}: ${input.reason}` : input.reason],
      ['Digest', code(input.digest)],
      ['Source commit', source],
    ],
  );
  const parts = [`## ${input.name} ${input.version}`, '', facts, '', '### Signature', ''];
  parts.push(signatureTable(input.signature, input.tensors));
  if (input.labels && input.labels.length > 0) {
    const labelRows = input.labels.map((label, index) => [index, label]);
    parts.push('', details(`Labels (${input.labels.length})`, markdownTable(['Index', 'Label'], labelRows)));
  }
  if (input.report) parts.push('', metricsSection(input.report));
  parts.push('', embedRecord(input.record), '');
  return parts.join('\n');
}
