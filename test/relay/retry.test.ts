/**
 * Retries: a message whose next hop is down (nothing listens) or answers 451 to DATA stays queued with its attempt
 * count and last error, and is delivered by a later retry once the next hop is back; then the queue row and the
 * spool file are gone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { startTestNode, client, eventually } from '../helpers.ts';
import { freePort, queueIdOf, repoOf, runCli, spoolFile, startScriptedSink, tempDir, writeBootstrap, type ScriptedSink, until } from './relay-helpers.ts';

const fastRetry = { retryInitial: 1, retryMax: 2 };

test('a message for a next hop that is down is retried and delivered once it comes back', async () => {
  const port = await freePort();
  const node = await startTestNode({
    settings: { mta: { hostname: 'gw.moat.test', queue: fastRetry, domains: [{ name: 'later.test', local: false, route: `127.0.0.1:${port}` }] } },
  });
  const cfgDir = tempDir('moat-retry-cli-');
  let sink: ScriptedSink | undefined;
  try {
    const info = await client(node.smtpPort).sendMail({ from: 'alice@inside.test', to: 'bob@later.test', subject: 'retry me', text: 'body' });
    const id = queueIdOf(info.response);
    const repo = repoOf(node);

    const deferred = await until(async () => {
      const m = await repo.get(id);
      return m && m.attempts >= 1 && m.lastError ? m : undefined;
    }, 10_000, 'a failed first attempt');
    assert.match(deferred.lastError!, /^451 4\.4\.1 /);
    assert.equal(deferred.state, 'queued');
    assert.deepEqual(deferred.recipients.map((r) => [r.address, r.state]), [['bob@later.test', 'pending']]);
    assert.ok(deferred.nextAttemptAt > deferred.receivedAt, 'next attempt is scheduled in the future');
    assert.ok(existsSync(spoolFile(node.dataDir, id)), 'spool file kept while deferred');

    // The CLI sees the same: attempts ≥ 1 and the last error.
    const cfg = writeBootstrap(cfgDir, { node: 'test', dataDir: node.dataDir });
    const list = await runCli(['queue', 'list', '--min-attempts', '1'], cfg);
    assert.equal(list.code, 0, list.stderr);
    const line = list.stdout.split('\n').find((l) => l.startsWith(id));
    assert.ok(line, `queue list shows ${id}:\n${list.stdout}`);
    assert.match(line, /attempts=[1-9]\d* /);
    assert.match(line, /last="451 4\.4\.1 /);

    sink = await startScriptedSink({ port });
    const [m] = await sink.waitFor(1, 15_000);
    assert.deepEqual(m.to, ['bob@later.test']);
    assert.match(m.data.toString(), /Subject: retry me/);
    await eventually(async () => (await repo.count()) === 0, 10_000, 'queue empty');
    assert.equal(existsSync(spoolFile(node.dataDir, id)), false, 'spool file removed');
    assert.equal(sink.messages.length, 1, 'delivered exactly once');
    const delivered = node.logs.find((l) => l.qid === id && l.msg === 'delivered');
    assert.ok(delivered, 'delivery logged');
  } finally {
    await node.cleanup();
    await sink?.close();
    rmSync(cfgDir, { recursive: true, force: true });
  }
});

test('a 451 at the end of DATA defers the message; it goes out once the next hop accepts', async () => {
  const sink = await startScriptedSink();
  sink.failData = { code: 451, text: '4.3.0 queue file write error, try again' };
  const node = await startTestNode({
    settings: { mta: { hostname: 'gw.moat.test', queue: fastRetry, domains: [{ name: 'busy.test', local: false, route: `127.0.0.1:${sink.port}` }] } },
  });
  try {
    const info = await client(node.smtpPort).sendMail({ from: 'alice@inside.test', to: ['one@busy.test', 'two@busy.test'], subject: 'busy', text: 'body' });
    const id = queueIdOf(info.response);
    const repo = repoOf(node);
    const deferred = await until(async () => {
      const m = await repo.get(id);
      return m && m.attempts >= 1 ? m : undefined;
    }, 10_000, 'a failed first attempt');
    assert.match(deferred.lastError ?? '', /451.*try again/);
    assert.deepEqual(deferred.recipients.map((r) => r.state), ['pending', 'pending']);
    assert.ok(deferred.recipients.every((r) => /451/.test(r.lastResponse ?? '')));
    assert.equal(sink.messages.length, 0);

    sink.failData = null;
    const [m] = await sink.waitFor(1, 15_000);
    assert.deepEqual(m.to.sort(), ['one@busy.test', 'two@busy.test']);
    await eventually(async () => (await repo.count()) === 0, 10_000, 'queue empty');
    assert.equal(existsSync(spoolFile(node.dataDir, id)), false, 'spool file removed');
    assert.equal(sink.messages.length, 1, 'one transaction for both recipients, no duplicate');
  } finally {
    await node.cleanup();
    await sink.close();
  }
});
