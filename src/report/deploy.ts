/** Job summaries (markdown) and terminal lines for deploy and rollback. */
import type { CanaryVerdict, VersionFigures } from '../deploy/canary.js';
import type { LedgerEntry } from '../deploy/ledger.js';
import type { SmokeResult } from '../deploy/smoke.js';
import type { DeployResult, DeployedVersion } from '../steps/deploy.js';
import type { RollbackResult } from '../steps/rollback.js';
import { details, markdownTable } from './markdown.js';

const label = (v: DeployedVersion | undefined) =>
  v ? (v.semver ? `${v.semver} (#${v.numericVersion})` : `#${v.numericVersion}`) : '–';
const short = (digest: string) => (digest.startsWith('sha256:') ? `sha256:${digest.slice(7, 19)}` : digest);
const ms = (value: number | undefined) => (value === undefined ? '–' : `${Math.round(value)} ms`);
const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);
const latency = (value: number | null) => (value === null ? '–' : `${value.toFixed(3)} ms`);

function smokeTable(smoke: readonly SmokeResult[]): string {
  if (smoke.length === 0) return '';
  return markdownTable(
    ['smoke run', 'rows', 'result', 'max abs diff', 'time'],
    smoke.map((s) => [
      s.url,
      s.rows,
      s.passed ? '✓ matches offline' : `✗ ${s.failures.length} failed: ${s.failures[0]?.message ?? ''}`,
      s.maxAbsError.toExponential(2),
      ms(s.ms),
    ]),
  );
}

export function canaryTable(verdict: CanaryVerdict): string {
  const row = (role: string, f: VersionFigures) => [
    `${role} (v${f.version})`,
    f.requests,
    f.failures,
    `${(f.errorRate * 100).toFixed(2)}%`,
    latency(f.meanLatencyMs),
    latency(f.p95LatencyMs),
  ];
  const table = markdownTable(
    ['version', 'requests', 'failed', 'error rate', 'mean latency', 'p95 latency'],
    [row('stable', verdict.stable), row('canary', verdict.canary)],
  );
  const limits = `Limits: error rate ≤ ${(verdict.thresholds.maxErrorRate * 100).toFixed(2)}%, latency ≤ ${verdict.thresholds.maxLatencyRatio}× stable${
    verdict.latencyRatio !== null ? ` (measured ${verdict.latencyRatio.toFixed(2)}×)` : ''
  }, at least ${verdict.thresholds.minRequests} canary requests; window ${verdict.windowSeconds} s.`;
  const decision =
    verdict.decision === 'promote' ? '**Decision: promote.**' : `**Decision: abort** — ${verdict.reasons.join('; ')}.`;
  return `${table}\n\n${limits}\n\n${decision}`;
}

/** The environment's last deployments from the ledger, newest first: what a dispatch form cannot list. */
export function ledgerTable(entries: readonly LedgerEntry[], limit = 10): string {
  const rows = entries
    .filter((e) => e.outcome !== 'started')
    .slice(-limit)
    .reverse()
    .map((e) => [
      e.semver ?? '–',
      `#${e.numericVersion}`,
      `\`${short(e.digest)}\``,
      e.action,
      e.outcome,
      e.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      e.runUrl ? `[${e.actor}](${e.runUrl})` : e.actor,
      clip(e.reason ?? '', 160),
    ]);
  if (rows.length === 0) return '_No deployments recorded yet._';
  return markdownTable(['version', 'number', 'digest', 'action', 'outcome', 'when', 'who', 'reason'], rows);
}

export function renderDeploySummary(result: DeployResult): string {
  const head =
    result.status === 'deployed'
      ? `### ✓ ${result.model} ${label(result.deployed)} serves ${result.environment}`
      : result.status === 'unchanged'
        ? `### ✓ ${result.model} ${label(result.deployed)} already serves ${result.environment}`
        : result.status === 'rendered'
          ? `### ${result.model}: KServe manifest for ${result.environment}`
          : result.status === 'rolled-back'
            ? `### ✗ ${result.model} ${label(result.deployed)} was rolled back; ${label(result.previous)} serves ${result.environment}`
            : `### ✗ ${result.model} ${label(result.deployed)} failed and could not be rolled back: check ${result.environment}`;
  const parts = [head, ''];
  if (result.failure) parts.push(`**What failed** (\`${result.failure.code}\`): ${result.failure.message}`, '');
  parts.push(
    markdownTable(
      ['', ''],
      [
        ['target', result.target],
        ['strategy', result.strategy],
        ['version', label(result.deployed)],
        ['digest', `\`${result.deployed.digest}\``],
        ['previous', label(result.previous)],
        ['url', result.url ?? '–'],
        ...(result.stageTag ? [['stage tag', `\`${result.stageTag}\``]] : []),
        ...(result.removedVersions.length ? [['removed (retention)', result.removedVersions.join(', ')]] : []),
        ['time', ms(result.timings.total)],
      ],
    ),
    '',
  );
  if (result.canary) parts.push('#### Canary analysis', '', canaryTable(result.canary), '');
  const smoke = smokeTable(result.smoke);
  if (smoke) parts.push('#### Smoke', '', smoke, '');
  if (result.manifest) parts.push(details('InferenceService', '```yaml\n' + result.manifest.text + '```'), '');
  if (result.recent.length)
    parts.push(details('Recent deployments of this environment', ledgerTable(result.recent)), '');
  return parts.join('\n');
}

export function renderRollbackSummary(result: RollbackResult): string {
  const { from, to } = result.plan;
  const head =
    result.status === 'planned'
      ? `### Rollback plan (dry run): ${result.model} ${label(from)} → ${label(to)} in ${result.environment}`
      : result.status === 'unchanged'
        ? `### ✓ ${result.model} ${label(to)} already serves ${result.environment}`
        : result.status === 'rolled-back'
          ? `### ✓ ${result.model} rolled back to ${label(to)} in ${result.environment}`
          : `### ✗ Rollback of ${result.model} to ${label(to)} failed`;
  const parts = [head, '', `Reason: ${result.reason}`, ''];
  if (result.failure) parts.push(`**What failed** (\`${result.failure.code}\`): ${result.failure.message}`, '');
  if (result.status === 'planned') parts.push(result.plan.steps.map((s) => `1. ${s}`).join('\n'), '');
  const smoke = smokeTable(result.smoke);
  if (smoke) parts.push(smoke, '');
  parts.push(
    '#### Last deployments of this environment',
    '',
    'Any of these versions can be named in `to` (a semver, or `#<number>`) while its files are kept on disk.',
    '',
    ledgerTable(result.ledger),
    '',
  );
  return parts.join('\n');
}

/** One line per outcome for the terminal. */
export function deployResultLine(result: DeployResult): string {
  switch (result.status) {
    case 'deployed':
      return `deployed ${result.model} ${label(result.deployed)} to ${result.environment} in ${ms(result.timings.total)}${result.previous ? ` (was ${label(result.previous)})` : ''}`;
    case 'unchanged':
      return `${result.model} ${label(result.deployed)} already serves ${result.environment}`;
    case 'rendered':
      return `wrote ${result.manifest?.path}`;
    case 'rolled-back':
      return `deploy failed and was rolled back (${result.failure?.code}): ${label(result.previous)} serves ${result.environment}`;
    default:
      return `deploy failed and the rollback failed too (${result.failure?.code}): check ${result.environment}`;
  }
}
