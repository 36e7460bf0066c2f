/**
 * End to end through SMTP with a real clamd (issue 3 item 8): clamd runs on a private test database (an EICAR
 * signature and a custom `MOAT-TEST-VIRUS` one, which the built-in engine does not know), and the node is switched
 * at run time to ClamAV only. The custom-signature attachment is removed under the Default rule with clamd's threat
 * name in the notice and the header. Then clamd is stopped: anti-virus reports `error`, the Default rule's `error`
 * block skips with `[Not scanned]`, and the message is delivered whole (nothing lost).
 *
 * Skipped locally when clamd is not installed; a failure when CI is set.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSink, eventually } from '../helpers.ts';
import { findClamd, hex, startClamd, type RunningClamd } from '../antivirus/helpers.ts';
import { EICAR, compose, eventsFor, header, partText, queueCount, sendRaw, startScanNode, topParts, waitDelivered } from './helpers.ts';

const bin = findClamd();
const skip = bin || process.env.CI ? false : 'clamd is not installed (apt-get install clamav-daemon); skipped locally';
if (skip) console.log(`# ${skip}`);

const VIRUS = 'MOAT-TEST-VIRUS';

test('real clamd: its detection removes the attachment; clamd stopped → error → [Not scanned], delivered', { skip, timeout: 90_000 }, async () => {
  if (!bin) assert.fail('clamd is required when CI is set (apt-get install clamav-daemon)');
  const dir = mkdtempSync(join(tmpdir(), 'moat-e2e-clamd-'));
  const sink = await startSink();
  let clamd: RunningClamd | undefined;
  let node: Awaited<ReturnType<typeof startScanNode>> | undefined;
  try {
    clamd = await startClamd(bin, dir, { 'moat-e2e.ndb': `Moat.Test.EICAR:0:*:${hex(EICAR)}\nMoat.Test.Custom-Virus:0:*:${hex(VIRUS)}\n` });
    node = await startScanNode(sink);
    await node.settings.set('scan.antivirus', { builtin: false, clamav: { socket: clamd.socket, timeout: 10 } }, 'test');

    // The custom signature, over the unix socket.
    const infected = await compose({
      from: 'alice@outside.test', to: 'bob@inside.test', subject: 'custom', text: 'See attached.\r\n',
      attachments: [{ filename: 'payload.bin', content: Buffer.from(`header ${VIRUS} trailer\r\n`), contentType: 'application/octet-stream' }],
    });
    const s1 = await sendRaw(node, 'alice@outside.test', ['bob@inside.test'], infected);
    const m1 = await waitDelivered(sink, 'bob@inside.test', 'custom');
    const threat = /^infected \((Moat\.Test\.Custom-Virus(?:\.UNOFFICIAL)?)\)$/.exec(header(m1.data, 'x-moat-antivirus') ?? '')?.[1];
    assert.ok(threat, `X-Moat-Antivirus names clamd's threat: ${header(m1.data, 'x-moat-antivirus')}`);
    assert.equal(header(m1.data, 'subject'), '[Infected] custom');
    assert.equal(header(m1.data, 'x-moat-action'), 'delete_attachment');
    const parts = topParts(m1.data);
    assert.equal(parts[0], topParts(infected)[0]);
    assert.equal(partText(parts[1]), `The attachment "payload.bin" was removed by the mail gateway (antivirus: infected, ${threat}).\r\n`);
    assert.ok(!m1.data.includes(VIRUS) && !m1.data.includes(Buffer.from(`header ${VIRUS}`).toString('base64').slice(0, 16)));
    const [e1] = await eventsFor(node, s1.qid);
    assert.equal(e1.rule, 'Default');
    assert.equal(e1.modules.antivirus.status, 'infected');
    assert.deepEqual(e1.modules.antivirus.detections?.map((d) => d.name), [threat]);

    // The built-in engine is off: only clamd's signature for EICAR can name it; over TCP this time.
    await node.settings.set('scan.antivirus.clamav', { host: '127.0.0.1', port: clamd.port, timeout: 10 }, 'test');
    await sendRaw(node, 'alice@outside.test', ['bob@inside.test'], await compose({
      from: 'alice@outside.test', to: 'bob@inside.test', subject: 'eicar over tcp', text: 'x\r\n',
      attachments: [{ filename: 'eicar.txt', content: EICAR }],
    }));
    const m2 = await waitDelivered(sink, 'bob@inside.test', 'eicar over tcp');
    assert.match(header(m2.data, 'x-moat-antivirus') ?? '', /^infected \(Moat\.Test\.EICAR(\.UNOFFICIAL)?\)$/);

    // clamd goes away: every message still gets a verdict the rule handles, and is delivered.
    await clamd.stop();
    const clean = await compose({
      from: 'alice@outside.test', to: 'bob@inside.test', subject: 'while clamd is down', text: 'Still here.\r\n',
      attachments: [{ filename: 'notes.txt', content: 'some notes\r\n' }],
    });
    const s3 = await sendRaw(node, 'alice@outside.test', ['bob@inside.test'], clean);
    const m3 = await waitDelivered(sink, 'bob@inside.test', 'while clamd is down');
    assert.equal(header(m3.data, 'subject'), '[Not scanned] while clamd is down');
    assert.equal(header(m3.data, 'x-moat-antivirus'), 'error');
    assert.equal(header(m3.data, 'x-moat-action'), 'skip');
    assert.deepEqual(topParts(m3.data), topParts(clean), 'delivered whole');
    const [e3] = await eventsFor(node, s3.qid);
    assert.equal(e3.rule, 'Default');
    assert.equal(e3.action, 'skip');
    assert.equal(e3.modules.antivirus.status, 'error');

    await eventually(async () => (await queueCount(node!)) === 0, 15_000, 'an empty queue');
    assert.equal(sink.messages.length, 3);
  } finally {
    await node?.cleanup();
    await clamd?.stop();
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
