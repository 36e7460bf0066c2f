/**
 * The store, once per dialect: the same cases run against SQLite (a temp file, the embedded default) and
 * PostgreSQL (a throw-away database `moat_test_<random>` on 127.0.0.1:5432, dropped at the end even when a case
 * fails). Without PostgreSQL the PostgreSQL half is skipped locally and fails under CI.
 *
 * Ends with a whole node running on PostgreSQL and relaying one message to a sink.
 */
import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { sql } from 'kysely';
import { PG_ADMIN_URL, pgReachable, postgresTarget, sqliteTarget } from './pg.ts';
import { openStore, type Store } from '../../src/store/db.ts';
import { migrationNames } from '../../src/store/migrations.ts';
import { SettingsRepo, SettingsConflictError } from '../../src/store/settings-repo.ts';
import { QueueRepo, type NewQueuedMessage } from '../../src/store/queue-repo.ts';
import { AccountsRepo } from '../../src/store/accounts-repo.ts';
import { startSink, startTestNode, client, eventually } from '../helpers.ts';


/** Times beyond 2^32 ms and sizes beyond 2^32 bytes: a bigint read back as a string or truncated shows here. */
const T0 = 1_700_000_000_000;
const BIG_SIZE = 6_000_000_000;


function msg(over: Partial<NewQueuedMessage> & { id: string }): NewQueuedMessage {
  return {
    node: 'n1', sender: 'sender@example.test', recipients: ['rcpt@dest.test'], clientIp: '127.0.0.1', helo: 'client.test',
    messageId: '<m@example.test>', receivedAt: T0, size: 1000, expiresAt: T0 + 3 * 86_400_000, isBounce: false, nextAttemptAt: T0,
    ...over,
  };
}

const pgProblem = await pgReachable();
if (pgProblem && process.env.CI) {
  test(`PostgreSQL is reachable at ${PG_ADMIN_URL} (required under CI)`, () => {
    assert.fail(`PostgreSQL unreachable at ${PG_ADMIN_URL}: ${pgProblem}`);
  });
}
if (pgProblem && !process.env.CI) {
  console.log(`# skipping the PostgreSQL store suite: ${PG_ADMIN_URL} unreachable (${pgProblem})`);
}

for (const target of [sqliteTarget(), postgresTarget()]) {
  const skip = target.dialect === 'postgres' && pgProblem ? `PostgreSQL unreachable: ${pgProblem}` : false;

  describe(`store on ${target.dialect}`, { skip }, () => {
    let url = '';
    let store: Store;

    before(async () => {
      url = await target.setup();
      store = await openStore(url);
    });

    after(async () => {
      try { await store?.close(); } finally { await target.teardown(); }
    });

    beforeEach(async () => {
      await store.db.deleteFrom('queue_recipients').execute();
      await store.db.deleteFrom('queue_messages').execute();
      await store.db.deleteFrom('accounts').execute();
      await store.db.deleteFrom('settings_versions').execute();
    });

    test('opens with the expected dialect', () => {
      assert.equal(store.dialect, target.dialect);
    });

    test('migrations run once and opening again (while open) is a no-op', async () => {
      const again = await openStore(url);
      const third = await openStore(url);
      try {
        const ran = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(again.db);
        assert.deepEqual(ran.rows.map((r) => r.name), [...migrationNames]);
        // The tables are usable through every handle.
        await new SettingsRepo(third.db).save({ a: 1 }, 'x', 0);
        assert.equal(await new SettingsRepo(store.db).latestVersion(), 1);
      } finally {
        await again.close();
        await third.close();
      }
    });

    if (target.dialect === 'sqlite') {
      test('processes opening a new SQLite file at the same moment all succeed (migrations serialised)', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'moat-race-'));
        try {
          const fresh = `sqlite:${join(dir, 'moat.db')}`;
          const at = Date.now() + 2000;
          // Each child waits for the same instant, then opens the store; before the fix one failed with
          // "database is locked" or "table already exists".
          const code = `const { openStore } = await import(${JSON.stringify(new URL('../../src/store/db.ts', import.meta.url).href)});
            while (Date.now() < ${at});
            const s = await openStore(${JSON.stringify(fresh)}); await s.close();`;
          const runs = await Promise.all([0, 1, 2].map(() => new Promise<{ code: number | null; err: string }>((res) => {
            const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
              stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_COMPILE_CACHE: join(tmpdir(), 'moat-test-compile-cache') },
            });
            let err = '';
            child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
            child.on('close', (c) => res({ code: c, err }));
          })));
          for (const r of runs) assert.equal(r.code, 0, r.err);
          const s = await openStore(fresh);
          try {
            const ran = await sql<{ name: string }>`select name from kysely_migration`.execute(s.db);
            assert.deepEqual(ran.rows.map((r) => r.name), [...migrationNames]);
          } finally { await s.close(); }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }

    test('settings: save, latest, history; empty store', async () => {
      const repo = new SettingsRepo(store.db);
      assert.equal(await repo.latestVersion(), 0);
      assert.equal(await repo.latest(), undefined);
      assert.deepEqual(await repo.history(), []);

      assert.equal(await repo.save({ mta: { hostname: 'one.test' } }, 'alice', 0, T0), 1);
      assert.equal(await repo.save({ mta: { hostname: 'two.test', list: [1, 'x', null] } }, 'bob', 1, T0 + 1000), 2);
      assert.equal(await repo.latestVersion(), 2);
      const latest = await repo.latest();
      assert.deepEqual(latest, { version: 2, document: { mta: { hostname: 'two.test', list: [1, 'x', null] } }, author: 'bob', createdAt: T0 + 1000 });
      assert.equal(typeof latest!.createdAt, 'number');
      const hist = await repo.history();
      assert.deepEqual(hist, [{ version: 2, author: 'bob', createdAt: T0 + 1000 }, { version: 1, author: 'alice', createdAt: T0 }]);
      assert.equal(typeof hist[0].createdAt, 'number');
      assert.deepEqual((await repo.history(1)).map((h) => h.version), [2]);
    });

    test('settings: two saves on the same base — the second gets SettingsConflictError', async () => {
      const repo = new SettingsRepo(store.db);
      await repo.save({ v: 1 }, 'a', 0);
      assert.equal(await repo.save({ v: 2 }, 'a', 1), 2);
      await assert.rejects(repo.save({ v: 'late' }, 'b', 1), SettingsConflictError);
      assert.deepEqual((await repo.latest())!.document, { v: 2 });

      // Racing for real: exactly one of two concurrent writers on the same base wins.
      const results = await Promise.allSettled([repo.save({ v: 'x' }, 'x', 2), repo.save({ v: 'y' }, 'y', 2)]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      assert.ok(lost.reason instanceof SettingsConflictError, String(lost.reason));
      assert.equal(await repo.latestVersion(), 3);
    });

    test('queue: a message with 250 recipients (more than one insert chunk) comes back whole and in order', async () => {
      const repo = new QueueRepo(store.db);
      const rcpts = Array.from({ length: 250 }, (_, i) => `user${i}@dest.test`);
      await repo.insert([msg({ id: 'BIG', recipients: rcpts, receivedAt: T0 + 5, size: BIG_SIZE, nextAttemptAt: T0 + 7, isBounce: true, messageId: null })]);
      const m = await repo.get('BIG');
      assert.ok(m);
      assert.equal(m.recipients.length, 250);
      assert.deepEqual(m.recipients.map((r) => r.address), rcpts);
      assert.deepEqual(m.recipients.map((r) => r.idx), rcpts.map((_, i) => i));
      assert.ok(m.recipients.every((r) => r.state === 'pending' && r.attempts === 0 && r.lastResponse === null));
      assert.equal(m.receivedAt, T0 + 5);
      assert.equal(m.size, BIG_SIZE);
      assert.equal(m.nextAttemptAt, T0 + 7);
      assert.equal(m.expiresAt, T0 + 3 * 86_400_000);
      assert.equal(m.isBounce, true);
      assert.equal(m.messageId, null);
      assert.equal(m.state, 'queued');
      assert.equal(m.attempts, 0);
      assert.equal(m.lastError, null);
      assert.equal(await repo.get('NOPE'), undefined);
      // list() carries all recipients too.
      assert.equal((await repo.list({ id: 'BIG' }))[0].recipients.length, 250);
    });

    test('bigint columns (times, sizes, counts) come back as JavaScript numbers', async () => {
      const repo = new QueueRepo(store.db);
      await repo.insert([msg({ id: 'NUM', size: BIG_SIZE })]);
      const raw = await store.db.selectFrom('queue_messages').select(['received_at', 'size', 'next_attempt_at', 'expires_at', 'attempts']).executeTakeFirstOrThrow();
      for (const [k, v] of Object.entries(raw)) assert.equal(typeof v, 'number', `${k} is ${typeof v}`);
      assert.equal(raw.size, BIG_SIZE);
      assert.equal(raw.received_at, T0);
      const count = await store.db.selectFrom('queue_messages').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      assert.equal(Number(count.n), 1);
      assert.equal(await repo.count(), 1);
      assert.equal(typeof await repo.nextDueAt('n1'), 'number');
      await new AccountsRepo(store.db).create('u', 'h', 'user', T0);
      const acct = await store.db.selectFrom('accounts').select(['id', 'created_at']).executeTakeFirstOrThrow();
      assert.equal(typeof acct.id, 'number');
      assert.equal(acct.created_at, T0);
    });

    test('queue list: every filter, case-insensitive substrings, limit and offset', async () => {
      const repo = new QueueRepo(store.db);
      await repo.insert([
        msg({ id: 'M1', sender: 'Alice@Example.COM', recipients: ['Bob@Dest.test'], receivedAt: T0, size: 1000 }),
        msg({ id: 'M2', sender: 'carol@other.test', recipients: ['dave@dest.test', 'Erin@Far.TEST'], receivedAt: T0 + 1000, size: 5000 }),
        msg({ id: 'M3', sender: 'no_reply@example.com', recipients: ['alice@example.com'], receivedAt: T0 + 2000, size: 50_000, state: 'held' }),
        msg({ id: 'M4', node: 'n2', sender: 'alice@example.com', recipients: ['bob@dest.test'], receivedAt: T0 + 3000 }),
      ]);
      assert.ok(await repo.recordAttempt('M2', [{ idx: 0, state: 'pending', response: '421 busy' }], T0 + 9000, 'Connection REFUSED by mx.far.test', T0 + 1500));
      const ids = async (f: Parameters<QueueRepo['list']>[0]) => (await repo.list(f)).map((m) => m.id);

      assert.deepEqual(await ids({}), ['M1', 'M2', 'M3', 'M4']);
      assert.deepEqual(await ids({ node: 'n1' }), ['M1', 'M2', 'M3']);
      assert.deepEqual(await ids({ node: 'n2' }), ['M4']);
      assert.deepEqual(await ids({ id: 'M2' }), ['M2']);
      assert.deepEqual(await ids({ node: 'n1', sender: 'EXAMPLE.com' }), ['M1', 'M3']);
      assert.deepEqual(await ids({ sender: 'alice@' }), ['M1', 'M4']);
      // `_` and `%` are literal characters, not wildcards.
      assert.deepEqual(await ids({ sender: 'no_reply' }), ['M3']);
      assert.deepEqual(await ids({ sender: 'l_o' }), []); // would match carol@other as a wildcard
      assert.deepEqual(await ids({ sender: '%' }), []);
      assert.deepEqual(await ids({ node: 'n1', recipient: 'DEST.TEST' }), ['M1', 'M2']);
      assert.deepEqual(await ids({ recipient: 'far.test' }), ['M2']);
      assert.deepEqual(await ids({ recipient: 'nobody' }), []);
      assert.deepEqual(await ids({ state: 'held' }), ['M3']);
      assert.deepEqual(await ids({ node: 'n1', state: 'queued' }), ['M1', 'M2']);
      assert.deepEqual(await ids({ node: 'n1', receivedAfter: T0 + 1000 }), ['M2', 'M3']);
      assert.deepEqual(await ids({ node: 'n1', receivedBefore: T0 + 1000 }), ['M1']);
      assert.deepEqual(await ids({ receivedAfter: T0 + 500, receivedBefore: T0 + 2500 }), ['M2', 'M3']);
      assert.deepEqual(await ids({ node: 'n1', minSize: 5000 }), ['M2', 'M3']);
      assert.deepEqual(await ids({ node: 'n1', maxSize: 5000 }), ['M1', 'M2']);
      assert.deepEqual(await ids({ minSize: 2000, maxSize: 10_000 }), ['M2']);
      assert.deepEqual(await ids({ minAttempts: 1 }), ['M2']);
      assert.deepEqual(await ids({ minAttempts: 0, node: 'n2' }), ['M4']);
      assert.deepEqual(await ids({ error: 'refused' }), ['M2']);
      assert.deepEqual(await ids({ error: 'timeout' }), []);
      assert.deepEqual(await ids({ limit: 2 }), ['M1', 'M2']);
      assert.deepEqual(await ids({ limit: 2, offset: 1 }), ['M2', 'M3']);
      assert.deepEqual(await ids({ offset: 3 }), ['M4']);
      assert.deepEqual(await ids({ node: 'n1', sender: 'example', recipient: 'example', state: 'held' }), ['M3']);
      const [m2] = await repo.list({ id: 'M2' });
      assert.deepEqual(m2.recipients.map((r) => r.address), ['dave@dest.test', 'Erin@Far.TEST']);
    });

    test('queue due(): oldest next attempt first, only due, queued, this node; limit; nextDueAt', async () => {
      const repo = new QueueRepo(store.db);
      await repo.insert([
        msg({ id: 'LATE', nextAttemptAt: T0 + 300 }),
        msg({ id: 'EARLY', nextAttemptAt: T0 + 100 }),
        msg({ id: 'MID', nextAttemptAt: T0 + 200 }),
        msg({ id: 'FUTURE', nextAttemptAt: T0 + 10_000 }),
        msg({ id: 'HELD', nextAttemptAt: T0 + 50, state: 'held' }),
        msg({ id: 'OTHER', node: 'n2', nextAttemptAt: T0 + 10 }),
      ]);
      assert.deepEqual(await repo.due('n1', T0 + 1000, 10), ['EARLY', 'MID', 'LATE']);
      assert.deepEqual(await repo.due('n1', T0 + 1000, 2), ['EARLY', 'MID']);
      assert.deepEqual(await repo.due('n1', T0 + 200, 10), ['EARLY', 'MID']);
      assert.deepEqual(await repo.due('n1', T0, 10), []);
      assert.deepEqual(await repo.due('n2', T0 + 1000, 10), ['OTHER']);
      assert.deepEqual(await repo.due('n3', T0 + 1000, 10), []);
      assert.equal(await repo.nextDueAt('n1'), T0 + 100);
      assert.equal(await repo.nextDueAt('n2'), T0 + 10);
      assert.equal(await repo.nextDueAt('n3'), undefined);
      assert.deepEqual((await repo.ids('n2')), ['OTHER']);
    });

    test('queue recordAttempt: per-recipient states and attempts; false for a deleted message', async () => {
      const repo = new QueueRepo(store.db);
      await repo.insert([msg({ id: 'RA', recipients: ['a@x.test', 'b@x.test', 'c@x.test'] })]);
      const long = `451 ${'x'.repeat(2000)}`;
      assert.equal(await repo.recordAttempt('RA', [
        { idx: 0, state: 'delivered', response: '250 2.0.0 ok' },
        { idx: 1, state: 'failed', response: '550 5.1.1 no such user' },
        { idx: 2, state: 'pending', response: long },
      ], T0 + 600_000, '451 try later', T0 + 1), true);
      let m = (await repo.get('RA'))!;
      assert.equal(m.attempts, 1);
      assert.equal(m.nextAttemptAt, T0 + 600_000);
      assert.equal(m.lastError, '451 try later');
      assert.deepEqual(m.recipients.map((r) => [r.state, r.attempts, r.lastResponse?.slice(0, 12)]),
        [['delivered', 1, '250 2.0.0 ok'], ['failed', 1, '550 5.1.1 no'], ['pending', 1, '451 xxxxxxxx']]);
      assert.equal(m.recipients[2].lastResponse!.length, 1000);
      const upd = await store.db.selectFrom('queue_recipients').select('updated_at').where('message_id', '=', 'RA').where('idx', '=', 0).executeTakeFirstOrThrow();
      assert.equal(upd.updated_at, T0 + 1);

      // Second attempt touches only the still-pending recipient; lastError may be cleared.
      assert.equal(await repo.recordAttempt('RA', [{ idx: 2, state: 'delivered', response: '250 ok' }], T0 + 700_000, null, T0 + 2), true);
      m = (await repo.get('RA'))!;
      assert.equal(m.attempts, 2);
      assert.equal(m.lastError, null);
      assert.deepEqual(m.recipients.map((r) => [r.state, r.attempts]), [['delivered', 1], ['failed', 1], ['delivered', 2]]);

      assert.equal(await repo.remove('RA'), true);
      assert.equal(await repo.recordAttempt('RA', [{ idx: 0, state: 'delivered', response: '250' }], T0, null, T0), false);
      const orphans = await store.db.selectFrom('queue_recipients').selectAll().where('message_id', '=', 'RA').execute();
      assert.deepEqual(orphans, []);
    });

    test('queue retryNow (one / all, held excluded) and setState hold / release', async () => {
      const repo = new QueueRepo(store.db);
      await repo.insert([
        msg({ id: 'Q1', nextAttemptAt: T0 + 5000 }),
        msg({ id: 'Q2', nextAttemptAt: T0 + 6000 }),
        msg({ id: 'H1', nextAttemptAt: T0 + 7000, state: 'held' }),
        msg({ id: 'X1', node: 'n2', nextAttemptAt: T0 + 8000 }),
      ]);
      const next = async (id: string) => (await repo.get(id))!.nextAttemptAt;
      assert.equal(await repo.retryNow('n1', T0 + 1, 'Q1'), 1);
      assert.equal(await next('Q1'), T0 + 1);
      assert.equal(await next('Q2'), T0 + 6000);
      assert.equal(await repo.retryNow('n1', T0 + 1, 'H1'), 0, 'a held message is not retried');
      assert.equal(await repo.retryNow('n1', T0 + 1, 'X1'), 0, 'another node’s message is not retried');
      assert.equal(await repo.retryNow('n1', T0 + 2), 2);
      assert.equal(await next('Q1'), T0 + 2);
      assert.equal(await next('Q2'), T0 + 2);
      assert.equal(await next('H1'), T0 + 7000);
      assert.equal(await next('X1'), T0 + 8000);

      assert.equal(await repo.setState('n1', 'Q1', 'held', T0 + 3), true);
      assert.equal((await repo.get('Q1'))!.state, 'held');
      assert.deepEqual(await repo.due('n1', T0 + 100, 10), ['Q2']);
      assert.equal(await repo.setState('n1', 'H1', 'queued', T0 + 4), true);
      const h1 = (await repo.get('H1'))!;
      assert.equal(h1.state, 'queued');
      assert.equal(h1.nextAttemptAt, T0 + 4, 'a released message is due at once');
      assert.deepEqual(await repo.due('n1', T0 + 100, 10), ['Q2', 'H1']);
      assert.equal(await repo.setState('n1', 'X1', 'held', T0), false, 'another node’s message');
      assert.equal(await repo.setState('n1', 'NOPE', 'held', T0), false);
    });

    test('queue remove cascades to recipients; count per node', async () => {
      const repo = new QueueRepo(store.db);
      await repo.insert([
        msg({ id: 'R1', recipients: ['a@x.test', 'b@x.test'] }),
        msg({ id: 'R2', recipients: ['c@x.test'] }),
        msg({ id: 'R3', node: 'n2' }),
      ]);
      assert.equal(await repo.count(), 3);
      assert.equal(await repo.count('n1'), 2);
      assert.equal(await repo.count('n2'), 1);
      assert.equal(await repo.count('n9'), 0);
      const rcptCount = async (id: string) => Number((await store.db.selectFrom('queue_recipients')
        .select((eb) => eb.fn.countAll().as('n')).where('message_id', '=', id).executeTakeFirstOrThrow()).n);
      assert.equal(await rcptCount('R1'), 2);
      assert.equal(await repo.remove('R1'), true);
      assert.equal(await rcptCount('R1'), 0);
      assert.equal(await rcptCount('R2'), 1);
      assert.equal(await repo.remove('R1'), false);
      assert.equal(await repo.get('R1'), undefined);
      assert.equal(await repo.count('n1'), 1);
      // forget(): removals made in the same tick share one statement, and still cascade.
      await Promise.all([repo.forget('R2'), repo.forget('R3')]);
      assert.equal(await repo.count(), 0);
      assert.equal(await rcptCount('R2'), 0);
      assert.equal(await rcptCount('R3'), 0);
    });

    test('queue insert is atomic: a duplicate id rolls back the whole batch', async () => {
      const repo = new QueueRepo(store.db);
      await repo.insert([msg({ id: 'D1' })]);
      await assert.rejects(repo.insert([msg({ id: 'D2', recipients: ['a@x.test', 'b@x.test'] }), msg({ id: 'D1' })]));
      assert.equal(await repo.get('D2'), undefined);
      assert.equal(await repo.count(), 1);
    });

    test('inserts from different callers share a transaction, but one bad call does not fail the others', async () => {
      const repo = new QueueRepo(store.db);
      await repo.insert([msg({ id: 'E1' })]);
      // Same tick: both calls land in one batch; the duplicate E1 fails, E2 must still be stored.
      const [dup, ok] = await Promise.allSettled([repo.insert([msg({ id: 'E1' })]), repo.insert([msg({ id: 'E2' })])]);
      assert.equal(dup.status, 'rejected');
      assert.equal(ok.status, 'fulfilled');
      assert.ok(await repo.get('E2'));
    });

    test('accounts: create, find (case-insensitive), setPassword, list, remove', async () => {
      const repo = new AccountsRepo(store.db);
      await repo.create('Alice', 'hash-1', 'user', T0);
      await repo.create('bob', 'hash-b', 'superuser', T0 + 1);
      const a = await repo.find('ALICE');
      assert.ok(a);
      assert.equal(a.username, 'alice');
      assert.equal(a.passwordHash, 'hash-1');
      assert.equal(a.role, 'user');
      assert.equal(a.createdAt, T0);
      assert.equal(typeof a.id, 'number');
      assert.notEqual((await repo.find('bob'))!.id, a.id);
      assert.equal(await repo.find('carol'), undefined);
      await assert.rejects(repo.create('aLiCe', 'hash-2', 'user'), 'a second account with the same name (any case)');

      assert.equal(await repo.setPassword('aLIce', 'hash-3'), true);
      assert.equal((await repo.find('alice'))!.passwordHash, 'hash-3');
      assert.equal(await repo.setPassword('nobody', 'x'), false);

      assert.deepEqual((await repo.list()).map((x) => [x.username, x.role, x.createdAt]), [['alice', 'user', T0], ['bob', 'superuser', T0 + 1]]);
      assert.equal(await repo.remove('ALICE'), true);
      assert.equal(await repo.remove('alice'), false);
      assert.deepEqual((await repo.list()).map((x) => x.username), ['bob']);
    });

    if (target.dialect === 'postgres') {
      test('a whole node runs on PostgreSQL: seeds settings there and relays a message to the next hop', async () => {
        const sink = await startSink();
        const node = await startTestNode({ databaseUrl: url, settings: { mta: { hostname: 'gw.pg.test', relayHost: `127.0.0.1:${sink.port}` } } });
        try {
          assert.equal(node.store.dialect, 'postgres');
          const info = await client(node.smtpPort).sendMail({ from: 'alice@inside.test', to: ['bob@outside.test', 'carol@outside.test'], subject: 'pg', text: 'over postgres' });
          assert.match(info.response, /^250 /);
          const [m] = await sink.waitFor(1);
          assert.deepEqual(m.to.sort(), ['bob@outside.test', 'carol@outside.test']);
          assert.match(m.data.toString(), /by gw\.pg\.test \(Moat\)/);
          await eventually(async () => (await new QueueRepo(store.db).count('test')) === 0, 10_000, 'the delivered message to leave the PostgreSQL queue');
          // The settings the node runs on are the ones in this PostgreSQL database.
          const latest = await new SettingsRepo(store.db).latest();
          assert.equal(latest?.version, node.settings.version);
          assert.equal((latest?.document as { mta: { hostname: string } }).mta.hostname, 'gw.pg.test');
        } finally {
          await node.cleanup();
          await sink.close();
        }
      });
    }
  });
}
