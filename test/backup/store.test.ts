/**
 * The Backup service on a real store, once on SQLite and once on PostgreSQL (a throw-away database; without
 * PostgreSQL that half is skipped locally and fails under CI): keeping originals (one content per message, one
 * item per group, every index field), search with each filter and both pagings, download of the exact bytes over
 * several chunks, deliver and history, delete (single, by filter), the size cap (oldest first, one limit event),
 * retention by age, encryption at rest (no plaintext in the chunks, wrong/missing key refused), personal
 * isolation across every personal method, and a write failure that is reported, not thrown.
 */
import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { PG_ADMIN_URL, pgReachable, postgresTarget, sqliteTarget } from '../store/pg.ts';
import { openStore, type Store } from '../../src/store/db.ts';
import { BackupNotFoundError, BackupForbiddenError } from '../../src/backup/types.ts';
import { BackupKeyError } from '../../src/backup/crypto.ts';
import { CHUNK_SIZE } from '../../src/backup/content.ts';
import { T0, cleanAv, infected, keepItem, makeService, message, readAll, settingsHolder, spam, verdict, TestClock } from './fixtures.ts';

const pgProblem = await pgReachable();
if (pgProblem && process.env.CI) test(`PostgreSQL is reachable at ${PG_ADMIN_URL} (required under CI)`, () => assert.fail(pgProblem));

const TABLES = ['backup_chunks', 'backup_contents', 'backup_items', 'backup_recipients', 'backup_statuses', 'backup_history', 'backup_digest_state'] as const;

for (const target of [sqliteTarget('moat-backup-'), postgresTarget()]) {
  const skip = target.dialect === 'postgres' && pgProblem ? `PostgreSQL unreachable: ${pgProblem}` : false;
  describe(`Backup on ${target.dialect}`, { skip }, () => {
    let store: Store;
    before(async () => { store = await openStore(await target.setup()); });
    after(async () => { try { await store?.close(); } finally { await target.teardown(); } });
    beforeEach(async () => { for (const t of TABLES) await store.db.deleteFrom(t).execute(); });

    test('keeps the original once per message, one item per group, with every index field', async () => {
      const { service } = makeService(store);
      const raw = message('Invoice attached');
      await keepItem(service, {
        raw, qid: '0123456789ABCDEF', groups: [
          { recipients: ['Bob@Inside.test', 'carol@inside.test'], verdict: verdict('delete_attachment', [{ module: 'antivirus', status: 'infected' }]), findings: [infected], deliveredAs: 'FEDCBA9876543210' },
          { recipients: ['dave@inside.test'], verdict: verdict('skip', [{ module: 'antispam', status: 'spam' }], 'Sales'), findings: [cleanAv, spam] },
        ],
      });
      assert.equal(Number((await store.db.selectFrom('backup_contents').select((e) => e.fn.countAll().as('n')).executeTakeFirst())!.n), 1, 'bytes stored once');
      const { items, total } = await service.search();
      assert.equal(total, 2);
      const av = items.find((i) => i.rule === 'Default')!;
      assert.deepEqual({ ...av, id: undefined, time: undefined }, {
        id: undefined, time: undefined, node: 'n1', queueId: '0123456789ABCDEF', deliveredAs: 'FEDCBA9876543210', messageId: '<m@outside.test>', clientIp: '192.0.2.7',
        helo: 'mx.outside.test', sender: 'alice@outside.test', recipients: ['bob@inside.test', 'carol@inside.test'], subject: 'Invoice attached', size: raw.length,
        rule: 'Default', action: 'delete_attachment', reason: 'antivirus:infected', threats: ['Eicar-Test-Signature'], hasThreat: true, encrypted: false,
        modules: {
          antivirus: { status: 'infected', detections: [{ status: 'infected', name: 'Eicar-Test-Signature', part: '2' }] },
          links: { status: 'not_scanned', reason: 'disabled' }, antispam: { status: 'not_scanned', reason: 'disabled' },
          antiphishing: { status: 'not_scanned', reason: 'disabled' }, content: { status: 'not_scanned', reason: 'disabled' }, auth: { status: 'not_scanned', reason: 'disabled' },
        },
      });
      const sp = items.find((i) => i.rule === 'Sales')!;
      assert.equal(sp.hasThreat, false);
      assert.equal(sp.reason, 'antispam:spam');
      const g = await service.get(av.id);
      assert.deepEqual(g.history.map((h) => [h.actor, h.action]), [['system', 'stored']]);
      assert.deepEqual(await readAll((await service.download(av.id, 'cli:test')).stream), raw);
      assert.deepEqual(await readAll((await service.download(sp.id)).stream), raw);
    });

    test('search: every filter, newest first, offset and keyset paging with a total', async () => {
      const { service, clock } = makeService(store);
      const senders = ['alice@outside.test', 'bob@else.test', 'Carl@Outside.test'];
      for (let i = 0; i < 12; i++) {
        clock.t = T0 + i * 60_000;
        await keepItem(service, {
          raw: message(i % 3 === 0 ? `Grüße und Rechnung ${i}` : `Newsletter ${i}`), sender: senders[i % 3], clientIp: i % 2 ? '198.51.100.1' : '192.0.2.7', groups: [{
            recipients: [i % 4 === 0 ? 'x@inside.test' : 'y@inside.test'],
            verdict: i % 2 ? verdict('skip', [{ module: 'antispam', status: 'spam' }], 'Sales') : verdict('delete_attachment', [{ module: 'antivirus', status: 'infected' }]),
            findings: i % 2 ? [cleanAv, spam] : [infected],
          }],
        });
      }
      const subjects = async (filter: object, extra: object = {}) => (await service.search({ filter, ...extra })).items.map((i) => Number(/\d+$/.exec(i.subject)![0]));
      assert.deepEqual(await subjects({}), [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
      assert.deepEqual(await subjects({ module: 'antivirus', status: 'infected' }), [10, 8, 6, 4, 2, 0]);
      assert.deepEqual(await subjects({ module: 'antispam', status: 'spam' }), [11, 9, 7, 5, 3, 1]);
      assert.deepEqual(await subjects({ sender: 'carl@outside.test' }), [11, 8, 5, 2]);
      assert.deepEqual(await subjects({ sender: '*@OUTSIDE.test' }), [11, 9, 8, 6, 5, 3, 2, 0]);
      assert.deepEqual(await subjects({ recipient: 'X@inside.test' }), [8, 4, 0]);
      assert.deepEqual(await subjects({ recipient: 'y@*' }), [11, 10, 9, 7, 6, 5, 3, 2, 1]);
      assert.deepEqual(await subjects({ clientIp: '198.51.100.1' }), [11, 9, 7, 5, 3, 1]);
      assert.deepEqual(await subjects({ subject: 'GRÜSSE' }), [], 'substring, not a fold of ß');
      assert.deepEqual(await subjects({ subject: 'grüße' }), [9, 6, 3, 0]);
      assert.deepEqual(await subjects({ subject: '100%' }), [], 'LIKE characters are literal');
      assert.deepEqual(await subjects({ from: T0 + 3 * 60_000, to: new Date(T0 + 6 * 60_000).toISOString() }), [5, 4, 3]);
      assert.deepEqual(await subjects({ rule: 'Sales', action: 'skip' }), [11, 9, 7, 5, 3, 1]);
      assert.deepEqual(await subjects({ threat: 'eicar' }), [10, 8, 6, 4, 2, 0]);
      assert.deepEqual(await subjects({ module: 'antivirus', status: 'infected', recipient: 'x@inside.test', sender: 'alice@outside.test' }), [0]);
      // Offset paging with the total, then keyset paging to the end.
      const p1 = await service.search({ limit: 5, offset: 5 });
      assert.equal(p1.total, 12);
      assert.deepEqual(p1.items.map((i) => Number(/\d+$/.exec(i.subject)![0])), [6, 5, 4, 3, 2]);
      const seen: number[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await service.search({ limit: 5, cursor, count: false });
        assert.equal(page.total, null);
        seen.push(...page.items.map((i) => Number(/\d+$/.exec(i.subject)![0])));
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      assert.deepEqual(seen, [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
      await assert.rejects(service.search({ filter: { status: 'infected' } }), /status needs module/);
      await assert.rejects(service.search({ limit: 5000 }));
      await assert.rejects(service.search({ filter: { sender: "x' or 1=1 --", nope: 1 } as never }));
    });

    test('a large message round-trips over several chunks; deliver to the original or other recipients; delete', async () => {
      const { service, queue, repo } = makeService(store);
      const raw = Buffer.concat([message('big'), randomBytes(CHUNK_SIZE * 2 + 1234)]);
      await keepItem(service, { raw, groups: [{ recipients: ['bob@inside.test'], verdict: verdict('delete_attachment', [{ module: 'antivirus', status: 'infected' }]), findings: [infected] }] });
      const [item] = (await service.search()).items;
      assert.equal(Number((await store.db.selectFrom('backup_chunks').select((e) => e.fn.countAll().as('n')).executeTakeFirst())!.n), 3);
      assert.deepEqual(await readAll((await service.download(item.id)).stream), raw);
      const d1 = await service.deliver(item.id, { actor: 'cli:root' });
      assert.deepEqual(d1.recipients, ['bob@inside.test']);
      const d2 = await service.deliver(item.id, { to: ['Helpdesk@Inside.test'], actor: 'api:admin' });
      assert.deepEqual(queue.submitted.map((s) => [s.sender, s.recipients]), [['alice@outside.test', ['bob@inside.test']], ['alice@outside.test', ['helpdesk@inside.test']]]);
      assert.ok(queue.submitted.every((s) => s.data.equals(raw)), 'the original bytes are queued');
      await assert.rejects(service.deliver(item.id, { to: ['not an address'] }));
      const h = await service.history(item.id);
      assert.deepEqual(h.map((e) => [e.actor, e.action, e.details.queueId]), [['system', 'stored', undefined], ['system', 'downloaded', undefined], ['cli:root', 'delivered', d1.queueIds[0]], ['api:admin', 'delivered', d2.queueIds[0]]]);
      assert.equal(await service.delete([item.id, 'ZZZZZZZZZZZZZZZZ', '../etc/passwd'], 'cli:root'), 1);
      await assert.rejects(service.get(item.id), BackupNotFoundError);
      assert.equal(Number((await store.db.selectFrom('backup_chunks').select((e) => e.fn.countAll().as('n')).executeTakeFirst())!.n), 0, 'content goes with its last item');
      assert.equal(await repo.totalSize(), 0);
      // Bulk by filter; an empty filter is refused without all.
      for (const s of ['a', 'b', 'c']) await keepItem(service, { raw: message(s), sender: `${s}@x.test`, groups: [{ recipients: ['bob@inside.test'], verdict: verdict('skip', [{ module: 'antispam', status: 'spam' }]), findings: [spam] }] });
      assert.equal(await service.deleteWhere({ sender: 'a@x.test' }, 'cli:root'), 1);
      await assert.rejects(service.deleteWhere({}, 'cli:root'), BackupForbiddenError);
      assert.equal(await service.deleteWhere({}, 'cli:root', { all: true }), 2);
      assert.equal((await service.search()).total, 0);
    });

    test('size cap: oldest evicted first, one limit_reached event; retention by age', async () => {
      const settings = settingsHolder((s) => { s.backup.maxSize = 3500; });
      const { service, clock, events } = makeService(store, { settings });
      const body = 'x'.repeat(1000);
      for (let i = 0; i < 6; i++) {
        clock.t = T0 + i * 1000;
        await keepItem(service, { raw: message(`m${i}`, 'a@x.test', body), groups: [{ recipients: ['bob@inside.test'], verdict: verdict('skip', [{ module: 'antispam', status: 'spam' }]), findings: [spam] }] });
      }
      const left = (await service.search()).items.map((i) => i.subject);
      assert.deepEqual(left, ['m5', 'm4', 'm3'], 'the newest that fit under the cap');
      assert.equal(events.filter((e) => e.type === 'backup.limit_reached').length, 1, 'once, not per item');
      // Retention: 30 days by default.
      clock.t = T0 + 30 * 86_400_000 + 4500;
      const r = await service.sweep();
      assert.equal(r.expired, 2);
      assert.deepEqual((await service.search()).items.map((i) => i.subject), ['m5']);
    });

    test('encryption at rest: no plaintext in the chunks; the right key reads, a wrong or missing key is a clear error', async () => {
      const key = randomBytes(32);
      const { service, repo, settings, clock } = makeService(store, { key });
      const raw = message('Secret plans', 'a@x.test', 'The launch code is PINEAPPLE-42.\r\n'.repeat(20000));
      await keepItem(service, { raw, groups: [{ recipients: ['bob@inside.test'], verdict: verdict('skip', [{ module: 'antispam', status: 'spam' }]), findings: [spam] }] });
      const [item] = (await service.search()).items;
      assert.equal(item.encrypted, true);
      const chunks = await store.db.selectFrom('backup_chunks').select(['data', 'seq', 'content_id']).execute();
      assert.ok(chunks.length >= 3);
      for (const c of chunks) {
        const b = Buffer.from(c.data);
        assert.ok(!b.includes('PINEAPPLE') && !b.includes('Secret plans'), 'no plaintext stored');
      }
      assert.deepEqual(await readAll((await service.download(item.id)).stream), raw);
      assert.match((await service.view(item.id)).text ?? '', /PINEAPPLE-42/);
      const other = makeService(store, { key: randomBytes(32), settings, clock });
      await assert.rejects(other.service.download(item.id), (e: Error) => e instanceof BackupKeyError && /another backup key/.test(e.message));
      const none = makeService(store, { key: null, settings, clock });
      await assert.rejects(none.service.view(item.id), (e: Error) => e instanceof BackupKeyError && /no backup key is configured/.test(e.message));
      // Chunks swapped between positions do not authenticate.
      const [c0, c1] = chunks.sort((a, b) => a.seq - b.seq);
      await store.db.updateTable('backup_chunks').set({ data: Buffer.from(c1.data) }).where('content_id', '=', c0.content_id).where('seq', '=', 0).execute();
      await assert.rejects(readAll((await service.download(item.id)).stream), (e: Error) => e instanceof BackupKeyError && /chunk 0 does not authenticate/.test(e.message));
      assert.ok(repo);
    });

    test('personal Backup: a user sees and acts on their own items only, by every method', async () => {
      const { service, queue } = makeService(store);
      await keepItem(service, { raw: message('for A'), groups: [{ recipients: ['a@inside.test', 'other@inside.test'], verdict: verdict('skip', [{ module: 'antispam', status: 'spam' }]), findings: [spam] }] });
      await keepItem(service, { raw: message('for B'), groups: [{ recipients: ['b@inside.test'], verdict: verdict('skip', [{ module: 'antispam', status: 'spam' }]), findings: [spam] }] });
      await keepItem(service, { raw: message('virus for A'), groups: [{ recipients: ['a@inside.test'], verdict: verdict('delete_attachment', [{ module: 'antivirus', status: 'infected' }]), findings: [infected] }] });
      const A = ['A@inside.test'];
      const B = ['b@inside.test'];
      const mine = await service.searchPersonal(A);
      assert.deepEqual(mine.items.map((i) => i.subject).sort(), ['for A', 'virus for A']);
      assert.equal(mine.total, 2);
      const bItem = (await service.searchPersonal(B)).items[0];
      assert.equal(bItem.subject, 'for B');
      assert.equal((await service.searchPersonal(A, { filter: { subject: 'for B' } })).total, 0);
      assert.equal((await service.searchPersonal(A, { filter: { recipient: 'b@inside.test' } })).total, 0);
      for (const op of [
        () => service.getPersonal(A, bItem.id), () => service.viewPersonal(A, bItem.id), () => service.downloadPersonal(A, bItem.id),
        () => service.deletePersonal(A, bItem.id), () => service.deliverPersonal(A, bItem.id),
      ]) await assert.rejects(op(), BackupNotFoundError);
      await assert.rejects(service.searchPersonal([]), /too_small|>=1/i);
      const aItem = mine.items.find((i) => i.subject === 'for A')!;
      const got = await service.getPersonal(A, aItem.id);
      assert.deepEqual(got.item.recipients, ['a@inside.test'], 'other recipients are not shown');
      assert.match((await service.viewPersonal(A, aItem.id)).text ?? '', /Hello there/);
      const d = await service.deliverPersonal(A, aItem.id);
      assert.deepEqual(d.recipients, ['a@inside.test'], 'to themselves only');
      const virus = mine.items.find((i) => i.subject === 'virus for A')!;
      await assert.rejects(service.deliverPersonal(A, virus.id), BackupForbiddenError);
      await assert.rejects(service.downloadPersonal(A, virus.id), BackupForbiddenError);
      // Personal delete removes their copy; the item stays for the other recipient, goes with the last one.
      assert.deepEqual(await service.deletePersonal(A, aItem.id), { removed: ['a@inside.test'], itemDeleted: false });
      await assert.rejects(service.getPersonal(A, aItem.id), BackupNotFoundError);
      assert.deepEqual((await service.get(aItem.id)).item.recipients, ['other@inside.test']);
      assert.deepEqual(await service.deletePersonal(['other@inside.test'], aItem.id), { removed: ['other@inside.test'], itemDeleted: true });
      await assert.rejects(service.get(aItem.id), BackupNotFoundError);
      assert.deepEqual(queue.submitted.map((s) => s.recipients), [['a@inside.test']]);
      // Options off.
      const off = makeService(store, { settings: settingsHolder((s) => { s.backup.personal = { preview: false, delete: false, deliverToSelf: false }; }) });
      await assert.rejects(off.service.viewPersonal(B, bItem.id), BackupForbiddenError);
      await assert.rejects(off.service.deletePersonal(B, bItem.id), BackupForbiddenError);
      await assert.rejects(off.service.deliverPersonal(B, bItem.id), BackupForbiddenError);
    });

    test('a failure to store is logged and reported as backup.write_failed, never thrown', async () => {
      const { service, events } = makeService(store);
      const kept = await service.keep({
        envelope: { v: 1, id: 'AAAAAAAAAAAAAAAA', sender: 'a@x.test', recipients: ['b@y.test'], clientIp: '192.0.2.1', helo: 'h', authUser: null, receivedAt: 0, isBounce: false },
        size: 10, open: () => new Readable({ read() { this.destroy(new Error('disk on fire')); } }),
      });
      assert.equal(kept, null);
      assert.deepEqual(events.map((e) => [e.type, e.details?.queueId]), [['backup.write_failed', 'AAAAAAAAAAAAAAAA']]);
      assert.equal(Number((await store.db.selectFrom('backup_contents').select((e) => e.fn.countAll().as('n')).executeTakeFirst())!.n), 0, 'the partial content is removed');
      assert.ok(TestClock);
    });
  });
}
