/** The evaluate step as markdown: the job summary, and the sticky pull-request comment. */
import { formatNumber } from '../metrics/thresholds.js';
import { details, markdownTable, statusIcon } from './markdown.js';
import type { EvaluateReport } from './evaluate-report.js';

const fmt = formatNumber;
const signed = (v: number | null) => (v === null ? '—' : v > 0 ? `+${fmt(v)}` : fmt(v));
const shortDigest = (digest?: string) => (digest ? digest.replace(/^sha256:/, '').slice(0, 12) : '');
const code = (text: string) => `\`${text.replace(/`/g, "'")}\``;

function headline(report: EvaluateReport): string {
  const icon = report.passed ? statusIcon('pass') : statusIcon('fail');
  const warned = report.comparisons.some((c) => c.verdict === 'warn');
  const verdict = report.passed ? (warned ? 'passed with warnings' : 'passed') : 'failed';
  const failed = report.comparisons.filter((c) => c.verdict === 'fail').map((c) => c.metric);
  return `### ${icon} modelship evaluate: ${report.name} — ${verdict}${failed.length ? ` (${failed.join(', ')})` : ''}`;
}

function context(report: EvaluateReport): string {
  const lines = [
    `Candidate ${code(report.model.path)} (${shortDigest(report.model.digest)}), ${report.task}, ${report.rows.toLocaleString('en-US')} rows of ${code(report.fixtures.path)}${report.shard ? ` (shard ${report.shard.index + 1} of ${report.shard.count})` : ''}.`,
  ];
  const b = report.baseline;
  if (b) {
    const what = b.source === 'model' ? 'Baseline model, run on the same rows' : 'Baseline report';
    lines.push(`${what}: ${code(b.path ?? 'unknown')}${b.digest ? ` (${shortDigest(b.digest)})` : ''}.`);
  } else {
    lines.push('No baseline: thresholds `min`/`max` apply, `max-drop` needs a baseline.');
  }
  return lines.join('  \n');
}

function metricsTable(report: EvaluateReport): string {
  return markdownTable(
    ['metric', 'baseline', 'candidate', 'delta', 'threshold', 'verdict'],
    report.comparisons.map((c) => [
      c.metric,
      fmt(c.baseline),
      fmt(c.candidate),
      signed(c.delta),
      c.threshold ?? '',
      `${statusIcon(c.verdict)} ${c.verdict}`,
    ]),
  );
}

function reasons(report: EvaluateReport, all: boolean): string {
  const shown = report.comparisons.filter((c) => all || c.verdict !== 'pass' || c.threshold);
  if (shown.length === 0) return '';
  return shown.map((c) => `- ${statusIcon(c.verdict)} **${c.metric}**: ${c.reason}`).join('\n');
}

const SLICE_METRICS: Record<string, string[]> = {
  classification: ['accuracy', 'macro_f1'],
  regression: ['mae', 'rmse'],
  golden: ['pass_rate'],
};

function slicesSection(report: EvaluateReport): string {
  if (!report.slices) return '';
  const parts: string[] = [];
  const names = SLICE_METRICS[report.task] ?? [];
  for (const [field, values] of Object.entries(report.slices)) {
    const paired = Object.values(values).some((v) => v.baseline);
    const header = [
      field,
      'rows',
      ...names.flatMap((m) => (paired ? [`${m} baseline`, `${m} candidate`, 'delta'] : [m])),
    ];
    if (paired && report.task === 'classification') header.push('McNemar p');
    const rows = Object.entries(values).map(([value, s]) => {
      const cells: unknown[] = [value, s.rows];
      for (const m of names) {
        const cand = s.metrics[m];
        if (paired) {
          const base = s.baseline?.[m];
          cells.push(fmt(base), fmt(cand), base !== undefined && cand !== undefined ? signed(cand - base) : '—');
        } else cells.push(fmt(cand));
      }
      if (paired && report.task === 'classification') {
        const e = s.evidence?.accuracy;
        cells.push(e?.test === 'mcnemar' ? fmt(e.pValue) : '—');
      }
      return cells;
    });
    parts.push(`**Slices by ${field}**\n\n${markdownTable(header, rows)}`);
  }
  return parts.join('\n\n');
}

function flipsSection(report: EvaluateReport): string {
  const f = report.flips;
  if (!f) return '';
  if (f.count === 0) return `**Prediction flips**: none — every row's outcome is the same as the baseline's.`;
  const title = `**Prediction flips**: ${f.count.toLocaleString('en-US')} row${f.count === 1 ? '' : 's'} changed (${f.fixed} fixed, ${f.broken} broken${f.count - f.fixed - f.broken > 0 ? `, ${f.count - f.fixed - f.broken} wrong either way` : ''})${f.shown.length < f.count ? `; the first ${f.shown.length}` : ''}`;
  const golden = report.task === 'golden';
  const table = markdownTable(
    golden ? ['row', 'id', 'baseline', 'candidate'] : ['row', 'id', 'expected', 'baseline', 'candidate'],
    f.shown.map((x) =>
      golden
        ? [x.index, x.id ?? '', x.baseline, x.candidate]
        : [x.index, x.id ?? '', x.expected ?? '', x.baseline, x.candidate],
    ),
  );
  return `${title}\n\n${table}`;
}

function confusionSection(report: EvaluateReport): string {
  const d = report.details as
    { labels?: string[]; confusion?: number[][]; classes?: Array<Record<string, number | string>> } | undefined;
  if (!d?.labels || !d.confusion || d.labels.length === 0 || d.labels.length > 30) return '';
  const matrix = markdownTable(
    ['actual \\ predicted', ...d.labels],
    d.labels.map((label, a) => [`**${label}**`, ...d.labels!.map((_, p) => d.confusion![a]?.[p] ?? 0)]),
  );
  const perClass = d.classes
    ? markdownTable(
        ['class', 'precision', 'recall', 'f1', 'support'],
        d.classes.map((c) => [
          c.label,
          fmt(c.precision as number),
          fmt(c.recall as number),
          fmt(c.f1 as number),
          c.support,
        ]),
      )
    : '';
  return `**Confusion matrix (candidate)**\n\n${matrix}${perClass ? `\n\n**Per class (candidate)**\n\n${perClass}` : ''}`;
}

function goldenSection(report: EvaluateReport): string {
  const d = report.details as
    | {
        outputs?: Array<{ output: string; passRate: number; cases: number; maxAbsError: number; maxRelError: number }>;
        failures?: Array<{ index: number; id?: string; output: string; message: string }>;
      }
    | undefined;
  if (!d?.outputs) return '';
  const parts = [
    `**Outputs (candidate)**\n\n${markdownTable(
      ['output', 'cases', 'pass rate', 'max abs error', 'max rel error'],
      d.outputs.map((o) => [o.output, o.cases, fmt(o.passRate), fmt(o.maxAbsError), fmt(o.maxRelError)]),
    )}`,
  ];
  if (d.failures?.length) {
    parts.push(
      `**First failures**\n\n${markdownTable(
        ['case', 'output', 'what differs'],
        d.failures.map((f) => [f.id ?? f.index, f.output, f.message]),
      )}`,
    );
  }
  return parts.join('\n\n');
}

function latencySection(report: EvaluateReport): string {
  const l = report.latency;
  if (!l) return '';
  const rows: unknown[][] = [['candidate', fmt(l.candidate.p50Ms), fmt(l.candidate.p95Ms)]];
  if (l.baseline) rows.push(['baseline', fmt(l.baseline.p50Ms), fmt(l.baseline.p95Ms)]);
  return `**Latency per row** (${l.batchSize} row${l.batchSize === 1 ? '' : 's'} per run; informational)\n\n${markdownTable(['model', 'p50 ms', 'p95 ms'], rows)}`;
}

function warningsSection(report: EvaluateReport): string {
  return report.warnings.length ? report.warnings.map((w) => `> ${statusIcon('warn')} ${w}`).join('\n') : '';
}

/** Everything, for the job summary. */
export function renderEvaluateSummary(report: EvaluateReport): string {
  return (
    [
      headline(report),
      context(report),
      metricsTable(report),
      reasons(report, false),
      warningsSection(report),
      slicesSection(report),
      flipsSection(report),
      confusionSection(report),
      goldenSection(report),
      latencySection(report),
    ]
      .filter(Boolean)
      .join('\n\n') + '\n'
  );
}

/** The pull-request comment: the verdict and the table up front, the rest folded. */
export function renderEvaluateComment(report: EvaluateReport, marker: string, runUrl?: string): string {
  const folded = [
    ['Slices', slicesSection(report)],
    ['Prediction flips', flipsSection(report)],
    ['Confusion matrix', confusionSection(report)],
    ['Golden outputs', goldenSection(report)],
    ['Latency', latencySection(report)],
  ]
    .filter(([, body]) => body)
    .map(([title, body]) => details(title, body));
  return [
    marker,
    headline(report),
    context(report),
    metricsTable(report),
    reasons(report, false),
    warningsSection(report),
    ...folded,
    `<sub>Updated for ${code(shortDigest(report.model.digest))}${runUrl ? ` by [this run](${runUrl})` : ''}. modelship keeps this one comment up to date on every push.</sub>`,
  ]
    .filter(Boolean)
    .join('\n\n');
}
