/**
 * A Triton-layout model repository on disk: `<repo>/<model>/config.pbtxt` and `<repo>/<model>/<N>/model.onnx`,
 * N a positive integer without a leading zero.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ModelshipError } from '../errors.js';
import { defaultModelConfig, parseModelConfigText, versionsInPolicy, type ModelConfig } from './model-config.js';

/** Names a model folder may have: also safe as one path segment. */
export const MODEL_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

export const isModelName = (name: string) =>
  MODEL_NAME.test(name) && name !== '.' && name !== '..' && name.length <= 200;

export interface VersionFolder {
  version: number;
  /** The model file the config names (default `model.onnx`). */
  file: string;
  /** Changes when the file is replaced: size, modification time and inode. */
  fingerprint: string;
}

export interface ModelFolder {
  name: string;
  dir: string;
  config: ModelConfig;
  /** Whether config.pbtxt exists (otherwise the config is completed from the model). */
  hasConfigFile: boolean;
  /** Versions the policy selects, ascending, each with its file. */
  versions: VersionFolder[];
}

/** Model folders in the repository, sorted. Hidden entries and plain files are skipped. */
export async function listModelNames(repository: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(repository, { withFileTypes: true });
  } catch (error) {
    throw new ModelshipError(
      'REPOSITORY_NOT_FOUND',
      `Cannot read the model repository ${repository}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
      'Pass --repository with a folder that holds one folder per model.',
    );
  }
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && isModelName(e.name))
    .map((e) => e.name)
    .sort();
}

export async function modelFolderExists(repository: string, name: string): Promise<boolean> {
  if (!isModelName(name)) return false;
  try {
    return (await stat(path.join(repository, name))).isDirectory();
  } catch {
    return false;
  }
}

const unavailable = (message: string, hint?: string, file?: string) =>
  new ModelshipError('MODEL_UNAVAILABLE', message, hint, file ? { file } : undefined);

/**
 * Reads one model folder: its config and the version folders its version policy selects. Throws the
 * reason Triton would refuse the model: a bad config, a version folder named like `01`, a missing model file.
 */
export async function readModelFolder(repository: string, name: string): Promise<ModelFolder> {
  const dir = path.join(repository, name);
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    throw new ModelshipError(
      'MODEL_NOT_FOUND',
      `Model '${name}' has no folder in the repository.`,
      `Create ${dir} with config.pbtxt and a version folder such as 1/model.onnx.`,
    );
  }
  const configPath = path.join(dir, 'config.pbtxt');
  let config: ModelConfig;
  let hasConfigFile = true;
  try {
    config = parseModelConfigText(await readFile(configPath, 'utf8'), name, configPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    config = defaultModelConfig(name);
    hasConfigFile = false;
  }

  const present: number[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    if (/^[1-9][0-9]*$/.test(entry.name) && Number.isSafeInteger(Number(entry.name))) present.push(Number(entry.name));
    else if (/^[0-9]+$/.test(entry.name)) {
      throw unavailable(
        `Model '${name}' has a version folder '${entry.name}': versions are positive integers without a leading zero.`,
        `Rename ${path.join(dir, entry.name)} to ${Number(entry.name) > 0 ? String(Number(entry.name)) : 'a positive integer such as 1'}.`,
        path.join(dir, entry.name),
      );
    }
  }
  if (present.length === 0) {
    throw unavailable(
      `Model '${name}' has no version folders.`,
      `Put the model at ${path.join(dir, '1', config.defaultModelFilename)}.`,
      dir,
    );
  }
  const { versions, missing } = versionsInPolicy(config.versionPolicy, present);
  if (missing.length > 0) {
    throw unavailable(
      `Model '${name}': version_policy names version${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which ${missing.length > 1 ? 'have' : 'has'} no folder.`,
      `Versions present: ${present.sort((a, b) => a - b).join(', ')}.`,
      hasConfigFile ? configPath : dir,
    );
  }
  const folders: VersionFolder[] = [];
  for (const version of versions) {
    const file = path.join(dir, String(version), config.defaultModelFilename);
    let info;
    try {
      info = await stat(file);
    } catch {
      throw unavailable(
        `Model '${name}' version ${version} has no ${config.defaultModelFilename}.`,
        `Put the ONNX model at ${file}.`,
        file,
      );
    }
    if (!info.isFile())
      throw unavailable(`Model '${name}' version ${version}: ${file} is not a file.`, undefined, file);
    folders.push({ version, file, fingerprint: `${info.size}:${info.mtimeMs}:${info.ino}` });
  }
  return { name, dir, config, hasConfigFile, versions: folders };
}

/**
 * A cheap digest of a model folder (names, sizes and times of its config and version files), for poll mode
 * to notice a change without reading the files.
 */
export async function modelFolderStamp(repository: string, name: string): Promise<string> {
  const dir = path.join(repository, name);
  const parts: string[] = [];
  const visit = async (folder: string, depth: number) => {
    const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.') || entry.name === 'routing.json') continue;
      const full = path.join(folder, entry.name);
      if (entry.isDirectory() && depth === 0) await visit(full, 1);
      else if (entry.isFile()) {
        const info = await stat(full).catch(() => undefined);
        if (info) parts.push(`${path.relative(dir, full)}:${info.size}:${info.mtimeMs}`);
      }
    }
  };
  await visit(dir, 0);
  return parts.join('|');
}

/** Writes a file so readers see the old content or the new, never a part: a temporary file, then rename. */
export async function writeFileAtomic(file: string, content: string | Uint8Array): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, content);
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Versions a set of folders selects under a policy, for checks made before anything is written. */
export async function versionFoldersPresent(repository: string, name: string): Promise<number[]> {
  const entries = await readdir(path.join(repository, name), { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && /^[1-9][0-9]*$/.test(e.name)).map((e) => Number(e.name));
}
