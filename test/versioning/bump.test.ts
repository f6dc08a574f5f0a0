import { describe, expect, it } from 'vitest';
import type { Signature } from '../../src/runtime/tensor.js';
import {
  decideBump,
  diffSignatures,
  highestVersion,
  nextVersion,
  sortVersionsDescending,
  validatePrereleaseId,
} from '../../src/versioning/bump.js';

const iris: Signature = {
  inputs: [{ name: 'features', datatype: 'FP32', shape: ['batch', 4] }],
  outputs: [
    { name: 'label', datatype: 'INT64', shape: ['batch'] },
    { name: 'probabilities', datatype: 'FP32', shape: ['batch', 3] },
  ],
};
const labels = ['setosa', 'versicolor', 'virginica'];

const clone = (s: Signature): Signature => structuredClone(s);

describe('decideBump', () => {
  it('is a patch for the same signature and labels with new weights', () => {
    const decision = decideBump(
      { signature: iris, labels, digest: 'sha256:' + 'a'.repeat(64) },
      { signature: clone(iris), labels: [...labels], digest: 'sha256:' + 'b'.repeat(64) },
    );
    expect(decision.bump).toBe('patch');
    expect(decision.reason).toBe('Same signature and labels, new weights (sha256:aaaaaaaaaaaa → sha256:bbbbbbbbbbbb).');
    expect(decision.differences).toEqual([]);
    expect(decision.tensors.map((t) => t.status)).toEqual(['same', 'same', 'same']);
  });

  it('is minor for an added output', () => {
    const next = clone(iris);
    next.outputs.push({ name: 'logits', datatype: 'FP32', shape: ['batch', 3] });
    const decision = decideBump({ signature: iris, labels }, { signature: next, labels });
    expect(decision.bump).toBe('minor');
    expect(decision.reason).toBe("Compatible change: output 'logits': new output.");
    expect(decision.tensors.find((t) => t.name === 'logits')).toMatchObject({ status: 'added', level: 'minor' });
  });

  it('is minor for a widened input dimension, fixed to symbolic or -1', () => {
    const fixed = clone(iris);
    fixed.inputs[0].shape = [1, 4];
    const symbolic = clone(iris);
    symbolic.inputs[0].shape = ['N', 4];
    const unknown = clone(iris);
    unknown.inputs[0].shape = [-1, 4];
    for (const next of [symbolic, unknown]) {
      const decision = decideBump({ signature: fixed }, { signature: next });
      expect(decision.bump).toBe('minor');
      expect(decision.reason).toMatch(/input 'features': dimension 0 widened from 1 to variable \(shape \[1, 4\] → /);
    }
  });

  it('is major for a narrowed input dimension', () => {
    const next = clone(iris);
    next.inputs[0].shape = [8, 4];
    const decision = decideBump({ signature: iris }, { signature: next });
    expect(decision.bump).toBe('major');
    expect(decision.reason).toContain("input 'features': dimension 0 narrowed from variable to 8");
  });

  it('ignores a renamed symbolic dimension', () => {
    const next = clone(iris);
    next.inputs[0].shape = ['N', 4];
    next.outputs[1].shape = [-1, 3];
    expect(decideBump({ signature: iris }, { signature: next }).bump).toBe('patch');
  });

  it('is major for a changed input', () => {
    const renamed = clone(iris);
    renamed.inputs[0].name = 'x';
    const decision = decideBump({ signature: iris }, { signature: renamed });
    expect(decision.bump).toBe('major');
    expect(decision.reason).toBe("Breaking change: input 'x': new required input; input 'features': removed.");

    const retyped = clone(iris);
    retyped.inputs[0].datatype = 'FP64';
    expect(decideBump({ signature: iris }, { signature: retyped }).reason).toBe(
      "Breaking change: input 'features': datatype FP32 → FP64.",
    );

    const resized = clone(iris);
    resized.inputs[0].shape = ['batch', 5];
    expect(decideBump({ signature: iris }, { signature: resized }).reason).toBe(
      "Breaking change: input 'features': dimension 1 is 5 instead of 4 (shape [batch, 4] → [batch, 5]).",
    );

    const reranked = clone(iris);
    reranked.inputs[0].shape = ['batch', 2, 2];
    expect(decideBump({ signature: iris }, { signature: reranked }).reason).toBe(
      "Breaking change: input 'features': rank 2 → 3, shape [batch, 4] → [batch, 2, 2].",
    );
  });

  it('is major for a removed or retyped output and lists every difference', () => {
    const next = clone(iris);
    next.outputs = [{ name: 'label', datatype: 'INT32', shape: ['batch'] }];
    next.outputs.push({ name: 'score', datatype: 'FP32', shape: ['batch'] });
    const decision = decideBump({ signature: iris }, { signature: next });
    expect(decision.bump).toBe('major');
    expect(decision.reason).toBe(
      "Breaking change: output 'label': datatype INT64 → INT32; output 'probabilities': removed. Also: output 'score': new output.",
    );
    expect(decision.differences.map((d) => d.level)).toEqual(['major', 'major', 'minor']);
  });

  it('is major for a changed label set', () => {
    const cases: Array<[string[] | undefined, RegExp]> = [
      [['setosa', 'versicolor'], /removed 'virginica'/],
      [[...labels, 'other'], /added 'other'/],
      [['versicolor', 'setosa', 'virginica'], /reordered .* class indices mean other labels/],
      [undefined, /no longer declares its labels/],
    ];
    for (const [next, reason] of cases) {
      const decision = decideBump({ signature: iris, labels }, { signature: iris, labels: next });
      expect(decision.bump).toBe('major');
      expect(decision.reason).toMatch(reason);
    }
    expect(decideBump({ signature: iris }, { signature: iris, labels }).bump).toBe('minor');
  });

  it('keeps a narrowed output compatible', () => {
    const next = clone(iris);
    next.outputs[1].shape = ['batch', 3];
    next.outputs[0].shape = [1];
    const decision = decideBump({ signature: iris }, { signature: next });
    expect(decision.bump).toBe('minor');
    expect(decision.reason).toContain("output 'label': dimension 0 is now always 1");
  });
});

describe('diffSignatures', () => {
  it('lists inputs then outputs, removed ones after the kept ones', () => {
    const next = clone(iris);
    next.outputs.shift();
    const rows = diffSignatures(iris, next);
    expect(rows.map((r) => `${r.role}:${r.name}:${r.status}`)).toEqual([
      'input:features:same',
      'output:probabilities:same',
      'output:label:removed',
    ]);
  });
});

describe('nextVersion', () => {
  const existing = ['0.1.0', '1.0.0', '1.2.0'];
  it('starts at the first version', () => {
    expect(nextVersion(undefined, 'major', { firstVersion: '0.1.0', existingVersions: [] })).toBe('0.1.0');
    expect(nextVersion(undefined, 'patch', { firstVersion: '1.0.0', existingVersions: [] })).toBe('1.0.0');
    expect(nextVersion(undefined, 'patch', { firstVersion: '1.0.0', prerelease: 'rc', existingVersions: [] })).toBe(
      '1.0.0-rc.1',
    );
    expect(() => nextVersion(undefined, 'patch', { firstVersion: '1.0', existingVersions: [] })).toThrow(
      /not a plain MAJOR.MINOR.PATCH/,
    );
  });

  it('bumps each part', () => {
    expect(nextVersion('1.2.0', 'patch', { firstVersion: '0.1.0', existingVersions: existing })).toBe('1.2.1');
    expect(nextVersion('1.2.0', 'minor', { firstVersion: '0.1.0', existingVersions: existing })).toBe('1.3.0');
    expect(nextVersion('1.2.3', 'major', { firstVersion: '0.1.0', existingVersions: existing })).toBe('2.0.0');
  });

  it('counts prereleases from the existing versions', () => {
    const opts = (versions: string[]) => ({ firstVersion: '0.1.0', prerelease: 'rc', existingVersions: versions });
    expect(nextVersion('1.2.0', 'minor', opts(existing))).toBe('1.3.0-rc.1');
    const withRc1 = [...existing, '1.3.0-rc.1'];
    expect(nextVersion('1.3.0-rc.1', 'patch', opts(withRc1))).toBe('1.3.0-rc.2');
    expect(nextVersion('1.3.0-rc.1', 'minor', opts(withRc1))).toBe('1.3.0-rc.2');
    const withRc2 = [...withRc1, '1.3.0-rc.2', '1.3.0-beta.7', '1.3.0-rc.x'];
    expect(nextVersion('1.3.0-rc.2', 'patch', opts(withRc2))).toBe('1.3.0-rc.3');
    expect(nextVersion('1.3.0-rc.2', 'major', opts(withRc2))).toBe('2.0.0-rc.1');
    // A gap is not refilled: counting follows the highest counter.
    expect(nextVersion('1.3.0-rc.9', 'patch', opts([...existing, '1.3.0-rc.9']))).toBe('1.3.0-rc.10');
  });

  it('graduates a prerelease without a prerelease id', () => {
    const opts = { firstVersion: '0.1.0', existingVersions: ['1.2.0', '1.3.0-rc.2'] };
    expect(nextVersion('1.3.0-rc.2', 'patch', opts)).toBe('1.3.0');
    expect(nextVersion('1.3.0-rc.2', 'minor', opts)).toBe('1.3.0');
    expect(nextVersion('1.3.0-rc.2', 'major', opts)).toBe('2.0.0');
    expect(nextVersion('1.3.1-rc.1', 'minor', opts)).toBe('1.4.0');
  });

  it('refuses a prerelease that would sort before the previous one', () => {
    expect(() =>
      nextVersion('1.3.0-rc.1', 'patch', { firstVersion: '0.1.0', prerelease: 'beta', existingVersions: [] }),
    ).toThrow(/1.3.0-beta.1 would sort before the existing 1.3.0-rc.1/);
  });

  it('refuses prerelease ids that cannot take a counter', () => {
    for (const id of ['', 'rc.1', '1', 'r c', 'rc+1'])
      expect(() => validatePrereleaseId(id), id).toThrow(/prerelease/i);
    expect(validatePrereleaseId('beta-2')).toBe('beta-2');
  });
});

describe('version order', () => {
  it('follows SemVer precedence, not text order', () => {
    const versions = ['1.10.0', '1.9.0', '1.10.0-rc.1', '2.0.0-alpha', '1.10.0-rc.10', '1.10.0-rc.2', 'bogus'];
    expect(highestVersion(versions)).toBe('2.0.0-alpha');
    expect(sortVersionsDescending(versions)).toEqual([
      '2.0.0-alpha',
      '1.10.0',
      '1.10.0-rc.10',
      '1.10.0-rc.2',
      '1.10.0-rc.1',
      '1.9.0',
    ]);
    expect(highestVersion([])).toBeUndefined();
  });
});
