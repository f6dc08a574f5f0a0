/**
 * Versions as annotated tags in a local git checkout, through the git CLI: what `modelship version`
 * does without a token. Tags are created locally; pushing them is the user's call.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import { ModelshipError } from '../errors.js';
import { extractRecord, type VersionRecord } from './record.js';
import type { CreateTagRequest, CreateTagResult, StoredVersion, VersionStore } from './store.js';
import { parseTag, registerTagPrefix } from './tags.js';

export interface GitResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Runs git without a shell; never throws for a non-zero exit (callers decide what it means). */
export function runGit(
  args: string[],
  options: { cwd: string; input?: string; env?: Record<string, string> },
): Promise<GitResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('git', args, {
      cwd: options.cwd,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', ...options.env },
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' && !existsSync(options.cwd)) {
        reject(new ModelshipError('GIT_FAILED', `Cannot run git in ${options.cwd}: the folder does not exist.`));
        return;
      }
      reject(
        error.code === 'ENOENT'
          ? new ModelshipError(
              'GIT_NOT_FOUND',
              'git is not installed or not on PATH.',
              'Install git, or give a token to version through the GitHub API instead.',
            )
          : error,
      );
    });
    child.on('close', (code) =>
      resolvePromise({
        code: code ?? 1,
        stdout: Buffer.concat(stdout),
        stderr: Buffer.concat(stderr).toString('utf8').trim(),
      }),
    );
    if (child.stdin) {
      // git may exit before reading its input (a refused tag); the exit code tells what happened.
      child.stdin.on('error', () => {});
      child.stdin.end(options.input);
    }
  });
}

/** The top of the git repository holding `path`; a ModelshipError when there is none. */
export async function gitTopLevel(path: string): Promise<string> {
  const result = await runGit(['rev-parse', '--show-toplevel'], { cwd: path });
  if (result.code !== 0) {
    throw new ModelshipError(
      'GIT_NOT_A_REPOSITORY',
      `${path} is not inside a git repository: ${result.stderr}.`,
      "Run inside a git checkout (git init, commit the model), or give a token and '--repo owner/name' to use the GitHub API.",
    );
  }
  return result.stdout.toString('utf8').trim();
}

/** The commit a revision names (HEAD by default); a ModelshipError for an empty repository or an unknown name. */
export async function resolveCommit(cwd: string, revision = 'HEAD'): Promise<string> {
  const result = await runGit(['rev-parse', '--verify', '--quiet', `${revision}^{commit}`], { cwd });
  if (result.code !== 0) {
    throw new ModelshipError(
      'GIT_NO_COMMIT',
      `'${revision}' does not name a commit in ${cwd}.`,
      revision === 'HEAD' ? 'Commit the model first: a version tag points at a commit.' : 'Pass an existing commit.',
    );
  }
  return result.stdout.toString('utf8').trim();
}

/** True when `path` differs from what `commit` holds (modified, or not tracked at all). */
export async function differsFromCommit(cwd: string, commit: string, path: string): Promise<boolean> {
  const tracked = await runGit(['cat-file', '-e', `${commit}:./${basename(path)}`], { cwd: dirname(path) });
  if (tracked.code !== 0) return true;
  const diff = await runGit(['diff', '--quiet', commit, '--', path], { cwd });
  return diff.code !== 0;
}

// Fields of one for-each-ref line, NUL-separated; a record ends with NUL NUL newline (a message has no NUL).
const FORMAT = ['%(refname:strip=2)', '%(objecttype)', '%(objectname)', '%(*objectname)', '%(contents)'].join('%00');

export class LocalGitStore implements VersionStore {
  readonly kind = 'git' as const;
  readonly where: string;
  private readonly records = new Map<string, VersionRecord | undefined>();

  constructor(private readonly cwd: string) {
    this.where = `git repository ${cwd}`;
  }

  /** A store for the repository holding `path`. */
  static async open(path: string): Promise<LocalGitStore> {
    return new LocalGitStore(await gitTopLevel(path));
  }

  async listVersions(name: string): Promise<StoredVersion[]> {
    const pattern = `refs/tags/${registerTagPrefix(name)}*`;
    const output = await runGit(['for-each-ref', `--format=${FORMAT}%00%00`, pattern], { cwd: this.cwd });
    if (output.code !== 0) throw new ModelshipError('GIT_FAILED', `git for-each-ref failed: ${output.stderr}.`);
    const versions: StoredVersion[] = [];
    for (const line of output.stdout.toString('utf8').split('\0\0\n')) {
      if (line === '') continue;
      const [tag, type, object, peeled, contents] = line.split('\0');
      const parsed = parseTag(tag);
      if (parsed?.kind !== 'register' || parsed.name !== name) continue;
      const annotated = type === 'tag';
      // A tag of a tag peels to the first object only; such tags are not ours and not GTO's.
      if (annotated && !peeled) continue;
      const stored: StoredVersion = {
        version: parsed.version,
        tag,
        commit: annotated ? peeled : object,
        ...(annotated ? { tagObject: object } : {}),
      };
      this.records.set(tag, annotated ? extractRecord(contents) : undefined);
      versions.push(stored);
    }
    return versions;
  }

  async readRecord(version: StoredVersion): Promise<VersionRecord | undefined> {
    if (this.records.has(version.tag)) return this.records.get(version.tag);
    if (!version.tagObject) return undefined;
    const result = await runGit(['cat-file', 'tag', version.tagObject], { cwd: this.cwd });
    return result.code === 0 ? extractRecord(result.stdout.toString('utf8')) : undefined;
  }

  async readFileAt(version: StoredVersion, path: string): Promise<Uint8Array | undefined> {
    const inRepo = await this.repositoryPath(path);
    if (inRepo === undefined) return undefined;
    const result = await runGit(['cat-file', 'blob', `${version.commit}:${inRepo}`], { cwd: this.cwd });
    return result.code === 0
      ? new Uint8Array(result.stdout.buffer, result.stdout.byteOffset, result.stdout.length)
      : undefined;
  }

  async createTag(request: CreateTagRequest): Promise<CreateTagResult> {
    const ref = `refs/tags/${request.tag}`;
    if (await this.refExists(ref)) return { created: false, reason: 'exists' };
    const result = await runGit(['tag', '--annotate', '--file=-', '--cleanup=verbatim', request.tag, request.commit], {
      cwd: this.cwd,
      input: request.message,
      env: await this.identity(),
    });
    if (result.code === 0) return { created: true };
    // Another process may have created it between the check and `git tag`.
    if (await this.refExists(ref)) return { created: false, reason: 'exists' };
    throw new ModelshipError('GIT_TAG_FAILED', `git tag ${request.tag} failed: ${result.stderr}.`);
  }

  private async refExists(ref: string): Promise<boolean> {
    return (await runGit(['rev-parse', '--verify', '--quiet', ref], { cwd: this.cwd })).code === 0;
  }

  /** A runner's checkout has no git identity; a tag still needs a tagger. */
  private async identity(): Promise<Record<string, string>> {
    const email = await runGit(['config', 'user.email'], { cwd: this.cwd });
    const name = await runGit(['config', 'user.name'], { cwd: this.cwd });
    const env: Record<string, string> = {};
    if (email.code !== 0 && !process.env.GIT_COMMITTER_EMAIL)
      env.GIT_COMMITTER_EMAIL = 'modelship@users.noreply.github.com';
    if (name.code !== 0 && !process.env.GIT_COMMITTER_NAME) env.GIT_COMMITTER_NAME = 'modelship';
    return env;
  }

  /** `path` relative to the repository root with `/` separators; undefined when it lies outside. */
  async repositoryPath(path: string): Promise<string | undefined> {
    let absolute: string;
    try {
      absolute = await realpath(resolve(this.cwd, path));
    } catch {
      absolute = resolve(this.cwd, path);
    }
    const root = await realpath(this.cwd).catch(() => this.cwd);
    const inside = relative(root, absolute);
    if (inside === '' || inside.startsWith('..')) return undefined;
    return inside.split(sep).join('/');
  }

  /** `commit` exists in this repository (a shallow checkout may lack old ones). */
  async hasCommit(commit: string): Promise<boolean> {
    return (await runGit(['cat-file', '-e', `${commit}^{commit}`], { cwd: this.cwd })).code === 0;
  }
}
