/**
 * The inline time budget (SPEC §2, `scan.inlineBudget`) end to end: the anti-virus scan waits on a fake clamd that
 * holds its answer until the test releases it, so a scan lasts exactly as long as the test wants (no timing
 * assertions). With a 1 s budget the client gets 250 while the scan is still running, and the message is
 * delivered once the scan finishes; a rule verdict `reject` that comes after the budget is carried out as
 * `delete` (nothing delivered, no 550). A clamd that never answers ends in `error` after `scan.maxScanTime`, and
 * the Default rule delivers the message tagged `[Not scanned]`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startSink, eventually } from '../helpers.ts';
import type { TrafficEvent } from '../../src/disposition/intake.ts';
import { compose, deliveredTo, eventsFor, header, queueCount, rulesOf, sendRaw, startFakeClamd, startScanNode, waitDelivered, type FakeClamd } from './helpers.ts';

test('inline budget: 250 before the scan ends, delivery after it; a late reject becomes delete; a silent clamd times out to [Not scanned]', { timeout: 60_000 }, async () => {
  const sink = await startSink();
  let fake: FakeClamd | undefined;
  let node: Awaited<ReturnType<typeof startScanNode>> | undefined;
  try {
    fake = await startFakeClamd();
    node = await startScanNode(sink, { scan: { inlineBudget: 1, antivirus: { builtin: true, clamav: { port: fake.port, timeout: 60 } } } });
    await rulesOf(node).create({
      name: 'Late reject', recipients: ['late@inside.test'],
      modules: { antivirus: { enabled: true, blocks: [{ statuses: ['infected', 'probably_infected', 'riskware'], action: 'reject', backup: false, tag: '' }, { statuses: ['error'], action: 'skip', backup: false, tag: '[Not scanned]' }] } },
    });
    const from = 'alice@outside.test';
    const received = () => readdirSync(join(node!.dataDir, 'spool', 'received'));

    // 1. Past the budget: 250 while clamd still holds its answer, so the scan cannot have ended.
    const s1 = await sendRaw(node, from, ['bob@inside.test'], await compose({ from, to: 'bob@inside.test', subject: 'slow scan', text: 'Hello.\r\n' }));
    assert.match(s1.response, /^250 2\.0\.0 Ok: queued as /);
    assert.deepEqual(await eventsFor(node, s1.qid), [], 'no verdict yet');
    assert.deepEqual(sink.messages, []);
    assert.deepEqual(received(), [s1.qid], 'the acknowledged message waits in spool/received/');
    await eventually(() => fake!.waiting >= 1, 15_000, 'the scan to reach clamd');
    fake.release('stream: OK');
    const m1 = await waitDelivered(sink, 'bob@inside.test', 'slow scan');
    assert.equal(header(m1.data, 'subject'), 'slow scan');
    assert.equal(header(m1.data, 'x-moat-antivirus'), 'clean');
    const [e1] = await eventsFor(node, s1.qid);
    assert.equal(e1.action, 'skip');

    // 2. A reject verdict after the budget: the client already has its 250, so the message is deleted.
    fake.hold();
    const s2 = await sendRaw(node, from, ['late@inside.test'], await compose({ from, to: 'late@inside.test', subject: 'late verdict', text: 'Hello.\r\n' }));
    assert.match(s2.response, /^250 2\.0\.0 Ok: queued as /, 'no 550 after the budget');
    await eventually(() => fake!.waiting >= 1, 15_000, 'the scan to reach clamd');
    fake.release('stream: Moat.Fake.Virus FOUND');
    const [e2] = await eventually(async () => { const ev = await eventsFor(node!, s2.qid); return ev.length ? ev : null; }, 15_000, 'the late verdict') as TrafficEvent[];
    assert.equal(e2.rule, 'Late reject');
    assert.equal(e2.action, 'delete');
    assert.equal(e2.deliveredAs, null);
    assert.equal(e2.modules.antivirus.status, 'infected');
    assert.deepEqual(e2.modules.antivirus.detections?.map((d) => d.name), ['Moat.Fake.Virus']);
    await eventually(() => received().length === 0, 15_000, 'spool/received/ to empty');

    // 3. clamd never answers: the scan ends at scan.maxScanTime with `error`, the Default rule delivers it.
    fake.hold();
    await node.settings.set('scan.maxScanTime', 2, 'test');
    const s3 = await sendRaw(node, from, ['bob@inside.test'], await compose({ from, to: 'bob@inside.test', subject: 'silent clamd', text: 'Hello.\r\n' }));
    assert.match(s3.response, /^250 /);
    const m3 = await waitDelivered(sink, 'bob@inside.test', 'silent clamd');
    assert.equal(header(m3.data, 'subject'), '[Not scanned] silent clamd');
    assert.equal(header(m3.data, 'x-moat-antivirus'), 'error');
    const [e3] = await eventsFor(node, s3.qid);
    assert.equal(e3.modules.antivirus.status, 'error');

    await eventually(async () => (await queueCount(node!)) === 0, 15_000, 'an empty queue');
    assert.deepEqual(deliveredTo(sink.messages, 'late@inside.test'), []);
    assert.equal(sink.messages.length, 2);
    assert.deepEqual(received(), []);
  } finally {
    await node?.cleanup();
    await fake?.close();
    await sink.close();
  }
});
