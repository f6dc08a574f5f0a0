/** The metrics each task reports, and which way is better for each. */
import type { Task } from './evaluation.js';

export const TASK_METRICS: Record<Task, readonly string[]> = {
  classification: ['accuracy', 'balanced_accuracy', 'macro_f1', 'weighted_f1', 'log_loss', 'topN_accuracy'],
  regression: ['mae', 'rmse', 'r2', 'mape'],
  golden: ['pass_rate', 'max_abs_error', 'max_rel_error'],
};

const LOWER_IS_BETTER = new Set(['log_loss', 'mae', 'rmse', 'mape', 'max_abs_error', 'max_rel_error']);

export const higherIsBetter = (metric: string): boolean => !LOWER_IS_BETTER.has(metric);

/** Metrics that are a proportion of rows, so a two-proportion test applies without paired rows. */
export const isRowProportion = (metric: string): boolean =>
  metric === 'accuracy' || metric === 'pass_rate' || /^top\d+_accuracy$/.test(metric);

export function isKnownMetric(task: Task, metric: string): boolean {
  return TASK_METRICS[task].includes(metric) || (task === 'classification' && /^top\d+_accuracy$/.test(metric));
}

/** The metric a task is judged on when no thresholds are given. */
export const HEADLINE_METRIC: Record<Task, string> = {
  classification: 'accuracy',
  regression: 'rmse',
  golden: 'pass_rate',
};
