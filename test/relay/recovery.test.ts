/**
 * Start-up recovery of the spool and the queue index, each crash window set up by hand in one data directory:
 *   - an acknowledged spool file whose row never got written → queued again and delivered;
 *   - a half-received file in incoming/ (never acknowledged) → discarded, not delivered;
 *   - a row whose recipients are all final but whose file was not removed yet → finished, not delivered again;
 *   - a row without its spool file → removed, with an error logged;
 *   - an unreadable file in queue/ → left in place, logged, and the node still starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestNode, eventually } from '../helpers.ts';
import { Spool, type Envelope } from '../../src/spool/spool.ts';
import { openStore } from '../../src/store/db.ts';
import { QueueRepo } from '../../src/store/queue-repo.ts';
import { newQueueId } from '../../src/platform/ids.ts';
import { header, repoOf, sleep, spoolFile, spoolFiles, startScriptedSink, tempDir } from './relay-helpers.ts';

async function spoolMessage(spool: Spool, subject: string, to: string[]): Promise<Envelope> {
  const envelope: Envelope = {
    v: 1, id: newQueueId(), sender: 'alice@inside.test', recipients: to, clientIp: '127.0.0.1', helo: 'client.test',
    authUser: null, receivedAt: Date.now(), isBounce: false,
  };
  const w = await spool.create(envelope);
  w.end(Buffer.from(`From: alice@inside.test\r\nTo: ${to.join(', ')}\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n`));
  await w.commit();
  return envelope;
}

function row(e: Envelope, size = 100) {
  return {
    id: e.id, node: 'test', sender: e.sender, recipients: e.recipients, clientIp: e.clientIp, helo: e.helo, messageId: null,
    receivedAt: e.receivedAt, size, expiresAt: e.receivedAt + 86400_000, isBounce: false, nextAttemptAt: e.receivedAt,
  };
}

test('start-up recovery reconciles the spool and the queue index', async () => {
  const dataDir = tempDir('moat-recover-');
  const sink = await startScriptedSink();
  try {
    const spool = new Spool(dataDir);
    const store = await openStore(`sqlite:${join(dataDir, 'moat.db')}`);
    const repo = new QueueRepo(store.db);

    const orphan = await spoolMessage(spool, 'orphan file', ['bob@outside.test']);
    const done = await spoolMessage(spool, 'already delivered', ['carol@outside.test']);
    await repo.insert([row(done)]);
    assert.ok(await repo.recordAttempt(done.id, [{ idx: 0, state: 'delivered', response: '250 ok' }], Date.now(), null, Date.now()));
    const missing: Envelope = { ...orphan, id: newQueueId(), recipients: ['dave@outside.test'] };
    await repo.insert([row(missing)]);
    writeFileSync(join(spool.incomingDir, newQueueId()), '{"v":1,"id":"half"}\nSubject: half received\r\n\r\nthe client never saw a 250');
    const corruptId = newQueueId();
    writeFileSync(spool.path(corruptId), 'this is not an envelope line');
    spool.close();
    await store.close();

    const node = await startTestNode({ dataDir, settings: { mta: { hostname: 'gw.moat.test', relayHost: `127.0.0.1:${sink.port}` } } });
    try {
      assert.deepEqual(spoolFiles(dataDir, 'incoming'), [], 'half-received file discarded');
      const [m] = await sink.waitFor(1, 15_000);
      assert.equal(header(m.data.toString(), 'Subject'), 'orphan file');
      assert.deepEqual(m.to, ['bob@outside.test']);
      const q = repoOf(node);
      await eventually(async () => (await q.ids('test')).length === 0, 10_000, 'queue empty');
      assert.equal(existsSync(spoolFile(dataDir, orphan.id)), false);
      assert.equal(existsSync(spoolFile(dataDir, done.id)), false, 'finished message removed');
      await sleep(300);
      assert.equal(sink.messages.length, 1, 'the already-delivered message is not sent again; the half-received one never');
      assert.ok(node.logs.some((l) => l.qid === missing.id && /without spool file/.test(String(l.msg))), 'missing data is reported');
      assert.ok(node.logs.some((l) => l.qid === corruptId && /unreadable spool file/.test(String(l.msg))), 'corrupt file is reported');
      assert.ok(existsSync(spoolFile(dataDir, corruptId)), 'a corrupt file is kept for the administrator');
      const recovered = node.logs.find((l) => l.msg === 'queue recovered');
      assert.equal(recovered?.restored, 1);
      assert.equal(recovered?.dropped, 1);
      assert.equal(recovered?.discardedIncoming, 1);
    } finally {
      await node.cleanup();
    }
  } finally {
    await sink.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('messages left in spool/received/ are processed again at start (reprocess hook), or queued as they are without one', async () => {
  const dataDir = tempDir('moat-received-');
  const sink = await startScriptedSink();
  try {
    const spool = new Spool(dataDir);
    const envelope: Envelope = {
      v: 1, id: newQueueId(), sender: 'alice@inside.test', recipients: ['bob@outside.test'], clientIp: '127.0.0.1', helo: 'client.test',
      authUser: null, receivedAt: Date.now(), isBounce: false,
    };
    const w = await spool.create(envelope);
    w.end(Buffer.from('Subject: waiting for a scan\r\n\r\nbody\r\n'));
    await w.commit('received');
    spool.close();
    assert.deepEqual(spoolFiles(dataDir, 'queue'), []);

    // No reprocess hook (scanning off): the message is queued as it is and delivered.
    const node = await startTestNode({ dataDir, settings: { mta: { hostname: 'gw.moat.test', relayHost: `127.0.0.1:${sink.port}` } } });
    try {
      await eventually(() => sink.messages.length === 1, 15_000, 'delivery of the received message');
      assert.match(sink.messages[0].data.toString(), /Subject: waiting for a scan/);
      assert.ok(!existsSync(join(dataDir, 'spool', 'received', envelope.id)));
    } finally {
      await node.cleanup(true);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    await sink.close();
  }
});
