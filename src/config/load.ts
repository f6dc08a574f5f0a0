/**
 * Reads modelship.yml, keeping YAML source positions so that every mistake, syntax or schema, is
 * reported at its file, line and column.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import schema from '../../schemas/modelship.schema.json' with { type: 'json' };
import { ModelshipError, type SourceLocation } from '../errors.js';
import { didYouMean } from './did-you-mean.js';
import { describeSchemaErrors, unescapePointer, type SchemaProblem } from './schema-errors.js';
import type { ModelEntry, ModelshipConfig } from './types.js';

export const DEFAULT_CONFIG_FILE = 'modelship.yml';
const SCHEMA_HINT = 'The format is described by schemas/modelship.schema.json.';

export interface LoadedConfig {
  /** Absolute path of the file. */
  path: string;
  /** The folder holding the file; model and fixture paths are relative to it. */
  dir: string;
  config: ModelshipConfig;
  /** Where the node at a JSON pointer (`/models/iris/task`) is written; undefined if it is not. */
  locate(pointer: string): SourceLocation | undefined;
  /** The named model; throws CONFIG_MODEL_UNKNOWN listing the names there are. */
  model(name: string): ModelEntry;
}

export interface ConfigProblem {
  message: string;
  location: SourceLocation;
}

/** CONFIG_INVALID with every problem found; `message` lists them all, `location` is the first. */
export class ConfigInvalidError extends ModelshipError {
  constructor(
    readonly problems: ConfigProblem[],
    hint?: string,
  ) {
    super(
      'CONFIG_INVALID',
      problems.map((problem) => `${formatLocation(problem.location)}: ${problem.message}`).join('\n'),
      hint,
      problems[0]?.location,
    );
  }
}

/** Reads and validates `file` (default modelship.yml), relative to `options.cwd` (default the process's). */
export async function loadConfig(file = DEFAULT_CONFIG_FILE, options: { cwd?: string } = {}): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const absolute = path.resolve(cwd, file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder' : `cannot be read (${code})`;
    throw new ModelshipError(
      'CONFIG_NOT_FOUND',
      `The configuration file ${absolute} ${reason}.`,
      file === DEFAULT_CONFIG_FILE
        ? `Create ${DEFAULT_CONFIG_FILE} at the repository root (${SCHEMA_HINT.slice(0, -1).toLowerCase()}), or point modelship at another file.`
        : 'Check the configuration path.',
      undefined,
      { cause: error },
    );
  }
  const display = path.relative(cwd, absolute).split(path.sep).join('/') || path.basename(absolute);
  return parseConfig(text, { path: absolute, display });
}

/** Validates configuration text already in memory (e.g. read from another git revision). */
export function parseConfig(text: string, file: { path: string; display?: string }): LoadedConfig {
  const display = file.display ?? path.basename(file.path);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const at = (offset: number): SourceLocation => {
    const { line, col } = lineCounter.linePos(offset);
    return { file: display, line, column: col };
  };

  if (doc.errors.length > 0) {
    throw new ConfigInvalidError(
      doc.errors.map((error) => ({
        message: `YAML syntax: ${error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`,
        location: at(error.pos[0]),
      })),
      'Fix the YAML syntax first.',
    );
  }
  const value = doc.toJS({ maxAliasCount: 1000 }) as unknown;
  if (value === null || value === undefined) {
    throw new ConfigInvalidError(
      [{ message: `the file is empty; it needs a 'models:' mapping`, location: at(0) }],
      SCHEMA_HINT,
    );
  }

  const locate = (pointer: string, part: 'value' | 'key' = 'value'): SourceLocation | undefined => {
    const found = findNode(doc, pointer);
    if (!found) return undefined;
    const node = part === 'key' || !found.value?.range ? (found.key ?? found.value) : found.value;
    return node?.range ? at(node.range[0]) : undefined;
  };

  const validate = compiledSchema();
  if (!validate(value)) {
    const problems = describeSchemaErrors(validate.errors ?? [])
      .map((problem: SchemaProblem) => ({
        message: problem.message,
        hint: problem.hint,
        location: locate(problem.pointer, problem.at) ?? locate(parentPointer(problem.pointer)) ?? at(0),
      }))
      .sort((a, b) => a.location.line! - b.location.line! || a.location.column! - b.location.column!);
    throw new ConfigInvalidError(
      problems.map(({ message, location }) => ({ message, location })),
      problems[0]?.hint ?? SCHEMA_HINT,
    );
  }

  const config = value as ModelshipConfig;
  return {
    path: file.path,
    dir: path.dirname(file.path),
    config,
    locate: (pointer) => locate(pointer),
    model(name) {
      const entry = Object.hasOwn(config.models, name) ? config.models[name] : undefined;
      if (entry) return entry;
      const names = Object.keys(config.models);
      const suggestion = didYouMean(name, names);
      throw new ModelshipError(
        'CONFIG_MODEL_UNKNOWN',
        `${display} has no model '${name}'${suggestion ? ` (did you mean '${suggestion}'?)` : ''}; it defines ${names.map((n) => `'${n}'`).join(', ')}.`,
        `Use one of those names, or add '${name}:' under 'models:' in ${display}.`,
        locate('/models', 'key'),
      );
    },
  };
}

let compiled: ValidateFunction | undefined;
function compiledSchema(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: true, verbose: true, strict: true }).compile(schema);
  return compiled;
}

/** The YAML node at a JSON pointer, with its key when it is a mapping value. */
function findNode(doc: Document, pointer: string): { key?: Node; value?: Node | null } | undefined {
  let current: unknown = doc.contents;
  let key: Node | undefined;
  const segments = pointer === '' ? [] : pointer.slice(1).split('/').map(unescapePointer);
  for (const segment of segments) {
    if (isAlias(current)) current = current.resolve(doc);
    if (isMap(current)) {
      const pair = current.items.find(
        (item) => isPair(item) && String(isScalar(item.key) ? item.key.value : item.key) === segment,
      );
      if (!pair) return undefined;
      key = pair.key as Node;
      current = pair.value;
    } else if (isSeq(current)) {
      const index = Number(segment);
      if (!Number.isInteger(index) || index >= current.items.length) return undefined;
      key = undefined;
      current = current.items[index];
    } else {
      return undefined;
    }
  }
  if (isAlias(current)) {
    return { key, value: current }; // point at the alias where it is written, not at its anchor
  }
  return { key, value: (current as Node | null | undefined) ?? null };
}

function parentPointer(pointer: string): string {
  return pointer.slice(0, Math.max(0, pointer.lastIndexOf('/')));
}

export function formatLocation(location: SourceLocation): string {
  return [location.file, location.line, location.column].filter((part) => part !== undefined).join(':');
}
