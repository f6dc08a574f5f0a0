/**
 * modelship.yml as TypeScript sees it. Written by hand to match schemas/modelship.schema.json;
 * test/config/types.test.ts fails when the two drift apart.
 */
import type { OipDatatype } from '../runtime/datatypes.js';

export interface ModelshipConfig {
  version?: 1;
  /** By model name: `[a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?`. */
  models: Record<string, ModelEntry>;
}

export type ModelTask = 'classification' | 'regression' | 'golden';

export interface ModelEntry {
  /** The .onnx file, relative to the folder holding modelship.yml. */
  path: string;
  task?: ModelTask;
  /** Class names in the order of the classifier's output indices. */
  labels?: string[];
  signature?: SignatureEntry;
  fixtures?: FixturesEntry;
  /** By metric name. */
  thresholds?: Record<string, ThresholdEntry>;
  validate?: ValidateEntry;
  versioning?: VersioningEntry;
  /** By environment name. */
  environments?: Record<string, EnvironmentEntry>;
}

export interface TensorEntry {
  name: string;
  datatype: OipDatatype;
  /** A size, -1 for any size, or a symbolic name; left out to accept any shape. */
  shape?: Array<number | string>;
}

export interface SignatureEntry {
  inputs?: TensorEntry[];
  outputs?: TensorEntry[];
}

export interface FixturesEntry {
  /** A JSONL or CSV file, or a folder of ONNX test_data_set_N folders. */
  path: string;
  format?: 'jsonl' | 'csv' | 'npy' | 'onnx';
  /** Input name -> the field holding the whole tensor, or the columns that form it, in order. */
  inputs?: Record<string, string | string[]>;
  label?: string;
  id?: string;
  slices?: string[];
}

export interface ThresholdEntry {
  min?: number;
  max?: number;
  /** An absolute amount, or a percentage of the baseline as `"2%"` (see parseMaxDrop). */
  'max-drop'?: number | string;
}

export interface ValidateEntry {
  /** Bytes, or a size with a unit such as `"200MB"` (see parseSize). */
  'max-size'?: number | string;
  'max-latency-ms'?: number;
  'allowed-domains'?: string[];
  strict?: boolean;
}

export interface VersioningEntry {
  'first-version'?: '0.1.0' | '1.0.0';
  'tag-prefix'?: string;
}

export interface EnvironmentEntry {
  /** `file://...` (a model repository folder) or `http(s)://...` (a server). */
  target: string;
  server?: 'modelship' | 'triton' | 'kserve';
  strategy?: 'replace' | 'canary';
  /** Percent of traffic, 1..99. */
  'canary-weight'?: number;
  /** A duration such as `"60s"` (see parseDuration). */
  'analysis-window'?: string;
  'max-error-rate'?: number;
  'max-latency-ratio'?: number;
  /** Versions kept deployed; 3 when left out. */
  keep?: number;
  /** The folder holding the deploy ledger and lease; see src/deploy/target.ts for the default. */
  state?: string;
  url?: string;
}
