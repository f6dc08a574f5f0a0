/**
 * What steps log through. The action entry backs it with @actions/core (groups, annotations),
 * the CLI with the terminal, tests with an array.
 */
export interface Logger {
  info(message: string): void;
  warn(message: string, location?: { file?: string; line?: number; column?: number }): void;
  error(message: string, location?: { file?: string; line?: number; column?: number }): void;
  debug(message: string): void;
  group<T>(name: string, work: () => Promise<T>): Promise<T>;
}

export const silentLogger: Logger = {
  info() {},
  warn() {},
  error() {},
  debug() {},
  group: (_name, work) => work(),
};

/** A logger that records every line, for tests and for reports. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => void lines.push(`info: ${m}`),
    warn: (m) => void lines.push(`warn: ${m}`),
    error: (m) => void lines.push(`error: ${m}`),
    debug: (m) => void lines.push(`debug: ${m}`),
    async group(name, work) {
      lines.push(`group: ${name}`);
      try {
        return await work();
      } finally {
        lines.push(`endgroup: ${name}`);
      }
    },
  };
}
