import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubClient, type GitHubClient } from '../src/github/client.js';
import { extractGitHubSchemas, schemaFile } from '../scripts/extract-github-schemas.js';
import { EMULATOR_TOKEN, startGitHubEmulator, type GitHubEmulator } from './support/github-emulator.js';
import { fakeSha } from './support/github-events.js';

const owner = 'acme';
const repo = 'models';
const full = `${owner}/${repo}`;

let github: GitHubEmulator;
let client: GitHubClient;

beforeAll(async () => {
  github = await startGitHubEmulator();
  client = createGitHubClient({ token: github.token, baseUrl: github.url });
});
afterAll(() => github.close());

/** A request GitHub's typings would refuse: the point is to see the server refuse it too. */
const unchecked = (route: string, params: Record<string, unknown>) => client.request(route, params);

/** The status of a call expected to fail, and its JSON body. */
async function failure(call: Promise<unknown>): Promise<{ status: number; data: Record<string, unknown> }> {
  try {
    await call;
  } catch (error) {
    const e = error as { status: number; response?: { data: Record<string, unknown> } };
    return { status: e.status, data: e.response?.data ?? {} };
  }
  throw new Error('expected the call to fail');
}

describe('authentication and permissions', () => {
  it('401 without a token and with an unknown one', async () => {
    const none = await fetch(`${github.url}/repos/${full}`);
    expect(none.status).toBe(401);
    const bad = createGitHubClient({ token: 'ghs_nope', baseUrl: github.url });
    const answer = await failure(bad.rest.repos.get({ owner, repo }));
    expect(answer).toMatchObject({ status: 401, data: { message: 'Bad credentials' } });
  });

  it('403 when the token lacks the permission, naming the one needed', async () => {
    github.addToken('ghs_readonly', { contents: 'read', 'pull-requests': 'read' });
    const readOnly = createGitHubClient({ token: 'ghs_readonly', baseUrl: github.url });
    await expect(readOnly.rest.git.listMatchingRefs({ owner, repo, ref: 'heads/' })).resolves.toBeTruthy();
    const response = await fetch(`${github.url}/repos/${full}/git/refs`, {
      method: 'POST',
      headers: { authorization: 'token ghs_readonly', 'content-type': 'application/json' },
      body: JSON.stringify({ ref: 'refs/tags/x', sha: fakeSha('x') }),
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ message: 'Resource not accessible by integration' });
    expect(response.headers.get('x-accepted-github-permissions')).toBe('contents=write');
    github.setPermissions('ghs_readonly', { contents: 'write' });
    await expect(
      readOnly.rest.git.createRef({ owner, repo, ref: 'refs/tags/perm-test', sha: fakeSha('x') }),
    ).resolves.toMatchObject({ status: 201 });
  });

  it('a pull request comment needs pull-requests or issues write; a plain issue comment needs issues', async () => {
    const pr = github.addPullRequest(full, { title: 'Retrain' });
    const issue = github.addIssue(full, { title: 'Bug' });
    github.addToken('ghs_prs', { 'pull-requests': 'write' });
    const prs = createGitHubClient({ token: 'ghs_prs', baseUrl: github.url });
    await expect(
      prs.rest.issues.createComment({ owner, repo, issue_number: pr.number, body: 'ok' }),
    ).resolves.toMatchObject({ status: 201 });
    const denied = await failure(
      prs.rest.issues.createComment({ owner, repo, issue_number: issue.number, body: 'no' }),
    );
    expect(denied.status).toBe(403);
  });

  it('404 for a repository that does not exist or that the token cannot see', async () => {
    expect((await failure(client.rest.repos.get({ owner, repo: 'missing' }))).status).toBe(404);
    github.addRepo('acme/other');
    github.addToken('ghs_scoped', { contents: 'read' }, { repositories: [full] });
    const scoped = createGitHubClient({ token: 'ghs_scoped', baseUrl: github.url });
    expect((await failure(scoped.rest.repos.get({ owner, repo: 'other' }))).status).toBe(404);
    expect((await scoped.rest.repos.get({ owner, repo })).data.full_name).toBe(full);
  });

  it('404 for a path the emulator does not serve', async () => {
    const answer = await fetch(`${github.url}/repos/${full}/hooks`, {
      headers: { authorization: `token ${github.token}` },
    });
    expect(answer.status).toBe(404);
    expect(await answer.json()).toMatchObject({ message: 'Not Found' });
  });
});

describe('repositories', () => {
  it('GET /repos/{owner}/{repo}', async () => {
    const { data } = await client.rest.repos.get({ owner, repo });
    expect(data).toMatchObject({ full_name: full, default_branch: 'main', owner: { login: owner } });
    expect(data.permissions).toMatchObject({ push: true, pull: true, admin: false });
  });
});

describe('git refs and tags', () => {
  const sha = fakeSha('commit-1');

  it('creates a ref and refuses to create it twice (422 Reference already exists)', async () => {
    const created = await client.rest.git.createRef({ owner, repo, ref: 'refs/tags/iris@v1.0.0', sha });
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({ ref: 'refs/tags/iris@v1.0.0', object: { sha, type: 'commit' } });
    const again = await failure(client.rest.git.createRef({ owner, repo, ref: 'refs/tags/iris@v1.0.0', sha }));
    expect(again).toMatchObject({ status: 422, data: { message: 'Reference already exists' } });
    expect(github.state.repo(full).refs.get('refs/tags/iris@v1.0.0')?.object.sha).toBe(sha);
  });

  it('rejects an invalid ref name and a body that breaks the schema', async () => {
    expect((await failure(client.rest.git.createRef({ owner, repo, ref: 'tags/no-prefix', sha }))).status).toBe(422);
    const noSha = await failure(unchecked('POST /repos/{owner}/{repo}/git/refs', { owner, repo, ref: 'refs/tags/x' }));
    expect(noSha.status).toBe(422);
    expect(noSha.data.message).toContain(`"sha" wasn't supplied`);
    const wrongType = await failure(
      unchecked('POST /repos/{owner}/{repo}/git/refs', { owner, repo, ref: 'refs/tags/y', sha: 42 }),
    );
    expect(wrongType.status).toBe(422);
    expect(wrongType.data.message).toContain('/sha');
    expect(github.state.repo(full).refs.has('refs/tags/x')).toBe(false);
  });

  it('gets one ref, lists matching refs by prefix (GTO tag names survive encoding)', async () => {
    await client.rest.git.createRef({ owner, repo, ref: 'refs/tags/iris#prod#1', sha });
    await client.rest.git.createRef({ owner, repo, ref: 'refs/tags/iris@v1.1.0', sha });
    await client.rest.git.createRef({ owner, repo, ref: 'refs/tags/mnist@v1.0.0', sha });
    const one = await client.rest.git.getRef({ owner, repo, ref: 'tags/iris#prod#1' });
    expect(one.data.ref).toBe('refs/tags/iris#prod#1');
    const matching = await client.rest.git.listMatchingRefs({ owner, repo, ref: 'tags/iris@' });
    expect(matching.data.map((r) => r.ref)).toEqual(['refs/tags/iris@v1.0.0', 'refs/tags/iris@v1.1.0']);
    expect((await failure(client.rest.git.getRef({ owner, repo, ref: 'tags/nope' }))).status).toBe(404);
    const everything = await client.rest.git.listMatchingRefs({ owner, repo, ref: '' });
    expect(everything.data.map((r) => r.ref)).toContain('refs/heads/main');
    expect((await client.rest.git.listMatchingRefs({ owner, repo, ref: 'tags/none-' })).data).toEqual([]);
  });

  it('updates and deletes a ref; 422 for a ref that does not exist', async () => {
    await client.rest.git.createRef({ owner, repo, ref: 'refs/heads/topic', sha });
    const moved = fakeSha('commit-2');
    const updated = await client.rest.git.updateRef({ owner, repo, ref: 'heads/topic', sha: moved, force: true });
    expect(updated.data.object.sha).toBe(moved);
    expect((await client.rest.git.deleteRef({ owner, repo, ref: 'heads/topic' })).status).toBe(204);
    const gone = await failure(client.rest.git.deleteRef({ owner, repo, ref: 'heads/topic' }));
    expect(gone).toMatchObject({ status: 422, data: { message: 'Reference does not exist' } });
    expect((await failure(client.rest.git.updateRef({ owner, repo, ref: 'heads/none', sha }))).status).toBe(422);
  });

  it('creates an annotated tag object, reads it back, and points a ref at it', async () => {
    const tag = await client.rest.git.createTag({
      owner,
      repo,
      tag: 'iris@v2.0.0',
      message: 'iris 2.0.0',
      object: sha,
      type: 'commit',
      tagger: { name: 'modelship', email: 'modelship@example.com', date: '2025-01-01T00:00:00Z' },
    });
    expect(tag.status).toBe(201);
    expect(tag.data.sha).toMatch(/^[0-9a-f]{40}$/);
    const read = await client.rest.git.getTag({ owner, repo, tag_sha: tag.data.sha });
    expect(read.data).toMatchObject({ tag: 'iris@v2.0.0', message: 'iris 2.0.0', object: { sha, type: 'commit' } });
    const ref = await client.rest.git.createRef({ owner, repo, ref: 'refs/tags/iris@v2.0.0', sha: tag.data.sha });
    expect(ref.data.object).toMatchObject({ type: 'tag', sha: tag.data.sha });
    const badType = await failure(
      unchecked('POST /repos/{owner}/{repo}/git/tags', {
        owner,
        repo,
        tag: 't',
        message: 'm',
        object: sha,
        type: 'branch',
      }),
    );
    expect(badType.status).toBe(422);
  });

  it('strict objects: a ref to an unknown commit is 422 Object does not exist', async () => {
    const strict = await startGitHubEmulator({ strictObjects: true });
    try {
      const c = createGitHubClient({ token: strict.token, baseUrl: strict.url });
      const answer = await failure(c.rest.git.createRef({ owner, repo, ref: 'refs/tags/a', sha: fakeSha('unknown') }));
      expect(answer).toMatchObject({ status: 422, data: { message: 'Object does not exist' } });
      const known = strict.addCommit(full, { message: 'known' });
      await expect(c.rest.git.createRef({ owner, repo, ref: 'refs/tags/a', sha: known.sha })).resolves.toMatchObject({
        status: 201,
      });
      const commit = await c.rest.repos.getCommit({ owner, repo, ref: 'a' });
      expect(commit.data.commit.message).toBe('known');
    } finally {
      await strict.close();
    }
  });
});

describe('issue comments', () => {
  it('creates, gets, updates and lists comments with Link pagination', async () => {
    const pr = github.addPullRequest(full, { title: 'Paginated' });
    const created = await client.rest.issues.createComment({ owner, repo, issue_number: pr.number, body: 'first' });
    expect(created.status).toBe(201);
    expect(created.data.html_url).toBe(`https://github.com/${full}/pull/${pr.number}#issuecomment-${created.data.id}`);
    for (let i = 2; i <= 7; i++)
      await client.rest.issues.createComment({ owner, repo, issue_number: pr.number, body: `c${i}` });

    const page1 = await client.rest.issues.listComments({ owner, repo, issue_number: pr.number, per_page: 3 });
    expect(page1.data).toHaveLength(3);
    expect(page1.headers.link).toContain('rel="next"');
    expect(page1.headers.link).toContain('page=3>; rel="last"');
    const page3 = await client.rest.issues.listComments({ owner, repo, issue_number: pr.number, per_page: 3, page: 3 });
    expect(page3.data.map((c) => c.body)).toEqual(['c7']);
    expect(page3.headers.link).toContain('rel="prev"');
    expect(page3.headers.link).not.toContain('rel="next"');
    const all = await client.paginate(client.rest.issues.listComments, {
      owner,
      repo,
      issue_number: pr.number,
      per_page: 2,
    });
    expect(all.map((c) => c.body)).toEqual(['first', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7']);

    const updated = await client.rest.issues.updateComment({
      owner,
      repo,
      comment_id: created.data.id,
      body: 'edited',
    });
    expect(updated.data.body).toBe('edited');
    const got = await client.rest.issues.getComment({ owner, repo, comment_id: created.data.id });
    expect(got.data.body).toBe('edited');
    expect(github.state.repo(full).comments.find((c) => c.id === created.data.id)?.body).toBe('edited');
  });

  it('404 for an issue or a comment that does not exist; 422 for a body without `body`', async () => {
    expect(
      (await failure(client.rest.issues.createComment({ owner, repo, issue_number: 999, body: 'x' }))).status,
    ).toBe(404);
    expect((await failure(client.rest.issues.getComment({ owner, repo, comment_id: 1 }))).status).toBe(404);
    const pr = github.addPullRequest(full);
    const answer = await failure(
      unchecked('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        owner,
        repo,
        issue_number: pr.number,
      }),
    );
    expect(answer.status).toBe(422);
  });
});

describe('releases and assets', () => {
  it('creates a release (creating its tag), rejects a duplicate tag_name, finds it by tag and id', async () => {
    const created = await client.rest.repos.createRelease({
      owner,
      repo,
      tag_name: 'iris@v3.0.0',
      name: 'iris 3.0.0',
      body: 'notes',
    });
    expect(created.status).toBe(201);
    expect(created.data.upload_url).toBe(`${github.url}/repos/${full}/releases/${created.data.id}/assets{?name,label}`);
    expect(github.state.repo(full).refs.get('refs/tags/iris@v3.0.0')?.object.sha).toBe(
      github.state.repo(full).refs.get('refs/heads/main')?.object.sha,
    );
    const duplicate = await failure(client.rest.repos.createRelease({ owner, repo, tag_name: 'iris@v3.0.0' }));
    expect(duplicate.status).toBe(422);
    expect(duplicate.data).toMatchObject({
      message: 'Validation Failed',
      errors: [{ resource: 'Release', code: 'already_exists', field: 'tag_name' }],
    });
    const byTag = await client.rest.repos.getReleaseByTag({ owner, repo, tag: 'iris@v3.0.0' });
    expect(byTag.data.id).toBe(created.data.id);
    expect((await client.rest.repos.getRelease({ owner, repo, release_id: created.data.id })).data.name).toBe(
      'iris 3.0.0',
    );
    expect((await failure(client.rest.repos.getReleaseByTag({ owner, repo, tag: 'nope' }))).status).toBe(404);
  });

  it('rejects a release body with a wrong type', async () => {
    const answer = await failure(
      unchecked('POST /repos/{owner}/{repo}/releases', { owner, repo, tag_name: 'v9', draft: 'yes' }),
    );
    expect(answer.status).toBe(422);
    expect(answer.data.message).toContain('/draft');
  });

  it('drafts: hidden from read-only tokens and by tag; publishing creates the tag', async () => {
    const draft = await client.rest.repos.createRelease({ owner, repo, tag_name: 'iris@v4.0.0', draft: true });
    expect(github.state.repo(full).refs.has('refs/tags/iris@v4.0.0')).toBe(false);
    expect((await failure(client.rest.repos.getReleaseByTag({ owner, repo, tag: 'iris@v4.0.0' }))).status).toBe(404);
    github.addToken('ghs_reader', { contents: 'read' });
    const reader = createGitHubClient({ token: 'ghs_reader', baseUrl: github.url });
    expect((await failure(reader.rest.repos.getRelease({ owner, repo, release_id: draft.data.id }))).status).toBe(404);
    const published = await client.rest.repos.updateRelease({ owner, repo, release_id: draft.data.id, draft: false });
    expect(published.data.published_at).not.toBeNull();
    expect(github.state.repo(full).refs.has('refs/tags/iris@v4.0.0')).toBe(true);
    expect((await reader.rest.repos.getReleaseByTag({ owner, repo, tag: 'iris@v4.0.0' })).data.id).toBe(draft.data.id);
  });

  it('lists releases newest first with pagination, and the latest', async () => {
    const list = await client.rest.repos.listReleases({ owner, repo, per_page: 1 });
    expect(list.data[0].tag_name).toBe('iris@v4.0.0');
    expect(list.headers.link).toContain('rel="next"');
    expect((await client.rest.repos.getLatestRelease({ owner, repo })).data.tag_name).toBe('iris@v4.0.0');
  });

  it('uploads an asset to upload_url, keeps the bytes, serves them, rejects a duplicate name', async () => {
    const release = await client.rest.repos.createRelease({ owner, repo, tag_name: 'iris@v5.0.0' });
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252, 10, 13]);
    const upload = await client.rest.repos.uploadReleaseAsset({
      owner,
      repo,
      release_id: release.data.id,
      url: release.data.upload_url,
      name: 'model.onnx',
      label: 'ONNX model',
      data: bytes as unknown as string,
      headers: { 'content-type': 'application/octet-stream', 'content-length': bytes.length },
    });
    expect(upload.status).toBe(201);
    expect(upload.data).toMatchObject({
      name: 'model.onnx',
      label: 'ONNX model',
      size: bytes.length,
      state: 'uploaded',
    });
    expect(Buffer.compare(github.state.repo(full).assetContent.get(upload.data.id)!, bytes)).toBe(0);
    const download = await fetch(upload.data.browser_download_url);
    expect(download.status).toBe(200);
    expect(Buffer.compare(Buffer.from(await download.arrayBuffer()), bytes)).toBe(0);
    const viaApi = await client.rest.repos.getReleaseAsset({
      owner,
      repo,
      asset_id: upload.data.id,
      headers: { accept: 'application/octet-stream' },
    });
    expect(Buffer.compare(Buffer.from(viaApi.data as unknown as ArrayBuffer), bytes)).toBe(0);
    const assets = await client.rest.repos.listReleaseAssets({ owner, repo, release_id: release.data.id });
    expect(assets.data.map((a) => a.name)).toEqual(['model.onnx']);
    const again = await failure(
      client.rest.repos.uploadReleaseAsset({
        owner,
        repo,
        release_id: release.data.id,
        url: release.data.upload_url,
        name: 'model.onnx',
        data: 'x',
        headers: { 'content-type': 'text/plain' },
      }),
    );
    expect(again.status).toBe(422);
    const recorded = github.requests.filter(
      (r) => r.operation === 'POST /repos/{owner}/{repo}/releases/{release_id}/assets',
    );
    expect(recorded[0].query).toMatchObject({ name: 'model.onnx', label: 'ONNX model' });
  });
});

describe('deployments', () => {
  it('creates deployments, filters by environment, and rejects an unknown ref', async () => {
    const staging = await client.rest.repos.createDeployment({
      owner,
      repo,
      ref: 'main',
      environment: 'staging',
      auto_merge: false,
      required_contexts: [],
      payload: { model: 'iris', version: '1.0.0' },
    });
    expect(staging.status).toBe(201);
    const data = staging.data as { id: number; sha: string; payload: unknown; production_environment: boolean };
    expect(data.sha).toBe(github.state.repo(full).refs.get('refs/heads/main')?.object.sha);
    expect(data.payload).toEqual({ model: 'iris', version: '1.0.0' });
    expect(data.production_environment).toBe(false);
    await client.rest.repos.createDeployment({
      owner,
      repo,
      ref: 'main',
      environment: 'production',
      required_contexts: [],
    });
    const listed = await client.rest.repos.listDeployments({ owner, repo, environment: 'staging' });
    expect(listed.data.map((d) => d.environment)).toEqual(['staging']);
    expect((await client.rest.repos.getDeployment({ owner, repo, deployment_id: data.id })).data.id).toBe(data.id);
    const unknown = await failure(client.rest.repos.createDeployment({ owner, repo, ref: 'no-such-branch' }));
    expect(unknown).toMatchObject({ status: 422, data: { message: 'No ref found for: no-such-branch' } });
    const missingRef = await failure(
      unchecked('POST /repos/{owner}/{repo}/deployments', { owner, repo, environment: 'x' }),
    );
    expect(missingRef.status).toBe(422);
  });

  it('statuses: validates the state, lists newest first, and a success makes earlier deployments inactive', async () => {
    const create = async () =>
      (
        (
          await client.rest.repos.createDeployment({
            owner,
            repo,
            ref: 'main',
            environment: 'qa',
            required_contexts: [],
          })
        ).data as { id: number }
      ).id;
    const first = await create();
    await client.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: first, state: 'success' });
    const second = await create();
    await client.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: second, state: 'in_progress' });
    const done = await client.rest.repos.createDeploymentStatus({
      owner,
      repo,
      deployment_id: second,
      state: 'success',
      log_url: 'https://example.com/run/1',
      environment_url: 'http://127.0.0.1:8000',
    });
    expect(done.data).toMatchObject({ state: 'success', target_url: 'https://example.com/run/1', environment: 'qa' });
    const firstStatuses = await client.rest.repos.listDeploymentStatuses({ owner, repo, deployment_id: first });
    expect(firstStatuses.data.map((s) => s.state)).toEqual(['inactive', 'success']);
    const secondStatuses = await client.rest.repos.listDeploymentStatuses({ owner, repo, deployment_id: second });
    expect(secondStatuses.data.map((s) => s.state)).toEqual(['success', 'in_progress']);
    const one = await client.rest.repos.getDeploymentStatus({
      owner,
      repo,
      deployment_id: second,
      status_id: done.data.id,
    });
    expect(one.data.id).toBe(done.data.id);
    const bad = await failure(
      unchecked('POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses', {
        owner,
        repo,
        deployment_id: second,
        state: 'deployed',
      }),
    );
    expect(bad.status).toBe(422);
    expect(bad.data.message).toContain('/state');
  });

  it('auto_inactive: false keeps earlier deployments as they were; production is left alone', async () => {
    const create = async (environment: string) =>
      (
        (await client.rest.repos.createDeployment({ owner, repo, ref: 'main', environment, required_contexts: [] }))
          .data as { id: number }
      ).id;
    const a = await create('dev');
    await client.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: a, state: 'success' });
    const b = await create('dev');
    await client.rest.repos.createDeploymentStatus({
      owner,
      repo,
      deployment_id: b,
      state: 'success',
      auto_inactive: false,
    });
    expect(
      github.state
        .repo(full)
        .deploymentStatuses.get(a)
        ?.map((s) => s.state),
    ).toEqual(['success']);
    const p1 = await create('production');
    await client.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: p1, state: 'success' });
    const p2 = await create('production');
    await client.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: p2, state: 'success' });
    expect(
      github.state
        .repo(full)
        .deploymentStatuses.get(p1)
        ?.map((s) => s.state),
    ).toEqual(['success']);
  });
});

describe('pull requests', () => {
  it('gets a pull request and lists its files with pagination', async () => {
    const files = Array.from({ length: 5 }, (_, i) => ({ filename: `models/m${i}.onnx`, status: 'added' as const }));
    const pr = github.addPullRequest(full, { title: 'New models', headRef: 'new-models', files });
    const got = await client.rest.pulls.get({ owner, repo, pull_number: pr.number });
    expect(got.data).toMatchObject({
      number: pr.number,
      title: 'New models',
      head: { ref: 'new-models' },
      base: { ref: 'main' },
    });
    const listed = await client.paginate(client.rest.pulls.listFiles, {
      owner,
      repo,
      pull_number: pr.number,
      per_page: 2,
    });
    expect(listed.map((f) => f.filename)).toEqual(files.map((f) => f.filename));
    expect((await failure(client.rest.pulls.get({ owner, repo, pull_number: 9999 }))).status).toBe(404);
    const open = await client.rest.pulls.list({ owner, repo, head: 'acme:new-models' });
    expect(open.data.map((p) => p.number)).toEqual([pr.number]);
  });
});

describe('recorded requests and faults', () => {
  it('records method, path, query, headers and body', async () => {
    const before = github.requests.length;
    await client.rest.git.createRef({ owner, repo, ref: 'refs/tags/recorded', sha: fakeSha('r') });
    const [request] = github.requests.slice(before);
    expect(request).toMatchObject({
      method: 'POST',
      path: `/repos/${full}/git/refs`,
      operation: 'POST /repos/{owner}/{repo}/git/refs',
      body: { ref: 'refs/tags/recorded', sha: fakeSha('r') },
      status: 201,
    });
    expect(request.headers.authorization).toBe(`token ${EMULATOR_TOKEN}`);
    expect(request.headers['user-agent']).toMatch(/^modelship /);
  });

  it('the client retries a 5xx quickly and never retries a 4xx', async () => {
    github.injectFault({ method: 'GET', path: `/repos/${full}`, status: 502, times: 2 });
    const before = github.requests.length;
    const started = performance.now();
    await expect(client.rest.repos.get({ owner, repo })).resolves.toMatchObject({ status: 200 });
    expect(github.requests.length - before).toBe(3);
    expect(performance.now() - started).toBeLessThan(2000);
    const mark = github.requests.length;
    await failure(client.rest.repos.get({ owner, repo: 'missing' }));
    expect(github.requests.length - mark).toBe(1);
  });
});

describe('request schemas', () => {
  it('the committed schema file equals a fresh extraction from @octokit/openapi', () => {
    expect(readFileSync(schemaFile, 'utf8')).toBe(extractGitHubSchemas());
  });
});
