/**
 * A destination that answers nothing (TCP accepted, no greeting) is marked unreachable after the first failed
 * attempt: the other messages queued for it are deferred at once instead of each waiting out its own timeout
 * (Postfix's dead-destination handling). Once the mark lapses and the destination answers, everything goes out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { startTestNode, client } from '../helpers.ts';
import { freePort, repoOf, startScriptedSink, until, type ScriptedSink } from './relay-helpers.ts';

test('an unreachable destination is tried once, the rest of its queue is deferred at once, then all are delivered', async () => {
  const port = await freePort();
  let connections = 0;
  const sockets = new Set<Socket>();
  const blackhole = createServer((sock) => { connections++; sockets.add(sock); sock.on('error', () => {}); });
  await new Promise<void>((r) => blackhole.listen(port, '127.0.0.1', () => r()));
  const node = await startTestNode({ settings: { mta: {
    hostname: 'gw.moat.test',
    queue: { retryInitial: 2, retryMax: 2, connectTimeout: 1, destinationConcurrency: 1 },
    domains: [{ name: 'slow.test', local: false, route: `127.0.0.1:${port}` }],
  } } });
  let sink: ScriptedSink | undefined;
  try {
    const mailer = client(node.smtpPort);
    await Promise.all(Array.from({ length: 8 }, (_, i) => mailer.sendMail({ from: 'a@inside.test', to: `r${i}@slow.test`, subject: `m${i}`, text: 'x' })));
    const repo = repoOf(node);
    const all = await until(async () => {
      const list = await repo.list({});
      return list.length === 8 && list.every((m) => m.attempts >= 1) ? list : undefined;
    }, 20_000, 'one attempt for each of the 8 messages');
    // One connection found the destination dead; the others were not made to wait for their own timeout.
    assert.ok(connections <= 2, `expected at most 2 connections to the silent host, got ${connections}`);
    assert.ok(all.some((m) => /destination unreachable, not retried before/.test(m.lastError ?? '')), 'the deferral says why');

    // The destination comes back on the same port.
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => blackhole.close(() => r()));
    sink = await startScriptedSink({ port });
    await until(async () => (sink!.messages.length === 8 ? true : undefined), 30_000, 'all 8 delivered after the destination is back');
    assert.equal((await repo.list({})).length, 0);
  } finally {
    for (const s of sockets) s.destroy();
    blackhole.close();
    await node.cleanup();
    await sink?.close();
  }
});
