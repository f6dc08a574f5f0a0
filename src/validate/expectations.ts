/**
 * What a model is held against: the options given (action inputs, CLI flags) over the model's entry in
 * modelship.yml. Every expectation that came from the config keeps its line, so a check that fails on it
 * annotates modelship.yml where the expectation is written.
 */
import path from 'node:path';
import { DEFAULT_CONFIG_FILE, loadConfig, type LoadedConfig } from '../config/load.js';
import { escapePointer } from '../config/schema-errors.js';
import type { ModelEntry } from '../config/types.js';
import { ModelshipError, type SourceLocation } from '../errors.js';
import type { ExpectedSignature } from './signature-match.js';
import { parseSizeInput } from './size.js';

/** Where the smoke run's inputs come from: a JSONL or CSV file, or a folder of ONNX test data sets. */
export interface FixtureSource {
  path: string;
  /** `jsonl`, `csv` or `onnx`; from the path when left out. */
  format?: string;
  /** Input name -> the field holding the tensor, or the columns whose values form it, in order. */
  inputs?: Record<string, string | string[]>;
  /** Field names of the id and label, which a CSV's default column mapping leaves out. */
  fields?: { id?: string; label?: string };
}

export interface Expectations {
  /** The model path to check, relative to the working directory or absolute. */
  model: string;
  strict: boolean;
  allowedDomains: string[];
  maxSize?: { bytes: number; text: string };
  maxLatencyMs?: number;
  expectedDigest?: string;
  fixtures?: FixtureSource;
  signature?: ExpectedSignature;
  labels?: string[];
  locations: {
    maxSize?: SourceLocation;
    maxLatencyMs?: SourceLocation;
    labels?: SourceLocation;
    /** The line of a place in the expected signature (`/inputs/0/datatype`). */
    signature?: (pointer: string) => SourceLocation | undefined;
  };
}

/** The model, and what it must be like: from these options, and from its modelship.yml entry where they are silent. */
export interface ExpectationOptions {
  /** A .onnx file, or a folder holding model.onnx and its external data. Default: the config entry's path. */
  model?: string;
  /** modelship.yml; with `modelName`, its entry supplies the expected signature, labels and limits. */
  config?: string;
  modelName?: string;
  /** `sha256:<hex>` the model must have. */
  expectedDigest?: string;
  /** JSONL rows for the smoke run. */
  fixtures?: string;
  /** `200MB`, `1.5GiB` or a number of bytes: the model and its external data together. */
  maxSize?: string | number;
  maxLatencyMs?: number;
  /** Custom operator domains the model may use. */
  allowedDomains?: string[];
  /** Warnings fail the run too. */
  strict?: boolean;
  /** Expected signature and labels given directly; they win over the config entry's. */
  expectedSignature?: ExpectedSignature;
  labels?: string[];
}

/** `sha256:<64 hex>`, also accepted as the bare 64 hex digits `sha256sum` prints. */
export function normalizeDigest(value: string, what = 'expected-digest'): string {
  const text = value.trim().toLowerCase();
  const match = /^(?:sha256:)?([0-9a-f]{64})$/.exec(text);
  if (!match) {
    throw new ModelshipError(
      'DIGEST_INVALID',
      `${what} '${value}' is not a SHA-256 digest.`,
      "Write it as 'sha256:' followed by 64 hex digits, as the validate step's digest output prints it.",
    );
  }
  return `sha256:${match[1]}`;
}

function checkLatencyLimit(value: number, location?: SourceLocation): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new ModelshipError(
      'INPUT_INVALID',
      `max-latency-ms must be a positive number of milliseconds, got ${value}.`,
      undefined,
      location,
    );
  }
  return value;
}

/** Domain lists as people write them: `a,b`, `a b`, one per line. */
export function parseDomainList(value: string): string[] {
  return value
    .split(/[\s,]+/)
    .map((domain) => domain.trim())
    .filter(Boolean);
}

/** The config entry to use: the named one, or the only one there is. */
function pickEntry(loaded: LoadedConfig, name: string | undefined): { name: string; entry: ModelEntry } {
  if (name !== undefined) return { name, entry: loaded.model(name) };
  const names = Object.keys(loaded.config.models);
  if (names.length === 1) return { name: names[0], entry: loaded.config.models[names[0]] };
  throw new ModelshipError(
    'INPUT_MISSING',
    `${path.basename(loaded.path)} defines ${names.length} models (${names.map((n) => `'${n}'`).join(', ')}); which one is this?`,
    "Set 'model-name' (CLI: --model-name).",
    loaded.locate('/models'),
  );
}

const relativeToCwd = (file: string) => path.relative(process.cwd(), file) || file;

export async function resolveExpectations(options: ExpectationOptions): Promise<Expectations> {
  let configured: { loaded: LoadedConfig; name: string; entry: ModelEntry } | undefined;
  if (options.config !== undefined || options.modelName !== undefined) {
    const loaded = await loadConfig(options.config ?? DEFAULT_CONFIG_FILE);
    configured = { loaded, ...pickEntry(loaded, options.modelName) };
  }

  const model =
    options.model ??
    (configured ? relativeToCwd(path.resolve(configured.loaded.dir, configured.entry.path)) : undefined);
  if (!model) {
    throw new ModelshipError(
      'INPUT_MISSING',
      'No model to validate.',
      "Give the model path (the 'model' input or the CLI argument), or 'model-name' to use its entry in modelship.yml.",
    );
  }
  const expectations: Expectations = {
    model,
    strict: options.strict ?? false,
    allowedDomains: options.allowedDomains ?? [],
    locations: {},
  };

  if (configured) {
    const { loaded, name, entry } = configured;
    const base = `/models/${escapePointer(name)}`;
    const settings = entry.validate ?? {};
    expectations.strict = options.strict ?? settings.strict ?? false;
    expectations.allowedDomains = options.allowedDomains ?? settings['allowed-domains'] ?? [];
    if (options.maxSize === undefined && settings['max-size'] !== undefined) {
      const location = loaded.locate(`${base}/validate/max-size`);
      expectations.maxSize = {
        bytes: parseSizeInput(settings['max-size'], 'max-size', location),
        text: String(settings['max-size']),
      };
      expectations.locations.maxSize = location;
    }
    if (options.maxLatencyMs === undefined && settings['max-latency-ms'] !== undefined) {
      const location = loaded.locate(`${base}/validate/max-latency-ms`);
      expectations.maxLatencyMs = checkLatencyLimit(settings['max-latency-ms'], location);
      expectations.locations.maxLatencyMs = location;
    }
    if (entry.signature) {
      expectations.signature = entry.signature;
      expectations.locations.signature = (pointer) =>
        loaded.locate(`${base}/signature${pointer}`) ?? loaded.locate(`${base}/signature`);
    }
    if (entry.labels) {
      expectations.labels = entry.labels;
      expectations.locations.labels = loaded.locate(`${base}/labels`);
    }
    if (entry.fixtures) {
      const { path: file, format, inputs, id, label } = entry.fixtures;
      expectations.fixtures = { path: relativeToCwd(path.resolve(loaded.dir, file)), format, inputs };
      const fields = { ...(id ? { id } : {}), ...(label ? { label } : {}) };
      if (id || label) expectations.fixtures.fields = fields;
    }
  }

  if (options.maxSize !== undefined) {
    expectations.maxSize = { bytes: parseSizeInput(options.maxSize), text: String(options.maxSize) };
  }
  if (options.maxLatencyMs !== undefined) expectations.maxLatencyMs = checkLatencyLimit(options.maxLatencyMs);
  if (options.expectedDigest !== undefined) expectations.expectedDigest = normalizeDigest(options.expectedDigest);
  if (options.fixtures !== undefined) {
    expectations.fixtures = { path: options.fixtures };
  }
  if (options.expectedSignature) {
    expectations.signature = options.expectedSignature;
    delete expectations.locations.signature;
  }
  if (options.labels) {
    expectations.labels = options.labels;
    delete expectations.locations.labels;
  }
  return expectations;
}
