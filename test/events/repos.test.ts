/**
 * The event log's store, once per dialect (a temp SQLite file, a throw-away PostgreSQL database): traffic event
 * filters (each one, alone and combined), keyset paging newest first with totals, detail, system events and the
 * audit trail through the EventLog service (catalogue check, secret redaction, a failing store logged and not
 * thrown), the copy of pre-0009 rows into the child tables, and retention by age and by size (batches, cascade of
 * child rows, the `events.limit_reached` system event). Without PostgreSQL its half is skipped locally, fails in CI.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { sql } from 'kysely';
import { PG_ADMIN_URL, pgReachable, postgresTarget, sqliteTarget } from '../store/pg.ts';
import { openStore, type Store } from '../../src/store/db.ts';
import { EventLog, EventQueryError } from '../../src/events/service.ts';
import { TrafficEventsRepo } from '../../src/store/events-repo.ts';
import { RetentionSweeper } from '../../src/events/retention.ts';
import { copyTrafficChildren } from '../../src/store/events-migration.ts';
import { eventsSettingsSchema } from '../../src/events/settings.ts';
import type { TrafficEvent } from '../../src/disposition/intake.ts';

const T0 = 1_700_000_000_000;
const DAY = 86_400_000;

function logger() {
  const lines: Record<string, unknown>[] = [];
  const l = pino({ level: 'debug' }, new Writable({ write(c, _e, done) { for (const s of String(c).split('\n')) if (s) lines.push(JSON.parse(s)); done(); } }));
  return { l, lines };
}

function traffic(i: number, over: Partial<TrafficEvent> = {}): TrafficEvent {
  const spam = i % 5 === 0;
  return {
    time: T0 + i * 60_000, node: i % 2 ? 'n1' : 'n2', queueId: `Q${String(i).padStart(15, '0')}`, deliveredAs: i % 3 === 0 ? `D${String(i).padStart(15, '0')}` : null,
    messageId: `<m${i}@example.test>`, clientIp: `192.0.2.${i % 7}`, helo: 'client.test', sender: i % 4 === 0 ? `Boss${i}@Corp.Example` : `user${i}@example.net`,
    recipients: i % 6 === 0 ? [`A${i}@dest.test`, 'shared@Other.TEST'] : [`a${i}@dest.test`], subject: i === 13 ? 'Invoice 100% PAID_now' : `Hello number ${i}`,
    size: 1000 + i, rule: i % 8 === 0 ? 'Strict' : 'Default', action: spam ? 'delete' : 'skip', backup: i % 9 === 0,
    modules: { antivirus: { status: 'clean' }, antispam: { status: spam ? 'spam' : 'clean', details: { rating: spam ? 95 : 3 } }, links: { status: 'not_scanned', reason: 'disabled' } },
    ...over,
  };
}

const pgProblem = await pgReachable();
if (pgProblem && process.env.CI) test(`PostgreSQL is reachable at ${PG_ADMIN_URL} (required under CI)`, () => assert.fail(pgProblem));

for (const target of [sqliteTarget('moat-events-'), postgresTarget()]) {
  const skip = target.dialect === 'postgres' && pgProblem ? `PostgreSQL unreachable: ${pgProblem}` : false;
  describe(`event log store on ${target.dialect}`, { skip }, () => {
    let store: Store;
    let log: EventLog;
    const N = 60;
    const all: TrafficEvent[] = [];
    const log1 = logger();

    before(async () => {
      store = await openStore(await target.setup());
      log = new EventLog({ db: store.db, node: 'n1', logger: log1.l, clock: { now: () => T0 + 3 * DAY } });
      const sink = log.trafficSink();
      for (let i = 1; i <= N; i++) { const e = traffic(i); all.push(e); await sink.record(e); }
    });
    after(async () => { try { await store?.close(); } finally { await target.teardown(); } });

    const ids = async (f: Record<string, unknown>) => (await log.listTraffic(f, { limit: 1000 })).items.map((e) => Number(e.queueId.slice(1)));
    const expect = (pred: (e: TrafficEvent, i: number) => boolean) => all.map((e, k) => [e, k + 1] as const).filter(([e, i]) => pred(e, i)).map(([, i]) => i).reverse();

    test('each traffic filter returns exactly the matching events, newest first', async () => {
      assert.deepEqual(await ids({}), expect(() => true));
      assert.deepEqual(await ids({ node: 'n2' }), expect((e) => e.node === 'n2'));
      assert.deepEqual(await ids({ queueId: all[11].queueId.toLowerCase() }), [12]);
      assert.deepEqual(await ids({ queueId: 'D000000000000012' }), [12], 'delivered_as matches too');
      assert.deepEqual(await ids({ messageId: 'm7@example.test' }), [7]);
      assert.deepEqual(await ids({ messageId: '<m7@example.test>' }), [7]);
      assert.deepEqual(await ids({ clientIp: '192.0.2.3' }), expect((_e, i) => i % 7 === 3));
      assert.deepEqual(await ids({ sender: 'boss8@corp.example' }), [8], 'sender is case-insensitive');
      assert.deepEqual(await ids({ sender: '@CORP.example' }), expect((_e, i) => i % 4 === 0));
      assert.deepEqual(await ids({ recipient: 'SHARED@other.test' }), expect((_e, i) => i % 6 === 0));
      assert.deepEqual(await ids({ recipient: 'a12@dest.test' }), [12]);
      assert.deepEqual(await ids({ recipient: '@dest.test' }), expect(() => true));
      assert.deepEqual(await ids({ subject: 'NUMBER 4' }), expect((e) => e.subject.includes('number 4')));
      assert.deepEqual(await ids({ subject: '100%' }), [13], 'LIKE wildcards in the filter are literal');
      assert.deepEqual(await ids({ subject: 'd_n' }), [13]);
      assert.deepEqual(await ids({ subject: '0%' }), [13]);
      assert.deepEqual(await ids({ rule: 'Strict' }), expect((e) => e.rule === 'Strict'));
      assert.deepEqual(await ids({ action: 'delete' }), expect((e) => e.action === 'delete'));
      assert.deepEqual(await ids({ module: 'antispam', status: 'spam' }), expect((e) => e.modules.antispam.status === 'spam'));
      assert.deepEqual(await ids({ status: 'spam' }), expect((e) => e.modules.antispam.status === 'spam'));
      assert.deepEqual(await ids({ module: 'links', status: 'clean' }), []);
      assert.deepEqual(await ids({ backup: true }), expect((e) => e.backup));
      assert.deepEqual(await ids({ backup: 'false' }), expect((e) => !e.backup));
      assert.deepEqual(await ids({ from: T0 + 10 * 60_000, to: new Date(T0 + 20 * 60_000).toISOString() }), expect((_e, i) => i >= 10 && i < 20));
      assert.deepEqual(await ids({ node: 'n1', action: 'delete', recipient: '@dest.test', from: T0 }), expect((e) => e.node === 'n1' && e.action === 'delete'));
    });

    test('keyset paging walks every event once, newest first, with the total', async () => {
      const seen: number[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const p = await log.listTraffic({ node: 'n1' }, { limit: 7, cursor, total: true });
        assert.equal(p.total, N / 2);
        seen.push(...p.items.map((e) => e.id));
        cursor = p.nextCursor ?? undefined;
        pages++;
      } while (cursor);
      assert.equal(pages, Math.ceil(N / 2 / 7));
      assert.equal(seen.length, N / 2);
      assert.deepEqual(seen, [...seen].sort((a, b) => b - a));
      assert.equal((await log.listTraffic({}, { limit: 5 })).total, undefined);
    });

    test('detail by id round-trips the event; unknown ids give null', async () => {
      const [first] = (await log.listTraffic({ queueId: all[5].queueId })).items;
      const got = await log.getTraffic(first.id);
      const { id, ...rest } = got!;
      assert.equal(id, first.id);
      assert.deepEqual(rest, all[5]);
      assert.equal(await log.getTraffic(99_999_999), null);
      assert.equal(await log.getTraffic(Number.NaN), null);
    });

    test('events recorded at once are written together: each gets its own id and its own child rows', async () => {
      const repo = new TrafficEventsRepo(store.db);
      const burst = Array.from({ length: 40 }, (_, k) => ({ ...traffic(1000 + k), recipients: [`r${k}@burst.test`, `s${k}@burst.test`] }));
      const got = await Promise.all(burst.map((e) => repo.insert(e)));
      assert.equal(new Set(got).size, burst.length, 'distinct ids');
      for (const [k, id] of got.entries()) {
        const { id: _id, ...rest } = (await repo.get(id))!;
        assert.deepEqual(rest, burst[k], `event ${k} round-trips under its own id`);
        const rcpts = await store.db.selectFrom('traffic_event_recipients').select(['address', 'idx']).where('event_id', '=', id).orderBy('idx').execute();
        assert.deepEqual(rcpts.map((r) => r.address), [`r${k}@burst.test`, `s${k}@burst.test`]);
        const st = await store.db.selectFrom('traffic_event_statuses').select('module').where('event_id', '=', id).execute();
        assert.equal(st.length, Object.keys(burst[k].modules).length);
      }
      await store.db.deleteFrom('traffic_event_recipients').where('event_id', 'in', got).execute();
      await store.db.deleteFrom('traffic_event_statuses').where('event_id', 'in', got).execute();
      await store.db.deleteFrom('traffic_events').where('id', 'in', got).execute();
    });

    test('the SMTP path does not wait for its event: written in one batch later, seen by every reader in the process', async () => {
      const sink = log.trafficSink();
      const burst = Array.from({ length: 30 }, (_, k) => traffic(2000 + k, { queueId: `W${String(k).padStart(15, '0')}` }));
      for (const e of burst) await sink.record(e);
      // Every record() has returned and nothing is committed yet: they wait together for one write.
      const raw = () => store.db.selectFrom('traffic_events').select('id').where('queue_id', 'like', 'W%').execute();
      assert.equal(log.traffic.backlog, burst.length);
      assert.equal((await raw()).length, 0);
      // Another repository on the same store (as the tests' helpers and the API use) waits for them when it reads.
      const seen = await new TrafficEventsRepo(store.db).list({ queueId: burst[7].queueId });
      assert.equal(seen.items.length, 1);
      assert.equal(log.traffic.backlog, 0);
      assert.equal((await raw()).length, burst.length);
      await store.db.deleteFrom('traffic_events').where('queue_id', 'like', 'W%').execute();
    });

    test('a store that falls behind makes the SMTP path wait for its own commit (bounded backlog)', async () => {
      const sink = log.trafficSink();
      const many = Array.from({ length: 2001 }, (_, k) => traffic(3000 + k, { queueId: `B${String(k).padStart(15, '0')}` }));
      const done = many.map((e) => sink.record(e));
      await done[done.length - 1];
      // The last one was handed over with more than 2,000 waiting: it returned only once it was committed.
      const last = await store.db.selectFrom('traffic_events').select('id').where('queue_id', '=', many[2000].queueId).execute();
      assert.equal(last.length, 1);
      await Promise.all(done);
      await log.traffic.flush();
      await store.db.deleteFrom('traffic_events').where('queue_id', 'like', 'B%').execute();
    });

    test('a traffic event that cannot be written is logged once it fails; the others of its batch are kept', async () => {
      const sink = log.trafficSink();
      const good = traffic(4000, { queueId: 'G000000000000001' });
      const bad = { ...traffic(4001), queueId: 'G000000000000002', modules: { antispam: { status: null } } } as unknown as TrafficEvent;
      await sink.record(good);
      await sink.record(bad); // returns: the failure comes later, in the write
      await log.traffic.flush();
      assert.ok(log1.lines.some((l) => l.msg === 'traffic event not recorded' && l.qid === 'G000000000000002'));
      const kept = await store.db.selectFrom('traffic_events').select('queue_id').where('queue_id', 'like', 'G%').execute();
      assert.deepEqual(kept.map((r) => r.queue_id), ['G000000000000001']);
      await store.db.deleteFrom('traffic_events').where('queue_id', 'like', 'G%').execute();
    });

    test('hostile filters and pages are refused with the field named', async () => {
      await assert.rejects(log.listTraffic({ nope: 1 }), (e: unknown) => e instanceof EventQueryError && e.problems[0] === 'nope: unknown field');
      await assert.rejects(log.listTraffic({ from: 'yesterday-ish' }), (e: unknown) => e instanceof EventQueryError && /^from/.test(e.problems[0]));
      await assert.rejects(log.listTraffic({}, { limit: 5000 }), EventQueryError);
      await assert.rejects(log.listTraffic({}, { cursor: '1 OR 1=1' }), EventQueryError);
      await assert.rejects(log.listSystem({ type: 'made.up' }), EventQueryError);
      assert.throws(() => log.export('traffic', 'xml' as never), EventQueryError);
      // Quotes and SQL in values are data.
      assert.deepEqual(await ids({ sender: "x' OR '1'='1" }), []);
    });

    test('system events: recorded, filtered by type, severity, node and time; bad types logged, never thrown', async () => {
      await log.system({ type: 'product.started', severity: 'info', message: 'started\nsecond line', details: { version: '1', password: 'hunter2' } });
      await log.system({ type: 'database.out_of_date', severity: 'warning', message: 'AV signatures are 3 days old', node: 'n2', time: T0 + DAY });
      await log.system({ type: 'login.failed', severity: 'error', message: 'bad password for admin', time: T0 + 2 * DAY });
      await log.system({ type: 'bogus.type' as never, severity: 'info', message: 'x' });
      assert.ok(log1.lines.some((l) => l.msg === 'system event not recorded' && l.type === 'bogus.type'));
      const every = await log.listSystem({}, { total: true });
      assert.equal(every.total, 3);
      assert.deepEqual(every.items.map((e) => e.type), ['login.failed', 'database.out_of_date', 'product.started']);
      const started = every.items[2];
      assert.equal(started.message, 'started second line');
      assert.deepEqual(started.details, { version: '1', password: '[redacted]' });
      assert.equal(started.node, 'n1');
      assert.deepEqual((await log.listSystem({ severity: 'warning' })).items.map((e) => e.node), ['n2']);
      assert.deepEqual((await log.listSystem({ node: 'n1', from: T0 + DAY })).items.map((e) => e.type), ['login.failed', 'product.started']);
      assert.deepEqual((await log.listSystem({ type: 'login.failed' })).items.map((e) => e.message), ['bad password for admin']);
      assert.deepEqual(await log.getSystem(started.id), started);
    });

    test('audit trail: recorded with secrets redacted, filtered by actor, action, target, source, time', async () => {
      await log.audit({ actor: 'admin', source: 'api', ip: '198.51.100.7', action: 'accounts.update', target: 'account:bob', before: { role: 'viewer', passwordHash: 'scrypt$x' }, after: { role: 'superuser' }, time: T0 });
      await log.audit({ actor: 'cli:root', source: 'cli', ip: null, action: 'settings.set', target: 'settings:mta.hostname', before: { 'mta.hostname': 'a' }, after: { 'mta.hostname': 'b' }, time: T0 + DAY });
      await log.audit({ actor: 'admin', source: 'api', ip: '198.51.100.7', action: 'backup.deliver', target: 'backup:01J', time: T0 + 2 * DAY });
      const a = await log.listAudit({ actor: 'admin' }, { total: true });
      assert.equal(a.total, 2);
      assert.deepEqual(a.items.map((e) => e.action), ['backup.deliver', 'accounts.update']);
      assert.deepEqual(a.items[1].before, { role: 'viewer', passwordHash: '[redacted]' });
      assert.equal(a.items[0].before, undefined);
      assert.deepEqual((await log.listAudit({ source: 'cli' })).items.map((e) => e.target), ['settings:mta.hostname']);
      assert.deepEqual((await log.listAudit({ target: 'account:bob' })).items.map((e) => e.ip), ['198.51.100.7']);
      assert.deepEqual((await log.listAudit({ action: 'settings.set', to: T0 + DAY + 1 })).items.length, 1);
      assert.deepEqual((await log.listAudit({ to: T0 + DAY })).items.map((e) => e.action), ['accounts.update']);
      const one = a.items[0];
      assert.deepEqual(await log.getAudit(one.id), one);
    });

    test('a store failure while recording a system or audit event is logged, not thrown', async () => {
      const broken = new EventLog({ db: store.db.withTables<{ system_events: never }>() as never, node: 'n1', logger: log1.l });
      // A closed-over database handle that rejects every query.
      const failing = new EventLog({ db: { insertInto() { throw new Error('database is down'); } } as never, node: 'n1', logger: log1.l });
      assert.ok(broken);
      await failing.system({ type: 'node.unavailable', severity: 'critical', message: 'n9 is gone' });
      await failing.audit({ actor: 'admin', source: 'api', ip: null, action: 'rules.update', target: 'rule:1' });
      assert.ok(log1.lines.some((l) => l.msg === 'system event not recorded' && l.err === 'database is down'));
      assert.ok(log1.lines.some((l) => l.msg === 'audit entry not recorded' && l.action === 'rules.update'));
    });

    test('rows recorded before 0009_events get their recipient and status rows', async () => {
      const row = await store.db.insertInto('traffic_events').values({
        time: T0, node: 'old', queue_id: 'OLDROW0000000001', delivered_as: null, message_id: null, client_ip: '203.0.113.1', helo: 'h', sender: 's@old.test',
        recipients: JSON.stringify(['Legacy@Old.Test']), subject: '', size: 1, rule: 'Default', action: 'skip', backup: 0,
        modules: JSON.stringify({ antivirus: { status: 'infected' } }),
      }).returning('id').executeTakeFirstOrThrow();
      assert.deepEqual(await ids({ recipient: 'legacy@old.test' }), []);
      assert.equal(await copyTrafficChildren(store.db, Number(row.id) - 1), 1);
      assert.deepEqual((await log.listTraffic({ recipient: 'legacy@old.test' })).items.map((e) => e.node), ['old']);
      assert.deepEqual((await log.listTraffic({ module: 'antivirus', status: 'infected' })).items.map((e) => e.node), ['old']);
      await sql`DELETE FROM traffic_events WHERE id = ${Number(row.id)}`.execute(store.db);
    });

    test('retention: by age, then by size in batches; child rows go too; a size deletion records a system event', async () => {
      const settings = eventsSettingsSchema.parse({ retention: { traffic: { days: 1, maxRows: 20 }, system: { days: 2, maxRows: 0 }, audit: { days: 0, maxRows: 2 } } });
      // Clock: T0 + 1 day + 30 min → traffic older than T0 + 30 min (events 1..29) goes by age, then 31 rows remain → 11 oldest by size.
      await log.system({ type: 'node.left', severity: 'info', message: 'old', time: T0 - DAY });
      const sweeper = new RetentionSweeper({ db: store.db, settings: () => settings, events: log, logger: log1.l, clock: { now: () => T0 + DAY + 30 * 60_000 }, batch: 4 });
      const res = await sweeper.sweep();
      const t = res.find((r) => r.kind === 'traffic')!;
      assert.deepEqual([t.byAge, t.bySize], [29, 11]);
      assert.deepEqual(await ids({}), expect((_e, i) => i > 40));
      const orphans = await sql<{ n: number }>`SELECT count(*) AS n FROM traffic_event_recipients WHERE event_id NOT IN (SELECT id FROM traffic_events)`.execute(store.db);
      assert.equal(Number(orphans.rows[0].n), 0);
      const statusRows = await sql<{ n: number }>`SELECT count(*) AS n FROM traffic_event_statuses`.execute(store.db);
      assert.equal(Number(statusRows.rows[0].n), 20 * 3);
      // System: only the event older than now - 2 days (T0 - 1 day) goes.
      assert.equal(res.find((r) => r.kind === 'system')!.byAge, 1);
      const audit = res.find((r) => r.kind === 'audit')!;
      assert.deepEqual([audit.byAge, audit.bySize], [0, 1]);
      assert.deepEqual((await log.listAudit()).items.map((e) => e.action), ['backup.deliver', 'settings.set']);
      const limit = (await log.listSystem({ type: 'events.limit_reached' })).items;
      assert.deepEqual(limit.map((e) => e.details?.kind).sort(), ['audit', 'traffic']);
      assert.equal(limit.find((e) => e.details?.kind === 'traffic')!.details!.deleted, 11);
      // A second sweep finds nothing more to do.
      const again = await sweeper.sweep();
      assert.ok(again.every((r) => r.byAge === 0 && r.bySize === 0), JSON.stringify(again));
    });
  });
}

test('closing the store writes the traffic events still waiting for their batch', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'moat-events-close-'));
  try {
    const url = `sqlite:${join(dir, 'moat.db')}`;
    const first = await openStore(url);
    const sink = new EventLog({ db: first.db, node: 'n1', logger: pino({ level: 'silent' }) }).trafficSink();
    for (let i = 0; i < 5; i++) await sink.record(traffic(i));
    await first.close();
    const again = await openStore(url);
    try {
      const n = await again.db.selectFrom('traffic_events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      assert.equal(Number(n.n), 5);
    } finally { await again.close(); }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
