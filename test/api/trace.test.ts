/**
 * The bar "the Backup, events and audit records of a message can be followed end to end through the API", over
 * real SMTP and real HTTP on loopback with the shipped Default rule and a real sink: EICAR is sent → its traffic
 * event is found through GET /api/v1/events/traffic → its queue id leads to the Backup item (GET /api/v1/backup?
 * queueId=…) → the item is viewed and delivered through the API → the ORIGINAL arrives at the sink, the item's
 * history shows the delivery by api:admin, the audit trail names who delivered (and downloaded) it → the .eml
 * download is byte for byte the message as received.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSink, eventually } from '../helpers.ts';
import { EICAR, compose, sendRaw, startScanNode, waitDelivered } from '../scan-e2e/helpers.ts';
import { TEST_ADMIN_PASSWORD } from '../helpers.ts';
import { Api } from './client.ts';

interface Item { id: string; queueId: string; deliveredAs: string | null; sender: string; recipients: string[]; subject: string; size: number; threats: string[]; modules: Record<string, { status: string }> }

test('one message followed through the API: traffic event → Backup item → view → deliver → history → audit → .eml', { timeout: 120_000 }, async () => {
  const sink = await startSink();
  const node = await startScanNode(sink, { mta: { domains: [{ name: 'inside.test', local: true }] } });
  try {
    const api = new Api(node.httpPort);
    const admin = await api.session('admin', TEST_ADMIN_PASSWORD);

    // 1. EICAR over SMTP; the Default rule delivers it cleaned and keeps the original.
    const raw = await compose({ from: 'sender@outside.test', to: 'carol@inside.test', subject: 'Trace me', text: 'Invoice attached.\r\n', attachments: [{ filename: 'invoice.com', content: EICAR }] });
    const sent = await sendRaw(node, 'sender@outside.test', ['carol@inside.test'], raw);
    await waitDelivered(sink, 'carol@inside.test', 'Trace me');
    const delivered = sink.messages.length;

    // 2. Its traffic event, found by filters over the API.
    const ev = await eventually(async () => {
      const r = await api.call('GET', `/api/v1/events/traffic?recipient=carol@inside.test&module=antivirus&status=infected&total=true`, admin);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return (r.body as { items: (Item & { id: number; action: string; backup: boolean })[] }).items[0];
    }, 15_000, 'the traffic event');
    assert.equal(ev.deliveredAs, sent.qid, 'the event names the queue id the client was given');
    assert.deepEqual([ev.action, ev.backup, ev.modules.antivirus.status, ev.subject], ['delete_attachment', true, 'infected', 'Trace me']);
    const detail = await api.call('GET', `/api/v1/events/traffic/${ev.id}`, admin);
    assert.deepEqual(detail.body, ev);

    // 3. Its queue id leads to the Backup item.
    const found = await eventually(async () => {
      const r = await api.call('GET', `/api/v1/backup?queueId=${ev.queueId}`, admin);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const b = r.body as { items: Item[]; total: number };
      return b.total === 1 ? b.items[0] : undefined;
    }, 15_000, 'the Backup item') as Item;
    assert.deepEqual([found.queueId, found.deliveredAs, found.sender, found.recipients, found.subject, found.size], [ev.queueId, ev.deliveredAs, 'sender@outside.test', ['carol@inside.test'], 'Trace me', ev.size]);
    // The delivered-as id finds it too.
    assert.equal(((await api.call('GET', `/api/v1/backup?queueId=${sent.qid}`, admin)).body as { total: number }).total, 1);

    // 4. View it.
    const view = await api.call('GET', `/api/v1/backup/${found.id}/view`, admin);
    assert.equal(view.status, 200, JSON.stringify(view.body));
    const v = view.body as { item: Item; text: string; attachments: { filename: string; size: number }[]; headers: { name: string; value: string }[] };
    assert.equal(v.item.id, found.id);
    assert.match(v.text, /Invoice attached/);
    assert.deepEqual(v.attachments.map((a) => [a.filename, a.size]), [['invoice.com', Buffer.byteLength(EICAR)]]);
    assert.ok(v.headers.some((h) => h.name.toLowerCase() === 'subject' && h.value === 'Trace me'));

    // 5. Deliver it through the API: the original (attachment and all) arrives at the sink.
    const d = await api.call('POST', `/api/v1/backup/${found.id}/deliver`, admin, {});
    assert.equal(d.status, 200, JSON.stringify(d.body));
    const dr = d.body as { queueIds: string[]; recipients: string[] };
    assert.deepEqual(dr.recipients, ['carol@inside.test']);
    const [released] = (await sink.waitFor(delivered + 1)).slice(delivered);
    assert.deepEqual([released.from, released.to], ['sender@outside.test', ['carol@inside.test']]);
    assert.ok(released.data.subarray(released.data.length - raw.length).equals(raw), 'the original bytes arrive');

    // 6. The item's history shows the view and the delivery, by whom, with the new queue id.
    const got = await api.call('GET', `/api/v1/backup/${found.id}`, admin);
    const history = (got.body as { history: { actor: string; action: string; details: Record<string, unknown> }[] }).history;
    assert.deepEqual(history.map((h) => [h.actor, h.action]), [['system', 'stored'], ['api:admin', 'viewed'], ['api:admin', 'delivered']]);
    assert.equal(history[2].details.queueId, dr.queueIds[0]);

    // 7. Download the .eml: the message as received, byte for byte, with strict headers.
    const res = await fetch(`${api.base}/api/v1/backup/${found.id.toLowerCase()}/eml`, { headers: { cookie: `moat_session=${(admin as { cookie: string }).cookie}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'message/rfc822');
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="${found.id}.eml"`);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('content-security-policy'), 'sandbox');
    const eml = Buffer.from(await res.arrayBuffer());
    assert.ok(eml.subarray(eml.length - raw.length).equals(raw), 'the download ends with the bytes the client sent');
    assert.ok(eml.subarray(0, eml.length - raw.length).toString('latin1').startsWith('Received:'), 'preceded only by the Received field Moat added');
    assert.ok(eml.equals(released.data), 'the download is what was released');

    // 8. The audit trail says who delivered and downloaded it, from where.
    const audit = await api.call('GET', `/api/v1/events/audit?target=backup:${found.id}`, admin);
    assert.equal(audit.status, 200, JSON.stringify(audit.body));
    const entries = (audit.body as { items: { actor: string; source: string; ip: string; action: string; after: unknown }[] }).items;
    assert.deepEqual(entries.map((e) => [e.actor, e.source, e.action]), [['admin', 'api', 'backup.download'], ['admin', 'api', 'backup.deliver']]);
    assert.equal(entries[1].ip, '127.0.0.1');
    assert.deepEqual(entries[1].after, dr);
    // …and the same entry by the action filter.
    const byAction = (await api.call('GET', '/api/v1/events/audit?action=backup.deliver', admin)).body as { items: { target: string }[] };
    assert.deepEqual(byAction.items.map((e) => e.target), [`backup:${found.id}`]);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});
