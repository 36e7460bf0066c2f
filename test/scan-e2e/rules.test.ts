/**
 * End to end through SMTP with processing rules written through RulesRepo on the node's own store (issue 3
 * item 8, SPEC §2): mode `reject` → 550 5.7.1 at the end of DATA; mode `delete` → 250 and nothing delivered; a
 * message whose recipients fall under a `reject` rule and the Default rule → 250, only the Default recipient
 * gets it (the reject became a delete), one traffic event per rule group; content filtering enabled in a rule
 * (banned name → delete_attachment; size over maxSizeKB → reject); an encrypted zip → `[Encrypted]`, delivered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSink, eventually } from '../helpers.ts';
import {
  compose, corpusFile, deliveredTo, eventsFor, eventsOf, header, moatHeaders, partText, queueCount, rulesOf, sendRaw, sendRejected, startScanNode,
  topParts, waitDelivered,
} from './helpers.ts';

test('rules from the store: reject, delete, split recipients, content filtering, encrypted archives', { timeout: 60_000 }, async () => {
  const sink = await startSink();
  const node = await startScanNode(sink);
  try {
    // Written before the first message, so the node's rules cache (1 s) reads them with it.
    const rules = rulesOf(node);
    await rules.create({ name: 'Blocked', recipients: ['blocked@inside.test'], mode: 'reject' });
    await rules.create({ name: 'Dropped', recipients: ['dropped@inside.test'], mode: 'delete' });
    await rules.create({ name: 'Attachments filtered', recipients: ['filtered@inside.test'], modules: { content: { enabled: true } } });
    await rules.create({ name: 'Small only', recipients: ['small@inside.test'], modules: { content: { enabled: true, options: { maxSizeKB: 1 } } } });
    assert.deepEqual((await rules.list()).map((r) => r.name), ['AllowList', 'DenyList', 'Blocked', 'Dropped', 'Attachments filtered', 'Small only', 'Default']);

    const from = 'eve@outside.test';
    const plain = (subject: string, to: string) => compose({ from, to, subject, text: `About ${subject}.\r\n` });

    // Mode reject, the only recipient: refused at the end of DATA, nothing kept.
    const rej = await sendRejected(node, from, ['blocked@inside.test'], await plain('to blocked', 'blocked@inside.test'));
    assert.equal(rej.responseCode, 550);
    assert.match(rej.response, /^550 5\.7\.1 /);
    assert.equal(rej.command, 'DATA');

    // Mode delete: accepted, dropped.
    const del = await sendRaw(node, from, ['dropped@inside.test'], await plain('to dropped', 'dropped@inside.test'));
    assert.match(del.response, /^250 2\.0\.0 Ok$/, 'nothing queued');

    // Two recipients under different rules: the reject can no longer be said for only one of them → delete.
    const split = await sendRaw(node, from, ['blocked@inside.test', 'bob@inside.test'], await plain('split', 'blocked@inside.test, bob@inside.test'));
    const toBob = await waitDelivered(sink, 'bob@inside.test', 'split');
    assert.deepEqual(toBob.to, ['bob@inside.test']);
    assert.equal(header(toBob.data, 'x-moat-rule'), 'Default');
    const splitEvents = await eventsFor(node, split.qid);
    assert.deepEqual(splitEvents.map((e) => [e.rule, e.action, e.recipients]).sort(), [
      ['Blocked', 'delete', ['blocked@inside.test']],
      ['Default', 'skip', ['bob@inside.test']],
    ]);
    assert.equal(splitEvents.find((e) => e.rule === 'Blocked')!.deliveredAs, null);
    assert.deepEqual(splitEvents.find((e) => e.rule === 'Blocked')!.modules.antivirus, { status: 'not_scanned', reason: 'disabled' }, 'mode reject scans nothing');

    // Content filtering enabled in a rule (shipped criteria): a double-extension name is removed, the rest delivered.
    const filtered = await compose({
      from, to: 'filtered@inside.test', subject: 'your invoice', text: 'See attachment.\r\n',
      attachments: [{ filename: 'invoice.pdf.exe', content: 'just text, the name is what counts\r\n', contentType: 'application/octet-stream' }],
    });
    const f = await sendRaw(node, from, ['filtered@inside.test'], filtered);
    const fm = await waitDelivered(sink, 'filtered@inside.test', 'your invoice');
    assert.equal(header(fm.data, 'subject'), 'your invoice', 'the content blocks have no tag');
    assert.equal(header(fm.data, 'x-moat-content'), 'banned_name (banned_name:*.exe, banned_name:double_extension:*.pdf.exe)');
    assert.equal(header(fm.data, 'x-moat-action'), 'delete_attachment');
    const parts = topParts(fm.data);
    assert.equal(parts[0], topParts(filtered)[0], 'text part unchanged');
    assert.match(partText(parts[1]), /^The attachment "invoice\.pdf\.exe" was removed by the mail gateway \(content: banned_name, banned_name:\*\.exe; content: banned_name, banned_name:double_extension:\*\.pdf\.exe\)\.\r\n$/);
    assert.ok(!fm.data.includes('just text, the name is what counts') && !fm.data.includes(Buffer.from('just text, the name').toString('base64').slice(0, 20)));
    const [fev] = await eventsFor(node, f.qid);
    assert.equal(fev.rule, 'Attachments filtered');
    assert.equal(fev.action, 'delete_attachment');
    assert.equal(fev.modules.content.status, 'banned_name');
    assert.equal(fev.modules.antivirus.status, 'clean');

    // Content filtering with a size limit: size_exceeded → reject, said at the end of DATA.
    const big = await compose({ from, to: 'small@inside.test', subject: 'big', text: `${'x'.repeat(70)}\r\n`.repeat(40) });
    const tooBig = await sendRejected(node, from, ['small@inside.test'], big);
    assert.equal(tooBig.responseCode, 550);
    assert.match(tooBig.response, /^550 5\.7\.1 /);
    // Under the limit, the same rule delivers.
    await sendRaw(node, from, ['small@inside.test'], await plain('small', 'small@inside.test'));
    await waitDelivered(sink, 'small@inside.test', 'small');

    // Anti-virus `encrypted` (a password-protected zip from the corpus): tagged and delivered under Default.
    const enc = await sendRaw(node, 'billing@example.net', ['dana@inside.test'], corpusFile('encrypted-zip.eml'));
    const em = await waitDelivered(sink, 'dana@inside.test');
    assert.equal(header(em.data, 'subject'), '[Encrypted] Invoice 2024-0117');
    assert.match(header(em.data, 'x-moat-antivirus') ?? '', /^encrypted \(Encrypted\.zip[,)]/);
    assert.equal(header(em.data, 'x-moat-action'), 'skip');
    assert.ok(em.data.includes(corpusFile('encrypted-zip.eml').subarray(corpusFile('encrypted-zip.eml').indexOf('\r\n\r\n'))), 'body unchanged');
    const [eev] = await eventsFor(node, enc.qid);
    assert.equal(eev.modules.antivirus.status, 'encrypted');

    // Every event of the session, in order: one per message and rule group (the split message's two in any order).
    const events = (await eventsOf(node).recent(100)).reverse().map((e) => `${e.rule}:${e.action}:${e.recipients.join(',')}`);
    assert.deepEqual([...events.slice(0, 2), ...events.slice(2, 4).sort(), ...events.slice(4)], [
      'Blocked:reject:blocked@inside.test',
      'Dropped:delete:dropped@inside.test',
      'Blocked:delete:blocked@inside.test',
      'Default:skip:bob@inside.test',
      'Attachments filtered:delete_attachment:filtered@inside.test',
      'Small only:reject:small@inside.test',
      'Small only:skip:small@inside.test',
      'Default:skip:dana@inside.test',
    ]);

    // Nothing was ever delivered to the rejected or deleted recipients, and nothing is left behind.
    await eventually(async () => (await queueCount(node)) === 0, 15_000, 'an empty queue');
    assert.deepEqual(deliveredTo(sink.messages, 'blocked@inside.test'), []);
    assert.deepEqual(deliveredTo(sink.messages, 'dropped@inside.test'), []);
    assert.equal(sink.messages.length, 4);
    for (const m of sink.messages) assert.ok(moatHeaders(m.data).length > 0);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});
