/** The validate action's inputs and outputs (actions/validate/action.yml declares the same names). */
import path from 'node:path';
import type { ValidateOptions } from '../../steps/validate.js';
import { parseDomainList } from '../../validate/expectations.js';
import { getBooleanInput, getNumberInput, getOptionalInput } from '../runner.js';

export const Inputs = {
  model: 'model',
  config: 'config',
  modelName: 'model-name',
  expectedDigest: 'expected-digest',
  fixtures: 'fixtures',
  maxSize: 'max-size',
  maxLatencyMs: 'max-latency-ms',
  allowedDomains: 'allowed-domains',
  strict: 'strict',
  reportPath: 'report-path',
  runtimeTimeout: 'runtime-timeout',
} as const;

export const Outputs = {
  passed: 'passed',
  digest: 'digest',
  irVersion: 'ir-version',
  opset: 'opset',
  signature: 'signature',
  report: 'report',
} as const;

const slug = (text: string) => text.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'model';

export function getInputs(): ValidateOptions {
  const model = getOptionalInput(Inputs.model);
  const modelName = getOptionalInput(Inputs.modelName);
  const domains = getOptionalInput(Inputs.allowedDomains);
  const timeout = getNumberInput(Inputs.runtimeTimeout);
  const temp = process.env.RUNNER_TEMP;
  const reportPath =
    getOptionalInput(Inputs.reportPath) ??
    (temp ? path.join(temp, 'modelship', `validate-${slug(modelName ?? model ?? 'model')}.json`) : undefined);
  return {
    model,
    config: getOptionalInput(Inputs.config),
    modelName,
    expectedDigest: getOptionalInput(Inputs.expectedDigest),
    fixtures: getOptionalInput(Inputs.fixtures),
    maxSize: getOptionalInput(Inputs.maxSize),
    maxLatencyMs: getNumberInput(Inputs.maxLatencyMs),
    allowedDomains: domains === undefined ? undefined : parseDomainList(domains),
    strict: getOptionalInput(Inputs.strict) === undefined ? undefined : getBooleanInput(Inputs.strict, false),
    reportPath,
    runtimeTimeoutMs: timeout === undefined ? undefined : timeout * 1000,
  };
}
