/**
 * Backup search order (`order: 'oldest'`, used by the console's sortable "Received" column), once on SQLite and
 * once on PostgreSQL: oldest first with offset paging and with keyset paging (the cursor pages on in the same
 * order, items with the same time ordered by id), with and without the module+status index path, and the
 * personal search too; the default stays newest first.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PG_ADMIN_URL, pgReachable, postgresTarget, sqliteTarget } from '../store/pg.ts';
import { openStore, type Store } from '../../src/store/db.ts';
import type { BackupSearchInput } from '../../src/backup/types.ts';
import { infected, keepItem, makeService, message, verdict, type TestClock } from './fixtures.ts';

const pgProblem = await pgReachable();
if (pgProblem && process.env.CI) test(`PostgreSQL is reachable at ${PG_ADMIN_URL} (required under CI)`, () => assert.fail(pgProblem));

for (const target of [sqliteTarget('moat-backup-order-'), postgresTarget()]) {
  const skip = target.dialect === 'postgres' && pgProblem ? `PostgreSQL unreachable: ${pgProblem}` : false;
  describe(`Backup search order on ${target.dialect}`, { skip }, () => {
    let store: Store;
    before(async () => { store = await openStore(await target.setup()); });
    after(async () => { try { await store?.close(); } finally { await target.teardown(); } });

    test('oldest first with offset and cursor paging; newest first by default', async () => {
      const { service, clock } = makeService(store);
      // Seven items: times 0,1,1,1,2,3,4 (three share a time, so the id decides among them).
      const offsets = [0, 1, 1, 1, 2, 3, 4];
      for (const [n, dt] of offsets.entries()) {
        (clock as TestClock).t = 1_750_000_000_000 + dt * 1000;
        await keepItem(service, { raw: message(`Item ${n}`), groups: [{ recipients: [n % 2 ? 'odd@inside.test' : 'even@inside.test'], verdict: verdict('delete_attachment', [{ module: 'antivirus', status: 'infected' }]), findings: [infected] }] });
      }
      const all = async (input: BackupSearchInput, personal?: string[]) => {
        const ids: string[] = [];
        let cursor: string | undefined;
        for (let i = 0; i < 20; i++) {
          const r = personal ? await service.searchPersonal(personal, { ...input, limit: 2, ...(cursor ? { cursor } : {}) }) : await service.search({ ...input, limit: 2, ...(cursor ? { cursor } : {}) });
          ids.push(...r.items.map((x) => `${x.time}:${x.id}`));
          if (!r.nextCursor) break;
          cursor = r.nextCursor;
        }
        return ids;
      };
      const newest = await all({});
      assert.equal(newest.length, 7);
      const sorted = [...newest].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      assert.deepEqual(newest, [...sorted].reverse(), 'default: newest first (time, then id)');
      assert.deepEqual(await all({ order: 'oldest' }), sorted, 'oldest first over the cursor');
      assert.deepEqual(await all({ order: 'oldest', filter: { module: 'antivirus', status: 'infected' } }), sorted, 'oldest first, module+status path');
      const offsetPaged: string[] = [];
      for (let offset = 0; offset < 7; offset += 3) offsetPaged.push(...(await service.search({ order: 'oldest', limit: 3, offset })).items.map((x) => `${x.time}:${x.id}`));
      assert.deepEqual(offsetPaged, sorted, 'oldest first over offsets');
      const odd = await all({ order: 'oldest' }, ['odd@inside.test']);
      assert.equal(odd.length, 3);
      assert.deepEqual(odd, [...odd].sort(), 'personal: oldest first');
      await assert.rejects(service.search({ order: 'sideways' as never }), /order/);
    });
  });
}
