/**
 * Updating the built-in anti-virus database of a running node (issue 3 item 6: "its database is ... updatable"):
 * the node scans with a database directory from the settings; a signature file dropped into it is picked up by
 * the scan workers without a restart (scan.antivirus.reloadCheck, here 1 s), and the next message carrying that
 * pattern is infected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSink, eventually } from '../helpers.ts';
import { compose, eventsFor, eventsOf, header, sendRaw, startScanNode, waitDelivered } from './helpers.ts';

const hex = (s: string) => Buffer.from(s).toString('hex');

test('a signature file added to the database directory of a running node takes effect without a restart', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'moat-avdb-'));
  writeFileSync(join(dir, 'base.sigs'), `version 1\npattern Local.Old ${hex('an-old-local-signature')}\n`);
  const sink = await startSink();
  const node = await startScanNode(sink, { scan: { antivirus: { databases: [dir], reloadCheck: 1 } } });
  try {
    const from = 'ann@outside.test';
    const msg = (n: number) => compose({ from, to: 'bob@inside.test', subject: `report ${n}`, text: `Numbers attached.\r\nref moat-fresh-test-pattern ${n}\r\n` });
    await sendRaw(node, from, ['bob@inside.test'], await msg(0));
    const first = await waitDelivered(sink, 'bob@inside.test', 'report 0');
    assert.equal(header(first.data, 'x-moat-antivirus'), 'clean');

    writeFileSync(join(dir, 'update.sigs'), `version 2\npattern Local.Fresh ${hex('moat-fresh-test-pattern')}\n`);
    let n = 0;
    const infected = (await eventually(async () => {
      const sent = await sendRaw(node, from, ['bob@inside.test'], await msg(++n));
      // Nothing queued (250 without a queue id): the message was dropped; its event is the newest one.
      const e = sent.qid ? (await eventsFor(node, sent.qid))[0] : (await eventsOf(node).recent(1))[0];
      return e?.subject === `report ${n}` && e.modules.antivirus.status === 'infected' ? e : null;
    }, 20_000, 'the new signature to be in force'))!;
    assert.deepEqual(infected.modules.antivirus.detections?.map((d) => d.name), ['Local.Fresh']);
    assert.equal(infected.action, 'delete', 'the whole single-part message was the threat');
  } finally {
    await node.cleanup();
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
