/**
 * The structural rules of `onnx.checker` that matter before a model is loaded, run on a decoded model.
 * Each finding names the check it belongs to and the offending node, tensor or name, so a report can say
 * exactly what to fix. Nothing here reads files: external data has its own checks in external-data.ts.
 */
import { datatypeFromOnnx } from '../runtime/datatypes.js';
import { elemByteSize } from './decode.js';
import type { GraphInfo, NodeInfo, OnnxModel, TensorInfo } from './types.js';

export type StructureCheckId =
  | 'structure.ir-version'
  | 'structure.opset'
  | 'structure.graph'
  | 'structure.names-unique'
  | 'structure.topological-order'
  | 'structure.outputs-produced'
  | 'structure.raw-data';

export interface Finding<Id extends string = StructureCheckId> {
  check: Id;
  severity: 'fail' | 'warn';
  message: string;
}

/** What the runtime that will load the model accepts (see src/runtime/supported-versions.ts). */
export interface RuntimeSupport {
  version: string;
  maxIrVersion: number;
  /** Highest opset per domain; '' is the default ONNX domain. */
  maxOpset: Readonly<Record<string, number>>;
  minOpset: number;
}

/** Element types ONNX defines beyond the ones modelship serves (float8, int4, ...): their names only. */
const OTHER_ELEM_TYPES: Record<number, string> = {
  14: 'COMPLEX64',
  15: 'COMPLEX128',
  16: 'BFLOAT16',
  17: 'FLOAT8E4M3FN',
  18: 'FLOAT8E4M3FNUZ',
  19: 'FLOAT8E5M2',
  20: 'FLOAT8E5M2FNUZ',
  21: 'UINT4',
  22: 'INT4',
  23: 'FLOAT4E2M1',
};
export const elemTypeName = (elemType: number): string =>
  datatypeFromOnnx(elemType)?.onnxName ?? OTHER_ELEM_TYPES[elemType] ?? `type ${elemType}`;

/** Bytes per element for fixed-size element types; undefined for strings, sub-byte and unknown types. */
export const bytesPerElement = elemByteSize;

/** Element count of a tensor, or undefined when a dim is negative, fractional or the count is not a safe integer. */
export function elementCount(dims: readonly number[]): number | undefined {
  let count = 1;
  for (const dim of dims) {
    if (!Number.isSafeInteger(dim) || dim < 0) return undefined;
    count *= dim;
    if (!Number.isSafeInteger(count)) return undefined;
  }
  return count;
}

export const normalizeDomain = (domain: string): string => (domain === 'ai.onnx' ? '' : domain);
export const displayDomain = (domain: string): string => (domain === '' ? 'ai.onnx' : domain);

export const describeNode = (node: NodeInfo, index: number): string =>
  `node ${node.name ? `'${node.name}'` : `#${index}`} (${node.domain ? `${node.domain}::` : ''}${node.opType || '?'})`;

/** A graph and the path that leads to it, for messages about subgraphs (`graph 'main' > node 'loop' > body`). */
interface ScopedGraph {
  graph: GraphInfo;
  where: string;
}

/** Every graph attribute of a node: the bodies of If, Loop and Scan. */
function subgraphsOf(node: NodeInfo): Array<{ attribute: string; graph: GraphInfo }> {
  const found: Array<{ attribute: string; graph: GraphInfo }> = [];
  for (const [attribute, value] of Object.entries(node.attributes)) {
    if (value.type === 'graph') found.push({ attribute, graph: value.value });
  }
  return found;
}

/** Every tensor a graph carries: initializers and tensor-valued attributes (Constant), subgraphs included. */
export function* allTensors(graph: GraphInfo, where = 'graph'): Generator<{ tensor: TensorInfo; where: string }> {
  for (const tensor of graph.initializers) yield { tensor, where: `${where} initializer` };
  for (const [index, node] of graph.nodes.entries()) {
    for (const [attribute, value] of Object.entries(node.attributes)) {
      if (value.type === 'tensor') {
        yield { tensor: value.value, where: `${where} ${describeNode(node, index)} attribute '${attribute}'` };
      }
    }
    for (const sub of subgraphsOf(node)) {
      yield* allTensors(sub.graph, `${where} > ${describeNode(node, index)} ${sub.attribute}`);
    }
  }
}

/** Every node of the model, subgraphs included. */
export function* allNodes(
  graph: GraphInfo,
  where = 'graph',
): Generator<{ node: NodeInfo; index: number; where: string }> {
  for (const [index, node] of graph.nodes.entries()) {
    yield { node, index, where };
    for (const sub of subgraphsOf(node)) {
      yield* allNodes(sub.graph, `${where} > ${describeNode(node, index)} ${sub.attribute}`);
    }
  }
}

export function checkStructure(model: OnnxModel, runtime: RuntimeSupport): Finding[] {
  const findings: Finding[] = [];
  const fail = (check: StructureCheckId, message: string) => findings.push({ check, severity: 'fail', message });
  const warn = (check: StructureCheckId, message: string) => findings.push({ check, severity: 'warn', message });

  checkIrVersion(model, runtime, fail, warn);
  checkOpsets(model, runtime, fail, warn);
  checkGraphDeclarations(model.graph, fail, warn);
  checkNamesAndOrder({ graph: model.graph, where: `graph '${model.graph.name}'` }, new Set(), fail, true);
  checkTensorData(model.graph, fail);
  return findings;
}

type Report = (check: StructureCheckId, message: string) => void;

function checkIrVersion(model: OnnxModel, runtime: RuntimeSupport, fail: Report, warn: Report): void {
  const ir = model.irVersion;
  if (!Number.isSafeInteger(ir) || ir <= 0) {
    fail('structure.ir-version', `ir_version is not set (${ir}). Re-export the model: every ONNX exporter stamps it.`);
  } else if (ir > runtime.maxIrVersion) {
    fail(
      'structure.ir-version',
      `ir_version ${ir} is newer than the bundled onnxruntime ${runtime.version} loads (up to ${runtime.maxIrVersion}). ` +
        `Re-export with an older onnx package, or convert with onnx.version_converter.`,
    );
  } else if (ir < 3) {
    warn('structure.ir-version', `ir_version ${ir} predates ONNX 1.0; re-export the model with a current exporter.`);
  }
}

function checkOpsets(model: OnnxModel, runtime: RuntimeSupport, fail: Report, warn: Report): void {
  const imported = new Map<string, number>();
  if (model.opsetImports.length === 0 && model.irVersion >= 3) {
    fail('structure.opset', 'The model imports no opset (opset_import is empty). Re-export it with an explicit opset.');
  }
  for (const { domain, version } of model.opsetImports) {
    const key = normalizeDomain(domain);
    if (imported.has(key)) {
      fail('structure.opset', `Domain '${displayDomain(key)}' is imported twice in opset_import; keep one entry.`);
      continue;
    }
    imported.set(key, version);
    if (!Number.isSafeInteger(version) || version <= 0) {
      fail('structure.opset', `Domain '${displayDomain(key)}' is imported with opset ${version}; opsets start at 1.`);
      continue;
    }
    const max = runtime.maxOpset[key];
    if (max !== undefined && version > max) {
      fail(
        'structure.opset',
        `Opset ${version} of '${displayDomain(key)}' is newer than the bundled onnxruntime ${runtime.version} supports ` +
          `(up to ${max}). Export with opset ${max} or lower.`,
      );
    } else if (key === '' && version < runtime.minOpset) {
      warn(
        'structure.opset',
        `Opset ${version} of 'ai.onnx' is older than ${runtime.minOpset}; onnxruntime only loads it with legacy support. ` +
          `Convert it with onnx.version_converter.`,
      );
    }
  }
  // Models older than IR 3 had no opset_import; there is nothing to hold their nodes against.
  if (model.opsetImports.length === 0) return;
  const reported = new Set<string>();
  for (const { node, index, where } of allNodes(model.graph, `graph '${model.graph.name}'`)) {
    const domain = normalizeDomain(node.domain);
    if (imported.has(domain) || reported.has(domain)) continue;
    reported.add(domain);
    fail(
      'structure.opset',
      `${where} ${describeNode(node, index)} uses domain '${displayDomain(domain)}', which opset_import does not import. ` +
        `Add the domain to opset_import when exporting.`,
    );
  }
}

function checkGraphDeclarations(graph: GraphInfo, fail: Report, warn: Report): void {
  if (!graph.name) warn('structure.graph', 'The graph has no name; onnx.checker requires one. Name it when exporting.');
  if (graph.outputs.length === 0) fail('structure.graph', 'The graph declares no outputs: nothing can be served.');
  for (const [kind, values] of [
    ['input', graph.inputs],
    ['output', graph.outputs],
  ] as const) {
    for (const [index, value] of values.entries()) {
      if (!value.name) {
        fail('structure.graph', `Graph ${kind} #${index} has no name; every ${kind} needs one to be fed or fetched.`);
        continue;
      }
      if (value.elemType === 0) {
        warn(
          'structure.graph',
          `Graph ${kind} '${value.name}' has no tensor type (a sequence, a map or a missing type); ` +
            `modelship can neither check nor serve it.`,
        );
      } else if (!datatypeFromOnnx(value.elemType)) {
        warn(
          'structure.graph',
          `Graph ${kind} '${value.name}' is ${elemTypeName(value.elemType)}, which the Open Inference Protocol cannot carry.`,
        );
      }
    }
  }
  for (const { node, index, where } of allNodes(graph, `graph '${graph.name}'`)) {
    if (!node.opType) fail('structure.graph', `${where} ${describeNode(node, index)} has no op_type.`);
  }
}

/**
 * Single static assignment, topological order and produced outputs, in one walk (the same scope serves all
 * three). `outer` holds the names visible from enclosing graphs.
 */
function checkNamesAndOrder(scoped: ScopedGraph, outer: ReadonlySet<string>, fail: Report, isMain: boolean): void {
  const { graph, where } = scoped;
  const duplicates = (names: string[], what: string) => {
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name)) fail('structure.names-unique', `${where}: ${what} '${name}' is declared more than once.`);
      seen.add(name);
    }
  };
  duplicates(graph.inputs.map((v) => v.name).filter(Boolean), 'input');
  duplicates(graph.outputs.map((v) => v.name).filter(Boolean), 'output');
  duplicates(
    graph.initializers.map((t) => t.name),
    'initializer',
  );

  // Producer of every name defined in this graph: an input, an initializer or a node output.
  const producer = new Map<string, string>();
  for (const value of graph.inputs) if (value.name) producer.set(value.name, `input '${value.name}'`);
  for (const tensor of graph.initializers) if (!producer.has(tensor.name)) producer.set(tensor.name, 'an initializer');
  for (const name of producer.keys()) {
    if (outer.has(name) && !isMain) {
      fail(
        'structure.names-unique',
        `${where}: '${name}' shadows a value of an enclosing graph; names must be unique.`,
      );
    }
  }
  // Where each node output is produced, to tell "defined later" from "never defined".
  const laterProducer = new Map<string, number>();
  for (const [index, node] of graph.nodes.entries()) {
    for (const output of node.outputs) if (output && !laterProducer.has(output)) laterProducer.set(output, index);
  }

  const visible = new Set<string>([...outer, ...producer.keys()]);
  for (const [index, node] of graph.nodes.entries()) {
    const label = describeNode(node, index);
    for (const input of node.inputs) {
      if (!input || visible.has(input)) continue;
      const later = laterProducer.get(input);
      if (later !== undefined && later >= index) {
        fail(
          'structure.topological-order',
          `${where}: ${label} reads '${input}' before ${describeNode(graph.nodes[later], later)} produces it; ` +
            `nodes must be topologically sorted. Re-export, or sort the graph (onnx.utils / onnxruntime optimizer).`,
        );
      } else {
        fail(
          'structure.topological-order',
          `${where}: ${label} reads '${input}', which no input, initializer or node defines.`,
        );
      }
    }
    for (const sub of subgraphsOf(node)) {
      checkNamesAndOrder({ graph: sub.graph, where: `${where} > ${label} ${sub.attribute}` }, visible, fail, false);
    }
    for (const output of node.outputs) {
      if (!output) continue;
      const previous = producer.get(output);
      if (previous !== undefined) {
        fail(
          'structure.names-unique',
          `${where}: '${output}' is defined by ${previous} and again by ${label}; every value must have one producer (SSA).`,
        );
      } else if (outer.has(output) && !isMain) {
        fail('structure.names-unique', `${where}: ${label} output '${output}' shadows a value of an enclosing graph.`);
      }
      producer.set(output, label);
      visible.add(output);
    }
  }

  for (const output of graph.outputs) {
    if (!output.name || producer.has(output.name) || (!isMain && outer.has(output.name))) continue;
    fail(
      'structure.outputs-produced',
      `${where}: output '${output.name}' is declared but no node, input or initializer produces it.`,
    );
  }
}

function checkTensorData(graph: GraphInfo, fail: Report): void {
  for (const { tensor, where } of allTensors(graph, `graph '${graph.name}'`)) {
    const label = `${where} '${tensor.name}'`;
    const count = elementCount(tensor.dims);
    if (count === undefined) {
      fail('structure.raw-data', `${label} has invalid dims [${tensor.dims.join(', ')}].`);
      continue;
    }
    if (tensor.storage === 'external') continue;
    const size = bytesPerElement(tensor.elemType);
    if (tensor.storage === 'empty') {
      if (count > 0) {
        fail(
          'structure.raw-data',
          `${label} declares ${count} ${elemTypeName(tensor.elemType)} elements [${tensor.dims.join(', ')}] but carries no data.`,
        );
      }
      continue;
    }
    if (size === undefined) continue;
    const expected = count * size;
    if (tensor.storage === 'typed') {
      if (tensor.byteSize !== expected) {
        fail(
          'structure.raw-data',
          `${label} declares dims [${tensor.dims.join(', ')}] = ${count} values of ${elemTypeName(tensor.elemType)}, ` +
            `but holds ${tensor.byteSize / size}. Re-export the model.`,
        );
      }
      continue;
    }
    const actual = tensor.rawData?.byteLength ?? tensor.byteSize;
    if (actual !== expected) {
      fail(
        'structure.raw-data',
        `${label} declares dims [${tensor.dims.join(', ')}] of ${elemTypeName(tensor.elemType)} = ${expected} bytes, ` +
          `but raw_data holds ${actual}. The file is truncated or was written by a broken exporter; re-export it.`,
      );
    }
  }
}

/** Node count per domain and the operator types used in each, subgraphs included. */
export function operatorDomains(model: OnnxModel): Map<string, { nodes: number; opTypes: Set<string> }> {
  const domains = new Map<string, { nodes: number; opTypes: Set<string> }>();
  for (const { node } of allNodes(model.graph)) {
    const domain = normalizeDomain(node.domain);
    const entry = domains.get(domain) ?? { nodes: 0, opTypes: new Set<string>() };
    entry.nodes++;
    entry.opTypes.add(node.opType);
    domains.set(domain, entry);
  }
  return domains;
}
