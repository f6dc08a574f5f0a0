/** Sizes in inputs and messages. modelship.yml sizes are parsed by src/config/values.ts; inputs go through it too. */
import { parseSize } from '../config/values.js';
import { ModelshipError, type SourceLocation } from '../errors.js';

/**
 * Bytes from a size input: a number of bytes, or a number with a unit (`200MB`, `1.5 GiB`: B, kB, MB, GB
 * are powers of 1000; KiB, MiB, GiB powers of 1024). Throws SIZE_INVALID naming `what`.
 */
export function parseSizeInput(value: string | number, what = 'max-size', location?: SourceLocation): number {
  const text = typeof value === 'string' ? value.trim() : value;
  try {
    return parseSize(typeof text === 'string' && /^\d+$/.test(text) ? Number(text) : text);
  } catch {
    throw new ModelshipError(
      'SIZE_INVALID',
      `${what} '${String(value)}' is not a size.`,
      'Write a number of bytes or a number with a unit: 200MB, 1.5GiB, 512KiB (kB/MB/GB are powers of 1000, KiB/MiB/GiB powers of 1024).',
      location,
    );
  }
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
