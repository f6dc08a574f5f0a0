import { describe, expect, test } from 'vitest';
import { checkStructure, elementCount, operatorDomains, type Finding } from '../../src/onnx/checks.js';
import { decodeModel } from '../../src/onnx/decode.js';
import { encodeModel, type GraphSpec, type ModelSpec } from '../../src/onnx/encode.js';
import { ElemType, type OnnxModel } from '../../src/onnx/types.js';
import { BUNDLED_RUNTIME } from '../../src/runtime/supported-versions.js';
import { addModel, identityModel } from '../support/onnx-models.js';

const decode = (spec: ModelSpec): OnnxModel => decodeModel(encodeModel(spec));
const findingsOf = (spec: ModelSpec | OnnxModel): Finding[] =>
  checkStructure(isDecoded(spec) ? spec : decode(spec), BUNDLED_RUNTIME);
const isDecoded = (spec: ModelSpec | OnnxModel): spec is OnnxModel =>
  'metadataProps' in spec && 'valueInfo' in spec.graph;
const only = (findings: Finding[], check: string) => findings.filter((f) => f.check === check);

const withGraph = (graph: Partial<GraphSpec>, base: ModelSpec = addModel()): ModelSpec => ({
  ...base,
  graph: { ...base.graph, ...graph },
});

const F = ElemType.FLOAT;

describe('checkStructure', () => {
  test('a sound model has no findings', () => {
    expect(findingsOf(addModel())).toEqual([]);
    expect(findingsOf(identityModel({ dtype: 'INT64', shape: ['n'] }))).toEqual([]);
  });

  test('ir_version unset, too new, or ancient', () => {
    expect(only(findingsOf({ ...addModel(), irVersion: 0 }), 'structure.ir-version')[0]).toMatchObject({
      severity: 'fail',
      message: expect.stringContaining('not set'),
    });
    const tooNew = only(
      findingsOf({ ...addModel(), irVersion: BUNDLED_RUNTIME.maxIrVersion + 1 }),
      'structure.ir-version',
    );
    expect(tooNew).toHaveLength(1);
    expect(tooNew[0].message).toContain(`up to ${BUNDLED_RUNTIME.maxIrVersion}`);
    expect(
      only(findingsOf({ ...addModel(), irVersion: BUNDLED_RUNTIME.maxIrVersion }), 'structure.ir-version'),
    ).toEqual([]);
    expect(
      only(findingsOf({ ...addModel(), irVersion: 2, opsetImports: [] }), 'structure.ir-version')[0].severity,
    ).toBe('warn');
  });

  test('opset imports: missing, duplicated, too new, too old, node domain not imported', () => {
    const none = only(findingsOf({ ...addModel(), opsetImports: [] }), 'structure.opset');
    expect(none.map((f) => f.message).join()).toContain('imports no opset');

    const twice = only(
      findingsOf({
        ...addModel(),
        opsetImports: [
          { domain: '', version: 17 },
          { domain: 'ai.onnx', version: 17 },
        ],
      }),
      'structure.opset',
    );
    expect(twice[0].message).toContain("'ai.onnx' is imported twice");

    const max = BUNDLED_RUNTIME.maxOpset[''];
    const tooNew = only(
      findingsOf({ ...addModel(), opsetImports: [{ domain: '', version: max + 1 }] }),
      'structure.opset',
    );
    expect(tooNew[0]).toMatchObject({ severity: 'fail', message: expect.stringContaining(`Export with opset ${max}`) });
    expect(
      only(findingsOf({ ...addModel(), opsetImports: [{ domain: '', version: max }] }), 'structure.opset'),
    ).toEqual([]);

    const old = only(findingsOf({ ...addModel(), opsetImports: [{ domain: '', version: 6 }] }), 'structure.opset');
    expect(old[0].severity).toBe('warn');

    const foreign = withGraph({
      nodes: [{ opType: 'Secret', domain: 'com.example', inputs: ['X'], outputs: ['Y'], name: 'secret' }],
      initializers: [],
    });
    const notImported = only(findingsOf(foreign), 'structure.opset');
    expect(notImported).toHaveLength(1);
    expect(notImported[0].message).toContain("node 'secret' (com.example::Secret) uses domain 'com.example'");
    expect(
      only(
        findingsOf({
          ...foreign,
          opsetImports: [
            { domain: '', version: 17 },
            { domain: 'com.example', version: 1 },
          ],
        }),
        'structure.opset',
      ),
    ).toEqual([]);
  });

  test('graph declarations: name, outputs, untyped values', () => {
    const unnamed = findingsOf(withGraph({ name: '' }));
    expect(only(unnamed, 'structure.graph')[0]).toMatchObject({ severity: 'warn' });

    const noOutputs = decode(addModel());
    noOutputs.graph.outputs = [];
    expect(only(findingsOf(noOutputs), 'structure.graph').some((f) => f.severity === 'fail')).toBe(true);

    const untyped = findingsOf(withGraph({ outputs: [{ name: 'Y', elemType: 0 }] }));
    expect(only(untyped, 'structure.graph')[0].message).toContain("output 'Y' has no tensor type");

    const nameless = decode(addModel());
    nameless.graph.inputs[0].name = '';
    expect(only(findingsOf(nameless), 'structure.graph').map((f) => f.message)).toContain(
      'Graph input #0 has no name; every input needs one to be fed or fetched.',
    );
  });

  test('names: duplicate inputs, initializers, node outputs', () => {
    const dupInput = findingsOf(
      withGraph({
        inputs: [
          { name: 'X', elemType: F, shape: [3] },
          { name: 'X', elemType: F, shape: [3] },
        ],
      }),
    );
    expect(only(dupInput, 'structure.names-unique')[0].message).toContain("input 'X' is declared more than once");

    const base = addModel();
    const dupInit = findingsOf(withGraph({ initializers: [...base.graph.initializers!, ...base.graph.initializers!] }));
    expect(only(dupInit, 'structure.names-unique')[0].message).toContain("initializer 'C'");

    const twice = findingsOf(
      withGraph({
        nodes: [
          { opType: 'Add', inputs: ['X', 'C'], outputs: ['Y'], name: 'first' },
          { opType: 'Relu', inputs: ['X'], outputs: ['Y'], name: 'second' },
        ],
      }),
    );
    expect(only(twice, 'structure.names-unique')[0].message).toBe(
      "graph 'add': 'Y' is defined by node 'first' (Add) and again by node 'second' (Relu); every value must have one producer (SSA).",
    );

    const overInput = findingsOf(withGraph({ nodes: [{ opType: 'Relu', inputs: ['C'], outputs: ['X'], name: 'r' }] }));
    expect(only(overInput, 'structure.names-unique')[0].message).toContain("'X' is defined by input 'X'");
  });

  test('an initializer that is also a graph input (IR < 4 style) is fine', () => {
    const spec = withGraph({
      inputs: [
        { name: 'X', elemType: F, shape: ['batch', 3] },
        { name: 'C', elemType: F, shape: [] },
      ],
    });
    expect(findingsOf(spec)).toEqual([]);
  });

  test('topological order: read before written, and never written', () => {
    const unsorted = findingsOf(
      withGraph({
        nodes: [
          { opType: 'Relu', inputs: ['T'], outputs: ['Y'], name: 'relu' },
          { opType: 'Add', inputs: ['X', 'C'], outputs: ['T'], name: 'add' },
        ],
      }),
    );
    const order = only(unsorted, 'structure.topological-order');
    expect(order).toHaveLength(1);
    expect(order[0].message).toContain("node 'relu' (Relu) reads 'T' before node 'add' (Add) produces it");

    const undefinedInput = findingsOf(
      withGraph({ nodes: [{ opType: 'Add', inputs: ['X', 'nowhere'], outputs: ['Y'] }] }),
    );
    expect(only(undefinedInput, 'structure.topological-order')[0].message).toContain(
      "node #0 (Add) reads 'nowhere', which no input, initializer or node defines",
    );

    // Optional inputs are written as '' and need no producer.
    expect(findingsOf(withGraph({ nodes: [{ opType: 'Add', inputs: ['X', 'C', ''], outputs: ['Y'] }] }))).toEqual([]);
  });

  test('outputs produced', () => {
    const dangling = findingsOf(
      withGraph({
        outputs: [
          { name: 'Y', elemType: F, shape: ['batch', 3] },
          { name: 'Z', elemType: F, shape: ['batch', 3] },
        ],
      }),
    );
    expect(only(dangling, 'structure.outputs-produced')).toEqual([
      {
        check: 'structure.outputs-produced',
        severity: 'fail',
        message: "graph 'add': output 'Z' is declared but no node, input or initializer produces it.",
      },
    ]);
    // An output may be an input passed straight through, or an initializer.
    expect(findingsOf(withGraph({ outputs: [{ name: 'X', elemType: F, shape: ['batch', 3] }] }))).toEqual([]);
  });

  test('raw_data and typed data against dims', () => {
    const short = findingsOf(
      withGraph({ initializers: [{ name: 'C', elemType: F, dims: [3], raw: new Uint8Array(8) }] }),
    );
    expect(only(short, 'structure.raw-data')[0].message).toContain('= 12 bytes, but raw_data holds 8');

    const long = findingsOf(
      withGraph({ initializers: [{ name: 'C', elemType: F, dims: [1], raw: new Uint8Array(8) }] }),
    );
    expect(only(long, 'structure.raw-data')).toHaveLength(1);

    const empty = findingsOf(withGraph({ initializers: [{ name: 'C', elemType: F, dims: [2] }] }));
    expect(only(empty, 'structure.raw-data')[0].message).toContain('carries no data');

    const model = decode(addModel());
    model.graph.initializers[0] = {
      ...model.graph.initializers[0],
      dims: [2],
      storage: 'typed',
      byteSize: 4,
      rawData: undefined,
    };
    expect(only(findingsOf(model), 'structure.raw-data')[0].message).toContain('= 2 values of FLOAT, but holds 1');

    const negative = decode(addModel());
    negative.graph.initializers[0].dims = [-1];
    expect(only(findingsOf(negative), 'structure.raw-data')[0].message).toContain('invalid dims [-1]');
  });

  test('Constant tensors and subgraphs are checked too', () => {
    const body: GraphSpec = {
      name: 'then',
      inputs: [],
      outputs: [{ name: 'out', elemType: F, shape: [3] }],
      nodes: [
        { opType: 'Relu', inputs: ['later'], outputs: ['out'], name: 'inner' },
        { opType: 'Identity', inputs: ['X'], outputs: ['later'], name: 'defines' },
      ],
    };
    const spec: ModelSpec = {
      graph: {
        name: 'outer',
        inputs: [
          { name: 'X', elemType: F, shape: [3] },
          { name: 'cond', elemType: ElemType.BOOL, shape: [] },
        ],
        outputs: [{ name: 'Y', elemType: F, shape: [3] }],
        nodes: [
          {
            opType: 'Constant',
            inputs: [],
            outputs: ['K'],
            name: 'k',
            attributes: {
              value: { type: 'tensor', value: { name: 'k', elemType: F, dims: [4], raw: new Uint8Array(4) } },
            },
          },
          {
            opType: 'If',
            inputs: ['cond'],
            outputs: ['Y'],
            name: 'branch',
            attributes: { then_branch: { type: 'graph', value: body }, else_branch: { type: 'graph', value: body } },
          },
        ],
      },
    };
    const findings = findingsOf(spec);
    expect(only(findings, 'structure.raw-data')[0].message).toContain("node 'k' (Constant) attribute 'value'");
    const order = only(findings, 'structure.topological-order');
    expect(order).toHaveLength(2);
    expect(order[0].message).toContain(
      "graph 'outer' > node 'branch' (If) then_branch: node 'inner' (Relu) reads 'later'",
    );
  });

  test('a subgraph may read outer values but not redefine them', () => {
    const body = (output: string): GraphSpec => ({
      name: 'body',
      inputs: [],
      outputs: [{ name: output, elemType: F, shape: [3] }],
      nodes: [{ opType: 'Relu', inputs: ['X'], outputs: [output], name: 'inner' }],
    });
    const model = (output: string): ModelSpec => ({
      graph: {
        name: 'outer',
        inputs: [
          { name: 'X', elemType: F, shape: [3] },
          { name: 'cond', elemType: ElemType.BOOL, shape: [] },
        ],
        outputs: [{ name: 'Y', elemType: F, shape: [3] }],
        nodes: [
          {
            opType: 'If',
            inputs: ['cond'],
            outputs: ['Y'],
            name: 'branch',
            attributes: {
              then_branch: { type: 'graph', value: body(output) },
              else_branch: { type: 'graph', value: body(output) },
            },
          },
        ],
      },
    });
    expect(findingsOf(model('inner_out'))).toEqual([]);
    const shadow = only(findingsOf(model('X')), 'structure.names-unique');
    expect(shadow.length).toBeGreaterThan(0);
    expect(shadow[0].message).toContain("output 'X' shadows a value of an enclosing graph");
  });
});

describe('operatorDomains', () => {
  test('counts nodes and op types per domain, ai.onnx folded into the default', () => {
    const model = decode(
      withGraph({
        nodes: [
          { opType: 'Add', inputs: ['X', 'C'], outputs: ['T'] },
          { opType: 'Relu', domain: 'ai.onnx', inputs: ['T'], outputs: ['U'] },
          { opType: 'Scramble', domain: 'com.example', inputs: ['U'], outputs: ['Y'] },
        ],
      }),
    );
    const domains = operatorDomains(model);
    expect([...domains.keys()].sort()).toEqual(['', 'com.example']);
    expect(domains.get('')).toEqual({ nodes: 2, opTypes: new Set(['Add', 'Relu']) });
    expect(domains.get('com.example')?.nodes).toBe(1);
  });
});

test('elementCount refuses negative, fractional and overflowing dims', () => {
  expect(elementCount([2, 3])).toBe(6);
  expect(elementCount([])).toBe(1);
  expect(elementCount([0, 5])).toBe(0);
  expect(elementCount([-1])).toBeUndefined();
  expect(elementCount([1.5])).toBeUndefined();
  expect(elementCount([2 ** 40, 2 ** 40])).toBeUndefined();
});
