/**
 * Protocol buffer text format (the syntax of Triton's config.pbtxt), read into a schema-free tree that
 * keeps line numbers, and written back. The same tree is built from Triton's JSON form of a config, so one
 * reader (model-config.ts) validates both.
 */

export type PbValue =
  | { kind: 'string'; value: string; line: number }
  | { kind: 'number'; value: number; text: string; line: number }
  /** An enum value or `true`/`false`: a bare identifier. */
  | { kind: 'ident'; value: string; line: number }
  | PbMessage;

export interface PbMessage {
  kind: 'message';
  /** Field name to its values in order; a repeated field has several. */
  fields: Map<string, PbValue[]>;
  line: number;
}

export class PbtxtSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
  }
}

type Token =
  | { type: 'ident'; text: string; line: number; column: number }
  | { type: 'string'; text: string; line: number; column: number }
  | { type: 'number'; text: string; line: number; column: number }
  | { type: 'punct'; text: string; line: number; column: number }
  | { type: 'eof'; text: ''; line: number; column: number };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const at = () => ({ line, column: i - lineStart + 1 });
  while (i < source.length) {
    const c = source[i];
    if (c === '\n') {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < source.length && source[i] !== '\n') i++;
      continue;
    }
    const where = at();
    if ('{}[]<>:,;'.includes(c)) {
      tokens.push({ type: 'punct', text: c, ...where });
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const { text, end } = readString(source, i, where.line, where.column);
      tokens.push({ type: 'string', text, ...where });
      i = end;
      continue;
    }
    const number =
      /^-?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fF]?|inf(?:inity)?|nan)(?![A-Za-z0-9_])/i.exec(
        source.slice(i, i + 64),
      );
    if (number && (c === '-' || c === '.' || (c >= '0' && c <= '9') || /^-?(inf|nan)/i.test(number[0]))) {
      tokens.push({ type: 'number', text: number[0], ...where });
      i += number[0].length;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(source.slice(i, i + 256));
    if (ident) {
      tokens.push({ type: 'ident', text: ident[0], ...where });
      i += ident[0].length;
      continue;
    }
    throw new PbtxtSyntaxError(`unexpected character '${c}'`, where.line, where.column);
  }
  tokens.push({ type: 'eof', text: '', ...at() });
  return tokens;
}

const simpleEscapes: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '?': '?',
};

function readString(source: string, start: number, line: number, column: number): { text: string; end: number } {
  const quote = source[start];
  let i = start + 1;
  let text = '';
  while (i < source.length) {
    const c = source[i];
    if (c === quote) return { text, end: i + 1 };
    if (c === '\n') break;
    if (c === '\\') {
      const e = source[i + 1];
      if (e in simpleEscapes) {
        text += simpleEscapes[e];
        i += 2;
        continue;
      }
      const hex = /^x([0-9a-fA-F]{1,2})/.exec(source.slice(i + 1, i + 4));
      if (hex) {
        text += String.fromCharCode(parseInt(hex[1], 16));
        i += 1 + hex[0].length;
        continue;
      }
      const octal = /^[0-7]{1,3}/.exec(source.slice(i + 1, i + 4));
      if (octal) {
        text += String.fromCharCode(parseInt(octal[0], 8));
        i += 1 + octal[0].length;
        continue;
      }
      throw new PbtxtSyntaxError(`unknown escape '\\${e ?? ''}' in string`, line, column + (i - start));
    }
    text += c;
    i++;
  }
  throw new PbtxtSyntaxError('string is not closed on its line', line, column);
}

/** Parses protocol buffer text format into a tree. Throws PbtxtSyntaxError with line and column. */
export function parsePbtxt(source: string): PbMessage {
  const tokens = tokenize(source);
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => tokens[pos++];
  const fail = (token: Token, message: string): never => {
    throw new PbtxtSyntaxError(message, token.line, token.column);
  };
  const describe = (token: Token) => (token.type === 'eof' ? 'end of file' : `'${token.text}'`);

  function parseMessage(close: string | undefined, line: number): PbMessage {
    const message: PbMessage = { kind: 'message', fields: new Map(), line };
    for (;;) {
      const token = peek();
      if (close === undefined && token.type === 'eof') return message;
      if (close !== undefined && token.type === 'punct' && token.text === close) {
        next();
        return message;
      }
      if (token.type !== 'ident') {
        fail(
          token,
          close && token.type === 'eof' ? `missing '${close}'` : `expected a field name, found ${describe(token)}`,
        );
      }
      next();
      const values = message.fields.get(token.text) ?? [];
      message.fields.set(token.text, values);
      let colon = false;
      if (peek().type === 'punct' && peek().text === ':') {
        next();
        colon = true;
      }
      const start = peek();
      if (start.type === 'punct' && start.text === '[') {
        next();
        if (!(peek().type === 'punct' && peek().text === ']')) {
          for (;;) {
            values.push(parseValue(true));
            const sep = next();
            if (sep.type === 'punct' && sep.text === ']') break;
            if (!(sep.type === 'punct' && sep.text === ',')) fail(sep, `expected ',' or ']', found ${describe(sep)}`);
          }
        } else {
          next();
        }
      } else {
        if (!colon && !(start.type === 'punct' && (start.text === '{' || start.text === '<'))) {
          fail(start, `expected ':' after '${token.text}', found ${describe(start)}`);
        }
        values.push(parseValue(colon));
      }
      const sep = peek();
      if (sep.type === 'punct' && (sep.text === ',' || sep.text === ';')) next();
    }
  }

  function parseValue(scalarAllowed: boolean): PbValue {
    const token = next();
    if (token.type === 'punct' && (token.text === '{' || token.text === '<')) {
      return parseMessage(token.text === '{' ? '}' : '>', token.line);
    }
    if (!scalarAllowed) fail(token, `expected a value, found ${describe(token)}`);
    if (token.type === 'string') {
      let value = token.text;
      // Adjacent string literals concatenate, as in C.
      while (peek().type === 'string') value += next().text;
      return { kind: 'string', value, line: token.line };
    }
    if (token.type === 'number')
      return { kind: 'number', value: numberValue(token.text), text: token.text, line: token.line };
    if (token.type === 'ident') return { kind: 'ident', value: token.text, line: token.line };
    return fail(token, `expected a value, found ${describe(token)}`);
  }

  return parseMessage(undefined, 1);
}

function numberValue(text: string): number {
  const negative = text.startsWith('-');
  const body = (negative ? text.slice(1) : text).toLowerCase();
  let value: number;
  if (body.startsWith('0x')) value = parseInt(body.slice(2), 16);
  else if (body.startsWith('inf')) value = Infinity;
  else if (body === 'nan') value = NaN;
  else value = Number(body.endsWith('f') ? body.slice(0, -1) : body);
  return negative ? -value : value;
}

/**
 * Builds the same tree from a JSON value (Triton's JSON form of a config). Strings stay strings (the config
 * reader accepts a string wherever an enum is expected), booleans become identifiers, null is dropped.
 */
export function pbFromJson(value: unknown, path = ''): PbMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PbtxtSyntaxError(`${path || 'the config'} must be a JSON object`, 0, 0);
  }
  const message: PbMessage = { kind: 'message', fields: new Map(), line: 0 };
  for (const [key, raw] of Object.entries(value)) {
    const items = Array.isArray(raw) ? raw : [raw];
    const values: PbValue[] = [];
    for (const item of items) {
      const where = path ? `${path}.${key}` : key;
      if (item === null || item === undefined) continue;
      if (typeof item === 'string') values.push({ kind: 'string', value: item, line: 0 });
      else if (typeof item === 'number') values.push({ kind: 'number', value: item, text: String(item), line: 0 });
      else if (typeof item === 'boolean') values.push({ kind: 'ident', value: String(item), line: 0 });
      else if (Array.isArray(item)) throw new PbtxtSyntaxError(`${where} holds a nested array`, 0, 0);
      else values.push(pbFromJson(item, where));
    }
    message.fields.set(key, values);
  }
  return message;
}

/** Writes a tree as protocol buffer text. `enumFields` names fields whose string values are enum identifiers. */
export function formatPbtxt(message: PbMessage, enumFields: ReadonlySet<string>, indent = ''): string {
  const lines: string[] = [];
  const scalar = (field: string, value: Exclude<PbValue, PbMessage>): string => {
    if (value.kind === 'number') return Number.isFinite(value.value) ? String(value.value) : value.text;
    if (value.kind === 'ident') return value.value;
    if (enumFields.has(field) && /^[A-Za-z_][A-Za-z0-9_]*$/.test(value.value)) return value.value;
    return JSON.stringify(value.value);
  };
  for (const [field, values] of message.fields) {
    if (values.length === 0) {
      // An empty list says something (dims: [ ] is a scalar), so it is written, not dropped.
      lines.push(`${indent}${field}: [ ]`);
      continue;
    }
    const messages = values.every((v) => v.kind === 'message');
    if (messages && values.length === 1) {
      lines.push(`${indent}${field} {`, formatPbtxt(values[0] as PbMessage, enumFields, indent + '  '), `${indent}}`);
    } else if (messages) {
      lines.push(`${indent}${field} [`);
      values.forEach((v, i) => {
        lines.push(`${indent}  {`, formatPbtxt(v as PbMessage, enumFields, indent + '    '));
        lines.push(`${indent}  }${i < values.length - 1 ? ',' : ''}`);
      });
      lines.push(`${indent}]`);
    } else {
      for (const v of values) {
        if (v.kind === 'message')
          lines.push(`${indent}${field} {`, formatPbtxt(v, enumFields, indent + '  '), `${indent}}`);
      }
      const scalars = values.filter((v): v is Exclude<PbValue, PbMessage> => v.kind !== 'message');
      if (scalars.length === 1 && !isListField(field)) lines.push(`${indent}${field}: ${scalar(field, scalars[0])}`);
      else if (scalars.length > 0)
        lines.push(`${indent}${field}: [ ${scalars.map((v) => scalar(field, v)).join(', ')} ]`);
    }
  }
  return lines.filter((l) => l !== '').join('\n');
}

// Repeated scalar fields of Triton's ModelConfig that read more naturally as a list even with one item.
const listFields = new Set(['dims', 'versions', 'preferred_batch_size', 'gpus', 'shape']);
const isListField = (field: string) => listFields.has(field);
