/** The deploy action's inputs and outputs, and the one reader of its inputs. */
import { ModelshipError } from '../../errors.js';
import type { DeployOptions, DeployStrategy } from '../../steps/deploy.js';
import { getBooleanInput, getNumberInput, getOptionalInput, getRequiredInput } from '../runner.js';
import { leaseSettingsFromEnv, runIdentity, parseWindowSeconds } from './deploy-shared.js';

export const Inputs = {
  model: 'model',
  modelName: 'model-name',
  version: 'version',
  environment: 'environment',
  target: 'target',
  server: 'server',
  state: 'state',
  config: 'config',
  expectedDigest: 'expected-digest',
  strategy: 'strategy',
  canaryWeight: 'canary-weight',
  analysisWindow: 'analysis-window',
  maxErrorRate: 'max-error-rate',
  maxLatencyRatio: 'max-latency-ratio',
  smokeFixtures: 'smoke-fixtures',
  keep: 'keep',
  tagStage: 'tag-stage',
  storageUri: 'storage-uri',
  environmentUrl: 'environment-url',
  token: 'token',
} as const;

export const Outputs = {
  version: 'version',
  numericVersion: 'numeric-version',
  previousVersion: 'previous-version',
  digest: 'digest',
  url: 'url',
  deploymentId: 'deployment-id',
  rolledBack: 'rolled-back',
  status: 'status',
  stageTag: 'stage-tag',
  manifest: 'manifest',
} as const;

export function getInputs(): DeployOptions {
  const strategy = getOptionalInput(Inputs.strategy);
  if (strategy !== undefined && strategy !== 'replace' && strategy !== 'canary') {
    throw new ModelshipError('INPUT_INVALID', `Input 'strategy' must be replace or canary, got '${strategy}'.`);
  }
  const window = getOptionalInput(Inputs.analysisWindow);
  const token = getOptionalInput(Inputs.token);
  const options: DeployOptions = {
    model: getOptionalInput(Inputs.model),
    modelName: getRequiredInput(Inputs.modelName),
    version: getOptionalInput(Inputs.version),
    environment: getRequiredInput(Inputs.environment),
    target: getOptionalInput(Inputs.target),
    server: getOptionalInput(Inputs.server),
    state: getOptionalInput(Inputs.state),
    config: getOptionalInput(Inputs.config),
    expectedDigest: getOptionalInput(Inputs.expectedDigest),
    strategy: strategy as DeployStrategy | undefined,
    canaryWeight: getNumberInput(Inputs.canaryWeight),
    analysisWindowSeconds: window === undefined ? undefined : parseWindowSeconds(window, Inputs.analysisWindow),
    maxErrorRate: getNumberInput(Inputs.maxErrorRate),
    maxLatencyRatio: getNumberInput(Inputs.maxLatencyRatio),
    smokeFixtures: getOptionalInput(Inputs.smokeFixtures),
    keep: getNumberInput(Inputs.keep),
    tagStage: getBooleanInput(Inputs.tagStage, false),
    storageUri: getOptionalInput(Inputs.storageUri),
    environmentUrl: getOptionalInput(Inputs.environmentUrl),
    adminToken: process.env.MODELSHIP_ADMIN_TOKEN || undefined,
    cwd: process.env.GITHUB_WORKSPACE || process.cwd(),
    workspace: process.env.GITHUB_WORKSPACE || process.cwd(),
    ...leaseSettingsFromEnv(),
  };
  return { ...options, ...runIdentity(token) };
}
