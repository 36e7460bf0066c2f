/**
 * Notifications, BCC, banner, disclaimer and header edits on the SMTP path (issue 6 item 3), end to end: a
 * Moat node with scanning relays to a real SMTP sink on loopback, and everything it sends (the delivered copy,
 * BCC copies, notifications) arrives there.
 *   - each audience (sender, recipients, admins, extra) gets its notification with its template, a unique
 *     X-Moat-Notification-Id that the body repeats; the sender's is an auto-reply from <>;
 *   - a custom template with EVERY macro: each value checked;
 *   - no notification to a null sender; no backscatter for spam from an unauthenticated sender;
 *   - BCC copy of the original on deliver and on delete;
 *   - banner and disclaimer in the delivered text and HTML; header add / remove / modify;
 *   - template edit (used by the next notification) and reset (shipped text again).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import PostalMime from 'postal-mime';
import { eventually, startSink, type Sink, type SinkMessage } from '../helpers.ts';
import { EICAR, compose, eventsFor, header, headerValues, rulesOf, sendRaw, startScanNode, waitDelivered } from '../scan-e2e/helpers.ts';
import { GTUBE } from '../../src/scan/antispam/scanner.ts';
import { RULE_MACROS } from '../../src/notifications/macros.ts';
import type { TestNode } from '../helpers.ts';

const bySubject = (sink: Sink, rcpt: string, part: string) => sink.messages.filter((m) => m.to.includes(rcpt) && (header(m.data, 'subject') ?? '').includes(part));
const text = async (m: SinkMessage) => (await PostalMime.parse(m.data)).text ?? '';
const logged = (node: TestNode, msg: string) => node.logs.filter((l) => l.msg === msg);
const settle = () => new Promise((r) => setTimeout(r, 1200));

test('notifications, BCC, banner, disclaimer and header edits on the SMTP path', { timeout: 180_000 }, async () => {
  const sink = await startSink();
  const node = await startScanNode(sink, { notifications: { admins: ['admin@corp.test'], fromName: 'Gateway' } });
  try {
    const rules = rulesOf(node);
    const templates = node.notifications.templates;
    await templates.update('custom.all-macros', { subject: 'All macros %MODULE% %STATUS%', text: RULE_MACROS.map((m) => `${m}=%${m}%`).join('\n') });
    await rules.create({
      name: 'Notify', recipients: ['*@inside.test'],
      modules: { antivirus: { notify: { sender: true, recipients: true, admins: true, extra: ['sec@corp.test'], templates: { extra: 'custom.all-macros' } } } },
      banner: { statuses: ['antivirus:infected', 'antispam:spam'], text: 'WARNING: %MODULE% found %STATUS% (%THREATS%).' },
      disclaimer: { text: 'This message passed the Moat gateway.', html: '<p class="disclaimer">This message passed the Moat gateway.</p>' },
      bcc: ['archive@corp.test'],
      headers: { add: [['X-Custom', 'yes']], remove: ['X-Remove-Me'], modify: [['Organization', 'Moat Test']] },
    });
    const r = await rules.get('Notify');
    assert.equal(r!.bcc![0], 'archive@corp.test', 'the rule keeps its new fields in the store');

    // 1. EICAR to two recipients: delivered cleaned with banner, disclaimer and header edits; a BCC copy of the
    //    original; notifications to the sender, each recipient, the admins and the extra address.
    const raw = Buffer.concat([Buffer.from('X-Remove-Me: secret\r\nOrganization: Old Org\r\n'), await compose({
      from: 'Alice <alice@outside.test>', to: 'bob@inside.test, carol@inside.test', subject: 'figures Q1',
      text: 'Please find the figures attached.\r\n', html: '<html><body><p>Please find the figures attached.</p></body></html>',
      attachments: [{ filename: 'eicar.com', content: Buffer.from(EICAR), contentType: 'application/octet-stream' }],
    })]);
    const sent = await sendRaw(node, 'alice@outside.test', ['bob@inside.test', 'carol@inside.test'], raw);
    const delivered: SinkMessage = await eventually(() => sink.messages.find((m) => m.to.includes('bob@inside.test') && (header(m.data, 'subject') ?? '') === '[Infected] figures Q1'), 20_000, 'the cleaned copy') as SinkMessage;
    assert.deepEqual(delivered.to, ['bob@inside.test', 'carol@inside.test']);
    const parsed = await PostalMime.parse(delivered.data);
    assert.match(parsed.text!, /^WARNING: antivirus found infected \(Eicar-Test-Signature[^)]*\)\.\r?\n\r?\nPlease find the figures attached\./);
    assert.match(parsed.text!, /attached\.\r?\n\r?\nThis message passed the Moat gateway\.\r?\n\r?\nThe attachment "eicar\.com" was removed/);
    assert.match(parsed.html!, /<body>\r?\n<div>WARNING: antivirus found infected/);
    assert.match(parsed.html!, /<p class="disclaimer">This message passed the Moat gateway\.<\/p>\r?\n<\/body>/);
    assert.ok(!parsed.attachments.some((a) => a.filename === 'eicar.com'), 'the infected attachment was removed');
    assert.equal(header(delivered.data, 'x-custom'), 'yes');
    assert.equal(header(delivered.data, 'x-remove-me'), undefined);
    assert.deepEqual(headerValues(delivered.data, 'organization'), ['Moat Test']);

    const bcc = await waitDelivered(sink, 'archive@corp.test', 'figures Q1');
    assert.equal(bcc.from, 'postmaster@gw.moat.test', 'BCC envelope sender: Moat\'s own address');
    assert.ok(bcc.data.includes(Buffer.from(raw.subarray(raw.indexOf('\r\n\r\n')))), 'the BCC copy carries the original body unchanged');
    assert.equal(header(bcc.data, 'x-remove-me'), 'secret');

    const toSender = await waitDelivered(sink, 'alice@outside.test', 'Your message was not delivered as sent');
    assert.equal(toSender.from, '', 'an auto-reply: envelope sender <>');
    assert.equal(header(toSender.data, 'auto-submitted'), 'auto-generated');
    assert.equal(header(toSender.data, 'from'), 'Gateway <postmaster@gw.moat.test>');
    const senderId = header(toSender.data, 'x-moat-notification-id')!;
    assert.match(senderId, /^[0-9a-f-]{36}$/);
    assert.match(await text(toSender), new RegExp(`Notification ${senderId} from the mail gateway test`));
    assert.match(await text(toSender), /Your message to bob@inside\.test, carol@inside\.test was found to contain a virus/);

    for (const rcpt of ['bob@inside.test', 'carol@inside.test']) {
      const n = await waitDelivered(sink, rcpt, 'A message to you was held back or changed: figures Q1');
      assert.deepEqual(n.to, [rcpt], 'each recipient gets a notification of their own');
      assert.equal(n.from, 'postmaster@gw.moat.test');
      assert.match(await text(n), /Attachments removed: eicar\.com/);
    }
    const admin = await waitDelivered(sink, 'admin@corp.test', '[Moat] antivirus: infected from alice@outside.test');
    assert.match(await text(admin), /Rule "Notify" found a virus or other threat/);

    // Every macro, from the custom template sent to the extra address.
    const extra = await waitDelivered(sink, 'sec@corp.test', 'All macros antivirus infected');
    const lines = Object.fromEntries((await text(extra)).split(/\r?\n/).filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const ids = new Set<string>();
    for (const n of [toSender, admin, extra, ...bySubject(sink, 'bob@inside.test', 'held back'), ...bySubject(sink, 'carol@inside.test', 'held back')]) ids.add(header(n.data, 'x-moat-notification-id')!);
    assert.equal(ids.size, 5, 'every notification has its own id');
    assert.equal(lines.SENDER, 'alice@outside.test');
    assert.equal(lines.RECIPIENTS, 'bob@inside.test, carol@inside.test');
    assert.equal(lines.SUBJECT, 'figures Q1');
    assert.ok(Math.abs(Date.parse(lines.DATE) - Date.now()) < 120_000, `DATE is now: ${lines.DATE}`);
    assert.equal(lines.ACTION, 'delete_attachment');
    assert.equal(lines.MODULE, 'antivirus');
    assert.equal(lines.STATUS, 'infected');
    assert.match(lines.THREATS, /^Eicar-Test-Signature/);
    assert.equal(lines.RULE_NAME, 'Notify');
    assert.equal(lines.MESSAGE_ID, header(raw, 'message-id'));
    assert.equal(lines.NODE, 'test');
    assert.equal(lines.ATTACHMENTS, 'eicar.com');
    assert.equal(lines.REMOVED_ATTACHMENTS, 'eicar.com');
    assert.equal(lines.NOTIFICATION_ID, header(extra.data, 'x-moat-notification-id'));
    const [ev] = (await eventually(async () => { const e = await eventsFor(node, sent.qid); return e.length ? e : undefined; }, 15_000, 'the traffic event'))!;
    assert.match(lines.QUEUE_ID, /^[0-9A-Z]{16}$/);
    assert.equal(lines.QUEUE_ID, ev.queueId, 'the id the message was received under');
    assert.equal(lines.CLIENT_IP, '127.0.0.1');
    assert.equal(Object.keys(lines).length, RULE_MACROS.length);
    const queuedLogs = logged(node, 'notification queued');
    assert.ok(queuedLogs.some((l) => l.notification === senderId && l.audience === 'sender'), 'each notification is logged with its id');

    // 2. A null sender is never notified (the other audiences still are).
    const before = sink.messages.length;
    await sendRaw(node, '', ['bob@inside.test'], await compose({ from: 'mailer-daemon@outside.test', to: 'bob@inside.test', subject: 'bounce with virus', text: 'x\r\n',
      attachments: [{ filename: 'eicar.com', content: Buffer.from(EICAR), contentType: 'application/octet-stream' }] }));
    await waitDelivered(sink, 'admin@corp.test', '[Moat] antivirus: infected from <>');
    await waitDelivered(sink, 'bob@inside.test', 'held back or changed: bounce with virus');
    assert.ok(logged(node, 'no notification to the sender').some((l) => l.reason === 'null sender'));
    assert.ok(sink.messages.slice(before).every((m) => m.to.every((t) => t !== '')), 'nothing addressed to the null sender');

    // 3. Spam from an unauthenticated sender: the admins are told, the (forged) sender is not; template edit and reset.
    await rules.create({ name: 'SpamNotify', recipients: ['spam@corp.test'], modules: { antispam: { notify: { sender: true, admins: true } } } });
    await settle(); // the node reads the rules at most once a second
    await templates.update('admin.antispam', { subject: 'EDITED %MODULE% %STATUS% %SUBJECT%', text: 'Edited body %NOTIFICATION_ID%' });
    await sendRaw(node, 'mallory@spammer.test', ['spam@corp.test'], await compose({ from: 'mallory@spammer.test', to: 'spam@corp.test', subject: 'pills one', text: `Buy!\r\n${GTUBE}\r\n` }));
    const edited = await waitDelivered(sink, 'admin@corp.test', 'EDITED antispam spam pills one');
    assert.match(await text(edited), new RegExp(`Edited body ${header(edited.data, 'x-moat-notification-id')}`));
    assert.ok(logged(node, 'no notification to the sender').some((l) => l.module === 'antispam' && /backscatter/.test(String(l.reason))));
    const reset = await templates.reset('admin.antispam');
    assert.equal(reset!.edited, false);
    await sendRaw(node, 'mallory@spammer.test', ['spam@corp.test'], await compose({ from: 'mallory@spammer.test', to: 'spam@corp.test', subject: 'pills two', text: `Buy!\r\n${GTUBE}\r\n` }));
    await waitDelivered(sink, 'admin@corp.test', '[Moat] antispam: spam from mallory@spammer.test');
    assert.equal(sink.messages.filter((m) => m.to.includes('mallory@spammer.test')).length, 0, 'no backscatter');

    // 4. BCC on delete: the original goes to the BCC address, nothing to the recipient.
    await rules.create({ name: 'Dropper', mode: 'delete', recipients: ['drop@corp.test'], bcc: ['archive@corp.test'] });
    await settle();
    const del = await sendRaw(node, 'alice@outside.test', ['drop@corp.test'], await compose({ from: 'alice@outside.test', to: 'drop@corp.test', subject: 'dropped but archived', text: 'x\r\n' }));
    assert.equal(del.qid, '', 'nothing queued for the recipient');
    const archived = await waitDelivered(sink, 'archive@corp.test', 'dropped but archived');
    assert.deepEqual(archived.to, ['archive@corp.test']);
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(sink.messages.filter((m) => m.to.includes('drop@corp.test')).length, 0);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});
