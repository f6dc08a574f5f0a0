/** Golden checks: expected outputs, for the candidate and, when paired, the baseline. */
import { mcnemarEvidence } from './classification-evaluation.js';
import type { EvaluationSettings, EvaluationState, EvaluationSummary, TaskEvaluation } from './evaluation.js';
import { FlipLog, type FlipState } from './flips.js';
import { GoldenAccumulator, type ElementComparison, type GoldenState } from './golden.js';
import { addPaired, emptyPairedCounts, mergePaired, type PairedCounts } from './mcnemar.js';

/** The first few failing cases, with what failed, for the report. */
export interface GoldenFailure {
  index: number;
  id?: string;
  output: string;
  message: string;
}

interface GoldenData {
  rows: number;
  candidate: GoldenState;
  baseline?: GoldenState;
  pairs?: PairedCounts;
  flips: FlipState;
  failures: GoldenFailure[];
}

export class GoldenEvaluation implements TaskEvaluation {
  readonly task = 'golden' as const;
  readonly candidate = new GoldenAccumulator();
  readonly baseline?: GoldenAccumulator;
  private readonly pairs = emptyPairedCounts();
  private readonly flips: FlipLog;
  private failures: GoldenFailure[] = [];
  rows = 0;

  constructor(readonly settings: EvaluationSettings) {
    if (settings.paired) this.baseline = new GoldenAccumulator();
    this.flips = new FlipLog(settings.flipLimit);
  }

  add(
    index: number,
    id: string | undefined,
    candidate: Record<string, ElementComparison & { message?: string }>,
    baseline?: Record<string, ElementComparison>,
  ): void {
    this.rows++;
    const candidatePass = this.candidate.addCase(candidate);
    if (!candidatePass && this.failures.length < this.settings.flipLimit) {
      for (const [output, c] of Object.entries(candidate)) {
        if (c.mismatches === 0 || this.failures.length >= this.settings.flipLimit) continue;
        const message =
          c.message ??
          (c.first
            ? `${c.mismatches} of ${c.elements} values out of tolerance; first at ${c.first.index}: got ${c.first.actual}, expected ${c.first.expected}`
            : `${c.mismatches} of ${c.elements} values out of tolerance`);
        this.failures.push({ index, ...(id !== undefined ? { id } : {}), output, message });
      }
    }
    if (this.baseline && baseline) {
      const baselinePass = this.baseline.addCase(baseline);
      addPaired(this.pairs, baselinePass, candidatePass);
      if (baselinePass !== candidatePass) {
        this.flips.add(
          {
            index,
            ...(id !== undefined ? { id } : {}),
            baseline: baselinePass ? 'pass' : 'fail',
            candidate: candidatePass ? 'pass' : 'fail',
          },
          candidatePass ? 'fixed' : 'broken',
        );
      }
    }
  }

  summary(): EvaluationSummary {
    const summary: EvaluationSummary = {
      task: this.task,
      rows: this.rows,
      metrics: this.candidate.metrics(),
      evidence: {},
      details: { outputs: this.candidate.perOutput(), failures: this.failures },
    };
    if (this.baseline) {
      summary.baselineMetrics = this.baseline.metrics();
      summary.details.baselineOutputs = this.baseline.perOutput();
      summary.evidence = { pass_rate: mcnemarEvidence(this.pairs) };
      summary.flips = this.flips.toState();
    }
    return summary;
  }

  toState(): EvaluationState {
    const data: GoldenData = {
      rows: this.rows,
      candidate: this.candidate.toState(),
      flips: this.flips.toState(),
      failures: this.failures,
    };
    if (this.baseline) {
      data.baseline = this.baseline.toState();
      data.pairs = { ...this.pairs };
    }
    return { task: this.task, settings: this.settings, data };
  }

  mergeState(state: EvaluationState): void {
    const data = state.data as GoldenData;
    this.rows += data.rows;
    this.candidate.mergeState(data.candidate);
    if (this.baseline && data.baseline) this.baseline.mergeState(data.baseline);
    if (data.pairs) mergePaired(this.pairs, data.pairs);
    this.flips.mergeState(data.flips);
    this.failures = [...this.failures, ...data.failures]
      .sort((a, b) => a.index - b.index)
      .slice(0, this.settings.flipLimit);
  }
}
