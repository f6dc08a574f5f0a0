/**
 * Turns ajv's errors into sentences about modelship.yml: where (a dotted path), what was expected, what
 * was found, and which YAML node to point at (the value, the key, or the mapping that lacks a key).
 */
import type { ErrorObject } from 'ajv';
import { didYouMean } from './did-you-mean.js';

export interface SchemaProblem {
  /** JSON pointer of the node to point at. */
  pointer: string;
  /** Point at the value at `pointer`, or at its key in the parent mapping. */
  at: 'value' | 'key';
  message: string;
  hint?: string;
}

interface SchemaNode {
  type?: string | string[];
  pattern?: string;
  examples?: unknown[];
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  items?: SchemaNode;
  properties?: Record<string, unknown>;
  enum?: unknown[];
  anyOf?: SchemaNode[];
}

const VALUE_CHECKS = new Set([
  'const',
  'enum',
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
]);

/** One problem per distinct mistake, in document order of ajv's report. */
export function describeSchemaErrors(errors: readonly ErrorObject[]): SchemaProblem[] {
  // anyOf and propertyNames report each failed branch too; the summary error says it better.
  const summaries = errors.filter((error) => error.keyword === 'anyOf' || error.keyword === 'propertyNames');
  const kept = errors.filter(
    (error) =>
      !summaries.some(
        (summary) =>
          summary !== error &&
          error.schemaPath.startsWith(summary.schemaPath + '/') &&
          error.instancePath.startsWith(summary.instancePath),
      ),
  );
  // A value of the wrong type also fails its const/enum/pattern/range checks; the type error says enough.
  const wrongType = new Set(kept.filter((error) => error.keyword === 'type').map((error) => error.instancePath));
  const problems: SchemaProblem[] = [];
  const seen = new Set<string>();
  for (const error of kept) {
    if (wrongType.has(error.instancePath) && VALUE_CHECKS.has(error.keyword)) continue;
    const problem = describe(error);
    const key = `${problem.pointer}|${problem.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      problems.push(problem);
    }
  }
  return problems;
}

function describe(error: ErrorObject): SchemaProblem {
  const pointer = error.instancePath;
  const where = dottedPath(pointer);
  const schema = (error.parentSchema ?? {}) as SchemaNode;
  const got = ` (got ${show(error.data)})`;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required': {
      const missing = String(params.missingProperty);
      return {
        pointer,
        at: 'key',
        message: `${where || 'the top level'} is missing required property '${missing}'`,
        hint: `Add '${missing}:' ${where ? `under ${where}` : 'at the top level'}.`,
      };
    }
    case 'additionalProperties': {
      const unknown = String(params.additionalProperty);
      const allowed = Object.keys(schema.properties ?? {});
      const suggestion = didYouMean(unknown, allowed);
      return {
        pointer: `${pointer}/${escapePointer(unknown)}`,
        at: 'key',
        message: `${where || 'the top level'} has unknown property '${unknown}'${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`,
        hint: `Allowed ${where ? `under ${where}` : 'at the top level'}: ${allowed.join(', ')}.`,
      };
    }
    case 'propertyNames': {
      const name = String(params.propertyName);
      const names = (schema as { propertyNames?: SchemaNode }).propertyNames ?? {};
      return {
        pointer: `${pointer}/${escapePointer(name)}`,
        at: 'key',
        message: `${where} has an invalid name '${name}': names must ${patternPhrase(names)} (match ${names.pattern})`,
      };
    }
    case 'enum':
      return {
        pointer,
        at: 'value',
        message: `${where} must be one of ${(schema.enum ?? []).map(String).join(', ')}${got}`,
      };
    case 'const':
      return { pointer, at: 'value', message: `${where} must be ${show(params.allowedValue)}${got}` };
    case 'type':
      return { pointer, at: 'value', message: `${where} must be ${typePhrase(String(params.type))}${got}` };
    case 'anyOf':
      return {
        pointer,
        at: 'value',
        message: `${where} must be ${(schema.anyOf ?? []).map(schemaPhrase).join(' or ')}${got}`,
      };
    case 'pattern':
      return { pointer, at: 'value', message: `${where} must ${patternPhrase(schema)}${got}` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return {
        pointer,
        at: 'value',
        message: `${where} must be ${String(params.comparison)} ${String(params.limit)}${got}`,
      };
    case 'minItems':
      return {
        pointer,
        at: 'value',
        message: `${where} must have at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}`,
      };
    case 'minProperties': {
      const properties = Object.keys(schema.properties ?? {});
      return {
        pointer,
        at: 'value',
        message:
          properties.length > 0
            ? `${where} must set at least one of ${properties.join(', ')}`
            : `${where} must have at least ${String(params.limit)} entr${params.limit === 1 ? 'y' : 'ies'}`,
      };
    }
    case 'minLength':
      return { pointer, at: 'value', message: `${where} must not be empty` };
    case 'uniqueItems':
      return {
        pointer,
        at: 'value',
        message: `${where} has ${show((error.data as unknown[])[Number(params.i)])} twice (items ${Math.min(Number(params.i), Number(params.j))} and ${Math.max(Number(params.i), Number(params.j))})`,
      };
    default:
      return { pointer, at: 'value', message: `${where || 'the top level'} ${error.message ?? 'is invalid'}` };
  }
}

/** `/models/team~1iris/labels/0` -> `models["team/iris"].labels[0]`. */
export function dottedPath(pointer: string): string {
  if (pointer === '') return '';
  return pointer
    .slice(1)
    .split('/')
    .map(unescapePointer)
    .map((segment, i) => {
      if (/^\d+$/.test(segment)) return `[${segment}]`;
      if (/^[A-Za-z_][\w-]*$/.test(segment)) return i === 0 ? segment : `.${segment}`;
      return `[${JSON.stringify(segment)}]`;
    })
    .join('');
}

export const escapePointer = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1');
export const unescapePointer = (segment: string) => segment.replaceAll('~1', '/').replaceAll('~0', '~');

function patternPhrase(schema: SchemaNode): string {
  const examples = schema.examples?.filter((example) => typeof example === 'string') ?? [];
  return examples.length > 0
    ? `look like ${examples.map((example) => `'${String(example)}'`).join(' or ')}`
    : `match ${schema.pattern}`;
}

function typePhrase(type: string): string {
  return type
    .split(',')
    .map(
      (one) =>
        ({
          string: 'a string',
          number: 'a number',
          integer: 'an integer',
          boolean: 'true or false',
          array: 'a list',
          object: 'a mapping',
          null: 'empty',
        })[one] ?? one,
    )
    .join(' or ');
}

function schemaPhrase(schema: SchemaNode): string {
  const type = Array.isArray(schema.type) ? schema.type.join(',') : (schema.type ?? 'value');
  if (type === 'array' && schema.items?.type)
    return `a list of ${typePhrase(String(schema.items.type)).replace(/^an? /, '')}s`;
  if (type === 'string' && schema.examples?.length) {
    return `a string like ${schema.examples.map((example) => `'${String(example)}'`).join(' or ')}`;
  }
  let phrase = typePhrase(type);
  if (schema.minimum !== undefined) phrase += ` >= ${schema.minimum}`;
  if (schema.exclusiveMinimum !== undefined) phrase += ` > ${schema.exclusiveMinimum}`;
  if (schema.maximum !== undefined) phrase += ` <= ${schema.maximum}`;
  return phrase;
}

/** A value as it would look in YAML-ish terms, short. */
export function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (value === null || value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? text.slice(0, 57) + '...' : text;
}
