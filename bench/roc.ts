/**
 * ROC AUC for the anti-spam benchmarks (bench/antispam.ts, bench/antispam-peers.ts, scripts/antispam-cv.ts):
 * the probability that a random positive (spam) outscores a random negative (ham), ties counting one half.
 */
export function rocAuc(pos: readonly number[], neg: readonly number[]): number {
  if (!pos.length || !neg.length) return NaN;
  const h = [...neg].sort((a, b) => a - b);
  let sum = 0;
  for (const s of pos) {
    let lo = 0;
    let hi = h.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (h[m] < s) lo = m + 1;
      else hi = m;
    }
    let eq = lo;
    while (eq < h.length && h[eq] === s) eq++;
    sum += lo + (eq - lo) / 2;
  }
  return sum / (pos.length * h.length);
}
