/** `modelship validate <model>`: the validate step with terminal output, or the JSON report with --json. */
import { ModelshipError } from '../errors.js';
import { silentLogger } from '../log.js';
import { renderValidateText } from '../report/validate.js';
import { validate, type ValidateOptions } from '../steps/validate.js';
import { parseDomainList } from '../validate/expectations.js';
import { parseCommandArgs, terminalLogger, type CliCommand } from './command.js';

const help = `
Usage: modelship validate [<model>] [options]

Checks an ONNX model (a .onnx file, or a folder with model.onnx and its external data): file, structure,
external data, operator domains, load and smoke run in onnxruntime (isolated), signature, labels, digest.
Exits 1 when a check fails (with --strict, when one warns).

Options:
  --config <file>            modelship.yml whose model entry gives signature, labels, fixtures and limits
  --model-name <name>        the entry to use (config defaults to modelship.yml when this is set)
  --expected-digest <sha>    sha256:<hex> the model must have
  --fixtures <file.jsonl>    rows for the smoke run (default: inputs made up from the signature)
  --max-size <size>          e.g. 200MB, 1.5GiB
  --max-latency-ms <ms>      largest allowed median latency of one request (p95 over it warns)
  --allowed-domains <a,b>    custom operator domains the model may use
  --strict                   warnings fail too
  --report <file>            where to write the JSON report (default: <model>.validate.json)
  --runtime-timeout <s>      seconds per runtime stage before the isolated process is killed (default 120)
  --json                     print the JSON report on stdout instead of the table
  --verbose                  show every step
`;

const number = (flag: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) {
    throw new ModelshipError(
      'CLI_USAGE',
      `${flag} must be a number, got '${value}'.`,
      "Run 'modelship validate --help'.",
    );
  }
  return parsed;
};

export const command: CliCommand = {
  summary: 'check an ONNX model: structure, safety, signature, digest, load and smoke run',
  async run(argv) {
    const parsed = parseCommandArgs(
      'validate',
      argv,
      {
        config: { type: 'string' },
        'model-name': { type: 'string' },
        'expected-digest': { type: 'string' },
        fixtures: { type: 'string' },
        'max-size': { type: 'string' },
        'max-latency-ms': { type: 'string' },
        'allowed-domains': { type: 'string' },
        strict: { type: 'boolean' },
        report: { type: 'string' },
        'runtime-timeout': { type: 'string' },
        json: { type: 'boolean' },
        verbose: { type: 'boolean' },
      },
      help,
    );
    if (!parsed) return 0;
    const { values, positionals } = parsed;
    if (positionals.length > 1) {
      throw new ModelshipError(
        'CLI_USAGE',
        `validate takes one model, got ${positionals.length}: ${positionals.join(' ')}.`,
        "Run 'modelship validate --help'.",
      );
    }
    const timeout = number('--runtime-timeout', values['runtime-timeout']);
    const options: ValidateOptions = {
      model: positionals[0],
      config: values.config,
      modelName: values['model-name'],
      expectedDigest: values['expected-digest'],
      fixtures: values.fixtures,
      maxSize: values['max-size'],
      maxLatencyMs: number('--max-latency-ms', values['max-latency-ms']),
      allowedDomains: values['allowed-domains'] === undefined ? undefined : parseDomainList(values['allowed-domains']),
      strict: values.strict,
      reportPath: values.report,
      runtimeTimeoutMs: timeout === undefined ? undefined : timeout * 1000,
    };
    const json = values.json === true;
    // The table says everything the per-check log lines would; keep the log to progress and debug.
    const log = json && !values.verbose ? silentLogger : quietChecks(terminalLogger({ verbose: values.verbose }));
    const result = await validate(options, log);
    if (json) {
      process.stdout.write(JSON.stringify(result.report, null, 2) + '\n');
    } else {
      const color = process.stdout.isTTY && !process.env.NO_COLOR;
      process.stdout.write(renderValidateText(result.report, { color, reportPath: result.reportPath }));
    }
    return result.passed ? 0 : 1;
  },
};

/** The step logs each failed check as an error; the CLI prints them in its table instead. */
function quietChecks(log: ReturnType<typeof terminalLogger>): ReturnType<typeof terminalLogger> {
  return { ...log, error: (message) => log.debug(message), warn: (message) => log.debug(message) };
}
