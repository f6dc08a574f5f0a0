/**
 * Per model version counters: Triton's statistics extension shape for `/v2/models/{m}/stats` and the
 * Prometheus text for `/metrics` (Triton's metric names, plus a latency histogram).
 */

export interface Duration {
  count: number;
  ns: number;
}

const duration = (): Duration => ({ count: 0, ns: 0 });
const add = (d: Duration, ns: number) => {
  d.count++;
  d.ns += ns;
};

/** Upper bounds in seconds of the request latency histogram. */
export const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export class VersionStats {
  inferenceCount = 0;
  executionCount = 0;
  lastInference = 0;
  readonly success = duration();
  readonly fail = duration();
  readonly queue = duration();
  readonly computeInput = duration();
  readonly computeInfer = duration();
  readonly computeOutput = duration();
  /** Executions by batch size (rows in one run). */
  readonly batches = new Map<number, { computeInput: Duration; computeInfer: Duration; computeOutput: Duration }>();
  /** Cumulative request count per latency bucket, the last one being +Inf. */
  readonly latency = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);

  constructor(
    readonly model: string,
    readonly version: string,
  ) {}

  /** One request answered: `ns` from arrival to answer, success or not. */
  request(ok: boolean, ns: number): void {
    add(ok ? this.success : this.fail, ns);
    this.lastInference = Date.now();
    const seconds = ns / 1e9;
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]) i++;
    this.latency[i]++;
  }

  queued(ns: number): void {
    add(this.queue, ns);
  }

  /** One model run over `rows` rows, serving `requests` requests. */
  execution(rows: number, inputNs: number, inferNs: number, outputNs: number): void {
    this.executionCount++;
    this.inferenceCount += rows;
    add(this.computeInput, inputNs);
    add(this.computeInfer, inferNs);
    add(this.computeOutput, outputNs);
    let batch = this.batches.get(rows);
    if (!batch) {
      batch = { computeInput: duration(), computeInfer: duration(), computeOutput: duration() };
      this.batches.set(rows, batch);
    }
    add(batch.computeInput, inputNs);
    add(batch.computeInfer, inferNs);
    add(batch.computeOutput, outputNs);
  }

  /** One entry of Triton's `model_stats`. */
  toJson(): Record<string, unknown> {
    const inferenceStats = {
      success: { ...this.success },
      fail: { ...this.fail },
      queue: { ...this.queue },
      compute_input: { ...this.computeInput },
      compute_infer: { ...this.computeInfer },
      compute_output: { ...this.computeOutput },
      cache_hit: duration(),
      cache_miss: duration(),
    };
    return {
      name: this.model,
      version: this.version,
      last_inference: this.lastInference,
      inference_count: this.inferenceCount,
      execution_count: this.executionCount,
      success: inferenceStats.success,
      fail: inferenceStats.fail,
      queue: inferenceStats.queue,
      inference_stats: inferenceStats,
      batch_stats: [...this.batches.entries()]
        .sort(([a], [b]) => a - b)
        .map(([size, b]) => ({
          batch_size: size,
          compute_input: { ...b.computeInput },
          compute_infer: { ...b.computeInfer },
          compute_output: { ...b.computeOutput },
        })),
    };
  }
}

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Prometheus text exposition (version 0.0.4) for the given versions. */
export function prometheusText(
  all: VersionStats[],
  extra: { ready: Array<{ model: string; version: string; ready: boolean }> },
): string {
  const lines: string[] = [];
  const labels = (s: VersionStats) => `model="${escapeLabel(s.model)}",version="${escapeLabel(s.version)}"`;
  const family = (name: string, type: string, help: string, value: (s: VersionStats) => number) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const s of all) lines.push(`${name}{${labels(s)}} ${value(s)}`);
  };
  family(
    'nv_inference_request_success',
    'counter',
    'Number of successful inference requests, all batch sizes',
    (s) => s.success.count,
  );
  family(
    'nv_inference_request_failure',
    'counter',
    'Number of failed inference requests, all batch sizes',
    (s) => s.fail.count,
  );
  family(
    'nv_inference_count',
    'counter',
    'Number of inferences performed (a batch of n counts n)',
    (s) => s.inferenceCount,
  );
  family('nv_inference_exec_count', 'counter', 'Number of model executions performed', (s) => s.executionCount);
  family('nv_inference_request_duration_us', 'counter', 'Cumulative inference request duration in microseconds', (s) =>
    Math.round((s.success.ns + s.fail.ns) / 1000),
  );
  family('nv_inference_queue_duration_us', 'counter', 'Cumulative inference queuing duration in microseconds', (s) =>
    Math.round(s.queue.ns / 1000),
  );
  family(
    'nv_inference_compute_infer_duration_us',
    'counter',
    'Cumulative compute inference duration in microseconds',
    (s) => Math.round(s.computeInfer.ns / 1000),
  );

  const histogram = 'modelship_inference_request_duration_seconds';
  lines.push(
    `# HELP ${histogram} Inference request duration in seconds, success and failure`,
    `# TYPE ${histogram} histogram`,
  );
  for (const s of all) {
    let cumulative = 0;
    LATENCY_BUCKETS.forEach((bound, i) => {
      cumulative += s.latency[i];
      lines.push(`${histogram}_bucket{${labels(s)},le="${bound}"} ${cumulative}`);
    });
    cumulative += s.latency[LATENCY_BUCKETS.length];
    lines.push(`${histogram}_bucket{${labels(s)},le="+Inf"} ${cumulative}`);
    lines.push(`${histogram}_sum{${labels(s)}} ${(s.success.ns + s.fail.ns) / 1e9}`);
    lines.push(`${histogram}_count{${labels(s)}} ${cumulative}`);
  }

  lines.push(
    '# HELP modelship_model_ready Whether a model version is loaded and ready (1) or not (0)',
    '# TYPE modelship_model_ready gauge',
  );
  for (const r of extra.ready)
    lines.push(
      `modelship_model_ready{model="${escapeLabel(r.model)}",version="${escapeLabel(r.version)}"} ${r.ready ? 1 : 0}`,
    );
  return lines.join('\n') + '\n';
}
