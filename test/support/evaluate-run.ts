/** What evaluate tests share: the error of a call expected to fail, and a report without timing. */
import type { ModelshipError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import type { EvaluateReport } from '../../src/report/evaluate-report.js';
import { evaluate, type EvaluateOptions } from '../../src/steps/evaluate.js';

export async function evaluationError(options: EvaluateOptions): Promise<ModelshipError> {
  try {
    await evaluate(options, silentLogger);
  } catch (error) {
    return error as ModelshipError;
  }
  throw new Error('BAD CALL - expected the evaluation to throw');
}

/** A report without what depends on timing or on where it ran. */
export const comparable = (r: EvaluateReport) => {
  const { latency: _latency, shard: _shard, state: _state, ...rest } = r;
  return rest;
};
