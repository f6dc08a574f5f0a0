/** Input parsing the deploy and rollback actions share. */
import { parseDuration } from '../../config/values.js';
import type { Actor } from '../../deploy/environment.js';
import type { GitHubDeployTarget } from '../../deploy/github-deployment.js';
import { ModelshipError } from '../../errors.js';
import { readGitHubContext } from '../../github/context.js';

/** `90`, `90s`, `5m`, `250ms` → seconds. */
export function parseWindowSeconds(value: string, input: string): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  try {
    return parseDuration(value) / 1000;
  } catch {
    throw new ModelshipError(
      'INPUT_INVALID',
      `Input '${input}' must be a duration such as 60s or 5m (or seconds), got '${value}'.`,
    );
  }
}

/**
 * Lease timing from the environment: MODELSHIP_LEASE_TTL_SECONDS (how long a lease lives without renewal,
 * i.e. how soon a crashed run's lease is taken over; default 60) and MODELSHIP_LEASE_WAIT_SECONDS (how long
 * to wait for another run's lease; default 900).
 */
export function leaseSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): {
  leaseTtlMs?: number;
  leaseWaitMs?: number;
} {
  const read = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) {
      throw new ModelshipError('INPUT_INVALID', `${name} must be a positive number of seconds, got '${raw}'.`);
    }
    return value * 1000;
  };
  return { leaseTtlMs: read('MODELSHIP_LEASE_TTL_SECONDS'), leaseWaitMs: read('MODELSHIP_LEASE_WAIT_SECONDS') };
}

/** Who runs this deploy or rollback (for the ledger), and where its GitHub Deployment goes when a token is given. */
export function runIdentity(token: string | undefined): { who: Actor; github?: GitHubDeployTarget } {
  const context = readGitHubContext();
  const who = { actor: context.actor || 'github-actions', runUrl: context.runUrl };
  if (!token) return { who };
  return {
    who,
    github: {
      token,
      owner: context.owner,
      repo: context.repo,
      apiUrl: context.apiUrl,
      ref: context.sha,
      sha: context.sha,
      logUrl: context.runUrl,
    },
  };
}
