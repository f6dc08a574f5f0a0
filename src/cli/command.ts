import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ModelshipError } from '../errors.js';
import type { Logger } from '../log.js';

export interface CliCommand {
  summary: string;
  /** Returns the process exit code; throws ModelshipError for a user's mistake. */
  run(argv: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs with `--help` built in and a ModelshipError (not a TypeError) for unknown flags. */
export function parseCommandArgs<T extends Options>(
  name: string,
  argv: string[],
  options: T,
  help: string,
):
  | { values: ReturnType<typeof parseArgs<{ options: T; allowPositionals: true }>>['values']; positionals: string[] }
  | undefined {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(help.trimEnd() + '\n');
    return undefined;
  }
  try {
    const parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: parsed.values, positionals: parsed.positionals };
  } catch (error) {
    throw new ModelshipError('CLI_USAGE', `${(error as Error).message}.`, `Run 'modelship ${name} --help'.`);
  }
}

const useColor = () => process.stderr.isTTY && !process.env.NO_COLOR;
const paint = (code: string, text: string) => (useColor() ? `\x1b[${code}m${text}\x1b[0m` : text);

/** Terminal logger: progress and warnings on stderr, so stdout stays clean for `--json`. */
export function terminalLogger(options: { verbose?: boolean } = {}): Logger {
  let depth = 0;
  const write = (text: string) => process.stderr.write('  '.repeat(depth) + text + '\n');
  const where = (location?: { file?: string; line?: number; column?: number }) =>
    location?.file ? `${location.file}${location.line ? `:${location.line}` : ''}: ` : '';
  return {
    info: (message) => write(message),
    warn: (message, location) => write(paint('33', `warning: ${where(location)}${message}`)),
    error: (message, location) => write(paint('31', `error: ${where(location)}${message}`)),
    debug: (message) => {
      if (options.verbose) write(paint('2', message));
    },
    async group(name, work) {
      write(paint('1', name));
      depth++;
      try {
        return await work();
      } finally {
        depth--;
      }
    },
  };
}

export function notImplemented(name: string): CliCommand {
  return {
    summary: `(${name}: not available yet)`,
    run: async () => {
      throw new ModelshipError('NOT_IMPLEMENTED', `'modelship ${name}' is not available in this build yet.`);
    },
  };
}
