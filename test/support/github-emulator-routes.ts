/**
 * What each served GitHub operation does to the emulator's state and answers, following GitHub's
 * documented behaviour (status codes, error messages, side effects such as a release creating its tag).
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { OperationKey, PermissionName, PermissionRequirement } from './github-operations.js';
import {
  addCommit,
  nodeId,
  setRef,
  timestamp,
  type DeploymentJson,
  type DeploymentState,
  type DeploymentStatusJson,
  type EmulatorState,
  type IdSequence,
  type IssueCommentJson,
  type ReleaseAssetJson,
  type ReleaseJson,
  type RepoState,
  type TagJson,
  type TokenState,
  type Urls,
} from './github-emulator-state.js';

export interface Reply {
  status: number;
  json?: unknown;
  raw?: Buffer;
  contentType?: string;
  headers?: Record<string, string>;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface RequestContext {
  state: EmulatorState;
  repo: RepoState;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Parsed JSON body (undefined when none), or the raw bytes for uploads. */
  body: unknown;
  rawBody: Buffer;
  headers: IncomingHttpHeaders;
  token: TokenState;
  urls: Urls;
  ids: IdSequence;
  requestUrl: URL;
  /** Throws 403 unless the token holds one of these permissions. */
  requirePermission(requirement: PermissionRequirement): void;
  can(name: PermissionName, level: 'read' | 'write'): boolean;
}

type Handler = (ctx: RequestContext) => Reply;

const notFound = () => new ApiError(404, 'Not Found');
const validationFailed = (errors: Record<string, unknown>[]) => new ApiError(422, 'Validation Failed', { errors });

type Body = Record<string, unknown>;
const bodyOf = (ctx: RequestContext): Body => (ctx.body ?? {}) as Body;
const apiBase = (ctx: RequestContext) => `${ctx.urls.api}/repos/${ctx.repo.repository.full_name}`;
const ok = (json: unknown, status = 200): Reply => ({ status, json });
const noContent = (): Reply => ({ status: 204 });

function integerParam(ctx: RequestContext, name: string): number {
  const value = ctx.params[name];
  if (!/^\d+$/.test(value)) throw notFound();
  return Number(value);
}

/** GitHub's page-based pagination: per_page (default 30, at most 100), page, and a Link header. */
export function paginate<T>(ctx: RequestContext, items: T[]): Reply {
  const perPage = Math.min(Math.max(Number(ctx.query.get('per_page')) || 30, 1), 100);
  const page = Math.max(Number(ctx.query.get('page')) || 1, 1);
  const lastPage = Math.max(Math.ceil(items.length / perPage), 1);
  const link = (n: number) => {
    const url = new URL(ctx.requestUrl.pathname, ctx.urls.api);
    for (const [k, v] of ctx.query) if (k !== 'page') url.searchParams.append(k, v);
    url.searchParams.set('page', String(n));
    return `<${url.href}>`;
  };
  const links: string[] = [];
  if (page > 1) links.push(`${link(page - 1)}; rel="prev"`);
  if (page < lastPage) links.push(`${link(page + 1)}; rel="next"`);
  if (page < lastPage) links.push(`${link(lastPage)}; rel="last"`);
  if (page > 1) links.push(`${link(1)}; rel="first"`);
  return {
    status: 200,
    json: items.slice((page - 1) * perPage, page * perPage),
    headers: links.length ? { link: links.join(', ') } : {},
  };
}

const isSha = (value: unknown): value is string => typeof value === 'string' && /^[0-9a-f]{40}$/.test(value);

/** A commit the emulator was told about, or any well-formed sha (registered on first use). */
function commitFor(ctx: RequestContext, sha: string): boolean {
  if (ctx.repo.commits.has(sha)) return true;
  if (ctx.state.strictObjects || !isSha(sha)) return false;
  addCommit(ctx.repo, ctx.urls, { sha });
  return true;
}

/** Resolves a branch, tag or sha the way the deployments and releases APIs do. */
function resolveCommitish(ctx: RequestContext, commitish: string): string | undefined {
  for (const ref of [`refs/heads/${commitish}`, `refs/tags/${commitish}`, commitish]) {
    const found = ctx.repo.refs.get(ref);
    if (found) return peel(ctx, found.object.sha);
  }
  return commitFor(ctx, commitish) ? commitish : undefined;
}

function peel(ctx: RequestContext, sha: string): string {
  const tag = ctx.repo.tags.get(sha);
  return tag ? peel(ctx, tag.object.sha) : sha;
}

/** git check-ref-format, the rules GitHub applies to a new ref. */
function validRefName(ref: string): boolean {
  if (!/^refs\/[^/]+\/.+/.test(ref)) return false;
  if ([...ref].some((c) => c.charCodeAt(0) <= 0x20 || c.charCodeAt(0) === 0x7f || '~^:?*[\\'.includes(c))) return false;
  if (/\.\.|@\{|\/\/|\/$|\.$|\.lock$|\/\./.test(ref)) return false;
  return ref.split('/').every((part) => part !== '' && !part.startsWith('.') && !part.endsWith('.lock'));
}

// ---- repositories ---------------------------------------------------------------------------------

/** With `permissions` as the token sees them, as GitHub adds for an authenticated caller. */
const getRepo: Handler = (ctx) =>
  ok({
    ...ctx.repo.repository,
    permissions: {
      admin: false,
      maintain: false,
      push: ctx.can('contents', 'write'),
      triage: ctx.can('issues', 'write'),
      pull: ctx.can('contents', 'read'),
    },
  });

// ---- issue comments -------------------------------------------------------------------------------

function issueFor(ctx: RequestContext) {
  const issue = ctx.repo.issues.get(integerParam(ctx, 'issue_number'));
  if (!issue) throw notFound();
  return issue;
}

function commentFor(ctx: RequestContext): IssueCommentJson {
  const id = integerParam(ctx, 'comment_id');
  const comment = ctx.repo.comments.find((c) => c.id === id);
  if (!comment) throw notFound();
  return comment;
}

/** A pull request's comments need `pull-requests` or `issues`; a plain issue's only `issues`. */
function requireCommentPermission(ctx: RequestContext, issueUrl: string, level: 'read' | 'write') {
  const issue = [...ctx.repo.issues.values()].find((i) => i.url === issueUrl);
  ctx.requirePermission(
    issue?.pull_request
      ? [
          ['issues', level],
          ['pull-requests', level],
        ]
      : [['issues', level]],
  );
}

const listComments: Handler = (ctx) => {
  const issue = issueFor(ctx);
  requireCommentPermission(ctx, issue.url, 'read');
  return paginate(
    ctx,
    ctx.repo.comments.filter((c) => c.issue_url === issue.url),
  );
};

const createComment: Handler = (ctx) => {
  const issue = issueFor(ctx);
  requireCommentPermission(ctx, issue.url, 'write');
  const id = ctx.ids.take();
  const now = timestamp();
  const comment: IssueCommentJson = {
    id,
    node_id: nodeId('IC', id),
    url: `${apiBase(ctx)}/issues/comments/${id}`,
    html_url: `${issue.html_url}#issuecomment-${id}`,
    issue_url: issue.url,
    body: String(bodyOf(ctx).body),
    user: ctx.token.user,
    created_at: now,
    updated_at: now,
    author_association: 'NONE',
  };
  ctx.repo.comments.push(comment);
  return ok(comment, 201);
};

const getComment: Handler = (ctx) => {
  const comment = commentFor(ctx);
  requireCommentPermission(ctx, comment.issue_url, 'read');
  return ok(comment);
};

const updateComment: Handler = (ctx) => {
  const comment = commentFor(ctx);
  requireCommentPermission(ctx, comment.issue_url, 'write');
  comment.body = String(bodyOf(ctx).body);
  comment.updated_at = timestamp();
  return ok(comment);
};

const deleteComment: Handler = (ctx) => {
  const comment = commentFor(ctx);
  requireCommentPermission(ctx, comment.issue_url, 'write');
  ctx.repo.comments.splice(ctx.repo.comments.indexOf(comment), 1);
  return noContent();
};

// ---- git refs, tags and commits -----------------------------------------------------------------

const sortedRefs = (ctx: RequestContext) =>
  [...ctx.repo.refs.values()].sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));

const listMatchingRefs: Handler = (ctx) => {
  const prefix = `refs/${ctx.params.ref}`;
  return ok(sortedRefs(ctx).filter((r) => r.ref.startsWith(prefix)));
};

const getRef: Handler = (ctx) => {
  const ref = ctx.repo.refs.get(`refs/${ctx.params.ref}`);
  if (!ref) throw notFound();
  return ok(ref);
};

const createRef: Handler = (ctx) => {
  const { ref, sha } = bodyOf(ctx) as { ref: string; sha: string };
  if (!validRefName(ref)) throw new ApiError(422, `${ref} is not a valid ref name.`);
  if (ctx.repo.refs.has(ref)) throw new ApiError(422, 'Reference already exists');
  if (!ctx.repo.tags.has(sha) && !commitFor(ctx, sha)) throw new ApiError(422, 'Object does not exist');
  return ok(setRef(ctx.repo, ctx.urls, ref, sha), 201);
};

const updateRef: Handler = (ctx) => {
  const ref = `refs/${ctx.params.ref}`;
  if (!ctx.repo.refs.has(ref)) throw new ApiError(422, 'Reference does not exist');
  const { sha } = bodyOf(ctx) as { sha: string };
  if (!ctx.repo.tags.has(sha) && !commitFor(ctx, sha)) throw new ApiError(422, 'Object does not exist');
  return ok(setRef(ctx.repo, ctx.urls, ref, sha));
};

const deleteRef: Handler = (ctx) => {
  const ref = `refs/${ctx.params.ref}`;
  if (!ctx.repo.refs.delete(ref)) throw new ApiError(422, 'Reference does not exist');
  return noContent();
};

const createTag: Handler = (ctx) => {
  const body = bodyOf(ctx) as {
    tag: string;
    message: string;
    object: string;
    type: string;
    tagger?: { name?: string; email?: string; date?: string };
  };
  const exists = body.type === 'commit' ? commitFor(ctx, body.object) : ctx.repo.tags.has(body.object);
  if (!exists && body.type !== 'tree' && body.type !== 'blob') throw new ApiError(422, 'Object does not exist');
  const tagger = {
    name: body.tagger?.name ?? ctx.token.user.login,
    email: body.tagger?.email ?? `${ctx.token.user.id}+${ctx.token.user.login}@users.noreply.github.com`,
    date: body.tagger?.date ?? timestamp(),
  };
  // Git's own object hash, so the same tag written twice gets the same sha.
  const epoch = Math.floor(Date.parse(tagger.date) / 1000);
  const content = `object ${body.object}\ntype ${body.type}\ntag ${body.tag}\ntagger ${tagger.name} <${tagger.email}> ${epoch} +0000\n\n${body.message}`;
  const sha = createHash('sha1')
    .update(`tag ${Buffer.byteLength(content)}\0${content}`)
    .digest('hex');
  const tag: TagJson = {
    node_id: nodeId('TAG', sha),
    tag: body.tag,
    sha,
    url: `${apiBase(ctx)}/git/tags/${sha}`,
    message: body.message,
    tagger,
    object: {
      type: body.type,
      sha: body.object,
      url: `${apiBase(ctx)}/git/${body.type === 'tag' ? 'tags' : `${body.type}s`}/${body.object}`,
    },
    verification: { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
  };
  ctx.repo.tags.set(sha, tag);
  return ok(tag, 201);
};

const getTag: Handler = (ctx) => {
  const tag = ctx.repo.tags.get(ctx.params.tag_sha);
  if (!tag) throw notFound();
  return ok(tag);
};

const getGitCommit: Handler = (ctx) => {
  const commit = ctx.repo.commits.get(ctx.params.commit_sha);
  if (!commit) throw notFound();
  return ok(commit);
};

/** The REST (not git database) commit: resolves a branch, tag or sha. */
const getCommit: Handler = (ctx) => {
  const sha = resolveCommitish(ctx, ctx.params.ref);
  const commit = sha ? ctx.repo.commits.get(sha) : undefined;
  if (!commit) throw new ApiError(422, `No commit found for SHA: ${ctx.params.ref}`);
  return ok({
    sha: commit.sha,
    node_id: commit.node_id,
    url: `${apiBase(ctx)}/commits/${commit.sha}`,
    html_url: commit.html_url,
    commit: {
      url: commit.url,
      message: commit.message,
      tree: commit.tree,
      author: commit.author,
      committer: commit.committer,
    },
    parents: commit.parents,
  });
};

// ---- releases -------------------------------------------------------------------------------------

/** Drafts are visible only to tokens that can push, as on GitHub. */
const visibleReleases = (ctx: RequestContext) =>
  ctx.repo.releases.filter((r) => !r.draft || ctx.can('contents', 'write'));

function releaseFor(ctx: RequestContext): ReleaseJson {
  const id = integerParam(ctx, 'release_id');
  const release = visibleReleases(ctx).find((r) => r.id === id);
  if (!release) throw notFound();
  return release;
}

/** Publishing a release whose tag does not exist creates the tag at target_commitish. */
function ensureReleaseTag(ctx: RequestContext, release: ReleaseJson) {
  const ref = `refs/tags/${release.tag_name}`;
  if (release.draft || ctx.repo.refs.has(ref)) return;
  const sha = resolveCommitish(ctx, release.target_commitish);
  if (!sha) throw validationFailed([{ resource: 'Release', code: 'invalid', field: 'target_commitish' }]);
  setRef(ctx.repo, ctx.urls, ref, sha);
}

function releaseUrls(ctx: RequestContext, release: ReleaseJson) {
  const base = apiBase(ctx);
  const tag = encodeURIComponent(release.tag_name);
  release.url = `${base}/releases/${release.id}`;
  release.assets_url = `${base}/releases/${release.id}/assets`;
  release.upload_url = `${ctx.urls.api}/repos/${ctx.repo.repository.full_name}/releases/${release.id}/assets{?name,label}`;
  release.html_url = release.draft
    ? `${ctx.repo.repository.html_url}/releases/tag/untagged-${release.id}`
    : `${ctx.repo.repository.html_url}/releases/tag/${tag}`;
  release.tarball_url = release.draft ? null : `${base}/tarball/${tag}`;
  release.zipball_url = release.draft ? null : `${base}/zipball/${tag}`;
}

const tagTaken = (ctx: RequestContext, tag: string, except?: number) =>
  ctx.repo.releases.some((r) => r.tag_name === tag && r.id !== except);

const listReleases: Handler = (ctx) => paginate(ctx, [...visibleReleases(ctx)].reverse());

const createRelease: Handler = (ctx) => {
  const body = bodyOf(ctx) as Partial<{
    tag_name: string;
    target_commitish: string;
    name: string;
    body: string;
    draft: boolean;
    prerelease: boolean;
    make_latest: 'true' | 'false' | 'legacy';
  }>;
  const tagName = body.tag_name ?? '';
  if (tagTaken(ctx, tagName))
    throw validationFailed([{ resource: 'Release', code: 'already_exists', field: 'tag_name' }]);
  const id = ctx.ids.take();
  const now = timestamp();
  const release: ReleaseJson = {
    url: '',
    html_url: '',
    assets_url: '',
    upload_url: '',
    tarball_url: null,
    zipball_url: null,
    id,
    node_id: nodeId('RE', id),
    tag_name: tagName,
    target_commitish: body.target_commitish ?? ctx.repo.repository.default_branch,
    name: body.name ?? null,
    body: body.body ?? null,
    draft: body.draft ?? false,
    prerelease: body.prerelease ?? false,
    immutable: false,
    created_at: now,
    published_at: body.draft ? null : now,
    updated_at: now,
    author: ctx.token.user,
    assets: [],
  };
  releaseUrls(ctx, release);
  ensureReleaseTag(ctx, release);
  ctx.repo.releases.push(release);
  if (body.make_latest === 'true' && !release.draft) ctx.repo.latestReleaseId = id;
  return ok(release, 201);
};

const getLatestRelease: Handler = (ctx) => {
  const published = ctx.repo.releases.filter((r) => !r.draft && !r.prerelease);
  const marked = published.find((r) => r.id === ctx.repo.latestReleaseId);
  const latest = marked ?? published.at(-1);
  if (!latest) throw notFound();
  return ok(latest);
};

const getReleaseByTag: Handler = (ctx) => {
  const release = ctx.repo.releases.find((r) => !r.draft && r.tag_name === ctx.params.tag);
  if (!release) throw notFound();
  return ok(release);
};

const getRelease: Handler = (ctx) => ok(releaseFor(ctx));

const updateRelease: Handler = (ctx) => {
  const release = releaseFor(ctx);
  const body = bodyOf(ctx) as Partial<ReleaseJson> & { make_latest?: string };
  if (body.tag_name !== undefined && tagTaken(ctx, body.tag_name, release.id)) {
    throw validationFailed([{ resource: 'Release', code: 'already_exists', field: 'tag_name' }]);
  }
  const wasDraft = release.draft;
  for (const key of ['tag_name', 'target_commitish', 'name', 'body', 'draft', 'prerelease'] as const) {
    if (body[key] !== undefined) Object.assign(release, { [key]: body[key] });
  }
  if (wasDraft && !release.draft) release.published_at = timestamp();
  release.updated_at = timestamp();
  releaseUrls(ctx, release);
  ensureReleaseTag(ctx, release);
  if (body.make_latest === 'true' && !release.draft) ctx.repo.latestReleaseId = release.id;
  return ok(release);
};

const deleteRelease: Handler = (ctx) => {
  const release = releaseFor(ctx);
  ctx.repo.releases.splice(ctx.repo.releases.indexOf(release), 1);
  for (const asset of release.assets) ctx.repo.assetContent.delete(asset.id);
  return noContent();
};

const listReleaseAssets: Handler = (ctx) => paginate(ctx, releaseFor(ctx).assets);

const uploadReleaseAsset: Handler = (ctx) => {
  const release = releaseFor(ctx);
  const name = ctx.query.get('name');
  if (!name) throw validationFailed([{ resource: 'ReleaseAsset', code: 'missing_field', field: 'name' }]);
  const contentType = ctx.headers['content-type'];
  if (!contentType) throw new ApiError(400, 'Content-Type header is required for a release asset upload.');
  if (release.assets.some((a) => a.name === name)) {
    throw validationFailed([{ resource: 'ReleaseAsset', code: 'already_exists', field: 'name' }]);
  }
  const id = ctx.ids.take();
  const now = timestamp();
  const asset: ReleaseAssetJson = {
    url: `${apiBase(ctx)}/releases/assets/${id}`,
    browser_download_url: downloadUrl(ctx, release.tag_name, name),
    id,
    node_id: nodeId('RA', id),
    name,
    label: ctx.query.get('label') ?? '',
    state: 'uploaded',
    content_type: contentType,
    size: ctx.rawBody.length,
    digest: `sha256:${createHash('sha256').update(ctx.rawBody).digest('hex')}`,
    download_count: 0,
    created_at: now,
    updated_at: now,
    uploader: ctx.token.user,
  };
  release.assets.push(asset);
  ctx.repo.assetContent.set(id, Buffer.from(ctx.rawBody));
  return ok(asset, 201);
};

export const downloadUrl = (ctx: { urls: Urls; repo: RepoState }, tag: string, name: string) =>
  `${ctx.urls.api}/${ctx.repo.repository.full_name}/releases/download/${encodeURIComponent(tag)}/${encodeURIComponent(name)}`;

function assetFor(ctx: RequestContext) {
  const id = integerParam(ctx, 'asset_id');
  for (const release of visibleReleases(ctx)) {
    const asset = release.assets.find((a) => a.id === id);
    if (asset) return { release, asset };
  }
  throw notFound();
}

/** JSON metadata, or the bytes when asked for `application/octet-stream` (GitHub redirects; we answer directly). */
const getReleaseAsset: Handler = (ctx) => {
  const { asset } = assetFor(ctx);
  if (String(ctx.headers.accept ?? '').includes('application/octet-stream')) {
    asset.download_count++;
    return { status: 200, raw: ctx.repo.assetContent.get(asset.id), contentType: 'application/octet-stream' };
  }
  return ok(asset);
};

const deleteReleaseAsset: Handler = (ctx) => {
  const { release, asset } = assetFor(ctx);
  release.assets.splice(release.assets.indexOf(asset), 1);
  ctx.repo.assetContent.delete(asset.id);
  return noContent();
};

// ---- deployments ----------------------------------------------------------------------------------

function deploymentFor(ctx: RequestContext): DeploymentJson {
  const id = integerParam(ctx, 'deployment_id');
  const deployment = ctx.repo.deployments.find((d) => d.id === id);
  if (!deployment) throw notFound();
  return deployment;
}

const latestStatus = (ctx: RequestContext, id: number) => ctx.repo.deploymentStatuses.get(id)?.at(-1);

const listDeployments: Handler = (ctx) => {
  const filters = ['sha', 'ref', 'task', 'environment'] as const;
  const matches = ctx.repo.deployments.filter((d) =>
    filters.every((f) => !ctx.query.has(f) || String(d[f]) === ctx.query.get(f)),
  );
  return paginate(ctx, [...matches].reverse());
};

const createDeployment: Handler = (ctx) => {
  const body = bodyOf(ctx) as Partial<{
    ref: string;
    task: string;
    payload: Record<string, unknown> | string;
    environment: string;
    description: string | null;
    required_contexts: string[];
    transient_environment: boolean;
    production_environment: boolean;
  }>;
  const ref = String(body.ref);
  const sha = resolveCommitish(ctx, ref);
  if (!sha) throw new ApiError(422, `No ref found for: ${ref}`);
  // No commit statuses exist here, so only an explicit list of required contexts can fail.
  if (body.required_contexts && body.required_contexts.length > 0) {
    throw new ApiError(409, `Conflict: Commit status checks failed for ${ref}.`, {
      errors: [
        {
          contexts: body.required_contexts.map((context) => ({ context, state: 'missing' })),
          resource: 'Deployment',
          field: 'required_contexts',
        },
      ],
    });
  }
  const environment = body.environment ?? 'production';
  const id = ctx.ids.take();
  const now = timestamp();
  const base = apiBase(ctx);
  const deployment: DeploymentJson = {
    url: `${base}/deployments/${id}`,
    id,
    node_id: nodeId('DE', id),
    sha,
    ref,
    task: body.task ?? 'deploy',
    payload: body.payload ?? {},
    original_environment: environment,
    environment,
    description: body.description ?? '',
    creator: ctx.token.user,
    created_at: now,
    updated_at: now,
    statuses_url: `${base}/deployments/${id}/statuses`,
    repository_url: base,
    transient_environment: body.transient_environment ?? false,
    production_environment: body.production_environment ?? environment === 'production',
  };
  ctx.repo.deployments.push(deployment);
  ctx.repo.deploymentStatuses.set(id, []);
  return ok(deployment, 201);
};

const getDeployment: Handler = (ctx) => ok(deploymentFor(ctx));

const deleteDeployment: Handler = (ctx) => {
  const deployment = deploymentFor(ctx);
  const inEnvironment = ctx.repo.deployments.filter((d) => d.environment === deployment.environment);
  const state = latestStatus(ctx, deployment.id)?.state;
  if (state !== 'inactive' && inEnvironment.length > 1) {
    throw new ApiError(
      422,
      'We cannot delete an active deployment unless it is the only deployment in a given environment.',
    );
  }
  ctx.repo.deployments.splice(ctx.repo.deployments.indexOf(deployment), 1);
  ctx.repo.deploymentStatuses.delete(deployment.id);
  return noContent();
};

function addStatus(
  ctx: RequestContext,
  deployment: DeploymentJson,
  fields: {
    state: DeploymentState;
    description?: string;
    environment?: string;
    target_url?: string;
    log_url?: string;
    environment_url?: string;
  },
): DeploymentStatusJson {
  const id = ctx.ids.take();
  const now = timestamp();
  const previous = latestStatus(ctx, deployment.id);
  const logUrl = fields.log_url ?? fields.target_url ?? '';
  const status: DeploymentStatusJson = {
    url: `${deployment.url}/statuses/${id}`,
    id,
    node_id: nodeId('DES', id),
    state: fields.state,
    creator: ctx.token.user,
    description: fields.description ?? '',
    environment: fields.environment ?? previous?.environment ?? deployment.environment,
    target_url: logUrl,
    log_url: logUrl,
    environment_url: fields.environment_url ?? '',
    created_at: now,
    updated_at: now,
    deployment_url: deployment.url,
    repository_url: deployment.repository_url,
  };
  deployment.environment = status.environment;
  deployment.updated_at = now;
  ctx.repo.deploymentStatuses.get(deployment.id)!.push(status);
  return status;
}

const listDeploymentStatuses: Handler = (ctx) =>
  paginate(ctx, [...(ctx.repo.deploymentStatuses.get(deploymentFor(ctx).id) ?? [])].reverse());

/**
 * auto_inactive (default true), as GitHub documents it: a `success` adds an `inactive` status to every
 * prior non-transient, non-production deployment of the same environment whose last state was `success`.
 */
const createDeploymentStatus: Handler = (ctx) => {
  const deployment = deploymentFor(ctx);
  const body = bodyOf(ctx) as Parameters<typeof addStatus>[2] & { auto_inactive?: boolean };
  const status = addStatus(ctx, deployment, body);
  if (status.state === 'success' && body.auto_inactive !== false) {
    for (const earlier of ctx.repo.deployments) {
      if (earlier.id >= deployment.id || earlier.environment !== deployment.environment) continue;
      if (earlier.transient_environment || earlier.production_environment) continue;
      if (latestStatus(ctx, earlier.id)?.state === 'success') addStatus(ctx, earlier, { state: 'inactive' });
    }
  }
  return ok(status, 201);
};

const getDeploymentStatus: Handler = (ctx) => {
  const id = integerParam(ctx, 'status_id');
  const status = ctx.repo.deploymentStatuses.get(deploymentFor(ctx).id)?.find((s) => s.id === id);
  if (!status) throw notFound();
  return ok(status);
};

// ---- pull requests --------------------------------------------------------------------------------

function pullFor(ctx: RequestContext) {
  const pull = ctx.repo.pullRequests.get(integerParam(ctx, 'pull_number'));
  if (!pull) throw notFound();
  return pull;
}

const listPulls: Handler = (ctx) => {
  const state = ctx.query.get('state') ?? 'open';
  const head = ctx.query.get('head');
  const base = ctx.query.get('base');
  const pulls = [...ctx.repo.pullRequests.values()]
    .filter((p) => state === 'all' || p.state === state)
    .filter((p) => !head || p.head.label === head || p.head.ref === head)
    .filter((p) => !base || p.base.ref === base)
    .sort((a, b) => b.number - a.number);
  return paginate(ctx, pulls);
};

const getPull: Handler = (ctx) => ok(pullFor(ctx));

const listPullFiles: Handler = (ctx) =>
  paginate(ctx, (ctx.repo.pullRequestFiles.get(pullFor(ctx).number) ?? []).slice(0, 3000));

export const handlers: Record<OperationKey, Handler> = {
  'GET /repos/{owner}/{repo}': getRepo,
  'GET /repos/{owner}/{repo}/issues/{issue_number}/comments': listComments,
  'POST /repos/{owner}/{repo}/issues/{issue_number}/comments': createComment,
  'GET /repos/{owner}/{repo}/issues/comments/{comment_id}': getComment,
  'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}': updateComment,
  'DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}': deleteComment,
  'GET /repos/{owner}/{repo}/git/matching-refs/{ref}': listMatchingRefs,
  'GET /repos/{owner}/{repo}/git/ref/{ref}': getRef,
  'POST /repos/{owner}/{repo}/git/refs': createRef,
  'PATCH /repos/{owner}/{repo}/git/refs/{ref}': updateRef,
  'DELETE /repos/{owner}/{repo}/git/refs/{ref}': deleteRef,
  'POST /repos/{owner}/{repo}/git/tags': createTag,
  'GET /repos/{owner}/{repo}/git/tags/{tag_sha}': getTag,
  'GET /repos/{owner}/{repo}/git/commits/{commit_sha}': getGitCommit,
  'GET /repos/{owner}/{repo}/commits/{ref}': getCommit,
  'GET /repos/{owner}/{repo}/releases': listReleases,
  'POST /repos/{owner}/{repo}/releases': createRelease,
  'GET /repos/{owner}/{repo}/releases/latest': getLatestRelease,
  'GET /repos/{owner}/{repo}/releases/tags/{tag}': getReleaseByTag,
  'GET /repos/{owner}/{repo}/releases/assets/{asset_id}': getReleaseAsset,
  'DELETE /repos/{owner}/{repo}/releases/assets/{asset_id}': deleteReleaseAsset,
  'GET /repos/{owner}/{repo}/releases/{release_id}': getRelease,
  'PATCH /repos/{owner}/{repo}/releases/{release_id}': updateRelease,
  'DELETE /repos/{owner}/{repo}/releases/{release_id}': deleteRelease,
  'GET /repos/{owner}/{repo}/releases/{release_id}/assets': listReleaseAssets,
  'POST /repos/{owner}/{repo}/releases/{release_id}/assets': uploadReleaseAsset,
  'GET /repos/{owner}/{repo}/deployments': listDeployments,
  'POST /repos/{owner}/{repo}/deployments': createDeployment,
  'GET /repos/{owner}/{repo}/deployments/{deployment_id}': getDeployment,
  'DELETE /repos/{owner}/{repo}/deployments/{deployment_id}': deleteDeployment,
  'GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses': listDeploymentStatuses,
  'POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses': createDeploymentStatus,
  'GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses/{status_id}': getDeploymentStatus,
  'GET /repos/{owner}/{repo}/pulls': listPulls,
  'GET /repos/{owner}/{repo}/pulls/{pull_number}': getPull,
  'GET /repos/{owner}/{repo}/pulls/{pull_number}/files': listPullFiles,
};
