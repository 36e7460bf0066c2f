/**
 * Two end-to-end checks over real SMTP on loopback:
 *   - system notifications: clamd configured but not answering (a closed port) → the admins get a "problem"
 *     mail; clamd answering again (a fake clamd on loopback) → after the 15-minute window (the node's clock is
 *     moved forward) they get the "resolved" mail;
 *   - DKIM after a banner: outbound mail from a trusted network gets a banner and a disclaimer, is signed at
 *     send time, and mailauth verifies the delivered bytes over a real DNS server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import PostalMime from 'postal-mime';
import { startSink } from '../helpers.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { compose, header, rulesOf, sendRaw, startFakeClamd, startScanNode, waitDelivered } from '../scan-e2e/helpers.ts';
import { DkimRepo } from '../../src/store/dkim-repo.ts';
import { mailauthVerify, testKey, zoneOf } from '../dkim/verify.ts';

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('system notification: clamd not answering starts a problem, answering again ends it after the window', { timeout: 120_000 }, async () => {
  const sink = await startSink();
  let offset = 0;
  const port = await closedPort();
  const node = await startScanNode(sink, {
    notifications: { admins: ['ops@corp.test'], system: { clamdCheck: 5 } },
    scan: { antivirus: { clamav: { host: '127.0.0.1', port, timeout: 2 } } },
  }, { clock: { now: () => Date.now() + offset } });
  const clamd = await startFakeClamd();
  try {
    const start = await waitDelivered(sink, 'ops@corp.test', '[Moat] Problem on test: antivirus.clamav (error)', 30_000);
    const body = (await PostalMime.parse(start.data)).text!;
    assert.match(body, new RegExp(`clamd at 127\\.0\\.0\\.1:${port} does not answer`));
    assert.match(body, new RegExp(`Notification ${header(start.data, 'x-moat-notification-id')}`));
    assert.equal(start.from, 'postmaster@gw.moat.test');
    await node.settings.set('scan.antivirus.clamav', { host: '127.0.0.1', port: clamd.port, timeout: 2 }, 'test');
    // The probe sees clamd answer within clamdCheck (5 s); the end waits for the 15-minute window.
    const deadline = Date.now() + 20_000;
    while (node.notifications.health.list().some((p) => p.active) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.equal(node.notifications.health.list().some((p) => p.active), false, 'clamd answers again');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(sink.messages.filter((m) => m.to.includes('ops@corp.test')).length, 1, 'no end mail inside the window');
    offset = 16 * 60_000;
    await node.notifications.health.tick();
    await waitDelivered(sink, 'ops@corp.test', '[Moat] Resolved on test: antivirus.clamav', 20_000);
    // Each transition is also a system event (event log, SIEM); the settings change made above is one too.
    const types = (await node.events.log.listSystem({}, { limit: 100 })).items.map((e) => `${e.type} ${e.message}`);
    assert.ok(types.some((t) => t.startsWith('health.problem antivirus.clamav: clamd at')), types.join('\n'));
    assert.ok(types.includes('health.resolved antivirus.clamav: resolved'), types.join('\n'));
    assert.ok(types.some((t) => /^settings\.changed settings version \d+ applied$/.test(t)), types.join('\n'));
  } finally {
    await node.cleanup();
    await clamd.close();
    await sink.close();
  }
});

test('a banner and a disclaimer on outbound mail: DKIM-signed after them, and mailauth verifies it', { timeout: 120_000 }, async () => {
  const key = await testKey('example.test', 'mail');
  const { zone } = zoneOf([key]);
  const dns = await startDnsServer(zone);
  const sink = await startSink();
  const node = await startScanNode(sink, { mta: { trustedNetworks: ['127.0.0.0/8'] } });
  try {
    await new DkimRepo(node.store.db).add({ domain: 'example.test', selector: 'mail', algorithm: key.material.algorithm, privateKeyPem: key.material.privateKeyPem, publicKey: key.material.publicKey, enabled: true });
    await rulesOf(node).create({ name: 'Outbound', senders: ['*@example.test'], disclaimer: { text: 'Example Ltd, registered in Nowhere.' }, banner: { statuses: ['antivirus:*', 'antispam:*'], text: 'never shown for clean mail' } });
    await rulesOf(node).update('Outbound', { banner: { statuses: ['antispam:clean'], text: 'Scanned: no spam found.' } });
    await new Promise((r) => setTimeout(r, 1200));
    await sendRaw(node, 'alice@example.test', ['carol@far.test'], await compose({ from: 'alice@example.test', to: 'carol@far.test', subject: 'signed with banner',
      text: 'Hello Carol, the figures are below.\r\n', html: '<html><body><p>Hello Carol</p></body></html>' }));
    const m = await waitDelivered(sink, 'carol@far.test', 'signed with banner');
    const parsed = await PostalMime.parse(m.data);
    assert.match(parsed.text!, /^Scanned: no spam found\.\r?\n\r?\nHello Carol/);
    assert.match(parsed.text!, /below\.\r?\n\r?\nExample Ltd, registered in Nowhere\.\r?\n$/);
    assert.match(parsed.html!, /<div>Example Ltd, registered in Nowhere\.<\/div>\r?\n<\/body>/);
    assert.ok(header(m.data, 'dkim-signature'), 'signed');
    const results = await mailauthVerify(m.data, dns);
    assert.deepEqual(results.map((r) => [r.domain, r.selector, r.result]), [['example.test', 'mail', 'pass']]);
  } finally {
    await node.cleanup();
    await sink.close();
    await dns.close();
  }
});
