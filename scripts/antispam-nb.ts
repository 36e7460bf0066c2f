/**
 * scripts/antispam-nb.ts: a second, different statistical learner for the anti-spam classifier, for the
 * ensemble experiment of scripts/antispam-cv.ts (`--second`). Not used by the scanner.
 *
 * Learners (both over the same feature hashes as the logistic regression, document frequencies, i.e. a feature
 * counts once per message; examples weighted by their gradient weight, so hard ham counts as in the LR):
 *   robinson  Robinson / Fisher chi-square combining as SpamBayes does it: per-feature spam probability
 *             p(w) = (s/S) / (s/S + h/H), smoothed f(w) = (strength·x + n·p(w)) / (strength + n) with n = s + h
 *             (SpamBayes: strength 0.45, x 0.5); the `maxClues` features with |f − 0.5| ≥ `minStrength`
 *             (most extreme first); spamminess = 1 − Q(−2 Σ ln(1 − f), 2k), hamminess = 1 − Q(−2 Σ ln f, 2k)
 *             (Q the chi-square survival function, k clues); SpamBayes' indicator is (1 + S − H) / 2.
 *             That indicator saturates at 0 / 0.5 / 1, so the score handed on is the continuous log-evidence
 *             ln Q(−2 Σ ln f, 2k) − ln Q(−2 Σ ln(1 − f), 2k) (positive for spam, 0 without clues).
 *   nb        binarised multinomial naive Bayes (Wang & Manning's log-count ratio): r_j = ln((α + s_j) / (α·V + Σs))
 *             − ln((α + h_j) / (α·V + Σh)) over a 2^bits table (V buckets), score = Σ r_j over the message's
 *             features, divided by √n like the LR's score when `scale` is set.
 *
 * Combination with the LR (function `combine`): every score is turned into calibrated log-odds on out-of-fold
 * scores of the training part (Platt, or a two-input logistic regression for `stack`), and the combined
 * log-odds go through the LR's anchors (classifier.ts `pointsForLogit`) to rating points, exactly where the
 * LR's calibrated logit goes today.
 */
import type { Example } from '../src/scan/antispam/classifier.ts';

export interface SecondLearner {
  score(features: Uint32Array): number;
}

export interface RobinsonOptions {
  bits: number;
  strength: number;
  x: number;
  minStrength: number;
  maxClues: number;
  /** Count examples with their gradient weight (hard ham × 2) instead of 1. */
  weighted: boolean;
  /**
   * Score handed on: `chi` (default) the logit of SpamBayes' indicator I = (1 + S − H) / 2, computed in log space
   * so that it does not saturate: ln(Q_h + P_s) − ln(P_h + Q_s) (P = 1 − Q the CDF); `indicator` I itself
   * (saturates at 1 for most spam: ties); `chidiff` ln Q_h − ln Q_s; `logit` Σ logit f over the clues.
   */
  output: 'chi' | 'indicator' | 'chidiff' | 'logit';
}

export const ROBINSON_DEFAULTS: RobinsonOptions = { bits: 22, strength: 0.45, x: 0.5, minStrength: 0.1, maxClues: 150, weighted: true, output: 'chi' };

export interface NbOptions {
  bits: number;
  alpha: number;
  scale: boolean;
  weighted: boolean;
}

export const NB_DEFAULTS: NbOptions = { bits: 18, alpha: 1, scale: true, weighted: true };

/** ln of the chi-square CDF P(x, 2k) = 1 − Q(x, 2k) = e^{−m} Σ_{i≥k} m^i / i! (accurate when it is tiny). */
export function lnChi2P(x: number, k: number): number {
  const m = x / 2;
  if (m <= 0) return -Infinity;
  const lm = Math.log(m);
  let lf = 0;
  for (let i = 2; i <= k; i++) lf += Math.log(i);
  let term = k * lm - lf - m; // i = k
  const terms = [term];
  let max = term;
  for (let i = k + 1; i < k + 100000; i++) {
    term += lm - Math.log(i);
    terms.push(term);
    if (term > max) max = term;
    if (i > m && term < max - 40) break;
  }
  let s = 0;
  for (const t of terms) s += Math.exp(t - max);
  return Math.min(0, max + Math.log(s));
}

const logAddExp = (a: number, b: number) => (a === -Infinity ? b : b === -Infinity ? a : Math.max(a, b) + Math.log1p(Math.exp(-Math.abs(a - b))));

/** ln of the chi-square survival function Q(x, 2k) for even degrees of freedom: e^{−m} Σ_{i<k} m^i / i!, m = x/2. */
export function lnChi2Q(x: number, k: number): number {
  const m = x / 2;
  if (m <= 0) return 0;
  // log-sum-exp of i·ln m − ln i! − m over i < k
  let term = -m; // i = 0
  let max = term;
  const terms = [term];
  const lm = Math.log(m);
  for (let i = 1; i < k; i++) {
    term += lm - Math.log(i);
    terms.push(term);
    if (term > max) max = term;
  }
  let s = 0;
  for (const t of terms) s += Math.exp(t - max);
  return Math.min(0, max + Math.log(s));
}

function counts(examples: readonly Example[], bits: number, weighted: boolean): { s: Float64Array; h: Float64Array; ns: number; nh: number } {
  const size = 2 ** bits;
  const mask = size - 1;
  const s = new Float64Array(size);
  const h = new Float64Array(size);
  let ns = 0;
  let nh = 0;
  for (const e of examples) {
    const w = weighted ? (e.weight ?? 1) : 1;
    const t = e.label === 'spam' ? s : h;
    if (e.label === 'spam') ns += w;
    else nh += w;
    // Features are distinct per message, but distinct hashes may share a bucket: count a bucket once.
    const seen = new Set<number>();
    for (const f of e.features) {
      const b = f & mask;
      if (seen.has(b)) continue;
      seen.add(b);
      t[b] += w;
    }
  }
  return { s, h, ns, nh };
}

export function trainRobinson(examples: readonly Example[], options: Partial<RobinsonOptions> = {}): SecondLearner {
  const o = { ...ROBINSON_DEFAULTS, ...options };
  const { s, h, ns, nh } = counts(examples, o.bits, o.weighted);
  const mask = 2 ** o.bits - 1;
  const f = new Float32Array(s.length).fill(o.x);
  for (let i = 0; i < s.length; i++) {
    const n = s[i] + h[i];
    if (n === 0) continue;
    const sr = ns ? s[i] / ns : 0;
    const hr = nh ? h[i] / nh : 0;
    const p = sr + hr > 0 ? sr / (sr + hr) : o.x;
    f[i] = (o.strength * o.x + n * p) / (o.strength + n);
  }
  return {
    score(features: Uint32Array): number {
      const clues: number[] = [];
      const seen = new Set<number>();
      for (const x of features) {
        const b = x & mask;
        if (seen.has(b)) continue;
        seen.add(b);
        const p = f[b];
        if (Math.abs(p - 0.5) >= o.minStrength) clues.push(p);
      }
      clues.sort((a, b) => Math.abs(b - 0.5) - Math.abs(a - 0.5));
      const k = Math.min(clues.length, o.maxClues);
      if (!k) return 0;
      let lnH = 0;
      let lnS = 0;
      for (let i = 0; i < k; i++) {
        lnH += Math.log(clues[i]);
        lnS += Math.log(1 - clues[i]);
      }
      if (o.output === 'logit') return lnH - lnS;
      const qh = lnChi2Q(-2 * lnH, k);
      const qs = lnChi2Q(-2 * lnS, k);
      if (o.output === 'indicator') return (1 + (1 - Math.exp(qs)) - (1 - Math.exp(qh))) / 2;
      if (o.output === 'chidiff') return qh - qs;
      const ph = lnChi2P(-2 * lnH, k);
      const ps = lnChi2P(-2 * lnS, k);
      return logAddExp(qh, ps) - logAddExp(ph, qs);
    },
  };
}

export function trainNb(examples: readonly Example[], options: Partial<NbOptions> = {}): SecondLearner {
  const o = { ...NB_DEFAULTS, ...options };
  const { s, h } = counts(examples, o.bits, o.weighted);
  const size = s.length;
  const mask = size - 1;
  let ts = 0;
  let th = 0;
  for (let i = 0; i < size; i++) {
    ts += s[i];
    th += h[i];
  }
  const r = new Float32Array(size);
  const ds = Math.log(o.alpha * size + ts);
  const dh = Math.log(o.alpha * size + th);
  for (let i = 0; i < size; i++) r[i] = Math.log(o.alpha + s[i]) - ds - (Math.log(o.alpha + h[i]) - dh);
  return {
    score(features: Uint32Array): number {
      let z = 0;
      for (const x of features) z += r[x & mask];
      return o.scale && features.length ? z / Math.sqrt(features.length) : z;
    },
  };
}

export function trainSecond(kind: string, examples: readonly Example[], options: Record<string, unknown>): SecondLearner {
  if (kind === 'robinson') return trainRobinson(examples, options as Partial<RobinsonOptions>);
  if (kind === 'nb') return trainNb(examples, options as Partial<NbOptions>);
  throw new Error(`unknown second learner ${kind}`);
}

const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/**
 * Logistic regression on a few inputs (Newton's method, Platt's smoothed targets, a tiny ridge so that
 * separable data does not diverge): returns the weights, the last one being the intercept.
 */
export function fitLogistic(xs: readonly (readonly number[])[], labels: readonly ('spam' | 'ham')[], ridge = 1e-4): number[] {
  const d = (xs[0]?.length ?? 0) + 1;
  let nPos = 0;
  for (const l of labels) if (l === 'spam') nPos++;
  const nNeg = labels.length - nPos;
  const hi = (nPos + 1) / (nPos + 2);
  const lo = 1 / (nNeg + 2);
  const w = new Array<number>(d).fill(0);
  for (let it = 0; it < 100; it++) {
    const g = new Array<number>(d).fill(0);
    const H = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    for (let i = 0; i < xs.length; i++) {
      const x = [...xs[i], 1];
      let z = 0;
      for (let j = 0; j < d; j++) z += w[j] * x[j];
      const p = sigmoid(z);
      const t = labels[i] === 'spam' ? hi : lo;
      const q = p * (1 - p);
      for (let j = 0; j < d; j++) {
        g[j] += (p - t) * x[j];
        for (let l = 0; l < d; l++) H[j][l] += q * x[j] * x[l];
      }
    }
    for (let j = 0; j < d - 1; j++) {
      g[j] += ridge * w[j];
      H[j][j] += ridge;
    }
    for (let j = 0; j < d; j++) H[j][j] += 1e-9;
    const step = solve(H, g);
    if (!step) break;
    let m = 0;
    for (let j = 0; j < d; j++) {
      w[j] -= step[j];
      m = Math.max(m, Math.abs(step[j]));
    }
    if (m < 1e-9) break;
  }
  return w;
}

/** Gaussian elimination with partial pivoting (small systems). */
function solve(A: number[][], b: number[]): number[] | null {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    if (!(Math.abs(M[p][c]) > 0)) return null;
    [M[c], M[p]] = [M[p], M[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const k = M[r][c] / M[c][c];
      for (let j = c; j <= n; j++) M[r][j] -= k * M[c][j];
    }
  }
  return M.map((row, i) => row[n] / row[i]);
}

export type CombineMode = 'avg' | 'avgcal' | 'max' | 'stack' | 'alone' | 'lr';

/**
 * A combiner fitted on out-of-fold scores of the training part: lrLogit is the LR's calibrated logit (a·z + c,
 * what classifier.ts gives the anchors), second the second learner's raw score. Returns the combined log-odds.
 */
export function fitCombiner(mode: CombineMode, oofLr: readonly number[], oofSecond: readonly number[], labels: readonly ('spam' | 'ham')[], lrCal: { a: number; c: number }): (lrZ: number, second: number) => number {
  const [a2, c2] = fitLogistic(oofSecond.map((s) => [s]), labels);
  const second = (s: number) => a2 * s + c2;
  const lr = (z: number) => lrCal.a * z + lrCal.c;
  switch (mode) {
    case 'alone':
      return (_z, s) => second(s);
    case 'lr': // the LR alone, as the baseline (a check that the variant path rates exactly as the baseline)
      return (z) => lr(z);
    case 'avg':
      return (z, s) => (lr(z) + second(s)) / 2;
    case 'avgcal': {
      // The average, recalibrated (Platt on the out-of-fold averages): equal weights, calibrated scale.
      const [a, c] = fitLogistic(oofLr.map((z, i) => [(lr(z) + second(oofSecond[i])) / 2]), labels);
      return (z, s) => a * ((lr(z) + second(s)) / 2) + c;
    }
    case 'max':
      return (z, s) => Math.max(lr(z), second(s));
    case 'stack': {
      const [wl, ws, c] = fitLogistic(oofLr.map((z, i) => [z, oofSecond[i]]), labels);
      return (z, s) => wl * z + ws * s + c;
    }
  }
}
