/**
 * The accounts store (0007_accounts, accounts/roles/sessions/tokens repos and the services over them) on SQLite
 * and PostgreSQL: legacy SMTP AUTH rows migrate to role personal and keep their password; lockout counts add up;
 * cascades on delete; sessions and tokens are stored hashed. Without PostgreSQL the PostgreSQL half is skipped
 * locally and fails under CI.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kysely, SqliteDialect, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { PG_ADMIN_URL, pgReachable, postgresTarget, sqliteTarget } from '../store/pg.ts';
import { openStore, type Store } from '../../src/store/db.ts';
import { openSqlite } from '../../src/store/sqlite-adapter.ts';
import { accountsMigration } from '../../src/store/accounts-migration.ts';
import { AccountsService } from '../../src/accounts/service.ts';
import { hashPassword, verifyPassword } from '../../src/accounts/passwords.ts';
import { accountsSettingsSchema } from '../../src/accounts/settings.ts';
import { silentLogger } from '../../src/platform/logger.ts';
import { RecordingSinks } from '../api/client.ts';

const pgProblem = await pgReachable();
if (pgProblem && process.env.CI) test('PostgreSQL is reachable (required under CI)', () => assert.fail(`PostgreSQL unreachable at ${PG_ADMIN_URL}: ${pgProblem}`));

for (const makeTarget of [sqliteTarget, postgresTarget]) {
  const target = makeTarget();
  const skip = target.dialect === 'postgres' && pgProblem ? `PostgreSQL unreachable: ${pgProblem}` : false;

  describe(`accounts store on ${target.dialect}`, { skip }, () => {
    let url = '';
    let store: Store;
    const clock = { t: 1_700_000_000_000, now() { return this.t; } };
    const sinks = new RecordingSinks();
    let svc: AccountsService;

    before(async () => {
      url = await target.setup();
      store = await openStore(url);
      svc = new AccountsService({ db: store.db, settings: () => accountsSettingsSchema.parse({ lockoutThreshold: 2, lockoutDuration: 60 }), clock, logger: silentLogger(), events: sinks });
    });
    after(async () => { try { await store?.close(); } finally { await target.teardown(); } });

    test('0007 on a pre-0007 accounts table: user → personal, admin → superuser, passwords kept', async () => {
      // A second database with only the 0001 accounts table, as SMTP-AUTH-era installations have it.
      const t2 = makeTarget();
      const u2 = await t2.setup();
      const db = u2.startsWith('sqlite:')
        ? new Kysely<unknown>({ dialect: new SqliteDialect({ database: openSqlite(u2.slice(7)).kysely }) })
        : new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: u2 }) }) });
      try {
        await sql.raw(`CREATE TABLE accounts (id ${target.dialect === 'postgres' ? 'serial' : 'integer'} PRIMARY KEY, username text NOT NULL UNIQUE, password_hash text NOT NULL, role text NOT NULL, created_at bigint NOT NULL)`).execute(db);
        const h = await hashPassword('legacy-password-1');
        await sql`INSERT INTO accounts (username, password_hash, role, created_at) VALUES ('mailuser', ${h}, 'user', 1000), ('admin', ${h}, 'user', 2000)`.execute(db);
        await accountsMigration(target.dialect).up(db);
        const rows = (await sql<{ username: string; role: string; source: string; disabled: number; password_changed_at: number; password_hash: string }>`SELECT * FROM accounts ORDER BY username`.execute(db)).rows;
        assert.deepEqual(rows.map((r) => [r.username, r.role, r.source, Number(r.disabled), Number(r.password_changed_at)]), [['admin', 'superuser', 'local', 0, 2000], ['mailuser', 'personal', 'local', 0, 1000]]);
        assert.equal(await verifyPassword('legacy-password-1', rows[1].password_hash), true);
      } finally { await db.destroy(); await t2.teardown(); }
    });

    test('create with addresses and role, list, update, legacy create() form', async () => {
      await svc.accounts.create({ username: 'Alice', passwordHash: 'h1', role: 'viewer', addresses: ['A@X.test', 'a@x.test', 'b@x.test'] }, clock.t);
      await svc.accounts.create('old', 'h2', 'user', clock.t);
      const a = await svc.accounts.find('ALICE');
      assert.ok(a);
      assert.deepEqual([a.username, a.role, a.addresses, a.disabled, a.mustChangePassword, a.passwordChangedAt, a.lockedUntil], ['alice', 'viewer', ['a@x.test', 'b@x.test'], false, false, clock.t, null]);
      assert.equal((await svc.roles.resolve('user')).personal, true, 'the pre-0007 role reads as personal');
      assert.equal(await svc.accounts.update('alice', { disabled: true, addresses: ['c@x.test'] }, clock.t + 1), true);
      const b = (await svc.accounts.find('alice'))!;
      assert.deepEqual([b.disabled, b.addresses], [true, ['c@x.test']]);
      assert.equal(await svc.accounts.update('nobody', { disabled: true }), false);
      assert.deepEqual((await svc.accounts.list()).map((x) => x.username), ['alice', 'old']);
    });

    test('concurrent failures all count; the lock holds, then ends; SMTP AUTH obeys it', async () => {
      await svc.create(null, { username: 'carol', role: 'personal', password: 'carol-password-1' });
      const results = await Promise.all([1, 2, 3].map(() => svc.checkSmtp('carol', 'wrong-password-x', '192.0.2.1')));
      assert.deepEqual(results, [null, null, null]);
      const c = (await svc.accounts.find('carol'))!;
      assert.ok(c.lockedUntil && c.lockedUntil > clock.t, 'locked');
      assert.equal(await svc.checkSmtp('carol', 'carol-password-1', null), null, 'locked, even with the right password');
      assert.ok(sinks.events.some((e) => e.type === 'account.locked'));
      clock.t += 61_000;
      assert.equal(await svc.checkSmtp('carol', 'carol-password-1', null), 'carol');
      assert.equal((await svc.accounts.find('carol'))!.failedLogins, 0);
      assert.ok(!sinks.events.some((e) => e.type === 'login.ok'), 'SMTP AUTH successes are not system events (one per connection)');
    });

    test('sessions and tokens are stored hashed and end with their account (cascade)', async () => {
      await svc.create(null, { username: 'dave', role: 'viewer', password: 'dave-password-12' });
      const login = await svc.login('dave', 'dave-password-12', { ip: '127.0.0.1', userAgent: 'test' });
      assert.ok(login);
      const tok = await svc.tokens.create(login.principal.accountId, 'ci', null);
      const sessions = await store.db.selectFrom('sessions').selectAll().execute();
      const tokens = await store.db.selectFrom('api_tokens').selectAll().execute();
      assert.ok(sessions.every((s) => s.id_hash !== login.sessionId && /^[0-9a-f]{64}$/.test(s.id_hash)));
      assert.ok(tokens.every((t) => t.secret_hash !== tok.secret && !tok.secret.includes(t.secret_hash)));
      assert.equal((await svc.principalFromSession(login.sessionId))?.username, 'dave');
      assert.equal((await svc.principalFromToken(tok.secret))?.username, 'dave');
      await assert.rejects(svc.tokens.create(login.principal.accountId, 'ci', null), /exists/);
      await svc.remove(null, 'dave');
      assert.equal(await svc.principalFromSession(login.sessionId), null);
      assert.equal(await svc.principalFromToken(tok.secret), null);
      assert.equal((await store.db.selectFrom('api_tokens').selectAll().execute()).length, 0);
      assert.equal((await store.db.selectFrom('sessions').selectAll().where('account_id', '=', login.principal.accountId).execute()).length, 0);
    });

    test('roles: create, refuse fixed/reserved/duplicate/unknown permission, in-use delete refused', async () => {
      const r = await svc.roles.create({ name: 'Ops', permissions: ['queue.view', 'queue.edit'] });
      assert.deepEqual([r.name, r.permissions], ['ops', ['queue.view', 'queue.edit']]);
      await assert.rejects(svc.roles.create({ name: 'ops', permissions: [] }), /exists/);
      await assert.rejects(svc.roles.create({ name: 'superuser', permissions: [] }), /fixed/);
      await assert.rejects(svc.roles.create({ name: 'user', permissions: [] }), /fixed/);
      await assert.rejects(svc.roles.create({ name: 'x', permissions: ['queue.fly'] }), /unknown permission/);
      await svc.create(null, { username: 'erin', role: 'ops', password: 'erin-password-12' });
      await assert.rejects(svc.roles.remove('ops'), /held by at least one account/);
      await svc.update(null, 'erin', { role: 'viewer' });
      assert.equal((await svc.roles.remove('ops')).name, 'ops');
      assert.deepEqual((await svc.roles.list()).map((x) => x.name), ['superuser', 'viewer', 'personal']);
    });

    test('the built-in admin: created once (generated password shown once), protected', async () => {
      const shown: string[] = [];
      assert.equal(await svc.ensureAdmin(null, (t) => shown.push(t)), 'created');
      assert.equal(await svc.ensureAdmin(null, (t) => shown.push(t)), 'exists');
      assert.equal(shown.length, 1);
      const a = (await svc.accounts.find('admin'))!;
      assert.deepEqual([a.role, a.mustChangePassword], ['superuser', true]);
      await assert.rejects(svc.remove(null, 'admin'), /cannot be deleted/);
      await assert.rejects(svc.update(null, 'admin', { role: 'viewer' }), /keeps the superuser role/);
    });
  });
}
