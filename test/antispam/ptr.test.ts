// PTR/HELO sanity against a real DNS server on loopback (test/helpers/dns-server.ts), through the system resolver.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ptrName, startDnsServer, type DnsServer } from '../helpers/dns-server.ts';
import { systemResolver, type Resolver } from '../../src/platform/resolver.ts';
import { DnsCache } from '../../src/scan/antispam/dnsbl.ts';
import { heloSignals, isFqdn, isGenericPtr, ptrSignals, type PtrConfig, type PtrInput } from '../../src/scan/antispam/ptr.ts';

const GOOD = '11.22.33.44';
const V6 = '2a00:1450:4001::1a';

let server: DnsServer;
let resolver: Resolver;
before(async () => {
  server = await startDnsServer({
    [ptrName(GOOD)]: { ptr: ['mail.good-sender.com'] },
    'mail.good-sender.com': { a: [GOOD] },
    // Generic PTR that does confirm.
    [ptrName('11.22.33.45')]: { ptr: ['45-33-22-11.dsl.isp-example.net'] },
    '45-33-22-11.dsl.isp-example.net': { a: ['11.22.33.45'] },
    // PTR that resolves elsewhere, and one that does not resolve at all.
    [ptrName('11.22.33.46')]: { ptr: ['mail.liar-example.com'] },
    'mail.liar-example.com': { a: ['11.22.33.99'] },
    [ptrName('11.22.33.47')]: { ptr: ['ghost.liar-example.com'] },
    // Several PTR names: one confirming is enough.
    [ptrName('11.22.33.48')]: { ptr: ['a.multi-example.com', 'b.multi-example.com'] },
    'a.multi-example.com': { a: ['11.22.33.1'] },
    'b.multi-example.com': { a: ['11.22.33.48'] },
    // Timeouts: of the PTR itself, and of the forward lookup.
    [ptrName('11.22.33.49')]: 'TIMEOUT',
    [ptrName('11.22.33.50')]: { ptr: ['slow.timeout-example.com'] },
    'slow.timeout-example.com': 'TIMEOUT',
    // A PTR answer that is not a host name.
    [ptrName('11.22.33.51')]: { ptr: ['bad name!.example.com'] },
    // IPv6 with forward confirmation over AAAA.
    [ptrName(V6)]: { ptr: ['v6.good-sender.com'] },
    'v6.good-sender.com': { aaaa: [V6] },
  });
  resolver = systemResolver({ servers: [server.server], timeoutMs: 2_000 });
});
after(() => server.close());

const never = () => new AbortController().signal;
const cfg: PtrConfig = { localNames: ['moat.our-example.org'], localDomains: ['our-example.org'] };
const run = (input: Partial<PtrInput>, c: PtrConfig = cfg, res: Resolver = resolver) =>
  ptrSignals({ clientIp: GOOD, helo: 'mail.good-sender.com', authenticated: false, ...input }, c, res, never(), { cache: new DnsCache() });
const ids = (r: { signals: { id: string }[] }) => r.signals.map((s) => s.id).sort();

test('a well-configured sender gives no signal', async () => {
  const r = await run({});
  assert.deepEqual([r.signals, r.errors, r.ptr], [[], [], ['mail.good-sender.com']]);
  const v6 = await run({ clientIp: V6, helo: 'v6.good-sender.com' });
  assert.deepEqual([v6.signals, v6.errors, v6.ptr], [[], [], ['v6.good-sender.com']]);
});

test('no PTR name', async () => {
  const r = await run({ clientIp: '11.22.33.60' });
  assert.deepEqual(r.signals, [{ id: 'PTR_MISSING', weight: 5, description: 'The client IP has no reverse DNS (PTR) name', detail: '11.22.33.60' }]);
  const bad = await run({ clientIp: '11.22.33.51' });
  assert.deepEqual(ids(bad), ['PTR_MISSING']);
});

test('a generic (dynamic-looking) PTR name', async () => {
  const r = await run({ clientIp: '11.22.33.45' });
  assert.deepEqual(r.signals.map((s) => [s.id, s.weight, s.detail]), [['PTR_GENERIC', 3, '45-33-22-11.dsl.isp-example.net']]);
});

test('forward-confirmed reverse DNS: fails when no PTR name resolves back; one confirming name is enough', async () => {
  assert.deepEqual(ids(await run({ clientIp: '11.22.33.46' })), ['PTR_FCRDNS_FAIL']);
  assert.deepEqual(ids(await run({ clientIp: '11.22.33.47' })), ['PTR_FCRDNS_FAIL'], 'the PTR name does not exist');
  assert.deepEqual(ids(await run({ clientIp: '11.22.33.48' })), []);
});

test('timeouts never make a signal: they are errors; HELO checks still apply', async () => {
  const quick = systemResolver({ servers: [server.server], timeoutMs: 150 });
  const c = { ...cfg, timeoutMs: 100 };
  const r = await run({ clientIp: '11.22.33.49', helo: 'localhost' }, c, quick);
  assert.deepEqual([ids(r), r.errors], [['HELO_LOCALHOST'], ['ptr: timeout for 11.22.33.49']]);
  const f = await run({ clientIp: '11.22.33.50' }, c, quick);
  assert.deepEqual([ids(f), f.errors], [[], ['fcrdns: timeout for slow.timeout-example.com']]);
});

test('HELO checks', async () => {
  const cases: [string, string[]][] = [
    ['mail.good-sender.com', []],
    ['[11.22.33.44]', []],
    ['11.22.33.44', ['HELO_BARE_IP']],
    ['[11.22.33.99]', ['HELO_IP_MISMATCH']],
    ['11.22.33.99', ['HELO_BARE_IP', 'HELO_IP_MISMATCH']],
    ['[IPv6:2a00:1450:4001::1a]', ['HELO_IP_MISMATCH']],
    ['[not-an-ip]', ['HELO_NOT_FQDN']],
    ['WIN-7F3K2L', ['HELO_NOT_FQDN']],
    ['server.local', ['HELO_NOT_FQDN']],
    ['', ['HELO_NOT_FQDN']],
    ['localhost', ['HELO_LOCALHOST']],
    ['localhost.localdomain', ['HELO_LOCALHOST']],
    ['MOAT.our-example.org', ['HELO_CLAIMS_LOCAL']],
    ['our-example.org', ['HELO_CLAIMS_LOCAL']],
    ['mx2.our-example.org.', ['HELO_CLAIMS_LOCAL']],
    ['notour-example.org', []],
  ];
  for (const [helo, want] of cases) assert.deepEqual(heloSignals(helo, GOOD, cfg).sort(), want, helo);
  const r = await run({ helo: '[11.22.33.99]' });
  assert.deepEqual(r.signals, [{ id: 'HELO_IP_MISMATCH', weight: 5, description: 'HELO/EHLO gives an IP address that is not the client\'s', detail: '[11.22.33.99]' }]);
});

test('skipped for authenticated, private, loopback and trusted-relay clients (no DNS asked)', async () => {
  const before = server.queries.length;
  for (const input of [{ authenticated: true, clientIp: '11.22.33.60' }, { clientIp: '10.0.0.5' }, { clientIp: '127.0.0.1' }, { clientIp: '::1' }, { clientIp: 'bogus' }]) {
    const r = await run({ ...input, helo: 'localhost' });
    assert.deepEqual([r.signals, r.errors], [[], []], JSON.stringify(input));
  }
  const trusted = await run({ clientIp: '11.22.33.60', helo: 'localhost' }, { ...cfg, trustedRelays: ['11.22.33.0/24'] });
  assert.deepEqual(trusted.signals, []);
  assert.equal(server.queries.length, before);
});

test('weights can be overridden; 0 turns a signal off', async () => {
  const r = await run({ clientIp: '11.22.33.60', helo: 'localhost' }, { ...cfg, weights: { PTR_MISSING: 0, HELO_LOCALHOST: 9 } });
  assert.deepEqual(r.signals.map((s) => [s.id, s.weight]), [['HELO_LOCALHOST', 9]]);
});

test('isGenericPtr: embedded octets (either order, hex), pool words left of the registrable domain only', () => {
  const yes = ['c-11-22-33-44.hsd1.ma.comcast.net', '44.33.22.11.static.isp-example.net', 'p0b16212c.dip0.t-ipconnect.de',
    'dynamic-pool.isp-example.net', 'ppp-host.isp-example.net', 'cpe-1234.cable.isp-example.net', 'adsl123.isp-example.net', 'x11-22-33-44y.isp-example.com'];
  const no = ['mail.good-sender.com', 'mx1.dsl-provider.com', 'smtp.pool-supplies.com', 'mail11.isp-example.net', 'out-22-33.isp-example.net', '11-22-33-44.com'];
  for (const n of yes) assert.ok(isGenericPtr(n, GOOD), n);
  for (const n of no) assert.ok(!isGenericPtr(n, GOOD), n);
  assert.ok(!isGenericPtr(`${'1-'.repeat(50_000)}x.example.com`, GOOD));
});

test('isFqdn', () => {
  for (const n of ['mail.example.com', 'a.b.co.uk', 'xn--bcher-kva.de']) assert.ok(isFqdn(n), n);
  for (const n of ['mail', 'host.local', 'host.lan', '1.2.3.4', 'a..b.com', '-bad.example.com', 'x'.repeat(300) + '.com']) assert.ok(!isFqdn(n), n);
});
