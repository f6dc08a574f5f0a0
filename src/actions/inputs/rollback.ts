/** The rollback action's inputs and outputs, and the one reader of its inputs. */
import type { RollbackOptions } from '../../steps/rollback.js';
import { getBooleanInput, getOptionalInput, getRequiredInput } from '../runner.js';
import { leaseSettingsFromEnv, runIdentity } from './deploy-shared.js';

export const Inputs = {
  modelName: 'model-name',
  environment: 'environment',
  target: 'target',
  to: 'to',
  reason: 'reason',
  dryRun: 'dry-run',
  server: 'server',
  state: 'state',
  config: 'config',
  smokeFixtures: 'smoke-fixtures',
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
  status: 'status',
} as const;

export function getInputs(): RollbackOptions {
  const token = getOptionalInput(Inputs.token);
  const options: RollbackOptions = {
    modelName: getRequiredInput(Inputs.modelName),
    environment: getRequiredInput(Inputs.environment),
    target: getOptionalInput(Inputs.target),
    to: getOptionalInput(Inputs.to) ?? 'previous',
    reason: getRequiredInput(Inputs.reason),
    dryRun: getBooleanInput(Inputs.dryRun, false),
    server: getOptionalInput(Inputs.server),
    state: getOptionalInput(Inputs.state),
    config: getOptionalInput(Inputs.config),
    smokeFixtures: getOptionalInput(Inputs.smokeFixtures),
    environmentUrl: getOptionalInput(Inputs.environmentUrl),
    adminToken: process.env.MODELSHIP_ADMIN_TOKEN || undefined,
    cwd: process.env.GITHUB_WORKSPACE || process.cwd(),
    ...leaseSettingsFromEnv(),
  };
  return { ...options, ...runIdentity(token) };
}
