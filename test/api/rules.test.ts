/**
 * Processing rules over the REST API on a real node: a rule created through the API decides messages sent over
 * real SMTP (reject for its recipients, others delivered to a real sink); list with presets marked; get by id or
 * name; update; enable/disable; move and whole-order; the preset constraints (409/400 as the store enforces them);
 * validation naming the field; audit entries with before/after.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, startSink, client, TEST_ADMIN_PASSWORD, type Sink, type TestNode } from '../helpers.ts';
import { Api, errorCode, type Creds } from './client.ts';
import { audits } from './config-helpers.ts';

let node: TestNode;
let sink: Sink;
let api: Api;
let admin: Creds;

type Rule = { id: number; name: string; enabled: boolean; position: number; mode: string; preset: string | null; senders: string[]; recipients: string[]; description: string };
const fields = (b: unknown) => ((b as { error: { fields?: { path: string }[] } }).error.fields ?? []).map((f) => f.path);
const names = async () => ((await api.call('GET', '/api/v1/rules', admin)).body as { items: Rule[] }).items.map((r) => r.name);

before(async () => {
  sink = await startSink();
  node = await startTestNode({ settings: { mta: { hostname: 'gw.rules.test', relayHost: `127.0.0.1:${sink.port}` } } });
  api = new Api(node.httpPort);
  admin = await api.session('admin', TEST_ADMIN_PASSWORD);
});
after(async () => { await node?.cleanup(); await sink?.close(); });

test('a rule created through the API decides messages sent over SMTP', async () => {
  const r = await api.call('POST', '/api/v1/rules', admin, { name: 'Block partner', mode: 'reject', recipients: ['*@blocked.test'], description: 'API test' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const rule = r.body as Rule;
  assert.equal(rule.position, 3, 'placed last above Default');
  assert.equal(rule.preset, null);
  // Nodes re-read the rules at most once a second.
  await new Promise((res) => setTimeout(res, 1200));

  await assert.rejects(
    client(node.smtpPort).sendMail({ from: 'a@inside.test', to: 'x@blocked.test', subject: 'blocked', text: 'x' }),
    (err: { responseCode?: number }) => (err.responseCode ?? 0) >= 500,
    'the rule rejects',
  );
  const ok = await client(node.smtpPort).sendMail({ from: 'a@inside.test', to: 'y@allowed.test', subject: 'allowed', text: 'x' });
  assert.match(ok.response, /^250 /);
  const msgs = await sink.waitFor(1);
  assert.deepEqual(msgs.map((m) => m.to), [['y@allowed.test']], 'only the message the rule does not reject is delivered');

  // Disabled through the API: the same message now goes through.
  assert.equal((await api.call('POST', `/api/v1/rules/${rule.id}/disable`, admin)).status, 200);
  await new Promise((res) => setTimeout(res, 1200));
  const now = await client(node.smtpPort).sendMail({ from: 'a@inside.test', to: 'x@blocked.test', subject: 'blocked no more', text: 'x' });
  assert.match(now.response, /^250 /);
  await sink.waitFor(2);

  const a = (await audits(node, 'rules.create'))[0];
  assert.equal(a.target, `rule:${rule.id}`);
  assert.equal((a.after as { name: string }).name, 'Block partner');
  assert.deepEqual((await audits(node, 'rules.disable'))[0].after, { enabled: false });
});

test('list, get, update, move, order, presets and validation', async () => {
  const list = ((await api.call('GET', '/api/v1/rules', admin)).body as { items: Rule[] }).items;
  assert.deepEqual(list.map((r) => [r.name, r.preset]), [['AllowList', 'AllowList'], ['DenyList', 'DenyList'], ['Block partner', null], ['Default', 'Default']]);
  const byName = await api.call('GET', '/api/v1/rules/block%20partner', admin);
  assert.equal(byName.status, 200);
  const block = byName.body as Rule;
  assert.equal((await api.call('GET', `/api/v1/rules/${block.id}`, admin)).status, 200);
  assert.equal((await api.call('GET', '/api/v1/rules/999999', admin)).status, 404);

  // Update: the fields given replace the stored ones; the audit has the differences.
  const upd = await api.call('PATCH', `/api/v1/rules/${block.id}`, admin, { senders: ['*@bad.test', '192.0.2.0/24'], description: 'changed' });
  assert.equal(upd.status, 200, JSON.stringify(upd.body));
  assert.deepEqual((upd.body as Rule).senders, ['*@bad.test', '192.0.2.0/24']);
  assert.equal((upd.body as Rule).recipients[0], '*@blocked.test');
  const au = (await audits(node, 'rules.update'))[0];
  assert.deepEqual(au.before, { description: 'API test', senders: [] });
  assert.deepEqual(au.after, { description: 'changed', senders: ['*@bad.test', '192.0.2.0/24'] });

  // Validation names the field.
  const badRe = await api.call('POST', '/api/v1/rules', admin, { name: 'Bad', senders: ['ok@x.test', 're:('] });
  assert.equal(badRe.status, 400);
  assert.deepEqual(fields(badRe.body), ['senders.1']);
  const badMode = await api.call('PATCH', `/api/v1/rules/${block.id}`, admin, { mode: 'explode' });
  assert.deepEqual(fields(badMode.body), ['mode']);
  const digits = await api.call('POST', '/api/v1/rules', admin, { name: '123' });
  assert.deepEqual(fields(digits.body), ['name']);
  const dupName = await api.call('POST', '/api/v1/rules', admin, { name: 'block PARTNER' });
  assert.equal(dupName.status, 409);

  // Preset constraints.
  const delDefault = await api.call('DELETE', '/api/v1/rules/Default', admin);
  assert.equal(delDefault.status, 409);
  assert.equal(errorCode(delDefault), 'conflict');
  assert.equal((await api.call('DELETE', '/api/v1/rules/AllowList', admin)).status, 409);
  assert.equal((await api.call('POST', '/api/v1/rules/Default/disable', admin)).status, 409);
  assert.equal((await api.call('POST', '/api/v1/rules/Default/move', admin, { to: 1 })).status, 409);
  const defCrit = await api.call('PATCH', '/api/v1/rules/Default', admin, { senders: ['*@x.test'] });
  assert.equal(defCrit.status, 400);
  assert.deepEqual(fields(defCrit.body), ['senders']);
  const rename = await api.call('PATCH', '/api/v1/rules/DenyList', admin, { name: 'Other' });
  assert.deepEqual(fields(rename.body), ['name']);
  const below = await api.call('POST', `/api/v1/rules/${block.id}/move`, admin, { below: 'Default' });
  assert.equal(below.status, 409);

  // Create at a position, move, whole order.
  const second = await api.call('POST', '/api/v1/rules', admin, { name: 'Second', recipients: ['*@second.test'], mode: 'skip', position: 1 });
  assert.equal(second.status, 201, JSON.stringify(second.body));
  assert.equal((second.body as Rule).position, 1);
  assert.deepEqual(await names(), ['Second', 'AllowList', 'DenyList', 'Block partner', 'Default']);
  const mv = await api.call('POST', '/api/v1/rules/Second/move', admin, { below: 'Block partner' });
  assert.equal(mv.status, 200, JSON.stringify(mv.body));
  assert.deepEqual((mv.body as { items: Rule[] }).items.map((r) => r.name), ['AllowList', 'DenyList', 'Block partner', 'Second', 'Default']);
  assert.deepEqual((await audits(node, 'rules.move'))[0].after, { position: 4 });
  const badPos = await api.call('POST', '/api/v1/rules/Second/move', admin, { to: 9 });
  assert.equal(badPos.status, 409);

  const order = await api.call('PUT', '/api/v1/rules/order', admin, { order: ['Second', block.id, 'DenyList', 'AllowList'] });
  assert.equal(order.status, 200, JSON.stringify(order.body));
  assert.deepEqual((order.body as { items: Rule[] }).items.map((r) => [r.name, r.position]), [['Second', 1], ['Block partner', 2], ['DenyList', 3], ['AllowList', 4], ['Default', 5]]);
  const ao = (await audits(node, 'rules.order'))[0];
  assert.deepEqual(ao.after, ['Second', 'Block partner', 'DenyList', 'AllowList']);
  const partial = await api.call('PUT', '/api/v1/rules/order', admin, { order: ['Second'] });
  assert.equal(partial.status, 400);
  assert.deepEqual(fields(partial.body), ['order']);
  const withDefault = await api.call('PUT', '/api/v1/rules/order', admin, { order: ['Second', 'Default', 'Nope'] });
  assert.deepEqual(fields(withDefault.body), ['order.1', 'order.2']);

  // Enable / delete.
  assert.equal(((await api.call('POST', '/api/v1/rules/AllowList/enable', admin)).body as Rule).enabled, true);
  assert.equal((await api.call('DELETE', '/api/v1/rules/Second', admin)).status, 204);
  assert.equal((await api.call('DELETE', '/api/v1/rules/Second', admin)).status, 404);
  assert.equal(((await audits(node, 'rules.delete'))[0].before as { name: string }).name, 'Second');
});
