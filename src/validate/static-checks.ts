/**
 * The checks that read the model without running it: LFS pointer, decoding, the structural rules,
 * external data and operator domains. They take the bytes already in memory (decoding makes views, not
 * copies) and never throw for anything a model file can contain: every outcome is a check result.
 */
import { describeError, isModelshipError } from '../errors.js';
import {
  checkStructure,
  displayDomain,
  normalizeDomain,
  operatorDomains,
  type RuntimeSupport,
} from '../onnx/checks.js';
import { decodeModel } from '../onnx/decode.js';
import { checkExternalData, type ExternalDataFile } from '../onnx/external-data.js';
import { describeLfsPointer, parseLfsPointer } from '../onnx/lfs-pointer.js';
import { signatureOf } from '../onnx/signature.js';
import type { OnnxModel } from '../onnx/types.js';
import { datatypeFromOnnx } from '../runtime/datatypes.js';
import type { Signature } from '../runtime/tensor.js';
import { CheckList, skippedBecause, type CheckId, type CheckResult } from './checks.js';

/** Domains that are ONNX itself; anything else needs allowed-domains. */
export const STANDARD_DOMAINS = ['', 'ai.onnx.ml', 'ai.onnx.preview.training'];

export interface StaticContext {
  /** Shown in messages. */
  displayPath: string;
  /** The folder external data must stay in. */
  modelDir: string;
  allowedDomains: readonly string[];
  runtime: RuntimeSupport;
}

/** What later checks need from the decoded model; holds no reference to the model's bytes. */
export interface StaticFacts {
  irVersion: number;
  /** Default-domain opset; null when the model imports none. */
  opset: number | null;
  /** Tensor inputs and outputs (sequence and map outputs left out: they cannot be served or checked). */
  signature: Signature;
  externalFiles: ExternalDataFile[];
  /** The `labels` metadata property, parsed; undefined when the model has none. */
  labels?: string[];
  /** Set when a failed check makes loading the model meaningless; names that check. */
  blockedBy?: CheckResult;
}

const STRUCTURE_IDS: CheckId[] = [
  'structure.ir-version',
  'structure.opset',
  'structure.graph',
  'structure.names-unique',
  'structure.topological-order',
  'structure.outputs-produced',
  'structure.raw-data',
];
const EXTERNAL_IDS: CheckId[] = ['external-data.location', 'external-data.file', 'external-data.size'];
/** Checks that depend on a decoded model. */
export const MODEL_CHECK_IDS: CheckId[] = [
  ...STRUCTURE_IDS,
  ...EXTERNAL_IDS,
  'operators.domains',
  'runtime.load',
  'signature.match',
  'labels.match',
  'smoke.run',
  'smoke.latency',
];

/**
 * Runs file.lfs-pointer, structure.* , external-data.* and operators.domains into `checks`. Returns the
 * facts later checks need, or undefined when the bytes are not a model at all (the rest is then skipped).
 */
export async function runStaticChecks(
  bytes: Uint8Array,
  context: StaticContext,
  checks: CheckList,
): Promise<StaticFacts | undefined> {
  const pointer = parseLfsPointer(bytes);
  if (pointer) {
    checks.fail(
      'file.lfs-pointer',
      `${context.displayPath} is a Git LFS pointer (${describeLfsPointer(pointer)}), not the model. ${pointer.hint}`,
    );
    checks.skipRemaining(skippedBecause(checks.get('file.lfs-pointer')!), ['structure.decode', ...MODEL_CHECK_IDS]);
    return undefined;
  }
  checks.pass('file.lfs-pointer', 'The file is not a Git LFS pointer.');

  let model: OnnxModel;
  try {
    model = decodeModel(bytes);
  } catch (error) {
    const reason = isModelshipError(error) ? error.message : describeError(error);
    checks.fail(
      'structure.decode',
      `${context.displayPath} does not decode as an ONNX model (${reason}). A truncated upload, a corrupted file ` +
        `or a file that is not ONNX looks like this; re-export the model or fetch it again.`,
    );
    checks.skipRemaining(skippedBecause(checks.get('structure.decode')!), MODEL_CHECK_IDS);
    return undefined;
  }
  const nodeCount = countNodes(model);
  checks.pass(
    'structure.decode',
    `ONNX IR ${model.irVersion}, ${nodeCount} node(s), ${model.graph.initializers.length} initializer(s)` +
      (model.producerName ? `, produced by ${model.producerName} ${model.producerVersion}`.trimEnd() : '') +
      '.',
  );

  const findings = checkStructure(model, context.runtime);
  checks.fromFindings('structure.ir-version', findings, `IR version ${model.irVersion} is supported.`);
  checks.fromFindings(
    'structure.opset',
    findings,
    `Opsets ${model.opsetImports.map((o) => `${displayDomain(normalizeDomain(o.domain))} ${o.version}`).join(', ') || '(none)'} ` +
      `are supported by onnxruntime ${context.runtime.version}.`,
  );
  checks.fromFindings(
    'structure.graph',
    findings,
    `${model.graph.inputs.length} input(s), ${model.graph.outputs.length} output(s), all typed.`,
  );
  checks.fromFindings('structure.names-unique', findings, 'Every value has exactly one producer.');
  checks.fromFindings('structure.topological-order', findings, 'Every node reads only values defined before it.');
  checks.fromFindings('structure.outputs-produced', findings, 'Every graph output is produced.');
  checks.fromFindings('structure.raw-data', findings, 'Every inline tensor holds the bytes its dims declare.');

  let externalFiles: ExternalDataFile[] = [];
  try {
    const external = await checkExternalData(model, context.modelDir);
    externalFiles = external.files;
    const none = external.tensors === 0;
    const facts = `${external.tensors} tensor(s) in ${external.files.length} file(s)`;
    checks.fromFindings(
      'external-data.location',
      external.findings,
      none ? 'No external data.' : `${facts}: every location is relative and stays in the folder.`,
    );
    checks.fromFindings(
      'external-data.file',
      external.findings,
      none ? 'No external data.' : `${facts}: regular files inside the model folder, one link each.`,
    );
    checks.fromFindings(
      'external-data.size',
      external.findings,
      none ? 'No external data.' : `${facts}: every tensor's bytes lie within its file and match its dims.`,
    );
  } catch (error) {
    checks.fail('external-data.file', `External data could not be checked: ${describeError(error)}`);
    checks.skipRemaining(skippedBecause(checks.get('external-data.file')!), EXTERNAL_IDS);
  }

  checkDomains(model, context.allowedDomains, checks);

  const blockedBy = checks.firstFailure([...STRUCTURE_IDS, ...EXTERNAL_IDS, 'operators.domains']);
  return {
    irVersion: model.irVersion,
    opset: model.opsetImports.find((o) => normalizeDomain(o.domain) === '')?.version ?? null,
    signature: tensorSignature(model),
    externalFiles,
    labels: parseLabels(model.metadataProps.labels),
    blockedBy,
  };
}

function countNodes(model: OnnxModel): number {
  let count = 0;
  for (const { nodes } of operatorDomains(model).values()) count += nodes;
  return count;
}

function checkDomains(model: OnnxModel, allowed: readonly string[], checks: CheckList): void {
  const allowedSet = new Set(allowed.map(normalizeDomain));
  const used = [...operatorDomains(model)].sort(([a], [b]) => (a < b ? -1 : 1));
  const describe = ([domain, use]: (typeof used)[number]) =>
    `${displayDomain(domain)}: ${use.nodes} node(s) (${[...use.opTypes].sort().join(', ')})`;
  const custom = used.filter(([domain]) => !STANDARD_DOMAINS.includes(domain));
  const refused = custom.filter(([domain]) => !allowedSet.has(domain));
  const details = used.map(describe);
  if (refused.length > 0) {
    checks.fail(
      'operators.domains',
      `Custom operator domain(s) not in allowed-domains: ${refused.map(describe).join('; ')}. ` +
        `Custom operators need a custom-op library loaded into the runtime; if the model is meant to use them, ` +
        `add ${refused.map(([d]) => `'${displayDomain(d)}'`).join(', ')} to allowed-domains.`,
      details,
    );
  } else if (custom.length > 0) {
    checks.pass(
      'operators.domains',
      `Standard domains plus allowed custom domain(s) ${custom.map(([d]) => displayDomain(d)).join(', ')}.`,
      details,
    );
  } else {
    checks.pass('operators.domains', `Standard ONNX domains only (${used.map(describe).join('; ') || 'no nodes'}).`);
  }
}

function tensorSignature(model: OnnxModel): Signature {
  const servable = (info: { elemType: number }) => datatypeFromOnnx(info.elemType) !== undefined;
  return signatureOf({
    ...model,
    graph: {
      ...model.graph,
      inputs: model.graph.inputs.filter(servable),
      outputs: model.graph.outputs.filter(servable),
    },
  });
}

/** Labels as exporters store them: a JSON array, or one per line, or comma-separated. */
export function parseLabels(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const text = value.trim();
  if (text.startsWith('[')) {
    try {
      const parsed = JSON.parse(text) as unknown;
      if (Array.isArray(parsed)) return parsed.map(String);
    } catch {
      // Not JSON after all: fall through to the separators.
    }
  }
  return (text.includes('\n') ? text.split('\n') : text.split(',')).map((label) => label.trim());
}
