// DMARC through the auth scanner and a real DNS server: pass through aligned SPF or aligned DKIM, fail,
// relaxed and strict alignment (aspf / adkim), each p=, sp= for subdomains, pct, temperror, permerror, several
// From domains, and signatures that must not count (l=, From not signed).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDnsServer, type DnsServer, type DnsZone } from '../helpers/dns-server.ts';
import { dmarcPolicyOf, type AuthScanner } from '../../src/scan/auth/scanner.ts';
import type { DmarcOutcome } from '../../src/scan/auth/dmarc.ts';
import { detail, ed25519Key, keyRecord, message, results, scanner, scanWith, signByHand } from './helpers.ts';

const key = ed25519Key();
const GOOD_IP = '192.0.2.10';
const BAD_IP = '203.0.113.5';
const spfOk = { txt: ['v=spf1 ip4:192.0.2.0/24 -all'] };
const dmarc = (rec: string) => ({ txt: [rec] });

const zone: DnsZone = {
  'example.test': spfOk,
  '_dmarc.example.test': dmarc('v=DMARC1; p=reject; rua=mailto:dmarc@example.test'),
  'mail.example.test': spfOk,
  'strict.test': spfOk,
  '_dmarc.strict.test': dmarc('v=DMARC1; p=reject; aspf=s; adkim=s'),
  'mail.strict.test': spfOk,
  'pnone.test': spfOk, '_dmarc.pnone.test': dmarc('v=DMARC1; p=none'),
  'pquar.test': spfOk, '_dmarc.pquar.test': dmarc('v=DMARC1; p=quarantine'),
  'preject.test': spfOk, '_dmarc.preject.test': dmarc('v=DMARC1; p=reject'),
  '_dmarc.parent.test': dmarc('v=DMARC1; p=reject; sp=quarantine'),
  '_dmarc.own.parent.test': dmarc('v=DMARC1; p=none'),
  '_dmarc.pct0.test': dmarc('v=DMARC1; p=reject; pct=0'),
  '_dmarc.pct100.test': dmarc('v=DMARC1; p=reject; pct=100'),
  '_dmarc.slowdmarc.test': 'TIMEOUT',
  '_dmarc.badp.test': dmarc('v=DMARC1; p=bogus'),
  '_dmarc.badp-rua.test': dmarc('v=DMARC1; p=bogus; rua=mailto:r@badp-rua.test'),
  '_dmarc.two.test': { txt: ['v=DMARC1; p=reject', 'v=DMARC1; p=none'] },
  '_dmarc.notdmarc.test': { txt: ['v=spf1 -all', 'hello'] },
  'k._domainkey.example.test': { txt: [keyRecord(key)] },
  'k._domainkey.mail.example.test': { txt: [keyRecord(key)] },
  'k._domainkey.strict.test': { txt: [keyRecord(key)] },
  'k._domainkey.mail.strict.test': { txt: [keyRecord(key)] },
  'k._domainkey.other.test': { txt: [keyRecord(key)] },
};

let dns: DnsServer;
let sc: AuthScanner;
before(async () => {
  dns = await startDnsServer(zone);
  sc = await scanner(dns, { dnsTimeoutMs: 300 });
});
after(() => dns.close());

const fromMsg = (from: string, extra: Partial<Parameters<typeof message>[0]> = {}) => message({ from: `Alice <${from}>`, ...extra });
const dm = (f: Awaited<ReturnType<typeof scanWith>>) => detail<DmarcOutcome>(f, 'dmarc');

test('pass through aligned SPF (unsigned message)', async () => {
  const f = await scanWith(sc, fromMsg('alice@example.test'), { sender: 'alice@example.test', clientIp: GOOD_IP });
  assert.deepEqual(results(f, 'dmarc'), ['pass']);
  assert.equal(f.status, 'pass', 'the DMARC result is the finding status');
  assert.deepEqual(dm(f).alignment, { spf: true, dkim: false, spfDomain: 'example.test' });
  assert.equal(dm(f).policy, 'reject');
  assert.match(String(f.details?.authResults), /; dmarc=pass \(p=REJECT dis=NONE\) header\.from=example\.test; /);
});

test('pass through aligned DKIM when SPF fails (a forwarded message)', async () => {
  const signed = signByHand(fromMsg('alice@example.test'), { d: 'example.test', s: 'k', key });
  const f = await scanWith(sc, signed, { sender: 'alice@example.test', clientIp: BAD_IP });
  assert.deepEqual(results(f, 'spf'), ['fail']);
  assert.deepEqual(results(f, 'dmarc'), ['pass']);
  assert.deepEqual(dm(f).alignment, { spf: false, dkim: true, dkimDomain: 'example.test' });
  assert.equal(f.status, 'pass');
});

test('fail: SPF fails and nothing aligned signed it; the policy is in the details', async () => {
  // A valid signature by an unrelated domain does not help.
  const signed = signByHand(fromMsg('alice@example.test'), { d: 'other.test', s: 'k', key });
  const f = await scanWith(sc, signed, { sender: 'alice@example.test', clientIp: BAD_IP });
  assert.deepEqual(results(f, 'dkim'), ['pass']);
  assert.deepEqual(results(f, 'dmarc'), ['fail']);
  assert.equal(f.status, 'fail');
  assert.equal(dm(f).policy, 'reject');
  assert.equal(dmarcPolicyOf([f]), 'reject');
  assert.deepEqual(detail<{ aligned: boolean }[]>(f, 'dkim').map((d) => d.aligned), [false]);
  assert.match(String(f.details?.authResults), /; dmarc=fail \(p=REJECT dis=REJECT\) header\.from=example\.test; /);
});

test('SPF alignment: relaxed accepts a subdomain of the From domain, strict (aspf=s) does not', async () => {
  const relaxed = await scanWith(sc, fromMsg('alice@example.test'), { sender: 'bounce@mail.example.test', clientIp: GOOD_IP });
  assert.deepEqual(results(relaxed, 'dmarc'), ['pass']);
  assert.equal(dm(relaxed).aspf, 'r');
  const strict = await scanWith(sc, fromMsg('alice@strict.test'), { sender: 'bounce@mail.strict.test', clientIp: GOOD_IP });
  assert.deepEqual(results(strict, 'spf'), ['pass']);
  assert.deepEqual(results(strict, 'dmarc'), ['fail'], 'mailauth would call this aligned');
  assert.equal(dm(strict).aspf, 's');
  assert.deepEqual(results(await scanWith(sc, fromMsg('alice@strict.test'), { sender: 'bounce@strict.test', clientIp: GOOD_IP }), 'dmarc'), ['pass']);
});

test('DKIM alignment: relaxed accepts a subdomain signature, strict (adkim=s) needs the exact domain', async () => {
  const relaxed = await scanWith(sc, signByHand(fromMsg('alice@example.test'), { d: 'mail.example.test', s: 'k', key }), { clientIp: BAD_IP });
  assert.deepEqual(results(relaxed, 'dmarc'), ['pass']);
  const strictSub = await scanWith(sc, signByHand(fromMsg('alice@strict.test'), { d: 'mail.strict.test', s: 'k', key }), { sender: 'alice@strict.test', clientIp: BAD_IP });
  assert.deepEqual(results(strictSub, 'dkim'), ['pass']);
  assert.deepEqual(results(strictSub, 'dmarc'), ['fail']);
  const strictExact = await scanWith(sc, signByHand(fromMsg('alice@strict.test'), { d: 'strict.test', s: 'k', key }), { sender: 'alice@strict.test', clientIp: BAD_IP });
  assert.deepEqual(results(strictExact, 'dmarc'), ['pass']);
});

test('each published policy, p=none, p=quarantine and p=reject, is what details.dmarc.policy says', async () => {
  for (const [d, p] of [['pnone.test', 'none'], ['pquar.test', 'quarantine'], ['preject.test', 'reject']] as const) {
    const f = await scanWith(sc, fromMsg(`alice@${d}`), { sender: `alice@${d}`, clientIp: BAD_IP });
    assert.deepEqual(results(f, 'dmarc'), ['fail'], d);
    assert.equal(dm(f).policy, p);
    assert.equal(dm(f).p, p);
    assert.equal(dmarcPolicyOf([f]), p);
    assert.match(String(f.details?.authResults), new RegExp(`dmarc=fail \\(p=${p.toUpperCase()} dis=${p.toUpperCase()}\\)`));
  }
});

test('sp= applies to a subdomain without its own record; a subdomain with a record uses its own p=', async () => {
  const sub = await scanWith(sc, fromMsg('alice@sub.parent.test'), { sender: 'alice@sub.parent.test', clientIp: BAD_IP });
  assert.deepEqual(results(sub, 'dmarc'), ['fail']);
  assert.equal(dm(sub).recordDomain, 'parent.test');
  assert.equal(dm(sub).policy, 'quarantine');
  const top = await scanWith(sc, fromMsg('alice@parent.test'), { sender: 'alice@parent.test', clientIp: BAD_IP });
  assert.equal(dm(top).policy, 'reject');
  const own = await scanWith(sc, fromMsg('alice@own.parent.test'), { sender: 'alice@own.parent.test', clientIp: BAD_IP });
  assert.equal(dm(own).recordDomain, 'own.parent.test');
  assert.equal(dm(own).policy, 'none');
});

test('pct: a message left out of the sample gets the next weaker policy; pct=100 takes every message', async () => {
  const out = await scanWith(sc, fromMsg('alice@pct0.test'), { sender: 'alice@pct0.test', clientIp: BAD_IP });
  assert.deepEqual(results(out, 'dmarc'), ['fail']);
  assert.equal(dm(out).publishedPolicy, 'reject');
  assert.equal(dm(out).policy, 'quarantine');
  assert.equal(dm(out).sampledOut, true);
  const all = await scanWith(sc, fromMsg('alice@pct100.test'), { sender: 'alice@pct100.test', clientIp: BAD_IP });
  assert.equal(dm(all).policy, 'reject');
  assert.equal(dm(all).sampledOut, undefined);
});

test('temperror: the DMARC record lookup times out', async () => {
  const f = await scanWith(sc, fromMsg('alice@slowdmarc.test'), { sender: 'alice@slowdmarc.test', clientIp: BAD_IP });
  assert.deepEqual(results(f, 'dmarc'), ['temperror']);
  assert.equal(f.status, 'temperror');
});

test('permerror: an invalid p= (a valid rua= turns it into p=none), several DMARC records', async () => {
  const bad = await scanWith(sc, fromMsg('alice@badp.test'), { clientIp: BAD_IP });
  assert.deepEqual(results(bad, 'dmarc'), ['permerror']);
  assert.match(String(dm(bad).reason), /p= missing or invalid/);
  const rua = await scanWith(sc, fromMsg('alice@badp-rua.test'), { clientIp: BAD_IP });
  assert.deepEqual(results(rua, 'dmarc'), ['fail']);
  assert.equal(dm(rua).policy, 'none');
  assert.deepEqual(results(await scanWith(sc, fromMsg('alice@two.test'), { clientIp: BAD_IP }), 'dmarc'), ['permerror']);
});

test('none: no DMARC record; the finding status is then the worst of SPF and DKIM', async () => {
  const f = await scanWith(sc, fromMsg('alice@notdmarc.test'), { sender: 'alice@example.test', clientIp: BAD_IP });
  assert.deepEqual(results(f, 'dmarc'), ['none']);
  assert.equal(f.status, 'fail', 'SPF fail, DKIM none');
  assert.equal(dmarcPolicyOf([f]), undefined);
  const nofrom = await scanWith(sc, message().replace(/^From: .*\r\n/m, ''), { clientIp: GOOD_IP });
  assert.deepEqual(results(nofrom, 'dmarc'), ['none']);
  assert.equal(nofrom.status, 'none', 'SPF pass, DKIM none');
});

test('several From domains: each is evaluated and the worst counts', async () => {
  const f = await scanWith(sc, message({ from: 'a@pnone.test, b@preject.test' }), { sender: 'a@pnone.test', clientIp: GOOD_IP });
  assert.deepEqual(results(f, 'dmarc'), ['fail'], 'pnone.test passes through SPF, preject.test fails');
  assert.equal(dm(f).domain, 'preject.test');
  assert.equal(dm(f).policy, 'reject');
  const two = await scanWith(sc, message({ extra: ['From: Mallory <ceo@preject.test>'] }), { sender: 'alice@example.test', clientIp: GOOD_IP });
  assert.deepEqual(results(two, 'dmarc'), ['fail'], 'a second From field is not ignored');
});

test('signatures that must not count for DMARC: l= leaving the body partly unsigned, From not signed', async () => {
  const partial = signByHand(fromMsg('alice@example.test'), { d: 'example.test', s: 'k', key, l: 5 });
  const f = await scanWith(sc, partial.replace('Alice\r\n', 'Alice\r\n\r\nPS: pay invoice 4711 today.\r\n'), { clientIp: BAD_IP });
  assert.deepEqual(results(f, 'dkim'), ['pass']);
  assert.deepEqual(results(f, 'dmarc'), ['fail']);
  const unsignedFrom = signByHand(fromMsg('alice@example.test'), { d: 'example.test', s: 'k', key, h: ['subject', 'date'] });
  const g = await scanWith(sc, unsignedFrom, { clientIp: BAD_IP });
  assert.deepEqual(results(g, 'dkim'), ['permerror']);
  assert.deepEqual(results(g, 'dmarc'), ['fail']);
});
