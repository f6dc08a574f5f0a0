/**
 * In-memory state of the GitHub API emulator. Records are stored exactly as the API returns them
 * (GitHub's field names and nesting), so a test reads state the way a client reads responses.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_BRANCH, fakeSha } from './github-events.js';
import type { PermissionLevel, Permissions } from './github-operations.js';

export interface UserJson {
  login: string;
  id: number;
  node_id: string;
  type: 'User' | 'Bot' | 'Organization';
  html_url: string;
  url: string;
}

export interface RepositoryJson {
  id: number;
  node_id: string;
  name: string;
  full_name: string;
  private: boolean;
  owner: UserJson;
  html_url: string;
  url: string;
  default_branch: string;
  visibility: 'public' | 'private';
}

export interface CommitJson {
  sha: string;
  node_id: string;
  url: string;
  html_url: string;
  message: string;
  tree: { sha: string; url: string };
  parents: { sha: string; url: string; html_url: string }[];
  author: { name: string; email: string; date: string };
  committer: { name: string; email: string; date: string };
}

export interface RefJson {
  ref: string;
  node_id: string;
  url: string;
  object: { type: 'commit' | 'tag'; sha: string; url: string };
}

export interface TagJson {
  node_id: string;
  tag: string;
  sha: string;
  url: string;
  message: string;
  tagger: { name: string; email: string; date: string };
  object: { type: string; sha: string; url: string };
  verification: { verified: boolean; reason: string; signature: null; payload: null; verified_at: null };
}

export interface IssueJson {
  id: number;
  node_id: string;
  number: number;
  title: string;
  state: 'open' | 'closed';
  url: string;
  html_url: string;
  user: UserJson;
  body: string | null;
  /** Present when the issue is a pull request, as on GitHub. */
  pull_request?: { url: string; html_url: string };
}

export interface IssueCommentJson {
  id: number;
  node_id: string;
  url: string;
  html_url: string;
  issue_url: string;
  body: string;
  user: UserJson;
  created_at: string;
  updated_at: string;
  author_association: string;
}

export interface PullRequestJson {
  id: number;
  node_id: string;
  number: number;
  state: 'open' | 'closed';
  title: string;
  body: string | null;
  draft: boolean;
  merged: boolean;
  merge_commit_sha: string | null;
  url: string;
  html_url: string;
  user: UserJson;
  labels: { id: number; name: string; color: string }[];
  head: { label: string; ref: string; sha: string; user: UserJson; repo: RepositoryJson };
  base: { label: string; ref: string; sha: string; user: UserJson; repo: RepositoryJson };
  created_at: string;
  updated_at: string;
}

export interface PullRequestFileJson {
  sha: string;
  filename: string;
  status: 'added' | 'removed' | 'modified' | 'renamed' | 'copied' | 'changed' | 'unchanged';
  additions: number;
  deletions: number;
  changes: number;
  blob_url: string;
  raw_url: string;
  contents_url: string;
  patch?: string;
  previous_filename?: string;
}

export interface ReleaseAssetJson {
  url: string;
  browser_download_url: string;
  id: number;
  node_id: string;
  name: string;
  label: string | null;
  state: 'uploaded' | 'open';
  content_type: string;
  size: number;
  digest: string;
  download_count: number;
  created_at: string;
  updated_at: string;
  uploader: UserJson;
}

export interface ReleaseJson {
  url: string;
  html_url: string;
  assets_url: string;
  upload_url: string;
  tarball_url: string | null;
  zipball_url: string | null;
  id: number;
  node_id: string;
  tag_name: string;
  target_commitish: string;
  name: string | null;
  body: string | null;
  draft: boolean;
  prerelease: boolean;
  immutable: boolean;
  created_at: string;
  published_at: string | null;
  updated_at: string;
  author: UserJson;
  assets: ReleaseAssetJson[];
}

export interface DeploymentJson {
  url: string;
  id: number;
  node_id: string;
  sha: string;
  ref: string;
  task: string;
  payload: Record<string, unknown> | string;
  original_environment: string;
  environment: string;
  description: string | null;
  creator: UserJson;
  created_at: string;
  updated_at: string;
  statuses_url: string;
  repository_url: string;
  transient_environment: boolean;
  production_environment: boolean;
}

export type DeploymentState = 'error' | 'failure' | 'inactive' | 'in_progress' | 'queued' | 'pending' | 'success';

export interface DeploymentStatusJson {
  url: string;
  id: number;
  node_id: string;
  state: DeploymentState;
  creator: UserJson;
  description: string;
  environment: string;
  target_url: string;
  log_url: string;
  environment_url: string;
  created_at: string;
  updated_at: string;
  deployment_url: string;
  repository_url: string;
}

export interface RepoState {
  repository: RepositoryJson;
  /** Commits by sha. */
  commits: Map<string, CommitJson>;
  /** Refs by full name (`refs/tags/iris@v1.0.0`). */
  refs: Map<string, RefJson>;
  /** Annotated tag objects by sha. */
  tags: Map<string, TagJson>;
  /** Issues and pull requests (every pull request is an issue) by number. */
  issues: Map<number, IssueJson>;
  pullRequests: Map<number, PullRequestJson>;
  pullRequestFiles: Map<number, PullRequestFileJson[]>;
  /** Issue and pull request comments, oldest first. */
  comments: IssueCommentJson[];
  /** Releases, oldest first; each holds its assets. */
  releases: ReleaseJson[];
  /** Uploaded bytes by asset id. */
  assetContent: Map<number, Buffer>;
  /** The release marked `make_latest: true`, when one was. */
  latestReleaseId?: number;
  /** Deployments, oldest first. */
  deployments: DeploymentJson[];
  /** Statuses by deployment id, oldest first. */
  deploymentStatuses: Map<number, DeploymentStatusJson[]>;
}

export interface TokenState {
  permissions: Permissions;
  user: UserJson;
  /** Repositories (`owner/name`) the token can see; all when left out. Others answer 404, as on GitHub. */
  repositories?: string[];
}

export interface EmulatorState {
  /** By lower-cased `owner/name`. */
  repos: Map<string, RepoState>;
  /** When true, refs, tags and deployments accept only commits added with `addCommit` (or seeded); otherwise any 40-hex sha is taken as an existing commit. */
  strictObjects: boolean;
  tokens: Map<string, TokenState>;
  /** The repository by `owner/name` (case-insensitive); throws when it does not exist. */
  repo(fullName: string): RepoState;
}

export interface Urls {
  /** The emulator's origin: API root, upload root and download host. */
  api: string;
  /** Where html_url links point (GITHUB_SERVER_URL). */
  server: string;
}

export class IdSequence {
  private next = 1000;
  take(): number {
    return this.next++;
  }
}

export const nodeId = (prefix: string, id: number | string): string =>
  `${prefix}_kw${Buffer.from(String(id)).toString('base64url')}`;

/** GitHub's timestamps: ISO 8601 in UTC without milliseconds. */
export const timestamp = (date = new Date()): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function userJson(login: string, urls: Urls, type: UserJson['type'] = 'User'): UserJson {
  const id = parseInt(createHash('sha1').update(`user:${login}`).digest('hex').slice(0, 7), 16);
  return {
    login,
    id,
    node_id: nodeId('U', id),
    type,
    html_url: `${urls.server}/${login}`,
    url: `${urls.api}/users/${encodeURIComponent(login)}`,
  };
}

export interface RepoSeed {
  defaultBranch?: string;
  private?: boolean;
  /** Head commit of the default branch; a stable fake sha when left out. */
  headSha?: string;
}

export function createRepoState(fullName: string, seed: RepoSeed, ids: IdSequence, urls: Urls): RepoState {
  const [owner, name] = fullName.split('/');
  if (!owner || !name) throw new Error(`Repository must be 'owner/name', got '${fullName}'.`);
  const id = ids.take();
  const defaultBranch = seed.defaultBranch ?? DEFAULT_BRANCH;
  const repository: RepositoryJson = {
    id,
    node_id: nodeId('R', id),
    name,
    full_name: fullName,
    private: seed.private ?? false,
    owner: userJson(owner, urls, 'Organization'),
    html_url: `${urls.server}/${fullName}`,
    url: `${urls.api}/repos/${fullName}`,
    default_branch: defaultBranch,
    visibility: seed.private ? 'private' : 'public',
  };
  const repo: RepoState = {
    repository,
    commits: new Map(),
    refs: new Map(),
    tags: new Map(),
    issues: new Map(),
    pullRequests: new Map(),
    pullRequestFiles: new Map(),
    comments: [],
    releases: [],
    assetContent: new Map(),
    deployments: [],
    deploymentStatuses: new Map(),
  };
  const head = seed.headSha ?? fakeSha(`${fullName}:${defaultBranch}`);
  addCommit(repo, urls, { sha: head, message: 'Initial commit' });
  setRef(repo, urls, `refs/heads/${defaultBranch}`, head);
  return repo;
}

export function addCommit(
  repo: RepoState,
  urls: Urls,
  commit: { sha: string; message?: string; parents?: string[]; author?: string },
): CommitJson {
  const base = `${urls.api}/repos/${repo.repository.full_name}`;
  const who = { name: commit.author ?? 'octocat', email: 'octocat@users.noreply.github.com', date: timestamp() };
  const json: CommitJson = {
    sha: commit.sha,
    node_id: nodeId('C', commit.sha),
    url: `${base}/git/commits/${commit.sha}`,
    html_url: `${repo.repository.html_url}/commit/${commit.sha}`,
    message: commit.message ?? `Commit ${commit.sha.slice(0, 7)}`,
    tree: { sha: fakeSha(`tree:${commit.sha}`), url: `${base}/git/trees/${fakeSha(`tree:${commit.sha}`)}` },
    parents: (commit.parents ?? []).map((sha) => ({
      sha,
      url: `${base}/git/commits/${sha}`,
      html_url: `${repo.repository.html_url}/commit/${sha}`,
    })),
    author: who,
    committer: who,
  };
  repo.commits.set(commit.sha, json);
  return json;
}

export function setRef(repo: RepoState, urls: Urls, ref: string, sha: string): RefJson {
  const base = `${urls.api}/repos/${repo.repository.full_name}`;
  const type = repo.tags.has(sha) ? 'tag' : 'commit';
  const json: RefJson = {
    ref,
    node_id: nodeId('REF', `${repo.repository.full_name}:${ref}`),
    url: `${base}/git/${ref}`,
    object: { type, sha, url: `${base}/git/${type === 'tag' ? 'tags' : 'commits'}/${sha}` },
  };
  repo.refs.set(ref, json);
  return json;
}

export function levelAllows(level: PermissionLevel | undefined, needed: 'read' | 'write'): boolean {
  if (needed === 'read') return level === 'read' || level === 'write' || level === 'admin';
  return level === 'write' || level === 'admin';
}
