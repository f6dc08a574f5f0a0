/**
 * Generates the README's reference sections from their sources, so the docs never drift:
 * one table per action from actions/<step>/action.yml, and the modelship.yml reference from its JSON Schema.
 * `npm run docs` rewrites README.md; `npm run docs -- --check` exits 1 when README.md is stale.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { parse } from 'yaml';

interface ActionMetadata {
  name: string;
  description: string;
  inputs?: Record<string, { description?: string; required?: boolean; default?: string }>;
  outputs?: Record<string, { description?: string }>;
}

interface JsonSchema {
  type?: string | string[];
  description?: string;
  title?: string;
  enum?: unknown[];
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  patternProperties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  required?: string[];
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  definitions?: Record<string, JsonSchema>;
  pattern?: string;
}

const cell = (text: unknown) =>
  String(text ?? '')
    .replace(/\|/g, '\\|')
    .replace(/\s*\n\s*/g, ' ')
    .trim();

export const ACTION_ORDER = ['validate', 'evaluate', 'version', 'deploy', 'rollback'];

export function renderActionTables(root: string): string {
  const parts: string[] = [];
  for (const step of ACTION_ORDER) {
    const file = join(root, 'actions', step, 'action.yml');
    if (!existsSync(file)) continue;
    const meta = parse(readFileSync(file, 'utf8')) as ActionMetadata;
    parts.push(`### \`actions/${step}\`\n\n${cell(meta.description)}\n`);
    const inputs = Object.entries(meta.inputs ?? {});
    if (inputs.length) {
      parts.push('| input | required | default | description |\n| --- | --- | --- | --- |');
      for (const [name, input] of inputs) {
        const fallback = input.default === undefined ? '' : `\`${cell(input.default)}\``;
        parts.push(`| \`${name}\` | ${input.required ? 'yes' : 'no'} | ${fallback} | ${cell(input.description)} |`);
      }
      parts.push('');
    }
    const outputs = Object.entries(meta.outputs ?? {});
    if (outputs.length) {
      parts.push('| output | description |\n| --- | --- |');
      for (const [name, output] of outputs) parts.push(`| \`${name}\` | ${cell(output.description)} |`);
      parts.push('');
    }
  }
  return parts.join('\n').trim();
}

function resolve(schema: JsonSchema, root: JsonSchema): JsonSchema {
  if (!schema.$ref) return schema;
  const path = schema.$ref.replace(/^#\//, '').split('/');
  let target: unknown = root;
  for (const key of path) target = (target as Record<string, unknown>)[key];
  return { ...(target as JsonSchema), ...schema, $ref: undefined };
}

function typeOf(schema: JsonSchema, root: JsonSchema): string {
  const s = resolve(schema, root);
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  const variants = s.oneOf ?? s.anyOf;
  if (variants) return variants.map((v) => typeOf(v, root)).join(' or ');
  if (s.type === 'array' && s.items) return `list of ${typeOf(s.items, root)}`;
  if (Array.isArray(s.type)) return s.type.join(' or ');
  if (s.type === 'object' && !s.properties && s.additionalProperties && typeof s.additionalProperties === 'object')
    return 'map';
  return s.type ?? 'any';
}

export function renderConfigReference(schema: JsonSchema): string {
  const rows: string[] = ['| key | type | description |', '| --- | --- | --- |'];
  const walk = (node: JsonSchema, path: string, depth: number) => {
    const s = resolve(node, schema);
    if (depth > 8) return;
    for (const [key, child] of Object.entries(s.properties ?? {})) {
      const c = resolve(child, schema);
      const required = s.required?.includes(key) ? ' (required)' : '';
      const fallback = c.default === undefined ? '' : ` Default: \`${JSON.stringify(c.default)}\`.`;
      const p = path ? `${path}.${key}` : key;
      rows.push(
        `| \`${p}\`${required} | ${typeOf(c, schema)} | ${cell((c.description ?? c.title ?? '') + fallback)} |`,
      );
      walk(c, p, depth + 1);
    }
    const maps: Array<[string, JsonSchema]> = Object.entries(s.patternProperties ?? {}).map(([, v]) => ['<name>', v]);
    if (s.additionalProperties && typeof s.additionalProperties === 'object')
      maps.push(['<name>', s.additionalProperties]);
    for (const [placeholder, child] of maps) {
      const c = resolve(child, schema);
      const p = path ? `${path}.${placeholder}` : placeholder;
      rows.push(`| \`${p}\` | ${typeOf(c, schema)} | ${cell(c.description ?? c.title ?? '')} |`);
      walk(c, p, depth + 1);
    }
    const items = s.items ? resolve(s.items, schema) : undefined;
    if (items?.properties) walk(items, `${path}[]`, depth + 1);
  };
  walk(schema, '', 0);
  return rows.join('\n');
}

export function replaceSection(text: string, name: string, body: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README.md has no '${start}' ... '${end}' section.`);
  return `${text.slice(0, from + start.length)}\n\n${body}\n\n${text.slice(to)}`;
}

/** The README as `npm run docs` writes it: generated sections, then prettier, so `prettier --check` agrees. */
export async function renderReadme(root: string): Promise<string> {
  const file = join(root, 'README.md');
  let readme = readFileSync(file, 'utf8');
  readme = replaceSection(readme, 'actions', renderActionTables(root));
  const schemaPath = join(root, 'schemas', 'modelship.schema.json');
  if (existsSync(schemaPath) && readme.includes('<!-- config:start -->')) {
    readme = replaceSection(readme, 'config', renderConfigReference(JSON.parse(readFileSync(schemaPath, 'utf8'))));
  }
  return format(readme, { ...(await resolveConfig(file)), filepath: file });
}

const invokedDirectly = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (invokedDirectly) {
  const root = process.cwd();
  const next = await renderReadme(root);
  const current = readFileSync(join(root, 'README.md'), 'utf8');
  if (process.argv.includes('--check')) {
    if (next !== current) {
      process.stderr.write('README.md is out of date with action.yml or the config schema: run `npm run docs`.\n');
      process.exitCode = 1;
    }
  } else if (next !== current) {
    writeFileSync(join(root, 'README.md'), next);
    process.stdout.write('README.md updated.\n');
  }
}
