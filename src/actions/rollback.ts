import * as core from '@actions/core';
import { renderRollbackSummary } from '../report/deploy.js';
import { versionName } from '../steps/deploy.js';
import { rollback } from '../steps/rollback.js';
import { Outputs, getInputs } from './inputs/rollback.js';
import { actionLogger, runAction } from './runner.js';

await runAction(async () => {
  const result = await rollback(getInputs(), actionLogger);
  const { from, to } = result.plan;
  core.setOutput(Outputs.version, versionName(to));
  core.setOutput(Outputs.numericVersion, String(to.numericVersion));
  core.setOutput(Outputs.previousVersion, versionName(from));
  core.setOutput(Outputs.digest, to.digest);
  core.setOutput(Outputs.url, result.url ?? '');
  core.setOutput(Outputs.deploymentId, result.deploymentId === undefined ? '' : String(result.deploymentId));
  core.setOutput(Outputs.status, result.status);
  await core.summary.addRaw(renderRollbackSummary(result)).write();
  if (result.failed) core.setFailed(`Rollback failed (${result.failure?.code}): ${result.failure?.message}`);
});
