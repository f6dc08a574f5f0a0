/** Byte sizes as people write them in workflow inputs and modelship.yml: `200MB`, `1.5 GiB`, `512k`, `1048576`. */
import { ModelshipError } from '../errors.js';

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  // Single letters follow the binary convention of docker and Kubernetes-style tools.
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
};

/** Parses a size into bytes; throws ModelshipError SIZE_INVALID naming `what` (e.g. the input) when malformed. */
export function parseSize(value: string | number, what = 'max-size'): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return Math.floor(value);
  } else {
    const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-zA-Z]*)\s*$/.exec(value);
    const unit = match ? (match[2] === '' ? 1 : UNITS[match[2].toLowerCase()]) : undefined;
    if (match && unit !== undefined) return Math.floor(Number(match[1]) * unit);
  }
  throw new ModelshipError(
    'SIZE_INVALID',
    `${what} '${String(value)}' is not a size.`,
    'Write a number of bytes or a number with a unit: 200MB, 1.5GiB, 512KiB (kB/MB/GB are powers of 1000, KiB/MiB/GiB powers of 1024).',
  );
}

/** A size for people: powers of 1000, one decimal, as file browsers show them. */
export function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 'B';
  for (const next of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = next;
  }
  return `${value.toFixed(1)} ${unit}`;
}
