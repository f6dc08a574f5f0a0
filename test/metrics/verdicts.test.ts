import { describe, expect, it } from 'vitest';
import { ModelshipError } from '../../src/errors.js';
import { compareElements, compareTensors, DEFAULT_TOLERANCE } from '../../src/metrics/golden.js';
import { checkThresholdMetrics, defaultThresholds, parseThresholds } from '../../src/metrics/thresholds.js';
import { judge, judgeMetric, twoProportionPValue, type BaselineSource } from '../../src/metrics/verdict.js';

describe('golden comparison', () => {
  it('uses |a-b| <= atol + rtol*|b| with NaN equal to NaN and strings exact', () => {
    const tol = DEFAULT_TOLERANCE;
    expect(compareElements([1.0009], 0, [1], 0, 1, tol).mismatches).toBe(0);
    expect(compareElements([1.0011], 0, [1], 0, 1, tol).mismatches).toBe(1);
    expect(compareElements([0.5e-7], 0, [0], 0, 1, tol).mismatches).toBe(0);
    expect(compareElements([NaN, 1], 0, [NaN, NaN], 0, 2, tol)).toMatchObject({ mismatches: 1, first: { index: 1 } });
    expect(compareElements(['a', 'b'], 0, ['a', 'B'], 0, 2, tol).mismatches).toBe(1);
    expect(compareElements([5n], 0, [5n], 0, 1, tol).mismatches).toBe(0);
    const r = compareElements([1.5, 2], 0, [1, 2], 0, 2, { atol: 0, rtol: 0 });
    expect(r.maxAbsError).toBe(0.5);
    expect(r.maxRelError).toBe(0.5);
  });

  it('checks datatype and shape before values, and decodes half floats', () => {
    const half = (bits: number[]) => ({ datatype: 'FP16' as const, shape: [bits.length], data: new Uint16Array(bits) });
    expect(compareTensors(half([0x3c00]), half([0x3c01]), DEFAULT_TOLERANCE).mismatches).toBe(0);
    expect(compareTensors(half([0x3c00]), half([0xc000]), DEFAULT_TOLERANCE).maxAbsError).toBe(3);
    const t = (datatype: 'FP32' | 'FP64', shape: number[]) => ({ datatype, shape, data: new Float32Array([1, 2]) });
    expect(compareTensors(t('FP32', [2]), t('FP64', [2]), DEFAULT_TOLERANCE).message).toMatch(
      /datatype FP32, expected FP64/,
    );
    expect(compareTensors(t('FP32', [1, 2]), t('FP32', [2]), DEFAULT_TOLERANCE).message).toMatch(/shape/);
    expect(compareTensors(t('FP32', [2]), t('FP32', [2]), DEFAULT_TOLERANCE).mismatches).toBe(0);
  });
});

describe('thresholds', () => {
  it('reads inline YAML with absolute and percentage drops', () => {
    expect(parseThresholds('accuracy: {max-drop: 2%}\nmae: {max: 3.5, max_drop: 0.1}\nmacro_f1: {min: 80%}')).toEqual({
      accuracy: { maxDrop: { value: 2, relative: true } },
      mae: { max: 3.5, maxDrop: { value: 0.1, relative: false } },
      macro_f1: { min: 0.8 },
    });
    expect(parseThresholds('')).toEqual({});
  });

  it('rejects what it cannot read, saying what to write', () => {
    const attempt = (text: string) => {
      try {
        parseThresholds(text);
      } catch (error) {
        return error as ModelshipError;
      }
      throw new Error('BAD CALL - expected an error');
    };
    expect(attempt('accuracy: {max-dorp: 1}')).toMatchObject({
      code: 'THRESHOLDS_INVALID',
      message: /unknown limit 'max-dorp'/,
    });
    expect(attempt('accuracy: {min: lots}').message).toMatch(/accuracy.min' must be a number/);
    expect(attempt('accuracy: [1').message).toMatch(/not valid YAML/);
    expect(attempt('- 1').message).toMatch(/must map metric names/);
    expect(() => checkThresholdMetrics('regression', { accuracy: {} })).toThrow(/Unknown regression metric.*accuracy/);
    expect(() => checkThresholdMetrics('classification', { top5_accuracy: {} })).not.toThrow();
  });
});

describe('verdicts', () => {
  const paired = (baselineOnly: number, candidateOnly: number, rows: number): BaselineSource => ({
    kind: 'paired',
    evidence: {
      accuracy: {
        test: 'mcnemar',
        pValue: baselineOnly + candidateOnly > 10 ? 0.001 : 0.4,
        baselineOnly,
        candidateOnly,
        rows,
      },
    },
  });
  const options = { confidence: 0.95 };

  it('fails a significant drop beyond the threshold and names the metric', () => {
    const c = judgeMetric(
      'accuracy',
      0.8,
      0.95,
      { maxDrop: { value: 2, relative: true } },
      paired(20, 2, 300),
      options,
    );
    expect(c.verdict).toBe('fail');
    expect(c.reason).toMatch(/^accuracy dropped by 0.15/);
    expect(c.delta).toBeCloseTo(-0.15, 12);
    expect(c.significant).toBe(true);
  });

  it('passes a non-significant drop with a warning that says why', () => {
    const c = judgeMetric(
      'accuracy',
      0.75,
      0.917,
      { maxDrop: { value: 0, relative: false } },
      paired(3, 1, 12),
      options,
    );
    expect(c.verdict).toBe('warn');
    expect(c.reason).toMatch(/12 rows: not enough evidence/);
  });

  it('passes a drop within the threshold, and an improvement', () => {
    expect(
      judgeMetric('accuracy', 0.94, 0.95, { maxDrop: { value: 2, relative: true } }, paired(20, 2, 300), options)
        .verdict,
    ).toBe('pass');
    expect(
      judgeMetric('accuracy', 0.96, 0.95, { maxDrop: { value: 0, relative: false } }, paired(2, 20, 300), options)
        .verdict,
    ).toBe('pass');
  });

  it('treats a rise in a lower-is-better metric as the drop', () => {
    const source: BaselineSource = {
      kind: 'paired',
      evidence: { mae: { test: 'bootstrap', ci: [0.2, 0.6], confidence: 0.95, resamples: 1000, rows: 500 } },
    };
    const c = judgeMetric('mae', 2.4, 2.0, { maxDrop: { value: 0.1, relative: false } }, source, options);
    expect(c).toMatchObject({ verdict: 'fail', ci: [0.2, 0.6], significant: true });
    expect(judgeMetric('mae', 1.6, 2.0, { maxDrop: { value: 0.1, relative: false } }, source, options).verdict).toBe(
      'pass',
    );
  });

  it('applies min and max whatever the baseline', () => {
    expect(judgeMetric('accuracy', 0.85, undefined, { min: 0.9 }, { kind: 'none' }, options)).toMatchObject({
      verdict: 'fail',
      reason: 'accuracy 0.85 is below the minimum 0.9',
    });
    expect(judgeMetric('rmse', 3, undefined, { max: 2 }, { kind: 'none' }, options).verdict).toBe('fail');
  });

  it('fails a thresholded metric that could not be computed', () => {
    const { comparisons, passed } = judge({
      metrics: { accuracy: 0.9 },
      thresholds: { log_loss: { max: 0.5 } },
      source: { kind: 'none' },
      confidence: 0.95,
    });
    expect(passed).toBe(false);
    expect(comparisons.find((c) => c.metric === 'log_loss')?.reason).toMatch(/could not be computed/);
  });

  it('tests proportions without paired rows when the baseline is a report', () => {
    const small = judgeMetric(
      'accuracy',
      0.75,
      0.9,
      { maxDrop: { value: 0, relative: false } },
      { kind: 'report', rows: 20, candidateRows: 20 },
      options,
    );
    expect(small.verdict).toBe('warn');
    const large = judgeMetric(
      'accuracy',
      0.75,
      0.9,
      { maxDrop: { value: 0, relative: false } },
      { kind: 'report', rows: 2000, candidateRows: 2000 },
      options,
    );
    expect(large.verdict).toBe('fail');
    expect(twoProportionPValue(0.5, 100, 0.5, 100)).toBeCloseTo(1, 6);
    // z = 1.96 gives p = 0.05
    const p = twoProportionPValue(
      0.5 + (1.96 * Math.sqrt(0.25 / 50)) / 2,
      100,
      0.5 - (1.96 * Math.sqrt(0.25 / 50)) / 2,
      100,
    );
    expect(p).toBeGreaterThan(0.045);
    expect(p).toBeLessThan(0.055);
  });

  it('by default gates the headline metric on any significant drop', () => {
    expect(defaultThresholds('classification')).toEqual({ accuracy: { maxDrop: { value: 0, relative: false } } });
    expect(defaultThresholds('golden').pass_rate.min).toBe(1);
  });
});
