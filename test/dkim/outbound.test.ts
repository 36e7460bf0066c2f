/**
 * Which messages the signer signs, and with which key: outbound only (authenticated, or a trusted network) and
 * `dkim.enabled`; the From domain's key, else the envelope sender domain's; none for other domains. The cheap
 * path: without keys the message is never opened. Keys are read again after refreshMs (a fake clock), a store
 * that cannot be read keeps the keys read before, a stored key that does not parse is skipped with a log line
 * naming only the domain and selector.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { DkimSigner, type StoredKey } from '../../src/dkim/outbound.ts';
import { settingsSchema, type Settings } from '../../src/config/settings-schema.ts';
import { generateKey } from '../../src/dkim/keys.ts';

const rsa = await generateKey('rsa', 1024);
const stored = (domain: string, selector = 's1', pem = rsa.privateKeyPem): StoredKey => ({ domain, selector, algorithm: 'rsa-sha256', privateKeyPem: pem, createdAt: 1 });
const settings = (doc: Record<string, unknown> = {}): Settings => settingsSchema.parse(doc);
const message = (from: string) => Buffer.from(`From: ${from}\r\nSubject: hi\r\nDate: Sat, 1 Mar 2025 10:00:00 +0000\r\n\r\nbody\r\n`);

function setup(keys: () => Promise<StoredKey[]>) {
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, new Writable({ write(c, _e, done) { logs.push(JSON.parse(String(c))); done(); } }));
  const clock = { t: 1_000_000, now() { return this.t; } };
  let reads = 0;
  const signer = new DkimSigner({ keys: { signingKeys: () => { reads++; return keys(); } }, logger, clock, refreshMs: 1000 });
  return { signer, logs, clock, reads: () => reads };
}

const dOf = (r: { field: Buffer } | null) => (r ? /d=([^;]+);/.exec(r.field.toString('latin1'))![1] : null);

test('outbound only: authenticated or trusted network, and signing on', () => {
  const { signer } = setup(async () => []);
  const s = settings({ mta: { trustedNetworks: ['10.0.0.0/8', '2001:db8::/32'] } });
  assert.equal(signer.applies({ sender: 'a@x.test', authUser: null, clientIp: '203.0.113.9' }, s), false, 'internet');
  assert.equal(signer.applies({ sender: 'a@x.test', authUser: 'alice', clientIp: '203.0.113.9' }, s), true, 'authenticated');
  assert.equal(signer.applies({ sender: 'a@x.test', authUser: null, clientIp: '10.1.2.3' }, s), true, 'trusted network');
  assert.equal(signer.applies({ sender: 'a@x.test', authUser: null, clientIp: '::ffff:10.1.2.3' }, s), true, 'IPv4-mapped');
  assert.equal(signer.applies({ sender: 'a@x.test', authUser: null, clientIp: '2001:db8::1' }, s), true);
  assert.equal(signer.applies({ sender: 'a@x.test', authUser: null, clientIp: '127.0.0.1' }, s), false, 'loopback is not in this list');
  const off = settings({ dkim: { enabled: false } });
  assert.equal(signer.applies({ sender: 'a@x.test', authUser: 'alice', clientIp: '127.0.0.1' }, off), false);
});

test('the From domain key, else the envelope sender domain key; inbound never; without keys never opened', async () => {
  const { signer } = setup(async () => [stored('example.test'), stored('bounce.test')]);
  const s = settings();
  const out = { sender: 'a@example.test', authUser: 'alice', clientIp: '203.0.113.9' };
  assert.equal(dOf(await signer.sign(out, () => message('Ann <ann@Example.Test>'), undefined, s)), 'example.test');
  assert.equal(dOf(await signer.sign({ ...out, sender: 'x@bounce.test' }, () => message('ann@nokey.test'), undefined, s)), 'bounce.test', 'fallback');
  assert.equal(dOf(await signer.sign({ ...out, sender: 'x@bounce.test' }, () => message('undisclosed:;'), undefined, s)), 'bounce.test');
  assert.equal(await signer.sign({ ...out, sender: 'x@nokey.test' }, () => message('ann@nokey.test'), undefined, s), null, 'no key');
  assert.equal(await signer.sign({ ...out, sender: '' }, () => message('ann@nokey.test'), undefined, s), null, 'null sender, no key');
  const opened: string[] = [];
  const inbound = { sender: 'a@example.test', authUser: null, clientIp: '203.0.113.9' };
  assert.equal(await signer.sign(inbound, () => { opened.push('inbound'); return message('a@example.test'); }, undefined, s), null, 'inbound: never');
  const none = setup(async () => []);
  assert.equal(await none.signer.sign(out, () => { opened.push('no keys'); return message('a@example.test'); }, undefined, s), null);
  assert.deepEqual(opened, [], 'the message is not opened when nothing can sign it');
});

test('keys read at most once per refreshMs; a store error keeps the last keys; a bad key is skipped without its material in the log', async () => {
  let rows: StoredKey[] | Error = [stored('example.test')];
  const { signer, logs, clock, reads } = setup(async () => { if (rows instanceof Error) throw rows; return rows; });
  const s = settings();
  const out = { sender: 'a@example.test', authUser: 'alice', clientIp: '203.0.113.9' };
  await Promise.all([signer.keys(), signer.keys(), signer.keys()]);
  assert.equal(reads(), 1, 'concurrent callers share one read');
  rows = [stored('example.test', 's2')];
  assert.match((await signer.sign(out, () => message('a@example.test'), undefined, s))!.field.toString(), /s=s1;/, 'cached');
  clock.t += 1000;
  assert.match((await signer.sign(out, () => message('a@example.test'), undefined, s))!.field.toString(), /s=s2;/, 'read again');
  assert.equal(reads(), 2);

  rows = new Error('database is locked');
  clock.t += 1000;
  assert.match((await signer.sign(out, () => message('a@example.test'), undefined, s))!.field.toString(), /s=s2;/, 'kept');
  assert.ok(logs.some((l) => l.level === 40 && /could not be read/.test(String(l.msg))));

  const broken = '-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n';
  rows = [stored('example.test', 'bad', broken), stored('other.test')];
  clock.t += 1000;
  assert.equal(await signer.sign(out, () => message('a@example.test'), undefined, s), null);
  const line = logs.find((l) => /cannot be read/.test(String(l.msg)));
  assert.deepEqual([line?.domain, line?.selector], ['example.test', 'bad']);
  assert.ok(!JSON.stringify(logs).includes('MIIB') && !JSON.stringify(logs).includes('PRIVATE KEY'), 'no key material logged');
  clock.t += 1000;
  await signer.keys();
  assert.equal(logs.filter((l) => /cannot be read/.test(String(l.msg))).length, 1, 'logged once');
});
