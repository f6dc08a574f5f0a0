import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLease } from '../../src/deploy/lock.js';
import { memoryLogger } from '../../src/log.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelship-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('lease lock', () => {
  it('serializes two holders: the second gets the lease only after the first releases it', async () => {
    const file = join(dir, 'lease.json');
    const log = memoryLogger();
    const events: string[] = [];
    const worker = async (name: string) => {
      const lease = await acquireLease(file, { owner: name, logger: log, pollMs: 20 });
      events.push(`${name} in`);
      await sleep(150);
      events.push(`${name} out`);
      await lease.release();
    };
    await Promise.all([worker('a'), worker('b')]);
    expect(events).toHaveLength(4);
    expect(events[0].endsWith(' in')).toBe(true);
    expect(events[1]).toBe(events[0].replace(' in', ' out'));
  });

  it('renews while held, so a live holder is never taken over', async () => {
    const file = join(dir, 'lease.json');
    const lease = await acquireLease(file, { owner: 'a', ttlMs: 300, logger: memoryLogger() });
    const first = JSON.parse(await readFile(file, 'utf8')).expiresAt;
    await sleep(700);
    const renewed = JSON.parse(await readFile(file, 'utf8')).expiresAt;
    expect(Date.parse(renewed)).toBeGreaterThan(Date.parse(first));
    await expect(
      acquireLease(file, { owner: 'b', ttlMs: 300, waitMs: 200, logger: memoryLogger() }),
    ).rejects.toMatchObject({
      code: 'LOCK_TIMEOUT',
    });
    await lease.assertHeld();
    await lease.release();
  });

  it('takes over a lease whose holder was killed, once it expires, warning with the owner', async () => {
    const file = join(dir, 'lease.json');
    const script = `
      import { acquireLease } from ${JSON.stringify(resolve('src/deploy/lock.ts'))};
      import { silentLogger } from ${JSON.stringify(resolve('src/log.ts'))};
      await acquireLease(${JSON.stringify(file)}, { owner: 'crashed-run', ttlMs: 400, logger: silentLogger });
      process.stdout.write('held\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((done) => child.stdout.on('data', () => done()));
    child.kill('SIGKILL');
    await new Promise((done) => child.on('exit', done));
    const log = memoryLogger();
    const started = Date.now();
    const lease = await acquireLease(file, { owner: 'next', ttlMs: 400, logger: log, pollMs: 20 });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(log.lines.some((line) => line.startsWith('warn:') && line.includes('crashed-run'))).toBe(true);
    expect(lease.info.owner).toBe('next');
    await lease.release();
  });

  it('notices a lease that was taken from it', async () => {
    const file = join(dir, 'lease.json');
    const lease = await acquireLease(file, { owner: 'a', logger: memoryLogger() });
    await writeFile(file, JSON.stringify({ ...lease.info, token: 'someone-else', owner: 'b' }));
    await expect(lease.assertHeld()).rejects.toMatchObject({ code: 'LOCK_LOST' });
    await lease.release();
    expect(JSON.parse(await readFile(file, 'utf8')).owner).toBe('b');
  });
});
