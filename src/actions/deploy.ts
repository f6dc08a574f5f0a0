import * as core from '@actions/core';
import { renderDeploySummary } from '../report/deploy.js';
import { deploy, versionName } from '../steps/deploy.js';
import { Outputs, getInputs } from './inputs/deploy.js';
import { actionLogger, runAction } from './runner.js';

await runAction(async () => {
  const result = await deploy(getInputs(), actionLogger);
  core.setOutput(Outputs.version, versionName(result.deployed));
  core.setOutput(Outputs.numericVersion, result.deployed.numericVersion ? String(result.deployed.numericVersion) : '');
  core.setOutput(Outputs.previousVersion, result.previous ? versionName(result.previous) : '');
  core.setOutput(Outputs.digest, result.deployed.digest);
  core.setOutput(Outputs.url, result.url ?? '');
  core.setOutput(Outputs.deploymentId, result.deploymentId === undefined ? '' : String(result.deploymentId));
  core.setOutput(Outputs.rolledBack, String(result.rolledBack));
  core.setOutput(Outputs.status, result.status);
  core.setOutput(Outputs.stageTag, result.stageTag ?? '');
  core.setOutput(Outputs.manifest, result.manifest?.path ?? '');
  await core.summary.addRaw(renderDeploySummary(result)).write();
  if (result.failed) {
    core.setFailed(
      result.rolledBack
        ? `Deploy failed and was rolled back (${result.failure?.code}): ${result.failure?.message}`
        : `Deploy failed and the previous version could not be restored (${result.failure?.code}): ${result.failure?.message}`,
    );
  }
});
