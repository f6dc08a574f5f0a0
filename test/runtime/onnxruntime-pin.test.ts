import { readFile, readdir } from 'node:fs/promises';
import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pinFromLock } from '../../scripts/onnxruntime-pin.js';
import { ONNXRUNTIME_PIN } from '../../src/runtime/onnxruntime-pin.js';
import { loadOnnxRuntime, loadOnnxRuntimeWithSource } from '../../src/runtime/onnxruntime.js';

describe('the onnxruntime pin', () => {
  it('matches package-lock.json and the installed binaries (run scripts/onnxruntime-pin.ts when it does not)', () => {
    expect(ONNXRUNTIME_PIN).toEqual(pinFromLock());
    expect(ONNXRUNTIME_PIN.node.integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
    expect(ONNXRUNTIME_PIN.platforms).toContain(`${process.platform}-${process.arch}`);
  });

  it('names every package onnxruntime-node needs at run time: onnxruntime-common alone', async () => {
    // Its other dependencies (adm-zip, global-agent) serve the install script, which provisioning skips.
    const packageDir = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    const manifest = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8'));
    expect(manifest.main).toBe('dist/index.js');
    expect(manifest.dependencies[ONNXRUNTIME_PIN.common.name]).toBe(ONNXRUNTIME_PIN.common.version);
    const external = new Set<string>();
    for (const file of await readdir(path.join(packageDir, 'dist'))) {
      if (!file.endsWith('.js')) continue;
      const source = await readFile(path.join(packageDir, 'dist', file), 'utf8');
      for (const [, specifier] of source.matchAll(/require\(["'`]([^"'`]+)["'`]\)/g)) {
        if (specifier.startsWith('.')) continue;
        if (builtinModules.includes(specifier.replace(/^node:/, ''))) continue;
        external.add(specifier);
      }
    }
    expect([...external]).toEqual([ONNXRUNTIME_PIN.common.name]);
  });
});

describe('loadOnnxRuntime', () => {
  it('finds the installed package next to the source and loads it once per process', async () => {
    const first = await loadOnnxRuntimeWithSource();
    expect(first.source).toBe('node_modules');
    expect(first.dir).toBe(path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json')));
    expect(await loadOnnxRuntimeWithSource()).toBe(first);
    const ort = await loadOnnxRuntime();
    expect(ort).toBe(first.ort);
    expect(typeof ort.InferenceSession.create).toBe('function');
    expect(ort.env.versions.common).toBe(ONNXRUNTIME_PIN.common.version);
  });
});
