/**
 * The deploy ledger: one append-only JSONL file per model and environment, the one answer to
 * "what serves now" and "what served before", and the only place the semver ↔ numeric version
 * mapping lives (the Triton repository itself knows numbers only).
 *
 * Each entry is one line written with a single write(2) on a descriptor opened with O_APPEND and
 * fsynced before the call returns, so a crash leaves at most one torn last line. Readers tolerate
 * and report it; the next writer (which holds the lease) cuts it off before appending.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { mkdir, open, readFile, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ModelshipError } from '../errors.js';
import { crashPoint } from './fault-injection.js';
import { fsyncDirectory } from './durable-files.js';

export type LedgerAction = 'deploy' | 'promote' | 'rollback' | 'abort';
export type LedgerOutcome = 'started' | 'succeeded' | 'failed' | 'rolled-back';

export interface LedgerEntry {
  /** ISO 8601, UTC. */
  time: string;
  actor: string;
  runUrl: string | null;
  action: LedgerAction;
  /** The semantic version from the version step; null when deployed without one. */
  semver: string | null;
  /** The Triton version folder number. */
  numericVersion: number;
  digest: string;
  outcome: LedgerOutcome;
  reason: string | null;
  /** Extra facts worth keeping (strategy, canary figures); never needed to answer current/history. */
  details?: Record<string, unknown>;
}

export interface LedgerRead {
  entries: LedgerEntry[];
  /** A last line that a crash cut short: never committed, ignored by every answer. */
  torn?: { line: number; text: string };
}

/** One version as it served an environment. */
export interface ServedVersion {
  numericVersion: number;
  semver: string | null;
  digest: string;
  /** The entry that made it serve. */
  since: LedgerEntry;
}

const ACTIONS: readonly LedgerAction[] = ['deploy', 'promote', 'rollback', 'abort'];
const OUTCOMES: readonly LedgerOutcome[] = ['started', 'succeeded', 'failed', 'rolled-back'];

function isEntry(value: unknown): value is LedgerEntry {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  return (
    typeof entry.time === 'string' &&
    typeof entry.actor === 'string' &&
    ACTIONS.includes(entry.action as LedgerAction) &&
    OUTCOMES.includes(entry.outcome as LedgerOutcome) &&
    Number.isInteger(entry.numericVersion) &&
    (entry.numericVersion as number) > 0 &&
    typeof entry.digest === 'string'
  );
}

/** Parses ledger text. A bad line anywhere but last is corruption; a bad last line without its newline is a torn write. */
export function parseLedger(text: string, file = 'ledger'): LedgerRead {
  const entries: LedgerEntry[] = [];
  const lines = text.split('\n');
  const endsClean = text.length === 0 || text.endsWith('\n');
  // split leaves '' after a trailing newline; a non-empty last piece is a line that never got its newline.
  const last = lines.pop() ?? '';
  let torn: LedgerRead['torn'];
  const parseLine = (raw: string, index: number, isTail: boolean) => {
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = undefined;
    }
    if (isEntry(value)) {
      entries.push(value);
      return;
    }
    if (isTail) {
      torn = { line: index + 1, text: raw };
      return;
    }
    throw new ModelshipError(
      'LEDGER_CORRUPT',
      `Ledger line ${index + 1} is not a ledger entry: ${raw.slice(0, 120)}`,
      'The ledger is append-only and written atomically; a damaged line in the middle means it was edited by hand. Restore it from a backup or remove the line.',
      { file, line: index + 1 },
    );
  };
  lines.forEach((raw, index) => parseLine(raw, index, false));
  if (!endsClean) parseLine(last, lines.length, true);
  return torn ? { entries, torn } : { entries };
}

export async function readLedger(file: string): Promise<LedgerRead> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [] };
    throw error;
  }
  return parseLedger(text, file);
}

/**
 * Appends one entry: the whole line in one write on an O_APPEND descriptor, then fsync. Call it while
 * holding the lease; it first cuts off a torn last line left by a crashed writer.
 */
export async function appendLedgerEntry(file: string, entry: LedgerEntry): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await cutTornTail(file);
  const line = Buffer.from(JSON.stringify(entry) + '\n', 'utf8');
  const created = !(await exists(file));
  const fd = openSync(file, 'a');
  try {
    if (crashPoint('ledger-torn-write', { kill: false })) {
      writeSync(fd, line, 0, Math.floor(line.length / 2));
      fsyncSync(fd);
      crashPoint('ledger-torn-write', { kill: true });
    }
    const written = writeSync(fd, line);
    if (written !== line.length) {
      throw new ModelshipError(
        'LEDGER_WRITE',
        `Short write to the ledger ${file} (${written} of ${line.length} bytes).`,
      );
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (created) await fsyncDirectory(dirname(file));
}

async function exists(file: string): Promise<boolean> {
  try {
    await (await open(file, 'r')).close();
    return true;
  } catch {
    return false;
  }
}

/** Removes bytes after the last newline (a write a crash cut short). Returns whether it cut anything. */
export async function cutTornTail(file: string): Promise<boolean> {
  let text: Buffer;
  try {
    text = await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  if (text.length === 0 || text[text.length - 1] === 0x0a) return false;
  const keep = text.lastIndexOf(0x0a) + 1;
  await truncate(file, keep);
  const handle = await open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

const servesAfter = (entry: LedgerEntry): boolean =>
  entry.outcome === 'succeeded' &&
  (entry.action === 'deploy' || entry.action === 'promote' || entry.action === 'rollback');

const served = (entry: LedgerEntry): ServedVersion => ({
  numericVersion: entry.numericVersion,
  semver: entry.semver,
  digest: entry.digest,
  since: entry,
});

/** What serves now: the version of the last deploy, promote or rollback that succeeded. */
export function current(entries: readonly LedgerEntry[]): ServedVersion | undefined {
  for (let i = entries.length - 1; i >= 0; i--) if (servesAfter(entries[i])) return served(entries[i]);
  return undefined;
}

/** What served before, newest first, one row per time a version took over (current excluded). */
export function history(entries: readonly LedgerEntry[]): ServedVersion[] {
  const takeovers = entries.filter(servesAfter).map(served);
  takeovers.pop();
  return takeovers.reverse();
}

/** The version that served before the current one took over: what `to: previous` means. */
export function previous(entries: readonly LedgerEntry[]): ServedVersion | undefined {
  const now = current(entries);
  return history(entries).find((row) => row.numericVersion !== now?.numericVersion);
}

/**
 * A `started` entry with no outcome after it: a deploy or rollback that a crash interrupted.
 * Returns that entry, or undefined when the last operation finished.
 */
export function unfinished(entries: readonly LedgerEntry[]): LedgerEntry | undefined {
  const last = entries.at(-1);
  return last?.outcome === 'started' ? last : undefined;
}

/** Every numeric version the ledger ever handed out, with the semver and digest it was given. */
export function knownVersions(entries: readonly LedgerEntry[]): Map<number, { semver: string | null; digest: string }> {
  const map = new Map<number, { semver: string | null; digest: string }>();
  for (const entry of entries) {
    const known = map.get(entry.numericVersion);
    map.set(entry.numericVersion, { semver: entry.semver ?? known?.semver ?? null, digest: entry.digest });
  }
  return map;
}

/** semver → numeric version, from the ledger (the newest mapping wins). */
export function numericForSemver(entries: readonly LedgerEntry[], semver: string): number | undefined {
  for (let i = entries.length - 1; i >= 0; i--) if (entries[i].semver === semver) return entries[i].numericVersion;
  return undefined;
}

/** numeric version → semver, from the ledger. */
export function semverForNumeric(entries: readonly LedgerEntry[], numericVersion: number): string | null {
  return knownVersions(entries).get(numericVersion)?.semver ?? null;
}

export function highestNumericVersion(entries: readonly LedgerEntry[]): number {
  return entries.reduce((max, entry) => Math.max(max, entry.numericVersion), 0);
}

/** How a version is named to people: its semver when it has one, else its number. */
export function versionLabel(version: { semver: string | null; numericVersion: number }): string {
  return version.semver ? `${version.semver} (#${version.numericVersion})` : `#${version.numericVersion}`;
}
