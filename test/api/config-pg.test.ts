/**
 * The configuration routes' own queries (personal lists paging and counts, the queue summary and list) and their
 * store-backed operations (settings versions with a conflict, rules, DKIM keys) on a node whose store is
 * PostgreSQL (a throw-away database on 127.0.0.1:5432), as the SQLite-backed suites do on SQLite. Without
 * PostgreSQL it is skipped locally and fails under CI.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, client, eventually, TEST_ADMIN_PASSWORD, type TestNode } from '../helpers.ts';
import { Api, type Creds } from './client.ts';
import { PG_ADMIN_URL, pgReachable, postgresTarget } from '../store/pg.ts';
import { queueIdOf, repoOf, startScriptedSink, type ScriptedSink } from '../relay/relay-helpers.ts';

const pgProblem = await pgReachable();
if (pgProblem && process.env.CI) {
  test(`PostgreSQL is reachable at ${PG_ADMIN_URL} (required under CI)`, () => { assert.fail(pgProblem); });
}

describe('configuration routes on PostgreSQL', { skip: pgProblem ? `PostgreSQL unreachable: ${pgProblem}` : false }, () => {
  const target = postgresTarget();
  let node: TestNode;
  let sink: ScriptedSink;
  let api: Api;
  let admin: Creds;

  before(async () => {
    sink = await startScriptedSink();
    node = await startTestNode({ databaseUrl: await target.setup(), settings: { mta: { hostname: 'gw.pg.test', relayHost: `127.0.0.1:${sink.port}` } } });
    api = new Api(node.httpPort);
    admin = await api.session('admin', TEST_ADMIN_PASSWORD);
  });
  after(async () => { await node?.cleanup(); await sink?.close(); await target.teardown(); });

  test('lists: filters, paging, totals, limit', async () => {
    const add = await api.call('POST', '/api/v1/lists', admin, { owner: 'a@pg.test', kind: 'deny', patterns: ['*@x.test', '*@y.test', 're:^z'] });
    assert.equal(add.status, 201, JSON.stringify(add.body));
    assert.equal((await api.call('POST', '/api/v1/lists', admin, { owner: 'b@pg.test', kind: 'allow', patterns: ['ok@x.test'] })).status, 201);
    const page = (await api.call('GET', '/api/v1/lists?owner=a@pg.test&kind=deny&limit=2&offset=1', admin)).body as { items: { pattern: string }[]; total: number };
    assert.equal(page.total, 3);
    assert.equal(page.items.length, 2);
    assert.equal(((await api.call('GET', '/api/v1/lists', admin)).body as { total: number }).total, 4);
    const bad = await api.call('POST', '/api/v1/lists', admin, { owner: 'a@pg.test', kind: 'deny', patterns: ['fine@x.test', 're:('] });
    assert.equal(bad.status, 400);
    assert.equal(((await api.call('GET', '/api/v1/lists?owner=a@pg.test', admin)).body as { total: number }).total, 3);
  });

  test('queue: list and summary over real queued messages', async () => {
    const id = queueIdOf((await client(node.smtpPort).sendMail({ from: 's@pg.test', to: ['defer-1@r.test', 'defer-2@r.test'], subject: 'q', text: 'x' })).response);
    await eventually(async () => ((await repoOf(node).get(id))?.attempts ?? 0) >= 1, 15_000, 'first attempt');
    const list = (await api.call('GET', '/api/v1/queue?recipient=DEFER-2', admin)).body as { items: { id: string }[] };
    assert.deepEqual(list.items.map((m) => m.id), [id]);
    const sum = (await api.call('GET', '/api/v1/queue/summary', admin)).body as { nodes: { node: string; queued: number; deferred: number; pendingRecipients: number }[]; total: number };
    assert.deepEqual(sum.nodes.map((n) => [n.node, n.queued, n.deferred, n.pendingRecipients]), [['test', 1, 1, 2]]);
    assert.equal((await api.call('POST', `/api/v1/queue/${id}/hold`, admin)).status, 200);
    assert.equal(((await api.call('GET', '/api/v1/queue/summary', admin)).body as { nodes: { held: number }[] }).nodes[0].held, 1);
    assert.equal((await api.call('DELETE', `/api/v1/queue/${id}`, admin)).status, 204);
  });

  test('settings versions, rules and DKIM keys', async () => {
    const v = ((await api.call('GET', '/api/v1/settings', admin)).body as { version: number }).version;
    assert.equal((await api.call('PATCH', '/api/v1/settings/mta', admin, { version: v, settings: { banner: 'pg' } })).status, 200);
    assert.equal((await api.call('PATCH', '/api/v1/settings/mta', admin, { version: v, settings: { banner: 'stale' } })).status, 409);
    const rule = await api.call('POST', '/api/v1/rules', admin, { name: 'PG rule', recipients: ['*@pg.test'], position: 1 });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));
    assert.equal((await api.call('PUT', '/api/v1/rules/order', admin, { order: ['AllowList', 'DenyList', 'PG rule'] })).status, 200);
    const key = await api.call('POST', '/api/v1/dkim/keys', admin, { domain: 'pg.test', selector: 's1', type: 'ed25519', use: true });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    assert.equal((await api.call('DELETE', '/api/v1/dkim/keys/pg.test/s1', admin)).status, 409);
  });
});
