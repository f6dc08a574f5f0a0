/**
 * McNemar's exact test for paired binary outcomes: under "both models are equally often right", each
 * discordant row (one model right, the other wrong) is a fair coin flip, so the smaller discordant count
 * follows Binomial(n01 + n10, 1/2). Two-sided p-value, capped at 1.
 */
export function mcnemarExact(baselineOnly: number, candidateOnly: number): number {
  const n = baselineOnly + candidateOnly;
  if (n === 0) return 1;
  const k = Math.min(baselineOnly, candidateOnly);
  return Math.min(1, 2 * binomialCdfHalf(k, n));
}

/** P(X <= k) for X ~ Binomial(n, 1/2), summed in log space so large n neither overflows nor underflows. */
export function binomialCdfHalf(k: number, n: number): number {
  if (k >= n) return 1;
  if (k < 0) return 0;
  const logHalfN = n * Math.log(0.5);
  // log C(n, i) built up term by term; sum with the log-sum-exp trick around the largest term (i = k).
  const logTerms: number[] = [];
  let logC = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    logTerms.push(logC + logHalfN);
  }
  const max = logTerms[logTerms.length - 1];
  let sum = 0;
  for (const t of logTerms) sum += Math.exp(t - max);
  return Math.min(1, Math.exp(max + Math.log(sum)));
}

/** Paired right/wrong counts of two models on the same rows. */
export interface PairedCounts {
  /** Rows both got right. */
  both: number;
  /** Rows only the baseline got right. */
  baselineOnly: number;
  /** Rows only the candidate got right. */
  candidateOnly: number;
  /** Rows both got wrong. */
  neither: number;
}

export const emptyPairedCounts = (): PairedCounts => ({ both: 0, baselineOnly: 0, candidateOnly: 0, neither: 0 });

export function addPaired(counts: PairedCounts, baselineRight: boolean, candidateRight: boolean): void {
  if (baselineRight) {
    if (candidateRight) counts.both++;
    else counts.baselineOnly++;
  } else if (candidateRight) counts.candidateOnly++;
  else counts.neither++;
}

export function mergePaired(into: PairedCounts, other: PairedCounts): void {
  into.both += other.both;
  into.baselineOnly += other.baselineOnly;
  into.candidateOnly += other.candidateOnly;
  into.neither += other.neither;
}
