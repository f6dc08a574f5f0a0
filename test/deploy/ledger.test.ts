import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appendLedgerEntry,
  current,
  history,
  knownVersions,
  numericForSemver,
  parseLedger,
  previous,
  readLedger,
  semverForNumeric,
  unfinished,
  type LedgerEntry,
} from '../../src/deploy/ledger.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelship-ledger-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

let clock = Date.parse('2026-01-01T00:00:00Z');
function entry(
  partial: Partial<LedgerEntry> & Pick<LedgerEntry, 'action' | 'outcome' | 'numericVersion'>,
): LedgerEntry {
  clock += 1000;
  return {
    time: new Date(clock).toISOString(),
    actor: 'alice',
    runUrl: null,
    semver: `1.0.${partial.numericVersion}`,
    digest: `sha256:${String(partial.numericVersion).repeat(64).slice(0, 64)}`,
    reason: null,
    ...partial,
  };
}

describe('ledger answers', () => {
  const v1 = entry({ action: 'deploy', outcome: 'succeeded', numericVersion: 1 });
  const v2started = entry({ action: 'deploy', outcome: 'started', numericVersion: 2 });
  const v2 = entry({ action: 'deploy', outcome: 'succeeded', numericVersion: 2 });
  const v3started = entry({ action: 'deploy', outcome: 'started', numericVersion: 3 });
  const v3failed = entry({ action: 'deploy', outcome: 'rolled-back', numericVersion: 3, reason: 'smoke failed' });

  it('current is the last version that took over; failed deploys do not count', () => {
    expect(current([])).toBeUndefined();
    expect(current([v1])?.numericVersion).toBe(1);
    expect(current([v1, v2started])?.numericVersion).toBe(1);
    expect(current([v1, v2started, v2, v3started, v3failed])?.numericVersion).toBe(2);
  });

  it('history lists earlier takeovers newest first; previous skips the current version', () => {
    const rollback = entry({ action: 'rollback', outcome: 'succeeded', numericVersion: 1, semver: '1.0.1' });
    const entries = [v1, v2started, v2, v3started, v3failed, rollback];
    expect(current(entries)?.numericVersion).toBe(1);
    expect(history(entries).map((row) => row.numericVersion)).toEqual([2, 1]);
    expect(previous(entries)?.numericVersion).toBe(2);
    expect(previous([v1])).toBeUndefined();
  });

  it('a canary counts once promoted, never when aborted', () => {
    const started = entry({ action: 'deploy', outcome: 'started', numericVersion: 4 });
    const promoted = entry({ action: 'promote', outcome: 'succeeded', numericVersion: 4 });
    const aborted = entry({ action: 'abort', outcome: 'rolled-back', numericVersion: 4 });
    expect(current([v1, started, aborted])?.numericVersion).toBe(1);
    expect(current([v1, started, promoted])?.numericVersion).toBe(4);
  });

  it('finds an operation a crash interrupted', () => {
    expect(unfinished([v1, v2started])?.numericVersion).toBe(2);
    expect(unfinished([v1, v2started, v2])).toBeUndefined();
  });

  it('maps semver and numeric versions both ways', () => {
    const entries = [v1, v2started, v2];
    expect(numericForSemver(entries, '1.0.2')).toBe(2);
    expect(numericForSemver(entries, '9.9.9')).toBeUndefined();
    expect(semverForNumeric(entries, 1)).toBe('1.0.1');
    expect([...knownVersions(entries).keys()]).toEqual([1, 2]);
  });
});

describe('ledger file', () => {
  it('appends whole lines and reads them back', async () => {
    const file = join(dir, 'iris', 'production', 'ledger.jsonl');
    const a = entry({ action: 'deploy', outcome: 'started', numericVersion: 1 });
    const b = entry({ action: 'deploy', outcome: 'succeeded', numericVersion: 1 });
    await appendLedgerEntry(file, a);
    await appendLedgerEntry(file, b);
    const text = await readFile(file, 'utf8');
    expect(text.split('\n')).toHaveLength(3);
    expect((await readLedger(file)).entries).toEqual([a, b]);
  });

  it('a missing ledger is empty', async () => {
    expect(await readLedger(join(dir, 'none.jsonl'))).toEqual({ entries: [] });
  });

  it('reports a torn last line, and the next append cuts it off', async () => {
    const file = join(dir, 'ledger.jsonl');
    const a = entry({ action: 'deploy', outcome: 'succeeded', numericVersion: 1 });
    await appendLedgerEntry(file, a);
    await appendFile(file, '{"time":"2026-01-01T00:00:09Z","actor":"bo');
    const read = await readLedger(file);
    expect(read.entries).toEqual([a]);
    expect(read.torn).toEqual({ line: 2, text: '{"time":"2026-01-01T00:00:09Z","actor":"bo' });
    const b = entry({ action: 'rollback', outcome: 'succeeded', numericVersion: 1 });
    await appendLedgerEntry(file, b);
    expect(await readLedger(file)).toEqual({ entries: [a, b] });
  });

  it('refuses a damaged line in the middle, naming the line', async () => {
    const file = join(dir, 'ledger.jsonl');
    const a = entry({ action: 'deploy', outcome: 'succeeded', numericVersion: 1 });
    await writeFile(file, `${JSON.stringify(a)}\nnot json\n${JSON.stringify(a)}\n`);
    await expect(readLedger(file)).rejects.toMatchObject({ code: 'LEDGER_CORRUPT', location: { file, line: 2 } });
  });

  it('parses text with no trailing newline when the last line is whole', () => {
    const a = entry({ action: 'deploy', outcome: 'succeeded', numericVersion: 1 });
    expect(parseLedger(JSON.stringify(a)).entries).toEqual([a]);
  });

  it('a process killed in the middle of an append leaves a torn line, never a merged one', async () => {
    const file = join(dir, 'ledger.jsonl');
    const a = entry({ action: 'deploy', outcome: 'succeeded', numericVersion: 1 });
    await appendLedgerEntry(file, a);
    const script = `
      import { appendLedgerEntry } from ${JSON.stringify(resolve('src/deploy/ledger.ts'))};
      await appendLedgerEntry(${JSON.stringify(file)}, ${JSON.stringify(entry({ action: 'deploy', outcome: 'started', numericVersion: 2 }))});
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, MODELSHIP_FAULT_INJECT: 'ledger-torn-write' },
      encoding: 'utf8',
    });
    expect(child.signal).toBe('SIGKILL');
    const read = await readLedger(file);
    expect(read.entries).toEqual([a]);
    expect(read.torn?.line).toBe(2);
  });
});
