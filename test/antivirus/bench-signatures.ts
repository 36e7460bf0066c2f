/**
 * Speed of the built-in signature engine (not a test; run by hand):
 *   node_modules/.bin/node test/antivirus/bench-signatures.ts [patterns=1000] [megabytes=8]
 * Builds a database of random hex signatures (literals, `??`/nibble wildcards, alternatives, bounded and
 * unbounded gaps), scans random data in memory and from a temp file, and prints one JSON line with MB/s by
 * wall time and by the process's CPU time (the fair figure on a shared machine).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureEngine } from '../../src/scan/antivirus/signatures.ts';

const patterns = Number(process.argv[2] ?? 1000);
const megabytes = Number(process.argv[3] ?? 8);

// mulberry32: deterministic, so runs compare.
let seed = 12345;
const rnd = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const hexBytes = (n: number) => Array.from({ length: n }, () => Math.floor(rnd() * 256).toString(16).padStart(2, '0')).join('');

function randomPattern(i: number): string {
  const k = i % 10;
  if (k < 6) return hexBytes(8 + Math.floor(rnd() * 24));
  if (k < 8) return `${hexBytes(4)}??${hexBytes(3)}${Math.floor(rnd() * 16).toString(16)}?${hexBytes(4)}`;
  if (k < 9) return `${hexBytes(6)}{4-64}${hexBytes(5)}(${hexBytes(2)}|${hexBytes(2)})`;
  return `${hexBytes(6)}*${hexBytes(6)}`;
}

const dir = mkdtempSync(join(tmpdir(), 'moat-av-bench-'));
try {
  const lines = Array.from({ length: patterns }, (_, i) => `pattern Bench.${i} ${randomPattern(i)}`);
  writeFileSync(join(dir, 'bench.sigs'), lines.join('\n') + '\n');
  writeFileSync(join(dir, 'hashes.sigs'), `hash ${hexBytes(16)} * Bench.Md5\nhash ${hexBytes(32)} * Bench.Sha256\n`);
  const data = randomBytes(megabytes * 1024 * 1024);
  const file = join(dir, 'data.bin');
  writeFileSync(file, data);

  const result: Record<string, unknown> = { bench: 'antivirus-signatures', patterns, megabytes, node: process.version };
  for (const [label, paths] of [['patterns', [join(dir, 'bench.sigs')]], ['patterns+hashes', [dir]]] as const) {
    const t0 = performance.now();
    const e = await SignatureEngine.create({ paths: [...paths] });
    const loadMs = performance.now() - t0;
    const st = e.status();
    if (!st.ready) throw new Error(st.lastError ?? 'not loaded');
    // Wall time and CPU time of the process: on a shared machine only the latter says what the code costs.
    const measure = async (fn: () => unknown) => {
      const wall: number[] = [], cpu: number[] = [];
      for (let i = 0; i < 5; i++) {
        const c = process.cpuUsage(), t = performance.now();
        await fn();
        wall.push(performance.now() - t);
        const d = process.cpuUsage(c);
        cpu.push((d.user + d.system) / 1000);
      }
      const median = (ts: number[]) => ts.sort((a, b) => a - b)[Math.floor(ts.length / 2)];
      const rate = (ms: number) => Math.round((megabytes / (ms / 1000)) * 10) / 10;
      return { wallMBps: rate(median(wall)), cpuMBps: rate(median(cpu)) };
    };
    const buffer = await measure(() => e.scanBuffer(data));
    const fromFile = await measure(() => e.scanFile(file));
    result[label === 'patterns' ? 'patternsOnly' : 'withHashes'] = {
      loadMs: Math.round(loadMs), automaton: st.report?.automaton, skipped: st.report?.skipped, buffer, file: fromFile,
    };
  }
  console.log(JSON.stringify(result));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
