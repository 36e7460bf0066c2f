/**
 * Dashboard statistics in the store, on SQLite and PostgreSQL: traffic events with synthetic timestamps go
 * through the recorder into minute, hour and day buckets (rollup: every level sums to the same totals, bucket
 * boundaries in UTC), flushes add to existing rows (ON CONFLICT … count + excluded.count), a failed flush keeps
 * its counts for the next one (and drops the oldest beyond the bound), pruning keeps each level's retention, and
 * the dashboard queries (totals, series) honour period, step, level choice and the node filter.
 */
import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { PG_ADMIN_URL, pgReachable, postgresTarget, sqliteTarget } from '../store/pg.ts';
import { openStore, type Store } from '../../src/store/db.ts';
import { StatsRepo, type CounterRow } from '../../src/store/stats-repo.ts';
import { StatsRecorder } from '../../src/monitor/recorder.ts';
import { DashboardStats } from '../../src/monitor/dashboard.ts';
import { ObservedSink } from '../../src/monitor/sink.ts';
import { RETENTION_MS } from '../../src/monitor/buckets.ts';
import type { TrafficEvent } from '../../src/disposition/intake.ts';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** 2024-03-10T00:00:00Z, a day boundary in UTC; times beyond 2^32 ms catch a bigint read back as a string. */
const D0 = Date.UTC(2024, 2, 10);

const quiet = pino({ level: 'silent' });

function event(time: number, over: Partial<TrafficEvent> = {}): TrafficEvent {
  return {
    time, node: 'n1', queueId: 'Q', deliveredAs: null, messageId: null, clientIp: '192.0.2.1', helo: 'h', sender: 's@x.test',
    recipients: ['r@y.test'], subject: '', size: 1000, rule: 'Default', action: 'skip', backup: false,
    modules: {
      antivirus: { status: 'clean' }, links: { status: 'clean' }, antispam: { status: 'clean' }, antiphishing: { status: 'clean' },
      content: { status: 'not_scanned', reason: 'disabled' }, auth: { status: 'not_scanned', reason: 'disabled' },
    },
    ...over,
  };
}

const infected = (time: number, node = 'n1') => event(time, {
  node, action: 'delete_attachment', size: 5000,
  modules: { ...event(0).modules, antivirus: { status: 'infected' } },
});

const pgProblem = await pgReachable();
if (pgProblem && process.env.CI) {
  test(`PostgreSQL is reachable at ${PG_ADMIN_URL} (required under CI)`, () => { assert.fail(`PostgreSQL unreachable: ${pgProblem}`); });
}

for (const target of [sqliteTarget('moat-stats-'), postgresTarget()]) {
  const skip = target.dialect === 'postgres' && pgProblem ? `PostgreSQL unreachable: ${pgProblem}` : false;

  describe(`statistics on ${target.dialect}`, { skip }, () => {
    let store: Store;
    let repo: StatsRepo;
    const rowsAt = async (level: string) => (await store.db.selectFrom('stats_counters').selectAll().where('level', '=', level as 'minute').orderBy('bucket').orderBy('node').orderBy('key').execute())
      .map((r) => ({ ...r, bucket: Number(r.bucket), count: Number(r.count) }));
    const recorder = (over: Partial<ConstructorParameters<typeof StatsRecorder>[0]> = {}) =>
      new StatsRecorder({ repo, logger: quiet, flushMs: 0, pruneMs: 0, clock: { now: () => D0 + 2 * DAY }, ...over });

    before(async () => { store = await openStore(await target.setup()); });
    after(async () => { try { await store?.close(); } finally { await target.teardown(); } });
    beforeEach(async () => {
      await store.db.deleteFrom('stats_counters').execute();
      repo = new StatsRepo(store.db);
    });

    test('rollup: minute, hour and day buckets (UTC) of synthetic events, each level summing to the same totals', async () => {
      const rec = recorder();
      const times = [D0 + 30_000, D0 + 45_000, D0 + MIN + 1, D0 + HOUR - 1, D0 + HOUR, D0 + DAY - 1, D0 + DAY + 5 * HOUR];
      for (const t of times) rec.observe(event(t));
      rec.observe(infected(D0 + 59_999));
      assert.equal(await rec.flush(), true);
      assert.equal(rec.pendingKeys, 0);

      const minute = await rowsAt('minute');
      const msgs = (rows: typeof minute) => rows.filter((r) => r.key === 'messages').map((r) => [r.bucket - D0, r.count]);
      assert.deepEqual(msgs(minute), [[0, 3], [MIN, 1], [HOUR - MIN, 1], [HOUR, 1], [DAY - MIN, 1], [DAY + 5 * HOUR, 1]]);
      assert.deepEqual(msgs(await rowsAt('hour')), [[0, 5], [HOUR, 1], [DAY - HOUR, 1], [DAY + 5 * HOUR, 1]]);
      assert.deepEqual(msgs(await rowsAt('day')), [[0, 7], [DAY, 1]]);
      for (const level of ['minute', 'hour', 'day']) {
        const sum = (key: string) => (minuteRows: typeof minute) => minuteRows.filter((r) => r.key === key).reduce((s, r) => s + r.count, 0);
        const rows = await rowsAt(level);
        assert.equal(sum('messages')(rows), 8, `${level}: messages`);
        assert.equal(sum('bytes')(rows), 7 * 1000 + 5000, `${level}: bytes`);
        assert.equal(sum('action:skip')(rows), 7, `${level}: skip`);
        assert.equal(sum('action:delete_attachment')(rows), 1, `${level}: delete_attachment`);
        assert.equal(sum('module:antivirus:infected')(rows), 1, `${level}: infected`);
        assert.equal(sum('module:antivirus:clean')(rows), 7, `${level}: clean`);
        assert.equal(sum('module:auth:not_scanned')(rows), 8, `${level}: not_scanned counted too`);
      }
    });

    test('flushes add to the stored counts (upsert), one row per level, bucket, node and key', async () => {
      const rec = recorder();
      rec.observe(event(D0 + 10));
      await rec.flush();
      rec.observe(event(D0 + 20));
      rec.observe(event(D0 + 30, { node: 'n2' }));
      await rec.flush();
      const day = await rowsAt('day');
      assert.deepEqual(day.filter((r) => r.key === 'messages').map((r) => [r.node, r.count]), [['n1', 2], ['n2', 1]]);
      assert.equal(new Set(day.map((r) => `${r.node}|${r.key}`)).size, day.length, 'no duplicate rows');
    });

    test('a failed flush keeps its counts for the next flush; the mail flow (the sink) is not disturbed', async () => {
      let fail = 2;
      const flaky = { add: async (rows: readonly CounterRow[]) => { if (fail-- > 0) throw new Error('store down'); await repo.add(rows); }, prune: repo.prune.bind(repo) };
      const rec = recorder({ repo: flaky });
      const inner: TrafficEvent[] = [];
      const sink = new ObservedSink({ record: async (e) => { inner.push(e); } }, [rec]);
      await sink.record(event(D0 + 1));
      assert.equal(inner.length, 1, 'forwarded to the inner sink');
      assert.equal(await rec.flush(), false);
      await sink.record(event(D0 + 2));
      assert.equal(await rec.flush(), false);
      assert.equal(rec.failures, 2);
      assert.ok(rec.pendingKeys > 0);
      assert.equal(await rec.flush(), true);
      assert.equal(rec.pendingKeys, 0);
      assert.deepEqual((await rowsAt('minute')).filter((r) => r.key === 'messages').map((r) => r.count), [2], 'nothing lost, nothing twice');
    });

    test('counts waiting are bounded: the oldest minute buckets are dropped first', async () => {
      const rec = recorder({ repo: { add: async () => { throw new Error('down'); }, prune: async () => 0 }, maxPending: 30 });
      for (let i = 0; i < 6; i++) rec.observe(event(D0 + i * MIN));
      await rec.flush();
      assert.ok(rec.pendingKeys <= 30);
      assert.ok(rec.dropped > 0);
      // What remains is the newest minutes.
      const real = new StatsRecorder({ repo, logger: quiet, flushMs: 0, pruneMs: 0 });
      (real as unknown as { pending: Map<string, number> }).pending = (rec as unknown as { pending: Map<string, number> }).pending;
      await real.flush();
      const minutes = (await rowsAt('minute')).filter((r) => r.key === 'messages').map((r) => (r.bucket - D0) / MIN);
      assert.ok(minutes.length < 6 && minutes.includes(5) && !minutes.includes(0), `kept ${minutes}`);
    });

    test('pruning deletes each level past its retention and keeps the rest', async () => {
      const now = D0 + 400 * DAY;
      const rec = recorder({ clock: { now: () => now } });
      rec.observe(event(now - RETENTION_MS.minute - HOUR)); // minute row expires; hour and day stay
      rec.observe(event(now - 10 * MIN));
      rec.observe(event(now - RETENTION_MS.hour - DAY)); // minute and hour rows expire; day stays
      await rec.flush();
      await rec.prune();
      const count = async (level: string) => (await rowsAt(level)).filter((r) => r.key === 'messages').length;
      assert.equal(await count('minute'), 1);
      assert.equal(await count('hour'), 2);
      assert.equal(await count('day'), 3);
    });

    test('dashboard: totals by action and module, detections, per-node split and node filter', async () => {
      const rec = recorder();
      for (let i = 0; i < 3; i++) rec.observe(event(D0 + i * HOUR));
      rec.observe(infected(D0 + 2 * HOUR));
      rec.observe(infected(D0 + 3 * HOUR, 'n2'));
      rec.observe(event(D0 + 3 * HOUR, { node: 'n2', action: 'reject', modules: { ...event(0).modules, links: { status: 'malicious' }, antispam: { status: 'trusted' } } }));
      await rec.flush();
      const stats = new DashboardStats(repo, { now: () => D0 + DAY });
      const all = await stats.totals({ from: D0, to: D0 + DAY });
      assert.equal(all.level, 'hour');
      assert.equal(all.messages, 6);
      assert.equal(all.bytes, 4 * 1000 + 2 * 5000);
      assert.deepEqual(all.actions, { skip: 3, delete_attachment: 2, reject: 1, delete: 0, other: 0 });
      assert.equal(all.modules.antivirus.infected, 2);
      assert.equal(all.modules.antivirus.clean, 4);
      assert.equal(all.modules.content.not_scanned, 6);
      assert.equal(all.detections.antivirus.detections, 2);
      assert.equal(all.detections.links.detections, 1);
      assert.equal(all.detections.antispam.detections, 0, 'trusted is not a detection');
      assert.equal(all.detections.antispam.statuses.trusted, 1);
      assert.equal(all.detections.auth.notScanned, 6);
      assert.equal(all.detections.antivirus.total, 6);
      assert.deepEqual(Object.keys(all.byNode).sort(), ['n1', 'n2']);
      assert.equal(all.byNode.n2.messages, 2);
      const n1 = await stats.totals({ from: D0, to: D0 + DAY, node: 'n1' });
      assert.equal(n1.messages, 4);
      assert.deepEqual(Object.keys(n1.byNode), ['n1']);
      assert.deepEqual(await stats.nodes(), ['n1', 'n2']);
    });

    test('dashboard series: level from the period, step in whole buckets, every point present, node filter', async () => {
      const rec = recorder();
      // Minutes 0, 1, 7 of hour 0; hour 5; day 3.
      for (const t of [D0, D0 + MIN + 5, D0 + 7 * MIN, D0 + 5 * HOUR + 1, D0 + 3 * DAY]) rec.observe(event(t));
      rec.observe(infected(D0 + 7 * MIN + 30_000, 'n2'));
      await rec.flush();
      const stats = new DashboardStats(repo, { now: () => D0 + 4 * DAY });

      // Last hours → minutes; 5-minute steps.
      const s1 = await stats.series({ from: D0, to: D0 + HOUR, step: 5 * MIN, level: 'minute' });
      assert.equal(s1.level, 'minute');
      assert.equal(s1.step, 5 * MIN);
      assert.equal(s1.points.length, 12);
      assert.deepEqual(s1.points.slice(0, 3).map((p) => [p.time - D0, p.messages, p.actions.delete_attachment, p.modules.antivirus.infected]), [[0, 2, 0, 0], [5 * MIN, 2, 1, 1], [10 * MIN, 0, 0, 0]]);
      const s1n = await stats.series({ from: D0, to: D0 + HOUR, step: 5 * MIN, level: 'minute', node: 'n1' });
      assert.deepEqual(s1n.points.slice(0, 2).map((p) => p.messages), [2, 1]);
      // A step that is not a whole number of buckets is rounded up.
      assert.equal((await stats.series({ from: D0, to: D0 + HOUR, step: 90_000, level: 'minute' })).step, 2 * MIN);

      // A day → hours (the minute level no longer covers it: it is 4 days old).
      const s2 = await stats.series({ from: D0, to: D0 + DAY });
      assert.equal(s2.level, 'hour');
      assert.equal(s2.points.length, 24);
      assert.deepEqual(s2.points.map((p) => p.messages).filter((n) => n), [4, 1]);
      assert.equal(s2.points[5].messages, 1);

      // A month → days.
      const s3 = await stats.series({ from: D0 - 20 * DAY, to: D0 + 20 * DAY });
      assert.equal(s3.level, 'day');
      assert.equal(s3.points.length, 40);
      assert.equal(s3.points[20].messages, 5);
      assert.equal(s3.points[23].messages, 1);
      assert.equal(s3.points.reduce((s, p) => s + p.messages, 0), 6);

      // Too many points for the step asked: the step widens (at most 1000 points).
      const s4 = await stats.series({ from: D0, to: D0 + 3 * DAY, level: 'minute', step: MIN });
      assert.ok(s4.points.length <= 1000 && s4.step % MIN === 0, `${s4.points.length} points of ${s4.step} ms`);

      // Hostile queries are refused.
      await assert.rejects(stats.series({ from: D0 + DAY, to: D0 }), /to must be after from/);
      await assert.rejects(stats.totals({ from: Number.NaN } as never));
      await assert.rejects(stats.totals({ from: D0, evil: 1 } as never));
    });
  });
}
