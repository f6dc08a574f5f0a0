/**
 * The values modelship.yml writes as text (sizes, durations, percentages) in the units code needs.
 * The schema already checked their form; these throw CONFIG_INVALID for values that bypassed it.
 */
import { ModelshipError } from '../errors.js';

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** Bytes from a number of bytes or a size such as `200MB` (powers of 1000) or `1.5GiB` (powers of 1024). */
export function parseSize(value: number | string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  const match = typeof value === 'string' ? /^(\d+(?:\.\d+)?) ?([kmgt]i?)?b$/i.exec(value) : null;
  if (!match) throw badValue(value, "a size such as '200MB' or '1.5GiB'");
  return Math.round(Number(match[1]) * SIZE_UNITS[`${match[2] ?? ''}b`.toLowerCase()]);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds from a duration such as `60s`, `5m`, `250ms`. */
export function parseDuration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value);
  if (!match) throw badValue(value, "a duration such as '60s' or '5m'");
  return Number(match[1]) * DURATION_UNITS[match[2]];
}

export type MaxDrop = { kind: 'absolute'; amount: number } | { kind: 'relative'; fraction: number };

/** `0.02` is an absolute drop of the metric; `"2%"` a drop of 2% of the baseline value. */
export function parseMaxDrop(value: number | string): MaxDrop {
  if (typeof value === 'number' && value >= 0) return { kind: 'absolute', amount: value };
  const match = typeof value === 'string' ? /^(\d+(?:\.\d+)?)%$/.exec(value) : null;
  if (!match) throw badValue(value, "a non-negative number or a percentage such as '2%'");
  return { kind: 'relative', fraction: Number(match[1]) / 100 };
}

function badValue(value: unknown, expected: string): ModelshipError {
  return new ModelshipError('CONFIG_INVALID', `Expected ${expected}, got ${JSON.stringify(value)}.`);
}
