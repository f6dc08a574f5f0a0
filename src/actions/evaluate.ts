import * as core from '@actions/core';
import { evaluate } from '../steps/evaluate.js';
import { getInputs, Outputs } from './inputs/evaluate.js';
import { actionLogger, runAction } from './runner.js';

await runAction(async () => {
  const result = await evaluate(getInputs(), actionLogger);
  core.setOutput(Outputs.passed, String(result.passed));
  core.setOutput(Outputs.metrics, JSON.stringify(result.report.metrics));
  core.setOutput(Outputs.report, result.reportPath ?? '');
  core.setOutput(Outputs.flips, String(result.flips));
  await core.summary.addRaw(result.summary).write();
  if (result.report.shard) {
    core.info('This is a shard report: the verdict is decided when the shard reports are merged.');
  } else if (!result.passed) {
    const failed = result.report.comparisons.filter((c) => c.verdict === 'fail').map((c) => c.metric);
    core.setFailed(`Evaluation failed: ${failed.join(', ')} (see the job summary).`);
  }
});
