import * as core from '@actions/core';
import { renderValidateSummary } from '../report/validate.js';
import { validate } from '../steps/validate.js';
import { Outputs, getInputs } from './inputs/validate.js';
import { actionLogger, runAction } from './runner.js';

await runAction(async () => {
  const result = await validate(getInputs(), actionLogger);
  const { report } = result;
  core.setOutput(Outputs.passed, String(report.passed));
  core.setOutput(Outputs.digest, report.digest ?? '');
  core.setOutput(Outputs.irVersion, report.irVersion === null ? '' : String(report.irVersion));
  core.setOutput(Outputs.opset, report.opset === null ? '' : String(report.opset));
  core.setOutput(Outputs.signature, report.signature ? JSON.stringify(report.signature) : '');
  core.setOutput(Outputs.report, result.reportPath ?? '');
  await core.summary.addRaw(renderValidateSummary(report)).write();
  if (!report.passed) {
    // Each failed check is already an annotation; core.setFailed would add one more.
    const failed = report.checks.filter((c) => c.status === 'fail' || (report.strict && c.status === 'warn'));
    core.info(`Model validation failed: ${failed.map((c) => c.id).join(', ')}.`);
    process.exitCode = core.ExitCode.Failure;
  }
});
