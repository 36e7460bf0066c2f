// SPEC §3.6 per-rule behaviour through policy's decide(), fed with REAL findings of the auth scanner over a real
// DNS server: apply_policy for each p=, actions for SPF and DKIM violations, the temperror / permerror toggles and
// "DMARC result decides". The DMARC policy handed to decide is read from the finding (dmarcPolicyOf).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDnsServer, type DnsServer, type DnsZone } from '../helpers/dns-server.ts';
import { dmarcPolicyOf, type AuthScanner } from '../../src/scan/auth/scanner.ts';
import { decide } from '../../src/policy/decide.ts';
import { defaultRules } from '../../src/policy/presets.ts';
import type { ActionBlock, Rule } from '../../src/policy/types.ts';
import type { Envelope, Finding } from '../../src/scan/types.ts';
import { ed25519Key, keyRecord, message, results, scanner, scanWith, sign } from './helpers.ts';

const key = ed25519Key();
const GOOD_IP = '192.0.2.10';
const BAD_IP = '203.0.113.5';
const spfOk = { txt: ['v=spf1 ip4:192.0.2.0/24 -all'] };

const zone: DnsZone = {
  'reject.test': spfOk, '_dmarc.reject.test': { txt: ['v=DMARC1; p=reject'] },
  'quar.test': spfOk, '_dmarc.quar.test': { txt: ['v=DMARC1; p=quarantine'] },
  'pnone.test': spfOk, '_dmarc.pnone.test': { txt: ['v=DMARC1; p=none'] },
  'slowdmarc.test': spfOk, '_dmarc.slowdmarc.test': 'TIMEOUT',
  'plain.test': spfOk,
  'soft.test': { txt: ['v=spf1 ip4:192.0.2.0/24 ~all'] },
  'slowspf.test': 'TIMEOUT',
  'perm.test': { txt: ['v=spf1 ip4:192.0.2.0/99 -all'] },
  'k._domainkey.reject.test': { txt: [keyRecord(key)] },
  'k._domainkey.plain.test': { txt: [keyRecord(key)] },
  'bad._domainkey.plain.test': { txt: ['v=DKIM1; k=ed25519; p=###'] },
  'slow._domainkey.plain.test': 'TIMEOUT',
};

let dns: DnsServer;
let sc: AuthScanner;
before(async () => {
  dns = await startDnsServer(zone);
  sc = await scanner(dns, { dnsTimeoutMs: 300 });
});
after(() => dns.close());

/** The Default rule with auth enabled, its toggles, and optionally other blocks. */
function authRule(options: Record<string, unknown> = {}, blocks?: ActionBlock[]): Rule {
  const r = defaultRules()[2];
  r.modules.auth!.enabled = true;
  r.modules.auth!.options = { ...r.modules.auth!.options, ...options };
  if (blocks) r.modules.auth!.blocks = blocks;
  return r;
}

const verdict = (f: Finding, options: Record<string, unknown> = {}, blocks?: ActionBlock[]) => decide(authRule(options, blocks), [f], { dmarcPolicy: dmarcPolicyOf([f]) });
const fired = (f: Finding, options: Record<string, unknown> = {}) => verdict(f, options).fired.map((x) => x.status);

async function from(domain: string, env: Partial<Envelope> = {}, signWith?: string): Promise<Finding> {
  let m = message({ from: `Alice <alice@${domain}>` });
  if (signWith) m = await sign(m, domain, signWith, key);
  return scanWith(sc, m, { sender: `alice@${domain}`, clientIp: BAD_IP, ...env });
}

test('apply_policy honours the sender policy: p=reject → reject, p=quarantine → delivered with backup, p=none → delivered', async () => {
  const rej = await from('reject.test');
  assert.deepEqual(results(rej, 'dmarc'), ['fail']);
  const v = verdict(rej);
  assert.equal(v.action, 'reject');
  assert.deepEqual(v.fired.find((x) => x.status === 'dmarc_violation'), { module: 'auth', status: 'dmarc_violation', action: 'reject', configured: 'apply_policy', backup: false, tag: '' });

  const q = verdict(await from('quar.test'));
  assert.deepEqual([q.action, q.backup], ['skip', true]);
  const n = verdict(await from('pnone.test'));
  assert.deepEqual([n.action, n.backup], ['skip', false]);
  assert.ok(n.fired.some((x) => x.status === 'dmarc_violation'));

  // The same domains passing DMARC fire nothing.
  const ok = verdict(await from('reject.test', { clientIp: GOOD_IP }));
  assert.deepEqual([ok.action, ok.fired], ['skip', []]);
});

test('SPF and DKIM violations take the actions their blocks give', async () => {
  const blocks: ActionBlock[] = [
    { statuses: ['dmarc_violation'], action: 'apply_policy', backup: false, tag: '' },
    { statuses: ['spf_violation'], action: 'reject', backup: true, tag: '[SPF]' },
    { statuses: ['dkim_violation'], action: 'skip', backup: false, tag: '[DKIM]' },
  ];
  // SPF fail, no DMARC record.
  const spfFail = await from('plain.test');
  assert.deepEqual([results(spfFail, 'spf'), results(spfFail, 'dmarc')], [['fail'], ['none']]);
  const v = verdict(spfFail, {}, blocks);
  assert.deepEqual([v.action, v.backup, v.tags], ['reject', true, ['[SPF]']]);
  // SPF softfail counts too.
  assert.equal(verdict(await from('soft.test'), {}, blocks).action, 'reject');
  // DKIM fail (body changed), SPF pass.
  const signed = await sign(message({ from: 'Alice <alice@plain.test>' }), 'plain.test', 'k', key);
  const dkimFail = await scanWith(sc, signed.replace('as agreed', 'as not agreed'), { sender: 'alice@plain.test', clientIp: GOOD_IP });
  assert.deepEqual([results(dkimFail, 'spf'), results(dkimFail, 'dkim')], [['pass'], ['fail']]);
  const w = verdict(dkimFail, {}, blocks);
  assert.deepEqual([w.action, w.tags, w.fired.map((x) => x.status)], ['skip', ['[DKIM]'], ['dkim_violation']]);
  // As shipped: SPF and DKIM violations → skip.
  assert.deepEqual([verdict(spfFail).action, fired(spfFail)], ['skip', ['spf_violation']]);
});

test('temperror counts as a violation only with temperrorIsViolation', async () => {
  const spfTemp = await from('slowspf.test');
  assert.deepEqual(results(spfTemp, 'spf'), ['temperror']);
  assert.deepEqual(fired(spfTemp), []);
  assert.deepEqual(fired(spfTemp, { temperrorIsViolation: true }), ['spf_violation']);

  const signed = await sign(message({ from: 'Alice <alice@plain.test>' }), 'plain.test', 'slow', key);
  const dkimTemp = await scanWith(sc, signed, { sender: 'alice@plain.test', clientIp: GOOD_IP });
  assert.deepEqual(results(dkimTemp, 'dkim'), ['temperror']);
  assert.deepEqual(fired(dkimTemp), []);
  assert.deepEqual(fired(dkimTemp, { temperrorIsViolation: true }), ['dkim_violation']);

  // A DMARC temperror: a violation with the toggle; apply_policy without a known policy delivers.
  const dmarcTemp = await from('slowdmarc.test', { clientIp: GOOD_IP });
  assert.deepEqual(results(dmarcTemp, 'dmarc'), ['temperror']);
  assert.deepEqual(fired(dmarcTemp), []);
  const t = verdict(dmarcTemp, { temperrorIsViolation: true });
  assert.deepEqual([t.action, t.fired.map((x) => x.status)], ['skip', ['dmarc_violation']]);
});

test('permerror counts as a violation only with permerrorIsViolation', async () => {
  const spfPerm = await from('perm.test');
  assert.deepEqual(results(spfPerm, 'spf'), ['permerror']);
  assert.deepEqual(fired(spfPerm), []);
  assert.deepEqual(fired(spfPerm, { permerrorIsViolation: true }), ['spf_violation']);
  assert.deepEqual(fired(spfPerm, { temperrorIsViolation: true }), [], 'the other toggle does not count it');

  const signed = await sign(message({ from: 'Alice <alice@plain.test>' }), 'plain.test', 'bad', key);
  const dkimPerm = await scanWith(sc, signed, { sender: 'alice@plain.test', clientIp: GOOD_IP });
  assert.deepEqual(results(dkimPerm, 'dkim'), ['permerror']);
  assert.deepEqual(fired(dkimPerm), []);
  assert.deepEqual(fired(dkimPerm, { permerrorIsViolation: true }), ['dkim_violation']);
});

test('"DMARC result decides": a DMARC pass or fail silences SPF and DKIM violations; no DMARC record does not', async () => {
  // DKIM-aligned pass, SPF fail (a forwarded message): DMARC pass.
  const forwarded = await from('reject.test', {}, 'k');
  assert.deepEqual([results(forwarded, 'spf'), results(forwarded, 'dmarc')], [['fail'], ['pass']]);
  assert.deepEqual(fired(forwarded), ['spf_violation']);
  assert.deepEqual(fired(forwarded, { dmarcDecides: true }), []);

  // DMARC fail: only the DMARC violation remains.
  const spoof = await from('reject.test');
  assert.deepEqual(fired(spoof), ['dmarc_violation', 'spf_violation']);
  assert.deepEqual(fired(spoof, { dmarcDecides: true }), ['dmarc_violation']);

  // No DMARC record: SPF still decides on its own.
  assert.deepEqual(fired(await from('plain.test'), { dmarcDecides: true }), ['spf_violation']);
});

test('an authenticated sender is not held to SPF or DMARC', async () => {
  const f = await from('reject.test', { authUser: 'alice' });
  assert.deepEqual([results(f, 'spf'), results(f, 'dmarc')], [['none'], ['none']]);
  assert.deepEqual([verdict(f).action, verdict(f).fired], ['skip', []]);
});
