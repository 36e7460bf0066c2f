/**
 * The anti-spam module on the SMTP path (issue 4 item 5, SPEC §3.3, §4), end to end with a real sink:
 *   - the shipped Default rule: GTUBE → `spam`, delivered tagged `[Spam]` with X-Moat-Spam-* headers and SCL 9
 *     (a forged SCL from the sender removed); ordinary mail → `clean`, SCL -1, untouched subject; every signal
 *     with its weight in the traffic event;
 *   - rules with other actions for `spam`: reject (550 5.7.1 at the end of DATA) and delete (250, dropped);
 *   - personal lists: an allowlisted sender is `trusted` for that recipient only, a denylisted one `denylisted`
 *     (Default: delete), each recipient group handled on its own;
 *   - bulk: the same body for many recipients across messages → `mass_mail`;
 *   - learning: `moat learn spam` on a message makes the node (which applies learned examples every few
 *     seconds) rate the same message as spam;
 *   - DNS blocklists: behind an edge gateway (mail from loopback), the first external Received hop is looked up
 *     in a list served by a real DNS server on loopback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSink, eventually, type Sink } from '../helpers.ts';
import { compose, eventsFor, eventsOf, header, rulesOf, sendRaw, sendRejected, startScanNode, waitDelivered } from './helpers.ts';
import { AntispamRepo } from '../../src/store/antispam-repo.ts';
import { learnFiles } from '../../src/scan/antispam/learn.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { GTUBE } from '../../src/scan/antispam/scanner.ts';
import type { TestNode } from '../helpers.ts';

const from = 'promo@outside.test';
const ham = (subject: string, to: string) => compose({
  from: 'Alice Example <alice@outside.test>', to, subject,
  text: 'Hi Bob,\r\n\r\nthe minutes of Tuesday\'s meeting are below. We agreed to move the review to next week and to\r\nask Carol for the updated figures before then.\r\n\r\nThanks,\r\nAlice\r\n',
});
const gtube = (subject: string, to: string) => compose({ from, to, subject, text: `Buy now!\r\n${GTUBE}\r\n` });

async function lastEvent(node: TestNode, subject: string) {
  return eventually(async () => (await eventsOf(node).recent(50)).find((e) => e.subject === subject), 15_000, `the event of "${subject}"`);
}

test('anti-spam on the SMTP path: statuses, actions, headers, personal lists, bulk, learning', { timeout: 120_000 }, async () => {
  const sink: Sink = await startSink();
  const node = await startScanNode(sink, { scan: { antispam: { bulk: { recipients: 3 } } } });
  try {
    const rules = rulesOf(node);
    const block = (action: string) => ({ enabled: true, blocks: [{ statuses: ['spam'], action, backup: false, tag: '' }] });
    await rules.create({ name: 'Strict', recipients: ['strict@inside.test'], modules: { antispam: block('reject') } });
    await rules.create({ name: 'Dropper', recipients: ['drop@inside.test'], modules: { antispam: block('delete') } });

    // 1. GTUBE under the Default rule, with a forged SCL that must not survive.
    const spamRaw = Buffer.concat([Buffer.from('X-MS-Exchange-Organization-SCL: -1\r\n'), await gtube('cheap pills', 'bob@inside.test')]);
    const s1 = await sendRaw(node, from, ['bob@inside.test'], spamRaw);
    const m1 = await waitDelivered(sink, 'bob@inside.test', 'cheap pills');
    assert.equal(header(m1.data, 'subject'), '[Spam] cheap pills');
    assert.equal(header(m1.data, 'x-moat-spam-status'), 'spam');
    assert.equal(header(m1.data, 'x-moat-spam-score'), '100');
    assert.match(header(m1.data, 'x-moat-spam-signals') ?? '', /^GTUBE\(1000\), /);
    assert.deepEqual(m1.data.toString('latin1').match(/^X-MS-Exchange-Organization-SCL: .*$/gim), ['X-MS-Exchange-Organization-SCL: 9']);
    const [e1] = await eventsFor(node, s1.qid);
    assert.equal(e1.modules.antispam.status, 'spam');
    assert.equal(e1.modules.antispam.details?.rating, 100);
    const signals = e1.modules.antispam.details?.signals as { id: string; weight: number; description: string }[];
    assert.ok(signals.some((x) => x.id === 'GTUBE' && x.weight === 1000 && x.description));
    assert.ok(signals.some((x) => x.id === 'CLASSIFIER'), 'the classifier always explains itself');

    // 2. Ordinary mail: clean, SCL -1, subject untouched.
    await sendRaw(node, 'alice@outside.test', ['bob@inside.test'], await ham('meeting minutes', 'bob@inside.test'));
    const m2 = await waitDelivered(sink, 'bob@inside.test', 'meeting minutes');
    assert.equal(header(m2.data, 'subject'), 'meeting minutes');
    assert.equal(header(m2.data, 'x-moat-spam-status'), 'clean');
    assert.equal(header(m2.data, 'x-ms-exchange-organization-scl'), '-1');
    assert.ok(Number(header(m2.data, 'x-moat-spam-score')) < 50);

    // 3. Rules with other actions: reject at the end of DATA; delete.
    const rej = await sendRejected(node, from, ['strict@inside.test'], await gtube('strict one', 'strict@inside.test'));
    assert.match(rej.response, /^550 5\.7\.1 /);
    const del = await sendRaw(node, from, ['drop@inside.test'], await gtube('dropped one', 'drop@inside.test'));
    assert.equal(del.qid, '', 'nothing queued');
    assert.equal((await lastEvent(node, 'dropped one'))!.action, 'delete');

    // 4. Personal lists: ann allows the sender, carl denies it, dave has none: three groups of one message.
    const repo = new AntispamRepo(node.store.db);
    await repo.addListEntry('ann@inside.test', 'allow', '*@outside.test');
    await repo.addListEntry('carl@inside.test', 'deny', 'promo@*');
    const three = ['ann@inside.test', 'carl@inside.test', 'dave@inside.test'];
    const s4 = await sendRaw(node, from, three, await gtube('lists', three.join(', ')));
    const toAnn = await waitDelivered(sink, 'ann@inside.test', 'lists');
    assert.equal(header(toAnn.data, 'subject'), 'lists', 'trusted: no spam tag');
    assert.equal(header(toAnn.data, 'x-moat-spam-status'), 'trusted');
    const toDave = await waitDelivered(sink, 'dave@inside.test', 'lists');
    assert.equal(header(toDave.data, 'subject'), '[Spam] lists');
    const ev4 = await eventsFor(node, s4.qid);
    assert.deepEqual(ev4.map((e) => [e.recipients.join(','), e.modules.antispam.status, e.action]).sort(), [
      ['ann@inside.test', 'trusted', 'skip'], ['carl@inside.test', 'denylisted', 'delete'], ['dave@inside.test', 'spam', 'skip'],
    ]);
    assert.equal(sink.messages.filter((m) => m.to.includes('carl@inside.test')).length, 0);

    // 5. Bulk: the same newsletter body for 3 recipients (the threshold here) → mass_mail.
    const letter = (n: number, to: string) => compose({
      from: 'news@shop.test', to, subject: `newsletter ${n}`,
      text: `Dear ${to},\r\n\r\nthe project team has published the minutes of the October meeting: we discussed the release schedule for\r\nthe next version, the state of the documentation, and the plans for the conference in spring. Comments are\r\nwelcome on the mailing list until the end of the month.\r\n\r\nRegards,\r\nThe project team\r\n`,
    });
    const n1 = await sendRaw(node, 'news@shop.test', ['u1@inside.test'], await letter(1, 'u1@inside.test'));
    assert.notEqual((await eventsFor(node, n1.qid))[0].modules.antispam.status, 'mass_mail', 'one recipient is not bulk');
    const n2 = await sendRaw(node, 'news@shop.test', ['u2@inside.test', 'u3@inside.test'], await letter(2, 'u2@inside.test, u3@inside.test'));
    const [e5] = await eventsFor(node, n2.qid);
    assert.equal(e5.modules.antispam.status, 'mass_mail');
    assert.ok((e5.modules.antispam.details?.signals as { id: string }[]).some((x) => x.id === 'BULK_FINGERPRINT'));

    // 6. Learning: a message the model finds clean is learned as spam; the node then rates it spam.
    const dir = mkdtempSync(join(tmpdir(), 'moat-learn-'));
    try {
      const learnt = await ham('quarterly figures', 'bob@inside.test');
      const before = await sendRaw(node, 'alice@outside.test', ['bob@inside.test'], learnt);
      assert.equal((await eventsFor(node, before.qid))[0].modules.antispam.status, 'clean');
      writeFileSync(join(dir, 'm.eml'), learnt);
      const lines: string[] = [];
      const failed = await learnFiles(repo, node.settings.snapshot(), 'spam', [join(dir, 'm.eml')], 'test', { out: (l) => lines.push(l), warn: (l) => lines.push(l) });
      assert.equal(failed, 0, lines.join('\n'));
      await eventually(async () => {
        const again = await sendRaw(node, 'alice@outside.test', ['bob@inside.test'], learnt);
        return (await eventsFor(node, again.qid))[0]?.modules.antispam.status === 'spam';
      }, 30_000, 'the learned example to reach the scan workers');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    await node.cleanup();
    await sink.close();
  }
});

test('DNS blocklist behind an edge gateway: the first external Received hop is listed → spam', { timeout: 60_000 }, async () => {
  const dns = await startDnsServer({ '5.113.0.203.bl.moat.test': { a: ['127.0.0.2'] } });
  const sink = await startSink();
  const node = await startScanNode(sink, {
    scan: { antispam: { dnsServers: [`127.0.0.1:${dns.port}`], blocklists: { zones: [{ zone: 'bl.moat.test', type: 'ip', weight: 90, codes: { '127.0.0.2': { description: 'known spam source' } } }] } } },
  });
  try {
    const edge = (ip: string, subject: string) => Buffer.concat([
      Buffer.from(`Received: from sender.example (sender.example [${ip}])\r\n\tby edge.inside.test with ESMTP id 1; Mon, 3 Mar 2025 10:00:00 +0000\r\n`),
      Buffer.from(`From: x@outside.test\r\nTo: bob@inside.test\r\nSubject: ${subject}\r\nDate: Mon, 3 Mar 2025 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, '')}@outside.test>\r\n\r\nHello Bob, see you at the meeting on Thursday.\r\n`),
    ]);
    await sendRaw(node, 'x@outside.test', ['bob@inside.test'], edge('203.0.113.5', 'listed hop'));
    const listed = await waitDelivered(sink, 'bob@inside.test', 'listed hop');
    assert.equal(header(listed.data, 'x-moat-spam-status'), 'spam');
    assert.match(header(listed.data, 'x-moat-spam-signals') ?? '', /DNSBL_BL_MOAT_TEST\w*\(90\)/);
    assert.ok(dns.queries.some((q) => q.includes('5.113.0.203.bl.moat.test')));
    await sendRaw(node, 'x@outside.test', ['bob@inside.test'], edge('198.51.100.7', 'clean hop'));
    const clean = await waitDelivered(sink, 'bob@inside.test', 'clean hop');
    assert.notEqual(header(clean.data, 'x-moat-spam-status'), 'spam');
  } finally {
    await node.cleanup();
    await sink.close();
    await dns.close();
  }
});
