import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Signature } from '../../src/runtime/tensor.js';
import { decideBump } from '../../src/versioning/bump.js';
import { readEvaluateReport } from '../../src/versioning/evaluate-report.js';
import { embedRecord, extractRecord, tagMessage, type VersionRecord } from '../../src/versioning/record.js';
import { renderModelCard } from '../../src/versioning/release-notes.js';

const signature: Signature = {
  inputs: [{ name: 'features', datatype: 'FP32', shape: ['batch', 4] }],
  outputs: [
    { name: 'label', datatype: 'INT64', shape: ['batch'] },
    { name: 'probabilities', datatype: 'FP32', shape: ['batch', 3] },
  ],
};
const digest = 'sha256:' + '0123456789abcdef'.repeat(4);
const record: VersionRecord = {
  schema: 'modelship/version@1',
  name: 'iris',
  version: '1.3.0',
  digest,
  signature,
  labels: ['setosa', 'versi-->color', '<virginica>'],
  bump: 'minor',
  commit: 'c0ffee',
};

describe('version record', () => {
  it('survives a round trip through markdown, even with labels that look like comment ends', () => {
    const block = embedRecord(record);
    expect(block).not.toMatch(/-->.*-->/);
    expect(extractRecord(`# Title\n\nSome text\n\n${block}\n\nmore`)).toEqual(record);
    expect(extractRecord(tagMessage(record, 'Compatible change.'))).toEqual(record);
  });

  it('reads nothing from text without a valid record', () => {
    expect(extractRecord(undefined)).toBeUndefined();
    expect(extractRecord('Registering artifact rf version v1.0.0')).toBeUndefined();
    expect(extractRecord('<!-- modelship:version {not json} -->')).toBeUndefined();
    expect(extractRecord('<!-- modelship:version {"schema":"other@1"} -->')).toBeUndefined();
    const noSignature = { ...record, signature: { inputs: 'x' } };
    expect(extractRecord(`<!-- modelship:version ${JSON.stringify(noSignature)} -->`)).toBeUndefined();
  });

  it('puts the digest in the tag message as a plain line', () => {
    const message = tagMessage(record, 'Compatible change.');
    expect(message.split('\n')[0]).toBe('Register iris version 1.3.0');
    expect(message).toContain(`digest: ${digest}\n`);
  });
});

describe('model card', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'modelship-card-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('holds version, digest, signature diff, metrics, reason, commit and the record', async () => {
    const reportPath = join(dir, 'report.json');
    await writeFile(
      reportPath,
      JSON.stringify({
        schema: 'modelship/evaluate-report@1',
        passed: true,
        model: { path: 'm.onnx', digest, signature },
        task: 'classification',
        rows: 150,
        metrics: { accuracy: 0.9666666, macro_f1: 0.95 },
        baseline: { metrics: { accuracy: 0.94, macro_f1: 0.96 } },
        comparisons: [
          {
            metric: 'accuracy',
            baseline: 0.94,
            candidate: 0.9666666,
            delta: 0.0266666,
            threshold: -0.01,
            significant: false,
            verdict: 'pass',
            reason: 'ok',
          },
        ],
      }),
    );
    const report = await readEvaluateReport(reportPath);
    const next = structuredClone(signature);
    next.outputs.push({ name: 'logits', datatype: 'FP32', shape: ['batch', 3] });
    const decision = decideBump({ signature }, { signature: next });
    const card = renderModelCard({
      name: 'iris',
      version: '1.3.0',
      tag: 'iris@v1.3.0',
      digest,
      signature: next,
      labels: record.labels,
      previousVersion: '1.2.0',
      bump: decision.bump,
      reason: decision.reason,
      tensors: decision.tensors,
      report,
      commit: { sha: 'c0ffee'.padEnd(40, '0'), url: 'https://github.com/o/r/commit/c0ffee' },
      record: { ...record, signature: next },
    });
    expect(card).toContain('## iris 1.3.0');
    expect(card).toContain('| Version | `1.3.0` (previous `1.2.0`) |');
    expect(card).toContain(`| Digest | \`${digest}\` |`);
    expect(card).toContain("| Bump | minor: Compatible change: output 'logits': new output. |");
    expect(card).toContain('[`c0ffee000000`](https://github.com/o/r/commit/c0ffee)');
    expect(card).toContain('| output | `logits` | FP32 | `[batch, 3]` | added (minor) | new output |');
    expect(card).toContain('| input | `features` | FP32 | `[batch, 4]` | unchanged |  |');
    expect(card).toContain('### Evaluation ✓ passed (task classification, 150 rows)');
    expect(card).toContain('| accuracy | 0.9667 | 0.9400 | +0.0267 | ✓ pass |');
    expect(card).toContain('| macro_f1 | 0.9500 | 0.9600 | -0.0100 |  |');
    expect(card).toContain('| 1 | versi-->color |');
    expect(extractRecord(card)?.signature).toEqual(next);
  });

  it('shows a plain signature table for a first version', () => {
    const card = renderModelCard({
      name: 'iris',
      version: '0.1.0',
      tag: 'iris@v0.1.0',
      digest,
      signature,
      reason: 'First version.',
      record,
    });
    expect(card).toContain('| Role | Name | Datatype | Shape |');
    expect(card).toContain('| output | `probabilities` | FP32 | `[batch, 3]` |');
    expect(card).toContain('| Bump | First version. |');
    expect(card).not.toContain('Evaluation');
  });

  it('refuses files that are not evaluate reports, saying what to pass', async () => {
    const other = join(dir, 'validate.json');
    await writeFile(other, JSON.stringify({ schema: 'modelship/validate-report@1', passed: true }));
    await expect(readEvaluateReport(other)).rejects.toThrow(/is not an evaluate report/);
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{');
    await expect(readEvaluateReport(broken)).rejects.toThrow(/is not JSON/);
    await expect(readEvaluateReport(join(dir, 'missing.json'))).rejects.toMatchObject({ code: 'REPORT_NOT_FOUND' });
  });
});
