/**
 * The version step in local git mode, against real repositories: real commits, real annotated tags.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/log.js';
import { ElemType } from '../../src/onnx/types.js';
import { version, type VersionOptions } from '../../src/steps/version.js';
import { LocalGitStore } from '../../src/versioning/local-git.js';
import { extractRecord } from '../../src/versioning/record.js';
import type { VersionStore } from '../../src/versioning/store.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { linearClassifierModel, writeModel } from '../support/onnx-models.js';

const labels = ['setosa', 'versicolor', 'virginica'];
const weights = (seed: number) => [0, 1, 2, 3].map((f) => [0, 1, 2].map((c) => (f + 1) * 0.1 * (c + seed)));
const iris = (seed = 1, labelList = labels) =>
  linearClassifierModel({ weights: weights(seed), bias: [0.1, 0.2, 0.3 * seed], labels: labelList });

let repo: TempRepo;
let modelPath: string;

beforeEach(async () => {
  repo = await createTempRepo();
  modelPath = join(repo.dir, 'models', 'iris', 'model.onnx');
});
afterEach(async () => {
  await repo.remove();
});

async function commitModel(spec = iris(), message = 'model'): Promise<string> {
  await writeModel(modelPath, spec);
  return repo.commitAll(message);
}

const run = (options: Partial<VersionOptions> = {}) => {
  const log = memoryLogger();
  return version({ model: modelPath, modelName: 'iris', workspace: repo.dir, ...options }, log).then((result) => ({
    result,
    log,
  }));
};

describe('version in a local git repository', () => {
  it('gives a first version 0.1.0 as an annotated tag carrying the digest and the record', async () => {
    const commit = await commitModel();
    const { result } = await run();
    expect(result).toMatchObject({
      version: '0.1.0',
      tag: 'iris@v0.1.0',
      bump: 'initial',
      created: true,
      previousVersion: undefined,
      commit,
      mode: 'git',
    });
    expect(await repo.tags()).toEqual(['iris@v0.1.0']);
    expect(await repo.git('cat-file', '-t', 'iris@v0.1.0')).toBe('tag');
    expect(await repo.git('rev-parse', 'iris@v0.1.0^{commit}')).toBe(commit);
    const message = await repo.git('tag', '-l', '--format=%(contents)', 'iris@v0.1.0');
    expect(message).toContain(`digest: ${result.digest}`);
    const record = extractRecord(message);
    expect(record).toMatchObject({ name: 'iris', version: '0.1.0', digest: result.digest, labels, commit });
    expect(record?.signature.inputs).toEqual([{ name: 'features', datatype: 'FP32', shape: ['batch', 4] }]);
    // git itself accepts the tag name as a ref.
    await repo.git('check-ref-format', 'refs/tags/iris@v0.1.0');
  });

  it('starts at 1.0.0 when configured so', async () => {
    await commitModel();
    const { result } = await run({ firstVersion: '1.0.0' });
    expect(result.tag).toBe('iris@v1.0.0');
  });

  it('bumps patch, minor and major from what changed', async () => {
    await commitModel(iris(1));
    expect((await run()).result.version).toBe('0.1.0');

    await commitModel(iris(2), 'retrain');
    const patch = (await run()).result;
    expect(patch).toMatchObject({ version: '0.1.1', bump: 'patch', previousVersion: '0.1.0', created: true });
    expect(patch.bumpReason).toMatch(/^Same signature and labels, new weights \(sha256:[0-9a-f]{12} → sha256:/);

    const withLogits = iris(2);
    withLogits.graph.outputs.push({ name: 'logits', elemType: ElemType.FLOAT, shape: ['batch', 3] });
    await commitModel(withLogits, 'expose logits');
    const minor = (await run()).result;
    expect(minor).toMatchObject({ version: '0.2.0', bump: 'minor' });
    expect(minor.bumpReason).toBe("Compatible change: output 'logits': new output.");
    expect(minor.tensors.find((t) => t.name === 'logits')?.status).toBe('added');

    await commitModel(iris(2, ['setosa', 'versicolour', 'virginica']), 'rename a label');
    const major = (await run()).result;
    expect(major).toMatchObject({ version: '1.0.0', bump: 'major' });
    expect(major.bumpReason).toContain("label set changed: added 'versicolour'; removed 'versicolor'");
    expect(major.bumpReason).toContain("output 'logits': removed");

    expect(await repo.tags()).toEqual(['iris@v0.1.0', 'iris@v0.1.1', 'iris@v0.2.0', 'iris@v1.0.0']);
  });

  it('is a minor bump when the batch dimension is widened', async () => {
    const fixed = iris();
    fixed.graph.inputs[0].shape = [1, 4];
    await commitModel(fixed);
    await run();
    await commitModel(iris(), 'dynamic batch');
    const { result } = await run();
    expect(result).toMatchObject({ version: '0.2.0', bump: 'minor' });
    expect(result.bumpReason).toContain("input 'features': dimension 0 widened from 1 to variable");
  });

  it('counts prereleases, then releases', async () => {
    await commitModel(iris(1));
    await run();
    await commitModel(iris(2), 'rc');
    expect((await run({ prerelease: 'rc' })).result.version).toBe('0.1.1-rc.1');
    await commitModel(iris(3), 'rc again');
    expect((await run({ prerelease: 'rc' })).result.version).toBe('0.1.1-rc.2');
    await commitModel(iris(4), 'final');
    expect((await run()).result.version).toBe('0.1.1');
    expect(await repo.tags()).toEqual(['iris@v0.1.0', 'iris@v0.1.1', 'iris@v0.1.1-rc.1', 'iris@v0.1.1-rc.2']);
  });

  it('is idempotent: the same model gets its version back and nothing is created', async () => {
    await commitModel(iris(1));
    const first = (await run()).result;
    await commitModel(iris(2), 'retrain');
    await run();
    const tagsBefore = await repo.tags();

    const again = (await run()).result;
    expect(again).toMatchObject({ version: '0.1.1', created: false, bump: 'none' });
    expect(again.bumpReason).toMatch(/already released as 0\.1\.1/);

    // Going back to the first model's bytes finds the first version, not a new one.
    await commitModel(iris(1), 'revert');
    const reverted = (await run()).result;
    expect(reverted).toMatchObject({ version: '0.1.0', tag: 'iris@v0.1.0', created: false, digest: first.digest });
    expect(await repo.tags()).toEqual(tagsBefore);
  });

  it('ignores tags of other models and other kinds of tags', async () => {
    await commitModel();
    for (const tag of ['iris-large@v9.0.0', 'irisx@v5.0.0', 'iris#prod#7', 'v3.0.0', 'iris@deprecated']) {
      await repo.git('tag', '-a', tag, '-m', `tag ${tag}`);
    }
    const { result } = await run();
    expect(result).toMatchObject({ version: '0.1.0', bump: 'initial' });
  });

  it('orders versions by SemVer precedence, not by text', async () => {
    await commitModel(iris(1));
    for (const v of ['0.9.0', '0.10.0', '0.10.0-rc.1', '0.10.0#3']) {
      await repo.git('tag', '-a', `iris@v${v}`, '-m', `Registering artifact iris version v${v}`);
    }
    await commitModel(iris(2), 'retrain');
    const { result } = await run();
    expect(result).toMatchObject({ previousVersion: '0.10.0', version: '0.10.1', bump: 'patch' });
  });

  it("reads a GTO tag's model from its commit when the tag carries no record", async () => {
    await commitModel(iris(1));
    await repo.git('tag', '-a', 'iris@v2.3.0', '-m', 'Registering artifact iris version v2.3.0');
    // Same bytes: found through the file at the tagged commit.
    expect((await run()).result).toMatchObject({ version: '2.3.0', created: false });

    const wider = iris(1);
    wider.graph.outputs.push({ name: 'logits', elemType: ElemType.FLOAT, shape: ['batch', 3] });
    await commitModel(wider, 'logits');
    const { result, log } = await run();
    expect(result).toMatchObject({ version: '2.4.0', bump: 'minor', previousVersion: '2.3.0' });
    expect(log.lines.join('\n')).toContain('Against 2.3.0 (from its model file)');
  });

  it('asks for an explicit bump when the previous version cannot be read', async () => {
    await writeFile(join(repo.dir, 'README'), 'no model here');
    await repo.commitAll('empty');
    await repo.git('tag', '-a', 'iris@v1.0.0', '-m', 'made elsewhere');
    await commitModel();
    await expect(run()).rejects.toMatchObject({
      code: 'VERSION_PREVIOUS_UNKNOWN',
      hint: expect.stringMatching(/bump: major, minor or patch/),
    });
    expect((await run({ bump: 'minor' })).result).toMatchObject({ version: '1.1.0', bump: 'minor' });
  });

  it('warns when a forced bump is smaller than the rule says', async () => {
    await commitModel(iris(1));
    await run();
    await commitModel(iris(1, ['a', 'b', 'c']), 'new labels');
    const { result, log } = await run({ bump: 'patch' });
    expect(result).toMatchObject({ version: '0.1.1', bump: 'patch' });
    expect(result.bumpReason).toMatch(/^Bump patch requested \(the bump rule says major: Breaking change/);
    expect(log.lines.some((l) => l.startsWith('warn: Bump patch was requested, but the bump rule says major'))).toBe(
      true,
    );
  });

  it('computes without creating anything in a dry run', async () => {
    await commitModel();
    const { result } = await run({ dryRun: true });
    expect(result).toMatchObject({ version: '0.1.0', created: false, dryRun: true });
    expect(await repo.tags()).toEqual([]);
  });

  it('warns when the model differs from the commit being tagged', async () => {
    await commitModel(iris(1));
    await writeModel(modelPath, iris(5));
    const { log } = await run({ dryRun: true });
    expect(log.lines.some((l) => l.includes('is not committed as it is now'))).toBe(true);
  });

  it('tags with a fallback identity where git has none', async () => {
    await commitModel();
    const saved = { home: process.env.HOME, global: process.env.GIT_CONFIG_GLOBAL };
    await repo.git('config', '--unset', 'user.name');
    await repo.git('config', '--unset', 'user.email');
    process.env.GIT_CONFIG_GLOBAL = '/dev/null';
    try {
      await run();
    } finally {
      if (saved.global === undefined) delete process.env.GIT_CONFIG_GLOBAL;
      else process.env.GIT_CONFIG_GLOBAL = saved.global;
    }
    expect(await repo.git('tag', '-l', '--format=%(taggername) %(taggeremail)', 'iris@v0.1.0')).toBe(
      'modelship <modelship@users.noreply.github.com>',
    );
  });

  describe('race', () => {
    /** A store that lets another "run" create the tag just before each write. */
    function racingStore(times: number): VersionStore & { raced: string[] } {
      const inner = new LocalGitStore(repo.dir);
      const raced: string[] = [];
      return Object.assign(Object.create(inner) as LocalGitStore, {
        raced,
        async createTag(request: { tag: string; commit: string; message: string }) {
          if (raced.length < times) {
            raced.push(request.tag);
            await repo.git('tag', '-a', request.tag, '-m', 'created by a concurrent run', request.commit);
          }
          return inner.createTag(request);
        },
      });
    }

    it('reads the tags again once and takes the next version', async () => {
      await commitModel();
      const store = racingStore(1);
      const { result, log } = await run({ store });
      expect(store.raced).toEqual(['iris@v0.1.0']);
      // The concurrent tag has no record but the same file at its commit: this model is that version.
      expect(result).toMatchObject({ version: '0.1.0', created: false });
      expect(log.lines.some((l) => l.includes('appeared in git repository'))).toBe(true);
    });

    it('takes the next free version when the concurrent run tagged another model', async () => {
      const other = await commitModel(iris(9));
      await commitModel(iris(1), 'ours');
      const inner = new LocalGitStore(repo.dir);
      let raced = false;
      const store = Object.assign(Object.create(inner) as LocalGitStore, {
        async createTag(request: { tag: string; commit: string; message: string }) {
          if (!raced) {
            raced = true;
            await repo.git('tag', '-a', request.tag, '-m', 'concurrent', other);
          }
          return inner.createTag(request);
        },
      });
      const { result } = await run({ store });
      expect(result).toMatchObject({ version: '0.1.1', created: true, previousVersion: '0.1.0', bump: 'patch' });
    });

    it('reports clearly when it loses twice', async () => {
      const other = await commitModel(iris(9));
      await commitModel(iris(1), 'ours');
      const inner = new LocalGitStore(repo.dir);
      const store = Object.assign(Object.create(inner) as LocalGitStore, {
        async createTag(request: { tag: string; commit: string; message: string }) {
          await repo.git('tag', '-a', request.tag, '-m', 'concurrent', other);
          return inner.createTag(request);
        },
      });
      await expect(run({ store, bump: 'patch' })).rejects.toMatchObject({
        code: 'VERSION_RACE',
        message: expect.stringContaining('iris@v0.1.1 was created by someone else'),
        hint: expect.stringContaining('concurrency'),
      });
    });
  });

  describe('bad input', () => {
    it.each([
      [{ modelName: 'iris model' }, 'MODEL_NAME_INVALID'],
      [{ bump: 'huge' as never }, 'INPUT_INVALID'],
      [{ prerelease: 'rc.1' }, 'PRERELEASE_INVALID'],
      [{ firstVersion: 'v1' }, 'INPUT_INVALID'],
      [{ report: '/nonexistent/report.json' }, 'REPORT_NOT_FOUND'],
    ])('%j fails with %s', async (options, code) => {
      await commitModel();
      await expect(run(options)).rejects.toMatchObject({ code });
    });

    it('says when the model is missing', async () => {
      await expect(run({ model: join(repo.dir, 'missing.onnx') })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    });

    it('says when there is no commit to tag', async () => {
      await writeModel(modelPath, iris());
      await expect(run()).rejects.toMatchObject({ code: 'GIT_NO_COMMIT' });
    });
  });
});

describe('version with modelship.yml', () => {
  it('takes the path, first version, tag prefix and labels from the model entry', async () => {
    await commitModel(iris(1, ['a', 'b', 'c']));
    await writeFile(
      join(repo.dir, 'modelship.yml'),
      [
        'models:',
        '  iris:',
        '    path: models/iris/model.onnx',
        '    labels: [setosa, versicolor, virginica]',
        '    versioning:',
        "      first-version: '1.0.0'",
        '      tag-prefix: flowers/iris',
        '',
      ].join('\n'),
    );
    await repo.commitAll('config');
    const log = memoryLogger();
    const result = await version({ modelName: 'iris', workspace: repo.dir, discoverConfig: true }, log);
    expect(result).toMatchObject({ name: 'iris', version: '1.0.0', tag: 'flowers/iris@v1.0.0', labels });
    expect(await repo.tags()).toEqual(['flowers/iris@v1.0.0']);
    expect(log.lines).toContain(`info: Using the settings of 'iris' in ${join(repo.dir, 'modelship.yml')}.`);
  });

  it('ignores a discovered configuration that does not name the model, and fails on an explicit one', async () => {
    await commitModel();
    await writeFile(join(repo.dir, 'modelship.yml'), 'models:\n  mpg:\n    path: models/mpg.onnx\n');
    await repo.commitAll('config');
    expect((await run({ discoverConfig: true })).result.version).toBe('0.1.0');
    await expect(run({ config: join(repo.dir, 'modelship.yml') })).rejects.toMatchObject({
      code: 'CONFIG_MODEL_UNKNOWN',
    });
  });
});

describe('version of the fixture models', () => {
  const fixture = (name: string) => join(import.meta.dirname, '..', '..', 'fixtures', 'models', name, 'model.onnx');

  it('bumps patch for retrained weights, major for a renamed input or another model', async () => {
    const steps: Array<[string, string, string]> = [
      ['iris-v1', '0.1.0', 'initial'],
      ['iris-v2', '0.1.1', 'patch'],
      ['iris-regressed', '0.1.2', 'patch'],
      ['iris-breaking', '1.0.0', 'major'],
      ['mpg-v1', '2.0.0', 'major'],
    ];
    await mkdir(join(repo.dir, 'models', 'iris'), { recursive: true });
    for (const [name, expected, bump] of steps) {
      await copyFile(fixture(name), modelPath);
      await repo.commitAll(name);
      const { result } = await run();
      expect([name, result.version, result.bump]).toEqual([name, expected, bump]);
      if (name === 'iris-breaking') {
        expect(result.bumpReason).toBe(
          "Breaking change: input 'measurements': new required input; input 'features': removed.",
        );
      }
      if (name === 'mpg-v1') expect(result.bumpReason).toContain('no longer declares its labels');
    }
    // Back to iris-v2: it already is 0.1.1.
    await copyFile(fixture('iris-v2'), modelPath);
    await repo.commitAll('back to v2');
    expect((await run()).result).toMatchObject({ version: '0.1.1', created: false });
  });
});
