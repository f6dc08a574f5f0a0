/**
 * The GitHub REST operations the emulator serves, keyed as GitHub's OpenAPI description names them
 * (`METHOD /path/{param}`), with the fine-grained permission each needs. The schema extraction script
 * reads this list, so the committed request schemas cover exactly what the emulator answers.
 */

export type PermissionLevel = 'none' | 'read' | 'write' | 'admin';
/** Fine-grained permissions, named as in a workflow's `permissions:` block. */
export type PermissionName = 'contents' | 'issues' | 'pull-requests' | 'deployments' | 'metadata' | 'statuses';
export type Permissions = Partial<Record<PermissionName | (string & {}), PermissionLevel>>;

/** Any one of these grants the call. */
export type PermissionRequirement = [PermissionName, 'read' | 'write'][];

export interface OperationSpec {
  /** `METHOD /path` exactly as in GitHub's OpenAPI description. */
  key: string;
  permission: PermissionRequirement;
}

const read = (...names: PermissionName[]): PermissionRequirement => names.map((n) => [n, 'read']);
const write = (...names: PermissionName[]): PermissionRequirement => names.map((n) => [n, 'write']);

export const operations = [
  { key: 'GET /repos/{owner}/{repo}', permission: read('metadata') },
  { key: 'GET /repos/{owner}/{repo}/issues/{issue_number}/comments', permission: read('issues', 'pull-requests') },
  // A comment on a plain issue needs issues; the handler narrows it once it knows what the number is.
  { key: 'POST /repos/{owner}/{repo}/issues/{issue_number}/comments', permission: write('issues', 'pull-requests') },
  { key: 'GET /repos/{owner}/{repo}/issues/comments/{comment_id}', permission: read('issues', 'pull-requests') },
  { key: 'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', permission: write('issues', 'pull-requests') },
  { key: 'DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}', permission: write('issues', 'pull-requests') },
  { key: 'GET /repos/{owner}/{repo}/git/matching-refs/{ref}', permission: read('contents') },
  { key: 'GET /repos/{owner}/{repo}/git/ref/{ref}', permission: read('contents') },
  { key: 'POST /repos/{owner}/{repo}/git/refs', permission: write('contents') },
  { key: 'PATCH /repos/{owner}/{repo}/git/refs/{ref}', permission: write('contents') },
  { key: 'DELETE /repos/{owner}/{repo}/git/refs/{ref}', permission: write('contents') },
  { key: 'POST /repos/{owner}/{repo}/git/tags', permission: write('contents') },
  { key: 'GET /repos/{owner}/{repo}/git/tags/{tag_sha}', permission: read('contents') },
  { key: 'GET /repos/{owner}/{repo}/git/commits/{commit_sha}', permission: read('contents') },
  { key: 'GET /repos/{owner}/{repo}/commits/{ref}', permission: read('contents') },
  { key: 'GET /repos/{owner}/{repo}/releases', permission: read('contents') },
  { key: 'POST /repos/{owner}/{repo}/releases', permission: write('contents') },
  { key: 'GET /repos/{owner}/{repo}/releases/latest', permission: read('contents') },
  { key: 'GET /repos/{owner}/{repo}/releases/tags/{tag}', permission: read('contents') },
  { key: 'GET /repos/{owner}/{repo}/releases/assets/{asset_id}', permission: read('contents') },
  { key: 'DELETE /repos/{owner}/{repo}/releases/assets/{asset_id}', permission: write('contents') },
  { key: 'GET /repos/{owner}/{repo}/releases/{release_id}', permission: read('contents') },
  { key: 'PATCH /repos/{owner}/{repo}/releases/{release_id}', permission: write('contents') },
  { key: 'DELETE /repos/{owner}/{repo}/releases/{release_id}', permission: write('contents') },
  { key: 'GET /repos/{owner}/{repo}/releases/{release_id}/assets', permission: read('contents') },
  { key: 'POST /repos/{owner}/{repo}/releases/{release_id}/assets', permission: write('contents') },
  { key: 'GET /repos/{owner}/{repo}/deployments', permission: read('deployments') },
  { key: 'POST /repos/{owner}/{repo}/deployments', permission: write('deployments') },
  { key: 'GET /repos/{owner}/{repo}/deployments/{deployment_id}', permission: read('deployments') },
  { key: 'DELETE /repos/{owner}/{repo}/deployments/{deployment_id}', permission: write('deployments') },
  { key: 'GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses', permission: read('deployments') },
  { key: 'POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses', permission: write('deployments') },
  {
    key: 'GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses/{status_id}',
    permission: read('deployments'),
  },
  { key: 'GET /repos/{owner}/{repo}/pulls', permission: read('pull-requests') },
  { key: 'GET /repos/{owner}/{repo}/pulls/{pull_number}', permission: read('pull-requests') },
  { key: 'GET /repos/{owner}/{repo}/pulls/{pull_number}/files', permission: read('pull-requests') },
] as const satisfies readonly OperationSpec[];

export type OperationKey = (typeof operations)[number]['key'];
