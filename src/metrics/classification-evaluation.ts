/** Classification: the candidate and, when paired, the baseline on the same rows. */
import {
  bootstrapGroupOf,
  bootstrapResamples,
  GroupedStats,
  percentileInterval,
  weightedColumns,
  type GroupedStatsState,
} from './bootstrap.js';
import { ClassificationAccumulator, countMetrics, type ClassificationState } from './classification.js';
import {
  addSlices,
  bootstrapEvidence,
  type Evidence,
  type EvaluationSettings,
  type EvaluationState,
  type EvaluationSummary,
  type TaskEvaluation,
} from './evaluation.js';
import { FlipLog, type FlipState } from './flips.js';
import { LabelSpace } from './labels.js';
import { addPaired, emptyPairedCounts, mcnemarExact, mergePaired, type PairedCounts } from './mcnemar.js';
import type { ClassBatch } from './predictions.js';
import { SliceTable } from './slices.js';

/** A model's answer for one row: a class id, and its probabilities when the model gives them. */
export interface ClassPrediction {
  label: number;
  probabilities?: ArrayLike<number>;
  offset?: number;
  width?: number;
}

/** Group columns: row count, then per class: true count, both models' hits and predictions. */
const ROWS = 0;
const PER_CLASS = 5;
const column = (classId: number, slot: number) => 1 + classId * PER_CLASS + slot;
const [ACTUAL, TP_BASELINE, TP_CANDIDATE, PRED_BASELINE, PRED_CANDIDATE] = [0, 1, 2, 3, 4];
const [LOSS_BASELINE, LOSS_CANDIDATE] = [0, 1];

/** Keeps the bootstrap to a few seconds even with many classes. */
const BOOTSTRAP_WORK_BUDGET = 3e8;

interface SliceEntry {
  candidate: ClassificationAccumulator;
  baseline?: ClassificationAccumulator;
  pairs: PairedCounts;
}

interface ClassificationData {
  labels: string[];
  topK: number;
  candidate: ClassificationState;
  baseline?: ClassificationState;
  accuracy?: PairedCounts;
  top?: PairedCounts;
  groups?: GroupedStatsState;
  slices: Record<
    string,
    Record<string, { candidate: ClassificationState; baseline?: ClassificationState; pairs: PairedCounts }>
  >;
  droppedSlices: string[];
  flips: FlipState;
}

/** Top-k for k = 5 with many classes, 2 with a few; none with two or fewer classes, where it is always 1. */
export const defaultTopK = (classes: number): number => (classes > 5 ? 5 : classes >= 3 ? 2 : 0);

export class ClassificationEvaluation implements TaskEvaluation {
  readonly task = 'classification' as const;
  readonly labels: LabelSpace;
  readonly candidate: ClassificationAccumulator;
  readonly baseline?: ClassificationAccumulator;
  private readonly accuracy = emptyPairedCounts();
  private readonly top = emptyPairedCounts();
  private readonly groups?: GroupedStats;
  private readonly slices: SliceTable<SliceEntry>;
  private readonly flips: FlipLog;
  rows = 0;

  constructor(
    readonly settings: EvaluationSettings,
    labels: readonly string[],
    readonly topK: number,
  ) {
    this.labels = new LabelSpace(labels);
    this.candidate = new ClassificationAccumulator(this.labels, topK);
    if (settings.paired) {
      this.baseline = new ClassificationAccumulator(this.labels, topK);
      this.groups = new GroupedStats(1 + PER_CLASS * Math.max(1, this.labels.size), 2);
    }
    this.slices = new SliceTable(settings.sliceFields, () => ({
      candidate: new ClassificationAccumulator(this.labels, topK),
      baseline: settings.paired ? new ClassificationAccumulator(this.labels, topK) : undefined,
      pairs: emptyPairedCounts(),
    }));
    this.flips = new FlipLog(settings.flipLimit);
  }

  /** Whether rows must come one by one through `add`: a baseline and slices need each row. */
  get rowByRow(): boolean {
    return this.baseline !== undefined || this.settings.sliceFields.length > 0;
  }

  /**
   * A batch of rows when not `rowByRow`: the same counts as `add` row by row. `actual` holds each row's
   * class id from `labels`.
   */
  addBatch(actual: Int32Array, rows: number, candidate: ClassBatch): void {
    this.rows += rows;
    this.candidate.addBatch(actual, candidate.labels, rows, candidate.probabilities, candidate.width);
  }

  /**
   * One row. `actual` is a class id from `labels`; `slices` holds the row's value for each slice field,
   * in the order of `settings.sliceFields`.
   */
  add(
    index: number,
    id: string | undefined,
    actual: number,
    slices: ReadonlyArray<string | undefined>,
    candidate: ClassPrediction,
    baseline?: ClassPrediction,
  ): void {
    this.rows++;
    const cand = this.candidate;
    cand.add(actual, candidate.label, candidate.probabilities, candidate.offset, candidate.width);
    const candidateRight = candidate.label === actual;

    let baselineRight = false;
    if (this.baseline && baseline) {
      const base = this.baseline;
      base.add(actual, baseline.label, baseline.probabilities, baseline.offset, baseline.width);
      baselineRight = baseline.label === actual;
      addPaired(this.accuracy, baselineRight, candidateRight);
      if (candidate.probabilities && baseline.probabilities && this.topK > 0) {
        addPaired(this.top, base.lastTopHit, cand.lastTopHit);
      }
      this.addToGroup(index, actual, candidate, baseline, cand.lastLogLoss, base.lastLogLoss);
      if (baseline.label !== candidate.label) {
        this.flips.add(
          {
            index,
            ...(id !== undefined ? { id } : {}),
            expected: this.labels.names[actual],
            baseline: this.labels.names[baseline.label],
            candidate: this.labels.names[candidate.label],
          },
          candidateRight ? 'fixed' : baselineRight ? 'broken' : 'changed',
        );
      }
    }

    for (let f = 0; f < slices.length; f++) {
      const value = slices[f];
      if (value === undefined) continue;
      const entry = this.slices.entry(this.settings.sliceFields[f], value);
      if (!entry) continue;
      entry.candidate.add(actual, candidate.label, candidate.probabilities, candidate.offset, candidate.width);
      if (entry.baseline && baseline) {
        entry.baseline.add(actual, baseline.label, baseline.probabilities, baseline.offset, baseline.width);
        addPaired(entry.pairs, baselineRight, candidateRight);
      }
    }
  }

  private addToGroup(
    index: number,
    actual: number,
    candidate: ClassPrediction,
    baseline: ClassPrediction,
    candidateLoss: number,
    baselineLoss: number,
  ): void {
    const groups = this.groups!;
    const g = bootstrapGroupOf(this.settings.seed, index);
    groups.touch(g);
    groups.widen(1 + PER_CLASS * this.labels.size);
    groups.count(g, ROWS);
    groups.count(g, column(actual, ACTUAL));
    groups.count(g, column(candidate.label, PRED_CANDIDATE));
    groups.count(g, column(baseline.label, PRED_BASELINE));
    if (candidate.label === actual) groups.count(g, column(actual, TP_CANDIDATE));
    if (baseline.label === actual) groups.count(g, column(actual, TP_BASELINE));
    if (candidate.probabilities && baseline.probabilities) {
      groups.sum(g, LOSS_CANDIDATE, candidateLoss);
      groups.sum(g, LOSS_BASELINE, baselineLoss);
    }
  }

  summary(): EvaluationSummary {
    const metrics = this.candidate.metrics();
    const summary: EvaluationSummary = {
      task: this.task,
      rows: this.rows,
      metrics,
      evidence: {},
      details: {
        labels: [...this.labels.names],
        confusion: this.candidate.matrix(),
        classes: this.candidate.perClass(),
      },
    };
    if (this.baseline) {
      const baselineMetrics = this.baseline.metrics();
      summary.baselineMetrics = baselineMetrics;
      summary.details.baselineConfusion = this.baseline.matrix();
      summary.details.baselineClasses = this.baseline.perClass();
      summary.evidence = this.evidence(metrics, baselineMetrics);
      summary.flips = this.flips.toState();
    }
    addSlices(summary, this.slices, (entry) => ({
      rows: entry.candidate.rows,
      metrics: entry.candidate.metrics(),
      ...(entry.baseline
        ? { baseline: entry.baseline.metrics(), evidence: { accuracy: mcnemarEvidence(entry.pairs) } }
        : {}),
    }));
    return summary;
  }

  private evidence(candidate: Record<string, number>, baseline: Record<string, number>): Record<string, Evidence> {
    const evidence: Record<string, Evidence> = { accuracy: mcnemarEvidence(this.accuracy) };
    const topName = `top${this.topK}_accuracy`;
    if (topName in candidate && topName in baseline) evidence[topName] = mcnemarEvidence(this.top);

    const withLoss = 'log_loss' in candidate && 'log_loss' in baseline;
    const names = ['balanced_accuracy', 'macro_f1', 'weighted_f1', ...(withLoss ? ['log_loss'] : [])];
    const groups = this.groups!;
    const { counts, sums, countColumns } = groups.table();
    const classes = this.labels.size;
    const width = 1 + PER_CLASS * classes;
    const used = groups.used;
    const { seed, confidence } = this.settings;
    const resamples = Math.max(
      200,
      Math.min(this.settings.resamples, Math.floor(BOOTSTRAP_WORK_BUDGET / Math.max(1, used * width))),
    );
    const actual = new Float64Array(classes);
    const tpB = new Float64Array(classes);
    const tpC = new Float64Array(classes);
    const predB = new Float64Array(classes);
    const predC = new Float64Array(classes);
    const deltas = bootstrapResamples(used, resamples, seed, (weights) => {
      const c = weightedColumns(counts, countColumns, weights, width);
      for (let k = 0; k < classes; k++) {
        actual[k] = c[column(k, ACTUAL)];
        tpB[k] = c[column(k, TP_BASELINE)];
        tpC[k] = c[column(k, TP_CANDIDATE)];
        predB[k] = c[column(k, PRED_BASELINE)];
        predC[k] = c[column(k, PRED_CANDIDATE)];
      }
      const mB = countMetrics(actual, predB, tpB, classes);
      const mC = countMetrics(actual, predC, tpC, classes);
      const out = [
        mC.balanced_accuracy - mB.balanced_accuracy,
        mC.macro_f1 - mB.macro_f1,
        mC.weighted_f1 - mB.weighted_f1,
      ];
      if (withLoss) {
        const s = weightedColumns(sums, 2, weights, 2);
        out.push((s[LOSS_CANDIDATE] - s[LOSS_BASELINE]) / c[ROWS]);
      }
      return out;
    });
    Object.assign(
      evidence,
      bootstrapEvidence(
        names,
        names.map((_, i) => percentileInterval(deltas[i] ?? [], confidence)),
        confidence,
        resamples,
        this.rows,
      ),
    );
    return evidence;
  }

  toState(): EvaluationState {
    const slices: ClassificationData['slices'] = this.slices.map((entry) => ({
      candidate: entry.candidate.toState(),
      ...(entry.baseline ? { baseline: entry.baseline.toState() } : {}),
      pairs: entry.pairs,
    }));
    const data: ClassificationData = {
      labels: [...this.labels.names],
      topK: this.topK,
      candidate: this.candidate.toState(),
      slices,
      droppedSlices: this.slices.dropped(),
      flips: this.flips.toState(),
    };
    if (this.baseline) {
      data.baseline = this.baseline.toState();
      data.accuracy = { ...this.accuracy };
      data.top = { ...this.top };
      data.groups = this.groups!.toState();
    }
    return { task: this.task, settings: this.settings, data: { rows: this.rows, ...data } };
  }

  mergeState(state: EvaluationState): void {
    const data = state.data as ClassificationData & { rows: number };
    this.rows += data.rows;
    const ids = data.labels.map((name) => this.labels.id(name));
    this.candidate.mergeState(data.candidate);
    if (this.baseline && data.baseline) this.baseline.mergeState(data.baseline);
    if (data.accuracy) mergePaired(this.accuracy, data.accuracy);
    if (data.top) mergePaired(this.top, data.top);
    if (this.groups && data.groups) {
      this.groups.mergeState(data.groups, (c) =>
        c === ROWS ? ROWS : column(ids[Math.floor((c - 1) / PER_CLASS)], (c - 1) % PER_CLASS),
      );
    }
    for (const field of data.droppedSlices) this.slices.markDropped(field);
    for (const [field, values] of Object.entries(data.slices)) {
      for (const [value, s] of Object.entries(values)) {
        const entry = this.slices.entry(field, value);
        if (!entry) continue;
        entry.candidate.mergeState(s.candidate);
        if (entry.baseline && s.baseline) entry.baseline.mergeState(s.baseline);
        mergePaired(entry.pairs, s.pairs);
      }
    }
    this.flips.mergeState(data.flips);
  }
}

export function mcnemarEvidence(pairs: PairedCounts): Evidence {
  return {
    test: 'mcnemar',
    pValue: mcnemarExact(pairs.baselineOnly, pairs.candidateOnly),
    baselineOnly: pairs.baselineOnly,
    candidateOnly: pairs.candidateOnly,
    rows: pairs.both + pairs.baselineOnly + pairs.candidateOnly + pairs.neither,
  };
}
