import { ModelshipError } from '../errors.js';
import { startServer } from '../serve/server.js';
import { parseCommandArgs, terminalLogger, type CliCommand } from './command.js';

const help = `
Usage: modelship serve --repository DIR [options]

Serves the ONNX models of a Triton-layout repository (DIR/<model>/config.pbtxt, DIR/<model>/<N>/model.onnx)
over the Open Inference Protocol (KServe V2 / Triton REST). Prints the URL on stdout once listening;
SIGTERM or SIGINT stops accepting, answers requests in flight and exits 0.

Options:
  --repository DIR              the model repository (required)
  --host HOST                   address to bind (default 127.0.0.1)
  --port N                      port (default 8000; 0 picks a free one)
  --model-control MODE          explicit (default): load/unload through the API; poll: rescan DIR
  --load-model NAME             model to load at startup in explicit mode; repeat for more; '*' for all (default)
  --poll-interval-ms N          poll mode rescan interval (default 1000)
  --max-body-bytes N            largest load request body (default 512 MiB)
  --intra-op-threads N          onnxruntime threads per session (default 1)
  --verbose                     debug logging

Environment:
  MODELSHIP_ADMIN_TOKEN         bearer token for load, unload and routing (without it they are refused)
  MODELSHIP_READ_TOKEN          when set, every endpoint but health needs this token (or the admin token)
`;

function integer(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min)
    throw new ModelshipError(
      'CLI_USAGE',
      `${flag} must be an integer of at least ${min}, not '${value}'.`,
      "Run 'modelship serve --help'.",
    );
  return Number(value);
}

export const command: CliCommand = {
  summary: 'serve a model repository over the Open Inference Protocol',
  async run(argv) {
    const parsed = parseCommandArgs(
      'serve',
      argv,
      {
        repository: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        'model-control': { type: 'string' },
        'load-model': { type: 'string', multiple: true },
        'poll-interval-ms': { type: 'string' },
        'max-body-bytes': { type: 'string' },
        'intra-op-threads': { type: 'string' },
        verbose: { type: 'boolean' },
      },
      help,
    );
    if (!parsed) return 0;
    const { values, positionals } = parsed;
    if (positionals.length > 0)
      throw new ModelshipError(
        'CLI_USAGE',
        `Unexpected argument '${positionals[0]}'.`,
        "Run 'modelship serve --help'.",
      );
    if (!values.repository)
      throw new ModelshipError(
        'CLI_USAGE',
        '--repository is required.',
        'Pass the folder that holds one folder per model.',
      );
    const control = values['model-control'] ?? 'explicit';
    if (control !== 'explicit' && control !== 'poll')
      throw new ModelshipError('CLI_USAGE', `--model-control must be explicit or poll, not '${control}'.`);
    const loadModels = values['load-model'];
    const log = terminalLogger({ verbose: values.verbose });

    const server = await startServer({
      repository: values.repository,
      host: values.host,
      port: integer(values.port, '--port', 0) ?? 8000,
      modelControl: control,
      loadModels: !loadModels || loadModels.includes('*') ? '*' : loadModels,
      pollIntervalMs: integer(values['poll-interval-ms'], '--poll-interval-ms', 10),
      maxBodyBytes: integer(values['max-body-bytes'], '--max-body-bytes', 1),
      intraOpThreads: integer(values['intra-op-threads'], '--intra-op-threads', 1),
      readToken: process.env.MODELSHIP_READ_TOKEN || undefined,
      log,
    });
    process.stdout.write(server.url + '\n');

    await new Promise<void>((resolve) => {
      let signals = 0;
      const stop = (signal: NodeJS.Signals) => {
        signals++;
        if (signals > 1) return;
        log.info(`${signal}: finishing requests in flight, then stopping.`);
        void server.close().then(resolve, (error: unknown) => {
          log.error(`Stopping: ${(error as Error).message}`);
          resolve();
        });
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
    log.info('Stopped.');
    return 0;
  },
};
