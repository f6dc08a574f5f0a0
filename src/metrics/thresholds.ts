/**
 * Thresholds per metric: `min`, `max` and `max-drop` (how much worse than the baseline the candidate may
 * be: a number in the metric's own units, or `N%` of the baseline's value). For metrics where lower is
 * better (log_loss, mae, ...) a drop is an increase.
 */
import { parse as parseYaml } from 'yaml';
import { ModelshipError, type SourceLocation } from '../errors.js';
import { HEADLINE_METRIC, isKnownMetric, TASK_METRICS } from './catalog.js';
import type { Task } from './evaluation.js';

export interface Threshold {
  min?: number;
  max?: number;
  maxDrop?: { value: number; relative: boolean };
}

export type Thresholds = Record<string, Threshold>;

const invalid = (message: string, location?: SourceLocation) =>
  new ModelshipError(
    'THRESHOLDS_INVALID',
    message,
    "Write thresholds as YAML, e.g. 'accuracy: {min: 0.9, max-drop: 2%}' (max-drop: a number in the metric's units, or a percentage of the baseline).",
    location,
  );

function parseNumber(metric: string, key: string, value: unknown, location?: SourceLocation): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string') {
    const percent = /^\s*(-?\d+(?:\.\d+)?)\s*%\s*$/.exec(value);
    if (percent) return Number(percent[1]) / 100;
    if (value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  }
  throw invalid(`Threshold '${metric}.${key}' must be a number, got ${JSON.stringify(value)}.`, location);
}

function parseMaxDrop(metric: string, value: unknown, location?: SourceLocation): Threshold['maxDrop'] {
  if (typeof value === 'string') {
    const percent = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value);
    if (percent) return { value: Number(percent[1]), relative: true };
  }
  const n = parseNumber(metric, 'max-drop', value, location);
  if (n < 0) throw invalid(`Threshold '${metric}.max-drop' must not be negative, got ${n}.`, location);
  return { value: n, relative: false };
}

/**
 * Reads thresholds from YAML text (an action input or CLI flag) or from an already parsed object (the
 * `thresholds` of a model in modelship.yml).
 */
export function parseThresholds(source: string | unknown, location?: SourceLocation): Thresholds {
  let raw: unknown = source;
  if (typeof source === 'string') {
    if (source.trim() === '') return {};
    try {
      raw = parseYaml(source);
    } catch (error) {
      throw invalid(`Thresholds are not valid YAML: ${(error as Error).message.split('\n')[0]}`, location);
    }
  }
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalid(`Thresholds must map metric names to limits, got ${JSON.stringify(raw)}.`, location);
  }
  const out: Thresholds = {};
  for (const [metric, limits] of Object.entries(raw as Record<string, unknown>)) {
    if (limits === null || typeof limits !== 'object' || Array.isArray(limits)) {
      throw invalid(
        `Threshold '${metric}' must be a mapping such as {min: 0.9}, got ${JSON.stringify(limits)}.`,
        location,
      );
    }
    const threshold: Threshold = {};
    for (const [key, value] of Object.entries(limits as Record<string, unknown>)) {
      if (key === 'min') threshold.min = parseNumber(metric, key, value, location);
      else if (key === 'max') threshold.max = parseNumber(metric, key, value, location);
      else if (key === 'max-drop' || key === 'max_drop' || key === 'maxDrop') {
        threshold.maxDrop = parseMaxDrop(metric, value, location);
      } else {
        throw invalid(`Threshold '${metric}' has an unknown limit '${key}' (use min, max or max-drop).`, location);
      }
    }
    out[metric] = threshold;
  }
  return out;
}

/** Rejects metric names the task never reports, listing the ones it does. */
export function checkThresholdMetrics(task: Task, thresholds: Thresholds, location?: SourceLocation): void {
  const unknown = Object.keys(thresholds).filter((m) => !isKnownMetric(task, m));
  if (unknown.length > 0) {
    throw new ModelshipError(
      'THRESHOLDS_INVALID',
      `Unknown ${task} metric${unknown.length > 1 ? 's' : ''} in thresholds: ${unknown.join(', ')}.`,
      `Known ${task} metrics: ${TASK_METRICS[task].join(', ').replace('topN', 'top<k>')}.`,
      location,
    );
  }
}

/** With no thresholds at all: the headline metric must not get significantly worse (and golden cases must all pass). */
export function defaultThresholds(task: Task): Thresholds {
  if (task === 'golden') return { pass_rate: { min: 1, maxDrop: { value: 0, relative: false } } };
  return { [HEADLINE_METRIC[task]]: { maxDrop: { value: 0, relative: false } } };
}

/** Allowed worsening in the metric's units, given the baseline's value. */
export function allowedDrop(threshold: NonNullable<Threshold['maxDrop']>, baseline: number): number {
  return threshold.relative ? (Math.abs(baseline) * threshold.value) / 100 : threshold.value;
}

export function describeThreshold(threshold: Threshold | undefined, baseline?: number): string {
  if (!threshold) return '';
  const parts: string[] = [];
  if (threshold.min !== undefined) parts.push(`≥ ${formatNumber(threshold.min)}`);
  if (threshold.max !== undefined) parts.push(`≤ ${formatNumber(threshold.max)}`);
  if (threshold.maxDrop) {
    const d = threshold.maxDrop;
    parts.push(
      d.relative
        ? `max-drop ${d.value}%${baseline !== undefined && Number.isFinite(baseline) ? ` (${formatNumber(allowedDrop(d, baseline))})` : ''}`
        : `max-drop ${formatNumber(d.value)}`,
    );
  }
  return parts.join(', ');
}

/** Four significant digits, no exponent for everyday values. */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  if (Number.isNaN(value)) return 'n/a';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e6 || abs < 1e-4) return value.toExponential(3);
  return String(Number(value.toPrecision(4)));
}
