/**
 * One loaded model version: its session, the signature requests are checked against, its statistics and,
 * when configured, its batcher. Counts requests in flight so the session is released only after the last.
 */
import type { TensorValue } from '../runtime/tensor.js';
import { DynamicBatcher } from './batcher.js';
import type { ModelConfig, ServedSignature } from './model-config.js';
import type { ModelSession } from '../runtime/session.js';
import type { VersionStats } from './statistics.js';

export type VersionState = 'READY' | 'UNLOADING';

const nowNs = () => performance.now() * 1e6;

export class ServedVersion {
  state: VersionState = 'READY';
  private inflight = 0;
  private drainedResolve: (() => void) | undefined;
  private readonly drained: Promise<void>;
  private retired: Promise<void> | undefined;
  private readonly batcher: DynamicBatcher | undefined;
  private readonly outputNames: string[];
  readonly label: string;

  constructor(
    readonly model: string,
    readonly version: number,
    readonly session: ModelSession,
    readonly config: ModelConfig,
    readonly signature: ServedSignature,
    /** The model file and config this was loaded from; a reload with other values replaces it. */
    readonly fingerprint: string,
    readonly stats: VersionStats,
  ) {
    this.label = String(version);
    this.drained = new Promise((resolve) => (this.drainedResolve = resolve));
    this.outputNames = signature.outputs.map((o) => o.name);
    if (config.dynamicBatching && config.maxBatchSize > 0) {
      this.batcher = new DynamicBatcher(
        (feeds) => this.session.run(feeds, this.outputNames),
        config.maxBatchSize,
        config.dynamicBatching.maxQueueDelayMicroseconds,
        stats,
      );
    }
  }

  get inFlight(): number {
    return this.inflight;
  }

  acquire(): void {
    this.inflight++;
  }

  release(): void {
    this.inflight--;
    if (this.inflight === 0 && this.state === 'UNLOADING') this.drainedResolve?.();
  }

  /** Runs one request: through the batcher when the config asks for dynamic batching, else on its own. */
  infer(
    inputs: Record<string, TensorValue>,
    rows: number,
    outputNames: string[],
  ): Promise<Record<string, TensorValue>> {
    return this.batcher ? this.batcher.submit(inputs, rows) : this.runAlone(inputs, rows, outputNames);
  }

  private async runAlone(
    inputs: Record<string, TensorValue>,
    rows: number,
    outputNames: string[],
  ): Promise<Record<string, TensorValue>> {
    this.stats.queued(0);
    const start = nowNs();
    const outputs = await this.session.run(
      inputs,
      outputNames.length === this.outputNames.length ? this.outputNames : outputNames,
    );
    this.stats.execution(rows, 0, nowNs() - start, 0);
    return outputs;
  }

  /** Stops taking requests; resolves once those in flight are answered and the session is released. */
  retire(): Promise<void> {
    this.retired ??= (async () => {
      this.state = 'UNLOADING';
      if (this.inflight === 0) this.drainedResolve?.();
      await this.drained;
      await this.session.release().catch(() => undefined);
    })();
    return this.retired;
  }
}
