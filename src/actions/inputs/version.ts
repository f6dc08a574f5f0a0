/** The version action's inputs and outputs, and the one reader of its inputs. */
import { resolve } from 'node:path';
import { ModelshipError } from '../../errors.js';
import { readGitHubContext } from '../../github/context.js';
import type { VersionOptions } from '../../steps/version.js';
import type { BumpRequest } from '../../versioning/bump.js';
import { getBooleanInput, getOptionalInput, getRequiredInput } from '../runner.js';

export const Inputs = {
  model: 'model',
  modelName: 'model-name',
  bump: 'bump',
  prerelease: 'prerelease',
  report: 'report',
  release: 'release',
  attachModel: 'attach-model',
  dryRun: 'dry-run',
  firstVersion: 'first-version',
  config: 'config',
  token: 'token',
} as const;

export const Outputs = {
  version: 'version',
  tag: 'tag',
  previousVersion: 'previous-version',
  bump: 'bump',
  bumpReason: 'bump-reason',
  created: 'created',
  releaseUrl: 'release-url',
} as const;

export function getInputs(): VersionOptions {
  const token = getOptionalInput(Inputs.token);
  const bump = getOptionalInput(Inputs.bump) ?? 'auto';
  const workspace = process.cwd();
  const options: VersionOptions = {
    model: optionalPath(workspace, getOptionalInput(Inputs.model)),
    modelName: getRequiredInput(Inputs.modelName),
    bump: bump as BumpRequest,
    prerelease: getOptionalInput(Inputs.prerelease),
    report: optionalPath(workspace, getOptionalInput(Inputs.report)),
    attachModel: getBooleanInput(Inputs.attachModel, false),
    dryRun: getBooleanInput(Inputs.dryRun, false),
    firstVersion: getOptionalInput(Inputs.firstVersion),
    config: optionalPath(workspace, getOptionalInput(Inputs.config)),
    discoverConfig: true,
    workspace,
  };
  if (token) {
    const context = readGitHubContext();
    options.github = {
      token,
      owner: context.owner,
      repo: context.repo,
      apiUrl: context.apiUrl,
      serverUrl: context.serverUrl,
    };
    options.commit = context.sha;
  }
  options.release = getBooleanInput(Inputs.release, token !== undefined);
  if (options.release && !token) {
    throw new ModelshipError(
      'INPUT_INVALID',
      "Input 'release' is true but no token is given; releases are made through the GitHub API.",
      "Pass 'token: ${{ github.token }}' (the default) with 'permissions: contents: write', or set 'release: false'.",
    );
  }
  return options;
}

const optionalPath = (workspace: string, path: string | undefined) =>
  path === undefined ? undefined : resolve(workspace, path);
