/**
 * A Triton-layout model repository on disk, changed so that Triton (or `modelship serve`) reading it at any
 * instant sees a loadable model: a new version folder appears whole (written as a dot-named temp folder in
 * the same model folder, fsynced, renamed), config.pbtxt is replaced atomically, and a version is removed by
 * renaming it out of sight before deleting it. Triton ignores subfolders that are not numbers, so the temp
 * folders never look like versions.
 */
import { copyFile, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ModelshipError } from '../errors.js';
import { fsyncDirectory, fsyncFile, siblingTempPath, writeFileAtomic } from './durable-files.js';
import { crashPoint } from './fault-injection.js';
import { readVersionPolicy, renderMinimalConfig, withVersionPolicy, type VersionPolicy } from './triton-config.js';

export const MODEL_FILE = 'model.onnx';
export const DEFAULT_KEEP = 3;

const VERSION_NAME = /^[1-9][0-9]*$/;

export interface ModelRepository {
  root: string;
  model: string;
}

export const modelDir = (repo: ModelRepository) => join(repo.root, repo.model);
export const versionDir = (repo: ModelRepository, version: number) => join(modelDir(repo), String(version));
export const versionModelFile = (repo: ModelRepository, version: number) => join(versionDir(repo, version), MODEL_FILE);
const configFile = (repo: ModelRepository) => join(modelDir(repo), 'config.pbtxt');

/** Version folders present on disk, ascending. */
export async function listVersions(repo: ModelRepository): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(modelDir(repo));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const versions: number[] = [];
  for (const name of names) {
    if (!VERSION_NAME.test(name)) continue;
    const info = await stat(join(modelDir(repo), name)).catch(() => undefined);
    if (info?.isDirectory()) versions.push(Number(name));
  }
  return versions.sort((a, b) => a - b);
}

/** The next version number: above every folder on disk and every number the ledger ever handed out. */
export function nextVersion(onDisk: readonly number[], highestInLedger: number): number {
  return Math.max(highestInLedger, ...onDisk, 0) + 1;
}

/** Removes temp and set-aside folders a crashed deploy left in the model folder. Returns what it removed. */
export async function removeLeftovers(repo: ModelRepository): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(modelDir(repo));
  } catch {
    return [];
  }
  const leftovers = names.filter((name) => /^\.(version-\d+|config\.pbtxt|removed-\d+)\.[a-z]+-/.test(name));
  for (const name of leftovers) await rm(join(modelDir(repo), name), { recursive: true, force: true });
  return leftovers;
}

/**
 * Writes `source` (and its external data files) as version `version`: copied into a temp folder beside the
 * version folders, files and folder fsynced, then renamed into place. The version folder must not exist yet.
 */
export async function writeVersion(
  repo: ModelRepository,
  version: number,
  source: string,
  externalData: readonly string[] = [],
): Promise<string> {
  const dir = modelDir(repo);
  await mkdir(dir, { recursive: true });
  const target = versionDir(repo, version);
  if (await stat(target).catch(() => undefined)) {
    throw new ModelshipError(
      'VERSION_EXISTS',
      `Version folder ${target} already exists.`,
      'The ledger and the repository disagree about which versions exist; remove the stray folder or restore the ledger.',
    );
  }
  const temp = siblingTempPath(join(dir, `version-${version}`));
  await mkdir(temp);
  try {
    const file = join(temp, MODEL_FILE);
    await copyFile(source, file);
    await fsyncFile(file);
    // External data locations are relative to the model file, so they keep their relative paths.
    for (const location of externalData) {
      const copy = join(temp, location);
      await mkdir(dirname(copy), { recursive: true });
      await copyFile(join(dirname(source), location), copy);
      await fsyncFile(copy);
      if (dirname(copy) !== temp) await fsyncDirectory(dirname(copy));
    }
    await fsyncDirectory(temp);
    crashPoint('mid-version-copy');
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  await fsyncDirectory(dir);
  return join(target, MODEL_FILE);
}

/** Removes a version folder: renamed out of sight first (Triton sees it go at once), then deleted. */
export async function removeVersion(repo: ModelRepository, version: number): Promise<void> {
  const target = versionDir(repo, version);
  const aside = siblingTempPath(join(modelDir(repo), `removed-${version}`), 'gone');
  try {
    await rename(target, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  await fsyncDirectory(modelDir(repo));
  await rm(aside, { recursive: true, force: true });
}

export async function readConfig(repo: ModelRepository): Promise<string | undefined> {
  try {
    return await readFile(configFile(repo), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export async function readPolicy(repo: ModelRepository): Promise<VersionPolicy | undefined> {
  const text = await readConfig(repo);
  return text === undefined ? undefined : readVersionPolicy(text);
}

/**
 * Sets config.pbtxt's version_policy to exactly `versions` (atomically). A missing config.pbtxt is created
 * minimal; an existing one keeps everything but its policy.
 */
export async function setVersionPolicy(repo: ModelRepository, versions: readonly number[]): Promise<void> {
  await mkdir(modelDir(repo), { recursive: true });
  const existing = await readConfig(repo);
  const text =
    existing === undefined ? renderMinimalConfig(repo.model, versions) : withVersionPolicy(existing, versions);
  if (text !== existing) await writeFileAtomic(configFile(repo), text);
}

/**
 * Which versions retention removes: everything but the newest `keep` and the protected ones (the version
 * serving and the one before it, whatever their age).
 */
export function versionsToRemove(onDisk: readonly number[], keep: number, protect: Iterable<number>): number[] {
  const kept = new Set([...onDisk].sort((a, b) => b - a).slice(0, Math.max(1, keep)));
  for (const version of protect) kept.add(version);
  return onDisk.filter((version) => !kept.has(version));
}

/** Applies retention; returns the versions removed. */
export async function applyRetention(
  repo: ModelRepository,
  keep: number,
  protect: Iterable<number>,
): Promise<number[]> {
  const doomed = versionsToRemove(await listVersions(repo), keep, protect);
  for (const version of doomed) await removeVersion(repo, version);
  return doomed;
}
