/**
 * The bump rule: how much a model's version moves, decided from what a caller of the model can see.
 * A caller sends inputs and reads outputs by name, dtype and shape, and maps class indices to labels:
 * - major: an input or output removed or changed (name, dtype, an incompatible shape), a new required
 *   input, a changed label set (added, removed or reordered labels change what an index means);
 * - minor: an added output, a widened dimension (the new model accepts every shape the old one did);
 * - patch: the same signature and labels with new weights.
 * Inputs and outputs are matched by name, as the Open Inference Protocol addresses them.
 */
import semver from 'semver';
import { ModelshipError } from '../errors.js';
import type { Signature, TensorSignature } from '../runtime/tensor.js';

export type Bump = 'major' | 'minor' | 'patch';
export type BumpRequest = Bump | 'auto';
export const bumpRequests: readonly BumpRequest[] = ['auto', 'major', 'minor', 'patch'];

/** What versioning knows about one model version. */
export interface ModelFacts {
  signature: Signature;
  /** Class labels by index; undefined when the model declares none. */
  labels?: string[];
  digest?: string;
}

export type ChangeLevel = 'major' | 'minor' | 'none';

/** One row of a signature diff: an input or output before and after. */
export interface TensorDiff {
  role: 'input' | 'output';
  name: string;
  before?: TensorSignature;
  after?: TensorSignature;
  status: 'same' | 'added' | 'removed' | 'changed';
  level: ChangeLevel;
  /** Plain-words differences, each a phrase such as `datatype FP32 → FP64`. */
  changes: string[];
}

export interface Difference {
  level: 'major' | 'minor';
  text: string;
}

export interface BumpDecision {
  bump: Bump;
  /** One sentence per difference, the most severe first; what the job summary and `bump-reason` show. */
  reason: string;
  differences: Difference[];
  tensors: TensorDiff[];
}

const rank: Record<ChangeLevel, number> = { none: 0, minor: 1, major: 2 };
const maxLevel = (a: ChangeLevel, b: ChangeLevel): ChangeLevel => (rank[a] >= rank[b] ? a : b);

export const formatShape = (shape: ReadonlyArray<number | string>): string =>
  `[${shape.map((d) => (typeof d === 'number' && d < 0 ? '?' : String(d))).join(', ')}]`;

const isVariable = (dim: number | string): boolean => typeof dim === 'string' || dim < 0;

/** Compares shapes as a caller sees them: inputs must accept what they accepted, outputs keep their promise. */
function compareShapes(
  role: 'input' | 'output',
  before: ReadonlyArray<number | string>,
  after: ReadonlyArray<number | string>,
): { level: ChangeLevel; changes: string[] } {
  const shapes = `${formatShape(before)} → ${formatShape(after)}`;
  if (before.length !== after.length) {
    return { level: 'major', changes: [`rank ${before.length} → ${after.length}, shape ${shapes}`] };
  }
  let level: ChangeLevel = 'none';
  const changes: string[] = [];
  before.forEach((old, axis) => {
    const now = after[axis];
    if (isVariable(old) && isVariable(now)) return;
    if (!isVariable(old) && !isVariable(now)) {
      if (old !== now) {
        level = 'major';
        changes.push(`dimension ${axis} is ${now} instead of ${old}`);
      }
      return;
    }
    if (!isVariable(old)) {
      level = maxLevel(level, 'minor');
      changes.push(`dimension ${axis} widened from ${old} to variable`);
    } else if (role === 'input') {
      level = 'major';
      changes.push(`dimension ${axis} narrowed from variable to ${now}; callers sending other sizes break`);
    } else {
      level = maxLevel(level, 'minor');
      changes.push(`dimension ${axis} is now always ${now}`);
    }
  });
  if (changes.length > 0) changes[changes.length - 1] += ` (shape ${shapes})`;
  return { level, changes };
}

/** Every input and output of both signatures, matched by name, in the order of the newer model. */
export function diffSignatures(before: Signature, after: Signature): TensorDiff[] {
  const rows: TensorDiff[] = [];
  for (const role of ['input', 'output'] as const) {
    const olds = role === 'input' ? before.inputs : before.outputs;
    const news = role === 'input' ? after.inputs : after.outputs;
    const oldByName = new Map(olds.map((t) => [t.name, t]));
    const newNames = new Set(news.map((t) => t.name));
    for (const now of news) {
      const old = oldByName.get(now.name);
      if (!old) {
        // A new input is one more thing every caller must send; a new output breaks no one.
        const level = role === 'input' ? 'major' : 'minor';
        const text = role === 'input' ? 'new required input' : 'new output';
        rows.push({ role, name: now.name, after: now, status: 'added', level, changes: [text] });
        continue;
      }
      let level: ChangeLevel = 'none';
      const changes: string[] = [];
      if (old.datatype !== now.datatype) {
        level = 'major';
        changes.push(`datatype ${old.datatype} → ${now.datatype}`);
      }
      const shape = compareShapes(role, old.shape, now.shape);
      level = maxLevel(level, shape.level);
      changes.push(...shape.changes);
      rows.push({
        role,
        name: now.name,
        before: old,
        after: now,
        status: changes.length > 0 ? 'changed' : 'same',
        level,
        changes,
      });
    }
    for (const old of olds) {
      if (!newNames.has(old.name)) {
        rows.push({ role, name: old.name, before: old, status: 'removed', level: 'major', changes: ['removed'] });
      }
    }
  }
  return rows;
}

function compareLabels(before: string[] | undefined, after: string[] | undefined): Difference[] {
  if (before === undefined && after === undefined) return [];
  if (before === undefined) return [{ level: 'minor', text: `the model now declares ${after!.length} labels` }];
  if (after === undefined) return [{ level: 'major', text: 'the model no longer declares its labels' }];
  const added = after.filter((l) => !before.includes(l));
  const removed = before.filter((l) => !after.includes(l));
  const parts: string[] = [];
  if (added.length > 0) parts.push(`added ${added.map((l) => `'${l}'`).join(', ')}`);
  if (removed.length > 0) parts.push(`removed ${removed.map((l) => `'${l}'`).join(', ')}`);
  if (parts.length === 0 && before.some((l, i) => after[i] !== l)) {
    parts.push(`reordered (${before.join(', ')} → ${after.join(', ')}), so class indices mean other labels`);
  }
  return parts.length === 0 ? [] : [{ level: 'major', text: `label set changed: ${parts.join('; ')}` }];
}

const describeTensor = (row: TensorDiff): string => `${row.role} '${row.name}': ${row.changes.join(', ')}`;

/** The bump from `previous` to `next`, with the reason in plain words. */
export function decideBump(previous: ModelFacts, next: ModelFacts): BumpDecision {
  const tensors = diffSignatures(previous.signature, next.signature);
  const differences: Difference[] = [];
  for (const row of tensors) {
    if (row.level !== 'none') differences.push({ level: row.level, text: describeTensor(row) });
  }
  differences.push(...compareLabels(previous.labels, next.labels));
  differences.sort((a, b) => rank[b.level] - rank[a.level]);

  if (differences.some((d) => d.level === 'major')) {
    const breaking = differences.filter((d) => d.level === 'major').map((d) => d.text);
    const compatible = differences.filter((d) => d.level === 'minor').map((d) => d.text);
    const also = compatible.length > 0 ? ` Also: ${compatible.join('; ')}.` : '';
    return { bump: 'major', reason: `Breaking change: ${breaking.join('; ')}.${also}`, differences, tensors };
  }
  if (differences.length > 0) {
    const text = differences.map((d) => d.text).join('; ');
    return { bump: 'minor', reason: `Compatible change: ${text}.`, differences, tensors };
  }
  const weights =
    previous.digest && next.digest && previous.digest !== next.digest
      ? `new weights (${shortDigest(previous.digest)} → ${shortDigest(next.digest)})`
      : 'new weights';
  return { bump: 'patch', reason: `Same signature and labels, ${weights}.`, differences, tensors };
}

export const shortDigest = (digest: string): string => digest.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]+$/, '$1');

const PRERELEASE_ID = /^[0-9A-Za-z-]+$/;

/** Throws unless `id` can stand before the counter in `1.3.0-<id>.N`. */
export function validatePrereleaseId(id: string): string {
  if (PRERELEASE_ID.test(id) && !/^\d+$/.test(id)) return id;
  throw new ModelshipError(
    'PRERELEASE_INVALID',
    `Prerelease '${id}' is not a usable SemVer prerelease identifier.`,
    "Use letters, digits and '-' with at least one letter, e.g. 'rc', 'beta' or 'canary'; modelship appends the counter ('rc' gives 1.3.0-rc.1, then 1.3.0-rc.2).",
  );
}

export interface NextVersionOptions {
  /** `rc` gives `1.3.0-rc.1`, then `1.3.0-rc.2`, counting the existing versions. */
  prerelease?: string;
  /** The version of a model with no versions yet. */
  firstVersion: '0.1.0' | '1.0.0' | string;
  /** Every version of this model that already has a tag. */
  existingVersions: readonly string[];
}

/**
 * The version after `previous` for `bump`. From a prerelease the bump follows SemVer (npm's `inc`):
 * after 1.3.0-rc.2 a patch or minor change gives 1.3.0 (or 1.3.0-rc.3), a major one 2.0.0.
 */
export function nextVersion(previous: string | undefined, bump: Bump, options: NextVersionOptions): string {
  let core: string;
  if (previous === undefined) {
    const first = semver.valid(options.firstVersion);
    if (!first || first !== options.firstVersion || semver.prerelease(first)) {
      throw new ModelshipError(
        'VERSION_INVALID',
        `First version '${options.firstVersion}' is not a plain MAJOR.MINOR.PATCH version.`,
        "Use '0.1.0' or '1.0.0'.",
      );
    }
    core = first;
  } else {
    const next = semver.inc(previous, bump);
    if (!next) throw new ModelshipError('VERSION_INVALID', `Previous version '${previous}' is not SemVer 2.0.`);
    core = next;
  }
  if (options.prerelease === undefined) return core;
  const id = validatePrereleaseId(options.prerelease);
  let highest = 0;
  for (const existing of options.existingVersions) {
    const parsed = semver.parse(existing);
    if (!parsed || `${parsed.major}.${parsed.minor}.${parsed.patch}` !== core) continue;
    const [tagId, counter, ...rest] = parsed.prerelease;
    if (tagId === id && typeof counter === 'number' && rest.length === 0) highest = Math.max(highest, counter);
  }
  const version = `${core}-${id}.${highest + 1}`;
  if (previous !== undefined && semver.lte(version, previous)) {
    throw new ModelshipError(
      'PRERELEASE_ORDER',
      `Prerelease ${version} would sort before the existing ${previous}.`,
      `Prerelease identifiers compare as text ('alpha' < 'beta' < 'rc'); keep using the one ${previous} has, or release without a prerelease.`,
    );
  }
  return version;
}

/** The highest version by SemVer precedence (build metadata breaks ties by text, so the answer is stable). */
export function highestVersion(versions: Iterable<string>): string | undefined {
  let best: string | undefined;
  for (const version of versions) {
    if (!semver.valid(version)) continue;
    if (best === undefined) {
      best = version;
      continue;
    }
    const order = semver.compare(version, best);
    if (order > 0 || (order === 0 && version > best)) best = version;
  }
  return best;
}

/** Versions sorted highest first by SemVer precedence. */
export function sortVersionsDescending(versions: Iterable<string>): string[] {
  return [...versions]
    .filter((v) => semver.valid(v))
    .sort((a, b) => semver.compare(b, a) || (a < b ? 1 : a > b ? -1 : 0));
}
