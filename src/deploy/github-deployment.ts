/**
 * The GitHub side of a deploy or rollback: a Deployment for the environment and its statuses, and the
 * optional stage tag. Without a token (the CLI, a local run) every call is skipped.
 */
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { createGitHubClient, type GitHubClient } from '../github/client.js';
import {
  createDeployment,
  markEarlierInactive,
  setDeploymentStatus,
  type DeploymentPayload,
} from '../github/deployments.js';
import { gitHubStageTagger } from '../github/stage-tags.js';
import { assignStageTag, localStageTagger, type StageTagger } from './stage-tag.js';

export interface GitHubDeployTarget {
  token: string;
  owner: string;
  repo: string;
  /** REST API root; default GITHUB_API_URL or https://api.github.com. */
  apiUrl?: string;
  /** The ref the deployment is of (a branch, tag or sha). */
  ref: string;
  /** The commit a stage tag falls back to when the version has no register tag. */
  sha: string;
  /** The workflow run, as the deployment's log URL. */
  logUrl?: string;
}

export class GitHubDeploymentTracker {
  private client?: GitHubClient;
  private environment?: string;
  deploymentId?: number;

  constructor(
    private readonly target: GitHubDeployTarget | undefined,
    private readonly log: Logger,
  ) {
    if (target?.token) this.client = createGitHubClient({ token: target.token, baseUrl: target.apiUrl, log });
  }

  get enabled(): boolean {
    return this.client !== undefined;
  }

  /** Creates the deployment, in progress. A failure here stops the run before anything changes. */
  async start(environment: string, payload: DeploymentPayload, description: string, environmentUrl?: string) {
    if (!this.client || !this.target) return;
    const repository = { owner: this.target.owner, repo: this.target.repo };
    this.environment = environment;
    this.deploymentId = await createDeployment(this.client, repository, {
      ref: this.target.ref,
      environment,
      payload,
      description,
    });
    await this.status('in_progress', description, environmentUrl);
  }

  /** Sets a status; a failure is a warning (what serves is decided, the record on GitHub is not). */
  async status(state: 'in_progress' | 'success' | 'failure', description: string, environmentUrl?: string) {
    if (!this.client || !this.target || this.deploymentId === undefined) return;
    try {
      await setDeploymentStatus(this.client, { owner: this.target.owner, repo: this.target.repo }, this.deploymentId, {
        state,
        description,
        environmentUrl,
        logUrl: this.target.logUrl,
      });
    } catch (error) {
      this.log.warn(`Could not set the GitHub deployment status to ${state}: ${describeError(error)}`);
      return;
    }
    if (state !== 'success' || !this.environment) return;
    try {
      const marked = await markEarlierInactive(
        this.client,
        { owner: this.target.owner, repo: this.target.repo },
        this.environment,
        this.deploymentId,
      );
      if (marked.length > 0) this.log.info(`GitHub deployments ${marked.join(', ')} marked inactive.`);
    } catch (error) {
      this.log.warn(`Could not mark earlier GitHub deployments inactive: ${describeError(error)}`);
    }
  }

  /**
   * Tags `<name>#<environment>#<N>` through the API with a token, else in the local checkout `workspace`.
   * A failure is a warning: the deploy itself succeeded.
   */
  async stageTag(
    request: { name: string; stage: string; semver: string | null; message: string },
    local?: { workspace: string; sha: string },
  ): Promise<string | undefined> {
    let tagger: StageTagger;
    let fallbackCommit: string;
    if (this.client && this.target) {
      tagger = gitHubStageTagger(this.client, { owner: this.target.owner, repo: this.target.repo });
      fallbackCommit = this.target.sha;
    } else if (local) {
      tagger = localStageTagger(local.workspace);
      fallbackCommit = local.sha;
    } else {
      this.log.warn('tag-stage is set but there is neither a token nor a git checkout: no stage tag.');
      return undefined;
    }
    try {
      const result = await assignStageTag(tagger, { ...request, fallbackCommit }, this.log);
      this.log.info(`Stage tag ${result.tag} on ${result.commit.slice(0, 12)} (${tagger.where}).`);
      return result.tag;
    } catch (error) {
      this.log.warn(`Could not create the stage tag: ${describeError(error)}`);
      return undefined;
    }
  }
}
