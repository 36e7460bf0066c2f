/**
 * Relay control (SPEC §1 "Trusted networks"; RFC 5321 §3.6, no open relay): an untrusted client may send only
 * to local domains; trusted networks may relay anywhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSink, startTestNode, client } from '../helpers.ts';
import { Wire, message, spoolFiles } from './wire.ts';

test('untrusted client: 554 5.7.1 at RCPT for a non-local domain, accepted and delivered for a local domain', async () => {
  const sink = await startSink();
  // 127.0.0.1 is not in 10.0.0.0/8: the test client is untrusted.
  const node = await startTestNode({ settings: { mta: {
    hostname: 'gw.moat.test', trustedNetworks: ['10.0.0.0/8'], relayHost: `127.0.0.1:${sink.port}`,
    domains: [{ name: 'example.com', route: `127.0.0.1:${sink.port}` }],
  } } });
  const { wire } = await Wire.open(node.smtpPort);
  try {
    assert.equal((await wire.ehlo()).code, 250);
    assert.equal((await wire.cmd('MAIL FROM:<spammer@evil.test>')).code, 250);
    const denied = await wire.cmd('RCPT TO:<victim@elsewhere.test>');
    assert.equal(denied.raw, '554 5.7.1 Relay access denied');
    // A local domain in any letter case is local.
    assert.equal((await wire.cmd('RCPT TO:<Bob@EXAMPLE.com>')).code, 250);
    assert.equal((await wire.cmd('DATA')).code, 354);
    wire.write(message('to local'));
    const done = await wire.cmd('.');
    assert.match(done.raw, /^250 2\.0\.0 Ok: queued as [0-9A-Z]{16}$/);
    const [m] = await sink.waitFor(1);
    assert.deepEqual(m.to, ['Bob@EXAMPLE.com'], 'only the accepted recipient is delivered');
    assert.equal(m.from, 'spammer@evil.test');

    // The same through a real client library: the relay attempt fails as a whole.
    await assert.rejects(
      client(node.smtpPort).sendMail({ from: 'a@evil.test', to: 'x@elsewhere.test', subject: 's', text: 't' }),
      (err: { responseCode?: number; response?: string }) => err.responseCode === 554 && /5\.7\.1/.test(err.response ?? ''),
    );
    assert.equal(sink.messages.length, 1, 'nothing else was delivered');
  } finally {
    wire.destroy();
    await node.cleanup();
    await sink.close();
  }
});

test('a routed domain that is not local (local: false) is relayed for trusted clients only', async () => {
  const sink = await startSink();
  const node = await startTestNode({ settings: { mta: {
    trustedNetworks: ['127.0.0.9/32'], domains: [{ name: 'partner.test', local: false, route: `127.0.0.1:${sink.port}` }],
  } } });
  const { wire } = await Wire.open(node.smtpPort);
  const { wire: trusted } = await Wire.open(node.smtpPort, { localAddress: '127.0.0.9' });
  try {
    await wire.ehlo();
    await wire.cmd('MAIL FROM:<a@outside.test>');
    assert.equal((await wire.cmd('RCPT TO:<p@partner.test>')).raw, '554 5.7.1 Relay access denied');
    await trusted.ehlo();
    assert.equal((await trusted.send('in@inside.test', ['p@partner.test'], message('to partner'))).code, 250);
    const [m] = await sink.waitFor(1);
    assert.deepEqual(m.to, ['p@partner.test']);
  } finally {
    wire.destroy();
    trusted.destroy();
    await node.cleanup();
    await sink.close();
  }
});

test('an empty trusted-network list trusts nobody, not even loopback', async () => {
  const node = await startTestNode({ settings: { mta: { trustedNetworks: [], relayHost: '127.0.0.1:9' } } });
  const { wire } = await Wire.open(node.smtpPort);
  try {
    await wire.ehlo();
    await wire.cmd('MAIL FROM:<a@x.test>');
    assert.equal((await wire.cmd('RCPT TO:<b@y.test>')).raw, '554 5.7.1 Relay access denied');
    // No recipient was accepted, so DATA is refused and nothing is spooled.
    assert.equal((await wire.cmd('DATA')).code, 503);
    assert.deepEqual(spoolFiles(node.dataDir), { incoming: [], queue: [] });
  } finally {
    wire.destroy();
    await node.cleanup();
  }
});

test('trusted network (127.0.0.0/8) relays to any domain', async () => {
  const sink = await startSink();
  const node = await startTestNode({ settings: { mta: { trustedNetworks: ['127.0.0.0/8'], relayHost: `127.0.0.1:${sink.port}` } } });
  try {
    const info = await client(node.smtpPort).sendMail({ from: 'alice@inside.test', to: ['x@far.test', 'y@other.test'], subject: 'out', text: 'outbound' });
    assert.deepEqual(info.accepted, ['x@far.test', 'y@other.test']);
    const [m] = await sink.waitFor(1);
    assert.deepEqual([...m.to].sort(), ['x@far.test', 'y@other.test']);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});

test('sender-specified routing (user%host@local, host!user@local) from an untrusted client is relay denied', async () => {
  // Postfix's allow_untrusted_routing = no: a next hop that honours the %-hack or bang paths would otherwise
  // relay for anyone through Moat.
  const sink = await startSink();
  const node = await startTestNode({ settings: { mta: {
    trustedNetworks: ['10.0.0.0/8'], domains: [{ name: 'example.com', route: `127.0.0.1:${sink.port}` }],
  } } });
  const { wire } = await Wire.open(node.smtpPort);
  try {
    await wire.ehlo();
    await wire.cmd('MAIL FROM:<spammer@evil.test>');
    for (const rcpt of ['victim%far.test@example.com', 'far.test!victim@example.com', '@example.com:victim@far.test', 'victim@far.test@example.com']) {
      const r = await wire.cmd(`RCPT TO:<${rcpt}>`);
      assert.ok(r.code >= 500, `${rcpt} → ${r.raw}`);
    }
    assert.equal((await wire.cmd('RCPT TO:<victim%far.test@example.com>')).raw, '554 5.7.1 Relay access denied');
    assert.equal((await wire.cmd('RCPT TO:<first.last+tag@example.com>')).code, 250, 'ordinary local parts are fine');
    // Trusted clients may use them (they could relay anyway).
    await node.settings.set('mta.trustedNetworks', ['127.0.0.0/8'], 'test');
    const { wire: t } = await Wire.open(node.smtpPort);
    try {
      await t.ehlo();
      await t.cmd('MAIL FROM:<in@inside.test>');
      assert.equal((await t.cmd('RCPT TO:<user%host@example.com>')).code, 250);
    } finally { t.destroy(); }
  } finally {
    wire.destroy();
    await node.cleanup();
    await sink.close();
  }
});

test('a bare RCPT TO:<postmaster> is accepted from anyone and delivered to postmaster of the first local domain', async () => {
  const sink = await startSink();
  const node = await startTestNode({ settings: { mta: {
    trustedNetworks: [], domains: [{ name: 'example.com', route: `127.0.0.1:${sink.port}` }],
  } } });
  const { wire } = await Wire.open(node.smtpPort);
  try {
    await wire.ehlo();
    assert.equal((await wire.send('someone@far.test', ['PostMaster'], 'Subject: hi\r\n\r\nabuse report\r\n')).code, 250);
    const [m] = await sink.waitFor(1);
    assert.deepEqual(m.to, ['postmaster@example.com']);
  } finally {
    wire.destroy();
    await node.cleanup();
    await sink.close();
  }
});
