/**
 * Crash points for crash-consistency tests. This exists ONLY so tests can prove that a deploy killed at
 * any step leaves the repository and the ledger consistent and the old version serving: with
 * `MODELSHIP_FAULT_INJECT=<point>` in the environment, the deploy process sends itself SIGKILL (no
 * cleanup, no finally blocks, no exit handlers: what a power cut or an OOM kill does) when it reaches
 * the named point. Unset, every call is a no-op. Points are listed in CRASH_POINTS.
 */
export const CRASH_POINTS = [
  'after-lease',
  'after-ledger-started',
  'ledger-torn-write',
  'mid-version-copy',
  'after-version-written',
  'after-policy-updated',
  'after-load',
  'after-switch',
  'before-ledger-outcome',
] as const;

export type CrashPoint = (typeof CRASH_POINTS)[number];

const FAULT_ENV = 'MODELSHIP_FAULT_INJECT';

/**
 * Whether the fault hook names this point. With `kill: true` (the default) the process dies here;
 * `kill: false` only asks, for points that need to do half of something first (a torn write).
 */
export function crashPoint(point: CrashPoint, options: { kill?: boolean } = {}): boolean {
  if (process.env[FAULT_ENV] !== point) return false;
  if (options.kill === false) return true;
  process.kill(process.pid, 'SIGKILL');
  return true;
}
