/**
 * Sender authentication on the SMTP path (issue 5 items 1 and 5, SPEC §3.6), end to end with a real sink and a
 * real DNS server on loopback: Moat behind an edge gateway (loopback listed in scan.auth.trustedRelays), so SPF
 * and DMARC judge the first Received hop the gateway recorded. A rule runs `auth` with its shipped blocks
 * (DMARC violation → apply_policy; SPF and DKIM violations → skip):
 *   - SPF pass + DMARC pass → delivered, with one Authentication-Results field naming Moat (a forged one that
 *     claims Moat's name is removed, another host's is kept);
 *   - SPF fail under p=reject → 550 5.7.1 at the end of DATA;
 *   - SPF fail under p=quarantine → delivered (quarantine = skip with a Backup copy);
 *   - SPF fail under p=none → delivered;
 *   - a DNS server that never answers → temperror, delivered (the toggles are off by default).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSink } from '../helpers.ts';
import { eventsFor, header, headerValues, rulesOf, sendRaw, sendRejected, startScanNode, waitDelivered } from './helpers.ts';
import { startDnsServer } from '../helpers/dns-server.ts';

const spf = (s: string) => ({ txt: [s] });

test('auth behind an edge gateway: SPF/DMARC of the Received hop, each DMARC policy, Authentication-Results', { timeout: 60_000 }, async () => {
  const dns = await startDnsServer({
    'reject.test': spf('v=spf1 ip4:203.0.113.0/24 -all'),
    '_dmarc.reject.test': { txt: ['v=DMARC1; p=reject'] },
    'quarantine.test': spf('v=spf1 ip4:203.0.113.0/24 -all'),
    '_dmarc.quarantine.test': { txt: ['v=DMARC1; p=quarantine'] },
    'none.test': spf('v=spf1 ip4:203.0.113.0/24 -all'),
    '_dmarc.none.test': { txt: ['v=DMARC1; p=none'] },
    'slow.test': 'TIMEOUT',
    '_dmarc.slow.test': 'TIMEOUT',
  });
  const sink = await startSink();
  const node = await startScanNode(sink, { scan: { dnsServers: [`127.0.0.1:${dns.port}`], auth: { trustedRelays: ['127.0.0.0/8'], dnsTimeout: 1 } } });
  try {
    await rulesOf(node).create({ name: 'Authenticated', modules: { auth: { enabled: true } } });
    const edge = (from: string, hop: string, subject: string, extra = '') => Buffer.from(
      `Received: from mx.${from.split('@')[1]} (mx.${from.split('@')[1]} [${hop}])\r\n\tby edge.inside.test with ESMTPS id 7; Mon, 3 Mar 2025 10:00:00 +0000\r\n${extra}`
      + `From: <${from}>\r\nTo: bob@inside.test\r\nSubject: ${subject}\r\nDate: Mon, 3 Mar 2025 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, '')}@x>\r\n\r\n`
      + 'Hello Bob, the contract draft is ready for your review; comments by Friday please.\r\n');

    // 1. Pass, with two forged A-R fields: one claiming our name (removed) and one from another host (kept).
    const forged = 'Authentication-Results: gw.moat.test; spf=pass smtp.mailfrom=evil.test; dmarc=pass\r\nAuthentication-Results: other.example; spf=none\r\n';
    const s1 = await sendRaw(node, 'ann@reject.test', ['bob@inside.test'], edge('ann@reject.test', '203.0.113.7', 'passes', forged));
    const m1 = await waitDelivered(sink, 'bob@inside.test', 'passes');
    const ars = headerValues(m1.data, 'authentication-results');
    assert.equal(ars.length, 2, ars.join('\n'));
    assert.match(ars[0], /^gw\.moat\.test;/);
    assert.match(ars[0], /spf=pass/);
    assert.match(ars[0], /dmarc=pass/);
    assert.match(ars[1], /^other\.example; spf=none/);
    const [e1] = await eventsFor(node, s1.qid);
    assert.equal(e1.modules.auth.status, 'pass');
    assert.equal((e1.modules.auth.details?.client as { relayedBy?: string })?.relayedBy, '127.0.0.1');

    // 2. SPF fails for the hop, DMARC p=reject → apply_policy rejects while the client waits.
    const r2 = await sendRejected(node, 'ann@reject.test', ['bob@inside.test'], edge('ann@reject.test', '198.51.100.7', 'rejected'));
    assert.match(r2.response, /^550 5\.7\.1 /);

    // 3. p=quarantine → delivered (and kept in Backup, which comes with the Backup store).
    const s3 = await sendRaw(node, 'ann@quarantine.test', ['bob@inside.test'], edge('ann@quarantine.test', '198.51.100.7', 'quarantined'));
    const m3 = await waitDelivered(sink, 'bob@inside.test', 'quarantined');
    assert.match(header(m3.data, 'authentication-results') ?? '', /dmarc=fail/);
    const [e3] = await eventsFor(node, s3.qid);
    assert.deepEqual([e3.action, e3.backup], ['skip', true]);

    // 4. p=none → delivered, no backup.
    const s4 = await sendRaw(node, 'ann@none.test', ['bob@inside.test'], edge('ann@none.test', '198.51.100.7', 'monitored'));
    await waitDelivered(sink, 'bob@inside.test', 'monitored');
    const [e4] = await eventsFor(node, s4.qid);
    assert.deepEqual([e4.modules.auth.status, e4.action, e4.backup], ['fail', 'skip', false]);

    // 5. DNS that never answers: temperror, delivered (temperror is no violation unless the rule says so).
    const s5 = await sendRaw(node, 'ann@slow.test', ['bob@inside.test'], edge('ann@slow.test', '198.51.100.7', 'slow dns'));
    await waitDelivered(sink, 'bob@inside.test', 'slow dns');
    const [e5] = await eventsFor(node, s5.qid);
    assert.ok((e5.modules.auth.detections ?? []).some((d) => d.name === 'spf' && d.status === 'temperror'), JSON.stringify(e5.modules.auth));
    assert.equal(e5.action, 'skip');
  } finally {
    await node.cleanup();
    await sink.close();
    await dns.close();
  }
});
