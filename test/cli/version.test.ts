/** `modelship version` from the built CLI, in a real git repository and against the emulator. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/build.js';
import { startGitHubEmulator, type GitHubEmulator } from '../support/github-emulator.js';
import { DEFAULT_REPOSITORY } from '../support/github-events.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { linearClassifierModel, writeModel } from '../support/onnx-models.js';

const exec = promisify(execFile);
const cli = join(repoRoot, 'dist', 'cli.js');

let repo: TempRepo;

beforeEach(async () => {
  repo = await createTempRepo();
  await writeModel(
    join(repo.dir, 'models', 'iris.onnx'),
    linearClassifierModel({
      weights: [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
        [1, 1, 1],
      ],
      bias: [0, 0, 0],
    }),
  );
  await repo.commitAll('model');
});
afterEach(() => repo.remove());

async function modelship(args: string[], env: Record<string, string> = {}) {
  const clean = { ...process.env, GITHUB_TOKEN: '', GITHUB_API_URL: '', ...env };
  try {
    const { stdout, stderr } = await exec(process.execPath, [cli, 'version', ...args], { cwd: repo.dir, env: clean });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('modelship version', () => {
  it('tags the local repository and prints the outcome', async () => {
    const first = await modelship(['models/iris.onnx', '--model-name', 'iris']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      /^Created iris@v0\.1\.0\n {2}version {3}0\.1\.0\n {2}bump {6}initial: First version of iris\./,
    );
    expect(first.stderr).toContain('Push it with: git push origin iris@v0.1.0');
    expect(await repo.tags()).toEqual(['iris@v0.1.0']);

    const again = await modelship(['models/iris.onnx', '--model-name', 'iris', '--json']);
    expect(again.code).toBe(0);
    const result = JSON.parse(again.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ version: '0.1.0', created: false, bump: 'none', mode: 'git' });
    expect(Object.keys(result).slice(0, 3)).toEqual(['name', 'version', 'tag']);
  });

  it('computes a prerelease in a dry run without tagging', async () => {
    const run = await modelship(['models/iris.onnx', '--model-name', 'iris', '--prerelease', 'rc', '--dry-run']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('iris@v0.1.0-rc.1 (dry run: nothing created)');
    expect(await repo.tags()).toEqual([]);
  });

  it('explains usage mistakes in one line', async () => {
    const noName = await modelship(['models/iris.onnx']);
    expect(noName.code).toBe(1);
    expect(noName.stderr).toBe('modelship: --model-name is required. e.g. --model-name iris [CLI_USAGE]\n');
    const noRepo = await modelship(['models/iris.onnx', '--model-name', 'iris', '--token', 't']);
    expect(noRepo.stderr).toContain('--token, --api-url and --attach-model work with --repo only.');
    const noToken = await modelship(['models/iris.onnx', '--model-name', 'iris', '--repo', 'acme/models']);
    expect(noToken.stderr).toContain('--repo needs a GitHub token.');
  });

  describe('with --repo', () => {
    let github: GitHubEmulator;
    beforeEach(async () => {
      github = await startGitHubEmulator();
    });
    afterEach(() => github.close());

    it('tags and releases through the API with GITHUB_TOKEN', async () => {
      const run = await modelship(
        ['models/iris.onnx', '--model-name', 'iris', '--repo', DEFAULT_REPOSITORY, '--attach-model', '--json'],
        { GITHUB_TOKEN: github.token, GITHUB_API_URL: github.url },
      );
      expect(run.code, run.stderr).toBe(0);
      const result = JSON.parse(run.stdout) as { version: string; created: boolean; releaseUrl: string; mode: string };
      expect(result).toMatchObject({ version: '0.1.0', created: true, mode: 'github' });
      const [release] = github.state.repo(DEFAULT_REPOSITORY).releases;
      expect(result.releaseUrl).toBe(release.html_url);
      expect(release.assets.map((a) => a.name)).toEqual(['iris-0.1.0.onnx']);
      expect(await repo.tags()).toEqual([]);
    });
  });
});
