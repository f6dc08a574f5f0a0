/**
 * Reading what an action printed and wrote the way the runner reads it: `::command k=v::message` lines
 * on stdout, and the `name=value` / `name<<DELIMITER` files behind GITHUB_OUTPUT, GITHUB_ENV and GITHUB_STATE.
 */

export interface WorkflowCommand {
  /** e.g. `error`, `warning`, `notice`, `group`, `endgroup`, `add-mask`, `debug`. */
  name: string;
  /** Properties with the runner's escaping undone. */
  properties: Record<string, string>;
  /** The message with the runner's escaping undone. */
  message: string;
  /** 1-based line of stdout it came from. */
  line: number;
}

export interface Annotation {
  level: 'error' | 'warning' | 'notice';
  message: string;
  title?: string;
  file?: string;
  line?: number;
  endLine?: number;
  column?: number;
  endColumn?: number;
}

const unescapeData = (s: string): string => s.replace(/%0D/gi, '\r').replace(/%0A/gi, '\n').replace(/%25/g, '%');

const unescapeProperty = (s: string): string =>
  s.replace(/%0D/gi, '\r').replace(/%0A/gi, '\n').replace(/%3A/gi, ':').replace(/%2C/gi, ',').replace(/%25/g, '%');

/** Parses stdout as the runner does, honouring `::stop-commands::<token>` … `::<token>::`. */
export function parseWorkflowCommands(stdout: string): WorkflowCommand[] {
  const commands: WorkflowCommand[] = [];
  let stopToken: string | undefined;
  stdout.split(/\r?\n/).forEach((raw, index) => {
    const text = raw.trimStart();
    if (!text.startsWith('::')) return;
    const end = text.indexOf('::', 2);
    if (end < 0) return;
    const head = text.slice(2, end);
    const data = text.slice(end + 2);
    if (stopToken !== undefined) {
      if (head === stopToken) stopToken = undefined;
      return;
    }
    const space = head.indexOf(' ');
    const name = (space < 0 ? head : head.slice(0, space)).toLowerCase();
    const properties: Record<string, string> = {};
    if (space >= 0) {
      for (const pair of head.slice(space + 1).split(',')) {
        const eq = pair.indexOf('=');
        if (eq <= 0) continue;
        properties[pair.slice(0, eq).trim()] = unescapeProperty(pair.slice(eq + 1));
      }
    }
    if (name === 'stop-commands') {
      stopToken = data;
      return;
    }
    commands.push({ name, properties, message: unescapeData(data), line: index + 1 });
  });
  return commands;
}

const toNumber = (value: string | undefined): number | undefined =>
  value === undefined || value === '' ? undefined : Number(value);

export function annotationsOf(commands: WorkflowCommand[]): Annotation[] {
  return commands
    .filter((c) => c.name === 'error' || c.name === 'warning' || c.name === 'notice')
    .map((c) => {
      const p = c.properties;
      const annotation: Annotation = { level: c.name as Annotation['level'], message: c.message };
      if (p.title !== undefined) annotation.title = p.title;
      if (p.file !== undefined) annotation.file = p.file;
      const line = toNumber(p.line);
      if (line !== undefined) annotation.line = line;
      const endLine = toNumber(p.endLine);
      if (endLine !== undefined) annotation.endLine = endLine;
      const column = toNumber(p.col);
      if (column !== undefined) annotation.column = column;
      const endColumn = toNumber(p.endColumn);
      if (endColumn !== undefined) annotation.endColumn = endColumn;
      return annotation;
    });
}

/**
 * Parses a GITHUB_OUTPUT / GITHUB_ENV / GITHUB_STATE file. Throws on what the runner rejects
 * (a heredoc without its closing delimiter, an empty name), since the runner fails the step then.
 */
export function parseFileCommand(content: string, what = 'file command'): Record<string, string> {
  const result: Record<string, string> = {};
  const lines = content.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') continue;
    const eq = line.indexOf('=');
    const heredoc = line.indexOf('<<');
    if (eq >= 0 && (heredoc < 0 || eq < heredoc)) {
      const name = line.slice(0, eq);
      if (!name) throw new Error(`${what}: line ${i + 1} has an empty name.`);
      result[name] = line.slice(eq + 1);
      continue;
    }
    if (heredoc <= 0) throw new Error(`${what}: line ${i + 1} is neither 'name=value' nor 'name<<DELIMITER': ${line}`);
    const name = line.slice(0, heredoc);
    const delimiter = line.slice(heredoc + 2);
    if (!delimiter) throw new Error(`${what}: '${name}' has an empty heredoc delimiter.`);
    const value: string[] = [];
    let closed = false;
    for (i++; i < lines.length; i++) {
      if (lines[i] === delimiter) {
        closed = true;
        break;
      }
      value.push(lines[i]);
    }
    if (!closed) throw new Error(`${what}: matching delimiter '${delimiter}' for '${name}' not found.`);
    result[name] = value.join('\n');
  }
  return result;
}
