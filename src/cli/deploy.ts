/** `modelship deploy`: the deploy step with terminal progress, or its result as JSON with --json. */
import { leaseSettingsFromEnv, parseWindowSeconds } from '../actions/inputs/deploy-shared.js';
import { ModelshipError } from '../errors.js';
import { deployResultLine } from '../report/deploy.js';
import { deploy, type DeployStrategy } from '../steps/deploy.js';
import { parseCommandArgs, terminalLogger, type CliCommand } from './command.js';
import { cliNumber } from './numbers.js';

const help = `
Usage: modelship deploy [<model>] --model-name NAME --environment ENV [--target URL] [options]

Deploys a model version to an environment and proves it live: writes the version into a Triton-layout
repository (or pushes it to a server), loads it, smoke-tests it over HTTP against onnxruntime offline,
switches traffic, and rolls back by itself when anything fails. Exits 1 when the deploy failed (the
previous version then serves again).

Targets:
  file://<dir>               a model repository folder (with --server to load and verify through)
  http(s)://host:port        modelship serve or Triton (explicit mode): the model travels in the load request
  kserve://<ns>/<name>       render an InferenceService manifest (--storage-uri), apply nothing

Options:
  --model-name NAME          model name in the repository, ledger and tags (required)
  --environment ENV          environment name (required)
  --version SEMVER           the version (from 'modelship version')
  --target URL               where to deploy (default: the environment in modelship.yml)
  --server URL               the server serving a file:// repository
  --state DIR                ledger and lease folder (default beside a file:// repository; required for http)
  --config FILE              modelship.yml (default: ./modelship.yml when it exists)
  --expected-digest SHA      sha256:<hex> the model must have; nothing changes otherwise
  --strategy S               replace (default) or canary
  --canary-weight N          percent of traffic for the canary (default 10)
  --analysis-window D        how long the canary is watched: 60s, 5m (default 60s)
  --max-error-rate X         highest canary error rate 0..1 (default 0.01)
  --max-latency-ratio X      highest canary/stable mean latency ratio (default 1.5)
  --smoke-fixtures FILE      JSONL rows for the smoke run (default: one synthetic input)
  --smoke-rows N             rows read from the smoke fixtures (default 16)
  --keep N                   versions kept on disk (default 3)
  --tag-stage                create <name>#<env>#<N> in the git checkout
  --storage-uri URI          KServe: where the cluster reads the repository ({model}, {version})
  --manifest FILE            KServe: where to write the manifest
  --json                     print the result as JSON on stdout
  --verbose                  show every step

Environment:
  MODELSHIP_ADMIN_TOKEN          the server's admin token (load, routing)
  MODELSHIP_LEASE_TTL_SECONDS    lease lifetime without renewal (default 60): how soon a crashed run's lease is taken over
  MODELSHIP_LEASE_WAIT_SECONDS   how long to wait for another deploy's lease (default 900)
`;

export const command: CliCommand = {
  summary: 'deploy a model version to an environment, verify it live, roll back on failure',
  async run(argv) {
    const parsed = parseCommandArgs(
      'deploy',
      argv,
      {
        'model-name': { type: 'string' },
        environment: { type: 'string' },
        version: { type: 'string' },
        target: { type: 'string' },
        server: { type: 'string' },
        state: { type: 'string' },
        config: { type: 'string' },
        'expected-digest': { type: 'string' },
        strategy: { type: 'string' },
        'canary-weight': { type: 'string' },
        'analysis-window': { type: 'string' },
        'max-error-rate': { type: 'string' },
        'max-latency-ratio': { type: 'string' },
        'smoke-fixtures': { type: 'string' },
        'smoke-rows': { type: 'string' },
        keep: { type: 'string' },
        'tag-stage': { type: 'boolean' },
        'storage-uri': { type: 'string' },
        manifest: { type: 'string' },
        json: { type: 'boolean' },
        verbose: { type: 'boolean' },
      },
      help,
    );
    if (!parsed) return 0;
    const { values, positionals } = parsed;
    const usage = "Run 'modelship deploy --help'.";
    if (positionals.length > 1) {
      throw new ModelshipError('CLI_USAGE', `deploy takes one model, got ${positionals.length}.`, usage);
    }
    for (const required of ['model-name', 'environment'] as const) {
      if (!values[required]) throw new ModelshipError('CLI_USAGE', `--${required} is required.`, usage);
    }
    const strategy = values.strategy;
    if (strategy !== undefined && strategy !== 'replace' && strategy !== 'canary') {
      throw new ModelshipError('CLI_USAGE', `--strategy must be replace or canary, got '${strategy}'.`, usage);
    }
    const log = terminalLogger({ verbose: values.verbose });
    const result = await deploy(
      {
        model: positionals[0],
        modelName: values['model-name']!,
        environment: values.environment!,
        version: values.version,
        target: values.target,
        server: values.server,
        state: values.state,
        config: values.config,
        expectedDigest: values['expected-digest'],
        strategy: strategy as DeployStrategy | undefined,
        canaryWeight: cliNumber('deploy', '--canary-weight', values['canary-weight']),
        analysisWindowSeconds:
          values['analysis-window'] === undefined
            ? undefined
            : parseWindowSeconds(values['analysis-window'], '--analysis-window'),
        maxErrorRate: cliNumber('deploy', '--max-error-rate', values['max-error-rate']),
        maxLatencyRatio: cliNumber('deploy', '--max-latency-ratio', values['max-latency-ratio']),
        smokeFixtures: values['smoke-fixtures'],
        smokeRows: cliNumber('deploy', '--smoke-rows', values['smoke-rows']),
        keep: cliNumber('deploy', '--keep', values.keep),
        tagStage: values['tag-stage'],
        storageUri: values['storage-uri'],
        manifest: values.manifest,
        adminToken: process.env.MODELSHIP_ADMIN_TOKEN || undefined,
        workspace: process.cwd(),
        ...leaseSettingsFromEnv(),
      },
      log,
    );
    if (values.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else process.stdout.write(deployResultLine(result) + '\n');
    return result.failed ? 1 : 0;
  },
};
