/**
 * Triton's model configuration, the fields that matter for serving ONNX models: name, platform,
 * max_batch_size, input, output, version_policy, dynamic_batching, default_model_filename. Read from
 * config.pbtxt or from Triton's JSON form; every other ModelConfig field Triton knows is accepted and
 * ignored, a field Triton does not know is refused as Triton would.
 */
import { ModelshipError } from '../errors.js';
import type { OipDatatype } from '../runtime/datatypes.js';
import { datatypeFromOip } from '../runtime/datatypes.js';
import type { TensorSignature } from '../runtime/tensor.js';
import { formatPbtxt, parsePbtxt, pbFromJson, PbtxtSyntaxError, type PbMessage, type PbValue } from './pbtxt.js';

export const ONNX_PLATFORM = 'onnxruntime_onnx';
export const ONNX_BACKEND = 'onnxruntime';

export type VersionPolicy =
  { kind: 'latest'; numVersions: number } | { kind: 'all' } | { kind: 'specific'; versions: number[] };

export interface TensorConfig {
  name: string;
  datatype: OipDatatype;
  /** Without the batch dimension when max_batch_size > 0, as in Triton. -1 is variable. */
  dims: number[];
  optional: boolean;
}

export interface ModelConfig {
  name: string;
  platform: typeof ONNX_PLATFORM;
  maxBatchSize: number;
  /** Empty when the config does not list them: they are then taken from the model. */
  inputs: TensorConfig[];
  outputs: TensorConfig[];
  versionPolicy: VersionPolicy;
  dynamicBatching?: { maxQueueDelayMicroseconds: number; preferredBatchSize: number[] };
  defaultModelFilename: string;
}

// Every field of Triton's ModelConfig message (model_config.proto); the ones not read here are accepted.
const KNOWN_FIELDS = new Set([
  'name',
  'platform',
  'backend',
  'runtime',
  'version_policy',
  'max_batch_size',
  'input',
  'output',
  'batch_input',
  'batch_output',
  'optimization',
  'dynamic_batching',
  'sequence_batching',
  'ensemble_scheduling',
  'instance_group',
  'default_model_filename',
  'cc_model_filenames',
  'metric_tags',
  'parameters',
  'model_warmup',
  'model_operations',
  'model_transaction_policy',
  'model_repository_agents',
  'response_cache',
]);
const TENSOR_FIELDS = new Set([
  'name',
  'data_type',
  'format',
  'dims',
  'reshape',
  'is_shape_tensor',
  'allow_ragged_batch',
  'optional',
  'label_filename',
  'is_non_linear_format_io',
]);
const BATCHING_FIELDS = new Set([
  'preferred_batch_size',
  'max_queue_delay_microseconds',
  'preserve_ordering',
  'priority_levels',
  'default_priority_level',
  'default_queue_policy',
  'priority_queue_policy',
]);

/** Enum-valued fields, written as bare identifiers in pbtxt. */
export const CONFIG_ENUM_FIELDS: ReadonlySet<string> = new Set(['data_type', 'format', 'kind', 'timeout_action']);

export function tritonDatatype(datatype: OipDatatype): string {
  return datatype === 'BYTES' ? 'TYPE_STRING' : `TYPE_${datatype}`;
}

function oipFromTriton(name: string): OipDatatype | undefined {
  if (name === 'TYPE_STRING') return 'BYTES';
  if (!name.startsWith('TYPE_')) return undefined;
  const row = datatypeFromOip(name.slice(5));
  return row && row.oip !== 'BYTES' ? row.oip : undefined;
}

interface Source {
  file: string;
}

class Reader {
  constructor(readonly source: Source) {}

  error(message: string, line?: number, hint?: string): ModelshipError {
    return new ModelshipError('MODEL_CONFIG_INVALID', `${this.source.file}: ${message}`, hint, {
      file: this.source.file,
      line: line || undefined,
    });
  }

  one(message: PbMessage, field: string): PbValue | undefined {
    const values = message.fields.get(field);
    if (!values || values.length === 0) return undefined;
    if (values.length > 1) throw this.error(`'${field}' is given ${values.length} times`, values[1].line);
    return values[0];
  }

  string(message: PbMessage, field: string): string | undefined {
    const value = this.one(message, field);
    if (value === undefined) return undefined;
    if (value.kind !== 'string') throw this.error(`'${field}' must be a string`, value.line);
    return value.value;
  }

  integer(value: PbValue, field: string): number {
    if (value.kind === 'number' && Number.isSafeInteger(value.value)) return value.value;
    // Protobuf's JSON mapping writes 64-bit integers as strings.
    if (value.kind === 'string' && /^-?\d+$/.test(value.value) && Number.isSafeInteger(Number(value.value))) {
      return Number(value.value);
    }
    throw this.error(`'${field}' must be an integer`, value.line);
  }

  optionalInteger(message: PbMessage, field: string): number | undefined {
    const value = this.one(message, field);
    return value === undefined ? undefined : this.integer(value, field);
  }

  integers(message: PbMessage, field: string): number[] {
    return (message.fields.get(field) ?? []).map((v) => this.integer(v, field));
  }

  boolean(message: PbMessage, field: string): boolean {
    const value = this.one(message, field);
    if (value === undefined) return false;
    if (value.kind === 'ident' && (value.value === 'true' || value.value === 'false')) return value.value === 'true';
    if (value.kind === 'number' && (value.value === 0 || value.value === 1)) return value.value === 1;
    throw this.error(`'${field}' must be true or false`, value.line);
  }

  enumName(message: PbMessage, field: string): { name: string; line: number } | undefined {
    const value = this.one(message, field);
    if (value === undefined) return undefined;
    if (value.kind === 'ident' || value.kind === 'string') return { name: value.value, line: value.line };
    throw this.error(`'${field}' must be an enum name such as TYPE_FP32`, value.line);
  }

  message(value: PbValue, field: string): PbMessage {
    if (value.kind !== 'message') throw this.error(`'${field}' must be a message ({ ... })`, value.line);
    return value;
  }

  checkFields(message: PbMessage, known: Set<string>, where: string): void {
    for (const [field, values] of message.fields) {
      if (!known.has(field)) {
        throw this.error(
          `unknown field '${field}' in ${where}`,
          values[0]?.line ?? message.line,
          `Known fields: ${[...known].join(', ')}.`,
        );
      }
    }
  }
}

/** Reads config.pbtxt text. `modelName` is the model's folder name, which the config's name must match. */
export function parseModelConfigText(text: string, modelName: string, file = 'config.pbtxt'): ModelConfig {
  let tree: PbMessage;
  try {
    tree = parsePbtxt(text);
  } catch (error) {
    if (error instanceof PbtxtSyntaxError) {
      throw new ModelshipError(
        'MODEL_CONFIG_INVALID',
        `${file}:${error.line}:${error.column}: ${error.message}`,
        'config.pbtxt is protocol buffer text format, as Triton reads it.',
        {
          file,
          line: error.line,
          column: error.column,
        },
      );
    }
    throw error;
  }
  return readModelConfig(tree, modelName, { file });
}

/** Reads Triton's JSON form of a config, given as a JSON string (as in a load request's `config` parameter). */
export function parseModelConfigJson(json: string, modelName: string): ModelConfig {
  return readModelConfig(modelConfigTreeFromJson(json), modelName, { file: 'config' });
}

export function modelConfigTreeFromJson(json: string): PbMessage {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new ModelshipError(
      'MODEL_CONFIG_INVALID',
      `config is not valid JSON: ${(error as Error).message}`,
      "Give the model config in Triton's JSON form.",
    );
  }
  try {
    return pbFromJson(value);
  } catch (error) {
    throw new ModelshipError(
      'MODEL_CONFIG_INVALID',
      `config: ${(error as Error).message}`,
      "Give the model config in Triton's JSON form.",
    );
  }
}

/** The pbtxt text for a config given in JSON form, keeping every field it holds. */
export function configJsonToPbtxt(json: string): string {
  return formatPbtxt(modelConfigTreeFromJson(json), CONFIG_ENUM_FIELDS) + '\n';
}

export function readModelConfig(tree: PbMessage, modelName: string, source: Source): ModelConfig {
  const r = new Reader(source);
  r.checkFields(tree, KNOWN_FIELDS, 'the model config');

  const name = r.string(tree, 'name');
  if (name !== undefined && name !== '' && name !== modelName) {
    throw r.error(
      `name '${name}' does not match the model folder '${modelName}'`,
      r.one(tree, 'name')?.line,
      `Set name: "${modelName}" or rename the folder.`,
    );
  }
  const platform = r.string(tree, 'platform');
  const backend = r.string(tree, 'backend');
  if ((platform && platform !== ONNX_PLATFORM) || (backend && backend !== ONNX_BACKEND)) {
    const what = platform && platform !== ONNX_PLATFORM ? `platform '${platform}'` : `backend '${backend}'`;
    throw r.error(
      `${what} is not served here`,
      r.one(tree, platform && platform !== ONNX_PLATFORM ? 'platform' : 'backend')?.line,
      `modelship serves ONNX models: platform: "${ONNX_PLATFORM}" (or backend: "${ONNX_BACKEND}").`,
    );
  }
  for (const unsupported of ['sequence_batching', 'ensemble_scheduling', 'batch_input', 'batch_output']) {
    const value = tree.fields.get(unsupported);
    if (value && value.length > 0)
      throw r.error(
        `'${unsupported}' is not supported`,
        value[0].line,
        'Remove it: modelship serves stateless ONNX models.',
      );
  }

  const maxBatchSize = r.optionalInteger(tree, 'max_batch_size') ?? 0;
  if (maxBatchSize < 0) throw r.error('max_batch_size must be 0 or more', r.one(tree, 'max_batch_size')?.line);

  const tensors = (field: 'input' | 'output'): TensorConfig[] => {
    const seen = new Set<string>();
    return (tree.fields.get(field) ?? []).map((value) => {
      const m = r.message(value, field);
      r.checkFields(m, TENSOR_FIELDS, `an ${field}`);
      const tensorName = r.string(m, 'name');
      if (!tensorName) throw r.error(`an ${field} has no name`, m.line);
      if (seen.has(tensorName)) throw r.error(`${field} '${tensorName}' is listed twice`, m.line);
      seen.add(tensorName);
      const type = r.enumName(m, 'data_type');
      if (!type) throw r.error(`${field} '${tensorName}' has no data_type`, m.line, 'Add e.g. data_type: TYPE_FP32.');
      const datatype = oipFromTriton(type.name);
      if (!datatype)
        throw r.error(
          `${field} '${tensorName}' has data_type ${type.name}, which is not supported`,
          type.line,
          'Use one of TYPE_BOOL, TYPE_UINT8..TYPE_UINT64, TYPE_INT8..TYPE_INT64, TYPE_FP16, TYPE_FP32, TYPE_FP64, TYPE_STRING.',
        );
      if (!m.fields.has('dims'))
        throw r.error(
          `${field} '${tensorName}' has no dims`,
          m.line,
          'Add e.g. dims: [ 4 ] (without the batch dimension when max_batch_size > 0).',
        );
      const dims = r.integers(m, 'dims');
      for (const d of dims)
        if (d < -1)
          throw r.error(`${field} '${tensorName}' has dimension ${d}; use -1 for a variable dimension`, m.line);
      if (m.fields.has('reshape')) throw r.error(`${field} '${tensorName}': reshape is not supported`, m.line);
      if (r.boolean(m, 'is_shape_tensor'))
        throw r.error(`${field} '${tensorName}': shape tensors are not supported`, m.line);
      return { name: tensorName, datatype, dims, optional: r.boolean(m, 'optional') };
    });
  };

  const versionPolicy = readVersionPolicy(r, tree);

  let dynamicBatching: ModelConfig['dynamicBatching'];
  const batching = r.one(tree, 'dynamic_batching');
  if (batching !== undefined) {
    const m = r.message(batching, 'dynamic_batching');
    r.checkFields(m, BATCHING_FIELDS, 'dynamic_batching');
    const delay = r.optionalInteger(m, 'max_queue_delay_microseconds') ?? 0;
    if (delay < 0) throw r.error('max_queue_delay_microseconds must be 0 or more', m.line);
    const preferred = r.integers(m, 'preferred_batch_size');
    for (const p of preferred) {
      if (p < 1 || (maxBatchSize > 0 && p > maxBatchSize))
        throw r.error(`preferred_batch_size ${p} must be between 1 and max_batch_size ${maxBatchSize}`, m.line);
    }
    if (maxBatchSize === 0)
      throw r.error(
        'dynamic_batching needs max_batch_size > 0',
        m.line,
        'Set max_batch_size, e.g. max_batch_size: 32.',
      );
    dynamicBatching = { maxQueueDelayMicroseconds: delay, preferredBatchSize: preferred };
  }

  const filename = r.string(tree, 'default_model_filename') ?? 'model.onnx';
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(filename)) {
    throw r.error(
      `default_model_filename '${filename}' must be a plain file name`,
      r.one(tree, 'default_model_filename')?.line,
    );
  }

  return {
    name: modelName,
    platform: ONNX_PLATFORM,
    maxBatchSize,
    inputs: tensors('input'),
    outputs: tensors('output'),
    versionPolicy,
    dynamicBatching,
    defaultModelFilename: filename,
  };
}

function readVersionPolicy(r: Reader, tree: PbMessage): VersionPolicy {
  const value = r.one(tree, 'version_policy');
  if (value === undefined) return { kind: 'latest', numVersions: 1 };
  const m = r.message(value, 'version_policy');
  const kinds = [...m.fields.keys()];
  if (kinds.length !== 1 || !['latest', 'all', 'specific'].includes(kinds[0])) {
    throw r.error(
      'version_policy must hold exactly one of latest, all, specific',
      m.line,
      'e.g. version_policy: { latest: { num_versions: 2 } }',
    );
  }
  const inner = r.message(r.one(m, kinds[0])!, kinds[0]);
  if (kinds[0] === 'all') {
    r.checkFields(inner, new Set(), 'version_policy.all');
    return { kind: 'all' };
  }
  if (kinds[0] === 'latest') {
    r.checkFields(inner, new Set(['num_versions']), 'version_policy.latest');
    const n = r.optionalInteger(inner, 'num_versions');
    if (n === undefined || n < 1) throw r.error('version_policy latest needs num_versions of 1 or more', inner.line);
    return { kind: 'latest', numVersions: n };
  }
  r.checkFields(inner, new Set(['versions']), 'version_policy.specific');
  const versions = r.integers(inner, 'versions');
  if (versions.length === 0) throw r.error('version_policy specific lists no versions', inner.line);
  for (const v of versions)
    if (v < 1) throw r.error(`version ${v} in version_policy is not a positive integer`, inner.line);
  return { kind: 'specific', versions: [...new Set(versions)].sort((a, b) => a - b) };
}

/** The versions a policy selects among those present, ascending. Versions named but absent are returned in `missing`. */
export function versionsInPolicy(policy: VersionPolicy, present: number[]): { versions: number[]; missing: number[] } {
  const sorted = [...present].sort((a, b) => a - b);
  if (policy.kind === 'all') return { versions: sorted, missing: [] };
  if (policy.kind === 'latest')
    return { versions: sorted.slice(Math.max(0, sorted.length - policy.numVersions)), missing: [] };
  const have = new Set(sorted);
  return { versions: policy.versions.filter((v) => have.has(v)), missing: policy.versions.filter((v) => !have.has(v)) };
}

/** A config for a model folder without config.pbtxt: everything from the model, as Triton's auto-complete does. */
export function defaultModelConfig(modelName: string): ModelConfig {
  return {
    name: modelName,
    platform: ONNX_PLATFORM,
    maxBatchSize: 0,
    inputs: [],
    outputs: [],
    versionPolicy: { kind: 'latest', numVersions: 1 },
    defaultModelFilename: 'model.onnx',
  };
}

/** The signature requests are checked against: the model's, narrowed by what the config says. */
export interface ServedSignature {
  inputs: Array<TensorSignature & { shape: number[]; optional: boolean }>;
  outputs: Array<TensorSignature & { shape: number[] }>;
}

const variable = (d: number | string) => (typeof d === 'number' && d >= 0 ? d : -1);

/**
 * Checks a config against the model's own signature and merges them; throws the reason a mismatch would
 * keep Triton from loading the model.
 */
export function reconcileSignature(
  config: ModelConfig,
  model: { inputs: TensorSignature[]; outputs: TensorSignature[] },
  file: string,
): ServedSignature {
  const fail = (message: string, hint?: string) =>
    new ModelshipError('MODEL_CONFIG_MISMATCH', `${config.name}: ${message}`, hint, { file });
  const batched = config.maxBatchSize > 0;
  const merge = (kind: 'input' | 'output', listed: TensorConfig[], actual: TensorSignature[]) => {
    const byName = new Map(actual.map((t) => [t.name, t]));
    const result: Array<TensorSignature & { shape: number[]; optional: boolean }> = [];
    if (listed.length === 0) {
      for (const t of actual) {
        const shape = t.shape.map(variable);
        if (batched && (shape.length === 0 || shape[0] !== -1)) {
          throw fail(
            `max_batch_size ${config.maxBatchSize} needs a variable first dimension, but the model's ${kind} '${t.name}' has shape [${t.shape.join(', ')}]`,
            'Set max_batch_size: 0 or export the model with a dynamic batch dimension.',
          );
        }
        result.push({ name: t.name, datatype: t.datatype, shape, optional: false });
      }
      return result;
    }
    for (const c of listed) {
      const t = byName.get(c.name);
      if (!t)
        throw fail(
          `config ${kind} '${c.name}' is not an ${kind} of the model (the model's ${kind}s: ${actual.map((a) => a.name).join(', ')})`,
        );
      if (t.datatype !== c.datatype)
        throw fail(
          `config ${kind} '${c.name}' is ${tritonDatatype(c.datatype)} but the model's is ${tritonDatatype(t.datatype)}`,
        );
      const full = batched ? [-1, ...c.dims] : c.dims;
      const modelShape = t.shape.map(variable);
      if (modelShape.length !== full.length) {
        throw fail(
          `config ${kind} '${c.name}' has ${batched ? 'dims' : 'shape'} [${c.dims.join(', ')}]${batched ? ' plus the batch dimension' : ''}, but the model's shape is [${t.shape.join(', ')}]`,
          batched ? 'With max_batch_size > 0, dims leave out the batch dimension.' : undefined,
        );
      }
      if (batched && modelShape[0] !== -1) {
        throw fail(
          `max_batch_size ${config.maxBatchSize} needs a variable first dimension, but the model's ${kind} '${c.name}' has shape [${t.shape.join(', ')}]`,
          'Set max_batch_size: 0 or export the model with a dynamic batch dimension.',
        );
      }
      const shape = full.map((d, i) => {
        const m = modelShape[i];
        if (d >= 0 && m >= 0 && d !== m)
          throw fail(
            `config ${kind} '${c.name}' has dimension ${i} = ${d} but the model's is ${m} (model shape [${t.shape.join(', ')}])`,
          );
        return d >= 0 ? d : m;
      });
      result.push({ name: c.name, datatype: c.datatype, shape, optional: c.optional });
    }
    return result;
  };
  const inputs = merge('input', config.inputs, model.inputs);
  if (config.inputs.length > 0) {
    const listed = new Set(config.inputs.map((c) => c.name));
    const left = model.inputs.filter((t) => !listed.has(t.name));
    if (left.length > 0)
      throw fail(
        `the model has input${left.length > 1 ? 's' : ''} ${left.map((t) => `'${t.name}'`).join(', ')} that the config does not list`,
      );
  }
  const outputs = merge('output', config.outputs, model.outputs).map(({ optional: _optional, ...rest }) => rest);
  return { inputs, outputs };
}

/** Triton's JSON form of a config, as `GET /v2/models/{m}/config` returns it. */
export function modelConfigJson(config: ModelConfig, signature?: ServedSignature): Record<string, unknown> {
  const batched = config.maxBatchSize > 0;
  const tensor = (t: { name: string; datatype: OipDatatype; shape: number[]; optional?: boolean }) => ({
    name: t.name,
    data_type: tritonDatatype(t.datatype),
    dims: batched ? t.shape.slice(1) : t.shape,
    ...(t.optional ? { optional: true } : {}),
  });
  const listed = (t: TensorConfig) => ({
    name: t.name,
    datatype: t.datatype,
    shape: batched ? [-1, ...t.dims] : t.dims,
    optional: t.optional,
  });
  const policy =
    config.versionPolicy.kind === 'all'
      ? { all: {} }
      : config.versionPolicy.kind === 'latest'
        ? { latest: { num_versions: config.versionPolicy.numVersions } }
        : { specific: { versions: config.versionPolicy.versions } };
  return {
    name: config.name,
    platform: config.platform,
    backend: ONNX_BACKEND,
    version_policy: policy,
    max_batch_size: config.maxBatchSize,
    input: (signature?.inputs ?? config.inputs.map(listed)).map(tensor),
    output: (signature?.outputs ?? config.outputs.map(listed)).map(tensor),
    ...(config.dynamicBatching
      ? {
          dynamic_batching: {
            preferred_batch_size: config.dynamicBatching.preferredBatchSize,
            max_queue_delay_microseconds: config.dynamicBatching.maxQueueDelayMicroseconds,
          },
        }
      : {}),
    default_model_filename: config.defaultModelFilename,
  };
}

/**
 * What a loaded version depends on in its config: a reload whose config differs in these reopens the version.
 * The version policy is left out: it decides which versions serve, not how one does.
 */
export function configFingerprint(config: ModelConfig): string {
  const { versionPolicy: _policy, ...rest } = config;
  return JSON.stringify(rest);
}
