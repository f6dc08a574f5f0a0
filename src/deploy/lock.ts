/**
 * A lease lock per model and environment, so two deploys (or a deploy and a rollback) never interleave.
 *
 * The lease is a small JSON file (owner, expiry, a random token). It is acquired atomically by hard-linking
 * a fully written temp file to the lease name (link(2) fails if the name exists, and the file is complete
 * the instant it appears); renewed while the holder works (rename over it, after checking the token is
 * still ours); released by unlinking it. A lease whose holder crashed is taken over once it has expired,
 * with a warning naming its owner. Expiry compares wall clocks, so hosts sharing a volume need synced clocks.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { link, mkdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ModelshipError } from '../errors.js';
import type { Logger } from '../log.js';
import { fsyncDirectory, siblingTempPath, writeFileAtomic } from './durable-files.js';

export interface LeaseInfo {
  owner: string;
  host: string;
  pid: number;
  token: string;
  acquiredAt: string;
  expiresAt: string;
}

export interface LeaseOptions {
  /** Who holds it, as people read it: actor and run URL, or user@host for the CLI. */
  owner: string;
  /** How long the lease lasts without renewal. Renewed every third of it. Default 60 s. */
  ttlMs?: number;
  /** How long to wait for a lease someone else holds. Default 15 minutes. */
  waitMs?: number;
  /** How often to look again while waiting. Default 250 ms. */
  pollMs?: number;
  logger: Logger;
}

export interface Lease {
  readonly info: LeaseInfo;
  readonly file: string;
  /** Throws LOCK_LOST when the lease was taken over or renewal failed; call before each change. */
  assertHeld(): Promise<void>;
  release(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function readLease(file: string): Promise<LeaseInfo | undefined | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const value = JSON.parse(text) as LeaseInfo;
    if (typeof value.token === 'string' && typeof value.expiresAt === 'string') return value;
  } catch {
    // falls through
  }
  return 'unreadable';
}

const describeHolder = (info: LeaseInfo) => `${info.owner} (pid ${info.pid} on ${info.host})`;

/** Waits for and takes the lease at `file`. */
export async function acquireLease(file: string, options: LeaseOptions): Promise<Lease> {
  const ttlMs = options.ttlMs ?? 60_000;
  const waitMs = options.waitMs ?? 15 * 60_000;
  const pollMs = options.pollMs ?? 250;
  const { logger } = options;
  await mkdir(dirname(file), { recursive: true });

  const started = Date.now();
  let lastWaitLog = 0;
  for (;;) {
    const now = Date.now();
    const info: LeaseInfo = {
      owner: options.owner,
      host: hostname(),
      pid: process.pid,
      token: randomBytes(12).toString('hex'),
      acquiredAt: new Date(now).toISOString(),
      expiresAt: new Date(now + ttlMs).toISOString(),
    };
    const temp = siblingTempPath(file);
    await writeFile(temp, JSON.stringify(info) + '\n', { flag: 'wx' });
    try {
      await link(temp, file);
      await fsyncDirectory(dirname(file));
      return startLease(file, info, ttlMs, logger);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await rm(temp, { force: true });
    }

    const held = await readLease(file);
    if (held === undefined) continue; // released between our link and our read: try again at once
    const expiresAt =
      held === 'unreadable'
        ? ((await stat(file).catch(() => undefined))?.mtimeMs ?? 0) + ttlMs
        : Date.parse(held.expiresAt);
    if (Date.now() > expiresAt) {
      const who = held === 'unreadable' ? 'an unknown owner (unreadable lease file)' : describeHolder(held);
      logger.warn(
        `Taking over the deploy lease held by ${who}, which expired at ${new Date(expiresAt).toISOString()}: that deploy did not finish (crashed or was cancelled). Its ledger entries are checked next.`,
      );
      await reap(file, held === 'unreadable' ? undefined : held.token);
      continue;
    }
    if (Date.now() - started > waitMs) {
      throw new ModelshipError(
        'LOCK_TIMEOUT',
        `Another deploy holds the lease ${file}: ${held === 'unreadable' ? 'unknown owner' : describeHolder(held)}, until ${new Date(expiresAt).toISOString()}. Waited ${Math.round(waitMs / 1000)} s.`,
        'Wait for that deploy to finish, or cancel it; a lease left by a crashed run expires by itself.',
      );
    }
    if (Date.now() - lastWaitLog > 10_000) {
      lastWaitLog = Date.now();
      logger.info(
        `Waiting for the deploy lease held by ${held === 'unreadable' ? 'an unknown owner' : describeHolder(held)} (expires ${new Date(expiresAt).toISOString()} unless renewed).`,
      );
    }
    await sleep(pollMs);
  }
}

/**
 * Moves an expired lease out of the way. Rename is atomic, so of two processes reaping the same stale lease
 * one gets it; if what we moved turns out to be a fresh lease someone just took, it is put back.
 */
async function reap(file: string, staleToken: string | undefined): Promise<void> {
  const aside = siblingTempPath(file, 'expired');
  try {
    await rename(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = await readLease(aside);
  if (staleToken !== undefined && moved !== undefined && moved !== 'unreadable' && moved.token !== staleToken) {
    await link(aside, file).catch(() => undefined);
  }
  await unlink(aside).catch(() => undefined);
}

function startLease(file: string, info: LeaseInfo, ttlMs: number, logger: Logger): Lease {
  let lost: string | undefined;
  let released = false;
  let renewing: Promise<void> = Promise.resolve();

  const renew = async () => {
    if (released || lost) return;
    const held = await readLease(file);
    if (held === undefined || held === 'unreadable' || held.token !== info.token) {
      lost = held && held !== 'unreadable' ? `taken over by ${describeHolder(held)}` : 'its file was removed';
      logger.error(`Lost the deploy lease ${file}: ${lost}.`);
      return;
    }
    const renewed: LeaseInfo = { ...info, expiresAt: new Date(Date.now() + ttlMs).toISOString() };
    await writeFileAtomic(file, JSON.stringify(renewed) + '\n');
  };
  const timer = setInterval(
    () => {
      renewing = renewing.then(renew).catch((error: unknown) => {
        lost = `renewal failed: ${(error as Error).message}`;
      });
    },
    Math.max(50, Math.floor(ttlMs / 3)),
  );
  timer.unref();

  return {
    info,
    file,
    async assertHeld() {
      await renewing;
      if (!lost) {
        const held = await readLease(file);
        if (held === undefined || held === 'unreadable' || held.token !== info.token) lost = 'taken over';
      }
      if (lost) {
        throw new ModelshipError(
          'LOCK_LOST',
          `This deploy no longer holds the lease ${file} (${lost}); stopping before changing anything else.`,
          'Another deploy took over an expired lease: this one ran longer than the lease without renewing (a blocked process?). Re-run it.',
        );
      }
    },
    async release() {
      released = true;
      clearInterval(timer);
      await renewing.catch(() => undefined);
      const held = await readLease(file);
      if (held && held !== 'unreadable' && held.token === info.token) {
        await unlink(file).catch(() => undefined);
      }
    },
  };
}
