/** Regression: the candidate and, when paired, the baseline on the same rows. */
import {
  bootstrapGroupOf,
  bootstrapResamples,
  GroupedStats,
  percentileInterval,
  weightedColumns,
  type GroupedStatsState,
} from './bootstrap.js';
import {
  addSlices,
  bootstrapEvidence,
  type Evidence,
  type EvaluationSettings,
  type EvaluationState,
  type EvaluationSummary,
  type TaskEvaluation,
} from './evaluation.js';
import { RegressionAccumulator, regressionMetrics, type RegressionState } from './regression.js';
import { SliceTable } from './slices.js';

const [ROWS, PERCENT_ROWS] = [0, 1];
const [ABS_B, ABS_C, SQ_B, SQ_C, Y, Y2, PCT_B, PCT_C] = [0, 1, 2, 3, 4, 5, 6, 7];
const METRICS = ['mae', 'rmse', 'r2', 'mape'] as const;

interface SliceEntry {
  candidate: RegressionAccumulator;
  baseline?: RegressionAccumulator;
}

interface RegressionData {
  rows: number;
  candidate: RegressionState;
  baseline?: RegressionState;
  groups?: GroupedStatsState;
  slices: Record<string, Record<string, { candidate: RegressionState; baseline?: RegressionState }>>;
  droppedSlices: string[];
}

export class RegressionEvaluation implements TaskEvaluation {
  readonly task = 'regression' as const;
  readonly candidate = new RegressionAccumulator();
  readonly baseline?: RegressionAccumulator;
  private readonly groups?: GroupedStats;
  private readonly slices: SliceTable<SliceEntry>;
  rows = 0;

  constructor(readonly settings: EvaluationSettings) {
    if (settings.paired) {
      this.baseline = new RegressionAccumulator();
      this.groups = new GroupedStats(2, 8);
    }
    this.slices = new SliceTable(settings.sliceFields, () => ({
      candidate: new RegressionAccumulator(),
      baseline: settings.paired ? new RegressionAccumulator() : undefined,
    }));
  }

  add(
    index: number,
    actual: number,
    slices: ReadonlyArray<string | undefined>,
    candidate: number,
    baseline?: number,
  ): void {
    this.rows++;
    this.candidate.add(actual, candidate);
    if (this.baseline && baseline !== undefined) {
      this.baseline.add(actual, baseline);
      const groups = this.groups!;
      const g = bootstrapGroupOf(this.settings.seed, index);
      groups.touch(g);
      const eB = baseline - actual;
      const eC = candidate - actual;
      groups.count(g, ROWS);
      groups.sum(g, ABS_B, Math.abs(eB));
      groups.sum(g, ABS_C, Math.abs(eC));
      groups.sum(g, SQ_B, eB * eB);
      groups.sum(g, SQ_C, eC * eC);
      groups.sum(g, Y, actual);
      groups.sum(g, Y2, actual * actual);
      if (actual !== 0) {
        groups.count(g, PERCENT_ROWS);
        groups.sum(g, PCT_B, Math.abs(eB / actual));
        groups.sum(g, PCT_C, Math.abs(eC / actual));
      }
    }
    for (let f = 0; f < slices.length; f++) {
      const value = slices[f];
      if (value === undefined) continue;
      const entry = this.slices.entry(this.settings.sliceFields[f], value);
      if (!entry) continue;
      entry.candidate.add(actual, candidate);
      if (entry.baseline && baseline !== undefined) entry.baseline.add(actual, baseline);
    }
  }

  summary(): EvaluationSummary {
    const summary: EvaluationSummary = {
      task: this.task,
      rows: this.rows,
      metrics: this.candidate.metrics(),
      evidence: {},
      details: {},
    };
    if (this.baseline) {
      summary.baselineMetrics = this.baseline.metrics();
      summary.evidence = this.evidence();
    }
    addSlices(summary, this.slices, (entry) => ({
      rows: entry.candidate.rows,
      metrics: entry.candidate.metrics(),
      ...(entry.baseline ? { baseline: entry.baseline.metrics() } : {}),
    }));
    return summary;
  }

  private evidence(): Record<string, Evidence> {
    const groups = this.groups!;
    const { counts, sums, countColumns } = groups.table();
    const { seed, resamples, confidence } = this.settings;
    const deltas = bootstrapResamples(groups.used, resamples, seed, (weights) => {
      const c = weightedColumns(counts, countColumns, weights, 2);
      const s = weightedColumns(sums, 8, weights);
      const common = { rows: c[ROWS], actual: s[Y], actualSquared: s[Y2], percentRows: c[PERCENT_ROWS] };
      const mB = regressionMetrics({ ...common, absError: s[ABS_B], squaredError: s[SQ_B], percentError: s[PCT_B] });
      const mC = regressionMetrics({ ...common, absError: s[ABS_C], squaredError: s[SQ_C], percentError: s[PCT_C] });
      return METRICS.map((m) => mC[m] - mB[m]);
    });
    return bootstrapEvidence(
      METRICS,
      METRICS.map((_, i) => percentileInterval(deltas[i] ?? [], confidence)),
      confidence,
      resamples,
      this.rows,
    );
  }

  toState(): EvaluationState {
    const slices: RegressionData['slices'] = this.slices.map((entry) => ({
      candidate: entry.candidate.toState(),
      ...(entry.baseline ? { baseline: entry.baseline.toState() } : {}),
    }));
    const data: RegressionData = {
      rows: this.rows,
      candidate: this.candidate.toState(),
      slices,
      droppedSlices: this.slices.dropped(),
    };
    if (this.baseline) {
      data.baseline = this.baseline.toState();
      data.groups = this.groups!.toState();
    }
    return { task: this.task, settings: this.settings, data };
  }

  mergeState(state: EvaluationState): void {
    const data = state.data as RegressionData;
    this.rows += data.rows;
    this.candidate.mergeState(data.candidate);
    if (this.baseline && data.baseline) this.baseline.mergeState(data.baseline);
    if (this.groups && data.groups) this.groups.mergeState(data.groups);
    for (const field of data.droppedSlices) this.slices.markDropped(field);
    for (const [field, values] of Object.entries(data.slices)) {
      for (const [value, s] of Object.entries(values)) {
        const entry = this.slices.entry(field, value);
        if (!entry) continue;
        entry.candidate.mergeState(s.candidate);
        if (entry.baseline && s.baseline) entry.baseline.mergeState(s.baseline);
      }
    }
  }
}
