/** Real git repositories in temporary folders, for tests that tag and read commits. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface TempRepo {
  dir: string;
  git(...args: string[]): Promise<string>;
  /** Stages everything and commits; returns the new commit's sha. */
  commitAll(message: string): Promise<string>;
  /** Names of all tags, sorted. */
  tags(): Promise<string[]>;
  remove(): Promise<void>;
}

const env = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'author@example.com',
  GIT_COMMITTER_NAME: 'Test Committer',
  GIT_COMMITTER_EMAIL: 'committer@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
};

export async function createTempRepo(options: { identity?: boolean } = {}): Promise<TempRepo> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-git-'));
  const git = async (...args: string[]) =>
    (await exec('git', args, { cwd: dir, env, maxBuffer: 64 * 1024 * 1024 })).stdout.trim();
  await git('init', '--quiet', '--initial-branch=main');
  if (options.identity !== false) {
    await git('config', 'user.name', 'Test User');
    await git('config', 'user.email', 'user@example.com');
  }
  await git('config', 'tag.gpgSign', 'false');
  await git('config', 'commit.gpgSign', 'false');
  return {
    dir,
    git,
    async commitAll(message) {
      await git('add', '--all');
      await git('commit', '--quiet', '--allow-empty', '-m', message);
      return git('rev-parse', 'HEAD');
    },
    async tags() {
      const out = await git('tag', '--list');
      return out === '' ? [] : out.split('\n').sort();
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
