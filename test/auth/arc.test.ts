// ARC (RFC 8617) through the auth scanner and a real DNS server: a valid chain of one and two sets over a message
// a mailing list changed (its DKIM signature broken), broken chains, and a key lookup that times out.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDnsServer, type DnsServer, type DnsZone } from '../helpers/dns-server.ts';
import type { AuthScanner } from '../../src/scan/auth/scanner.ts';
import { detail, keyRecord, message, results, rsaKey, scanner, scanWith, seal, sign } from './helpers.ts';

const origin = rsaKey();
const list = rsaKey();
const second = rsaKey();

const zone: DnsZone = {
  'example.test': { txt: ['v=spf1 ip4:192.0.2.0/24 -all'] },
  '_dmarc.example.test': { txt: ['v=DMARC1; p=reject'] },
  'sel._domainkey.example.test': { txt: [keyRecord(origin)] },
  'arc._domainkey.list.test': { txt: [keyRecord(list)] },
  'arc._domainkey.relay.test': { txt: [keyRecord(second)] },
  'slow._domainkey.list.test': 'TIMEOUT',
};

let dns: DnsServer;
let sc: AuthScanner;
before(async () => {
  dns = await startDnsServer(zone);
  sc = await scanner(dns, { dnsTimeoutMs: 300 });
});
after(() => dns.close());

const LIST_IP = '198.51.100.20';
const arcOf = (f: Awaited<ReturnType<typeof scanWith>>) => detail<{ result: string; instance?: number; reason?: string }>(f, 'arc');

/** The original, signed by example.test, then changed by a mailing list (subject tag, footer) and sealed by it. */
async function throughList(selector = 'arc'): Promise<string> {
  const original = await sign(message(), 'example.test', 'sel', origin);
  const changed = original.replace('Subject: Quarterly figures', 'Subject: [team] Quarterly figures').replace(/Alice\r\n$/, 'Alice\r\n--\r\nteam mailing list\r\n');
  return seal(changed, 'list.test', selector, list, 'list.test; dkim=pass header.d=example.test; spf=pass smtp.mailfrom=example.test; dmarc=pass', 'none');
}

test('no ARC headers: arc=none', async () => {
  const f = await scanWith(sc, message());
  assert.deepEqual(results(f, 'arc'), ['none']);
  assert.match(String(f.details?.authResults), /; arc=none$/);
});

test('a valid chain: arc=pass with its instance, while the original DKIM signature and DMARC fail', async () => {
  const f = await scanWith(sc, await throughList(), { sender: 'alice@example.test', clientIp: LIST_IP });
  assert.deepEqual(results(f, 'arc'), ['pass']);
  assert.equal(arcOf(f).instance, 1);
  assert.deepEqual(results(f, 'dkim'), ['fail']);
  assert.deepEqual(results(f, 'dmarc'), ['fail']);
  assert.match(String(f.details?.authResults), /; arc=pass \(i=1\)$/);

  const twice = await seal(await throughList(), 'relay.test', 'arc', second, 'relay.test; arc=pass', 'pass');
  const g = await scanWith(sc, twice, { clientIp: LIST_IP });
  assert.deepEqual(results(g, 'arc'), ['pass']);
  assert.equal(arcOf(g).instance, 2);
});

test('a broken chain: the message changed after sealing, a set is missing, or a seal was altered', async () => {
  const sealed = await throughList();
  const changed = await scanWith(sc, sealed.replace('team mailing list', 'team mailing list - click here'), { clientIp: LIST_IP });
  assert.deepEqual(results(changed, 'arc'), ['fail']);

  const missing = await scanWith(sc, sealed.replace(/^ARC-Seal:.*\r\n(?:[ \t].*\r\n)*/m, ''), { clientIp: LIST_IP });
  assert.deepEqual(results(missing, 'arc'), ['fail']);
  assert.match(String(arcOf(missing).reason), /no arc-seal/);

  const twice = await seal(sealed, 'relay.test', 'arc', second, 'relay.test; arc=pass', 'pass');
  const altered = twice.replace(/(ARC-Seal: i=1;[^]*?cv=)none/, '$1pass');
  assert.notEqual(altered, twice);
  assert.deepEqual(results(await scanWith(sc, altered, { clientIp: LIST_IP }), 'arc'), ['fail']);
});

test('temperror: the sealer key lookup times out', async () => {
  const f = await scanWith(sc, await throughList('slow'), { clientIp: LIST_IP });
  assert.deepEqual(results(f, 'arc'), ['temperror']);
});
