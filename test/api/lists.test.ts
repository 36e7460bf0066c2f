/**
 * Personal allow/deny lists over the REST API on a real node: the admin side (any owner, filters, paging, add,
 * remove, the 500-entry limit, pattern validation naming the field) and the personal side, where an end user
 * reads and changes only the lists of their own addresses: another owner's list or entry is 404, and stays as it
 * was. Changes are audited.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, TEST_ADMIN_PASSWORD, type TestNode } from '../helpers.ts';
import { Api, errorCode, type Creds } from './client.ts';
import { audits } from './config-helpers.ts';
import { AntispamRepo } from '../../src/store/antispam-repo.ts';

let node: TestNode;
let api: Api;
let admin: Creds;
let bob: Creds;

type Entry = { id: number; owner: string; kind: string; pattern: string };
type Page = { items: Entry[]; total: number; limit: number; offset: number; addresses?: string[] };
const fields = (b: unknown) => ((b as { error: { fields?: { path: string }[] } }).error.fields ?? []).map((f) => f.path);

before(async () => {
  node = await startTestNode({ settings: { accounts: { loginRatePerMinute: 0 } } });
  api = new Api(node.httpPort);
  admin = await api.session('admin', TEST_ADMIN_PASSWORD);
  const r = await api.call('POST', '/api/v1/accounts', admin, { username: 'bob', role: 'personal', password: 'bob-password-123456', mustChangePassword: false, addresses: ['Bob@Example.test', 'bob.alias@example.test'] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  bob = await api.session('bob', 'bob-password-123456');
});
after(async () => { await node?.cleanup(); });

test('admin side: add, filter, page, remove, validation', async () => {
  const add = await api.call('POST', '/api/v1/lists', admin, { owner: 'Alice@Example.test', kind: 'deny', patterns: ['*@spam.test', 're:^promo', '192.0.2.0/24'] });
  assert.equal(add.status, 201, JSON.stringify(add.body));
  assert.deepEqual((add.body as { items: Entry[] }).items.map((e) => [e.owner, e.kind, e.pattern]), [['alice@example.test', 'deny', '*@spam.test'], ['alice@example.test', 'deny', 're:^promo'], ['alice@example.test', 'deny', '192.0.2.0/24']]);
  assert.equal((await api.call('POST', '/api/v1/lists', admin, { owner: 'alice@example.test', kind: 'allow', patterns: ['boss@partner.test'] })).status, 201);
  assert.equal((await api.call('POST', '/api/v1/lists', admin, { owner: 'bob@example.test', kind: 'allow', patterns: ['friend@x.test'] })).status, 201);

  const all = (await api.call('GET', '/api/v1/lists', admin)).body as Page;
  assert.equal(all.total, 5);
  const alice = (await api.call('GET', '/api/v1/lists?owner=ALICE@example.test', admin)).body as Page;
  assert.equal(alice.total, 4);
  const deny = (await api.call('GET', '/api/v1/lists?owner=alice@example.test&kind=deny&limit=2&offset=1', admin)).body as Page;
  assert.equal(deny.total, 3);
  assert.equal(deny.items.length, 2);
  // Ordered by owner, kind, pattern: *@spam.test, 192.0.2.0/24, re:^promo; offset 1 skips the first.
  assert.deepEqual(deny.items.map((e) => e.pattern), ['192.0.2.0/24', 're:^promo']);
  const exact = (await api.call('GET', `/api/v1/lists?pattern=${encodeURIComponent('re:^promo')}`, admin)).body as Page;
  assert.deepEqual(exact.items.map((e) => e.owner), ['alice@example.test']);
  const badQ = await api.call('GET', '/api/v1/lists?limit=0', admin);
  assert.equal(badQ.status, 400);
  assert.deepEqual(fields(badQ.body), ['query.limit']);

  const badPattern = await api.call('POST', '/api/v1/lists', admin, { owner: 'alice@example.test', kind: 'deny', patterns: ['ok@x.test', 're:('] });
  assert.equal(badPattern.status, 400);
  assert.deepEqual(fields(badPattern.body), ['patterns.1']);
  assert.equal(((await api.call('GET', '/api/v1/lists?pattern=ok@x.test', admin)).body as Page).total, 0, 'a refused request adds nothing');
  const badOwner = await api.call('POST', '/api/v1/lists', admin, { owner: 'not an address', kind: 'deny', patterns: ['x@y.test'] });
  assert.deepEqual(fields(badOwner.body), ['owner']);

  const id = alice.items.find((e) => e.pattern === 'boss@partner.test')!.id;
  assert.equal((await api.call('DELETE', `/api/v1/lists/${id}`, admin)).status, 204);
  assert.equal((await api.call('DELETE', `/api/v1/lists/${id}`, admin)).status, 404);
  assert.equal(((await api.call('GET', '/api/v1/lists?owner=alice@example.test', admin)).body as Page).total, 3);
  assert.deepEqual((await audits(node, 'lists.delete'))[0].before, { pattern: 'boss@partner.test' });
  assert.deepEqual((await audits(node, 'lists.add')).map((a) => a.target).sort(), ['list:alice@example.test/allow', 'list:alice@example.test/deny', 'list:bob@example.test/allow']);
});

test('at most 500 entries per owner', async () => {
  const owner = 'full@example.test';
  const patterns = Array.from({ length: 500 }, (_, i) => `sender${i}@bulk.test`);
  const r = await api.call('POST', '/api/v1/lists', admin, { owner, kind: 'deny', patterns });
  assert.equal(r.status, 201, JSON.stringify(r.body).slice(0, 300));
  const more = await api.call('POST', '/api/v1/lists', admin, { owner, kind: 'allow', patterns: ['one-more@x.test'] });
  assert.equal(more.status, 400);
  assert.equal(errorCode(more), 'validation_failed');
  assert.match((more.body as { error: { message: string } }).error.message, /500/);
  assert.equal(((await api.call('GET', `/api/v1/lists?owner=${owner}&limit=1`, admin)).body as Page).total, 500);
  const tooMany = await api.call('POST', '/api/v1/lists', admin, { owner: 'x@example.test', kind: 'deny', patterns: [...patterns, 'extra@x.test'] });
  assert.equal(tooMany.status, 400);
  assert.deepEqual(fields(tooMany.body), ['patterns']);
});

test("personal side: only the caller's own addresses", async () => {
  const mine = await api.call('GET', '/api/v1/personal/lists', bob);
  assert.equal(mine.status, 200, JSON.stringify(mine.body));
  const p = mine.body as Page;
  assert.deepEqual([...p.addresses!].sort(), ['bob.alias@example.test', 'bob@example.test']);
  assert.deepEqual(p.items.map((e) => [e.owner, e.pattern]), [['bob@example.test', 'friend@x.test']], 'no other owner appears');

  // Another owner: 404, never data, and nothing changes.
  const other = await api.call('GET', '/api/v1/personal/lists?owner=alice@example.test', bob);
  assert.equal(other.status, 404);
  assert.ok(!JSON.stringify(other.body).includes('spam.test'));
  const addOther = await api.call('POST', '/api/v1/personal/lists', bob, { owner: 'alice@example.test', kind: 'allow', patterns: ['*@spam.test'] });
  assert.equal(addOther.status, 404);
  const aliceEntry = ((await api.call('GET', '/api/v1/lists?owner=alice@example.test', admin)).body as Page).items[0];
  const delOther = await api.call('DELETE', `/api/v1/personal/lists/${aliceEntry.id}`, bob);
  assert.equal(delOther.status, 404);
  const aliceNow = await new AntispamRepo(node.store.db).listEntries('alice@example.test');
  assert.equal(aliceNow.length, 3);
  assert.ok(!aliceNow.some((e) => e.kind === 'allow'), "alice's lists are unchanged");
  // The admin routes are not open to a personal account.
  assert.equal((await api.call('GET', '/api/v1/lists', bob)).status, 403);

  // Own lists: add (owner required when there are several addresses), read, remove.
  const noOwner = await api.call('POST', '/api/v1/personal/lists', bob, { kind: 'deny', patterns: ['*@annoying.test'] });
  assert.equal(noOwner.status, 400);
  assert.deepEqual(fields(noOwner.body), ['owner']);
  const add = await api.call('POST', '/api/v1/personal/lists', bob, { owner: 'BOB.alias@example.test', kind: 'deny', patterns: ['*@annoying.test'] });
  assert.equal(add.status, 201, JSON.stringify(add.body));
  const entry = (add.body as { items: Entry[] }).items[0];
  assert.equal(entry.owner, 'bob.alias@example.test');
  const alias = (await api.call('GET', '/api/v1/personal/lists?owner=bob.alias@example.test', bob)).body as Page;
  assert.deepEqual(alias.items.map((e) => e.pattern), ['*@annoying.test']);
  assert.equal((await api.call('DELETE', `/api/v1/personal/lists/${entry.id}`, bob)).status, 204);
  assert.equal((await api.call('DELETE', `/api/v1/personal/lists/${entry.id}`, bob)).status, 404);
  const a = (await audits(node, 'lists.add')).find((x) => x.actor === 'bob');
  assert.equal(a?.target, 'list:bob.alias@example.test/deny');
});
