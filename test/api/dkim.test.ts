/**
 * DKIM keys over the REST API on a real node: generate (Ed25519, RSA), import a PEM key, list, get with the DNS
 * TXT record, use / disable / delete (409 for the signing key without force), errors naming the field, private
 * keys in no answer and no audit entry; and a key made the signing key through the API signs mail relayed over
 * real SMTP to a real sink.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { startTestNode, startSink, client, TEST_ADMIN_PASSWORD, type Sink, type TestNode } from '../helpers.ts';
import { Api, errorCode, type Creds } from './client.ts';
import { audits } from './config-helpers.ts';

let node: TestNode;
let sink: Sink;
let api: Api;
let admin: Creds;

type Key = { domain: string; selector: string; algorithm: string; bits: number; enabled: boolean; publicKey: string; dnsRecord?: { name: string; value: string; zoneLine: string; strings: string[] } };
const fields = (b: unknown) => ((b as { error: { fields?: { path: string }[] } }).error.fields ?? []).map((f) => f.path);
const noPrivate = (label: string, b: unknown) => assert.ok(!/PRIVATE KEY/.test(JSON.stringify(b)), `${label}: a private key was returned`);

before(async () => {
  sink = await startSink();
  node = await startTestNode({ settings: { mta: { hostname: 'gw.dkim.test', relayHost: `127.0.0.1:${sink.port}` } } });
  api = new Api(node.httpPort);
  admin = await api.session('admin', TEST_ADMIN_PASSWORD);
});
after(async () => { await node?.cleanup(); await sink?.close(); });

test('generate, import, list, show, use, disable, delete', async () => {
  const ed = await api.call('POST', '/api/v1/dkim/keys', admin, { domain: 'Example.TEST', selector: 'ed1', type: 'ed25519' });
  assert.equal(ed.status, 201, JSON.stringify(ed.body));
  noPrivate('keygen', ed.body);
  const k = ed.body as Key;
  assert.equal(k.domain, 'example.test');
  assert.equal(k.algorithm, 'ed25519-sha256');
  assert.equal(k.bits, 256);
  assert.equal(k.enabled, false);
  assert.equal(k.dnsRecord!.name, 'ed1._domainkey.example.test.');
  assert.equal(k.dnsRecord!.value, `v=DKIM1; k=ed25519; p=${k.publicKey}`);

  const rsa = await api.call('POST', '/api/v1/dkim/keys', admin, { domain: 'example.test', selector: 'rsa1', bits: 1024, use: true });
  assert.equal(rsa.status, 201, JSON.stringify(rsa.body));
  assert.equal((rsa.body as Key).bits, 1024);
  assert.equal((rsa.body as Key).enabled, true);

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs1' }) as string;
  const imp = await api.call('POST', '/api/v1/dkim/keys/import', admin, { domain: 'other.test', selector: 'imp', privateKey: pem });
  assert.equal(imp.status, 201, JSON.stringify(imp.body));
  noPrivate('import', imp.body);
  assert.equal((imp.body as Key).bits, 2048);

  const list = await api.call('GET', '/api/v1/dkim/keys', admin);
  assert.equal(list.status, 200);
  noPrivate('list', list.body);
  assert.deepEqual((list.body as { items: Key[] }).items.map((x) => `${x.domain}/${x.selector}/${x.enabled}`), ['example.test/ed1/false', 'example.test/rsa1/true', 'other.test/imp/false']);
  const one = await api.call('GET', '/api/v1/dkim/keys/other.test/imp', admin);
  assert.equal(one.status, 200);
  noPrivate('get', one.body);
  assert.match((one.body as Key).dnsRecord!.zoneLine, /^imp\._domainkey\.other\.test\. IN TXT "v=DKIM1; k=rsa; p=/);
  const filtered = await api.call('GET', '/api/v1/dkim/keys?domain=other.test', admin);
  assert.deepEqual((filtered.body as { items: Key[] }).items.map((x) => x.selector), ['imp']);

  // Errors name the field.
  const dup = await api.call('POST', '/api/v1/dkim/keys', admin, { domain: 'example.test', selector: 'ed1', type: 'ed25519' });
  assert.equal(dup.status, 409);
  const badDomain = await api.call('POST', '/api/v1/dkim/keys', admin, { domain: 'not a domain', selector: 's', type: 'ed25519' });
  assert.equal(badDomain.status, 400);
  assert.deepEqual(fields(badDomain.body), ['domain']);
  const badSel = await api.call('POST', '/api/v1/dkim/keys', admin, { domain: 'example.test', selector: '-bad-', type: 'ed25519' });
  assert.deepEqual(fields(badSel.body), ['selector']);
  const badBits = await api.call('POST', '/api/v1/dkim/keys', admin, { domain: 'example.test', selector: 'x', bits: 512 });
  assert.equal(badBits.status, 400);
  assert.deepEqual(fields(badBits.body), ['bits']);
  const cert = await api.call('POST', '/api/v1/dkim/keys/import', admin, { domain: 'example.test', selector: 'c', privateKey: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' });
  assert.equal(cert.status, 400);
  assert.deepEqual(fields(cert.body), ['privateKey']);
  const weak = generateKeyPairSync('rsa', { modulusLength: 512 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const weakR = await api.call('POST', '/api/v1/dkim/keys/import', admin, { domain: 'example.test', selector: 'w', privateKey: weak });
  assert.equal(weakR.status, 400);
  assert.match((weakR.body as { error: { message: string } }).error.message, /too weak/);
  assert.equal((await api.call('GET', '/api/v1/dkim/keys/example.test/nosuch', admin)).status, 404);
  assert.equal((await api.call('GET', '/api/v1/dkim/keys/bad_domain/x', admin)).status, 400);

  // use / disable / delete.
  const use = await api.call('POST', '/api/v1/dkim/keys/example.test/ed1/use', admin);
  assert.equal(use.status, 200);
  assert.equal((use.body as Key).enabled, true);
  const keys = ((await api.call('GET', '/api/v1/dkim/keys?domain=example.test', admin)).body as { items: Key[] }).items;
  assert.deepEqual(keys.map((x) => x.enabled), [true, false], 'one signing key per domain');
  const refused = await api.call('DELETE', '/api/v1/dkim/keys/example.test/ed1', admin);
  assert.equal(refused.status, 409);
  assert.equal(errorCode(refused), 'conflict');
  const dis = await api.call('POST', '/api/v1/dkim/keys/example.test/ed1/disable', admin);
  assert.equal((dis.body as Key).enabled, false);
  assert.equal((await api.call('DELETE', '/api/v1/dkim/keys/example.test/ed1', admin)).status, 204);
  assert.equal((await api.call('POST', '/api/v1/dkim/keys/example.test/rsa1/use', admin)).status, 200);
  assert.equal((await api.call('DELETE', '/api/v1/dkim/keys/example.test/rsa1?force=true', admin)).status, 204);
  assert.deepEqual(((await api.call('GET', '/api/v1/dkim/keys', admin)).body as { items: Key[] }).items.map((x) => x.selector), ['imp']);

  for (const action of ['dkim.keygen', 'dkim.import', 'dkim.use', 'dkim.disable', 'dkim.delete']) {
    const a = await audits(node, action);
    assert.ok(a.length, `audited: ${action}`);
    noPrivate(`audit ${action}`, a);
  }
  assert.deepEqual((await audits(node, 'dkim.use'))[0].after, { signingSelector: 'rsa1' });
});

test('a key made the signing key through the API signs relayed mail', async () => {
  const r = await api.call('POST', '/api/v1/dkim/keys', admin, { domain: 'signed.test', selector: 'sel2026', type: 'ed25519', use: true });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  // The signer re-reads its key table every second.
  await new Promise((res) => setTimeout(res, 1200));
  const before = sink.messages.length;
  await client(node.smtpPort).sendMail({ from: 'boss@signed.test', to: 'partner@remote.test', subject: 'signed', text: 'hello' });
  const msgs = await sink.waitFor(before + 1);
  const head = msgs[msgs.length - 1].data.toString().split('\r\n\r\n')[0];
  assert.match(head, /^DKIM-Signature:[^]*?d=signed\.test/m);
  assert.match(head, /^DKIM-Signature:[^]*?s=sel2026/m);
});
