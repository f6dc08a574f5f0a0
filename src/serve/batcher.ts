/**
 * Dynamic batching: requests to one model version that arrive close together run as one model execution
 * along the batch dimension, up to max_batch_size rows. While an execution runs, new requests gather for
 * the next one. When the version is idle, a request waits for company at most max_queue_delay_microseconds;
 * a delay below a millisecond (node's timers cannot wait less) means it runs at once.
 */
import type { TensorValue } from '../runtime/tensor.js';
import type { VersionStats } from './statistics.js';
import { concatBatch, splitBatch } from '../runtime/convert.js';

export type RunModel = (feeds: Record<string, TensorValue>) => Promise<Record<string, TensorValue>>;

interface Job {
  inputs: Record<string, TensorValue>;
  rows: number;
  /** Requests whose non-batch dimensions agree can share an execution; worked out when it matters. */
  key: string | undefined;
  enqueued: number;
  resolve(outputs: Record<string, TensorValue>): void;
  reject(error: unknown): void;
}

const nowNs = () => performance.now() * 1e6;

function keyOf(job: Job): string {
  if (job.key === undefined) {
    let key = '';
    for (const name in job.inputs) key += `${name}:${job.inputs[name].shape.slice(1).join('x')};`;
    job.key = key;
  }
  return job.key;
}

export class DynamicBatcher {
  private queue: Job[] = [];
  private busy = false;
  private scheduled: NodeJS.Timeout | undefined;

  constructor(
    private readonly runModel: RunModel,
    private readonly maxBatchSize: number,
    private readonly delayMicroseconds: number,
    private readonly stats: VersionStats,
  ) {}

  submit(inputs: Record<string, TensorValue>, rows: number): Promise<Record<string, TensorValue>> {
    // Idle, nothing queued and no wait to make: run at once, without the queue's bookkeeping.
    if (!this.busy && this.queue.length === 0 && (this.delayMicroseconds < 1000 || rows >= this.maxBatchSize))
      return this.runAlone(inputs, rows);
    return new Promise((resolve, reject) => {
      this.queue.push({ inputs, rows, key: undefined, enqueued: nowNs(), resolve, reject });
      if (this.busy) return;
      // Idle with a delay below node's timer resolution: run now. Requests that arrive meanwhile gather
      // for the next execution, so a lone request pays no wait and a burst is still batched.
      if (this.delayMicroseconds < 1000 || this.queuedRows() >= this.maxBatchSize) this.flush();
      else this.scheduled ??= setTimeout(() => this.flush(), this.delayMicroseconds / 1000);
    });
  }

  private async runAlone(inputs: Record<string, TensorValue>, rows: number): Promise<Record<string, TensorValue>> {
    this.busy = true;
    this.stats.queued(0);
    try {
      const start = nowNs();
      const outputs = await this.runModel(inputs);
      this.stats.execution(rows, 0, nowNs() - start, 0);
      return outputs;
    } finally {
      // Requests that arrived meanwhile run next, before this one is answered.
      this.busy = false;
      if (this.queue.length > 0) this.flush();
    }
  }

  private queuedRows(): number {
    let rows = 0;
    for (const job of this.queue) rows += job.rows;
    return rows;
  }

  private flush(): void {
    if (this.scheduled) {
      clearTimeout(this.scheduled);
      this.scheduled = undefined;
    }
    if (this.busy || this.queue.length === 0) return;
    const first = this.queue[0];
    if (this.queue.length === 1) {
      this.queue = [];
      this.run([first], first.rows);
      return;
    }
    const batch: Job[] = [];
    const rest: Job[] = [];
    let rows = 0;
    const firstKey = keyOf(first);
    for (const job of this.queue) {
      if (keyOf(job) === firstKey && rows + job.rows <= this.maxBatchSize) {
        batch.push(job);
        rows += job.rows;
      } else rest.push(job);
    }
    this.queue = rest;
    this.run(batch, rows);
  }

  private run(batch: Job[], rows: number): void {
    this.busy = true;
    void this.execute(batch, rows).finally(() => {
      this.busy = false;
      if (this.queue.length > 0) this.flush();
    });
  }

  private async execute(batch: Job[], rows: number): Promise<void> {
    const start = nowNs();
    for (const job of batch) this.stats.queued(start - job.enqueued);
    try {
      if (batch.length === 1) {
        // Nothing to join or split.
        const outputs = await this.runModel(batch[0].inputs);
        this.stats.execution(rows, 0, nowNs() - start, 0);
        batch[0].resolve(outputs);
        return;
      }
      const feeds: Record<string, TensorValue> = {};
      for (const name in batch[0].inputs) feeds[name] = concatBatch(batch.map((j) => j.inputs[name]));
      const ran = nowNs();
      const outputs = await this.runModel(feeds);
      const done = nowNs();
      const pieces = batch.map(() => ({}) as Record<string, TensorValue>);
      const sizes = batch.map((j) => j.rows);
      for (const [name, tensor] of Object.entries(outputs)) {
        if (tensor.shape[0] !== rows)
          throw new Error(`output '${name}' has ${tensor.shape[0]} rows for a batch of ${rows}`);
        splitBatch(tensor, sizes).forEach((piece, i) => (pieces[i][name] = piece));
      }
      this.stats.execution(rows, ran - start, done - ran, nowNs() - done);
      batch.forEach((job, i) => job.resolve(pieces[i]));
    } catch (error) {
      if (batch.length === 1) {
        batch[0].reject(error);
        return;
      }
      // One request's data can make the model fail; run each alone so only that request fails.
      for (const job of batch) {
        const start = nowNs();
        try {
          const outputs = await this.runModel(job.inputs);
          this.stats.execution(job.rows, 0, nowNs() - start, 0);
          job.resolve(outputs);
        } catch (alone) {
          job.reject(alone);
        }
      }
    }
  }
}
