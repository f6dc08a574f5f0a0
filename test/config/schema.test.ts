import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import type { ModelshipConfig } from '../../src/config/types.js';
import { parseDuration, parseMaxDrop, parseSize } from '../../src/config/values.js';
import { ModelshipError } from '../../src/errors.js';

const schemaFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../schemas/modelship.schema.json');

/** Every optional field made required: a sample of this type has to spell out every field of the types. */
type DeepRequired<T> = T extends readonly (infer U)[]
  ? DeepRequired<U>[]
  : T extends object
    ? { [K in keyof T]-?: DeepRequired<T[K]> }
    : T;

// tsc proves this sample holds every field of the TypeScript types and nothing else; the tests below prove
// the schema accepts it and has no field the sample lacks. Together: types and schema name the same fields.
const everyField: DeepRequired<ModelshipConfig> = {
  version: 1,
  models: {
    iris: {
      path: 'models/iris.onnx',
      task: 'classification',
      labels: ['setosa', 'versicolor', 'virginica'],
      signature: {
        inputs: [{ name: 'features', datatype: 'FP32', shape: ['batch', 4] }],
        outputs: [
          { name: 'label', datatype: 'INT64', shape: [-1] },
          { name: 'probabilities', datatype: 'FP32', shape: ['batch', 3] },
        ],
      },
      fixtures: {
        path: 'fixtures/iris.csv',
        format: 'csv',
        inputs: { features: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'] },
        label: 'species',
        id: 'row',
        slices: ['species'],
      },
      thresholds: {
        accuracy: { min: 0.9, max: 1, 'max-drop': '2%' },
        f1_macro: { min: 0.85, max: 1, 'max-drop': 0.02 },
      },
      validate: { 'max-size': '200MB', 'max-latency-ms': 50, 'allowed-domains': ['ai.onnx.ml'], strict: true },
      versioning: { 'first-version': '1.0.0', 'tag-prefix': 'iris' },
      environments: {
        production: {
          target: 'https://models.example.com',
          server: 'triton',
          strategy: 'canary',
          'canary-weight': 10,
          'analysis-window': '60s',
          'max-error-rate': 0.01,
          'max-latency-ratio': 1.5,
          keep: 3,
          state: '/srv/modelship-state',
          url: 'https://models.example.com/v2',
        },
      },
    },
  },
};

interface SchemaNode {
  $ref?: string;
  title?: string;
  description?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  definitions?: Record<string, SchemaNode>;
}

async function loadSchema(): Promise<SchemaNode & { $id?: string; $schema?: string }> {
  return JSON.parse(await readFile(schemaFile, 'utf8'));
}

describe('schemas/modelship.schema.json', () => {
  it('accepts a sample that sets every field, and reads it back unchanged from YAML', () => {
    const loaded = parseConfig(stringify(everyField), { path: '/repo/modelship.yml' });
    expect(loaded.config).toEqual(everyField);
  });

  it('has no field the sample (hence the TypeScript types) lacks', async () => {
    const schema = await loadSchema();
    const resolve = (node: SchemaNode): SchemaNode =>
      node.$ref ? resolve(schema.definitions![node.$ref.replace('#/definitions/', '')]) : node;
    const missing: string[] = [];
    const walk = (node: SchemaNode, value: unknown, where: string) => {
      node = resolve(node);
      if (node.properties) {
        for (const [key, child] of Object.entries(node.properties)) {
          const object = value as Record<string, unknown>;
          if (!(key in object)) missing.push(`${where}.${key}`);
          else walk(child, object[key], `${where}.${key}`);
        }
      } else if (typeof node.additionalProperties === 'object') {
        for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
          walk(node.additionalProperties, child, `${where}.${key}`);
        }
      } else if (node.items && Array.isArray(value)) {
        value.forEach((child, i) => walk(node.items!, child, `${where}[${i}]`));
      }
    };
    walk(schema, everyField, '');
    expect(missing).toEqual([]);
  });

  it('gives every property a title and a description, and has an $id', async () => {
    const schema = await loadSchema();
    expect(schema.$id).toBeTruthy();
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    const undocumented: string[] = [];
    const walk = (node: unknown, where: string) => {
      if (!node || typeof node !== 'object') return;
      const properties = (node as SchemaNode).properties;
      for (const [key, child] of Object.entries(properties ?? {})) {
        if (!child.title || !child.description) undocumented.push(`${where}/${key}`);
      }
      for (const [key, child] of Object.entries(node)) walk(child, `${where}/${key}`);
    };
    walk(schema, '');
    expect(undocumented).toEqual([]);
  });
});

describe('config values', () => {
  it('parses sizes in bytes, powers of 1000 and powers of 1024', () => {
    expect(parseSize(1234)).toBe(1234);
    expect(parseSize('200MB')).toBe(200_000_000);
    expect(parseSize('1.5GiB')).toBe(1.5 * 2 ** 30);
    expect(parseSize('10 kb')).toBe(10_000);
    expect(parseSize('7B')).toBe(7);
    expect(() => parseSize('200 megs')).toThrow(ModelshipError);
    expect(() => parseSize(-1)).toThrow(/a size such as '200MB'/);
  });

  it('parses durations to milliseconds', () => {
    expect(parseDuration('60s')).toBe(60_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(() => parseDuration('soon')).toThrow(/a duration such as '60s'/);
  });

  it('parses max-drop as absolute or relative', () => {
    expect(parseMaxDrop(0.02)).toEqual({ kind: 'absolute', amount: 0.02 });
    expect(parseMaxDrop('2%')).toEqual({ kind: 'relative', fraction: 0.02 });
    expect(() => parseMaxDrop('2 percent')).toThrow(ModelshipError);
    expect(() => parseMaxDrop(-1)).toThrow(ModelshipError);
  });
});
