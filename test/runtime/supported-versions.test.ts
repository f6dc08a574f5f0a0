import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import { encodeModel } from '../../src/onnx/encode.js';
import type { OpsetImport } from '../../src/onnx/types.js';
import { BUNDLED_RUNTIME } from '../../src/runtime/supported-versions.js';
import { identityModel } from '../support/onnx-models.js';

/** Whether the installed onnxruntime-node loads an identity model stamped so. */
async function loads(irVersion: number, opsetImports: OpsetImport[]): Promise<boolean> {
  const bytes = encodeModel({ ...identityModel(), irVersion, opsetImports });
  try {
    const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 4 });
    await session.release();
    return true;
  } catch {
    return false;
  }
}

const def = (version: number): OpsetImport => ({ domain: '', version });

describe(`BUNDLED_RUNTIME matches onnxruntime-node ${BUNDLED_RUNTIME.version}`, () => {
  test('the installed package is the version the table describes', () => {
    expect(ort.env.versions.node).toMatch(new RegExp(`^${BUNDLED_RUNTIME.version.replace('.', '\\.')}\\.`));
  });

  test('the highest IR version loads, the next one does not', async () => {
    expect(await loads(BUNDLED_RUNTIME.maxIrVersion, [def(17)])).toBe(true);
    expect(await loads(BUNDLED_RUNTIME.maxIrVersion + 1, [def(17)])).toBe(false);
  });

  test.each(Object.entries(BUNDLED_RUNTIME.maxOpset))(
    'domain %j: opset %i loads, the next one does not',
    async (domain, max) => {
      const imports = (version: number) => (domain === '' ? [def(version)] : [def(17), { domain, version }]);
      expect(await loads(8, imports(max))).toBe(true);
      expect(await loads(8, imports(max + 1))).toBe(false);
    },
  );
});
