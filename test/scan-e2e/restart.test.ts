/**
 * Crash safety with scanning (SPEC §1 Durability, §2): a message acknowledged with 250 while its scan is still
 * running (past the inline budget; a fake clamd holds its answer) and the node stopped before the scan ends. The
 * message must stay in spool/received/ and be scanned again at the next start: an EICAR attachment arrives
 * cleaned, exactly once, and never uncleaned (a scan cut short by the shutdown is not a verdict).
 * Also a message written straight into spool/received/ (as a crash leaves it) is scanned at start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSink, eventually } from '../helpers.ts';
import { Spool } from '../../src/spool/spool.ts';
import { newQueueId } from '../../src/platform/ids.ts';
import { EICAR, compose, eventsFor, header, partText, queueCount, sendRaw, startFakeClamd, startScanNode, topParts, waitDelivered, type FakeClamd } from './helpers.ts';

const infectedMail = (subject: string) => compose({
  from: 'alice@outside.test', to: 'bob@inside.test', subject, text: 'Report attached.\r\n',
  attachments: [{ filename: 'eicar.com', content: Buffer.from(EICAR), contentType: 'application/octet-stream' }],
});

function assertCleaned(data: Buffer, subject: string): void {
  assert.equal(header(data, 'subject'), `[Infected] ${subject}`);
  assert.equal(header(data, 'x-moat-antivirus'), 'infected (Eicar-Test-Signature)');
  assert.ok(!data.includes('EICAR-STANDARD') && !data.includes(Buffer.from(EICAR).toString('base64').slice(0, 24)), 'no EICAR bytes');
  assert.equal(partText(topParts(data)[1]), 'The attachment "eicar.com" was removed by the mail gateway (antivirus: infected, Eicar-Test-Signature).\r\n');
}

test('node stopped while a message accepted past the budget is being scanned: rescanned after restart, delivered cleaned once', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'moat-e2e-restart-'));
  const sink = await startSink();
  let fake: FakeClamd | undefined;
  let node: Awaited<ReturnType<typeof startScanNode>> | undefined;
  try {
    fake = await startFakeClamd();
    const settings = { scan: { inlineBudget: 1, antivirus: { builtin: true, clamav: { port: fake.port, timeout: 60 } } } };
    node = await startScanNode(sink, settings, { dataDir });
    const sent = await sendRaw(node, 'alice@outside.test', ['bob@inside.test'], await infectedMail('cut short'));
    assert.match(sent.response, /^250 /);
    await eventually(() => fake!.waiting >= 1, 15_000, 'the scan to reach clamd');
    await node.cleanup();
    node = undefined;
    assert.deepEqual(readdirSync(join(dataDir, 'spool', 'received')), [sent.qid], 'still waiting for its scan');
    assert.deepEqual(readdirSync(join(dataDir, 'spool', 'queue')), [], 'nothing queued by the interrupted scan');
    assert.deepEqual(sink.messages, []);

    // clamd answers again; the restarted node finds the message in received/ and scans it.
    fake.release('stream: OK');
    node = await startScanNode(sink, settings, { dataDir });
    const m = await waitDelivered(sink, 'bob@inside.test', 'cut short');
    assertCleaned(m.data, 'cut short');
    const events = await eventsFor(node, sent.qid);
    assert.deepEqual(events.map((e) => [e.rule, e.action]), [['Default', 'delete_attachment']], 'one verdict, after the restart');
    await eventually(async () => (await queueCount(node!)) === 0, 15_000, 'an empty queue');
    assert.equal(sink.messages.length, 1, 'delivered once');
    assert.deepEqual(readdirSync(join(dataDir, 'spool', 'received')), []);
  } finally {
    await node?.cleanup();
    await fake?.close();
    await sink.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a message left in spool/received/ by a crash is scanned and disposed of at start', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'moat-e2e-received-'));
  const sink = await startSink();
  let node: Awaited<ReturnType<typeof startScanNode>> | undefined;
  try {
    // What an acknowledged, not yet processed message looks like on disk (written by the spool itself).
    const spool = new Spool(dataDir);
    const id = newQueueId(Date.now());
    const w = await spool.create({ v: 1, id, sender: 'alice@outside.test', recipients: ['bob@inside.test'], clientIp: '192.0.2.7', helo: 'mx.outside.test', authUser: null, receivedAt: Date.now(), isBounce: false });
    w.end(await infectedMail('left behind'));
    await w.commit('received');
    spool.close();
    assert.deepEqual(readdirSync(join(dataDir, 'spool', 'received')), [id]);

    node = await startScanNode(sink, {}, { dataDir });
    const m = await waitDelivered(sink, 'bob@inside.test', 'left behind');
    assertCleaned(m.data, 'left behind');
    const [ev] = await eventsFor(node, id);
    assert.equal(ev.rule, 'Default');
    assert.equal(ev.clientIp, '192.0.2.7');
    await eventually(async () => (await queueCount(node!)) === 0, 15_000, 'an empty queue');
    assert.deepEqual(readdirSync(join(dataDir, 'spool', 'received')), []);
    assert.equal(sink.messages.length, 1);
  } finally {
    await node?.cleanup();
    await sink.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
