/** Regression metrics (MAE, RMSE, R², MAPE) from exact running sums: constant memory, exact merges. */
import { ExactSum } from './exact-sum.js';

export interface RegressionSums {
  rows: number;
  absError: number;
  squaredError: number;
  actual: number;
  actualSquared: number;
  /** Rows with a non-zero true value, the only ones MAPE can use. */
  percentRows: number;
  percentError: number;
}

/** The metrics from plain sums: used for the full data and for each bootstrap resample. */
export function regressionMetrics(s: RegressionSums): Record<string, number> {
  const n = s.rows;
  if (n === 0) return { mae: NaN, rmse: NaN, r2: NaN, mape: NaN };
  const totalSquares = s.actualSquared - (s.actual * s.actual) / n;
  // sklearn's convention for a constant target: perfect predictions score 1, anything else 0.
  const r2 = totalSquares > 0 ? 1 - s.squaredError / totalSquares : s.squaredError === 0 ? 1 : 0;
  return {
    mae: s.absError / n,
    rmse: Math.sqrt(s.squaredError / n),
    r2,
    mape: s.percentRows > 0 ? s.percentError / s.percentRows : NaN,
  };
}

export interface RegressionState {
  rows: number;
  percentRows: number;
  sums: Record<'absError' | 'squaredError' | 'actual' | 'actualSquared' | 'percentError', Array<number | string>>;
}

export class RegressionAccumulator {
  rows = 0;
  private percentRows = 0;
  private readonly absError = new ExactSum();
  private readonly squaredError = new ExactSum();
  private readonly actual = new ExactSum();
  private readonly actualSquared = new ExactSum();
  private readonly percentError = new ExactSum();

  add(actual: number, predicted: number): void {
    const error = predicted - actual;
    this.rows++;
    this.absError.add(Math.abs(error));
    this.squaredError.add(error * error);
    this.actual.add(actual);
    this.actualSquared.add(actual * actual);
    if (actual !== 0) {
      this.percentRows++;
      this.percentError.add(Math.abs(error / actual));
    }
  }

  sums(): RegressionSums {
    return {
      rows: this.rows,
      absError: this.absError.value(),
      squaredError: this.squaredError.value(),
      actual: this.actual.value(),
      actualSquared: this.actualSquared.value(),
      percentRows: this.percentRows,
      percentError: this.percentError.value(),
    };
  }

  metrics(): Record<string, number> {
    return regressionMetrics(this.sums());
  }

  toState(): RegressionState {
    return {
      rows: this.rows,
      percentRows: this.percentRows,
      sums: {
        absError: this.absError.toJSON(),
        squaredError: this.squaredError.toJSON(),
        actual: this.actual.toJSON(),
        actualSquared: this.actualSquared.toJSON(),
        percentError: this.percentError.toJSON(),
      },
    };
  }

  mergeState(state: RegressionState): void {
    this.rows += state.rows;
    this.percentRows += state.percentRows;
    this.absError.merge(ExactSum.from(state.sums.absError));
    this.squaredError.merge(ExactSum.from(state.sums.squaredError));
    this.actual.merge(ExactSum.from(state.sums.actual));
    this.actualSquared.merge(ExactSum.from(state.sums.actualSquared));
    this.percentError.merge(ExactSum.from(state.sums.percentError));
  }
}
