/**
 * Dashboard statistics cost: events counted per second in memory (StatsRecorder.observe, on the mail path) and
 * the time of one flush of a busy minute (many events spread over a few minutes) to a SQLite store.
 * Prints one JSON line. Run: node bench/stats.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { openStore } from '../src/store/db.ts';
import { StatsRepo } from '../src/store/stats-repo.ts';
import { StatsRecorder } from '../src/monitor/recorder.ts';
import type { TrafficEvent } from '../src/disposition/intake.ts';

const N = 200_000;
const dir = mkdtempSync(join(tmpdir(), 'moat-bench-stats-'));
const store = await openStore(`sqlite:${join(dir, 'moat.db')}`);
try {
  const rec = new StatsRecorder({ repo: new StatsRepo(store.db), logger: pino({ level: 'silent' }), flushMs: 0, pruneMs: 0 });
  const statuses = ['clean', 'clean', 'clean', 'infected', 'error'];
  const base = Date.now();
  const events: TrafficEvent[] = Array.from({ length: 1000 }, (_, i) => ({
    time: base + (i % 5) * 60_000, node: 'n1', queueId: 'Q', deliveredAs: null, messageId: null, clientIp: '', helo: '', sender: '', recipients: [],
    subject: '', size: 2000 + i, rule: 'Default', action: i % 7 ? 'skip' : 'delete_attachment', backup: false,
    modules: { antivirus: { status: statuses[i % 5] }, links: { status: 'clean' }, antispam: { status: i % 3 ? 'clean' : 'spam' }, antiphishing: { status: 'clean' }, content: { status: 'not_scanned' }, auth: { status: 'not_scanned' } },
  }));
  const t0 = performance.now();
  for (let i = 0; i < N; i++) rec.observe(events[i % events.length]);
  const observeMs = performance.now() - t0;
  const keys = rec.pendingKeys;
  const t1 = performance.now();
  const ok = await rec.flush();
  const flushMs = performance.now() - t1;
  const rows = Number((await store.db.selectFrom('stats_counters').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst())?.n);
  console.log(JSON.stringify({ bench: 'stats', events: N, eventsPerSecond: Math.round(N / (observeMs / 1000)), pendingKeys: keys, flushOk: ok, flushMs: Math.round(flushMs * 10) / 10, rows }));
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
