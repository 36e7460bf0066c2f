/**
 * Per-recipient results in one SMTP transaction: the accepted recipient is delivered once, the refused one fails
 * at once with a DSN naming only it, the deferred one stays pending and is delivered later without re-sending to
 * the others.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startTestNode, client, eventually } from '../helpers.ts';
import { defaultRcpt, multipart, queueIdOf, repoOf, spoolFile, startScriptedSink, until } from './relay-helpers.ts';

test('ok, reject and defer recipients of one message each get their own outcome', async () => {
  const sink = await startScriptedSink();
  const node = await startTestNode({
    settings: {
      mta: {
        hostname: 'gw.moat.test',
        // Default back-off (300 s): the second attempt happens only when the test asks for it.
        domains: [
          { name: 'mixed.test', local: false, route: `127.0.0.1:${sink.port}` },
          { name: 'sender.test', local: false, route: `127.0.0.1:${sink.port}` },
        ],
      },
    },
  });
  try {
    const info = await client(node.smtpPort).sendMail({
      from: 'alice@sender.test', to: ['ok1@mixed.test', 'reject1@mixed.test', 'defer1@mixed.test'], subject: 'mixed bag', text: 'hello',
    });
    const id = queueIdOf(info.response);
    const repo = repoOf(node);

    // One transaction: the accepted recipient only, and the DSN for the refused one.
    await sink.waitFor(2, 15_000);
    const originals = () => sink.messages.filter((m) => m.from === 'alice@sender.test');
    const dsns = () => sink.messages.filter((m) => m.from === '');
    assert.equal(originals().length, 1);
    assert.deepEqual(originals()[0].to, ['ok1@mixed.test']);
    assert.equal(dsns().length, 1);
    const dsn = dsns()[0];
    assert.deepEqual(dsn.to, ['alice@sender.test']);
    const { parts } = multipart(dsn.data.toString());
    const status = parts.find((p) => p.contentType.startsWith('message/delivery-status'));
    assert.ok(status, 'a message/delivery-status part');
    assert.match(status.body, /^Final-Recipient: rfc822; ?reject1@mixed\.test$/m);
    assert.match(status.body, /^Action: failed$/m);
    assert.match(status.body, /^Status: 5\.1\.1$/m);
    assert.match(status.body, /^Diagnostic-Code: smtp; .*550.*no such user/m);
    assert.equal(status.body.match(/^Final-Recipient:/gm)?.length, 1, 'the DSN names only the refused recipient');
    assert.doesNotMatch(status.body, /ok1@|defer1@/);

    const after1 = await until(async () => {
      const m = await repo.get(id);
      return m && m.attempts === 1 ? m : undefined;
    }, 10_000, 'first attempt recorded');
    assert.deepEqual(after1.recipients.map((r) => [r.address, r.state, r.attempts]), [
      ['ok1@mixed.test', 'delivered', 1], ['reject1@mixed.test', 'failed', 1], ['defer1@mixed.test', 'pending', 1],
    ]);
    assert.match(after1.recipients[2].lastResponse ?? '', /451.*try later/);
    assert.match(after1.recipients[1].lastResponse ?? '', /550.*no such user/);
    assert.match(after1.lastError ?? '', /451/);
    assert.ok(existsSync(spoolFile(node.dataDir, id)));

    // The next hop now accepts defer1@; a retry delivers to it alone.
    sink.rcpt = (a) => (a.startsWith('defer') ? null : defaultRcpt(a));
    await repo.retryNow('test', Date.now(), id);
    node.queue.kick();
    await eventually(() => originals().length === 2, 15_000, 'second delivery');
    assert.deepEqual(originals()[1].to, ['defer1@mixed.test']);
    await eventually(async () => (await repo.count()) === 0, 10_000, 'queue empty');
    assert.equal(existsSync(spoolFile(node.dataDir, id)), false);
    const all = sink.messages.flatMap((m) => m.to);
    assert.equal(all.filter((a) => a === 'ok1@mixed.test').length, 1, 'ok1 delivered exactly once');
    assert.equal(dsns().length, 1, 'no further DSN');
  } finally {
    await node.cleanup();
    await sink.close();
  }
});

test('all recipients refused at RCPT: every one fails with its own status, one DSN lists them all', async () => {
  const sink = await startScriptedSink();
  sink.rcpt = (a) => (a.startsWith('gone') ? { code: 550, text: '5.1.1 mailbox gone' } : a.startsWith('bad') ? { code: 553, text: '5.1.3 bad address' } : null);
  const node = await startTestNode({
    settings: { mta: { hostname: 'gw.moat.test', relayHost: `127.0.0.1:${sink.port}` } },
  });
  try {
    const info = await client(node.smtpPort).sendMail({ from: 'alice@sender.test', to: ['gone1@x.test', 'bad1@x.test'], subject: 's', text: 'x' });
    const id = queueIdOf(info.response);
    const [dsn] = await sink.waitFor(1, 15_000);
    assert.equal(dsn.from, '');
    const status = multipart(dsn.data.toString()).parts.find((p) => p.contentType.startsWith('message/delivery-status'))!;
    const blocks = status.body.split(/\r?\n\r?\n/).filter((b) => /Final-Recipient/.test(b));
    assert.equal(blocks.length, 2);
    assert.match(blocks.find((b) => /gone1@/.test(b))!, /^Status: 5\.1\.1$/m);
    assert.match(blocks.find((b) => /bad1@/.test(b))!, /^Status: 5\.1\.3$/m);
    await eventually(async () => (await repoOf(node).count()) === 0, 10_000, 'queue empty');
    assert.equal(existsSync(spoolFile(node.dataDir, id)), false);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});

test('150 recipients for one next hop go out in transactions of at most 100 recipients, each exactly once', async () => {
  const sink = await startScriptedSink();
  const node = await startTestNode({ settings: { mta: { hostname: 'gw.moat.test', relayHost: `127.0.0.1:${sink.port}` } } });
  try {
    const to = Array.from({ length: 150 }, (_, i) => `user${i}@many.test`);
    await client(node.smtpPort).sendMail({ from: 'alice@sender.test', to, subject: 'many', text: 'x' });
    await sink.waitFor(2, 15_000);
    assert.deepEqual(sink.messages.map((m) => m.to.length).sort((a, b) => b - a), [100, 50]);
    assert.deepEqual(sink.messages.flatMap((m) => m.to).sort(), [...to].sort());
    await eventually(async () => (await repoOf(node).count()) === 0, 10_000, 'queue empty');
  } finally {
    await node.cleanup();
    await sink.close();
  }
});

test('a refusal at the end of DATA applies to the recipients accepted at RCPT, not to those deferred there', async () => {
  const sink = await startScriptedSink();
  sink.failData = { code: 554, text: '5.7.1 message content rejected' };
  const node = await startTestNode({
    settings: {
      mta: {
        hostname: 'gw.moat.test',
        domains: [{ name: 'mixed.test', local: false, route: `127.0.0.1:${sink.port}` }],
        relayHost: `127.0.0.1:${sink.port}`,
      },
    },
  });
  try {
    const info = await client(node.smtpPort).sendMail({ from: 'alice@sender.test', to: ['ok1@mixed.test', 'defer1@mixed.test', 'reject1@mixed.test'], subject: 'refused content', text: 'x' });
    const id = queueIdOf(info.response);
    const m = await until(async () => {
      const r = await repoOf(node).get(id);
      return r && r.attempts >= 1 ? r : undefined;
    }, 10_000, 'first attempt');
    assert.deepEqual(m.recipients.map((r) => [r.address, r.state]), [['ok1@mixed.test', 'failed'], ['defer1@mixed.test', 'pending'], ['reject1@mixed.test', 'failed']]);
    assert.match(m.recipients[0].lastResponse ?? '', /554.*content rejected/);
    assert.match(m.recipients[1].lastResponse ?? '', /451.*try later/);
    assert.match(m.recipients[2].lastResponse ?? '', /550.*no such user/);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});
