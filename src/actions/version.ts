import * as core from '@actions/core';
import { renderVersionSummary } from '../report/version.js';
import { version } from '../steps/version.js';
import { getInputs, Outputs } from './inputs/version.js';
import { actionLogger, runAction } from './runner.js';

await runAction(async () => {
  const result = await version(getInputs(), actionLogger);
  core.setOutput(Outputs.version, result.version);
  core.setOutput(Outputs.tag, result.tag);
  core.setOutput(Outputs.previousVersion, result.previousVersion ?? '');
  core.setOutput(Outputs.bump, result.bump);
  core.setOutput(Outputs.bumpReason, result.bumpReason);
  core.setOutput(Outputs.created, String(result.created));
  core.setOutput(Outputs.releaseUrl, result.releaseUrl ?? '');
  await core.summary.addRaw(renderVersionSummary(result)).write();
});
