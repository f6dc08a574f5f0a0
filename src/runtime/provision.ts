/**
 * Installs the pinned onnxruntime-node into a tool cache when nothing else provides it: a runner that
 * checked out the action but never ran `npm install`. Only the two packages the runtime needs are fetched
 * (onnxruntime-node and onnxruntime-common; adm-zip and global-agent serve its install script, which is
 * not run), each checked against the sha512 integrity from package-lock.json before a byte is extracted.
 * The tree is built in a staging folder beside its final place and renamed into place in one step, so a
 * concurrent provisioner sees either nothing or a complete tree, and a failed one leaves nothing.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, mkdir, readFile, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import * as tar from 'tar';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { ONNXRUNTIME_PIN } from './onnxruntime-pin.js';

export const DEFAULT_REGISTRY = 'https://registry.npmjs.org/';
const CACHE_NAME = 'modelship-onnxruntime-node';
const MARKER = 'modelship-provisioned.json';
const DOWNLOAD_TIMEOUT_MS = 10 * 60_000;
/** Longer than any download may take, so a live provisioner's staging folder is never removed. */
const STAGING_ABANDONED_MS = 2 * DOWNLOAD_TIMEOUT_MS + 60_000;

export interface ProvisionOptions {
  /** The folder that holds `modelship-onnxruntime-node/<version>/<platform>-<arch>/`. */
  toolCache: string;
  /** npm registry base URL; tarballs are fetched from `<registry>/<name>/-/<name>-<version>.tgz`. */
  registry: string;
  log?: Logger;
  platform?: string;
  arch?: string;
}

interface PinnedPackage {
  readonly name: string;
  readonly version: string;
  readonly integrity: string;
}

/** The registry to download from: explicit, then MODELSHIP_NPM_REGISTRY, then npm's own setting. */
export function registryFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env.MODELSHIP_NPM_REGISTRY || env.npm_config_registry || DEFAULT_REGISTRY;
}

/** The runner's tool cache, or a per-user cache folder when not on a runner. */
export function toolCacheFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  if (env.RUNNER_TOOL_CACHE) return env.RUNNER_TOOL_CACHE;
  if (process.platform === 'win32' && env.LOCALAPPDATA) return path.join(env.LOCALAPPDATA, 'modelship', 'cache');
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'modelship');
}

/** Where the provisioned tree for this platform lives; it holds `node_modules/onnxruntime-node`. */
export function provisionedDir(
  toolCache: string,
  platform: string = process.platform,
  arch: string = process.arch,
): string {
  return path.join(toolCache, CACHE_NAME, ONNXRUNTIME_PIN.node.version, `${platform}-${arch}`);
}

/** The provisioned folder if a complete one is already in the cache, else undefined. */
export async function findProvisioned(
  toolCache: string,
  platform: string = process.platform,
  arch: string = process.arch,
): Promise<string | undefined> {
  const dir = provisionedDir(toolCache, platform, arch);
  return (await isProvisioned(dir)) ? dir : undefined;
}

async function isProvisioned(dir: string): Promise<boolean> {
  try {
    const marker = JSON.parse(await readFile(path.join(dir, MARKER), 'utf8')) as { integrity?: string };
    return marker.integrity === ONNXRUNTIME_PIN.node.integrity;
  } catch {
    return false;
  }
}

export function tarballUrl(registry: string, pkg: PinnedPackage): string {
  const base = registry.endsWith('/') ? registry : registry + '/';
  const file = `${pkg.name.split('/').pop()}-${pkg.version}.tgz`;
  return new URL(`${pkg.name}/-/${file}`, base).toString();
}

/**
 * Returns the folder holding `node_modules/onnxruntime-node` for this platform, downloading and
 * verifying the pinned packages first when the cache does not have them yet. Throws a plain Error
 * saying what failed; the caller turns it into the user-facing error.
 */
export async function provisionOnnxRuntime(options: ProvisionOptions): Promise<string> {
  const log = options.log ?? silentLogger;
  const platform = options.platform ?? process.platform;
  const arch = options.arch ?? process.arch;
  const { node, common, platforms } = ONNXRUNTIME_PIN;
  if (!(platforms as readonly string[]).includes(`${platform}-${arch}`)) {
    throw new Error(
      `onnxruntime-node ${node.version} ships no native binary for ${platform}-${arch} (it has ${platforms.join(', ')})`,
    );
  }

  const existing = await findProvisioned(options.toolCache, platform, arch);
  if (existing) return existing;

  const target = provisionedDir(options.toolCache, platform, arch);
  const versionDir = path.dirname(target);
  await mkdir(versionDir, { recursive: true });
  await removeAbandonedStaging(versionDir, log);
  const staging = path.join(versionDir, `.staging-${process.pid}-${randomBytes(6).toString('hex')}`);
  const tree = path.join(staging, 'tree');
  try {
    await mkdir(path.join(staging, 'downloads'), { recursive: true });
    // Download and verify both before extracting either: nothing unverified ever reaches the disk tree.
    const tarballs: Array<{ pkg: PinnedPackage; file: string }> = [];
    for (const pkg of [common, node]) {
      const file = path.join(staging, 'downloads', `${pkg.name}-${pkg.version}.tgz`);
      await download(tarballUrl(options.registry, pkg), file, pkg, log);
      tarballs.push({ pkg, file });
    }
    let size = 0;
    for (const { pkg, file } of tarballs) {
      const dest = path.join(tree, 'node_modules', pkg.name);
      await mkdir(dest, { recursive: true });
      await tar.x({
        file,
        cwd: dest,
        strip: 1,
        filter: (entryPath, entry) => {
          const keep = keepEntry(entryPath, platform, arch);
          if (keep && 'size' in entry) size += entry.size;
          return keep;
        },
      });
    }
    const binding = path.join(
      tree,
      'node_modules',
      node.name,
      'bin',
      'napi-v6',
      platform,
      arch,
      'onnxruntime_binding.node',
    );
    await access(binding).catch(() => {
      throw new Error(`the ${node.name} ${node.version} tarball has no ${path.relative(tree, binding)}`);
    });
    await writeFile(
      path.join(tree, MARKER),
      JSON.stringify(
        {
          name: node.name,
          version: node.version,
          integrity: node.integrity,
          platform,
          arch,
          registry: options.registry,
        },
        null,
        2,
      ) + '\n',
    );
    log.info(`Extracted ${node.name} ${node.version} for ${platform}-${arch} (${formatMB(size)}).`);
    return await moveIntoPlace(tree, target, log);
  } finally {
    await rm(staging, { recursive: true, force: true });
    // Leave no empty folders behind after a failure (a sibling that won keeps them non-empty).
    await rmdir(versionDir).catch(() => undefined);
    await rmdir(path.dirname(versionDir)).catch(() => undefined);
  }
}

/** Staging folders of provisioners that were killed (a cancelled job) would otherwise stay forever. */
async function removeAbandonedStaging(versionDir: string, log: Logger): Promise<void> {
  const cutoff = Date.now() - STAGING_ABANDONED_MS;
  for (const name of await readdir(versionDir).catch(() => [])) {
    if (!name.startsWith('.staging-')) continue;
    const folder = path.join(versionDir, name);
    const info = await stat(folder).catch(() => undefined);
    if (info && info.mtimeMs < cutoff) {
      log.debug(`Removing ${folder}, left by an interrupted provisioning.`);
      await rm(folder, { recursive: true, force: true });
    }
  }
}

/** Keep everything but the native binaries of other platforms (they are most of the 300 MB). */
function keepEntry(entryPath: string, platform: string, arch: string): boolean {
  const match = /^(?:[^/]+\/)?bin\/napi-v\d+\/([^/]+)(?:\/([^/]+))?/.exec(entryPath.replaceAll('\\', '/'));
  if (!match) return true;
  return match[1] === platform && (match[2] === undefined || match[2] === arch);
}

async function download(url: string, file: string, pkg: PinnedPackage, log: Logger): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
  } catch (error) {
    throw new Error(`GET ${url} failed: ${causeMessage(error)}`);
  }
  if (!response.ok || !response.body) {
    throw new Error(`GET ${url} answered ${response.status} ${response.statusText}`.trimEnd());
  }
  const length = Number(response.headers.get('content-length'));
  log.info(`Downloading ${pkg.name} ${pkg.version}${length > 0 ? ` (${formatMB(length)})` : ''} from ${url}`);

  const expected = pkg.integrity
    .split(/\s+/)
    .filter((entry) => entry.startsWith('sha512-'))
    .map((entry) => entry.slice('sha512-'.length));
  if (expected.length === 0) throw new Error(`the pinned integrity of ${pkg.name} is not sha512: ${pkg.integrity}`);
  const hash = createHash('sha512');
  let bytes = 0;
  const digest = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(response.body as WebReadableStream), digest, createWriteStream(file));
  } catch (error) {
    throw new Error(`downloading ${url} failed after ${formatMB(bytes)}: ${causeMessage(error)}`);
  }
  const actual = hash.digest('base64');
  if (!expected.includes(actual)) {
    throw new Error(
      `${pkg.name}-${pkg.version}.tgz from ${url} failed its integrity check ` +
        `(expected sha512-${expected[0]}, got sha512-${actual}); it was not extracted`,
    );
  }
  log.info(`Verified ${pkg.name} ${pkg.version}: ${formatMB(bytes)}, sha512 matches package-lock.json.`);
}

/**
 * Renames the staged tree into place. Losing the race to a concurrent provisioner is fine: its tree is
 * the same pinned content, so use it. Windows may refuse a rename for a moment while a scanner holds a file.
 */
async function moveIntoPlace(tree: string, target: string, log: Logger): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      await rename(tree, target);
      log.info(`Installed onnxruntime-node into ${target}`);
      return target;
    } catch (error) {
      if (await isProvisioned(target)) {
        log.debug(`Another process installed ${target} first; using it.`);
        return target;
      }
      const code = (error as NodeJS.ErrnoException).code;
      if (attempt >= 5 || !(code === 'EPERM' || code === 'EACCES' || code === 'EBUSY' || (await exists(target)))) {
        throw new Error(`could not move the extracted tree to ${target}: ${causeMessage(error)}`);
      }
      if (await exists(target)) {
        // Provisioners rename complete trees only, so a folder without the marker came from elsewhere.
        log.warn(`${target} exists but is not a complete onnxruntime-node tree; replacing it.`);
        const aside = `${target}.stale-${randomBytes(4).toString('hex')}`;
        await rename(target, aside).catch(() => undefined);
        await rm(aside, { recursive: true, force: true });
      }
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

function formatMB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function causeMessage(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return error.message + cause;
  }
  return String(error);
}
