/**
 * The version step through the GitHub API, against the emulator: annotated tags (tag object, then
 * ref), releases with the model card, assets, idempotency and races. The checkout is a real git
 * repository, as actions/checkout leaves it.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitHubClient } from '../../src/github/client.js';
import { GitHubVersionStore } from '../../src/github/version-store.js';
import { memoryLogger } from '../../src/log.js';
import { ElemType } from '../../src/onnx/types.js';
import { version, type VersionOptions } from '../../src/steps/version.js';
import { LocalGitStore } from '../../src/versioning/local-git.js';
import { embedRecord, extractRecord } from '../../src/versioning/record.js';
import { startGitHubEmulator, type GitHubEmulator } from '../support/github-emulator.js';
import { DEFAULT_REPOSITORY } from '../support/github-events.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { linearClassifierModel, writeModel } from '../support/onnx-models.js';

const [owner, repoName] = DEFAULT_REPOSITORY.split('/');
const labels = ['setosa', 'versicolor', 'virginica'];
const iris = (seed = 1) =>
  linearClassifierModel({
    weights: [0, 1, 2, 3].map((f) => [0, 1, 2].map((c) => (f + 1) * 0.1 * (c + seed))),
    bias: [0.1, 0.2, 0.3 * seed],
    labels,
  });

let github: GitHubEmulator;
let repo: TempRepo;
let modelPath: string;

beforeEach(async () => {
  github = await startGitHubEmulator();
  repo = await createTempRepo();
  modelPath = join(repo.dir, 'models', 'iris.onnx');
});
afterEach(async () => {
  await github.close();
  await repo.remove();
});

async function commitModel(spec = iris(), message = 'model'): Promise<string> {
  await writeModel(modelPath, spec);
  return repo.commitAll(message);
}

async function run(options: Partial<VersionOptions> = {}) {
  const log = memoryLogger();
  const result = await version(
    {
      model: modelPath,
      modelName: 'iris',
      workspace: repo.dir,
      github: { token: github.token, owner, repo: repoName, apiUrl: github.url, serverUrl: 'https://github.com' },
      ...options,
    },
    log,
  );
  return { result, log };
}

const state = () => github.state.repo(DEFAULT_REPOSITORY);
const writes = () => github.requests.filter((r) => r.method !== 'GET');

describe('version through the GitHub API', () => {
  it('creates a tag object, its ref and a release with the model card', async () => {
    const commit = await commitModel();
    const { result } = await run();
    expect(result).toMatchObject({ version: '0.1.0', tag: 'iris@v0.1.0', created: true, mode: 'github', commit });

    const ref = state().refs.get('refs/tags/iris@v0.1.0');
    expect(ref?.object.type).toBe('tag');
    const tagObject = state().tags.get(ref!.object.sha)!;
    expect(tagObject.object).toMatchObject({ type: 'commit', sha: commit });
    expect(tagObject.message).toContain(`digest: ${result.digest}`);
    expect(extractRecord(tagObject.message)).toMatchObject({ version: '0.1.0', digest: result.digest, labels });

    // Tag object first, then the ref pointing at it.
    expect(writes().map((r) => r.operation)).toEqual([
      'POST /repos/{owner}/{repo}/git/tags',
      'POST /repos/{owner}/{repo}/git/refs',
      'POST /repos/{owner}/{repo}/releases',
    ]);

    const [release] = state().releases;
    expect(release).toMatchObject({ tag_name: 'iris@v0.1.0', name: 'iris 0.1.0', prerelease: false, draft: false });
    expect(result.releaseUrl).toBe(release.html_url);
    expect(release.body).toContain('## iris 0.1.0');
    expect(release.body).toContain(`| Digest | \`${result.digest}\` |`);
    expect(release.body).toContain(`(https://github.com/${DEFAULT_REPOSITORY}/commit/${commit})`);
    expect(release.body).toContain('| input | `features` | FP32 | `[batch, 4]` |');
    expect(extractRecord(release.body)?.digest).toBe(result.digest);
  });

  it('reads only the refs under <name>@v, never all tags', async () => {
    await commitModel();
    github.setRef(DEFAULT_REPOSITORY, 'refs/tags/iris-large@v9.0.0', 'a'.repeat(40));
    github.setRef(DEFAULT_REPOSITORY, 'refs/tags/iris#prod#3', 'b'.repeat(40));
    const { result } = await run();
    expect(result).toMatchObject({ version: '0.1.0', bump: 'initial' });
    const refReads = github.requests.filter((r) => r.method === 'GET' && /\/git\/(matching-)?refs?/.test(r.path));
    expect(refReads.length).toBeGreaterThan(0);
    for (const read of refReads) {
      expect(read.operation).toBe('GET /repos/{owner}/{repo}/git/matching-refs/{ref}');
      expect(decodeURIComponent(read.path)).toMatch(/\/git\/matching-refs\/tags\/iris@v$/);
    }
  });

  it('bumps from the record of the previous tag and puts the diff in the release', async () => {
    await commitModel(iris(1));
    await run();
    const withLogits = iris(1);
    withLogits.graph.outputs.push({ name: 'logits', elemType: ElemType.FLOAT, shape: ['batch', 3] });
    await commitModel(withLogits, 'logits');
    const { result } = await run();
    expect(result).toMatchObject({ version: '0.2.0', bump: 'minor', previousVersion: '0.1.0' });
    const release = state().releases.find((r) => r.tag_name === 'iris@v0.2.0')!;
    expect(release.body).toContain('| output | `logits` | FP32 | `[batch, 3]` | added (minor) | new output |');
    expect(release.body).toContain('(previous `0.1.0`)');
  });

  it('attaches the model as an asset and marks prereleases', async () => {
    await commitModel();
    const { result } = await run({ attachModel: true, prerelease: 'rc' });
    expect(result.version).toBe('0.1.0-rc.1');
    const [release] = state().releases;
    expect(release.prerelease).toBe(true);
    expect(release.assets).toHaveLength(1);
    expect(release.assets[0]).toMatchObject({ name: 'iris-0.1.0-rc.1.onnx', content_type: 'application/octet-stream' });
    const response = await fetch(result.assetUrl!);
    expect(response.status).toBe(200);
    const { readFile } = await import('node:fs/promises');
    expect(Buffer.from(await response.arrayBuffer()).equals(await readFile(modelPath))).toBe(true);

    await commitModel(iris(2), 'rc 2');
    expect((await run({ prerelease: 'rc' })).result.version).toBe('0.1.0-rc.2');
  });

  it('puts the evaluate metrics in the model card', async () => {
    await commitModel();
    const reportPath = join(repo.dir, 'report.json');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(
      reportPath,
      JSON.stringify({
        schema: 'modelship/evaluate-report@1',
        passed: true,
        metrics: { accuracy: 0.95 },
        comparisons: [],
      }),
    );
    await run({ report: reportPath });
    expect(state().releases[0].body).toContain('| accuracy | 0.9500 |');
  });

  it('is idempotent: a second run writes nothing and returns the release', async () => {
    await commitModel();
    const first = (await run()).result;
    const before = writes().length;
    const second = (await run()).result;
    expect(second).toMatchObject({ version: '0.1.0', created: false, bump: 'none', releaseUrl: first.releaseUrl });
    expect(writes().length).toBe(before);
  });

  it("takes the previous version's facts from its release when the tag has no record", async () => {
    const commit = await commitModel(iris(1));
    // A lightweight tag, as a release made in the web UI leaves it, with the record in the release.
    github.setRef(DEFAULT_REPOSITORY, 'refs/tags/iris@v1.4.0', commit);
    const record = {
      schema: 'modelship/version@1' as const,
      name: 'iris',
      version: '1.4.0',
      digest: 'sha256:' + 'e'.repeat(64),
      signature: {
        inputs: [{ name: 'features', datatype: 'FP32' as const, shape: ['batch', 4] }],
        outputs: [{ name: 'label', datatype: 'INT64' as const, shape: ['batch'] }],
      },
      labels,
    };
    const client = createGitHubClient({ token: github.token, baseUrl: github.url });
    await client.rest.repos.createRelease({
      owner,
      repo: repoName,
      tag_name: 'iris@v1.4.0',
      body: `Made by hand.\n\n${embedRecord(record)}\n`,
    });
    const { result, log } = await run();
    expect(result).toMatchObject({ version: '1.5.0', bump: 'minor', previousVersion: '1.4.0' });
    expect(result.bumpReason).toBe("Compatible change: output 'probabilities': new output.");
    expect(log.lines.join('\n')).toContain('Against 1.4.0 (from its record)');
  });

  it('reads the tag again once when another run creates it meanwhile, then takes the next version', async () => {
    await commitModel(iris(1));
    const client = createGitHubClient({ token: github.token, baseUrl: github.url });
    const checkout = await LocalGitStore.open(repo.dir);
    const inner = new GitHubVersionStore(client, { owner, repo: repoName }, checkout);
    const raced: string[] = [];
    const store = Object.assign(Object.create(inner) as GitHubVersionStore, {
      async createTag(request: { tag: string; commit: string; message: string }) {
        if (raced.length === 0) {
          raced.push(request.tag);
          // Another job tags a different model as this version, through the API, right now.
          const other = { ...extractRecord(request.message)!, digest: 'sha256:' + 'f'.repeat(64) };
          const { data } = await client.rest.git.createTag({
            owner,
            repo: repoName,
            tag: request.tag,
            message: `other run\n\n${embedRecord(other)}\n`,
            object: 'c'.repeat(40),
            type: 'commit',
          });
          await client.rest.git.createRef({ owner, repo: repoName, ref: `refs/tags/${request.tag}`, sha: data.sha });
        }
        return inner.createTag(request);
      },
    });
    const { result, log } = await run({ store });
    expect(raced).toEqual(['iris@v0.1.0']);
    expect(result).toMatchObject({ version: '0.1.1', created: true, previousVersion: '0.1.0', bump: 'patch' });
    expect(log.lines.some((l) => l.includes('iris@v0.1.0 appeared in GitHub acme/models'))).toBe(true);
    expect(
      github.requests.filter((r) => r.operation === 'POST /repos/{owner}/{repo}/git/refs').map((r) => r.status),
    ).toEqual([201, 422, 201]);
  });

  it('reports a lost race clearly after one retry', async () => {
    await commitModel();
    // Every read of the tags comes back stale (empty) while the tag already exists.
    github.setRef(DEFAULT_REPOSITORY, 'refs/tags/iris@v0.1.0', 'd'.repeat(40));
    github.injectFault({ method: 'GET', path: /\/git\/matching-refs\//, status: 200, body: [], times: 2 });
    await expect(run()).rejects.toMatchObject({ code: 'VERSION_RACE' });
    expect(github.requests.filter((r) => r.operation === 'POST /repos/{owner}/{repo}/git/refs')).toHaveLength(2);
  });

  it('creates nothing in a dry run', async () => {
    await commitModel();
    const { result } = await run({ dryRun: true, attachModel: true });
    expect(result).toMatchObject({ version: '0.1.0', created: false, dryRun: true });
    expect(writes()).toEqual([]);
  });

  it('tags without a release when asked', async () => {
    await commitModel();
    const { result } = await run({ release: false });
    expect(result.created).toBe(true);
    expect(result.releaseUrl).toBeUndefined();
    expect(state().releases).toEqual([]);
  });

  it('says which permission is missing', async () => {
    await commitModel();
    github.addToken('read-only', { contents: 'read' });
    await expect(
      run({ github: { token: 'read-only', owner, repo: repoName, apiUrl: github.url } }),
    ).rejects.toMatchObject({
      code: 'GITHUB_FORBIDDEN',
      message: expect.stringContaining('GitHub refused to create the tag object iris@v0.1.0'),
      hint: expect.stringContaining('`contents: write`'),
    });
  });
});
