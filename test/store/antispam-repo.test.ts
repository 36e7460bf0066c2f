/**
 * The anti-spam repository on SQLite and PostgreSQL: personal lists (validation, the 500-entry cap, allow over
 * deny, masks and IPs), reputation counters, fingerprint counts within a window, and learned examples with
 * their guards (duplicates, the per-source daily limit, the class balance).
 */
import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { PG_ADMIN_URL, pgReachable, postgresTarget, sqliteTarget } from './pg.ts';
import { openStore, type Store } from '../../src/store/db.ts';
import { AntispamRepo, ListError, MAX_LIST_ENTRIES } from '../../src/store/antispam-repo.ts';
import { personalVerdict } from '../../src/scan/antispam/finalize.ts';

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;

const pgProblem = await pgReachable();
if (pgProblem && process.env.CI) {
  test(`PostgreSQL is reachable at ${PG_ADMIN_URL} (required under CI)`, () => { assert.fail(`PostgreSQL unreachable: ${pgProblem}`); });
}

for (const target of [sqliteTarget('moat-antispam-'), postgresTarget()]) {
  const skip = target.dialect === 'postgres' && pgProblem ? `PostgreSQL unreachable: ${pgProblem}` : false;

  describe(`anti-spam repository on ${target.dialect}`, { skip }, () => {
    let store: Store;
    let repo: AntispamRepo;
    before(async () => { store = await openStore(await target.setup()); });
    after(async () => { try { await store?.close(); } finally { await target.teardown(); } });
    beforeEach(async () => {
      for (const t of ['personal_lists', 'antispam_reputation', 'antispam_fingerprints', 'antispam_learned'] as const) await store.db.deleteFrom(t).execute();
      repo = new AntispamRepo(store.db);
    });

    test('personal lists: add (idempotent, lowercased owner), list, remove, validation, at most 500 per owner', async () => {
      const a = await repo.addListEntry('Bob@Inside.test', 'allow', '*@partner.test', T0);
      assert.deepEqual(a, { id: a.id, owner: 'bob@inside.test', kind: 'allow', pattern: '*@partner.test', createdAt: T0 });
      assert.equal((await repo.addListEntry('bob@inside.test', 'allow', '*@partner.test')).id, a.id, 'same entry twice is one entry');
      await repo.addListEntry('bob@inside.test', 'deny', '*@spammy.test');
      await repo.addListEntry('ann@inside.test', 'deny', '203.0.113.0/24');
      assert.deepEqual((await repo.listEntries('bob@inside.test')).map((e) => `${e.kind}:${e.pattern}`), ['allow:*@partner.test', 'deny:*@spammy.test']);
      assert.equal((await repo.listEntries()).length, 3);
      await assert.rejects(repo.addListEntry('bob@inside.test', 'deny', 're:(unclosed'), ListError);
      await assert.rejects(repo.addListEntry('not an address', 'deny', '*'), ListError);
      assert.equal(await repo.removeListEntry('BOB@inside.test', 'deny', '*@spammy.test'), true);
      assert.equal(await repo.removeListEntry('bob@inside.test', 'deny', '*@spammy.test'), false);
      for (let i = 1; i < MAX_LIST_ENTRIES; i++) await repo.addListEntry('bob@inside.test', 'deny', `s${i}@x.test`);
      await assert.rejects(repo.addListEntry('bob@inside.test', 'deny', 'one-more@x.test'), /already has 500/);
      const by = await repo.entriesFor(['bob@inside.test', 'ANN@inside.test', 'nobody@inside.test']);
      assert.deepEqual([...by.keys()].sort(), ['ann@inside.test', 'bob@inside.test']);
      assert.equal(by.get('bob@inside.test')!.length, MAX_LIST_ENTRIES);
    });

    test('reputation counters add up per key; fingerprints count recipients within the window', async () => {
      await repo.countVerdict(['ip:198.51.100.7', 'dom:example.test'], 'spam', T0);
      await repo.countVerdict(['ip:198.51.100.7'], 'spam', T0);
      await repo.countVerdict(['dom:example.test'], 'ham', T0);
      const rep = await repo.reputation(['ip:198.51.100.7', 'dom:example.test', 'dom:unknown.test']);
      assert.deepEqual(Object.fromEntries(rep), { 'ip:198.51.100.7': { spam: 2, ham: 0 }, 'dom:example.test': { spam: 1, ham: 1 } });

      assert.equal(await repo.countFingerprint(['k1', 'k2'], 3, 24 * HOUR, T0), 3);
      assert.equal(await repo.countFingerprint(['k2', 'k3'], 5, 24 * HOUR, T0 + HOUR), 8, 'k2 seen for 3 + 5 recipients');
      assert.equal(await repo.countFingerprint(['k2'], 1, 24 * HOUR, T0 + 30 * HOUR), 1, 'older hours are outside the window');
      assert.ok(await repo.pruneFingerprints(24 * HOUR, T0 + 30 * HOUR) >= 2);
      assert.equal(await repo.countFingerprint([], 1, HOUR, T0), 0);
    });

    test('batched verdict counts: read back at once, written on flush (one statement), kept when the write fails', async () => {
      const batched = new AntispamRepo(store.db, { batchVerdicts: 60_000 });
      await batched.countVerdict(['ip:192.0.2.9', 'dom:batch.test'], 'spam', T0);
      await batched.countVerdict(['ip:192.0.2.9'], 'ham', T0);
      const rows = () => store.db.selectFrom('antispam_reputation').select(['key', 'spam', 'ham']).orderBy('key').execute();
      assert.deepEqual(await rows(), [], 'nothing written before the flush');
      assert.deepEqual(Object.fromEntries(await batched.reputation(['ip:192.0.2.9', 'dom:batch.test'])), { 'ip:192.0.2.9': { spam: 1, ham: 1 }, 'dom:batch.test': { spam: 1, ham: 0 } });
      await batched.flush();
      assert.deepEqual((await rows()).map((r) => [r.key, Number(r.spam), Number(r.ham)]), [['dom:batch.test', 1, 0], ['ip:192.0.2.9', 1, 1]]);
      // After the flush: the stored counts only, not counted twice.
      assert.deepEqual(Object.fromEntries(await batched.reputation(['ip:192.0.2.9'])), { 'ip:192.0.2.9': { spam: 1, ham: 1 } });
      await batched.countVerdict(['ip:192.0.2.9'], 'spam', T0);
      await batched.flush();
      assert.deepEqual(Object.fromEntries(await repo.reputation(['ip:192.0.2.9'])), { 'ip:192.0.2.9': { spam: 2, ham: 1 } }, 'added to the stored counts');
      // A store that refuses the first write: the counts stay pending (still read back) and go out with the next flush.
      let refuse = true;
      const flaky = new Proxy(store.db, {
        get(t, p) {
          if (p === 'insertInto' && refuse) { refuse = false; return () => { throw new Error('store down'); }; }
          const v = Reflect.get(t, p) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
        },
      });
      const retried = new AntispamRepo(flaky, { batchVerdicts: 60_000 });
      await retried.countVerdict(['ip:192.0.2.10'], 'spam', T0);
      await assert.rejects(retried.flush(), /store down/);
      assert.deepEqual(Object.fromEntries(await retried.reputation(['ip:192.0.2.10'])), { 'ip:192.0.2.10': { spam: 1, ham: 0 } }, 'still counted');
      await retried.flush();
      assert.deepEqual(Object.fromEntries(await repo.reputation(['ip:192.0.2.10'])), { 'ip:192.0.2.10': { spam: 1, ham: 0 } }, 'written by the next flush');
    });

    test('learned examples: stored and read back in order; duplicates, the source limit and class balance refused', async () => {
      const f = (n: number) => new Uint32Array([n, n + 1, 0xffffffff]);
      const guards = { perSourceDaily: 3, maxClassRatio: 2, slack: 1 };
      assert.deepEqual(await repo.learn({ label: 'spam', source: 'cli:root', digest: 'd1', features: f(1) }, guards, T0), { ok: true, id: (await repo.learnedSince(0))[0]?.id ?? -1 });
      const dup = await repo.learn({ label: 'ham', source: 'cli:root', digest: 'd1', features: f(1) }, guards, T0);
      assert.equal(dup.ok ? '' : dup.reason, 'duplicate');
      // spam 1, ham 0: a second spam would make 2 > 2 × 0 + 1.
      const unbalanced = await repo.learn({ label: 'spam', source: 'cli:root', digest: 'd2', features: f(2) }, guards, T0);
      assert.equal(unbalanced.ok ? '' : unbalanced.reason, 'class_balance');
      assert.equal((await repo.learn({ label: 'ham', source: 'cli:root', digest: 'd3', features: f(3) }, guards, T0)).ok, true);
      assert.equal((await repo.learn({ label: 'spam', source: 'cli:root', digest: 'd4', features: f(4) }, guards, T0)).ok, true);
      const limited = await repo.learn({ label: 'ham', source: 'cli:root', digest: 'd5', features: f(5) }, guards, T0);
      assert.equal(limited.ok ? '' : limited.reason, 'source_limit');
      assert.equal((await repo.learn({ label: 'ham', source: 'cli:other', digest: 'd5', features: f(5) }, guards, T0)).ok, true, 'another source');
      assert.equal((await repo.learn({ label: 'ham', source: 'cli:root', digest: 'd6', features: f(6) }, guards, T0 + 25 * HOUR)).ok, true, 'a day later');
      const all = await repo.learnedSince(0);
      assert.deepEqual(all.map((e) => [e.label, [...e.features]]), [
        ['spam', [1, 2, 0xffffffff]], ['ham', [3, 4, 0xffffffff]], ['spam', [4, 5, 0xffffffff]], ['ham', [5, 6, 0xffffffff]], ['ham', [6, 7, 0xffffffff]],
      ]);
      assert.deepEqual((await repo.learnedSince(all[2].id)).map((e) => e.id), [all[3].id, all[4].id]);
    });
  });
}

test('personalVerdict: allow wins over deny; masks, re: and client IPs', () => {
  const entries = [
    { kind: 'deny' as const, pattern: '*@example.test' },
    { kind: 'allow' as const, pattern: 'boss@example.test' },
    { kind: 'deny' as const, pattern: 're:^promo[0-9]+@' },
    { kind: 'deny' as const, pattern: '203.0.113.0/24' },
  ];
  assert.deepEqual(personalVerdict(entries, 'boss@example.test', '192.0.2.1'), { status: 'trusted', pattern: 'boss@example.test' });
  assert.deepEqual(personalVerdict(entries, 'sales@example.test', '192.0.2.1'), { status: 'denylisted', pattern: '*@example.test' });
  assert.deepEqual(personalVerdict(entries, 'promo12@shop.test', '192.0.2.1'), { status: 'denylisted', pattern: 're:^promo[0-9]+@' });
  assert.deepEqual(personalVerdict(entries, 'friend@other.test', '203.0.113.9'), { status: 'denylisted', pattern: '203.0.113.0/24' });
  assert.equal(personalVerdict(entries, 'friend@other.test', '192.0.2.1'), null);
  assert.equal(personalVerdict([], 'x@y.test', '192.0.2.1'), null);
});
