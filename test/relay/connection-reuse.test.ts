/**
 * Outbound connection reuse: messages to the same next hop share SMTP connections (RSET between messages) instead
 * of opening one TCP connection per message, and per-destination concurrency bounds the connections opened.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { startTestNode, client, eventually } from '../helpers.ts';
import { repoOf, startScriptedSink } from './relay-helpers.ts';

test('10 messages sent one after another to one next hop use fewer connections than messages', async () => {
  const sink = await startScriptedSink();
  const node = await startTestNode({ settings: { mta: { hostname: 'gw.moat.test', relayHost: `127.0.0.1:${sink.port}` } } });
  try {
    const tx = client(node.smtpPort);
    for (let i = 0; i < 10; i++) {
      await tx.sendMail({ from: 'alice@inside.test', to: `bob${i}@outside.test`, subject: `seq ${i}`, text: 'x' });
      // Let each delivery finish before the next message arrives, so every message could reuse the connection.
      await sink.waitFor(i + 1);
      await eventually(async () => (await repoOf(node).count()) === 0, 10_000, 'delivery recorded');
    }
    assert.equal(sink.messages.length, 10);
    assert.ok(sink.connections < 10, `expected reuse, got ${sink.connections} connections for 10 messages`);
    assert.ok(sink.connections <= 2, `one connection should carry them all, got ${sink.connections}`);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});

test('10 messages queued at once with destination concurrency 1 share one connection', async () => {
  const sink = await startScriptedSink();
  const node = await startTestNode({
    settings: { mta: { hostname: 'gw.moat.test', relayHost: `127.0.0.1:${sink.port}`, paused: { sending: true }, queue: { destinationConcurrency: 1 } } },
  });
  try {
    const tx = client(node.smtpPort);
    for (let i = 0; i < 10; i++) await tx.sendMail({ from: 'alice@inside.test', to: `carol${i}@outside.test`, subject: `burst ${i}`, text: 'x' });
    await node.settings.set('mta.paused.sending', false, 'test');
    await sink.waitFor(10, 20_000);
    assert.ok(sink.connections < 10, `expected reuse, got ${sink.connections} connections for 10 messages`);
    assert.ok(sink.connections <= 2, `with concurrency 1, one connection should carry them all, got ${sink.connections}`);
    assert.equal(new Set(sink.messages.map((m) => m.to[0])).size, 10, 'each message exactly once');
  } finally {
    await node.cleanup();
    await sink.close();
  }
});

test('per-destination concurrency bounds the connections open to one next hop', async () => {
  const sink = await startScriptedSink();
  sink.dataDelayMs = 150; // a slow next hop, so deliveries overlap
  const node = await startTestNode({
    settings: { mta: { hostname: 'gw.moat.test', relayHost: `127.0.0.1:${sink.port}`, paused: { sending: true }, queue: { destinationConcurrency: 2 } } },
  });
  try {
    const tx = client(node.smtpPort);
    for (let i = 0; i < 10; i++) await tx.sendMail({ from: 'alice@inside.test', to: `dan${i}@outside.test`, subject: `limit ${i}`, text: 'x' });
    await node.settings.set('mta.paused.sending', false, 'test');
    await sink.waitFor(10, 30_000);
    assert.ok(sink.maxOpen <= 2, `at most 2 connections at once, saw ${sink.maxOpen}`);
    assert.ok(sink.maxOpen >= 1);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});

test('a pooled connection the next hop has closed meanwhile is not used: the next message goes out at once', async () => {
  // The sink drops sessions idle for 300 ms (smtp-server answers 421 and closes), much sooner than Moat's 60 s.
  const sink = await startScriptedSink({ socketTimeoutMs: 300 });
  const node = await startTestNode({ settings: { mta: { hostname: 'gw.moat.test', relayHost: `127.0.0.1:${sink.port}` } } });
  try {
    const tx = client(node.smtpPort);
    await tx.sendMail({ from: 'alice@inside.test', to: 'eve@outside.test', subject: 'first', text: 'x' });
    await sink.waitFor(1);
    await eventually(() => sink.open === 0, 10_000, 'the next hop closed the idle connection');
    const info = await tx.sendMail({ from: 'alice@inside.test', to: 'eve@outside.test', subject: 'second', text: 'x' });
    // Default back-off is 300 s: only a first-attempt delivery makes it in time.
    await sink.waitFor(2, 10_000);
    assert.ok(!node.logs.some((l) => l.msg === 'deferred'), `no spurious deferral (${info.response})`);
    assert.equal(sink.connections, 2);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});

/** A bare-bones SMTP next hop that takes one message per connection and then drops the session silently at the
 *  next MAIL: a pooled connection that looks fine until it is written to (e.g. a NAT or firewall timed it out). */
async function oneShotNextHop() {
  const subjects: string[] = [];
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    connections++;
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = '', inData = false, data = '', done = false;
    sock.write('220 oneshot.test ESMTP\r\n');
    sock.on('data', (chunk) => {
      buf += chunk.toString('latin1');
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          data += buf.slice(0, end + 2);
          buf = buf.slice(end + 5);
          inData = false;
          done = true;
          subjects.push(/^Subject: (.*)$/m.exec(data)?.[1].trim() ?? '');
          data = '';
          sock.write('250 2.0.0 queued\r\n');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'MAIL' && done) { sock.destroy(); return; }
        if (verb === 'DATA') { inData = true; sock.write('354 go ahead\r\n'); continue; }
        if (verb === 'QUIT') { sock.end('221 bye\r\n'); return; }
        sock.write(verb === 'EHLO' || verb === 'HELO' ? '250 oneshot.test\r\n' : '250 2.0.0 ok\r\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    subjects,
    get connections() { return connections; },
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

test('a reused connection that turns out dead is replaced at once, not counted as a failed delivery', async () => {
  const hop = await oneShotNextHop();
  const node = await startTestNode({ settings: { mta: { hostname: 'gw.moat.test', relayHost: `127.0.0.1:${hop.port}` } } });
  try {
    const tx = client(node.smtpPort);
    await tx.sendMail({ from: 'alice@inside.test', to: 'fay@outside.test', subject: 'one', text: 'x' });
    await eventually(async () => hop.subjects.length === 1 && (await repoOf(node).count()) === 0, 10_000, 'first delivery');
    await tx.sendMail({ from: 'alice@inside.test', to: 'fay@outside.test', subject: 'two', text: 'x' });
    // Default back-off is 300 s: only the first attempt can deliver it in time.
    await eventually(() => hop.subjects.length === 2, 10_000, 'second delivery on a new connection');
    assert.deepEqual(hop.subjects, ['one', 'two']);
    assert.equal(hop.connections, 2);
    assert.ok(!node.logs.some((l) => l.msg === 'deferred'), 'no deferral');
  } finally {
    await node.cleanup();
    await hop.close();
  }
});
