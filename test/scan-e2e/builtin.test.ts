/**
 * End to end through SMTP with the built-in anti-virus engine and the shipped Default rule (issue 3 item 8):
 * nodemailer → Moat (scanning on) → a real sink. An EICAR attachment is replaced by a notice, the Subject tagged
 * and the verdict put in X-Moat-* headers right after our Received line; the other parts pass byte for byte;
 * clean mail is delivered untagged with `X-Moat-Antivirus: clean`; a sender's forged X-Moat-* header is removed;
 * each message leaves a traffic event. Then `scan.enabled: false` at run time: mail relays untouched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startSink } from '../helpers.ts';
import {
  EICAR, compose, eventsFor, eventsOf, header, headerFields, moatHeaders, partText, queueCount, sendRaw, startScanNode, topParts, waitDelivered,
} from './helpers.ts';

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000' + '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082', 'hex');

test('built-in engine, Default rule: EICAR attachment replaced, tagged, status headers; clean mail untagged; forged verdict removed; traffic events', { timeout: 60_000 }, async () => {
  const sink = await startSink();
  const node = await startScanNode(sink);
  try {
    // 1. Infected: text body, EICAR attachment, a clean PNG attachment, and a forged verdict from the sender.
    const infected = await compose({
      from: 'alice@outside.test', to: 'bob@inside.test', subject: 'quarterly figures',
      headers: { 'X-Moat-Antivirus': 'clean', 'X-Moat-Rule': 'AllowList' },
      text: 'Figures attached.\r\n',
      attachments: [
        { filename: 'eicar.com', content: Buffer.from(EICAR), contentType: 'application/octet-stream' },
        { filename: 'chart.png', content: PNG, contentType: 'image/png' },
      ],
    });
    const sent = await sendRaw(node, 'alice@outside.test', ['bob@inside.test'], infected);
    const m = await waitDelivered(sink, 'bob@inside.test', 'quarterly figures');
    const text = m.data.toString('latin1');

    assert.equal(header(m.data, 'subject'), '[Infected] quarterly figures');
    assert.ok(!text.includes('EICAR-STANDARD-ANTIVIRUS-TEST-FILE'), 'the EICAR bytes are gone');
    assert.ok(!/X5O!P%@AP/.test(Buffer.from(text.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64').toString('latin1')), 'not even base64-encoded');
    // Our Received line first, then our status fields, then the sender's header (its forged fields gone).
    const fields = headerFields(m.data);
    assert.equal(fields[0][0], 'Received');
    assert.match(fields[0][1], /by gw\.moat\.test \(Moat\)/);
    assert.deepEqual(fields.slice(1, 1 + moatHeaders(m.data).length).map(([k]) => k), moatHeaders(m.data).map(([k]) => k), 'X-Moat-* right after Received');
    const moat = Object.fromEntries(moatHeaders(m.data));
    // The anti-spam rating depends on the shipped model: only its shape is checked here (antispam.test.ts has the rest).
    assert.match(moat['X-Moat-Spam-Score'], /^\d{1,3}$/);
    assert.match(moat['X-Moat-Spam-Signals'], /^CLASSIFIER\(-?[\d.]+\)|, CLASSIFIER\(/);
    for (const k of ['X-Moat-Spam-Score', 'X-Moat-Spam-Signals']) delete moat[k];
    assert.deepEqual(moat, {
      'X-Moat-Antivirus': 'infected (Eicar-Test-Signature)',
      'X-Moat-Links': 'clean',
      'X-Moat-Antispam': 'clean',
      'X-Moat-Antiphishing': 'clean',
      'X-Moat-Rule': 'Default',
      'X-Moat-Action': 'delete_attachment',
      'X-Moat-Spam-Status': 'clean',
    });
    assert.equal(moatHeaders(m.data).filter(([k]) => k === 'X-Moat-Antivirus').length, 1, 'the forged X-Moat-Antivirus is gone');

    // Part by part: the text and the PNG exactly as sent; the EICAR part replaced by a notice naming it and why.
    const before = topParts(infected);
    const after = topParts(m.data);
    assert.equal(after.length, 3);
    assert.equal(after[0], before[0], 'text part byte for byte');
    assert.equal(after[2], before[2], 'PNG part byte for byte');
    assert.match(after[1], /^Content-Type: text\/plain; charset=utf-8\r\n/im);
    assert.equal(partText(after[1]), 'The attachment "eicar.com" was removed by the mail gateway (antivirus: infected, Eicar-Test-Signature).\r\n');

    const [ev] = await eventsFor(node, sent.qid);
    assert.ok(ev, 'a traffic event');
    assert.equal(ev.rule, 'Default');
    assert.equal(ev.action, 'delete_attachment');
    assert.equal(ev.backup, true);
    assert.deepEqual(ev.recipients, ['bob@inside.test']);
    assert.equal(ev.subject, 'quarterly figures');
    assert.equal(ev.modules.antivirus.status, 'infected');
    assert.deepEqual(ev.modules.antivirus.detections?.map((d) => d.name), ['Eicar-Test-Signature']);
    assert.equal(ev.modules.links.status, 'clean');
    assert.equal(ev.modules.antiphishing.status, 'clean');
    // Every module is in the event (SPEC §6): content and auth are off in the shipped Default rule.
    assert.deepEqual(Object.keys(ev.modules).sort(), ['antiphishing', 'antispam', 'antivirus', 'auth', 'content', 'links']);
    assert.deepEqual(ev.modules.content, { status: 'not_scanned', reason: 'disabled' });
    assert.deepEqual((ev.modules.antivirus.details as { engines: string[] }).engines, ['builtin']);
    assert.equal(ev.deliveredAs !== null, true);

    // 2. Clean, with a forged X-Moat-Antivirus: delivered untagged, our `clean` verdict only.
    const clean = await compose({ from: 'carol@outside.test', to: 'dave@inside.test', subject: 'lunch?', headers: { 'X-Moat-Antivirus': 'infected (fake)' }, text: 'At noon?\r\n' });
    const sent2 = await sendRaw(node, 'carol@outside.test', ['dave@inside.test'], clean);
    const c = await waitDelivered(sink, 'dave@inside.test', 'lunch?');
    assert.equal(header(c.data, 'subject'), 'lunch?');
    assert.deepEqual(moatHeaders(c.data).filter(([k]) => k === 'X-Moat-Antivirus'), [['X-Moat-Antivirus', 'clean']]);
    assert.equal(header(c.data, 'x-moat-action'), 'skip');
    assert.ok(c.data.toString().endsWith('At noon?\r\n'), 'body unchanged');
    const [ev2] = await eventsFor(node, sent2.qid);
    assert.equal(ev2.rule, 'Default');
    assert.equal(ev2.action, 'skip');
    assert.equal(ev2.modules.antivirus.status, 'clean');

    await eventually(async () => (await queueCount(node)) === 0, 15_000, 'an empty queue');
  } finally {
    await node.cleanup();
    await sink.close();
  }
});

test('scan.enabled set to false at run time: mail is relayed untouched (no scan, no X-Moat-* fields, no traffic event)', { timeout: 60_000 }, async () => {
  const sink = await startSink();
  const node = await startScanNode(sink);
  try {
    const mail = (subject: string) => compose({
      from: 'alice@outside.test', to: 'bob@inside.test', subject, text: 'Attached.\r\n',
      attachments: [{ filename: 'eicar.com', content: Buffer.from(EICAR), contentType: 'application/octet-stream' }],
    });
    // On (the default): scanned and cleaned.
    await sendRaw(node, 'alice@outside.test', ['bob@inside.test'], await mail('while on'));
    const on = await waitDelivered(sink, 'bob@inside.test', 'while on');
    assert.equal(header(on.data, 'subject'), '[Infected] while on');

    await node.settings.set('scan.enabled', false, 'test');
    const raw = await mail('while off');
    const sent = await sendRaw(node, 'alice@outside.test', ['bob@inside.test'], raw);
    const off = await waitDelivered(sink, 'bob@inside.test', 'while off');
    // Exactly the bytes sent after our Received line.
    const fields = headerFields(off.data);
    assert.equal(fields[0][0], 'Received');
    assert.deepEqual(moatHeaders(off.data), []);
    const afterReceived = off.data.subarray(/\r\n(?=[^ \t])/.exec(off.data.toString('latin1'))!.index + 2);
    assert.equal(afterReceived.toString('latin1'), raw.toString('latin1'), 'the message is relayed byte for byte');
    assert.equal((await eventsOf(node).recent(100)).filter((e) => e.subject === 'while off').length, 0, 'no traffic event');
    assert.equal((await eventsFor(node, sent.qid)).length, 0);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});

test('a single-part message that is itself the threat is deleted (nothing to cut out), never delivered as it is', { timeout: 60_000 }, async () => {
  const sink = await startSink();
  const node = await startScanNode(sink);
  try {
    const raw = Buffer.from(`From: alice@outside.test\r\nTo: bob@inside.test\r\nSubject: pasted\r\n\r\n${EICAR}\r\n`);
    await sendRaw(node, 'alice@outside.test', ['bob@inside.test'], raw);
    const clean = await compose({ from: 'alice@outside.test', to: 'bob@inside.test', subject: 'after', text: 'fine\r\n' });
    await sendRaw(node, 'alice@outside.test', ['bob@inside.test'], clean);
    await waitDelivered(sink, 'bob@inside.test', 'after');
    assert.equal(sink.messages.filter((m) => header(m.data, 'subject')?.includes('pasted')).length, 0, 'the infected message is not delivered');
    // Deleted: the reply names no queue id, so the event is found by its subject.
    const event = (await eventually(async () => (await eventsOf(node).recent(100)).find((e) => e.subject === 'pasted'), 10_000, 'event'))!;
    assert.equal(event.action, 'delete');
    assert.equal(event.modules.antivirus.status, 'infected');
  } finally {
    await node.cleanup();
    await sink.close();
  }
});
