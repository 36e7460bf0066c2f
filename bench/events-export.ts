/**
 * bench/events-export.ts: the event log's streamed export (`npm run bench:events`).
 *
 * Purpose
 *   How fast traffic events leave the store through the export stream (src/events/export.ts: keyset pages of
 *   1,000 rows, rendered per page, backpressure) and what memory it takes, against a baseline that only reads the
 *   same rows (plain `select` by the same keyset pages, no rendering).
 *
 * Setup
 *   A temp SQLite store (the embedded default) filled with 100,000 varied traffic events (test/events/seed.ts:
 *   subjects with commas, quotes, newlines, formula starts; six module statuses each). `--rows N` changes the count.
 *
 * Output
 *   One JSON line: rows; per run (baseline, csv, json, ndjson): seconds, rowsPerSec, bytes, MB/s, heapPeakDeltaMB
 *   (heap sampled after a forced collection every 5 chunks, minus the heap before the run) and rssPeakDeltaMB.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { openStore } from '../src/store/db.ts';
import { EventLog } from '../src/events/service.ts';
import { seedTraffic } from '../test/events/seed.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const argRows = process.argv.indexOf('--rows');
const ROWS = argRows > 0 ? Number(process.argv[argRows + 1]) : 100_000;
const dir = mkdtempSync(join(tmpdir(), 'moat-bench-events-'));
const store = await openStore(`sqlite:${join(dir, 'moat.db')}`);
try {
  const log = new EventLog({ db: store.db, node: 'bench', logger: pino({ level: 'silent' }) });
  const t0 = performance.now();
  await seedTraffic(store.db, ROWS);
  const seedSeconds = (performance.now() - t0) / 1000;

  async function measure(run: (sample: () => void, count: (n: number) => void) => Promise<void>) {
    gc();
    const heap0 = process.memoryUsage().heapUsed;
    const rss0 = process.memoryUsage().rss;
    let heapPeak = heap0;
    let rssPeak = rss0;
    let bytes = 0;
    let k = 0;
    const sample = () => { if (++k % 5 === 0) { gc(); const m = process.memoryUsage(); heapPeak = Math.max(heapPeak, m.heapUsed); rssPeak = Math.max(rssPeak, m.rss); } };
    const start = performance.now();
    await run(sample, (n) => { bytes += n; });
    const seconds = (performance.now() - start) / 1000;
    return {
      seconds: +seconds.toFixed(3), rowsPerSec: Math.round(ROWS / seconds), bytes, mbPerSec: +(bytes / 1048576 / seconds).toFixed(1),
      heapPeakDeltaMB: +((heapPeak - heap0) / 1048576).toFixed(1), rssPeakDeltaMB: +((rssPeak - rss0) / 1048576).toFixed(1),
    };
  }

  const baseline = await measure(async (sample, count) => {
    let rows = 0;
    for await (const page of log.traffic.pages({}, 1000)) { rows += page.length; count(0); sample(); }
    if (rows !== ROWS) throw new Error(`baseline read ${rows} rows`);
  });
  const runs: Record<string, unknown> = { baseline };
  for (const format of ['csv', 'json', 'ndjson'] as const) {
    runs[format] = await measure(async (sample, count) => {
      await pipeline(log.export('traffic', format), new Writable({ write(c: Buffer, _e, done) { count(c.length); sample(); done(); } }));
    });
  }
  process.stdout.write(`${JSON.stringify({ bench: 'events-export', rows: ROWS, store: 'sqlite', seedSeconds: +seedSeconds.toFixed(2), node: process.version, ...runs })}\n`);
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
