/**
 * The Backup end to end, over real SMTP on loopback with the shipped Default rule and a real sink:
 *   - EICAR (antivirus infected → delete_attachment, backup): the cleaned copy is delivered, the ORIGINAL kept
 *     with every index field as the traffic event has it; delivering the item brings the original to the sink;
 *   - a malicious link (links malicious → reject, backup) refused in the session with 550: a copy is kept anyway;
 *   - the digest: arrives at the sink for the local recipient, lists the items with view/release links and the
 *     RFC 8058 List-Unsubscribe headers; its token unsubscribes once, a tampered one is refused, and no digest
 *     goes to that address afterwards;
 *   - the CLI (`moat backup list/show/export/deliver/delete/digest --now`) on the node's store and spool.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSink, eventually } from '../helpers.ts';
import { EICAR, compose, eventsFor, header, sendRaw, sendRejected, startScanNode, waitDelivered } from '../scan-e2e/helpers.ts';
import { moat, moatOk } from '../cli/run.ts';
import { readAll } from './fixtures.ts';

test('Backup lifecycle over SMTP: keep, index, deliver the original, in-session reject, digest and unsubscribe, CLI', { timeout: 120_000 }, async () => {
  const sink = await startSink();
  const node = await startScanNode(sink, { mta: { domains: [{ name: 'inside.test', local: true }] }, backup: { digest: { consoleUrl: 'https://console.inside.test:8443/' } } });
  const svc = node.backup.service;
  try {
    // 1. EICAR with the Default rule.
    const raw = await compose({ from: 'sender@outside.test', to: 'bob@inside.test', subject: 'Quarterly report', text: 'See the attachment.\r\n', attachments: [{ filename: 'report.com', content: EICAR }] });
    const sent = await sendRaw(node, 'sender@outside.test', ['bob@inside.test'], raw);
    const cleaned = await waitDelivered(sink, 'bob@inside.test', 'Quarterly report');
    const b64 = Buffer.from(EICAR).toString('base64').slice(0, 40);
    assert.ok(raw.includes(b64) && !cleaned.data.includes(b64), 'the delivered copy is cleaned');
    const [event] = await eventsFor(node, sent.qid);
    assert.equal(event.action, 'delete_attachment');
    const { items, total } = await svc.search();
    assert.equal(total, 1);
    const item = items[0];
    assert.deepEqual({
      node: item.node, queueId: item.queueId, deliveredAs: item.deliveredAs, messageId: item.messageId, clientIp: item.clientIp, helo: item.helo, sender: item.sender,
      recipients: item.recipients, subject: item.subject, size: item.size, rule: item.rule, action: item.action, antivirus: item.modules.antivirus.status,
      links: item.modules.links.status, threats: item.threats, hasThreat: item.hasThreat, reason: item.reason,
    }, {
      node: 'test', queueId: event.queueId, deliveredAs: sent.qid, messageId: event.messageId, clientIp: event.clientIp, helo: event.helo, sender: 'sender@outside.test',
      recipients: ['bob@inside.test'], subject: 'Quarterly report', size: event.size, rule: 'Default', action: 'delete_attachment', antivirus: 'infected',
      links: event.modules.links.status, threats: event.modules.antivirus.detections!.map((d) => d.name), hasThreat: true, reason: 'antivirus:infected',
    });
    assert.ok(item.threats.length >= 1);
    assert.equal((await svc.search({ filter: { module: 'antivirus', status: 'infected', recipient: 'bob@inside.test' } })).total, 1);
    const original = await readAll((await svc.download(item.id)).stream);
    assert.ok(original.includes(b64) && original.subarray(original.length - raw.length).equals(raw), 'the stored copy is the original as received');
    const view = await svc.view(item.id, 'api:admin');
    assert.deepEqual(view.attachments.map((a) => [a.filename, a.size]), [['report.com', Buffer.byteLength(EICAR)]]);
    assert.match(view.text ?? '', /See the attachment/);
    const before = sink.messages.length;
    const d = await svc.deliver(item.id, { actor: 'api:admin' });
    const [released] = (await sink.waitFor(before + 1)).slice(before);
    assert.deepEqual(released.to, ['bob@inside.test']);
    assert.ok(released.data.subarray(released.data.length - raw.length).equals(raw), 'the ORIGINAL arrives, attachment and all');
    assert.deepEqual((await svc.history(item.id)).map((h) => [h.actor, h.action, h.details.queueId]), [['system', 'stored', undefined], ['system', 'downloaded', undefined], ['api:admin', 'viewed', undefined], ['api:admin', 'delivered', d.queueIds[0]]]);

    // 2. In-session reject (links malicious → reject with backup): 550, and a copy kept.
    const url = 'https://testsafebrowsing.appspot.com/s/malware.html';
    const bad = await compose({ from: 'news@outside.test', to: 'bob@inside.test', subject: 'Look at this', text: `Hello,\r\n\r\nsee ${url}\r\n`, html: `<p>see <a href="${url}">here</a><img src="https://tracker.example/p.gif"><script>alert(1)</script></p>` });
    assert.match((await sendRejected(node, 'news@outside.test', ['bob@inside.test'], bad)).response, /^550 5\.7\.1/);
    const rej = (await svc.search({ filter: { action: 'reject' } })).items;
    assert.equal(rej.length, 1);
    assert.deepEqual([rej[0].modules.links.status, rej[0].deliveredAs, rej[0].reason, rej[0].subject], ['malicious', null, 'links:malicious', 'Look at this']);
    const rv = await svc.view(rej[0].id);
    assert.ok(rv.html && !/script|tracker\.example|href/i.test(rv.html), rv.html ?? '');
    assert.equal(rv.remoteContentBlocked, 1);

    // 3. Digest to the local recipient, with links and RFC 8058 headers; unsubscribe once.
    const b0 = sink.messages.length;
    const run = await node.backup.digest.run();
    assert.deepEqual(run.sent.map((s) => [s.address, s.items]), [['bob@inside.test', 2]]);
    const [digest] = (await sink.waitFor(b0 + 1)).slice(b0);
    assert.deepEqual([digest.from, digest.to], ['', ['bob@inside.test']]);
    const text = digest.data.toString('utf8');
    assert.equal(header(digest.data, 'list-unsubscribe-post'), 'List-Unsubscribe=One-Click');
    const lu = (header(digest.data, 'list-unsubscribe') ?? '').trim();
    const m = /^<(https:\/\/console\.inside\.test:8443\/api\/v1\/backup\/unsubscribe\?token=([A-Za-z0-9_.-]+))>$/.exec(lu);
    assert.ok(m, lu);
    assert.match(header(digest.data, 'from') ?? '', /postmaster@gw\.moat\.test/);
    for (const i of [item, rej[0]]) assert.ok(text.includes(`https://console.inside.test:8443/personal/backup/${i.id}`), `link to ${i.id}`);
    assert.ok(text.includes('Quarterly report') && text.includes('Look at this'));
    assert.ok(!text.includes(`${item.id}?action=deliver`), 'no release link for an item with a threat');
    assert.equal((await node.backup.digest.run()).sent.length, 0, 'nothing new, no digest');
    const token = m![2];
    assert.deepEqual(await node.backup.digest.verifyToken(token), { ok: true, address: 'bob@inside.test' });
    const tampered = token.replace(/^./, (c) => (c === 'e' ? 'f' : 'e'));
    assert.deepEqual(await node.backup.digest.unsubscribeByToken(tampered), { ok: false, reason: 'bad_signature' });
    assert.deepEqual(await node.backup.digest.unsubscribeByToken(token), { ok: true, address: 'bob@inside.test' });
    assert.deepEqual(await node.backup.digest.unsubscribeByToken(token), { ok: false, reason: 'used' });
    await sendRejected(node, 'news@outside.test', ['bob@inside.test'], await compose({ from: 'news@outside.test', to: 'bob@inside.test', subject: 'Again', text: `see ${url}\r\n` }));
    assert.equal((await svc.search()).total, 3);
    assert.equal((await node.backup.digest.run()).sent.length, 0, 'no digest after unsubscribing');

    // 4. The CLI on the node's store and spool.
    const env = { MOAT_DATA_DIR: node.dataDir, MOAT_NODE_NAME: 'test' };
    const listed = JSON.parse(await moatOk(['backup', 'list', '--json', '--module', 'antivirus', '--status', 'infected'], { env }));
    assert.deepEqual(listed.items.map((i: { id: string }) => i.id), [item.id]);
    assert.match(await moatOk(['backup', 'list', '--subject', 'AGAIN'], { env }), /1 of 1 item\(s\)/);
    assert.match(await moatOk(['backup', 'show', item.id], { env }), /report\.com application\/octet-stream|report\.com/);
    const dir = mkdtempSync(join(tmpdir(), 'moat-backup-cli-'));
    try {
      await moatOk(['backup', 'export', item.id, '--output', join(dir, 'x.eml')], { env });
      assert.ok(readFileSync(join(dir, 'x.eml')).equals(original));
    } finally { rmSync(dir, { recursive: true, force: true }); }
    const b1 = sink.messages.length;
    assert.match(await moatOk(['backup', 'deliver', item.id, '--to', 'helpdesk@inside.test'], { env }), /^queued as [0-9A-Z]{16} for helpdesk@inside\.test/);
    const viaCli = (await eventually(() => sink.messages.slice(b1).find((x) => x.to.includes('helpdesk@inside.test')), 20_000, 'the CLI delivery'))!;
    assert.ok(viaCli.data.subarray(viaCli.data.length - raw.length).equals(raw));
    const bad1 = await moat(['backup', 'show', 'nope'], { env });
    assert.equal(bad1.code, 2);
    const gone = await moat(['backup', 'delete', 'ZZZZZZZZZZZZZZZZ'], { env });
    assert.equal(gone.code, 1);
    assert.match(await moatOk(['backup', 'delete', item.id], { env }), /deleted 1 of 1/);
    assert.match(await moatOk(['backup', 'digest', '--now'], { env }), /0 digest\(s\) sent/);
    assert.equal((await moat(['backup', 'digest'], { env })).code, 2);
    assert.equal((await svc.search()).total, 2);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});
