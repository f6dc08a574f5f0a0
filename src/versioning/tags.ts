/**
 * The git tag grammar for model versions and stages. It is GTO's grammar (Git Tag Ops, used by DVC
 * and its model registry), so tags written here read the same in GTO and the other way round:
 *
 *   <name>@v<semver>[#<N>]     register a version          iris@v1.3.0
 *   <name>@v<semver>!#<N>      deregister a version        iris@v1.3.0!#2
 *   <name>#<stage>#<N>         assign a stage (N counts)   iris#prod#3
 *   <name>#<stage>             assign a stage, "simple"    iris#prod
 *   <name>#<stage>!#<N>        unassign a stage            iris#prod!#4
 *   <name>@deprecated[#<N>]    deprecate the model         iris@deprecated
 *
 * Model and stage names follow `[a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?`; versions are SemVer 2.0.
 * modelship writes register tags without a counter and stage tags with one.
 */
import { ModelshipError } from '../errors.js';

export interface RegisterTag {
  kind: 'register';
  name: string;
  /** SemVer without the leading `v`, e.g. `1.3.0-rc.1`. */
  version: string;
  counter?: number;
}

export interface DeregisterTag {
  kind: 'deregister';
  name: string;
  version: string;
  counter?: number;
}

export interface StageTag {
  kind: 'stage';
  name: string;
  stage: string;
  /** Absent only in GTO's "simple" notation (`iris#prod`), which modelship reads but never writes. */
  counter?: number;
}

export interface UnassignTag {
  kind: 'unassign';
  name: string;
  stage: string;
  counter?: number;
}

export interface DeprecateTag {
  kind: 'deprecate';
  name: string;
  counter?: number;
}

export type ParsedTag = RegisterTag | DeregisterTag | StageTag | UnassignTag | DeprecateTag;

const NAME = '[a-zA-Z0-9](?:[a-zA-Z0-9\\-/_]*[a-zA-Z0-9])?';
// The regular expression of semver.org, without the leading `v`.
const SEMVER =
  '(?:0|[1-9]\\d*)\\.(?:0|[1-9]\\d*)\\.(?:0|[1-9]\\d*)' +
  '(?:-(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?' +
  '(?:\\+[0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*)?';
const COUNTER = '(?:0|[1-9]\\d*)';

const nameRe = new RegExp(`^${NAME}$`);
const semverRe = new RegExp(`^${SEMVER}$`);
const tagRe = new RegExp(
  `^(?<name>${NAME})` +
    `(?:@v(?<version>${SEMVER})|#(?<stage>${NAME})|@(?<deprecated>deprecated))` +
    `(?<cancel>!)?` +
    `(?:#(?<counter>${COUNTER}))?$`,
);

/** Reads a tag name (without `refs/tags/`); undefined for a tag that is not in the grammar. */
export function parseTag(tag: string): ParsedTag | undefined {
  const match = tagRe.exec(tag);
  if (!match?.groups) return undefined;
  const { name, version, stage, deprecated, cancel, counter: counterText } = match.groups;
  // Git refuses `//` in a ref, so such a tag cannot exist; reject rather than describe it.
  if (!isValidName(name)) return undefined;
  if (stage !== undefined && !isValidName(stage)) return undefined;
  const counter = counterText === undefined ? undefined : Number(counterText);
  if (counter !== undefined && !Number.isSafeInteger(counter)) return undefined;
  const withCounter = <T extends object>(value: T): T & { counter?: number } =>
    counter === undefined ? value : { ...value, counter };
  if (version !== undefined) {
    return withCounter({ kind: cancel ? 'deregister' : 'register', name, version } as RegisterTag | DeregisterTag);
  }
  if (stage !== undefined) {
    // GTO writes an unassignment always with a counter; `iris#prod!` is not a tag it reads.
    if (cancel && counter === undefined) return undefined;
    return withCounter({ kind: cancel ? 'unassign' : 'stage', name, stage } as StageTag | UnassignTag);
  }
  if (deprecated !== undefined && !cancel) return withCounter({ kind: 'deprecate', name } as DeprecateTag);
  return undefined;
}

/** Writes any parsed tag back; `formatTag(parseTag(t)!) === t` for every tag in the grammar. */
export function formatTag(tag: ParsedTag): string {
  const counter = tag.counter === undefined ? '' : `#${checkCounter(tag.counter)}`;
  validateModelName(tag.name);
  switch (tag.kind) {
    case 'register':
      return `${tag.name}@v${checkVersion(tag.version)}${counter}`;
    case 'deregister':
      return `${tag.name}@v${checkVersion(tag.version)}!${counter}`;
    case 'stage':
      return `${tag.name}#${checkStage(tag.stage)}${counter}`;
    case 'unassign':
      if (tag.counter === undefined) {
        throw new ModelshipError('TAG_INVALID', `An unassignment tag needs a counter (${tag.name}#${tag.stage}!#N).`);
      }
      return `${tag.name}#${checkStage(tag.stage)}!${counter}`;
    case 'deprecate':
      return `${tag.name}@deprecated${counter}`;
  }
}

/** `iris@v1.3.0` */
export function formatRegisterTag(name: string, version: string): string {
  return formatTag({ kind: 'register', name, version });
}

/** `iris#prod#3`: assigns `stage` for the `counter`-th time (counters start at 1). */
export function formatStageTag(name: string, stage: string, counter: number): string {
  return formatTag({ kind: 'stage', name, stage, counter });
}

/** `iris#prod!#4`: takes `stage` away from the model. */
export function formatUnassignTag(name: string, stage: string, counter: number): string {
  return formatTag({ kind: 'unassign', name, stage, counter });
}

/** The prefix every register tag of `name` starts with, for matching-refs and for-each-ref look-ups. */
export function registerTagPrefix(name: string): string {
  validateModelName(name);
  return `${name}@v`;
}

/** The prefix of every stage tag of `name` (assign and unassign, any stage), for prefix look-ups. */
export function stageTagPrefix(name: string): string {
  validateModelName(name);
  return `${name}#`;
}

/**
 * The next stage counter for `name#stage`: one more than the highest counter any tag of the model
 * carries (GTO counts per model across stages and actions, so the counter alone orders events).
 */
export function nextStageCounter(name: string, tags: Iterable<string>): number {
  let highest = 0;
  for (const tag of tags) {
    const parsed = parseTag(tag);
    if (parsed?.name === name && parsed.counter !== undefined) highest = Math.max(highest, parsed.counter);
  }
  return highest + 1;
}

export function isValidName(name: string): boolean {
  return nameRe.test(name) && !name.includes('//');
}

/** Throws a ModelshipError that says what a model name may look like. */
export function validateModelName(name: string, what = 'Model name'): string {
  if (isValidName(name)) return name;
  const reason =
    name === ''
      ? 'is empty'
      : name.includes('//')
        ? "contains '//', which git does not allow in a tag"
        : /^[^a-zA-Z0-9]|[^a-zA-Z0-9]$/.test(name)
          ? 'must start and end with a letter or digit'
          : `contains characters other than letters, digits, '-', '_' and '/'`;
  throw new ModelshipError(
    'MODEL_NAME_INVALID',
    `${what} '${name}' ${reason}.`,
    `Use letters, digits, '-', '_' and '/' (not at either end), e.g. 'iris' or 'team/iris-v2'; this is the GTO name grammar, so '@', '#', '.' and spaces are not allowed.`,
  );
}

function checkStage(stage: string): string {
  return validateModelName(stage, 'Stage name');
}

function checkVersion(version: string): string {
  if (semverRe.test(version)) return version;
  throw new ModelshipError(
    'VERSION_INVALID',
    `'${version}' is not a SemVer 2.0 version.`,
    `Write it as MAJOR.MINOR.PATCH with an optional -prerelease and +build, without a leading 'v', e.g. '1.3.0-rc.1'.`,
  );
}

function checkCounter(counter: number): number {
  if (Number.isSafeInteger(counter) && counter >= 0) return counter;
  throw new ModelshipError('TAG_INVALID', `A tag counter must be a non-negative integer, got ${counter}.`);
}

/** True when `version` is SemVer 2.0 as the tag grammar accepts it (no leading `v`). */
export function isTagVersion(version: string): boolean {
  return semverRe.test(version);
}
