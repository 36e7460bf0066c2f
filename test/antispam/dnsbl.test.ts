// DNS blocklists against a real DNS server on loopback (test/helpers/dns-server.ts), through the system resolver.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDnsServer, type DnsServer, type DnsZone } from '../helpers/dns-server.ts';
import { systemResolver, type Resolver } from '../../src/platform/resolver.ts';
import {
  DnsCache, dnsblConfig, dnsblSignals, dnsblSubjectIp, firstUntrustedHop, interpretAnswers, receivedFromIp, reverseIp,
  type DnsblConfigInput, type DnsblInput,
} from '../../src/scan/antispam/dnsbl.ts';
import { extractUrls } from '../../src/scan/urls.ts';
import { rate } from '../../src/scan/antispam/types.ts';

const LISTED = '11.22.33.44';
const CLEAN = '11.22.33.45';
const V6 = '2a00:1450:4001::1a';
const rev = (ip: string) => reverseIp(ip) as string;

const zone: DnsZone = {
  // An IP list with per-code meanings (Spamhaus ZEN style).
  [`${rev(LISTED)}.zen.test`]: { a: ['127.0.0.2', '127.0.0.11'] },
  [`${rev(V6)}.zen.test`]: { a: ['127.0.0.4'] },
  [`${rev('11.22.33.46')}.zen.test`]: { a: ['127.0.0.9'] },
  [`${rev('11.22.33.47')}.zen.test`]: { a: ['127.255.255.254'] },
  [`${rev('11.22.33.48')}.zen.test`]: { a: ['127.0.0.1'] },
  [`${rev('11.22.33.49')}.zen.test`]: { a: ['198.51.100.7'] },
  [`${rev('11.22.33.50')}.zen.test`]: { a: ['127.255.255.255', '127.0.0.2'] },
  [`${rev('11.22.33.51')}.zen.test`]: 'SERVFAIL',
  // A plain IP list (any answer = listed) and one that never answers.
  [`${rev(LISTED)}.plain.test`]: { a: ['127.0.0.2'] },
  [`${rev('11.22.33.60')}.plain.test`]: { a: ['127.0.0.2'] },
  '*.slow.test': 'TIMEOUT',
  // URI lists: a bitmask list (multi.surbl.org style) and a code list (DBL style).
  'listed-shop.com.multi.test': { a: ['127.0.0.72'] },
  'phish-bank.com.multi.test': { a: ['127.0.0.8'] },
  'odd-bits.com.multi.test': { a: ['127.0.0.34'] },
  'blocked-me.com.multi.test': { a: ['127.0.0.1'] },
  [`${rev('11.22.33.70')}.multi.test`]: { a: ['127.0.0.16'] },
  'listed-shop.com.dbl.test': { a: ['127.0.1.2'] },
  'other-spam.com.dbl.test': { a: ['127.0.1.2'] },
  [`${rev('11.22.33.70')}.dbl.test`]: { a: ['127.0.1.255'] },
};

const ZEN = {
  zone: 'zen.test', type: 'ip', weight: 40, id: 'ZEN',
  codes: {
    '127.0.0.2': { weight: 50, description: 'Spam source (SBL)', id: 'SBL' },
    '127.0.0.4': { weight: 45, description: 'Exploited host (XBL)', id: 'XBL' },
    '127.0.0.11': { weight: 15, description: 'Policy: end-user range (PBL)', id: 'PBL' },
  },
} as const;
const PLAIN = { zone: 'plain.test', type: 'ip', weight: 20 } as const;
const MULTI = {
  zone: 'multi.test', type: 'uri', weight: 30, bitmask: true,
  codes: {
    '127.0.0.8': { weight: 45, description: 'Phishing domain', id: 'PH' },
    '127.0.0.16': { weight: 45, description: 'Malware domain', id: 'MW' },
    '127.0.0.64': { weight: 40, description: 'Spam domain', id: 'ABUSE' },
  },
} as const;
const DBL = {
  zone: 'dbl.test', type: 'uri', weight: 35, id: 'DBL',
  codes: { '127.0.1.2': { description: 'Spam domain', id: 'SPAM' } },
  errorCodes: { '127.0.1.255': 'IP queries prohibited' },
} as const;

let server: DnsServer;
let resolver: Resolver;
before(async () => {
  server = await startDnsServer(zone);
  resolver = systemResolver({ servers: [server.server], timeoutMs: 2_000 });
});
after(() => server.close());

const input = (over: Partial<DnsblInput> = {}): DnsblInput => ({ clientIp: CLEAN, receivedHeaders: [], urls: [], ...over });
const never = () => new AbortController().signal;
/** A fresh cache per call unless given, so tests do not see each other's answers. */
const check = (inp: DnsblInput, cfg: DnsblConfigInput, cache = new DnsCache()) => dnsblSignals(inp, cfg, resolver, never(), { cache });
const ids = (r: { signals: { id: string }[] }) => r.signals.map((s) => s.id);

test('no zones configured: nothing is queried', async () => {
  const before = server.queries.length;
  const r = await check(input({ clientIp: LISTED, urls: extractUrls('http://listed-shop.com/', '') }), {});
  assert.deepEqual(r, { signals: [], errors: [], queried: 0, cached: 0, ip: null });
  assert.equal(server.queries.length, before);
});

test('a listed IP gives one signal per return code with the code\'s weight; a clean IP gives none', async () => {
  const cfg = { zones: [ZEN, PLAIN] };
  const r = await check(input({ clientIp: LISTED }), cfg);
  assert.deepEqual(r.signals, [
    { id: 'DNSBL_PLAIN_TEST', weight: 20, description: 'Listed on plain.test', detail: `${LISTED} 127.0.0.2` },
    { id: 'DNSBL_ZEN_PBL', weight: 15, description: 'Policy: end-user range (PBL)', detail: `${LISTED} 127.0.0.11` },
    { id: 'DNSBL_ZEN_SBL', weight: 50, description: 'Spam source (SBL)', detail: `${LISTED} 127.0.0.2` },
  ]);
  assert.equal(rate(r.signals), 85);
  assert.deepEqual([r.errors, r.queried, r.ip], [[], 2, LISTED]);
  assert.ok(server.queries.includes(`A 44.33.22.11.zen.test`), 'reversed octets under the zone');

  const clean = await check(input({ clientIp: CLEAN }), cfg);
  assert.deepEqual([clean.signals, clean.errors, clean.queried], [[], [], 2]);
});

test('an IPv6 client is queried by reversed nibbles (unless the zone is IPv4-only); IPv4-mapped addresses as IPv4', async () => {
  const r = await check(input({ clientIp: V6 }), { zones: [ZEN, { ...PLAIN, ipv6: false }] });
  assert.deepEqual(ids(r), ['DNSBL_ZEN_XBL']);
  assert.equal(r.queried, 1);
  assert.ok(server.queries.includes(`A a.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.4.0.5.4.1.0.0.a.2.zen.test`));
  const mapped = await check(input({ clientIp: `::ffff:${LISTED}` }), { zones: [PLAIN] });
  assert.deepEqual([ids(mapped), mapped.ip], [['DNSBL_PLAIN_TEST'], LISTED]);
});

test('an unknown return code counts with the zone weight under its own id', async () => {
  const r = await check(input({ clientIp: '11.22.33.46' }), { zones: [ZEN] });
  assert.deepEqual(r.signals, [{ id: 'DNSBL_ZEN_127_0_0_9', weight: 40, description: 'Listed on zen.test', detail: '11.22.33.46 127.0.0.9' }]);
});

test('refused/over-quota codes, 127.0.0.1 and answers outside 127/8 are errors, never hits', async () => {
  for (const [ip, re] of [['11.22.33.47', /query refused 127\.255\.255\.254 \(query through a public\/open resolver refused\)/],
    ['11.22.33.48', /answered 127\.0\.0\.1/], ['11.22.33.49', /outside 127\.0\.0\.0\/8/]] as const) {
    const r = await check(input({ clientIp: ip }), { zones: [ZEN] });
    assert.deepEqual(r.signals, [], ip);
    assert.equal(r.errors.length, 1, ip);
    assert.match(r.errors[0], re);
  }
  // A refusal next to a real code: the real code still counts.
  const mixed = await check(input({ clientIp: '11.22.33.50' }), { zones: [ZEN] });
  assert.deepEqual(ids(mixed), ['DNSBL_ZEN_SBL']);
  assert.match(mixed.errors[0], /excessive number of queries/);
});

test('SERVFAIL and timeouts are errors, never hits, and are not cached', async () => {
  const cache = new DnsCache();
  const slow = { zone: 'slow.test', type: 'ip', weight: 50 } as const;
  // The resolver gives up by itself soon after the lookup's own bound (100 ms), so nothing outlives the test.
  const quick = systemResolver({ servers: [server.server], timeoutMs: 150 });
  const r = await dnsblSignals(input({ clientIp: '11.22.33.51' }), { zones: [ZEN, slow], timeoutMs: 100 }, quick, never(), { cache });
  assert.deepEqual(r.signals, []);
  assert.deepEqual(r.errors, ['zen.test: ESERVFAIL for 11.22.33.51', 'slow.test: timeout for 11.22.33.51']);
  assert.equal(r.queried, 2);
  assert.equal(cache.size, 0);
});

test('an aborted scan stops: no hits, an error detail', async () => {
  const ac = new AbortController();
  ac.abort();
  const r = await dnsblSignals(input({ clientIp: LISTED }), { zones: [ZEN] }, resolver, ac.signal, { cache: new DnsCache() });
  assert.deepEqual(r.signals, []);
  assert.ok(r.errors.some((e) => /aborted/.test(e)));
});

test('authenticated clients skip the IP lists; URI lists still run', async () => {
  const r = await check(input({ clientIp: LISTED, authenticated: true, urls: extractUrls('http://listed-shop.com/', '') }), { zones: [ZEN, DBL] });
  assert.deepEqual([ids(r), r.queried, r.ip], [['URIBL_DBL_SPAM'], 1, null]);
});

test('loopback, private, link-local, CGNAT and other local client IPs are never queried', async () => {
  const before = server.queries.length;
  for (const ip of ['127.0.0.1', '10.1.2.3', '172.16.0.9', '192.168.1.1', '::1', 'fe80::1', 'fd00::5', '100.64.0.1', '169.254.0.1', '0.0.0.0', '224.0.0.1', 'garbage', '']) {
    const r = await check(input({ clientIp: ip }), { zones: [ZEN] });
    assert.deepEqual([r.signals, r.queried, r.ip], [[], 0, null], ip);
  }
  assert.equal(server.queries.length, before);
});

test('the cache answers repeated lookups (positive and negative) until the TTL passes', async () => {
  let now = 1_000_000;
  const cache = new DnsCache({ now: () => now });
  const cfg = { zones: [PLAIN], cacheTtlSeconds: 60, negativeCacheTtlSeconds: 30 };
  const count = (ip: string) => server.queries.filter((q) => q === `A ${rev(ip)}.plain.test`).length;
  const a = await check(input({ clientIp: '11.22.33.60' }), cfg, cache);
  const b = await check(input({ clientIp: '11.22.33.61' }), cfg, cache);
  assert.deepEqual([ids(a), a.queried, ids(b), b.queried], [['DNSBL_PLAIN_TEST'], 1, [], 1]);
  now += 20_000;
  const a2 = await check(input({ clientIp: '11.22.33.60' }), cfg, cache);
  const b2 = await check(input({ clientIp: '11.22.33.61' }), cfg, cache);
  assert.deepEqual([ids(a2), a2.queried, a2.cached, b2.queried, b2.cached], [['DNSBL_PLAIN_TEST'], 0, 1, 0, 1]);
  assert.deepEqual([count('11.22.33.60'), count('11.22.33.61')], [1, 1]);
  now += 20_000; // 40 s: the negative answer expired, the positive one not yet
  const a3 = await check(input({ clientIp: '11.22.33.60' }), cfg, cache);
  const b3 = await check(input({ clientIp: '11.22.33.61' }), cfg, cache);
  assert.deepEqual([a3.cached, b3.queried], [1, 1]);
  assert.deepEqual([count('11.22.33.60'), count('11.22.33.61')], [1, 2]);
});

test('the default cache is shared per resolver, and concurrent identical lookups share one query', async () => {
  const res = systemResolver({ servers: [server.server], timeoutMs: 2_000 });
  const name = `A ${rev('11.22.33.62')}.plain.test`;
  const [x, y] = await Promise.all([1, 2].map(() => dnsblSignals(input({ clientIp: '11.22.33.62' }), { zones: [PLAIN] }, res, never())));
  const z = await dnsblSignals(input({ clientIp: '11.22.33.62' }), { zones: [PLAIN] }, res, never());
  assert.equal(server.queries.filter((q) => q === name).length, 1);
  assert.deepEqual([x.errors, y.errors, z.cached], [[], [], 1]);
});

test('lookups run in parallel, at most `concurrency` at a time', async () => {
  let inFlight = 0;
  let peak = 0;
  const counting: Resolver = {
    ...resolver,
    resolve4: async (n) => {
      inFlight++; peak = Math.max(peak, inFlight);
      try { return await resolver.resolve4(n); } finally { inFlight--; }
    },
  };
  const urls = Array.from({ length: 12 }, (_, i) => ({ host: `www.d${i}-shop.com`, domain: `d${i}-shop.com` }));
  const r = await dnsblSignals(input({ urls }), { zones: [DBL], concurrency: 3 }, counting, never(), { cache: new DnsCache() });
  assert.equal(r.queried, 12);
  assert.ok(peak <= 3 && peak >= 2, `peak ${peak}`);
});

test('Received hops: the client when untrusted; behind trusted relays, the first untrusted hop', async () => {
  const received = [
    'from gw.corp.example (gw.corp.example [10.0.0.7]) by moat.corp.example with ESMTP id 1; Mon, 1 Jan 2024 00:00:00 +0000',
    `from edge.corp.example (edge.corp.example [198.18.0.1]) by gw.corp.example; Mon, 1 Jan 2024 00:00:00 +0000`,
    `from mail.sender.example (mail.sender.example [${LISTED}]) by edge.corp.example (Postfix) with ESMTPS id X`,
    'from forged.example (forged.example [11.22.33.99]) by mail.sender.example',
  ];
  const trusted = ['10.0.0.0/8', '198.18.0.0/15'];
  assert.equal(firstUntrustedHop(received, trusted), LISTED);
  assert.equal(dnsblSubjectIp('10.0.0.7', received, trusted), LISTED);
  assert.equal(dnsblSubjectIp(CLEAN, received, trusted), CLEAN, 'an untrusted client is the subject; its headers are not believed');
  assert.equal(dnsblSubjectIp('10.0.0.7', received, []), null, 'a private, untrusted client is never queried');
  assert.equal(dnsblSubjectIp('127.0.0.1', received.slice(2), []), LISTED, 'loopback is always trusted');
  assert.equal(dnsblSubjectIp('10.0.0.7', received.slice(0, 1), ['10.0.0.0/8']), null, 'all hops trusted');
  const r = await check(input({ clientIp: '10.0.0.7', receivedHeaders: received }), { zones: [PLAIN], trustedRelays: trusted });
  assert.deepEqual([ids(r), r.ip], [['DNSBL_PLAIN_TEST'], LISTED]);
});

test('receivedFromIp reads the TCP-info comment of common MTAs, not the client-chosen HELO', () => {
  const cases: [string, string | null][] = [
    ['from mail.example.com (mail.example.com [11.22.33.44]) by mx.example.net (Postfix) with ESMTPS id ABC', '11.22.33.44'],
    ['from [10.9.9.9] (unknown [11.22.33.44]) by mx.example.net (Postfix)', '11.22.33.44'],
    ['from host.example ([11.22.33.44]:51234 helo=[10.0.0.1]) by mx.example.net with esmtp (Exim 4.96)', '11.22.33.44'],
    ['from [11.22.33.44] (port=5123 helo=fake.example) by mx.example.net with esmtp (Exim 4.96)', '11.22.33.44'],
    ['from unknown (HELO 10.1.1.1) (11.22.33.44) by mx.example.net with SMTP; 1 Jan 2024', '11.22.33.44'],
    ['from EX01.corp.example (10.20.30.40) by EX02.corp.example (10.20.30.41) with Microsoft SMTP Server', '10.20.30.40'],
    ['from helo.example (rdns.example [11.22.33.44] (may be forged)) by mx.example.net (8.17/8.17)', '11.22.33.44'],
    ['from mail.example.com (mail.example.com [IPv6:2a00:1450:4001::1a]) by mx.example.net (Postfix)', '2a00:1450:4001::1a'],
    ['from mail.example.com (mail.example.com [IPv6:::ffff:11.22.33.44]) by mx', '11.22.33.44'],
    ['by mx.example.net with local id 1', null],
    ['from localhost by mx (Postfix, from userid 0)', null],
    ['from x (x [999.1.1.1]) by y', null],
    ['from x (x [011.22.33.44]) by y', '11.22.33.44'],
    ['from (((((( [11.22.33.44]', '11.22.33.44'],
  ];
  for (const [h, want] of cases) assert.equal(receivedFromIp(h), want, h);
  assert.equal(receivedFromIp(`from ${'('.repeat(100_000)}`), null);
});

test('URI lists: registrable domains, bitmask bits with their own weights, and IP-literal URLs', async () => {
  const urls = extractUrls(
    'Buy at http://www.listed-shop.com/x and https://deals.listed-shop.com/y, login https://secure.phish-bank.com/ ' +
    'http://11.22.33.70/payload http://10.0.0.1/intranet https://www.google.com/ http://clean-site.org/', '');
  const r = await check(input({ urls }), { zones: [MULTI, DBL] });
  assert.deepEqual(r.signals, [
    { id: 'URIBL_DBL_SPAM', weight: 35, description: 'Spam domain', detail: 'listed-shop.com 127.0.1.2' },
    { id: 'URIBL_MULTI_TEST_ABUSE', weight: 40, description: 'Spam domain', detail: 'listed-shop.com 127.0.0.72' },
    { id: 'URIBL_MULTI_TEST_MW', weight: 45, description: 'Malware domain', detail: '11.22.33.70 127.0.0.16' },
    { id: 'URIBL_MULTI_TEST_PH', weight: 45, description: 'Phishing domain', detail: 'listed-shop.com 127.0.0.72, phish-bank.com 127.0.0.8' },
  ]);
  assert.deepEqual(r.errors, ['dbl.test: list error 127.0.1.255 (IP queries prohibited) for 11.22.33.70']);
  assert.ok(server.queries.includes('A 70.33.22.11.multi.test'), 'IP literal as reversed octets');
  assert.ok(!server.queries.some((q) => /google\.com|10\.0\.0\.1|0\.0\.10/.test(q)), 'allowlisted and private never queried');
  assert.equal(r.queried, 8, '4 subjects × 2 lists');
  // With `ips: false` the DBL-style list is not asked about IPs.
  const noIp = await check(input({ urls }), { zones: [{ ...DBL, ips: false }] });
  assert.deepEqual([noIp.errors, noIp.queried], [[], 3]);
});

test('URI lists: one signal per list and code however many domains hit; undescribed bits count with the zone weight', async () => {
  const urls = extractUrls('http://listed-shop.com/ http://other-spam.com/ http://odd-bits.com/ http://blocked-me.com/', '');
  const r = await check(input({ urls }), { zones: [DBL, MULTI] });
  assert.deepEqual(r.signals.map((s) => [s.id, s.weight, s.detail]), [
    ['URIBL_DBL_SPAM', 35, 'listed-shop.com 127.0.1.2, other-spam.com 127.0.1.2'],
    ['URIBL_MULTI_TEST_34', 30, 'odd-bits.com 127.0.0.34'],
    ['URIBL_MULTI_TEST_ABUSE', 40, 'listed-shop.com 127.0.0.72'],
    ['URIBL_MULTI_TEST_PH', 45, 'listed-shop.com 127.0.0.72'],
  ]);
  assert.deepEqual(r.errors, ['multi.test: answered 127.0.0.1 (query blocked or test code), ignored for blocked-me.com']);
});

test('URI lists: the most frequent domains first, capped per message; allowlist is configurable', async () => {
  const text = 'http://a-one.com/ http://b-two.com/ http://b-two.com/x http://c-three.com/ http://c-three.com/1 http://c-three.com/2 http://google.com/';
  const cfg = { zones: [{ zone: 'cap.test', type: 'uri' as const, weight: 30 }], maxUriDomains: 2 };
  const start = server.queries.length;
  await check(input({ urls: extractUrls(text, '') }), cfg);
  assert.deepEqual(server.queries.slice(start).sort(), ['A b-two.com.cap.test', 'A c-three.com.cap.test']);
  const start2 = server.queries.length;
  await check(input({ urls: extractUrls(text, '') }), { ...cfg, maxUriDomains: 5, uriAllowlist: ['c-three.com'] });
  assert.deepEqual(server.queries.slice(start2).sort(), ['A a-one.com.cap.test', 'A b-two.com.cap.test', 'A google.com.cap.test']);
});

test('interpretAnswers: malformed answers are ignored with a detail; bit 1 of a bitmask list is never a listing', () => {
  const z = dnsblConfig({ zones: [MULTI] }).zones[0];
  const r = interpretAnswers(z, ['not-an-ip', '::1', '127.0.0.9']);
  assert.deepEqual(r.hits.map((h) => h.id), ['URIBL_MULTI_TEST_PH']);
  assert.equal(r.errors.length, 2);
});

test('configuration is validated', () => {
  assert.throws(() => dnsblConfig({ zones: [{ zone: 'not a zone', type: 'ip', weight: 10 }] }), /invalid DNS blocklist settings/);
  assert.throws(() => dnsblConfig({ zones: [{ zone: 'x.test', type: 'ip', weight: 10, codes: { '10.0.0.2': { description: 'x' } } }] }), /codes\.10\.0\.0\.2/);
  assert.throws(() => dnsblConfig({ trustedRelays: ['10/8'] }), /CIDR/);
  assert.throws(() => dnsblConfig({ zones: [{ zone: 'x.test', type: 'uri', weight: 10, bitMask: true } as never] }), /bitMask/);
  const c = dnsblConfig({ zones: [{ zone: 'ZEN.Spamhaus.org.', type: 'ip', weight: 40 }] });
  assert.deepEqual([c.zones[0].zone, c.zones[0].bitmask, c.zones[0].ipv6, c.maxUriDomains, c.concurrency], ['zen.spamhaus.org', false, true, 20, 16]);
  assert.ok(c.uriAllowlist.includes('google.com'));
});
