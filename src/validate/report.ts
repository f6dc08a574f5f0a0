/**
 * The JSON report validate writes: the contract with later steps and with anyone reading CI artifacts.
 * `schema` names its version; fields are only ever added.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Signature } from '../runtime/tensor.js';
import type { CheckResult } from './checks.js';

export const VALIDATE_REPORT_SCHEMA = 'modelship/validate-report@1';

export interface ValidateReport {
  schema: typeof VALIDATE_REPORT_SCHEMA;
  passed: boolean;
  /** The model file checked, as given (a folder resolves to its model.onnx). */
  model: string;
  /** `sha256:<hex>` over the model and its external data; null when it could not be computed safely. */
  digest: string | null;
  irVersion: number | null;
  /** The default-domain (ai.onnx) opset. */
  opset: number | null;
  signature: Signature | null;
  /** Warnings fail the run too. */
  strict: boolean;
  checks: CheckResult[];
  /** Smoke-run latency in milliseconds, when it ran. */
  latency?: { p50: number; p95: number; runs: number };
  /** The isolated onnxruntime process: session creation time, and its peak memory (what serving the model needs). */
  runtime?: { loadMs: number; peakRssBytes?: number };
}

export async function writeReport(file: string, report: ValidateReport): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(report, null, 2) + '\n');
}
