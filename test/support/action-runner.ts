/**
 * Runs a built action bundle in a subprocess exactly as the GitHub runner does: inputs in INPUT_*,
 * file commands in GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_ENV / GITHUB_STATE, the event payload
 * in GITHUB_EVENT_PATH, a clean environment. Returns what a workflow would see.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from './build.js';
import { DEFAULT_ACTOR, DEFAULT_BRANCH, DEFAULT_REPOSITORY, fakeSha, type GitHubEvent } from './github-events.js';
import {
  annotationsOf,
  parseFileCommand,
  parseWorkflowCommands,
  type Annotation,
  type WorkflowCommand,
} from './workflow-commands.js';

export * from './github-events.js';
export type { Annotation, WorkflowCommand } from './workflow-commands.js';

export type ActionStep = 'validate' | 'evaluate' | 'version' | 'deploy' | 'rollback';
const steps: readonly string[] = ['validate', 'evaluate', 'version', 'deploy', 'rollback'];

export interface RunActionOptions {
  /** A step name (runs dist/actions/<step>.js with the defaults of actions/<step>/action.yml) or a path to a bundle. */
  action: ActionStep | (string & {});
  /** `with:` values. Inputs left out get their action.yml default, as on the runner. */
  inputs?: Record<string, string>;
  /** The action.yml whose input defaults apply; actions/<step>/action.yml for a step name, none for a bundle path. */
  metadata?: string;
  event?: GitHubEvent;
  /** Extra variables (`env:` of the step); they win over everything the harness sets. */
  env?: Record<string, string>;
  /** GITHUB_WORKSPACE and the working directory; a fresh empty folder when left out. */
  workspace?: string;
  /** Default: an address that refuses connections, so an unexpected GitHub call fails fast. */
  githubApiUrl?: string;
  githubServerUrl?: string;
  /** Passed as GITHUB_TOKEN, and as INPUT_TOKEN unless `inputs.token` is given. */
  token?: string;
  repository?: string;
  sha?: string;
  ref?: string;
  actor?: string;
  runId?: string;
  /** Extra command-line arguments after the bundle path (not something the runner passes). */
  args?: string[];
  /** Sets RUNNER_DEBUG=1, as re-running a job with debug logging does. */
  debug?: boolean;
  /** Kill the action after this long (default 120 s); the run then has `timedOut: true`. */
  timeoutMs?: number;
  /** Keep the runner folder (RUNNER_TEMP, the command files) for inspection; the caller removes it. */
  keepRunnerDir?: boolean;
}

export interface ActionRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  durationMs: number;
  stdout: string;
  stderr: string;
  /** stdout as the runner's log shows it: command lines dropped, registered masks replaced by `***`. */
  log: string;
  /** GITHUB_OUTPUT, heredoc and `name=value` forms parsed. */
  outputs: Record<string, string>;
  /** Everything appended to GITHUB_STEP_SUMMARY. */
  summary: string;
  /** Variables exported through GITHUB_ENV. */
  env: Record<string, string>;
  /** Values saved through GITHUB_STATE. */
  state: Record<string, string>;
  /** Directories added through GITHUB_PATH. */
  path: string[];
  commands: WorkflowCommand[];
  /** `::error`, `::warning` and `::notice` commands. */
  annotations: Annotation[];
  /** Names of the groups opened with `::group::`, in order. */
  groups: string[];
  /** Values registered with `::add-mask::`. */
  masks: string[];
  /** The environment the action ran with. */
  runnerEnv: Record<string, string>;
  /** Set when `keepRunnerDir` is: the folder holding RUNNER_TEMP, the command files and the event. */
  runnerDir?: string;
}

/** Unknown to the runner; where a test forgot `githubApiUrl`, calls fail at once instead of hanging. */
const unreachableApi = 'http://127.0.0.1:9';

export async function runAction(options: RunActionOptions): Promise<ActionRun> {
  const bundle = bundlePath(options.action);
  if (!existsSync(bundle)) {
    throw new Error(`Action bundle ${bundle} does not exist. Run 'npm run build' (vitest's global setup does).`);
  }
  const runnerDir = await mkdtemp(join(tmpdir(), 'modelship-runner-'));
  try {
    const temp = join(runnerDir, '_temp');
    const toolCache = join(runnerDir, '_tool');
    const fileCommands = join(temp, '_runner_file_commands');
    const workflowDir = join(runnerDir, '_github_workflow');
    const workspace = resolve(options.workspace ?? join(runnerDir, 'workspace'));
    await Promise.all(
      [temp, toolCache, fileCommands, workflowDir, workspace].map((d) => mkdir(d, { recursive: true })),
    );

    const id = randomUUID();
    const files = {
      GITHUB_OUTPUT: join(fileCommands, `set_output_${id}`),
      GITHUB_STEP_SUMMARY: join(fileCommands, `step_summary_${id}`),
      GITHUB_ENV: join(fileCommands, `set_env_${id}`),
      GITHUB_STATE: join(fileCommands, `save_state_${id}`),
      GITHUB_PATH: join(fileCommands, `add_path_${id}`),
    };
    await Promise.all(Object.values(files).map((f) => writeFile(f, '')));

    const event = options.event ?? { name: 'workflow_dispatch', payload: {} };
    const eventPath = join(workflowDir, 'event.json');
    await writeFile(eventPath, JSON.stringify(event.payload ?? {}, null, 2));

    const repository = options.repository ?? DEFAULT_REPOSITORY;
    const ref = options.ref ?? event.ref ?? `refs/heads/${DEFAULT_BRANCH}`;
    const sha = options.sha ?? event.sha ?? fakeSha(`run:${ref}`);
    const runId = options.runId ?? '1000001';
    const apiUrl = options.githubApiUrl ?? unreachableApi;
    const serverUrl = options.githubServerUrl ?? 'https://github.com';
    const actor = options.actor ?? DEFAULT_ACTOR;
    const github: Record<string, string> = {
      'github.token': options.token ?? '',
      'github.repository': repository,
      'github.repository_owner': repository.split('/')[0],
      'github.sha': sha,
      'github.ref': ref,
      'github.ref_name': refName(ref),
      'github.workspace': workspace,
      'github.server_url': serverUrl,
      'github.api_url': apiUrl,
      'github.run_id': runId,
      'github.actor': actor,
      'github.event_name': event.name,
      'runner.temp': temp,
    };
    const metadata =
      options.metadata ??
      (steps.includes(options.action) ? join(repoRoot, 'actions', options.action, 'action.yml') : undefined);
    const inputs = {
      ...(metadata ? actionInputDefaults(metadata, github, event.payload ?? {}) : {}),
      ...options.inputs,
    };
    if (options.token !== undefined && options.inputs?.token === undefined) inputs.token = options.token;

    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: process.env.HOME ?? runnerDir,
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      RUNNER_OS: 'Linux',
      RUNNER_ARCH: 'X64',
      RUNNER_NAME: 'modelship-test-runner',
      RUNNER_ENVIRONMENT: 'github-hosted',
      RUNNER_TEMP: temp,
      RUNNER_TOOL_CACHE: toolCache,
      RUNNER_WORKSPACE: join(workspace, '..'),
      ...files,
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_EVENT_NAME: event.name,
      GITHUB_API_URL: apiUrl,
      GITHUB_GRAPHQL_URL: `${apiUrl}/graphql`,
      GITHUB_SERVER_URL: serverUrl,
      GITHUB_REPOSITORY: repository,
      GITHUB_REPOSITORY_OWNER: repository.split('/')[0],
      GITHUB_SHA: sha,
      GITHUB_REF: ref,
      GITHUB_REF_NAME: refName(ref),
      GITHUB_REF_TYPE: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
      GITHUB_HEAD_REF: '',
      GITHUB_BASE_REF: '',
      GITHUB_WORKSPACE: workspace,
      GITHUB_RUN_ID: runId,
      GITHUB_RUN_NUMBER: '1',
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_ACTOR: actor,
      GITHUB_TRIGGERING_ACTOR: actor,
      GITHUB_WORKFLOW: 'model',
      GITHUB_JOB: 'model',
      GITHUB_ACTION: steps.includes(options.action) ? options.action : '__run',
      ...event.env,
      ...(options.debug ? { RUNNER_DEBUG: '1' } : {}),
      ...(options.token !== undefined ? { GITHUB_TOKEN: options.token } : {}),
    };
    for (const [name, value] of Object.entries(inputs)) env[inputVariable(name)] = value;
    Object.assign(env, options.env);

    const started = performance.now();
    const child = await runProcess(bundle, options.args ?? [], workspace, env, options.timeoutMs ?? 120_000);
    const durationMs = performance.now() - started;

    const [output, summary, exportedEnv, state, path] = await Promise.all(
      [files.GITHUB_OUTPUT, files.GITHUB_STEP_SUMMARY, files.GITHUB_ENV, files.GITHUB_STATE, files.GITHUB_PATH].map(
        (f) => readFile(f, 'utf8'),
      ),
    );
    const commands = parseWorkflowCommands(child.stdout);
    return {
      ...child,
      durationMs,
      outputs: parseFileCommand(output, 'GITHUB_OUTPUT'),
      summary,
      env: parseFileCommand(exportedEnv, 'GITHUB_ENV'),
      state: parseFileCommand(state, 'GITHUB_STATE'),
      path: path.split(/\r?\n/).filter(Boolean),
      log: maskedLog(child.stdout),
      commands,
      annotations: annotationsOf(commands),
      groups: commands.filter((c) => c.name === 'group').map((c) => c.message),
      masks: commands.filter((c) => c.name === 'add-mask').map((c) => c.message),
      runnerEnv: env,
      runnerDir: options.keepRunnerDir ? runnerDir : undefined,
    };
  } finally {
    if (!options.keepRunnerDir) await rm(runnerDir, { recursive: true, force: true });
  }
}

/** What the runner's log would show: a value is masked from the moment `::add-mask::` registers it. */
function maskedLog(stdout: string): string {
  const masks: string[] = [];
  const lines: string[] = [];
  for (const line of stdout.split('\n')) {
    const [command] = parseWorkflowCommands(line);
    if (command?.name === 'add-mask') {
      if (command.message) masks.push(command.message);
      continue;
    }
    lines.push(masks.reduce((text, mask) => text.split(mask).join('***'), line));
  }
  return lines.join('\n');
}

/** `INPUT_<NAME>`: upper-cased, spaces to `_`, hyphens kept (what @actions/core's getInput reads). */
export function inputVariable(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

export function bundlePath(action: string): string {
  if (steps.includes(action)) return join(repoRoot, 'dist', 'actions', `${action}.js`);
  return isAbsolute(action) ? action : resolve(repoRoot, action);
}

function refName(ref: string): string {
  return ref.replace(/^refs\/(heads|tags)\//, '').replace(/^refs\/pull\/(\d+)\/merge$/, '$1/merge');
}

interface ActionMetadata {
  inputs?: Record<string, { default?: unknown; required?: boolean }>;
}

/**
 * The runner passes every declared input, with its default when the workflow leaves it out. Defaults may
 * use `${{ github.* }}` / `${{ runner.temp }}` (values given in `github`) and `${{ github.event.* }}`.
 */
export function actionInputDefaults(
  metadataPath: string,
  github: Record<string, string>,
  payload: object,
): Record<string, string> {
  const metadata = parseYaml(readFileSync(metadataPath, 'utf8')) as ActionMetadata;
  const defaults: Record<string, string> = {};
  for (const [name, input] of Object.entries(metadata.inputs ?? {})) {
    if (input.default === undefined || input.default === null) continue;
    defaults[name] = evaluateExpressions(String(input.default), github, payload, `${metadataPath} input '${name}'`);
  }
  return defaults;
}

/** The few `${{ }}` expressions an input default can use; anything else is a harness gap, said so loudly. */
function evaluateExpressions(text: string, github: Record<string, string>, payload: object, where: string): string {
  return text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expression: string) => {
    if (expression in github) return github[expression];
    if (expression.startsWith('github.event.')) {
      let value: unknown = payload;
      for (const key of expression.slice('github.event.'.length).split('.')) {
        value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
      }
      return value === undefined || value === null ? '' : String(value);
    }
    throw new Error(`${where}: the test runner cannot evaluate \${{ ${expression} }}; teach action-runner.ts.`);
  });
}

function runProcess(
  bundle: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bundle, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolvePromise({
        exitCode,
        signal,
        timedOut,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
  });
}
