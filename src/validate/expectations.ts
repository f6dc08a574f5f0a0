/**
 * What a model is held against: the options given (action inputs, CLI flags) over the model's entry in
 * modelship.yml. Every expectation that came from the config keeps its line, so a check that fails on it
 * can annotate modelship.yml where the expectation is written.
 */
import { ModelshipError, type SourceLocation } from '../errors.js';
import type { Signature } from '../runtime/tensor.js';
import { parseSize } from './size.js';

export interface Expectations {
  model: string;
  strict: boolean;
  allowedDomains: string[];
  maxSize?: { bytes: number; text: string };
  maxLatencyMs?: number;
  expectedDigest?: string;
  fixtures?: string;
  signature?: Signature;
  labels?: string[];
  locations: {
    maxSize?: SourceLocation;
    maxLatencyMs?: SourceLocation;
    labels?: SourceLocation;
    expectedDigest?: SourceLocation;
    /** The line of a place in the expected signature (`/inputs/0/datatype`). */
    signature?: (pointer: string) => SourceLocation | undefined;
  };
}

export interface ExpectationOptions {
  model?: string;
  config?: string;
  modelName?: string;
  expectedDigest?: string;
  fixtures?: string;
  maxSize?: string | number;
  maxLatencyMs?: number;
  allowedDomains?: string[];
  strict?: boolean;
  expectedSignature?: Signature;
  labels?: string[];
}

/** `sha256:<64 hex>`, also accepted as the bare 64 hex digits `sha256sum` prints. */
export function normalizeDigest(value: string, what = 'expected-digest', location?: SourceLocation): string {
  const text = value.trim().toLowerCase();
  const match = /^(?:sha256:)?([0-9a-f]{64})$/.exec(text);
  if (!match) {
    throw new ModelshipError(
      'DIGEST_INVALID',
      `${what} '${value}' is not a SHA-256 digest.`,
      "Write it as 'sha256:' followed by 64 hex digits, as the validate step's digest output prints it.",
      location,
    );
  }
  return `sha256:${match[1]}`;
}

export function checkLatencyLimit(value: number, what = 'max-latency-ms', location?: SourceLocation): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new ModelshipError(
      'INPUT_INVALID',
      `${what} must be a positive number of milliseconds, got ${value}.`,
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

export async function resolveExpectations(options: ExpectationOptions): Promise<Expectations> {
  if (!options.model) {
    throw new ModelshipError(
      'INPUT_MISSING',
      'No model to validate.',
      "Give the model path (the 'model' input or the CLI argument), or 'config' and 'model-name' to use its modelship.yml entry.",
    );
  }
  const expectations: Expectations = {
    model: options.model,
    strict: options.strict ?? false,
    allowedDomains: options.allowedDomains ?? [],
    locations: {},
  };
  if (options.maxSize !== undefined) {
    expectations.maxSize = { bytes: parseSize(options.maxSize), text: String(options.maxSize) };
  }
  if (options.maxLatencyMs !== undefined) expectations.maxLatencyMs = checkLatencyLimit(options.maxLatencyMs);
  if (options.expectedDigest !== undefined) expectations.expectedDigest = normalizeDigest(options.expectedDigest);
  if (options.fixtures !== undefined) expectations.fixtures = options.fixtures;
  if (options.expectedSignature) expectations.signature = options.expectedSignature;
  if (options.labels) expectations.labels = options.labels;
  return expectations;
}
