/** `modelship rollback`: return an environment to an earlier version, from the ledger. */
import { leaseSettingsFromEnv } from '../actions/inputs/deploy-shared.js';
import { ModelshipError } from '../errors.js';
import { ledgerTable } from '../report/deploy.js';
import { rollback } from '../steps/rollback.js';
import { parseCommandArgs, terminalLogger, type CliCommand } from './command.js';
import { cliNumber } from './numbers.js';

const help = `
Usage: modelship rollback --model-name NAME --environment ENV --reason TEXT [--to previous|SEMVER|#N] [options]

Returns an environment to an earlier version that is still on disk: the ledger says which, its files'
digest is checked, it is loaded, smoke-tested by its versioned URL, traffic switches, the model URL is
smoke-tested, and the rollback is recorded. A failure puts the current version back. Exits 1 on failure.

Options:
  --model-name NAME          the model (required)
  --environment ENV          the environment (required)
  --reason TEXT              why (required; recorded in the ledger)
  --to V                     previous (default), a semver, or #<number>
  --target URL               as deployed (default: the environment in modelship.yml)
  --server URL               the server serving a file:// repository
  --state DIR                the ledger and lease folder, as given to deploy
  --config FILE              modelship.yml (default: ./modelship.yml when it exists)
  --smoke-fixtures FILE      JSONL rows for the smoke run (default: one synthetic input)
  --smoke-rows N             rows read from the smoke fixtures (default 16)
  --dry-run                  print the plan and the last deployments, change nothing
  --json                     print the result as JSON on stdout
  --verbose                  show every step

Environment: MODELSHIP_ADMIN_TOKEN, MODELSHIP_LEASE_TTL_SECONDS, MODELSHIP_LEASE_WAIT_SECONDS (see 'modelship deploy --help').
`;

export const command: CliCommand = {
  summary: 'roll an environment back to an earlier model version, verified like a deploy',
  async run(argv) {
    const parsed = parseCommandArgs(
      'rollback',
      argv,
      {
        'model-name': { type: 'string' },
        environment: { type: 'string' },
        reason: { type: 'string' },
        to: { type: 'string' },
        target: { type: 'string' },
        server: { type: 'string' },
        state: { type: 'string' },
        config: { type: 'string' },
        'smoke-fixtures': { type: 'string' },
        'smoke-rows': { type: 'string' },
        'dry-run': { type: 'boolean' },
        json: { type: 'boolean' },
        verbose: { type: 'boolean' },
      },
      help,
    );
    if (!parsed) return 0;
    const { values, positionals } = parsed;
    const usage = "Run 'modelship rollback --help'.";
    if (positionals.length > 0)
      throw new ModelshipError('CLI_USAGE', `rollback takes no arguments, got ${positionals.join(' ')}.`, usage);
    for (const required of ['model-name', 'environment', 'reason'] as const) {
      if (!values[required]) throw new ModelshipError('CLI_USAGE', `--${required} is required.`, usage);
    }
    const log = terminalLogger({ verbose: values.verbose });
    const result = await rollback(
      {
        modelName: values['model-name']!,
        environment: values.environment!,
        reason: values.reason!,
        to: values.to,
        target: values.target,
        server: values.server,
        state: values.state,
        config: values.config,
        smokeFixtures: values['smoke-fixtures'],
        smokeRows: cliNumber('rollback', '--smoke-rows', values['smoke-rows']),
        dryRun: values['dry-run'],
        adminToken: process.env.MODELSHIP_ADMIN_TOKEN || undefined,
        ...leaseSettingsFromEnv(),
      },
      log,
    );
    if (values.json) {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    } else {
      const { from, to } = result.plan;
      const name = (v: { semver: string | null; numericVersion: number }) => v.semver ?? `#${v.numericVersion}`;
      const line =
        result.status === 'planned'
          ? `plan: ${name(from)} → ${name(to)} (dry run, nothing changed)`
          : result.status === 'rolled-back'
            ? `rolled back ${result.model} in ${result.environment}: ${name(from)} → ${name(to)} in ${Math.round(result.timings.total ?? 0)} ms`
            : result.status === 'unchanged'
              ? `${name(to)} already serves ${result.environment}`
              : `rollback failed (${result.failure?.code}): ${result.failure?.message}`;
      process.stdout.write(line + '\n');
      if (result.status === 'planned') process.stdout.write('\n' + ledgerTable(result.ledger) + '\n');
    }
    return result.failed ? 1 : 0;
  },
};
