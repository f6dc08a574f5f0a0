/**
 * A tiny action that uses every part of the runner contract, built on the fly by the harness tests so
 * they prove the harness reads what a real action writes.
 */
import * as core from '@actions/core';
import { ModelshipError } from '../../src/errors.js';
import {
  actionLogger,
  getBooleanInput,
  getOptionalInput,
  getRequiredInput,
  runAction,
} from '../../src/actions/runner.js';
import { createGitHubClient } from '../../src/github/client.js';
import { readGitHubContext } from '../../src/github/context.js';
import { gitHubError } from '../../src/github/errors.js';

await runAction(async () => {
  const message = getRequiredInput('message');
  const secret = getOptionalInput('secret');
  if (secret) core.setSecret(secret);
  const context = readGitHubContext();

  await actionLogger.group('Greeting', async () => {
    actionLogger.info(`message: ${message}`);
    if (secret) actionLogger.info(`secret: ${secret}`);
  });
  actionLogger.warn(`check this: ${message}`, { file: 'models/model.yml', line: 7, column: 3 });
  core.notice('plain notice');

  core.setOutput('greeting', `hello ${message}`);
  core.setOutput('multiline', 'first line\nsecond line\n\nfourth, with 100% and ::colons::');
  core.setOutput('event', context.eventName);
  core.setOutput('pull-request', String(context.pullRequestNumber ?? ''));
  core.setOutput('head-ref', String((context.payload.pull_request as { head?: { ref?: string } })?.head?.ref ?? ''));
  core.setOutput('workspace', process.env.GITHUB_WORKSPACE ?? '');
  core.setOutput('cwd', process.cwd());
  core.setOutput('leaked', process.env.MODELSHIP_LEAK_CHECK ?? '');
  core.exportVariable('TRIVIAL_EXPORTED', 'exported value');
  core.saveState('trivial-state', 'saved');
  core.addPath('/opt/trivial/bin');
  await core.summary
    .addHeading('Trivial report')
    .addTable([
      [
        { data: 'key', header: true },
        { data: 'value', header: true },
      ],
      ['message', message],
    ])
    .write();

  const comment = getOptionalInput('comment');
  if (comment && context.pullRequestNumber !== undefined) {
    const client = createGitHubClient({ token: getRequiredInput('token'), log: actionLogger });
    const { data } = await client.rest.issues
      .createComment({
        owner: context.owner,
        repo: context.repo,
        issue_number: context.pullRequestNumber,
        body: comment,
      })
      .catch((error: unknown) => {
        throw gitHubError(error, `comment on pull request #${context.pullRequestNumber}`);
      });
    core.setOutput('comment-url', data.html_url);
  }

  if (getBooleanInput('fail', false)) {
    throw new ModelshipError('TRIVIAL_FAILED', `Failed on purpose: ${message}`, 'Set fail to false.', {
      file: 'models/model.yml',
      line: 12,
    });
  }
});
