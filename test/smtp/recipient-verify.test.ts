/**
 * Recipient verification (SPEC §1: static list or SMTP callout to the next hop, cached, never for trusted
 * clients; an unreachable next hop gives a temporary 450, never a false 550).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { Writable } from 'node:stream';
import { SMTPServer } from 'smtp-server';
import { startSink, startTestNode } from '../helpers.ts';
import { Wire, message } from './wire.ts';

/** A next hop that counts the RCPT commands it sees per address; `reject*` → 550, `defer*` → 451. */
async function countingHop(): Promise<{ port: number; rcpts: Map<string, number>; delivered: string[][]; close(): Promise<void> }> {
  const rcpts = new Map<string, number>();
  const delivered: string[][] = [];
  const server = new SMTPServer({
    logger: false, authOptional: true, disableReverseLookup: true, hideSTARTTLS: true,
    onRcptTo(addr, _s, cb) {
      const a = addr.address.toLowerCase();
      rcpts.set(a, (rcpts.get(a) ?? 0) + 1);
      const local = a.split('@')[0];
      if (local.startsWith('reject')) return cb(Object.assign(new Error('5.1.1 no such user'), { responseCode: 550 }));
      if (local.startsWith('defer')) return cb(Object.assign(new Error('4.3.0 try later'), { responseCode: 451 }));
      cb();
    },
    onData(stream, session, cb) {
      stream.pipe(new Writable({ write(_c, _e, d) { d(); } })).on('finish', () => { delivered.push(session.envelope.rcptTo.map((r) => r.address)); cb(); });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.server.address() as { port: number }).port, rcpts, delivered, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** A port with nothing listening on it. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function rcpt(port: number, addresses: string[]): Promise<string[]> {
  const { wire } = await Wire.open(port);
  try {
    await wire.ehlo();
    await wire.cmd('MAIL FROM:<someone@outside.test>');
    const out: string[] = [];
    for (const a of addresses) out.push((await wire.cmd(`RCPT TO:<${a}>`, 15_000)).raw);
    return out;
  } finally {
    await wire.quit();
    wire.destroy();
  }
}

test('static list: unknown local recipient → 550 5.1.1; listed address and @domain accepted; trusted clients exempt', async () => {
  const sink = await startSink();
  const node = await startTestNode({ settings: { mta: {
    trustedNetworks: ['10.0.0.0/8'],
    domains: [{ name: 'example.com', route: `127.0.0.1:${sink.port}` }, { name: 'open.example.org', route: `127.0.0.1:${sink.port}` }],
    recipientVerification: { method: 'static', staticList: ['known@example.com', '@open.example.org'] },
  } } });
  try {
    const [unknown, known, knownCase, wildcard] = await rcpt(node.smtpPort, ['nobody@example.com', 'known@example.com', 'Known@EXAMPLE.com', 'anyone@open.example.org']);
    assert.equal(unknown, '550 5.1.1 Recipient address rejected: user unknown');
    assert.match(known, /^250 /);
    assert.match(knownCase, /^250 /);
    assert.match(wildcard, /^250 /);

    // A message to a mix: only the known recipients are delivered.
    const { wire } = await Wire.open(node.smtpPort);
    try {
      await wire.ehlo();
      const r = await wire.send('someone@outside.test', ['nobody@example.com', 'known@example.com'], message('mixed'));
      assert.equal(r.code, 250);
    } finally { wire.destroy(); }
    const [m] = await sink.waitFor(1);
    assert.deepEqual(m.to, ['known@example.com']);

    // Trusted clients are never verified.
    await node.settings.set('mta.trustedNetworks', ['127.0.0.0/8'], 'test');
    const [trusted] = await rcpt(node.smtpPort, ['nobody@example.com']);
    assert.match(trusted, /^250 /);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});

test('callout: the next hop decides (550 for its rejects), answers are cached across sessions, trusted clients are not probed', async () => {
  const hop = await countingHop();
  const node = await startTestNode({ settings: { mta: {
    hostname: 'gw.moat.test', trustedNetworks: ['10.0.0.0/8'],
    domains: [{ name: 'example.com', route: `127.0.0.1:${hop.port}` }],
    recipientVerification: { method: 'callout' },
  } } });
  try {
    const first = await rcpt(node.smtpPort, ['alice@example.com', 'reject-bob@example.com']);
    assert.match(first[0], /^250 /);
    assert.equal(first[1], '550 5.1.1 Recipient address rejected: user unknown');
    assert.equal(hop.rcpts.get('alice@example.com'), 1);
    assert.equal(hop.rcpts.get('reject-bob@example.com'), 1);

    // A second session: same answers, no new probes (positive and negative caching).
    const second = await rcpt(node.smtpPort, ['alice@example.com', 'reject-bob@example.com', 'ALICE@example.com']);
    assert.match(second[0], /^250 /);
    assert.equal(second[1], '550 5.1.1 Recipient address rejected: user unknown');
    assert.match(second[2], /^250 /);
    assert.equal(hop.rcpts.get('alice@example.com'), 1, 'alice probed once');
    assert.equal(hop.rcpts.get('reject-bob@example.com'), 1, 'reject-bob probed once');

    // A next hop answering 4xx to the probe: 450, and not cached (asked again next time).
    const [deferred] = await rcpt(node.smtpPort, ['defer-carol@example.com']);
    assert.match(deferred, /^450 4\.\d\.\d /);
    await rcpt(node.smtpPort, ['defer-carol@example.com']);
    assert.equal(hop.rcpts.get('defer-carol@example.com'), 2);

    // Trusted clients skip verification: the hop sees no probe for this address.
    await node.settings.set('mta.trustedNetworks', ['127.0.0.0/8'], 'test');
    const [t] = await rcpt(node.smtpPort, ['reject-dave@example.com']);
    assert.match(t, /^250 /);
    assert.equal(hop.rcpts.get('reject-dave@example.com'), undefined);
  } finally {
    await node.cleanup();
    await hop.close();
  }
});

test('callout: next hop down or silent → 450 temporary, never 550', async () => {
  const port = await deadPort();
  // A hop that accepts the connection and never says anything.
  const silent: Server = createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  const silentPort = (silent.address() as { port: number }).port;
  const node = await startTestNode({ settings: { mta: {
    trustedNetworks: [],
    domains: [{ name: 'down.example', route: `127.0.0.1:${port}` }, { name: 'mute.example', route: `127.0.0.1:${silentPort}` }],
    recipientVerification: { method: 'callout', calloutTimeout: 1 },
  } } });
  try {
    const [down, mute] = await rcpt(node.smtpPort, ['someone@down.example', 'someone@mute.example']);
    assert.match(down, /^450 4\.\d\.\d /);
    assert.match(mute, /^450 4\.\d\.\d /);
  } finally {
    await node.cleanup();
    silent.close();
  }
});
