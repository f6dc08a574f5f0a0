import { rmSync } from 'node:fs';
import { DemoRun, type DemoSummary, type StageRecord } from './demo/lifecycle.js';
import { memoryLogger, type Logger } from '../log.js';
import { ModelshipError } from '../errors.js';
import { parseCommandArgs, terminalLogger, type CliCommand } from './command.js';

const help = `
Usage: modelship demo [options]

Runs the whole model lifecycle on the bundled Iris models, in a temporary folder, against the embedded
inference server: validate, evaluate (a pass and a caught regression), version (local git tags), deploy,
a live request, a canary with live traffic, and a rollback. Then removes everything it created.

Options:
  --keep                keep the temporary folder (project, model repository, ledger) and print its path
  --json                print a machine-readable summary on stdout (progress goes to stderr)
  --canary-window S     seconds of live traffic the canary is judged on (default 2.5)
  --verbose             show what every step logs

Exit code: 0 when the lifecycle behaved as expected (the regression caught included), 1 otherwise,
130 when interrupted.
`;

/** How long an interrupted run may take to stop its server and remove its folder before it is forced. */
const INTERRUPT_GRACE_MS = 5000;
const SETTLE_MS = 200;

const useColor = (stream: NodeJS.WriteStream) => stream.isTTY && !process.env.NO_COLOR;

function printer(stream: NodeJS.WriteStream) {
  const paint = (code: string, text: string) => (useColor(stream) ? `\x1b[${code}m${text}\x1b[0m` : text);
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return {
    line: (text = '') => stream.write(text + '\n'),
    stage(record: StageRecord) {
      const mark = record.ok ? paint('32', '✓') : paint('31', '✗');
      const number = String(record.number).padStart(2);
      stream.write(
        `${mark} ${number}. ${paint('1', record.title)}: ${record.summary} ${paint('2', `(${seconds(record.ms)})`)}\n`,
      );
      for (const detail of record.details) {
        const text = detail.startsWith('✗') ? paint(record.ok ? '33' : '31', detail) : detail;
        stream.write(`       ${text}\n`);
      }
    },
    seconds,
    paint,
  };
}

export const command: CliCommand = {
  summary: 'run the whole lifecycle on the bundled Iris models against the embedded server',
  async run(argv) {
    const parsed = parseCommandArgs(
      'demo',
      argv,
      {
        keep: { type: 'boolean' },
        json: { type: 'boolean' },
        'canary-window': { type: 'string' },
        verbose: { type: 'boolean' },
      },
      help,
    );
    if (!parsed) return 0;
    const { values, positionals } = parsed;
    if (positionals.length > 0) {
      throw new ModelshipError('CLI_USAGE', `Unexpected argument '${positionals[0]}'.`, "Run 'modelship demo --help'.");
    }
    let canaryWindowSeconds: number | undefined;
    if (values['canary-window'] !== undefined) {
      canaryWindowSeconds = Number(values['canary-window']);
      if (!Number.isFinite(canaryWindowSeconds) || canaryWindowSeconds < 0.5 || canaryWindowSeconds > 600) {
        throw new ModelshipError(
          'CLI_USAGE',
          `--canary-window must be a number of seconds from 0.5 to 600, not '${values['canary-window']}'.`,
        );
      }
    }

    // With --json, stdout carries the summary alone.
    const out = printer(values.json ? process.stderr : process.stdout);
    const collected = memoryLogger();
    const log: Logger = values.verbose ? terminalLogger({ verbose: true }) : collected;
    const controller = new AbortController();
    const demo = new DemoRun({
      keep: values.keep,
      canaryWindowSeconds,
      log,
      signal: controller.signal,
      events: {
        finished(record) {
          out.stage(record);
          if (!record.ok && !values.verbose) {
            // What the steps said last, for a stage that went wrong.
            const tail = collected.lines.filter((l) => /^(warn|error|info): /.test(l)).slice(-12);
            for (const line of tail) out.line(`       ${out.paint('2', line)}`);
          }
        },
      },
    });

    out.line(out.paint('1', 'modelship demo: an Iris model from validation to a live canary and back'));
    out.line();

    let stop: (signal: NodeJS.Signals) => void = () => {};
    const interrupted = new Promise<never>((_, reject) => {
      stop = (signal: NodeJS.Signals) => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        out.line(`\n${signal}: stopping the server and removing the temporary folder…`);
        controller.abort();
        // Work already under way (a file copy, a git command) may still write into the folder after the
        // cleanup removed it: wait for it a moment and remove what it left, then give up on the run.
        const finish = () => {
          if (demo.root && !values.keep) rmSync(demo.root, { recursive: true, force: true, maxRetries: 3 });
          reject(new Interrupted(signal));
        };
        const forced = setTimeout(finish, INTERRUPT_GRACE_MS);
        void demo.cleanup().finally(() => {
          clearTimeout(forced);
          setTimeout(finish, SETTLE_MS);
        });
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });

    let summary: DemoSummary;
    try {
      summary = await Promise.race([demo.run(), interrupted]);
      // The run ends on its own once interrupted; the interrupt still decides how the process ends.
      if (controller.signal.aborted) await interrupted;
    } catch (error) {
      if (!(error instanceof Interrupted)) throw error;
      if (values.keep && demo.root) out.line(`Kept: ${demo.root}`);
      // A step may still be waiting on the stopped server; nothing of the run is worth waiting for.
      process.exit(130);
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }

    out.line();
    if (summary.ok) {
      out.line(out.paint('32', `✓ The lifecycle behaved as expected in ${out.seconds(summary.durationMs)}.`));
    } else {
      out.line(
        out.paint('31', `✗ The lifecycle did not behave as expected${summary.error ? `: ${summary.error}` : '.'}`),
      );
    }
    out.line(
      summary.kept ? `Kept the temporary folder: ${summary.workspace}` : 'Server stopped and temporary folder removed.',
    );
    if (values.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    return summary.ok ? 0 : 1;
  },
};

class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`Interrupted by ${signal}.`);
  }
}
