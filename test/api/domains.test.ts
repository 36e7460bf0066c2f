/**
 * Domains and routing over the REST API on a real node: a domain added through the API is accepted over SMTP
 * (real loopback SMTP) and delivered to its next hop (a real sink), and the change is in the audit trail with
 * before/after; update, outbound TLS override, delete; validation naming the field; 404 and 409; routing fields.
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

type Domain = { name: string; local: boolean; route: string | null; tlsOutbound: string | null };
const fields = (b: unknown) => ((b as { error: { fields?: { path: string }[] } }).error.fields ?? []).map((f) => f.path);

before(async () => {
  sink = await startSink();
  // Loopback is NOT trusted here, so only local domains are accepted from the test client.
  node = await startTestNode({ settings: { mta: { hostname: 'gw.domains.test', trustedNetworks: ['10.99.0.0/16'] } } });
  api = new Api(node.httpPort);
  admin = await api.session('admin', TEST_ADMIN_PASSWORD);
});
after(async () => { await node?.cleanup(); await sink?.close(); });

test('a domain added through the API is accepted over SMTP, delivered to its route, and audited', async () => {
  const send = () => client(node.smtpPort).sendMail({ from: 'sender@outside.test', to: 'user@new-domain.test', subject: 'to new domain', text: 'hello' });
  await assert.rejects(send(), (err: { responseCode?: number }) => err.responseCode === 554, 'not a local domain yet: relaying refused');

  const created = await api.call('POST', '/api/v1/domains', admin, { name: 'New-Domain.Test', route: `127.0.0.1:${sink.port}` });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.deepEqual(created.body, { name: 'new-domain.test', local: true, route: `127.0.0.1:${sink.port}`, tlsOutbound: null });

  const info = await send();
  assert.match(info.response, /^250 /);
  const [m] = await sink.waitFor(1);
  assert.deepEqual(m.to, ['user@new-domain.test']);
  assert.match(m.data.toString(), /Subject: to new domain/);

  const a = (await audits(node, 'domains.create'))[0];
  assert.equal(a.actor, 'admin');
  assert.equal(a.target, 'domain:new-domain.test');
  assert.deepEqual(a.after, { 'mta.domains': [{ name: 'new-domain.test', local: true, route: `127.0.0.1:${sink.port}` }] });
  assert.deepEqual(a.before, { 'mta.domains': [] });
});

test('list, get, update, TLS override, delete; errors', async () => {
  assert.equal((await api.call('POST', '/api/v1/domains', admin, { name: 'second.test', local: false })).status, 201);
  const list = await api.call('GET', '/api/v1/domains', admin);
  assert.equal(list.status, 200);
  assert.deepEqual((list.body as { items: Domain[] }).items.map((d) => d.name), ['new-domain.test', 'second.test']);

  const dup = await api.call('POST', '/api/v1/domains', admin, { name: 'SECOND.test' });
  assert.equal(dup.status, 409);
  assert.equal(errorCode(dup), 'conflict');
  const badName = await api.call('POST', '/api/v1/domains', admin, { name: 'bad domain!' });
  assert.equal(badName.status, 400);
  assert.deepEqual(fields(badName.body), ['name']);
  const badRoute = await api.call('PATCH', '/api/v1/domains/second.test', admin, { route: 'host:99999' });
  assert.equal(badRoute.status, 400);
  assert.deepEqual(fields(badRoute.body), ['route']);
  const badTls = await api.call('PATCH', '/api/v1/domains/second.test', admin, { tlsOutbound: 'always' });
  assert.equal(badTls.status, 400);
  assert.deepEqual(fields(badTls.body), ['tlsOutbound']);

  const upd = await api.call('PATCH', '/api/v1/domains/second.test', admin, { local: true, route: '[relay.second.test]:2525', tlsOutbound: 'require' });
  assert.equal(upd.status, 200, JSON.stringify(upd.body));
  assert.deepEqual(upd.body, { name: 'second.test', local: true, route: '[relay.second.test]:2525', tlsOutbound: 'require' });
  assert.deepEqual(node.settings.snapshot().mta.tls.perDomain, [{ domain: 'second.test', outbound: 'require' }]);
  const got = await api.call('GET', '/api/v1/domains/Second.Test', admin);
  assert.deepEqual(got.body, upd.body);
  const noTls = await api.call('PATCH', '/api/v1/domains/second.test', admin, { tlsOutbound: null, route: null });
  assert.deepEqual(noTls.body, { name: 'second.test', local: true, route: null, tlsOutbound: null });
  assert.deepEqual(node.settings.snapshot().mta.tls.perDomain, []);

  // Optimistic concurrency on a domain change.
  const stale = await api.call('PATCH', '/api/v1/domains/second.test', admin, { local: false, version: 1 });
  assert.equal(stale.status, 409);

  assert.equal((await api.call('PATCH', '/api/v1/domains/second.test', admin, { tlsOutbound: 'verify' })).status, 200);
  const del = await api.call('DELETE', '/api/v1/domains/second.test', admin);
  assert.equal(del.status, 204);
  assert.deepEqual(node.settings.snapshot().mta.tls.perDomain, [], 'the TLS override goes with the domain');
  assert.equal((await api.call('GET', '/api/v1/domains/second.test', admin)).status, 404);
  assert.equal((await api.call('DELETE', '/api/v1/domains/second.test', admin)).status, 404);
  assert.equal((await api.call('PATCH', '/api/v1/domains/nosuch.test', admin, { local: true })).status, 404);
  assert.equal((await audits(node, 'domains.delete'))[0].target, 'domain:second.test');
});

test('routing: relay host and trusted networks', async () => {
  const r0 = await api.call('GET', '/api/v1/routing', admin);
  assert.equal(r0.status, 200);
  assert.deepEqual({ ...(r0.body as object), version: 0 }, { version: 0, relayHost: null, trustedNetworks: ['10.99.0.0/16'] });
  const bad = await api.call('PATCH', '/api/v1/routing', admin, { trustedNetworks: ['192.0.2.0/24', '10/8'], relayHost: 'no spaces allowed' });
  assert.equal(bad.status, 400);
  assert.deepEqual(fields(bad.body).sort(), ['relayHost', 'trustedNetworks.1']);

  // Loopback trusted again: mail for any domain is relayed, through the relay host.
  const ok = await api.call('PATCH', '/api/v1/routing', admin, { trustedNetworks: ['127.0.0.0/8'], relayHost: `127.0.0.1:${sink.port}` });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.deepEqual((ok.body as { relayHost: string }).relayHost, `127.0.0.1:${sink.port}`);
  const before = sink.messages.length;
  const info = await client(node.smtpPort).sendMail({ from: 'inside@new-domain.test', to: 'someone@elsewhere.test', subject: 'relayed', text: 'x' });
  assert.match(info.response, /^250 /);
  const msgs = await sink.waitFor(before + 1);
  assert.deepEqual(msgs[msgs.length - 1].to, ['someone@elsewhere.test']);
  const a = (await audits(node, 'routing.update'))[0];
  assert.deepEqual(a.before, { 'mta.relayHost': null, 'mta.trustedNetworks': ['10.99.0.0/16'] });
  assert.deepEqual(a.after, { 'mta.relayHost': `127.0.0.1:${sink.port}`, 'mta.trustedNetworks': ['127.0.0.0/8'] });
});
