/**
 * GitHub Deployments for deploy and rollback: one deployment per run (environment, ref, payload naming
 * the model version), with statuses in_progress → success | failure. GitHub's `auto_inactive` marks
 * earlier successful deployments inactive only in environments that are not production ones, so after a
 * success the earlier ones are marked inactive here, whatever the environment.
 */
import type { GitHubClient } from './client.js';
import { ModelshipError } from '../errors.js';
import { gitHubError } from './errors.js';
import type { RepositoryRef } from './tags.js';

export interface DeploymentPayload {
  model: string;
  version: string;
  digest: string;
  numericVersion?: number;
  action?: 'deploy' | 'rollback';
  [key: string]: unknown;
}

export interface CreateDeploymentRequest {
  ref: string;
  environment: string;
  payload: DeploymentPayload;
  description?: string;
  /** Marks the environment as production in GitHub's UI. */
  productionEnvironment?: boolean;
}

export type DeploymentState = 'in_progress' | 'queued' | 'success' | 'failure' | 'error' | 'inactive';

export interface DeploymentStatusRequest {
  state: DeploymentState;
  environmentUrl?: string;
  logUrl?: string;
  /** GitHub keeps 140 characters. */
  description?: string;
}

export interface DeploymentSummary {
  id: number;
  environment: string;
  ref: string;
  createdAt: string;
  creator?: string;
  payload: unknown;
}

const trimDescription = (text: string | undefined) =>
  text === undefined ? undefined : text.length <= 140 ? text : `${text.slice(0, 139)}…`;

/** Creates the deployment (never auto-merging, never waiting for status checks). Returns its id. */
export async function createDeployment(
  client: GitHubClient,
  repository: RepositoryRef,
  request: CreateDeploymentRequest,
): Promise<number> {
  let response;
  try {
    response = await client.rest.repos.createDeployment({
      ...repository,
      ref: request.ref,
      environment: request.environment,
      task: 'deploy',
      auto_merge: false,
      required_contexts: [],
      payload: request.payload as unknown as Record<string, string>,
      description: trimDescription(request.description),
      ...(request.productionEnvironment === undefined ? {} : { production_environment: request.productionEnvironment }),
    });
  } catch (error) {
    throw gitHubError(error, `create a deployment of ${request.ref} to '${request.environment}'`);
  }
  const data = response.data as { id?: number; message?: string };
  if (response.status !== 201 || typeof data.id !== 'number') {
    // 202: GitHub tried to merge the default branch in first, which auto_merge: false rules out.
    throw new ModelshipError(
      'GITHUB_REJECTED',
      `GitHub did not create a deployment of ${request.ref} to '${request.environment}': ${data.message ?? `answer ${response.status}`}.`,
    );
  }
  return data.id;
}

export async function setDeploymentStatus(
  client: GitHubClient,
  repository: RepositoryRef,
  deploymentId: number,
  status: DeploymentStatusRequest,
): Promise<void> {
  try {
    await client.rest.repos.createDeploymentStatus({
      ...repository,
      deployment_id: deploymentId,
      state: status.state,
      ...(status.environmentUrl ? { environment_url: status.environmentUrl } : {}),
      ...(status.logUrl ? { log_url: status.logUrl } : {}),
      ...(status.description ? { description: trimDescription(status.description) } : {}),
    });
  } catch (error) {
    throw gitHubError(error, `set deployment ${deploymentId} to ${status.state}`);
  }
}

/** The environment's deployments, newest first (one page; summaries read the ledger for history). */
export async function listDeployments(
  client: GitHubClient,
  repository: RepositoryRef,
  environment: string,
  perPage = 30,
): Promise<DeploymentSummary[]> {
  try {
    const { data } = await client.rest.repos.listDeployments({ ...repository, environment, per_page: perPage });
    return data.map((d) => ({
      id: d.id,
      environment: d.environment,
      ref: d.ref,
      createdAt: d.created_at,
      creator: d.creator?.login,
      payload: d.payload,
    }));
  } catch (error) {
    throw gitHubError(error, `list the deployments of '${environment}'`);
  }
}

/**
 * Marks the environment's earlier deployments whose last status is success as inactive (GitHub does this by
 * itself only outside production environments). Looks at the last `limit` deployments. Returns their ids.
 */
export async function markEarlierInactive(
  client: GitHubClient,
  repository: RepositoryRef,
  environment: string,
  deploymentId: number,
  limit = 10,
): Promise<number[]> {
  const marked: number[] = [];
  for (const deployment of await listDeployments(client, repository, environment, limit)) {
    if (deployment.id >= deploymentId) continue;
    let latest: string | undefined;
    try {
      const { data } = await client.rest.repos.listDeploymentStatuses({
        ...repository,
        deployment_id: deployment.id,
        per_page: 1,
      });
      latest = data[0]?.state;
    } catch (error) {
      throw gitHubError(error, `read the statuses of deployment ${deployment.id}`);
    }
    if (latest !== 'success') continue;
    await setDeploymentStatus(client, repository, deployment.id, { state: 'inactive' });
    marked.push(deployment.id);
  }
  return marked;
}
