import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_REPOSITORY,
  inputVariable,
  pullRequestEvent,
  pushEvent,
  runAction,
  workflowDispatchEvent,
  type ActionRun,
} from './support/action-runner.js';
import { bundleTestAction, repoRoot } from './support/build.js';
import { startGitHubEmulator } from './support/github-emulator.js';
import { parseFileCommand, parseWorkflowCommands } from './support/workflow-commands.js';

let dir: string;
let bundle: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelship-trivial-'));
  bundle = await bundleTestAction(join(repoRoot, 'test/support/trivial-action.ts'), join(dir, 'trivial.js'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('runAction on a trivial action', () => {
  let run: ActionRun;
  beforeAll(async () => {
    process.env.MODELSHIP_LEAK_CHECK = 'from the developer shell';
    try {
      run = await runAction({
        action: bundle,
        inputs: { message: 'a, b: 50%', secret: 's3cr3t-value' },
        event: pullRequestEvent({ number: 42, headRef: 'retrain-iris', baseRef: 'main' }),
      });
    } finally {
      delete process.env.MODELSHIP_LEAK_CHECK;
    }
  });

  it('exits 0 and reads outputs, including a multiline value', () => {
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.outputs.greeting).toBe('hello a, b: 50%');
    expect(run.outputs.multiline).toBe('first line\nsecond line\n\nfourth, with 100% and ::colons::');
  });

  it('passes the event payload and the pull request ref', () => {
    expect(run.outputs.event).toBe('pull_request');
    expect(run.outputs['pull-request']).toBe('42');
    expect(run.outputs['head-ref']).toBe('retrain-iris');
    expect(run.runnerEnv.GITHUB_REF).toBe('refs/pull/42/merge');
    expect(run.runnerEnv.GITHUB_HEAD_REF).toBe('retrain-iris');
  });

  it('runs in the workspace with a clean environment', () => {
    expect(run.outputs.cwd).toBe(run.outputs.workspace);
    expect(run.outputs.leaked).toBe('');
  });

  it('reads the job summary', () => {
    expect(run.summary).toContain('<h1>Trivial report</h1>');
    expect(run.summary).toContain('<td>a, b: 50%</td>');
  });

  it('reads annotations with file, line and column, unescaped', () => {
    expect(run.annotations).toContainEqual({
      level: 'warning',
      message: 'check this: a, b: 50%',
      file: 'models/model.yml',
      line: 7,
      column: 3,
    });
    expect(run.annotations).toContainEqual({ level: 'notice', message: 'plain notice' });
    expect(run.annotations.filter((a) => a.level === 'error')).toEqual([]);
  });

  it('reads groups, masks, exported variables, state and path', () => {
    expect(run.groups).toEqual(['Greeting']);
    expect(run.commands.map((c) => c.name)).toContain('endgroup');
    expect(run.masks).toEqual(['s3cr3t-value']);
    expect(run.stdout).toContain('secret: s3cr3t-value');
    expect(run.log).toContain('secret: ***');
    expect(run.log).not.toContain('s3cr3t-value');
    expect(run.env).toEqual({ TRIVIAL_EXPORTED: 'exported value' });
    expect(run.state).toEqual({ 'trivial-state': 'saved' });
    expect(run.path).toEqual(['/opt/trivial/bin']);
  });
});

describe('runAction failures', () => {
  it('reports a failed step: exit code 1 and one error annotation with its location', async () => {
    const run = await runAction({ action: bundle, inputs: { message: 'boom', fail: 'true' } });
    expect(run.exitCode).toBe(1);
    const errors = run.annotations.filter((a) => a.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      title: 'TRIVIAL_FAILED',
      file: 'models/model.yml',
      line: 12,
      message: 'Failed on purpose: boom Set fail to false.',
    });
    expect(run.stdout).not.toMatch(/at .*\.js:\d+/);
  });

  it('a missing required input fails with the input named', async () => {
    const run = await runAction({ action: bundle });
    expect(run.exitCode).toBe(1);
    expect(run.annotations[0]).toMatchObject({ level: 'error', title: 'INPUT_MISSING' });
    expect(run.annotations[0].message).toContain("'message'");
  });

  it('an input with spaces and hyphens maps to the runner variable name', () => {
    expect(inputVariable('model path')).toBe('INPUT_MODEL_PATH');
    expect(inputVariable('fail-on-regression')).toBe('INPUT_FAIL-ON-REGRESSION');
  });

  it('kills an action that runs past its time limit', async () => {
    const run = await runAction({ action: bundle, inputs: { message: 'x' }, args: [], timeoutMs: 1, env: {} });
    expect(run.timedOut).toBe(true);
    expect(run.exitCode).toBeNull();
  });
});

describe('action.yml input defaults', () => {
  it('applies defaults, evaluating the github context and the event payload', async () => {
    const metadata = join(dir, 'action.yml');
    await writeFile(
      metadata,
      [
        'name: trivial',
        'inputs:',
        '  message:',
        "    default: '${{ github.repository }} ${{ github.event.pull_request.head.ref }}'",
        '  token:',
        "    default: '${{ github.token }}'",
        '  fail:',
        "    default: 'false'",
        'runs: { using: node24, main: trivial.js }',
      ].join('\n'),
    );
    const run = await runAction({
      action: bundle,
      metadata,
      event: pullRequestEvent({ number: 3, headRef: 'topic' }),
      token: 'ghs_default',
    });
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.outputs.greeting).toBe('hello acme/models topic');
    expect(run.runnerEnv).toMatchObject({ INPUT_TOKEN: 'ghs_default', INPUT_FAIL: 'false' });
    const overridden = await runAction({ action: bundle, metadata, inputs: { message: 'given' } });
    expect(overridden.outputs.greeting).toBe('hello given');
  });

  it('an expression the harness cannot evaluate is an error, not a silent empty string', async () => {
    const metadata = join(dir, 'unknown.yml');
    await writeFile(metadata, "inputs:\n  message:\n    default: '${{ secrets.NOPE }}'\n");
    await expect(runAction({ action: bundle, metadata })).rejects.toThrow(/secrets\.NOPE/);
  });
});

describe('event payloads', () => {
  it('push and workflow_dispatch set ref, sha and payload', async () => {
    const push = pushEvent({ ref: 'refs/heads/release', after: 'a'.repeat(40) });
    const run = await runAction({ action: bundle, inputs: { message: 'm' }, event: push, token: 'ghs_abc' });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.outputs.event).toBe('push');
    expect(run.runnerEnv).toMatchObject({
      GITHUB_REF: 'refs/heads/release',
      GITHUB_REF_NAME: 'release',
      GITHUB_SHA: 'a'.repeat(40),
      GITHUB_TOKEN: 'ghs_abc',
      INPUT_TOKEN: 'ghs_abc',
    });
    const dispatch = workflowDispatchEvent({ environment: 'staging' });
    expect(dispatch.payload).toMatchObject({ inputs: { environment: 'staging' }, ref: 'refs/heads/main' });
  });
});

describe('an action talking to the GitHub emulator', () => {
  it('posts a pull request comment through GITHUB_API_URL with the token', async () => {
    const github = await startGitHubEmulator();
    try {
      const pr = github.addPullRequest(DEFAULT_REPOSITORY, { headRef: 'retrain' });
      const run = await runAction({
        action: bundle,
        inputs: { message: 'm', comment: 'Model report' },
        event: pullRequestEvent({ number: pr.number, headRef: 'retrain' }),
        githubApiUrl: github.url,
        token: github.token,
      });
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      const [comment] = github.state.repo(DEFAULT_REPOSITORY).comments;
      expect(comment.body).toBe('Model report');
      expect(run.outputs['comment-url']).toBe(comment.html_url);
    } finally {
      await github.close();
    }
  });

  it('a token without permission fails the step with the API message', async () => {
    const github = await startGitHubEmulator({ tokens: { ghs_weak: { contents: 'read' } } });
    try {
      const pr = github.addPullRequest(DEFAULT_REPOSITORY);
      const run = await runAction({
        action: bundle,
        inputs: { message: 'm', comment: 'x' },
        event: pullRequestEvent({ number: pr.number }),
        githubApiUrl: github.url,
        token: 'ghs_weak',
      });
      expect(run.exitCode).toBe(1);
      const errors = run.annotations.filter((a) => a.level === 'error');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ title: 'GITHUB_FORBIDDEN' });
      expect(errors[0].message).toContain('Resource not accessible by integration');
      expect(errors[0].message).toContain('`issues: write` or `pull-requests: write`');
      expect(github.state.repo(DEFAULT_REPOSITORY).comments).toEqual([]);
    } finally {
      await github.close();
    }
  });
});

describe('parsers', () => {
  it('parses heredoc and name=value lines, and rejects an unclosed heredoc', () => {
    expect(parseFileCommand('a=1\nb<<EOF\nx\ny\nEOF\nc=with=equals\n')).toEqual({
      a: '1',
      b: 'x\ny',
      c: 'with=equals',
    });
    expect(() => parseFileCommand('b<<EOF\nx\n')).toThrow(/matching delimiter/);
  });

  it('unescapes properties and data, and honours stop-commands', () => {
    const commands = parseWorkflowCommands(
      [
        '::error file=a%2Cb%3A.txt,line=3,title=100%25::line one%0Aline two',
        '::stop-commands::pause',
        '::error::not a command',
        '::pause::',
        '::add-mask::hidden',
        'plain log line',
      ].join('\n'),
    );
    expect(commands).toEqual([
      {
        name: 'error',
        properties: { file: 'a,b:.txt', line: '3', title: '100%' },
        message: 'line one\nline two',
        line: 1,
      },
      { name: 'add-mask', properties: {}, message: 'hidden', line: 5 },
    ]);
  });
});
