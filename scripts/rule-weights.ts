/**
 * scripts/rule-weights.ts: fits the weights of the heuristic anti-spam rules (data/antispam/rules.yaml) to the
 * training groups, beside the classifier, the way SpamAssassin's scores are fitted to a corpus rather than guessed.
 *
 * Each rule keeps the weight its author gave it as its `prior`; the fit moves the weight within bounds so that the
 * module's rating (classifier points + rule weights + bulk signals, as scanner.ts sums them) separates the training
 * spam from the training ham at the probable-spam threshold:
 *   - input per training message: the classifier's OUT-OF-FOLD score (trainCalibrated's inner cross-validation,
 *     so a rule is not credited with what an over-confident classifier already knows), turned into points exactly
 *     as the scanner does (calibration, anchors, short-message scaling), the bulk signals' points (fixed), and the
 *     rules that fired;
 *   - loss: logistic loss of (rating − 50) / T per message, ham counting HAM_WEIGHT times (a flagged ham costs
 *     more than a missed spam), minimised by Adam over the weights, full batch, a fixed number of steps;
 *   - bounds: a positive rule stays between half its prior and CAP points (one rule never decides alone), or its
 *     own `cap:` from rules.yaml when that is lower (a tell that today's legitimate mail can show: the fit would
 *     otherwise take it to CAP because the 2002 ham never shows it), a negative rule between three times and half
 *     its prior; a rule with prior 0, or that fires on no training message, keeps its prior.
 * Deterministic (no randomness; the classifier's training is seeded). Chosen by whole-module cross-validation on
 * the training groups (scripts/antispam-cv.ts fits every fold's weights on that fold's training part only;
 * data/antispam/README.md). The held-out groups are never read.
 *
 * `npm run train:antispam` calls this and writes the fitted weights into rules.yaml (`weight`, with the author's
 * `prior` beside it); bench/antispam.ts fits them the same way in memory.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { pointsForLogit, type Classifier } from '../src/scan/antispam/classifier.ts';
import { shortMessagePoints } from '../src/scan/antispam/scanner.ts';
import type { HeuristicRules } from '../src/scan/antispam/heuristics.ts';

export interface FitOptions {
  /** Width of the logistic around the threshold, in rating points. */
  temperature: number;
  /** Weight of a ham message in the loss (spam: 1). */
  hamWeight: number;
  /** A positive rule keeps at least this share of its prior. */
  floor: number;
  /** No rule weighs more than this (a rule's own `cap:` may be lower). */
  cap: number;
  threshold: number;
  steps: number;
  rate: number;
}

export const FIT_OPTIONS: Readonly<FitOptions> = Object.freeze({ temperature: 10, hamWeight: 3, floor: 0.5, cap: 15, threshold: 50, steps: 300, rate: 0.5 });

/** One training message as the fit sees it. */
export interface FitRow {
  label: 'spam' | 'ham';
  /** Points that do not move: the classifier's (out-of-fold) and the bulk signals'. */
  fixed: number;
  /** Ids of the rules that fired. */
  rules: readonly string[];
}

/** The classifier's points for a raw score, as scanner.ts gives them (calibration, anchors, short-message scaling). */
export function classifierPointsOf(classifier: Classifier, score: number, words: number): number {
  const { a, c } = classifier.meta.calibration;
  return shortMessagePoints(Math.round(pointsForLogit(classifier.meta.anchors, Number.isFinite(score) ? a * score + c : 0) * 10) / 10, words);
}

/** The authors' weights by id, with the rules' own caps beside them (`caps`: only rules that have one). */
export type RulePriors = ReadonlyMap<string, number> & { readonly caps?: ReadonlyMap<string, number> };

/** The authors' weights of a rule set (`prior`, else `weight`), by id, and the rules' `cap:` values as `caps`. */
export function priorsOf(rules: HeuristicRules): Map<string, number> & { caps: Map<string, number> } {
  const caps = new Map(rules.rules.flatMap((r) => (r.cap !== undefined ? [[r.id, r.cap] as const] : [])));
  return Object.assign(new Map(rules.rules.map((r) => [r.id, r.prior ?? r.weight])), { caps });
}

/** Fitted weights of the rules that fire on the rows and have a non-zero prior; the others are not in the map. */
export function fitRuleWeights(rows: readonly FitRow[], priors: RulePriors, opts: Readonly<FitOptions> = FIT_OPTIONS): Map<string, number> {
  const ids = [...new Set(rows.flatMap((r) => r.rules))].filter((id) => (priors.get(id) ?? 0) !== 0).sort();
  const index = new Map(ids.map((id, i) => [id, i]));
  const prior = Float64Array.from(ids, (id) => priors.get(id)!);
  // A positive rule's upper bound: the global cap (or its prior, if higher), lowered to the rule's own cap.
  const hi = prior.map((p, k) => (p > 0 ? Math.min(Math.max(opts.cap, p), priors.caps?.get(ids[k]) ?? Infinity) : p * opts.floor));
  const lo = prior.map((p, k) => (p > 0 ? Math.min(p * opts.floor, hi[k]) : Math.max(p * 3, -opts.cap)));
  const w = Float64Array.from(prior);
  const m = new Float64Array(ids.length), v = new Float64Array(ids.length), g = new Float64Array(ids.length);
  const compact = rows.map((r) => ({ y: r.label === 'spam' ? 1 : 0, c: r.label === 'spam' ? 1 : opts.hamWeight, fixed: r.fixed, at: Int32Array.from(r.rules.filter((id) => index.has(id)), (id) => index.get(id)!) }));
  const b1 = 0.9, b2 = 0.999;
  for (let step = 1; step <= opts.steps; step++) {
    g.fill(0);
    for (const r of compact) {
      let sum = r.fixed;
      for (const k of r.at) sum += w[k];
      const q = 1 / (1 + Math.exp(-(sum - opts.threshold) / opts.temperature));
      const d = (r.c * (q - r.y)) / opts.temperature;
      for (const k of r.at) g[k] += d;
    }
    for (let k = 0; k < ids.length; k++) {
      const gk = g[k] / rows.length;
      m[k] = b1 * m[k] + (1 - b1) * gk;
      v[k] = b2 * v[k] + (1 - b2) * gk * gk;
      const next = w[k] - (opts.rate * (m[k] / (1 - b1 ** step))) / (Math.sqrt(v[k] / (1 - b2 ** step)) + 1e-8);
      w[k] = Math.min(hi[k], Math.max(lo[k], next));
    }
  }
  return new Map(ids.map((id, k) => [id, Math.round(w[k] * 10) / 10]));
}

/** The rule set with its authors' weights (`prior` where a weight was fitted): what a fit starts from. */
export function asPriors(rules: HeuristicRules): HeuristicRules {
  return { ...rules, rules: rules.rules.map((r) => (r.prior !== undefined && r.prior !== r.weight ? { ...r, weight: r.prior } : r)) };
}

/** The rule set with these weights (rules not in the map keep theirs). */
export function withWeights(rules: HeuristicRules, weights: ReadonlyMap<string, number>): HeuristicRules {
  return { ...rules, rules: rules.rules.map((r) => (weights.has(r.id) ? { ...r, weight: weights.get(r.id)!, prior: r.prior ?? r.weight } : r)) };
}

/**
 * Writes fitted weights into a rules file, changing nothing else in it (comments, layout, flow lists): the text of
 * each `weight` value is replaced where it stands, and a `prior:` line with the author's weight is added under it
 * when the rule has none. Returns how many weights changed.
 */
export async function writeRuleWeights(path: string, weights: ReadonlyMap<string, number>): Promise<number> {
  const text = await readFile(path, 'utf8');
  const doc = parseDocument(text);
  const seq = doc.get('rules', true);
  if (!isSeq(seq)) throw new Error(`${path}: no rules list`);
  const edits: { at: number; end: number; text: string }[] = [];
  let changed = 0;
  for (const item of seq.items) {
    if (!isMap(item)) continue;
    const id = item.get('id');
    if (typeof id !== 'string' || !weights.has(id)) continue;
    const pair = item.items.find((p) => isScalar(p.key) && p.key.value === 'weight');
    if (!pair || !isScalar(pair.key) || !isScalar(pair.value) || !pair.key.range || !pair.value.range) throw new Error(`${path}: rule ${id}: no plain weight`);
    const fitted = weights.get(id)!;
    const [vs, ve] = pair.value.range;
    if (Number(pair.value.value) !== fitted) { edits.push({ at: vs, end: ve, text: String(fitted) }); changed++; }
    if (!item.has('prior')) {
      const column = pair.key.range[0] - text.lastIndexOf('\n', pair.key.range[0] - 1) - 1;
      const eol = text.indexOf('\n', ve) === -1 ? text.length : text.indexOf('\n', ve);
      edits.push({ at: eol, end: eol, text: `\n${' '.repeat(column)}prior: ${String(pair.value.value)}` });
    }
  }
  let out = text;
  for (const e of edits.sort((a, b) => b.at - a.at)) out = out.slice(0, e.at) + e.text + out.slice(e.end);
  await writeFile(path, out);
  return changed;
}
