/**
 * Dynamic batching: concurrent requests to one version run as one execution (visible in batch_stats),
 * each request gets its own rows back, and requests whose other dimensions differ are not mixed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/serve/server.js';
import { addModel, identityModel } from '../support/onnx-models.js';
import { addConfig, get, inferBody, post, removeRepository, serve, tempRepository } from './serve-support.js';

let repo: string;
let server: RunningServer;

beforeAll(async () => {
  repo = await tempRepository({
    slow: {
      config: addConfig('slow', { maxBatchSize: 16, batchingDelayUs: 20_000 }),
      versions: { 1: addModel({ constant: 1 }) },
    },
    fast: {
      config: addConfig('fast', { maxBatchSize: 16, batchingDelayUs: 100 }),
      versions: { 1: addModel({ constant: 1 }) },
    },
    ragged: {
      config: [
        'max_batch_size: 8',
        'input [ { name: "X", data_type: TYPE_FP32, dims: [ -1 ] } ]',
        'output [ { name: "Y", data_type: TYPE_FP32, dims: [ -1 ] } ]',
        'dynamic_batching { max_queue_delay_microseconds: 20000 }',
      ].join('\n'),
      versions: { 1: identityModel({ shape: ['batch', 'n'] }) },
    },
  });
  server = await serve(repo);
});

afterAll(async () => {
  await server?.close();
  await removeRepository(repo);
});

interface BatchStat {
  batch_size: number;
  compute_infer: { count: number };
}

async function stats(model: string) {
  const reply = await get(server.url, `/v2/models/${model}/versions/1/stats`);
  return reply.json.model_stats[0] as {
    inference_count: number;
    execution_count: number;
    success: { count: number };
    queue: { count: number; ns: number };
    batch_stats: BatchStat[];
  };
}

describe('dynamic batching', () => {
  it('coalesces concurrent requests within the queue delay and answers each with its own rows', async () => {
    const rows = Array.from({ length: 12 }, (_, i) =>
      i === 5
        ? [
            [i, i, i],
            [i, 0, i],
            [0, i, 0],
          ]
        : [[i, i, i]],
    );
    const replies = await Promise.all(
      rows.map((r) => post(server.url, '/v2/models/slow/infer', inferBody(r, { id: `r${r[0][0]}` }))),
    );
    replies.forEach((reply, i) => {
      expect(reply.status).toBe(200);
      expect(reply.json.id).toBe(`r${i}`);
      expect(reply.json.outputs[0].shape).toEqual([rows[i].length, 3]);
      expect(reply.json.outputs[0].data).toEqual(rows[i].flat().map((v) => v + 1));
    });
    const s = await stats('slow');
    expect(s.success.count).toBe(12);
    expect(s.inference_count).toBe(14);
    expect(s.execution_count).toBeLessThan(12);
    expect(Math.max(...s.batch_stats.map((b) => b.batch_size))).toBeGreaterThan(1);
    expect(s.batch_stats.reduce((n, b) => n + b.batch_size * b.compute_infer.count, 0)).toBe(14);
    // Requests waited in the queue for their batch.
    expect(s.queue.count).toBe(12);
    expect(s.queue.ns).toBeGreaterThan(0);
  });

  it('never exceeds max_batch_size rows in one execution', async () => {
    const before = await stats('slow');
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) => post(server.url, '/v2/models/slow/infer', inferBody([[i, 0, 0]]))),
    );
    replies.forEach((reply, i) => expect(reply.json.outputs[0].data).toEqual([i + 1, 1, 1]));
    const after = await stats('slow');
    expect(after.inference_count - before.inference_count).toBe(40);
    expect(Math.max(...after.batch_stats.map((b) => b.batch_size))).toBeLessThanOrEqual(16);
    expect(after.execution_count - before.execution_count).toBeGreaterThanOrEqual(3);
  });

  it('answers correctly with a delay below a millisecond', async () => {
    const replies = await Promise.all(
      Array.from({ length: 24 }, (_, i) => post(server.url, '/v2/models/fast/infer', inferBody([[i, i, 0]]))),
    );
    replies.forEach((reply, i) => expect(reply.json.outputs[0].data).toEqual([i + 1, i + 1, 1]));
    const s = await stats('fast');
    expect(s.inference_count).toBe(24);
    expect(s.batch_stats.reduce((n, b) => n + b.batch_size * b.compute_infer.count, 0)).toBe(24);
  });

  it('does not mix requests whose other dimensions differ', async () => {
    const shapes = [2, 3, 2, 3, 5];
    const replies = await Promise.all(
      shapes.map((n, i) =>
        post(server.url, '/v2/models/ragged/infer', {
          inputs: [
            { name: 'X', shape: [1, n], datatype: 'FP32', data: Array.from({ length: n }, (_, k) => i * 10 + k) },
          ],
        }),
      ),
    );
    replies.forEach((reply, i) => {
      expect(reply.status).toBe(200);
      expect(reply.json.outputs[0].data).toEqual(Array.from({ length: shapes[i] }, (_, k) => i * 10 + k));
    });
    const s = await stats('ragged');
    // One execution per distinct shape: the two [1, 2] requests together, the two [1, 3] together.
    expect(s.execution_count).toBe(3);
  });
});
