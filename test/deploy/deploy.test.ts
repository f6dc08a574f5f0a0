import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { digestModel } from '../../src/onnx/digest.js';
import { deploy, type DeployOptions } from '../../src/steps/deploy.js';
import { rollback } from '../../src/steps/rollback.js';
import {
  ADMIN_TOKEN,
  IRIS_BREAKING,
  IRIS_REGRESSED,
  IRIS_V1,
  IRIS_V2,
  infer,
  trafficLoop,
  workspace,
  type Workspace,
  deployOptions,
} from './harness.js';

let ws: Workspace;
beforeEach(async () => {
  ws = await workspace();
});
afterEach(async () => {
  await ws.close();
});

const options = (overrides: Partial<DeployOptions>): DeployOptions =>
  deployOptions(ws, {
    who: { actor: 'tester', runUrl: 'https://github.com/o/r/actions/runs/1' },
    ...overrides,
  });

describe('deploy and rollback on a file:// repository served by modelship serve', () => {
  it('deploys v1 then v2, rolls back to the previous and to a named version, with zero failed requests', async () => {
    const first = await deploy(options({ model: IRIS_V1, version: '1.0.0' }), ws.log);
    expect(first).toMatchObject({ status: 'deployed', failed: false, rolledBack: false });
    expect(first.deployed).toMatchObject({ semver: '1.0.0', numericVersion: 1 });
    expect(first.previous).toBeUndefined();
    expect((await infer(ws.server.url)).body.model_version).toBe('1');

    const traffic = trafficLoop(ws.server.url);
    try {
      const second = await deploy(
        options({ model: IRIS_V2, version: '1.1.0', expectedDigest: await digestModel(IRIS_V2) }),
        ws.log,
      );
      expect(second.status).toBe('deployed');
      expect(second.deployed.numericVersion).toBe(2);
      expect(second.previous?.semver).toBe('1.0.0');
      expect(second.smoke.map((s) => s.passed)).toEqual([true, true]);
      expect(second.smoke[0].rows).toBe(16);
      expect((await infer(ws.server.url)).body.model_version).toBe('2');

      const back = await rollback(
        {
          modelName: 'iris',
          environment: 'production',
          target: `file://${ws.repository}`,
          server: ws.server.url,
          adminToken: ADMIN_TOKEN,
          reason: 'probabilities drift',
          who: { actor: 'oncall', runUrl: null },
        },
        ws.log,
      );
      expect(back.status).toBe('rolled-back');
      expect(back.plan.to.semver).toBe('1.0.0');
      expect((await infer(ws.server.url)).body.model_version).toBe('1');

      const forward = await rollback(
        {
          modelName: 'iris',
          environment: 'production',
          target: `file://${ws.repository}`,
          server: ws.server.url,
          adminToken: ADMIN_TOKEN,
          to: '1.1.0',
          reason: 'false alarm',
        },
        ws.log,
      );
      expect(forward.status).toBe('rolled-back');
      expect((await infer(ws.server.url)).body.model_version).toBe('2');
    } finally {
      await traffic.stop();
    }
    expect(traffic.failures).toEqual([]);
    expect(traffic.requests).toBeGreaterThan(20);
    expect([...traffic.versions.keys()].sort()).toEqual(['1', '2']);

    const ledger = await ws.ledger();
    expect(ledger.map((e) => `${e.action}:${e.outcome}:${e.numericVersion}`)).toEqual([
      'deploy:started:1',
      'deploy:succeeded:1',
      'deploy:started:2',
      'deploy:succeeded:2',
      'rollback:started:1',
      'rollback:succeeded:1',
      'rollback:started:2',
      'rollback:succeeded:2',
    ]);
    expect(ledger[5]).toMatchObject({ actor: 'oncall', reason: 'probabilities drift', semver: '1.0.0' });
    // The repository stays what Triton reads: versions, config.pbtxt, routing.json; state lives beside it.
    expect((await readdir(join(ws.repository, 'iris'))).sort()).toEqual(['1', '2', 'config.pbtxt', 'routing.json']);
    expect(await readdir(ws.repository)).toEqual(['iris']);
    expect(await readFile(join(ws.repository, 'iris', 'config.pbtxt'), 'utf8')).toContain(
      'version_policy: { specific: { versions: [1, 2] } }',
    );
  });

  it('takes the model, target, server and keep from modelship.yml when the inputs leave them out', async () => {
    await writeFile(
      join(ws.dir, 'modelship.yml'),
      `models:\n  iris:\n    path: ${IRIS_V1}\n    environments:\n      production:\n        target: file://./models\n        url: ${ws.server.url}\n`,
    );
    const result = await deploy(
      { modelName: 'iris', environment: 'production', version: '1.0.0', adminToken: ADMIN_TOKEN, cwd: ws.dir },
      ws.log,
    );
    expect(result).toMatchObject({ status: 'deployed', target: `file://${ws.repository}` });
    expect(result.smoke.map((s) => s.passed)).toEqual([true, true]);
    expect((await infer(ws.server.url)).body.model_version).toBe('1');
  });

  it('re-deploying the serving digest changes nothing', async () => {
    await deploy(options({ version: '1.0.0' }), ws.log);
    const again = await deploy(options({ version: '1.0.0' }), ws.log);
    expect(again.status).toBe('unchanged');
    expect((await ws.ledger()).length).toBe(2);
  });

  it('refuses a digest that does not match before changing anything', async () => {
    await expect(deploy(options({ expectedDigest: 'sha256:' + '0'.repeat(64) }), ws.log)).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
    });
    expect(await readdir(ws.repository)).toEqual([]);
    expect(await ws.ledger()).toEqual([]);
  });

  it('refuses smoke fixtures that do not fit the model before changing anything', async () => {
    await deploy(options({ version: '1.0.0' }), ws.log);
    await expect(deploy(options({ model: IRIS_BREAKING, version: '2.0.0' }), ws.log)).rejects.toMatchObject({
      code: 'SMOKE_FIXTURES_INVALID',
    });
    expect((await ws.ledger()).length).toBe(2);
    expect((await readdir(join(ws.repository, 'iris'))).filter((n) => /^\d+$/.test(n))).toEqual(['1']);
  });

  it('retention keeps the last K versions and never the serving or previous one', async () => {
    const models = [IRIS_V1, IRIS_V2, IRIS_REGRESSED, IRIS_V1.replace('iris-v1', 'iris-breaking')];
    for (const [i, model] of models.entries()) {
      const result = await deploy(options({ model, version: `1.${i}.0`, keep: 2, smokeFixtures: undefined }), ws.log);
      expect(result.status).toBe('deployed');
    }
    const versions = (await readdir(join(ws.repository, 'iris'))).filter((n) => /^\d+$/.test(n)).sort();
    expect(versions).toEqual(['3', '4']);
  });

  it('rollback --dry-run prints the plan and changes nothing', async () => {
    await deploy(options({ version: '1.0.0' }), ws.log);
    await deploy(options({ model: IRIS_V2, version: '1.1.0' }), ws.log);
    const plan = await rollback(
      {
        modelName: 'iris',
        environment: 'production',
        target: `file://${ws.repository}`,
        server: ws.server.url,
        reason: 'drill',
        dryRun: true,
      },
      ws.log,
    );
    expect(plan.status).toBe('planned');
    expect(plan.plan.to.numericVersion).toBe(1);
    expect((await infer(ws.server.url)).body.model_version).toBe('2');
    expect((await ws.ledger()).length).toBe(4);
  });
});
