import { dirname, resolve } from 'node:path';
import { ModelshipError } from '../errors.js';
import { version, type VersionOptions, type VersionResult } from '../steps/version.js';
import type { BumpRequest } from '../versioning/bump.js';
import { resolveCommit } from '../versioning/local-git.js';
import { parseCommandArgs, terminalLogger, type CliCommand } from './command.js';

const help = `Usage: modelship version [<model>] --model-name <name> [options]

Gives the model its next semantic version as an annotated git tag <name>@v<version>.
Without a token it tags the git repository holding the model (push the tag yourself);
with --repo and a token (--token or GITHUB_TOKEN) it tags and releases through the GitHub API.

Options:
  --model-name <name>      the model's name in tags (required)
  --bump <kind>            auto (default), major, minor or patch
  --prerelease <id>        e.g. rc: 1.3.0-rc.1, then 1.3.0-rc.2
  --report <file>          evaluate's JSON report, for the release's model card
  --first-version <v>      version of a model with none yet: 0.1.0 (default) or 1.0.0
  --config <file>          modelship.yml (default: the repository's, when it names the model)
  --commit <rev>           commit to tag (default HEAD)
  --dry-run                compute and print; create nothing
  --json                   print the result as JSON
  --repo <owner/name>      version through the GitHub API in this repository
  --token <token>          GitHub token (default: GITHUB_TOKEN)
  --api-url <url>          GitHub API root (default: GITHUB_API_URL or https://api.github.com)
  --no-release             with --repo: tag only, no release
  --attach-model           with --repo: upload the model to the release
  --verbose                more detail on stderr
`;

const options = {
  'model-name': { type: 'string' },
  bump: { type: 'string' },
  prerelease: { type: 'string' },
  report: { type: 'string' },
  'first-version': { type: 'string' },
  config: { type: 'string' },
  commit: { type: 'string' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  repo: { type: 'string' },
  token: { type: 'string' },
  'api-url': { type: 'string' },
  'no-release': { type: 'boolean' },
  'attach-model': { type: 'boolean' },
  verbose: { type: 'boolean' },
} as const;

function describe(result: VersionResult): string {
  const lines: string[] = [];
  if (result.dryRun) lines.push(`${result.tag} (dry run: nothing created)`);
  else if (result.created) lines.push(`Created ${result.tag}`);
  else lines.push(`${result.tag} already holds this model; nothing created`);
  lines.push(`  version   ${result.version}${result.previousVersion ? ` (previous ${result.previousVersion})` : ''}`);
  lines.push(`  bump      ${result.bump}: ${result.bumpReason}`);
  lines.push(`  digest    ${result.digest}`);
  lines.push(`  commit    ${result.commit}`);
  if (result.releaseUrl) lines.push(`  release   ${result.releaseUrl}`);
  if (result.assetUrl) lines.push(`  asset     ${result.assetUrl}`);
  return lines.join('\n');
}

/** The answer first, the detail after. */
const ordered = (r: VersionResult) => ({
  name: r.name,
  version: r.version,
  tag: r.tag,
  previousVersion: r.previousVersion,
  bump: r.bump,
  bumpReason: r.bumpReason,
  created: r.created,
  dryRun: r.dryRun,
  releaseUrl: r.releaseUrl,
  assetUrl: r.assetUrl,
  digest: r.digest,
  commit: r.commit,
  mode: r.mode,
  where: r.where,
  signature: r.signature,
  labels: r.labels,
  tensors: r.tensors,
});

export const command: CliCommand = {
  summary: 'give a model its next semantic version as an annotated git tag (and a GitHub release)',
  async run(argv) {
    const parsed = parseCommandArgs('version', argv, options, help);
    if (!parsed) return 0;
    const { values, positionals } = parsed;
    if (positionals.length > 1 || (positionals.length === 0 && !values.config)) {
      throw new ModelshipError(
        'CLI_USAGE',
        positionals.length === 0 ? 'Which model? Give its path.' : `One model at a time; got ${positionals.length}.`,
        "Run 'modelship version <model.onnx> --model-name <name>' (or '--config modelship.yml' to take the path from there).",
      );
    }
    if (!values['model-name']) {
      throw new ModelshipError('CLI_USAGE', '--model-name is required.', 'e.g. --model-name iris');
    }
    const model = positionals[0] === undefined ? undefined : resolve(positionals[0]);
    const request: VersionOptions = {
      model,
      modelName: values['model-name'],
      bump: (values.bump ?? 'auto') as BumpRequest,
      prerelease: values.prerelease,
      report: values.report === undefined ? undefined : resolve(values.report),
      firstVersion: values['first-version'],
      config: values.config === undefined ? undefined : resolve(values.config),
      discoverConfig: true,
      dryRun: values['dry-run'] ?? false,
    };
    const token = values.token ?? process.env.GITHUB_TOKEN;
    if (values.repo) {
      const match = /^([^/\s]+)\/([^/\s]+)$/.exec(values.repo);
      if (!match) throw new ModelshipError('CLI_USAGE', `--repo must be owner/name, got '${values.repo}'.`);
      if (!token) {
        throw new ModelshipError(
          'CLI_USAGE',
          '--repo needs a GitHub token.',
          'Pass --token or set GITHUB_TOKEN (contents: write); leave out --repo to tag the local repository.',
        );
      }
      request.github = {
        token,
        owner: match[1],
        repo: match[2],
        apiUrl: values['api-url'] ?? process.env.GITHUB_API_URL,
        serverUrl: process.env.GITHUB_SERVER_URL,
      };
      request.release = !values['no-release'];
      request.attachModel = values['attach-model'] ?? false;
    } else if (values.token || values['attach-model'] || values['api-url']) {
      throw new ModelshipError(
        'CLI_USAGE',
        '--token, --api-url and --attach-model work with --repo only.',
        'Add --repo owner/name to version through the GitHub API.',
      );
    }
    const log = terminalLogger({ verbose: values.verbose });
    if (values.commit) request.commit = await resolveCommit(model ? dirname(model) : process.cwd(), values.commit);
    const result = await version(request, log);
    process.stdout.write(values.json ? JSON.stringify(ordered(result), null, 2) + '\n' : describe(result) + '\n');
    return 0;
  },
};
