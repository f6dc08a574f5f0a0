/**
 * Webhook payloads shaped like the ones the runner writes to GITHUB_EVENT_PATH, trimmed to the fields
 * actions read but keeping GitHub's names and nesting. Each builder also returns the GITHUB_REF and
 * GITHUB_SHA the runner sets for that event.
 */
import { createHash } from 'node:crypto';

export const DEFAULT_REPOSITORY = 'acme/models';
export const DEFAULT_BRANCH = 'main';
export const DEFAULT_ACTOR = 'octocat';

/** A stable 40-hex commit id for a label, so tests can name commits without a real git history. */
export function fakeSha(label: string): string {
  return createHash('sha1').update(label).digest('hex');
}

export type EventName = 'pull_request' | 'push' | 'workflow_dispatch';

export interface GitHubEvent {
  name: EventName | (string & {});
  payload?: object;
  /** GITHUB_REF the runner sets for this event. */
  ref?: string;
  /** GITHUB_SHA the runner sets for this event. */
  sha?: string;
  /** Other variables the runner sets for this event (GITHUB_HEAD_REF, GITHUB_BASE_REF). */
  env?: Record<string, string>;
}

const numericId = (text: string): number => parseInt(fakeSha(text).slice(0, 7), 16);

function userPayload(login: string) {
  const id = numericId(`user:${login}`);
  return {
    login,
    id,
    node_id: `U_${Buffer.from(String(id)).toString('base64')}`,
    type: login.endsWith('[bot]') ? 'Bot' : 'User',
    html_url: `https://github.com/${login}`,
  };
}

export function repositoryPayload(fullName = DEFAULT_REPOSITORY, defaultBranch = DEFAULT_BRANCH) {
  const [owner, name] = fullName.split('/');
  const id = numericId(`repo:${fullName}`);
  return {
    id,
    node_id: `R_${Buffer.from(String(id)).toString('base64')}`,
    name,
    full_name: fullName,
    private: false,
    owner: { ...userPayload(owner), type: 'Organization' },
    html_url: `https://github.com/${fullName}`,
    clone_url: `https://github.com/${fullName}.git`,
    default_branch: defaultBranch,
  };
}

export interface PullRequestEventOptions {
  number: number;
  baseRef?: string;
  headRef?: string;
  headSha?: string;
  baseSha?: string;
  /** The merge commit the runner checks out (GITHUB_SHA). */
  mergeSha?: string;
  action?: 'opened' | 'synchronize' | 'reopened' | 'closed' | 'edited' | 'labeled' | 'ready_for_review';
  title?: string;
  body?: string;
  user?: string;
  draft?: boolean;
  merged?: boolean;
  labels?: string[];
  repository?: string;
  /** The head repository when the pull request comes from a fork. */
  headRepository?: string;
}

export function pullRequestEvent(options: PullRequestEventOptions): GitHubEvent {
  const repository = options.repository ?? DEFAULT_REPOSITORY;
  const baseRef = options.baseRef ?? DEFAULT_BRANCH;
  const headRef = options.headRef ?? `feature-${options.number}`;
  const headSha = options.headSha ?? fakeSha(`head:${options.number}`);
  const baseSha = options.baseSha ?? fakeSha(`base:${baseRef}`);
  const mergeSha = options.mergeSha ?? fakeSha(`merge:${options.number}:${headSha}`);
  const repo = repositoryPayload(repository);
  const headRepo = options.headRepository ? repositoryPayload(options.headRepository) : repo;
  const user = userPayload(options.user ?? DEFAULT_ACTOR);
  const merged = options.merged ?? false;
  const action = options.action ?? 'opened';
  const prId = numericId(`pr:${repository}#${options.number}`);
  const payload = {
    action,
    number: options.number,
    pull_request: {
      id: prId,
      node_id: `PR_${Buffer.from(String(prId)).toString('base64')}`,
      number: options.number,
      state: action === 'closed' ? 'closed' : 'open',
      locked: false,
      title: options.title ?? `Update model (#${options.number})`,
      body: options.body ?? null,
      user,
      draft: options.draft ?? false,
      merged,
      merge_commit_sha: mergeSha,
      labels: (options.labels ?? []).map((name) => ({ id: numericId(`label:${name}`), name, color: 'ededed' })),
      html_url: `https://github.com/${repository}/pull/${options.number}`,
      url: `https://api.github.com/repos/${repository}/pulls/${options.number}`,
      head: { label: `${headRepo.owner.login}:${headRef}`, ref: headRef, sha: headSha, user, repo: headRepo },
      base: { label: `${repo.owner.login}:${baseRef}`, ref: baseRef, sha: baseSha, user: repo.owner, repo },
    },
    repository: repo,
    sender: user,
  };
  return {
    name: 'pull_request',
    payload,
    ref: `refs/pull/${options.number}/merge`,
    sha: mergeSha,
    env: { GITHUB_HEAD_REF: headRef, GITHUB_BASE_REF: baseRef },
  };
}

export interface PushEventOptions {
  ref?: string;
  /** The pushed commit (GITHUB_SHA). */
  after?: string;
  before?: string;
  commits?: { id?: string; message: string; added?: string[]; modified?: string[]; removed?: string[] }[];
  repository?: string;
  pusher?: string;
}

export function pushEvent(options: PushEventOptions = {}): GitHubEvent {
  const repository = options.repository ?? DEFAULT_REPOSITORY;
  const ref = options.ref ?? `refs/heads/${DEFAULT_BRANCH}`;
  const after = options.after ?? fakeSha(`push:${ref}`);
  const before = options.before ?? fakeSha(`before:${after}`);
  const pusher = options.pusher ?? DEFAULT_ACTOR;
  const commits = (options.commits ?? [{ message: 'Update model' }]).map((c, index) => {
    const id = c.id ?? (index === (options.commits?.length ?? 1) - 1 ? after : fakeSha(`commit:${after}:${index}`));
    return {
      id,
      tree_id: fakeSha(`tree:${id}`),
      message: c.message,
      timestamp: new Date(0).toISOString(),
      url: `https://github.com/${repository}/commit/${id}`,
      author: { name: pusher, email: `${pusher}@users.noreply.github.com`, username: pusher },
      committer: { name: pusher, email: `${pusher}@users.noreply.github.com`, username: pusher },
      added: c.added ?? [],
      modified: c.modified ?? [],
      removed: c.removed ?? [],
    };
  });
  const payload = {
    ref,
    before,
    after,
    created: false,
    deleted: false,
    forced: false,
    base_ref: null,
    compare: `https://github.com/${repository}/compare/${before.slice(0, 12)}...${after.slice(0, 12)}`,
    commits,
    head_commit: commits.at(-1) ?? null,
    repository: repositoryPayload(repository),
    pusher: { name: pusher, email: `${pusher}@users.noreply.github.com` },
    sender: userPayload(pusher),
  };
  return { name: 'push', payload, ref, sha: after };
}

export interface WorkflowDispatchOptions {
  ref?: string;
  sha?: string;
  repository?: string;
  workflow?: string;
  sender?: string;
}

export function workflowDispatchEvent(
  inputs: Record<string, string | boolean | number> = {},
  options: WorkflowDispatchOptions = {},
): GitHubEvent {
  const repository = options.repository ?? DEFAULT_REPOSITORY;
  const ref = options.ref ?? `refs/heads/${DEFAULT_BRANCH}`;
  const payload = {
    inputs,
    ref,
    repository: repositoryPayload(repository),
    sender: userPayload(options.sender ?? DEFAULT_ACTOR),
    workflow: options.workflow ?? '.github/workflows/model.yml',
  };
  return { name: 'workflow_dispatch', payload, ref, sha: options.sha ?? fakeSha(`dispatch:${ref}`) };
}
