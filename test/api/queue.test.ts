/**
 * The delivery queue over the REST API on a real node, with real messages sent over SMTP to a real next hop that
 * defers them (451): list with filters, one message with recipients and last reply, summary, hold, retry of a held
 * message refused (409), release, retry now once the next hop accepts (delivered), delete (spool file gone), bulk
 * actions, pause/resume, 404 and 400 naming the field; every change audited.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startTestNode, client, eventually, TEST_ADMIN_PASSWORD, type TestNode } from '../helpers.ts';
import { Api, errorCode, type Creds } from './client.ts';
import { audits } from './config-helpers.ts';
import { defaultRcpt, queueIdOf, repoOf, spoolFile, startScriptedSink, type ScriptedSink } from '../relay/relay-helpers.ts';

let node: TestNode;
let sink: ScriptedSink;
let api: Api;
let admin: Creds;

type Msg = { id: string; node: string; sender: string; state: string; attempts: number; lastError: string | null; recipients: { address: string; state: string; attempts: number; lastResponse: string | null }[] };
const fields = (b: unknown) => ((b as { error: { fields?: { path: string }[] } }).error.fields ?? []).map((f) => f.path);

before(async () => {
  sink = await startScriptedSink();
  // Default back-off (300 s): a deferred message goes out again only when told to.
  node = await startTestNode({ settings: { mta: { hostname: 'gw.queue.test', relayHost: `127.0.0.1:${sink.port}` } } });
  api = new Api(node.httpPort);
  admin = await api.session('admin', TEST_ADMIN_PASSWORD);
});
after(async () => { await node?.cleanup(); await sink?.close(); });

async function send(from: string, to: string[], subject: string): Promise<string> {
  const id = queueIdOf((await client(node.smtpPort).sendMail({ from, to, subject, text: 'x' })).response);
  await eventually(async () => ((await repoOf(node).get(id))?.attempts ?? 0) >= 1, 15_000, `first attempt of ${id}`);
  return id;
}

test('list, show, summary, hold, release, retry, delete, bulk, pause', async () => {
  const m1 = await send('alice@one.test', ['defer-a@x.test'], 'm1');
  const m2 = await send('bob@two.test', ['defer-b@y.test', 'defer-c@y.test'], 'm2');
  const m3 = await send('carol@three.test', ['defer-d@z.test'], 'm3');

  const all = await api.call('GET', '/api/v1/queue', admin);
  assert.equal(all.status, 200);
  assert.deepEqual((all.body as { items: Msg[] }).items.map((m) => m.id), [m1, m2, m3]);
  const bySender = (await api.call('GET', '/api/v1/queue?sender=TWO.test', admin)).body as { items: Msg[] };
  assert.deepEqual(bySender.items.map((m) => m.id), [m2]);
  const byRcpt = (await api.call('GET', '/api/v1/queue?recipient=defer-d', admin)).body as { items: Msg[] };
  assert.deepEqual(byRcpt.items.map((m) => m.id), [m3]);
  const byNode = (await api.call('GET', '/api/v1/queue?node=elsewhere', admin)).body as { items: Msg[] };
  assert.deepEqual(byNode.items, []);
  const paged = (await api.call('GET', '/api/v1/queue?limit=1&offset=1', admin)).body as { items: Msg[] };
  assert.deepEqual(paged.items.map((m) => m.id), [m2]);
  const badState = await api.call('GET', '/api/v1/queue?state=lost', admin);
  assert.equal(badState.status, 400);
  assert.deepEqual(fields(badState.body), ['query.state']);

  const one = await api.call('GET', `/api/v1/queue/${m2.toLowerCase()}`, admin);
  assert.equal(one.status, 200, JSON.stringify(one.body));
  const shown = one.body as Msg;
  assert.equal(shown.sender, 'bob@two.test');
  assert.equal(shown.node, 'test');
  assert.deepEqual(shown.recipients.map((r) => [r.address, r.state, r.attempts, r.lastResponse]), [
    ['defer-b@y.test', 'pending', 1, '451 4.2.0 try later'], ['defer-c@y.test', 'pending', 1, '451 4.2.0 try later'],
  ]);
  assert.equal((await api.call('GET', '/api/v1/queue/0000000000000000', admin)).status, 404);
  const badId = await api.call('GET', '/api/v1/queue/not-an-id', admin);
  assert.equal(badId.status, 400);
  assert.deepEqual(fields(badId.body), ['params.id']);

  const sum = await api.call('GET', '/api/v1/queue/summary', admin);
  assert.equal(sum.status, 200);
  const s = sum.body as { nodes: { node: string; queued: number; held: number; deferred: number; pendingRecipients: number }[]; total: number; paused: { sending: boolean } };
  assert.equal(s.total, 3);
  assert.deepEqual(s.nodes.map((n) => [n.node, n.queued, n.held, n.deferred, n.pendingRecipients]), [['test', 3, 0, 3, 4]]);

  // Hold: no delivery, and retry refuses it; release delivers at once (still deferred: attempt 2).
  const held = await api.call('POST', `/api/v1/queue/${m1}/hold`, admin);
  assert.equal(held.status, 200);
  assert.equal((held.body as Msg).state, 'held');
  const retryHeld = await api.call('POST', `/api/v1/queue/${m1}/retry`, admin);
  assert.equal(retryHeld.status, 409);
  assert.equal(errorCode(retryHeld), 'conflict');
  assert.deepEqual(((await api.call('GET', '/api/v1/queue?state=held', admin)).body as { items: Msg[] }).items.map((m) => m.id), [m1]);
  const rel = await api.call('POST', `/api/v1/queue/${m1}/release`, admin);
  assert.equal(rel.status, 200);
  await eventually(async () => ((await repoOf(node).get(m1))?.attempts ?? 0) >= 2, 15_000, 'release delivers at once');

  // The next hop accepts now: retry delivers the message and it leaves the queue.
  sink.rcpt = (a) => (a.startsWith('defer-a') ? null : defaultRcpt(a));
  const before = sink.messages.length;
  const retry = await api.call('POST', `/api/v1/queue/${m1}/retry`, admin);
  assert.equal(retry.status, 200, JSON.stringify(retry.body));
  await sink.waitFor(before + 1);
  assert.deepEqual(sink.messages[sink.messages.length - 1].to, ['defer-a@x.test']);
  await eventually(async () => (await api.call('GET', `/api/v1/queue/${m1}`, admin)).status === 404, 15_000, 'delivered message gone');

  // Delete: the row and the spool file; 404 afterwards. No bounce goes out.
  assert.ok(existsSync(spoolFile(node.dataDir, m3)));
  assert.equal((await api.call('DELETE', `/api/v1/queue/${m3}`, admin)).status, 204);
  assert.ok(!existsSync(spoolFile(node.dataDir, m3)), 'spool file removed');
  assert.equal((await api.call('GET', `/api/v1/queue/${m3}`, admin)).status, 404);
  assert.equal((await api.call('DELETE', `/api/v1/queue/${m3}`, admin)).status, 404);

  // Bulk: hold by ids, with an unknown one reported; then delete.
  const bulk = await api.call('POST', '/api/v1/queue/bulk', admin, { action: 'hold', ids: [m2, '0000000000000000'] });
  assert.equal(bulk.status, 200, JSON.stringify(bulk.body));
  assert.deepEqual(bulk.body, { done: [m2], notFound: ['0000000000000000'], refused: [] });
  assert.equal((await repoOf(node).get(m2))?.state, 'held');
  const bulkRetry = await api.call('POST', '/api/v1/queue/bulk', admin, { action: 'retry', ids: [m2] });
  assert.equal((bulkRetry.body as { refused: { id: string }[] }).refused[0].id, m2);
  const badBulk = await api.call('POST', '/api/v1/queue/bulk', admin, { action: 'explode', ids: ['bad'] });
  assert.equal(badBulk.status, 400);
  assert.deepEqual(fields(badBulk.body).sort(), ['action', 'ids.0']);
  const bulkDel = await api.call('POST', '/api/v1/queue/bulk', admin, { action: 'delete', ids: [m2] });
  assert.deepEqual((bulkDel.body as { done: string[] }).done, [m2]);
  assert.ok(!existsSync(spoolFile(node.dataDir, m2)));
  assert.equal((await repoOf(node).count()), 0);

  // Pause and resume sending.
  const pause = await api.call('POST', '/api/v1/queue/pause', admin, { direction: 'sending' });
  assert.equal(pause.status, 200, JSON.stringify(pause.body));
  assert.deepEqual((pause.body as { paused: unknown }).paused, { sending: true, receiving: false });
  assert.equal(node.settings.snapshot().mta.paused.sending, true);
  sink.rcpt = () => null;
  const waiting = queueIdOf((await client(node.smtpPort).sendMail({ from: 'a@b.test', to: ['paused@x.test'], subject: 'paused', text: 'x' })).response);
  await new Promise((r) => setTimeout(r, 800));
  assert.equal((await repoOf(node).get(waiting))?.attempts, 0, 'nothing is delivered while sending is paused');
  const resume = await api.call('POST', '/api/v1/queue/resume', admin);
  assert.equal(resume.status, 200, JSON.stringify(resume.body));
  assert.deepEqual((resume.body as { paused: unknown }).paused, { sending: false, receiving: false });
  await eventually(async () => !(await repoOf(node).get(waiting)), 15_000, 'delivered after resume');

  // The audit trail.
  for (const [action, target] of [['queue.hold', `queue:${m1}`], ['queue.release', `queue:${m1}`], ['queue.retry', `queue:${m1}`], ['queue.delete', `queue:${m2}`], ['queue.pause', 'queue:sending'], ['queue.resume', 'queue:sending']]) {
    const a = await audits(node, action);
    assert.ok(a.some((x) => x.target === target && x.actor === 'admin'), `${action} ${target}: ${JSON.stringify(a.map((x) => x.target))}`);
  }
  assert.deepEqual((await audits(node, 'queue.pause'))[0].after, { 'mta.paused.sending': true });
});
