import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  applyRetention,
  listVersions,
  nextVersion,
  readPolicy,
  removeLeftovers,
  removeVersion,
  setVersionPolicy,
  versionsToRemove,
  writeVersion,
} from '../../src/deploy/model-repository.js';
import { minimalConfigJson, readVersionPolicy, withVersionPolicy } from '../../src/deploy/triton-config.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelship-repo-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('version_policy in config.pbtxt', () => {
  const userConfig = `# tuned by hand
name: "iris"
platform: "onnxruntime_onnx"
max_batch_size: 8
version_policy: { latest { num_versions: 2 } }  # replaced by deploy
dynamic_batching { max_queue_delay_microseconds: 100 }
parameters { key: "note" value: { string_value: "version_policy { all {} } in a string" } }
`;

  it('reads the three policy kinds and the default', () => {
    expect(readVersionPolicy(userConfig)).toEqual({ kind: 'latest', numVersions: 2 });
    expect(readVersionPolicy('version_policy { specific { versions: 1 versions: 3 } }')).toEqual({
      kind: 'specific',
      versions: [1, 3],
    });
    expect(readVersionPolicy('version_policy: { specific: { versions: [4, 2] } }')).toEqual({
      kind: 'specific',
      versions: [2, 4],
    });
    expect(readVersionPolicy('version_policy < all { } >')).toEqual({ kind: 'all' });
    expect(readVersionPolicy('name: "x"')).toEqual({ kind: 'latest', numVersions: 1 });
  });

  it('replaces only the policy, keeping comments, batching and strings that mention it', () => {
    const updated = withVersionPolicy(userConfig, [3, 2]);
    expect(updated).toContain('version_policy: { specific: { versions: [2, 3] } }  # replaced by deploy');
    expect(updated).toContain('dynamic_batching { max_queue_delay_microseconds: 100 }');
    expect(updated).toContain('"version_policy { all {} } in a string"');
    expect(updated).toContain('# tuned by hand');
    expect(readVersionPolicy(updated)).toEqual({ kind: 'specific', versions: [2, 3] });
  });

  it('adds a policy to a config that has none', () => {
    const updated = withVersionPolicy('name: "iris"', [1]);
    expect(updated).toBe('name: "iris"\nversion_policy: { specific: { versions: [1] } }\n');
  });

  it('renders the JSON config a load request carries', () => {
    expect(JSON.parse(minimalConfigJson('iris', [2, 1]))).toEqual({
      name: 'iris',
      platform: 'onnxruntime_onnx',
      version_policy: { specific: { versions: [1, 2] } },
    });
  });
});

describe('model repository on disk', () => {
  const repo = () => ({ root: dir, model: 'iris' });

  async function source(name: string, content: string): Promise<string> {
    const file = join(dir, name);
    await writeFile(file, content);
    return file;
  }

  it('writes version folders whole and lists them', async () => {
    await writeVersion(repo(), 1, await source('a.onnx', 'model-a'));
    await writeVersion(repo(), 2, await source('b.onnx', 'model-b'));
    expect(await listVersions(repo())).toEqual([1, 2]);
    expect(await readFile(join(dir, 'iris', '2', 'model.onnx'), 'utf8')).toBe('model-b');
    expect((await readdir(join(dir, 'iris'))).filter((n) => n.startsWith('.'))).toEqual([]);
    await expect(writeVersion(repo(), 2, await source('c.onnx', 'x'))).rejects.toMatchObject({
      code: 'VERSION_EXISTS',
    });
  });

  it('ignores folders that are not versions (Triton does too)', async () => {
    await mkdir(join(dir, 'iris', '01'), { recursive: true });
    await mkdir(join(dir, 'iris', '.modelship'), { recursive: true });
    await mkdir(join(dir, 'iris', '7'), { recursive: true });
    await writeFile(join(dir, 'iris', '8'), 'a file, not a folder');
    expect(await listVersions(repo())).toEqual([7]);
  });

  it('numbers new versions above the disk and the ledger', () => {
    expect(nextVersion([], 0)).toBe(1);
    expect(nextVersion([1, 2, 5], 3)).toBe(6);
    expect(nextVersion([1], 9)).toBe(10);
  });

  it('creates a minimal config, then changes only its policy', async () => {
    await setVersionPolicy(repo(), [1]);
    expect(await readFile(join(dir, 'iris', 'config.pbtxt'), 'utf8')).toBe(
      'name: "iris"\nplatform: "onnxruntime_onnx"\nversion_policy: { specific: { versions: [1] } }\n',
    );
    await writeFile(join(dir, 'iris', 'config.pbtxt'), 'name: "iris"\nmax_batch_size: 4\n');
    await setVersionPolicy(repo(), [1, 2]);
    expect(await readFile(join(dir, 'iris', 'config.pbtxt'), 'utf8')).toBe(
      'name: "iris"\nmax_batch_size: 4\nversion_policy: { specific: { versions: [1, 2] } }\n',
    );
    expect(await readPolicy(repo())).toEqual({ kind: 'specific', versions: [1, 2] });
  });

  it('retention keeps the newest K and always the serving and previous versions', async () => {
    expect(versionsToRemove([1, 2, 3, 4, 5], 3, [])).toEqual([1, 2]);
    expect(versionsToRemove([1, 2, 3, 4, 5], 3, [1])).toEqual([2]);
    expect(versionsToRemove([1, 2, 3, 4, 5], 2, [2, 1])).toEqual([3]);
    expect(versionsToRemove([1, 2], 3, [])).toEqual([]);
    for (const v of [1, 2, 3, 4]) await writeVersion(repo(), v, await source(`${v}.onnx`, `m${v}`));
    expect(await applyRetention(repo(), 2, [1])).toEqual([2]);
    expect(await listVersions(repo())).toEqual([1, 3, 4]);
    await removeVersion(repo(), 3);
    await removeVersion(repo(), 3);
    expect(await listVersions(repo())).toEqual([1, 4]);
  });

  it('a copy killed before its rename leaves no version, and the leftover is cleaned up', async () => {
    const src = await source('big.onnx', 'x'.repeat(1024));
    const script = `
      import { writeVersion } from ${JSON.stringify(resolve('src/deploy/model-repository.ts'))};
      await writeVersion({ root: ${JSON.stringify(dir)}, model: 'iris' }, 1, ${JSON.stringify(src)});
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, MODELSHIP_FAULT_INJECT: 'mid-version-copy' },
    });
    expect(child.signal).toBe('SIGKILL');
    expect(await listVersions(repo())).toEqual([]);
    const left = await readdir(join(dir, 'iris'));
    expect(left).toHaveLength(1);
    expect(await removeLeftovers(repo())).toEqual(left);
    expect(await readdir(join(dir, 'iris'))).toEqual([]);
  });
});
