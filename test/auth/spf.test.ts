// SPF through the auth scanner and a real DNS server: every result, the matched mechanism, and the RFC 7208
// §4.6.4 limits (10 DNS-querying terms over nested records, 2 void lookups, 10 MX hosts), proved by what the
// server was asked.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ptrName, startDnsServer, type DnsServer, type DnsZone } from '../helpers/dns-server.ts';
import type { AuthScanner } from '../../src/scan/auth/scanner.ts';
import { detail, message, results, scanner, scanWith } from './helpers.ts';

const IP = '192.0.2.10';
const spf = (record: string) => ({ txt: [record] });
const includes = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `include:${prefix}${i + 1}.test`).join(' ');

const zone: DnsZone = {
  'pass.test': spf('v=spf1 ip4:192.0.2.0/24 -all'),
  'fail.test': spf('v=spf1 ip4:198.51.100.0/24 -all'),
  'soft.test': spf('v=spf1 ip4:198.51.100.0/24 ~all'),
  'neutral.test': spf('v=spf1 ?all'),
  'nomatch.test': spf('v=spf1 ip4:198.51.100.0/24'),
  'norecord.test': { txt: ['google-site-verification=abc'] },
  'slow.test': 'TIMEOUT',
  'inc-slow.test': spf('v=spf1 include:slow-inner.test ip4:192.0.2.0/24 -all'),
  'slow-inner.test': 'TIMEOUT',
  // mailauth's own resolver wrapper would skip an include whose lookup fails without a timeout code.
  'inc-servfail.test': spf('v=spf1 include:servfail.test ip4:192.0.2.0/24 -all'),
  'servfail.test': 'SERVFAIL',
  'syntax.test': spf('v=spf1 ip4:192.0.2.0/33 -all'),
  'unknown-mech.test': spf('v=spf1 frobnicate:x.test -all'),
  'two.test': { txt: ['v=spf1 -all', 'v=spf1 +all'] },
  'inc-none.test': spf('v=spf1 include:norecord.test -all'),
  // 10 terms are allowed, the 11th is a permerror.
  'ten.test': spf(`v=spf1 ${includes(10, 'q')} ip4:192.0.2.0/24 -all`),
  'eleven.test': spf(`v=spf1 ${includes(11, 'q')} ip4:192.0.2.0/24 -all`),
  ...Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`q${i + 1}.test`, spf('v=spf1 ?all')])),
  // Nested: n1 → n2 → … → n12, each record one include deep; n12 lets the client in.
  ...Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`n${i + 1}.test`, spf(i < 11 ? `v=spf1 include:n${i + 2}.test -all` : 'v=spf1 ip4:192.0.2.0/24 -all')])),
  // Every kind of DNS term counts: a, mx, exists, ptr, include, redirect (none of them matches the client;
  // `exists` can only miss by being void, so there are two of those).
  'mixed.test': spf('v=spf1 a:h.test mx:m.test exists:nx1.test ptr:x.test a:h.test mx:m.test exists:nx2.test include:q1.test a:h.test mx:m.test redirect=pass.test'),
  'mixed10.test': spf('v=spf1 a:h.test mx:m.test exists:nx1.test ptr:x.test a:h.test mx:m.test exists:nx2.test include:q1.test a:h.test redirect=pass.test'),
  'h.test': { a: ['198.51.100.1'] },
  'm.test': { mx: [{ exchange: 'h.test', priority: 10 }] },
  [ptrName(IP)]: { ptr: ['host.elsewhere.test'] },
  // Void lookups: two are allowed, the third is a permerror; a host with only AAAA is not void for an IPv4 client.
  'void2.test': spf('v=spf1 a:nx1.test a:nx2.test ip4:192.0.2.0/24 -all'),
  'void3.test': spf('v=spf1 a:nx1.test a:nx2.test a:nx3.test ip4:192.0.2.0/24 -all'),
  'dual.test': spf('v=spf1 a:v6a.test a:v6b.test a:v6c.test ip4:192.0.2.0/24 -all'),
  'v6a.test': { aaaa: ['2001:db8::1'] }, 'v6b.test': { aaaa: ['2001:db8::2'] }, 'v6c.test': { aaaa: ['2001:db8::3'] },
  // Mechanisms and where they matched.
  'a.test': { txt: ['v=spf1 a -all'], a: [IP] },
  'mx.test': { txt: ['v=spf1 mx -all'], mx: [{ exchange: 'mail.mx.test', priority: 10 }] },
  'mail.mx.test': { a: [IP] },
  'deadmx.test': { txt: ['v=spf1 mx ip4:192.0.2.0/24 -all'], mx: [1, 2, 3].map((i) => ({ exchange: `dead${i}.deadmx.test`, priority: i })) },
  'bigmx.test': { txt: ['v=spf1 mx -all'], mx: Array.from({ length: 11 }, (_, i) => ({ exchange: `mx${i}.bigmx.test`, priority: i })) },
  ...Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`mx${i}.bigmx.test`, { a: ['198.51.100.9'] }])),
  'inc.test': spf('v=spf1 include:_spf.provider.test -all'),
  '_spf.provider.test': spf('v=spf1 ip4:192.0.2.0/24 -all'),
  'redir.test': spf('v=spf1 redirect=pass.test'),
  'macro.test': spf('v=spf1 exists:%{ir}._ip.macro.test -all'),
  '10.2.0.192._ip.macro.test': { a: ['127.0.0.2'] },
  'v6.test': spf('v=spf1 ip6:2001:db8::/32 -all'),
  'helo.test': spf('v=spf1 ip4:192.0.2.0/24 -all'),
};

let dns: DnsServer;
let sc: AuthScanner;
before(async () => {
  dns = await startDnsServer(zone);
  sc = await scanner(dns, { dnsTimeoutMs: 300 });
});
after(() => dns.close());

const MSG = message();
const check = (domain: string, env: Record<string, unknown> = {}) => scanWith(sc, MSG, { sender: `alice@${domain}`, ...env });
const spfOf = (f: Awaited<ReturnType<typeof check>>) => detail<{ result: string; mechanism?: string; reason?: string; lookups: { terms: number; void: number }; identity: string; domain: string }>(f, 'spf');

test('pass, fail, softfail, neutral: the result and the mechanism that decided it', async () => {
  const pass = await check('pass.test');
  assert.deepEqual(results(pass, 'spf'), ['pass']);
  assert.equal(spfOf(pass).mechanism, 'ip4:192.0.2.0/24');
  assert.match(String(pass.details?.authResults), /^mx\.moat\.test; spf=pass \(192\.0\.2\.10 permitted by ip4:192\.0\.2\.0\/24\) smtp\.mailfrom=alice@pass\.test; /);

  const fail = await check('fail.test');
  assert.deepEqual(results(fail, 'spf'), ['fail']);
  assert.equal(spfOf(fail).mechanism, '-all');
  assert.deepEqual(results(await check('soft.test'), 'spf'), ['softfail']);
  assert.deepEqual(results(await check('neutral.test'), 'spf'), ['neutral']);
  const nomatch = await check('nomatch.test');
  assert.deepEqual(results(nomatch, 'spf'), ['neutral'], 'no mechanism matched and no all: the default is neutral');
});

test('none: no SPF record, or no such domain', async () => {
  for (const d of ['norecord.test', 'nowhere.test']) {
    const f = await check(d);
    assert.deepEqual(results(f, 'spf'), ['none'], d);
    assert.equal(f.status, 'none', 'no DMARC record either: the worst of SPF and DKIM (none, none)');
  }
});

test('temperror: the record lookup times out, or a lookup inside an include times out or fails', async () => {
  const slow = await check('slow.test');
  assert.deepEqual(results(slow, 'spf'), ['temperror']);
  assert.match(String(spfOf(slow).reason), /DNS failure for TXT slow\.test: ETIMEOUT/);
  assert.deepEqual(results(await check('inc-slow.test'), 'spf'), ['temperror']);
  const sf = await check('inc-servfail.test');
  assert.deepEqual(results(sf, 'spf'), ['temperror'], 'the failed include is not skipped (the ip4 after it would pass)');
  assert.match(String(spfOf(sf).reason), /ESERVFAIL/);
});

test('permerror: syntax errors, several records, an include without a record', async () => {
  for (const d of ['syntax.test', 'unknown-mech.test', 'two.test', 'inc-none.test']) {
    assert.deepEqual(results(await check(d), 'spf'), ['permerror'], d);
  }
});

test('10 DNS-querying terms are allowed; the 11th is a permerror and is never asked', async () => {
  dns.queries.length = 0;
  const ten = await check('ten.test');
  assert.deepEqual(results(ten, 'spf'), ['pass']);
  assert.equal(spfOf(ten).lookups.terms, 10);
  assert.ok(dns.queries.includes('TXT q10.test'));

  dns.queries.length = 0;
  const eleven = await check('eleven.test');
  assert.deepEqual(results(eleven, 'spf'), ['permerror']);
  assert.match(String(spfOf(eleven).reason), /more than 10 DNS-querying terms/);
  assert.ok(dns.queries.includes('TXT q10.test'));
  assert.ok(!dns.queries.includes('TXT q11.test'), 'the 11th term is not looked up');
});

test('the term limit counts nested records, and every kind of term (a, mx, exists, ptr, include, redirect)', async () => {
  const nine = await check('n2.test');
  assert.deepEqual(results(nine, 'spf'), ['pass'], 'n2 → n12: 10 nested includes');
  assert.equal(spfOf(nine).mechanism, 'include:n3.test > include:n4.test > include:n5.test > include:n6.test > include:n7.test > include:n8.test > include:n9.test > include:n10.test > include:n11.test > include:n12.test > ip4:192.0.2.0/24');
  const deep = await check('n1.test');
  assert.deepEqual(results(deep, 'spf'), ['permerror'], 'n1 → n12: 11 nested includes');
  assert.match(String(spfOf(deep).reason), /more than 10 DNS-querying terms/);

  const ten = await check('mixed10.test');
  assert.deepEqual(results(ten, 'spf'), ['pass'], '9 terms + redirect = 10');
  assert.deepEqual(spfOf(ten).lookups, { terms: 10, void: 2 });
  assert.deepEqual(results(await check('mixed.test'), 'spf'), ['permerror'], '10 terms + redirect = 11');
});

test('two void lookups are allowed, the third is a permerror; a host with only AAAA records is not void', async () => {
  const two = await check('void2.test');
  assert.deepEqual(results(two, 'spf'), ['pass']);
  assert.equal(spfOf(two).lookups.void, 2);
  const three = await check('void3.test');
  assert.deepEqual(results(three, 'spf'), ['permerror']);
  assert.match(String(spfOf(three).reason), /more than 2 void lookups/);
  const dual = await check('dual.test');
  assert.deepEqual(results(dual, 'spf'), ['pass']);
  assert.equal(spfOf(dual).lookups.void, 0);
});

test('a, mx, include, redirect, macros and IPv6: what matched is reported', async () => {
  assert.equal(spfOf(await check('a.test')).mechanism, 'a:a.test');
  assert.equal(spfOf(await check('mx.test')).mechanism, 'mx:mail.mx.test');
  assert.equal(spfOf(await check('inc.test')).mechanism, 'include:_spf.provider.test > ip4:192.0.2.0/24');
  const redir = await check('redir.test');
  assert.deepEqual(results(redir, 'spf'), ['pass']);
  assert.equal(spfOf(redir).mechanism, 'ip4:192.0.2.0/24');
  const macro = await check('macro.test');
  assert.deepEqual(results(macro, 'spf'), ['pass']);
  assert.equal(spfOf(macro).mechanism, 'exists:10.2.0.192._ip.macro.test');
  assert.deepEqual(results(await check('v6.test', { clientIp: '2001:db8::10' }), 'spf'), ['pass']);
  assert.deepEqual(results(await check('v6.test', { clientIp: '2001:db9::10' }), 'spf'), ['fail']);
});

test('an mx term looks at 10 hosts at most: more is a permerror; hosts that do not exist are not void terms', async () => {
  const f = await check('bigmx.test');
  assert.deepEqual(results(f, 'spf'), ['permerror']);
  assert.match(String(spfOf(f).reason), /more than 10 address lookups for one mx term/);
  // mailauth's own wrapper counts the three dead MX hosts as void lookups (permerror); RFC 7208 counts terms.
  const dead = await check('deadmx.test');
  assert.deepEqual(results(dead, 'spf'), ['pass']);
  assert.deepEqual(spfOf(dead).lookups, { terms: 1, void: 0 });
});

test('the null sender is checked with the HELO identity', async () => {
  const f = await scanWith(sc, MSG, { sender: '', helo: 'helo.test' });
  assert.deepEqual(results(f, 'spf'), ['pass']);
  assert.equal(spfOf(f).identity, 'helo');
  assert.equal(spfOf(f).domain, 'helo.test');
  assert.match(String(f.details?.authResults), /spf=pass \([^)]*\) smtp\.helo=helo\.test;/);
});

test('authenticated, trusted-network and private-address clients: SPF none with the reason, no SPF query', async () => {
  const trusting = await scanner(dns, { trustedNetworks: ['198.51.100.0/24'] });
  const cases: [Record<string, unknown>, RegExp, string][] = [
    [{ authUser: 'alice' }, /SMTP AUTH/, 'authenticated'],
    [{ clientIp: '198.51.100.7' }, /trusted network/, 'trusted_network'],
    [{ clientIp: '10.1.2.3' }, /loopback or private/, 'private_address'],
    [{ clientIp: '::1' }, /loopback or private/, 'private_address'],
  ];
  for (const [env, reason, trusted] of cases) {
    dns.queries.length = 0;
    const f = await scanWith(trusting, MSG, { sender: 'alice@fail.test', ...env });
    assert.deepEqual(results(f, 'spf'), ['none'], JSON.stringify(env));
    assert.match(String(spfOf(f).reason), reason);
    assert.equal(detail<{ trusted?: string }>(f, 'client').trusted, trusted);
    assert.ok(!dns.queries.includes('TXT fail.test'), 'SPF not asked');
    assert.deepEqual(results(f, 'dmarc'), ['none'], 'nor DMARC');
  }
});
