/**
 * `modelship <command>`: the same step functions the actions call, with terminal output.
 * Each command lives in src/cli/<command>.ts and exports `command: CliCommand`.
 */
import { describeError, isModelshipError } from './errors.js';
import type { CliCommand } from './cli/command.js';

const commands: Record<string, () => Promise<{ command: CliCommand }>> = {
  validate: () => import('./cli/validate.js'),
  evaluate: () => import('./cli/evaluate.js'),
  version: () => import('./cli/version.js'),
  deploy: () => import('./cli/deploy.js'),
  rollback: () => import('./cli/rollback.js'),
  serve: () => import('./cli/serve.js'),
  demo: () => import('./cli/demo.js'),
};

async function usage(): Promise<string> {
  const lines = ['Usage: modelship <command> [options]', '', 'Commands:'];
  for (const [name, load] of Object.entries(commands)) {
    const { command } = await load();
    lines.push(`  ${name.padEnd(10)} ${command.summary}`);
  }
  lines.push('', "Run 'modelship <command> --help' for a command's options.");
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write((await usage()) + '\n');
    return name ? 0 : 2;
  }
  if (name === '--version') {
    process.stdout.write(`${process.env.MODELSHIP_VERSION ?? '0.1.0'}\n`);
    return 0;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`modelship: unknown command '${name}'.\n\n${await usage()}\n`);
    return 2;
  }
  const { command } = await load();
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const where =
      isModelshipError(error) && error.location
        ? `${error.location.file}${error.location.line ? `:${error.location.line}` : ''}${error.location.column ? `:${error.location.column}` : ''}: `
        : '';
    const code = isModelshipError(error) ? ` [${error.code}]` : '';
    process.stderr.write(`modelship: ${where}${describeError(error)}${code}\n`);
    process.exitCode = 1;
  },
);
