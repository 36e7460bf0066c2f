// DKIM through the auth scanner and a real DNS server, with our own RSA and Ed25519 keys: pass, fail (body or
// signed header changed), none, temperror, permerror (key records, signatures mailauth would accept but the RFCs
// do not), one detection per signature, the l= tag, and the per-message caps.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDnsServer, type DnsServer, type DnsZone } from '../helpers/dns-server.ts';
import type { AuthScanner } from '../../src/scan/auth/scanner.ts';
import type { DkimOutcome } from '../../src/scan/auth/dkim.ts';
import { detail, ed25519Key, keyRecord, message, results, rsaKey, scanner, scanWith, sign, signByHand } from './helpers.ts';

const rsa = rsaKey();
const ed = ed25519Key();
const weak = rsaKey(512);
const other = rsaKey(1024);

const zone: DnsZone = {
  'example.test': { txt: ['v=spf1 ip4:192.0.2.0/24 -all'] },
  'rsa._domainkey.example.test': { txt: [keyRecord(rsa)] },
  'ed._domainkey.example.test': { txt: [keyRecord(ed)] },
  'weak._domainkey.example.test': { txt: [keyRecord(weak)] },
  'garbage._domainkey.example.test': { txt: ['v=DKIM1; k=rsa; p=!!!not*base64!!!'] },
  'revoked._domainkey.example.test': { txt: ['v=DKIM1; k=rsa; p='] },
  'wrongver._domainkey.example.test': { txt: [keyRecord(rsa).join('').replace('v=DKIM1', 'v=DKIM9').match(/.{1,255}/g)!] },
  'wrongtype._domainkey.example.test': { txt: [keyRecord(rsa).join('').replace('k=rsa', 'k=ed25519').match(/.{1,255}/g)!] },
  'slow._domainkey.example.test': 'TIMEOUT',
  'sf._domainkey.example.test': 'SERVFAIL',
  ...Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${i}._domainkey.example.test`, { txt: [keyRecord(ed)] }])),
  ...Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`slow${i}._domainkey.example.test`, 'TIMEOUT' as const])),
};

let dns: DnsServer;
let sc: AuthScanner;
before(async () => {
  dns = await startDnsServer(zone);
  sc = await scanner(dns, { dnsTimeoutMs: 300 });
});
after(() => dns.close());

const MSG = message();
const dkimOf = (f: Awaited<ReturnType<typeof scanWith>>) => detail<(DkimOutcome & { aligned: boolean })[]>(f, 'dkim');

test('pass with an RSA key and with an Ed25519 key; details name the domain, selector and key', async () => {
  const r = await scanWith(sc, await sign(MSG, 'example.test', 'rsa', rsa));
  assert.deepEqual(results(r, 'dkim'), ['pass']);
  assert.deepEqual({ ...dkimOf(r)[0], b: undefined }, { result: 'pass', domain: 'example.test', selector: 'rsa', algorithm: 'rsa-sha256', b: undefined, keyBits: 2048, aligned: true });
  assert.match(String(r.details?.authResults), /; dkim=pass header\.d=example\.test header\.s=rsa header\.b="?[A-Za-z0-9+/=]{8}"?; /);

  const e = await scanWith(sc, await sign(MSG, 'example.test', 'ed', ed));
  assert.deepEqual(results(e, 'dkim'), ['pass']);
  assert.equal(dkimOf(e)[0].algorithm, 'ed25519-sha256');
  // Our own signer agrees with mailauth's verifier.
  assert.deepEqual(results(await scanWith(sc, signByHand(MSG, { d: 'example.test', s: 'rsa', key: rsa })), 'dkim'), ['pass']);
  assert.deepEqual(results(await scanWith(sc, signByHand(MSG, { d: 'example.test', s: 'ed', key: ed })), 'dkim'), ['pass']);
});

test('fail: the body changed, or a signed header field changed', async () => {
  const signed = await sign(MSG, 'example.test', 'rsa', rsa);
  const body = await scanWith(sc, signed.replace('as agreed', 'as we agreed'));
  assert.deepEqual(results(body, 'dkim'), ['fail']);
  assert.match(String(dkimOf(body)[0].reason), /body hash mismatch/);
  const header = await scanWith(sc, signed.replace('Subject: Quarterly figures', 'Subject: Urgent wire transfer'));
  assert.deepEqual(results(header, 'dkim'), ['fail']);
  assert.match(String(dkimOf(header)[0].reason), /signed header fields changed/);
  // Relaxed canonicalisation tolerates whitespace changes; an unsigned field may be added.
  assert.deepEqual(results(await scanWith(sc, signed.replace('Subject: Quarterly figures', 'Subject:   Quarterly   figures')), 'dkim'), ['pass']);
  assert.deepEqual(results(await scanWith(sc, `X-Added: by a relay\r\n${signed}`), 'dkim'), ['pass']);
});

test('none: an unsigned message has one dkim detection, none', async () => {
  const f = await scanWith(sc, MSG);
  assert.deepEqual(results(f, 'dkim'), ['none']);
  assert.match(String(f.details?.authResults), /; dkim=none \(message not signed\); /);
});

test('temperror: the key lookup times out or fails', async () => {
  for (const sel of ['slow', 'sf']) {
    const f = await scanWith(sc, await sign(MSG, 'example.test', sel, rsa));
    assert.deepEqual(results(f, 'dkim'), ['temperror'], sel);
    assert.match(String(dkimOf(f)[0].reason), /key lookup failed/);
  }
});

test('permerror: no key, unusable, revoked or wrong key records, a key that is too short', async () => {
  const cases: [string, RegExp][] = [
    ['missing', /no key record/],
    ['garbage', /unusable or revoked key record/],
    ['revoked', /unusable or revoked key record/],
    ['wrongver', /bad key record/],
    ['wrongtype', /bad key record/],
  ];
  for (const [sel, reason] of cases) {
    const f = await scanWith(sc, await sign(MSG, 'example.test', sel, rsa));
    assert.deepEqual(results(f, 'dkim'), ['permerror'], sel);
    assert.match(String(dkimOf(f)[0].reason), reason, sel);
  }
  const short = await scanWith(sc, signByHand(MSG, { d: 'example.test', s: 'weak', key: weak }));
  assert.deepEqual(results(short, 'dkim'), ['permerror']);
  assert.match(String(dkimOf(short)[0].reason), /key too short/);
  const allowed = await scanner(dns, { minKeyBits: 512 });
  assert.deepEqual(results(await scanWith(allowed, signByHand(MSG, { d: 'example.test', s: 'weak', key: weak })), 'dkim'), ['pass'], 'minKeyBits lowers the bar');
});

test('permerror for valid-looking signatures the RFCs reject: From not signed, i= elsewhere, rsa-sha1, bad tags', async () => {
  const cases: [string, Parameters<typeof signByHand>[1], RegExp][] = [
    ['From not in h=', { d: 'example.test', s: 'rsa', key: rsa, h: ['to', 'subject', 'date'] }, /From field is not signed/],
    ['i= outside d=', { d: 'example.test', s: 'rsa', key: rsa, tags: { i: '@attacker.test' } }, /i= is not within the signing domain/],
    ['rsa-sha1', { d: 'example.test', s: 'rsa', key: rsa, algorithm: 'rsa-sha1' }, /rsa-sha1/],
    ['v=2', { d: 'example.test', s: 'rsa', key: rsa, tags: { v: '2' } }, /unknown signature version/],
    ['unknown algorithm', { d: 'example.test', s: 'rsa', key: rsa, tags: { a: 'rsa-sha512' } }, /unsupported algorithm/],
  ];
  for (const [what, o, reason] of cases) {
    const f = await scanWith(sc, signByHand(MSG, o));
    assert.deepEqual(results(f, 'dkim'), ['permerror'], what);
    assert.match(String(dkimOf(f)[0].reason), reason, what);
  }
  // The same signatures made right pass (the checks above are what turns them into permerror).
  assert.deepEqual(results(await scanWith(sc, signByHand(MSG, { d: 'example.test', s: 'rsa', key: rsa, tags: { i: 'alice@sub.example.test' } })), 'dkim'), ['pass']);
  // Hostile signature fields: no crash, one permerror each.
  for (const v of ['garbage', 'v=1; a=rsa-sha256; d=example.test; d=other.test; s=rsa; h=from; bh=x; b=y', `v=1; ${'x=1; '.repeat(100)}`, 'v=1; a=rsa-sha256; d=exa mple.test; s=rsa; h=from; bh=x; b=y']) {
    const f = await scanWith(sc, `DKIM-Signature: ${v}\r\n${MSG}`);
    assert.deepEqual(results(f, 'dkim'), ['permerror'], v.slice(0, 40));
  }
});

test('several signatures: one detection each, in header order', async () => {
  let m = await sign(MSG, 'example.test', 'rsa', rsa);
  m = await sign(m, 'example.test', 'missing', other);
  m = await sign(m, 'example.test', 'ed', ed);
  const f = await scanWith(sc, m);
  assert.deepEqual(results(f, 'dkim'), ['pass', 'permerror', 'pass']);
  assert.deepEqual(dkimOf(f).map((d) => d.selector), ['ed', 'missing', 'rsa']);
  assert.equal((String(f.details?.authResults).match(/dkim=/g) ?? []).length, 3);
});

test('l= leaving part of the body unsigned: DKIM passes, the unsigned bytes are reported', async () => {
  const signed = signByHand(MSG, { d: 'example.test', s: 'rsa', key: rsa, l: 10 });
  const f = await scanWith(sc, signed.replace('Alice\r\n', 'Alice\r\n\r\nPS: please pay invoice 4711 to IBAN XX00 1234 today.\r\n'));
  assert.deepEqual(results(f, 'dkim'), ['pass']);
  assert.ok((dkimOf(f)[0].unsignedBodyBytes ?? 0) > 40);
});

test('at most maxSignatures signatures are verified; the rest are ignored and not looked up', async () => {
  let m = MSG;
  for (let i = 11; i >= 0; i--) m = signByHand(m, { d: 'example.test', s: `k${i}`, key: ed });
  dns.queries.length = 0;
  const f = await scanWith(sc, m);
  assert.equal(results(f, 'dkim').length, 10);
  assert.ok(results(f, 'dkim').every((r) => r === 'pass'));
  assert.equal(f.details?.dkimIgnored, 2);
  assert.ok(dns.queries.includes('TXT k9._domainkey.example.test'));
  assert.ok(!dns.queries.includes('TXT k10._domainkey.example.test') && !dns.queries.includes('TXT k11._domainkey.example.test'));
});

test('the message DNS budget cuts waiting short: keys that never answer all end in temperror', async () => {
  const budget = await scanner(dns, { dnsTimeoutMs: 60_000, timeoutMs: 200 });
  let m = MSG;
  for (let i = 0; i < 4; i++) m = await sign(m, 'example.test', `slow${i}`, ed);
  const f = await scanWith(budget, m);
  assert.deepEqual(results(f, 'dkim'), ['temperror', 'temperror', 'temperror', 'temperror']);
});
