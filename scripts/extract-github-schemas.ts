/**
 * Extracts, from GitHub's published OpenAPI description (@octokit/openapi), the JSON request-body
 * schemas of the operations the test emulator serves, into test/support/github-request-schemas.json.
 * Descriptions and examples are dropped; everything the validator reads is kept. The output is
 * deterministic: the same description gives the same bytes.
 *
 *   node --import tsx scripts/extract-github-schemas.ts [--check]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { operations } from '../test/support/github-operations.js';

export const schemaFile = fileURLToPath(new URL('../test/support/github-request-schemas.json', import.meta.url));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface OpenApi {
  paths: Record<
    string,
    Record<string, { operationId: string; requestBody?: { content: Record<string, { schema: Json }> } }>
  >;
  components: { schemas: Record<string, Json> };
}

/** Keys that document a schema without constraining it. */
const documentationKeys = new Set(['description', 'example', 'examples', 'title', 'externalDocs', 'x-github']);

function openApiPath(): { path: string; version: string } {
  const require = createRequire(import.meta.url);
  const packageJson = require.resolve('@octokit/openapi/package.json');
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
  return { path: join(dirname(packageJson), 'generated', 'api.github.com.json'), version };
}

function resolveSchema(schema: Json, spec: OpenApi, seen: string[] = []): Json {
  if (Array.isArray(schema)) return schema.map((s) => resolveSchema(s, spec, seen));
  if (schema === null || typeof schema !== 'object') return schema;
  const ref = schema.$ref;
  if (typeof ref === 'string') {
    const name = ref.replace('#/components/schemas/', '');
    if (seen.includes(name)) throw new Error(`Recursive schema ${ref} cannot be inlined.`);
    return resolveSchema(spec.components.schemas[name], spec, [...seen, name]);
  }
  const result: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(schema)) {
    if (documentationKeys.has(key)) continue;
    // `properties` maps names to schemas: a property may well be called `description`.
    result[key] =
      key === 'properties' && value && typeof value === 'object' && !Array.isArray(value)
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveSchema(v, spec, seen)]))
        : resolveSchema(value, spec, seen);
  }
  return result;
}

export function extractGitHubSchemas(): string {
  const { path, version } = openApiPath();
  const spec = JSON.parse(readFileSync(path, 'utf8')) as OpenApi;
  const extracted: Record<string, { operationId: string; schema: Json }> = {};
  for (const { key } of operations) {
    const [method, route] = key.split(' ');
    const operation = spec.paths[route]?.[method.toLowerCase()];
    if (!operation) throw new Error(`${key} is not in GitHub's OpenAPI description.`);
    const schema = operation.requestBody?.content['application/json']?.schema;
    if (schema === undefined) continue;
    extracted[key] = { operationId: operation.operationId, schema: resolveSchema(schema, spec) };
  }
  const document = {
    source: `@octokit/openapi@${version} generated/api.github.com.json`,
    generatedBy: 'scripts/extract-github-schemas.ts',
    operations: extracted,
  };
  return JSON.stringify(document, null, 2) + '\n';
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = extractGitHubSchemas();
  if (process.argv.includes('--check')) {
    if (readFileSync(schemaFile, 'utf8') !== text) {
      process.stderr.write(`${schemaFile} is out of date; run node --import tsx scripts/extract-github-schemas.ts\n`);
      process.exitCode = 1;
    }
  } else {
    writeFileSync(schemaFile, text);
    process.stdout.write(`Wrote ${Object.keys(JSON.parse(text).operations).length} request schemas to ${schemaFile}\n`);
  }
}
