/**
 * Delivery status notifications on expiry (RFC 3464): with a short queue lifetime and a next hop that never
 * answers, the original sender gets a multipart/report DSN from the null sender through the relay. A message
 * from the null sender, and a bounce, expire without any DSN (no bounce loops).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startTestNode, client, eventually } from '../helpers.ts';
import { freePort, header, multipart, queueIdOf, repoOf, spoolFile, spoolFiles, startScriptedSink, submitRaw, until } from './relay-helpers.ts';

test('an expired message bounces to the original sender with an RFC 3464 DSN (Status 4.4.7)', async () => {
  const dead = await freePort();
  const senderSink = await startScriptedSink();
  const node = await startTestNode({
    settings: {
      mta: {
        hostname: 'gw.moat.test',
        queue: { lifetime: 2, retryInitial: 1, retryMax: 1 },
        domains: [
          { name: 'dead.test', local: false, route: `127.0.0.1:${dead}` },
          { name: 'sender.test', local: false, route: `127.0.0.1:${senderSink.port}` },
        ],
      },
    },
  });
  try {
    const info = await client(node.smtpPort).sendMail({
      from: 'alice@sender.test', to: 'bob@dead.test', subject: 'will expire', messageId: '<expire-1@sender.test>', text: 'SECRET BODY TEXT',
    });
    const id = queueIdOf(info.response);
    const [dsn] = await senderSink.waitFor(1, 20_000);

    assert.equal(dsn.from, '', 'a DSN is sent from the null sender <>');
    assert.deepEqual(dsn.to, ['alice@sender.test']);
    const raw = dsn.data.toString();
    assert.match(header(raw, 'From') ?? '', /MAILER-DAEMON@gw\.moat\.test/i);
    assert.equal(header(raw, 'Auto-Submitted'), 'auto-replied');
    const { contentType, parts } = multipart(raw);
    assert.match(contentType, /^multipart\/report;/i);
    assert.match(contentType, /report-type="?delivery-status"?/i);
    assert.deepEqual(parts.map((p) => p.contentType.split(';')[0]), ['text/plain', 'message/delivery-status', 'text/rfc822-headers']);

    const status = parts[1].body;
    assert.match(status, /^Reporting-MTA: dns; ?gw\.moat\.test$/m);
    assert.match(status, /^Final-Recipient: rfc822; ?bob@dead\.test$/m);
    assert.match(status, /^Action: failed$/m);
    assert.match(status, /^Status: 4\.4\.7$/m);
    assert.match(status, /^Diagnostic-Code: smtp; .*4\.4\.7/m);

    const orig = parts[2].body;
    assert.match(orig, /^Subject: will expire$/m);
    assert.match(orig, /^Message-ID: <expire-1@sender\.test>$/im);
    assert.doesNotMatch(raw, /SECRET BODY TEXT/, 'only the headers of the original are returned');

    // Both the original and the DSN are done: queue and spool empty.
    const repo = repoOf(node);
    await eventually(async () => (await repo.count()) === 0, 10_000, 'queue empty');
    // The queue row goes before the spool file (finish order), so a file may still be there for a moment.
    await eventually(() => spoolFiles(node.dataDir, 'queue').length === 0, 10_000, 'spool files removed');
    assert.equal(existsSync(spoolFile(node.dataDir, id)), false);
    assert.ok(node.logs.some((l) => l.qid === id && l.msg === 'expired'), 'expiry logged');
    assert.equal(senderSink.messages.length, 1, 'exactly one DSN');
  } finally {
    await node.cleanup();
    await senderSink.close();
  }
});

test('shortening the lifetime at run time applies to messages already queued (as Postfix does)', async () => {
  const dead = await freePort();
  const senderSink = await startScriptedSink();
  const node = await startTestNode({
    settings: {
      mta: {
        hostname: 'gw.moat.test',
        queue: { retryInitial: 1, retryMax: 1 },
        domains: [
          { name: 'dead.test', local: false, route: `127.0.0.1:${dead}` },
          { name: 'sender.test', local: false, route: `127.0.0.1:${senderSink.port}` },
        ],
      },
    },
  });
  try {
    const info = await client(node.smtpPort).sendMail({ from: 'alice@sender.test', to: 'bob@dead.test', subject: 'old message', text: 'x' });
    const id = queueIdOf(info.response);
    const repo = repoOf(node);
    await eventually(async () => ((await repo.get(id))?.attempts ?? 0) >= 1, 10_000, 'first attempt');
    await node.settings.set('mta.queue.lifetime', 2, 'test');
    const [dsn] = await senderSink.waitFor(1, 20_000);
    assert.equal(dsn.from, '');
    assert.match(dsn.data.toString(), /^Status: 4\.4\.7$/m);
    await eventually(async () => (await repo.count()) === 0, 10_000, 'queue empty');
  } finally {
    await node.cleanup();
    await senderSink.close();
  }
});

test('a message from the null sender expires without a DSN', async () => {
  const dead = await freePort();
  const sink = await startScriptedSink();
  const node = await startTestNode({
    settings: {
      mta: {
        hostname: 'gw.moat.test',
        queue: { lifetime: 2, retryInitial: 1, retryMax: 1 },
        domains: [{ name: 'dead.test', local: false, route: `127.0.0.1:${dead}` }],
        // Anything else (a DSN to whoever) would reach the sink.
        relayHost: `127.0.0.1:${sink.port}`,
      },
    },
  });
  try {
    const reply = await submitRaw(node.smtpPort, { from: '', to: ['bob@dead.test'] },
      'From: MAILER-DAEMON@elsewhere.test\nTo: bob@dead.test\nSubject: a bounce from elsewhere\n\nbody\n');
    const id = queueIdOf(reply);
    const repo = repoOf(node);
    await eventually(() => node.logs.some((l) => l.qid === id && l.msg === 'expired'), 20_000, 'expiry');
    // A DSN would be queued before the expired message is removed, so an empty queue means none was made.
    await eventually(async () => (await repo.count()) === 0, 10_000, 'queue empty');
    assert.ok(node.logs.some((l) => l.qid === id && l.msg === 'no DSN sent' && l.reason === 'null sender'));
    assert.ok(!node.logs.some((l) => l.msg === 'DSN queued'), 'no DSN queued');
    assert.equal(sink.messages.length, 0, 'nothing reached any sink');
    // The queue row goes before the spool file (finish order), so the file may still be there for a moment.
    await eventually(() => spoolFiles(node.dataDir, 'queue').length === 0, 10_000, 'spool file removed');
  } finally {
    await node.cleanup();
    await sink.close();
  }
});

test('a bounce that cannot be delivered expires after the bounce lifetime without another DSN', async () => {
  const gone = await freePort();
  const sink = await startScriptedSink();
  const node = await startTestNode({
    settings: {
      mta: {
        hostname: 'gw.moat.test',
        queue: { bounceLifetime: 2, retryInitial: 1, retryMax: 1 },
        domains: [
          // The sender's domain is unreachable, so the DSN can never be delivered.
          { name: 'gone.test', local: false, route: `127.0.0.1:${gone}` },
          { name: 'sink.test', local: false, route: `127.0.0.1:${sink.port}` },
        ],
        relayHost: `127.0.0.1:${sink.port}`,
      },
    },
  });
  try {
    // reject1@ gets 550 at RCPT: an immediate permanent failure → DSN to alice@gone.test.
    const info = await client(node.smtpPort).sendMail({ from: 'alice@gone.test', to: 'reject1@sink.test', subject: 'refused', text: 'x' });
    const id = queueIdOf(info.response);
    const queued = await until(() => node.logs.find((l) => l.qid === id && l.msg === 'DSN queued'), 10_000, 'DSN queued');
    const dsnId = queued.dsn as string;
    const repo = repoOf(node);
    const dsnRow = await repo.get(dsnId);
    assert.ok(dsnRow, 'DSN is in the queue');
    assert.equal(dsnRow.isBounce, true);
    assert.equal(dsnRow.sender, '');
    assert.deepEqual(dsnRow.recipients.map((r) => r.address), ['alice@gone.test']);

    await eventually(() => node.logs.some((l) => l.qid === dsnId && l.msg === 'expired'), 20_000, 'the DSN expires');
    await eventually(async () => (await repo.count()) === 0, 10_000, 'queue empty');
    assert.ok(node.logs.some((l) => l.qid === dsnId && l.msg === 'no DSN sent' && l.reason === 'bounce of a bounce'));
    assert.equal(node.logs.filter((l) => l.msg === 'DSN queued').length, 1, 'only the first DSN was made');
    assert.equal(sink.messages.length, 0);
    // The queue row goes before the spool file (finish order), so the file may still be there for a moment.
    await eventually(() => spoolFiles(node.dataDir, 'queue').length === 0, 10_000, 'spool file removed');
  } finally {
    await node.cleanup();
    await sink.close();
  }
});
