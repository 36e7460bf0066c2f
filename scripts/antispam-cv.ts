/**
 * scripts/antispam-cv.ts: cross-validation of the WHOLE anti-spam module on the training groups only
 * (easy-ham-1, hard-ham-1, spam-1), to choose features, learner settings, calibration and rule weights without
 * touching the held-out groups.
 *
 * Each training message is parsed once with buildModel (as the scanner sees it); the parts of the rating that
 * do not depend on the classifier (heuristic rules, bulk signals, the word count that scales the classifier's
 * spam-ward points) are computed once per message. For every fold, a classifier is trained on the fold's
 * training part exactly as the shipped model is (`trainCalibrated`: inner cross-validation, Platt calibration,
 * final model) and the test part is rated as scanner.ts rates it: classifier signal (scaled below
 * CLASSIFIER_MIN_WORDS words) + rules + bulk, summed, rounded and clamped (types.ts `rate`); flagged = rating ≥ 50
 * (probable_spam or spam). The rule weights are fitted per fold, as train:antispam fits them (scripts/rule-weights.ts),
 * on the fold's training part only, starting from the authors' weights (`prior`): the file's own fitted weights
 * have seen every training message. `--no-fit` rates with the authors' weights instead (and `--rule-scale` then
 * scales them). `--verify` re-scores one fold's test part with the real scanner
 * (createAntispamScanner with the fold's classifier, no DNS) and reports any disagreement.
 *
 * Schemes (`--schemes`, comma-separated):
 *   random   5 folds stratified by group, shuffled (2 repetitions)
 *   blocked  each group cut into 5 consecutive blocks by file order (roughly chronological); a block is tested
 *            by a model trained on the other four
 *   split60  train on the first 60 % of each group by file order, test on the last 40 % (drift: later mail)
 *   forward  forward chaining by file order: train on blocks 1..k, test on block k+1 (k = 2, 3, 4 of 5)
 *
 * Output: one JSON line per scheme on stdout: easy-ham FP, hard ham flagged, spam recall at the module's
 * thresholds; ROC AUC of the unclamped rating sum; spam recall at the sum threshold that lets at most 0.2 % of
 * easy ham through (operating-point-free); the same for the classifier probability alone.
 *
 * Options: --tok JSON (TokenOptions overrides), --train JSON (TrainingOptions overrides; `{"seed":1}` repeats a
 * scheme with another example order and inner folds, to see the noise), --hard N (hard-ham gradient weight),
 * --rule-scale X (multiplies rule and bulk weights), --rules PATH (another rules file, e.g. an earlier
 * data/antispam/rules.yaml), --anchors JSON, --verify, --label TEXT, --dump FILE (one JSON line per tested
 * message: points, rule sum, rating, the rules that fired).
 * Ensemble with a second learner (scripts/antispam-nb.ts): --second robinson,nb (comma-separated), --combine
 * avg,max,stack,alone (how its calibrated log-odds join the LR's; `alone` = the second learner instead of the LR),
 * --second-opts JSON (learner options, e.g. `{"maxClues":50}`), --second-tok JSON (TokenOptions of the second
 * learner's features, e.g. `{"window":0}`; default the LR's features). For every fold the second learner gets
 * out-of-fold scores from the same inner folds as the LR (stratifiedFolds, same seed), its calibration (Platt, or
 * a two-input logistic regression on the LR's and its out-of-fold scores for `stack`) is fitted on them, and the
 * combined log-odds replace the LR's calibrated logit before the anchors (points), the short-message scaling and
 * the rules, as scanner.ts would do. One extra JSON line per scheme, learner and mode (`variant`), with the same
 * fields, plus `second` (the second learner's own score: AUC, recall at 0.1 % / 0.2 % easy-ham FP); the
 * baseline line is printed unchanged first (the LR model of every fold is shared, so the comparison is paired).
 * The held-out groups are never read (trainingExamples refuses them).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { buildModel } from '../src/scan/model/mime.ts';
import type { MessageModel } from '../src/scan/types.ts';
import { createClassifier, DEFAULT_ANCHORS, DEFAULT_TRAINING, pointsForLogit, stratifiedFolds, trainCalibrated, type Classifier, type Example, type PointAnchor, type TrainingOptions } from '../src/scan/antispam/classifier.ts';
import { messageFeatures } from '../src/scan/antispam/tokens.ts';
import { evaluateRules, loadRules } from '../src/scan/antispam/heuristics.ts';
import { bulkSignals } from '../src/scan/antispam/bulk.ts';
import { createAntispamScanner, shortMessagePoints, wordCount } from '../src/scan/antispam/scanner.ts';
import { rocAuc } from '../bench/roc.ts';
import { fitCombiner, trainSecond, type CombineMode, type SecondLearner } from './antispam-nb.ts';
import { asPriors, classifierPointsOf, fitRuleWeights, priorsOf, withWeights } from './rule-weights.ts';
import { corpusEnvelope, groupFiles, HARD_HAM_WEIGHT, HELD_OUT_GROUPS, labelOfGroup, readMessage, TRAINING_GROUPS } from './train-antispam.ts';

interface Item {
  group: string;
  label: 'spam' | 'ham';
  index: number;
  model: MessageModel;
  features: Uint32Array;
  /** Features of the second learner (same array as `features` unless --second-tok). */
  features2: Uint32Array;
  /** Sum of the rule and bulk weights at the authors' weights (independent of the classifier). */
  other: number;
  /** The bulk signals' sum, and the ids of the rules that fired (for the per-fold weight fit). */
  bulk: number;
  ruleIds: string[];
  /** The rule and bulk signals that fired (id:weight), for --dump. */
  fired: string[];
  words: number;
}

const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;

/** Spam recall at the lowest threshold that lets at most `rate` of `ham` reach it (strictly above the k-th highest ham). */
function recallAtFp(spam: readonly number[], ham: readonly number[], rate: number): number {
  const h = [...ham].sort((a, b) => b - a);
  const allowed = Math.floor(rate * h.length);
  const t = h[allowed] ?? -Infinity;
  return spam.filter((s) => s > t).length / spam.length;
}

/** The classifier's rating points as scanner.ts gives them (withEvidence). */
function classifierPoints(c: Classifier, it: Item): { points: number; p: number } {
  const { signal, probability } = c.classifyFeatures(it.features);
  return { points: shortMessagePoints(signal.weight, it.words), p: probability };
}

interface Acc {
  counts: { spam: number; easy: number; hard: number };
  flagged: { spam: number; easy: number; hard: number };
  clsFlagged: { spam: number; easy: number; hard: number };
  sums: { spam: number[]; easy: number[]; hard: number[] };
  logits: { spam: number[]; easy: number[]; hard: number[] };
}

function newAcc(): Acc {
  return {
    counts: { spam: 0, easy: 0, hard: 0 }, flagged: { spam: 0, easy: 0, hard: 0 }, clsFlagged: { spam: 0, easy: 0, hard: 0 },
    sums: { spam: [], easy: [], hard: [] }, logits: { spam: [], easy: [], hard: [] },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tok: { type: 'string', default: '{}' },
      train: { type: 'string', default: '{}' },
      hard: { type: 'string', default: String(HARD_HAM_WEIGHT) },
      'rule-scale': { type: 'string', default: '1' },
      rules: { type: 'string' },
      anchors: { type: 'string' },
      schemes: { type: 'string', default: 'random,blocked,split60' },
      verify: { type: 'boolean', default: false },
      label: { type: 'string', default: '' },
      dump: { type: 'string' },
      second: { type: 'string', default: '' },
      combine: { type: 'string', default: 'avg,stack' },
      'second-opts': { type: 'string', default: '{}' },
      'second-tok': { type: 'string' },
      'no-fit': { type: 'boolean', default: false },
    },
  });
  const tok = { ...DEFAULT_TRAINING.tokenOptions, ...(JSON.parse(values.tok) as object) };
  const opts: TrainingOptions = { ...DEFAULT_TRAINING, ...(JSON.parse(values.train) as object), tokenOptions: tok };
  const hard = Number(values.hard);
  const ruleScale = Number(values['rule-scale']);
  const anchors: readonly PointAnchor[] = values.anchors ? (JSON.parse(values.anchors) as PointAnchor[]) : DEFAULT_ANCHORS;
  // The authors' weights: the file's fitted weights have seen every training message, test folds included.
  const rules = asPriors(await loadRules(values.rules));
  const priors = priorsOf(rules);
  const fit = !values['no-fit'];
  const secondKinds = values.second ? values.second.split(',') : [];
  const combineModes = values.combine.split(',') as CombineMode[];
  const secondOpts = JSON.parse(values['second-opts']) as Record<string, unknown>;
  const tok2 = values['second-tok'] ? { ...tok, ...(JSON.parse(values['second-tok']) as object) } : null;

  const items: Item[] = [];
  const t0 = performance.now();
  for (const group of TRAINING_GROUPS) {
    if ((HELD_OUT_GROUPS as readonly string[]).includes(group)) throw new Error('held-out group');
    const label = labelOfGroup(group);
    let index = 0;
    for (const path of groupFiles(group)) {
      const source = readMessage(path);
      const model = await buildModel(source, corpusEnvelope(source));
      let other = 0;
      let bulk = 0;
      const fired: string[] = [];
      const ruleSignals = evaluateRules(rules, model);
      const bulkSigs = bulkSignals(model).signals;
      for (const s of [...ruleSignals, ...bulkSigs]) {
        other += s.weight * ruleScale;
        fired.push(`${s.id}:${s.weight}`);
      }
      for (const s of bulkSigs) bulk += s.weight * ruleScale;
      const features = messageFeatures(model, tok);
      items.push({ group, label, index: index++, model, features, features2: tok2 ? messageFeatures(model, tok2) : features, other, bulk, ruleIds: ruleSignals.map((s) => s.id), fired, words: wordCount(model) });
    }
  }
  process.stderr.write(`[cv] ${items.length} messages parsed in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  const groupSize = new Map<string, number>();
  for (const it of items) groupSize.set(it.group, (groupSize.get(it.group) ?? 0) + 1);
  const example = (it: Item): Example => ({ features: it.features, label: it.label, group: it.group, weight: it.group.startsWith('hard-ham') ? hard : 1 });
  /** Position of an item in its group by file order, 0..1. */
  const pos = (it: Item) => it.index / (groupSize.get(it.group) ?? 1);

  type Split = { train: Item[]; test: Item[] };
  const schemes: Record<string, () => Split[]> = {
    random: () => {
      const out: Split[] = [];
      for (const seed of [1, 2]) {
        // Stratified by group, shuffled (mulberry32 order as classifier.ts).
        let s = seed >>> 0;
        const rnd = () => {
          s = (s + 0x6d2b79f5) >>> 0;
          let t = s;
          t = Math.imul(t ^ (t >>> 15), t | 1);
          t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
          return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
        };
        const fold = new Map<Item, number>();
        for (const g of TRAINING_GROUPS) {
          const idx = items.filter((it) => it.group === g);
          for (let i = idx.length - 1; i > 0; i--) {
            const j = Math.floor(rnd() * (i + 1));
            [idx[i], idx[j]] = [idx[j], idx[i]];
          }
          idx.forEach((it, n) => fold.set(it, n % 5));
        }
        for (let f = 0; f < 5; f++) out.push({ train: items.filter((it) => fold.get(it) !== f), test: items.filter((it) => fold.get(it) === f) });
      }
      return out;
    },
    blocked: () => [0, 1, 2, 3, 4].map((f) => ({
      train: items.filter((it) => Math.floor(pos(it) * 5) !== f),
      test: items.filter((it) => Math.floor(pos(it) * 5) === f),
    })),
    split60: () => [{ train: items.filter((it) => pos(it) < 0.6), test: items.filter((it) => pos(it) >= 0.6) }],
    forward: () => [2, 3, 4].map((k) => ({
      train: items.filter((it) => Math.floor(pos(it) * 5) < k),
      test: items.filter((it) => Math.floor(pos(it) * 5) === k),
    })),
  };

  const dump: string[] = [];
  for (const name of values.schemes.split(',')) {
    const t1 = performance.now();
    const splits = schemes[name]();
    const sums = { spam: [] as number[], easy: [] as number[], hard: [] as number[] };
    const probs = { spam: [] as number[], easy: [] as number[], hard: [] as number[] };
    const flagged = { spam: 0, easy: 0, hard: 0 };
    const counts = { spam: 0, easy: 0, hard: 0 };
    const clsFlagged = { spam: 0, easy: 0, hard: 0 };
    let verified = 0;
    let disagreements = 0;
    const variants = secondKinds.flatMap((kind) => combineModes.map((mode) => ({ kind, mode, acc: newAcc() })));
    const secondScores = new Map(secondKinds.map((kind) => [kind, { spam: [] as number[], easy: [] as number[], hard: [] as number[] }]));
    for (const [k, sp] of splits.entries()) {
      const trainEx = sp.train.map(example);
      const { classifier, outOfFold } = trainCalibrated(trainEx, opts, 5);
      const c = anchors === DEFAULT_ANCHORS ? classifier : createClassifier(classifier.state, { ...classifier.meta, anchors: [...anchors] });
      // The second learners: out-of-fold scores on the LR's inner folds, then the model on the whole training part.
      const learners = new Map<string, SecondLearner>();
      const combiners = new Map<string, (z: number, s: number) => number>();
      if (secondKinds.length) {
        const ex2 = sp.train.map((it) => ({ ...example(it), features: it.features2 }));
        const labels = ex2.map((e) => e.label);
        const fold = stratifiedFolds(trainEx, 5, opts.seed);
        for (const kind of secondKinds) {
          const oof = new Array<number>(ex2.length).fill(0);
          for (let f = 0; f < 5; f++) {
            const l = trainSecond(kind, ex2.filter((_, i) => fold[i] !== f), secondOpts);
            ex2.forEach((e, i) => {
              if (fold[i] === f) oof[i] = l.score(e.features);
            });
          }
          learners.set(kind, trainSecond(kind, ex2, secondOpts));
          for (const mode of combineModes) combiners.set(`${kind}+${mode}`, fitCombiner(mode, outOfFold, oof, labels, c.meta.calibration));
        }
      }
      // The rule weights fitted on this fold's training part only (out-of-fold classifier points, as train:antispam).
      const weights = fit
        ? fitRuleWeights(sp.train.map((it, i) => ({ label: it.label, fixed: classifierPointsOf(c, outOfFold[i], it.words) + it.bulk, rules: it.ruleIds })), priors)
        : new Map<string, number>();
      const otherOf = (it: Item) => (fit ? it.ruleIds.reduce((sum, id) => sum + (weights.get(id) ?? priors.get(id) ?? 0), it.bulk) : it.other);
      const scanner = values.verify && k === 0 ? await createAntispamScanner({ blocklists: { zones: [] }, ptr: { enabled: false } }, { classifier: c, rules: withWeights(rules, weights) }) : null;
      for (const it of sp.test) {
        const key = it.label === 'spam' ? 'spam' : it.group.startsWith('hard') ? 'hard' : 'easy';
        const { points, p } = classifierPoints(c, it);
        const sum = points + otherOf(it);
        const rating = Math.max(0, Math.min(100, Math.round(sum)));
        counts[key]++;
        if (rating >= 50) flagged[key]++;
        if (pointsForLogit(c.meta.anchors, Math.log(p / (1 - p))) >= 50) clsFlagged[key]++;
        sums[key].push(sum);
        if (values.dump) dump.push(JSON.stringify({ scheme: name, group: it.group, index: it.index, points, p: round(p, 5), other: round(otherOf(it), 2), words: it.words, rating, fired: it.fired }));
        probs[key].push(p);
        if (secondKinds.length) {
          const z = c.score(it.features);
          const sc = new Map([...learners].map(([kind, l]) => [kind, l.score(it.features2)]));
          for (const [kind, v] of sc) secondScores.get(kind)?.[key].push(v);
          for (const v of variants) {
            const logit = combiners.get(`${v.kind}+${v.mode}`)?.(z, sc.get(v.kind) ?? 0) ?? 0;
            const pts = shortMessagePoints(Math.round(pointsForLogit(c.meta.anchors, logit) * 10) / 10, it.words);
            const vs = pts + otherOf(it);
            v.acc.counts[key]++;
            if (Math.max(0, Math.min(100, Math.round(vs))) >= 50) v.acc.flagged[key]++;
            if (pointsForLogit(c.meta.anchors, logit) >= 50) v.acc.clsFlagged[key]++;
            v.acc.sums[key].push(vs);
            v.acc.logits[key].push(logit);
          }
        }
        if (scanner && ruleScale === 1) {
          const f = await scanner.scan(it.model, new AbortController().signal);
          verified++;
          if ((f.details as { rating: number }).rating !== rating) disagreements++;
        }
      }
    }
    const out = {
      scheme: name,
      label: values.label,
      easyFp: `${flagged.easy}/${counts.easy}`,
      easyFpRate: round(flagged.easy / counts.easy, 5),
      hardFlagged: `${flagged.hard}/${counts.hard}`,
      recall: round(flagged.spam / counts.spam),
      auc: round(rocAuc(sums.spam, sums.easy), 5),
      recallAt02: round(recallAtFp(sums.spam, sums.easy, 0.002)),
      recallAt01: round(recallAtFp(sums.spam, sums.easy, 0.001)),
      classifier: {
        recall: round(clsFlagged.spam / counts.spam), easyFp: clsFlagged.easy, hard: clsFlagged.hard,
        auc: round(rocAuc(probs.spam, probs.easy), 5), recallAt01: round(recallAtFp(probs.spam, probs.easy, 0.001)),
      },
      ...(values.verify ? { verified, disagreements } : {}),
      seconds: round((performance.now() - t1) / 1000, 1),
    };
    process.stdout.write(JSON.stringify(out) + '\n');
    for (const v of variants) {
      const a = v.acc;
      const ss = secondScores.get(v.kind) ?? { spam: [], easy: [], hard: [] };
      process.stdout.write(JSON.stringify({
        scheme: name,
        label: values.label,
        variant: `${v.kind}+${v.mode}`,
        easyFp: `${a.flagged.easy}/${a.counts.easy}`,
        easyFpRate: round(a.flagged.easy / a.counts.easy, 5),
        hardFlagged: `${a.flagged.hard}/${a.counts.hard}`,
        recall: round(a.flagged.spam / a.counts.spam),
        auc: round(rocAuc(a.sums.spam, a.sums.easy), 5),
        recallAt02: round(recallAtFp(a.sums.spam, a.sums.easy, 0.002)),
        recallAt01: round(recallAtFp(a.sums.spam, a.sums.easy, 0.001)),
        classifier: {
          recall: round(a.clsFlagged.spam / a.counts.spam), easyFp: a.clsFlagged.easy, hard: a.clsFlagged.hard,
          auc: round(rocAuc(a.logits.spam, a.logits.easy), 5), recallAt01: round(recallAtFp(a.logits.spam, a.logits.easy, 0.001)),
          recallAt02: round(recallAtFp(a.logits.spam, a.logits.easy, 0.002)),
        },
        second: { auc: round(rocAuc(ss.spam, ss.easy), 5), recallAt01: round(recallAtFp(ss.spam, ss.easy, 0.001)), recallAt02: round(recallAtFp(ss.spam, ss.easy, 0.002)) },
      }) + '\n');
    }
  }
  if (values.dump) writeFileSync(values.dump, dump.join('\n') + '\n');
  for (const it of items) await it.model.dispose();
}

main().catch((err: unknown) => {
  process.stderr.write(`antispam-cv: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
