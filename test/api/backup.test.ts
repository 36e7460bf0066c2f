/**
 * The Backup routes over real HTTP on a real node (real SMTP for the infected items, the service's keep path for
 * items without threats):
 *   - personal isolation: user A never reaches user B's item by ANY personal route (list, get, view, download,
 *     deliver, delete) — 404 exactly like a missing id — and cannot reach the admin Backup routes (403);
 *     A's own items: view, download refused for threats, deliver to self only for items without threats, delete
 *     of A's copy; the personal options turned off answer 403;
 *   - the digest subscription per address, and the unsubscribe link: GET shows a page and does not unsubscribe,
 *     POST (RFC 8058 one-click body) does, a tampered or used token is refused (400);
 *   - admin bulk delete (by ids, by filter, an empty filter refused) and query validation (400 with fields).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSink, eventually, TEST_ADMIN_PASSWORD } from '../helpers.ts';
import { EICAR, compose, header, sendRaw, startScanNode } from '../scan-e2e/helpers.ts';
import { keepItem, message, verdict } from '../backup/fixtures.ts';
import { Api, errorCode, type Answer, type Creds } from './client.ts';

const PW = 'backup-api-password-123';

interface Item { id: string; recipients: string[]; subject: string; hasThreat: boolean }

test('Backup over the API: personal isolation, own items, digest subscription and unsubscribe, bulk delete', { timeout: 180_000 }, async () => {
  const sink = await startSink();
  const node = await startScanNode(sink, { mta: { domains: [{ name: 'inside.test', local: true }] }, backup: { digest: { consoleUrl: 'https://console.inside.test' } } });
  const svc = node.backup.service;
  try {
    const api = new Api(node.httpPort);
    const admin = await api.session('admin', TEST_ADMIN_PASSWORD);
    const user = async (name: string, addresses: string[]): Promise<Creds> => {
      const r = await api.call('POST', '/api/v1/accounts', admin, { username: name, role: 'personal', password: PW, mustChangePassword: false, addresses });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return api.session(name, PW);
    };
    const alice = await user('alice', ['alice@inside.test']);
    const bob = await user('bob', ['bob@inside.test']);
    const nobody = await user('nobody', []);

    // Items: EICAR over SMTP to each user (threats), and one item without threats each (content: banned_name).
    for (const to of ['alice@inside.test', 'bob@inside.test']) {
      const raw = await compose({ from: 'x@outside.test', to, subject: `Virus for ${to}`, text: 'hi\r\n', attachments: [{ filename: 'a.com', content: EICAR }] });
      await sendRaw(node, 'x@outside.test', [to], raw);
    }
    await eventually(async () => (await svc.search()).total === 2, 15_000, 'two Backup items');
    const plainA = message('Plain for alice');
    await keepItem(svc, { raw: plainA, qid: 'BBBBBBBBBBBBBBBB', groups: [{ recipients: ['alice@inside.test'], verdict: verdict('delete_attachment', [{ module: 'content', status: 'banned_name' }]), findings: [{ module: 'content', status: 'banned_name', detections: [{ status: 'banned_name', name: 'x.exe' }] }] }] });
    await keepItem(svc, { raw: message('Plain for bob'), qid: 'CCCCCCCCCCCCCCCC', groups: [{ recipients: ['bob@inside.test'], verdict: verdict('delete_attachment', [{ module: 'content', status: 'banned_name' }]), findings: [{ module: 'content', status: 'banned_name', detections: [{ status: 'banned_name', name: 'y.exe' }] }] }] });
    const all = (await api.call('GET', '/api/v1/backup?limit=10', admin)).body as { items: Item[]; total: number };
    assert.equal(all.total, 4);
    const of = (rcpt: string, threat: boolean) => all.items.find((i) => i.recipients.includes(rcpt) && i.hasThreat === threat)!;
    const [aVirus, aPlain, bVirus, bPlain] = [of('alice@inside.test', true), of('alice@inside.test', false), of('bob@inside.test', true), of('bob@inside.test', false)];

    // Alice's list: her two items only, whatever she filters on.
    const listA = (await api.call('GET', '/api/v1/personal/backup', alice)).body as { items: Item[]; total: number };
    assert.deepEqual(listA.items.map((i) => i.id).sort(), [aVirus.id, aPlain.id].sort());
    assert.equal(listA.total, 2);
    assert.equal(((await api.call('GET', '/api/v1/personal/backup?recipient=bob@inside.test', alice)).body as { total: number }).total, 0);
    assert.equal(((await api.call('GET', '/api/v1/personal/backup?subject=bob', alice)).body as { total: number }).total, 0);
    assert.deepEqual((await api.call('GET', '/api/v1/personal/backup', nobody)).body, { items: [], total: 0, nextCursor: null });

    // Bob's items are "not found" for Alice by every personal route, exactly like a missing id.
    const missing = 'ZZZZZZZZZZZZZZZZ';
    const shape = (a: Answer, id: string) => [a.status, errorCode(a), JSON.stringify(a.body).replaceAll(id, 'ID')];
    for (const id of [bVirus.id, bPlain.id]) {
      for (const [method, path] of [['GET', ''], ['GET', '/view'], ['GET', '/eml'], ['POST', '/deliver'], ['DELETE', '']] as const) {
        const body = method === 'POST' ? {} : undefined;
        const theirs = await api.call(method, `/api/v1/personal/backup/${id}${path}`, alice, body);
        const none = await api.call(method, `/api/v1/personal/backup/${missing}${path}`, alice, body);
        assert.equal(theirs.status, 404, `${method} ${path} of bob's item: ${JSON.stringify(theirs.body)}`);
        assert.deepEqual(shape(theirs, id), shape(none, missing), `${method} ${path}`);
      }
      assert.equal((await api.call('GET', `/api/v1/personal/backup/${id}`, nobody)).status, 404);
    }
    assert.equal((await svc.search({ filter: { recipient: 'bob@inside.test' } })).total, 2, "bob's items untouched");
    assert.equal(sink.messages.filter((m) => m.to.includes('bob@inside.test')).length, 1, 'only the cleaned copy ever reached bob');

    // Alice cannot reach the admin routes.
    for (const [method, path, body] of [['GET', '/api/v1/backup', undefined], ['GET', `/api/v1/backup/${aVirus.id}`, undefined], ['GET', `/api/v1/backup/${aVirus.id}/view`, undefined],
      ['GET', `/api/v1/backup/${aVirus.id}/eml`, undefined], ['POST', `/api/v1/backup/${bVirus.id}/deliver`, {}], ['DELETE', `/api/v1/backup/${bVirus.id}`, undefined],
      ['POST', '/api/v1/backup/delete', { ids: [bVirus.id] }]] as const) {
      const r = await api.call(method, path, alice, body);
      assert.deepEqual([r.status, errorCode(r)], [403, 'forbidden'], `${method} ${path}`);
    }

    // Her own items: get (other recipients hidden), view, history.
    const mine = await api.call('GET', `/api/v1/personal/backup/${aVirus.id}`, alice);
    assert.equal(mine.status, 200);
    assert.deepEqual((mine.body as { item: Item }).item.recipients, ['alice@inside.test']);
    const view = await api.call('GET', `/api/v1/personal/backup/${aVirus.id}/view`, alice);
    assert.equal(view.status, 200);
    assert.deepEqual((view.body as { attachments: { filename: string }[] }).attachments.map((a) => a.filename), ['a.com']);
    // Threats: no download, no delivery by the user.
    for (const [method, path] of [['GET', '/eml'], ['POST', '/deliver']] as const) {
      const r = await api.call(method, `/api/v1/personal/backup/${aVirus.id}${path}`, alice, method === 'POST' ? {} : undefined);
      assert.deepEqual([r.status, errorCode(r)], [403, 'forbidden'], path);
    }
    // Without threats: download, deliver to herself only.
    const eml = await fetch(`${api.base}/api/v1/personal/backup/${aPlain.id}/eml`, { headers: { cookie: `moat_session=${(alice as { cookie: string }).cookie}` } });
    assert.equal(eml.status, 200);
    assert.equal(eml.headers.get('content-type'), 'message/rfc822');
    assert.ok(Buffer.from(await eml.arrayBuffer()).equals(plainA));
    const before = sink.messages.length;
    const dl = await api.call('POST', `/api/v1/personal/backup/${aPlain.id}/deliver`, alice);
    assert.equal(dl.status, 200, JSON.stringify(dl.body));
    assert.deepEqual((dl.body as { recipients: string[] }).recipients, ['alice@inside.test']);
    const [got] = (await sink.waitFor(before + 1)).slice(before);
    assert.deepEqual(got.to, ['alice@inside.test']);
    assert.ok(got.data.equals(plainA));
    // Delete her copy: gone for her.
    assert.equal((await api.call('DELETE', `/api/v1/personal/backup/${aPlain.id}`, alice)).status, 204);
    assert.equal((await api.call('GET', `/api/v1/personal/backup/${aPlain.id}`, alice)).status, 404);
    const audits = (await api.call('GET', '/api/v1/events/audit?actor=alice', admin)).body as { items: { action: string; target: string }[] };
    assert.deepEqual(audits.items.map((a) => [a.action, a.target]), [['backup.personal_delete', `backup:${aPlain.id}`], ['backup.personal_deliver', `backup:${aPlain.id}`], ['backup.personal_download', `backup:${aPlain.id}`]]);

    // Options turned off: 403 for her own item, still 404 for bob's.
    await node.settings.set('backup.personal', { preview: false, delete: false, deliverToSelf: false }, 'test');
    for (const [method, path] of [['GET', '/view'], ['DELETE', '']] as const) {
      assert.deepEqual([(await api.call(method, `/api/v1/personal/backup/${aVirus.id}${path}`, alice)).status], [403], path);
      assert.equal((await api.call(method, `/api/v1/personal/backup/${bVirus.id}${path}`, alice)).status, 404, path);
    }

    // Digest subscription, per address.
    assert.deepEqual((await api.call('GET', '/api/v1/personal/digest', alice)).body, { addresses: [{ address: 'alice@inside.test', subscribed: true }] });
    const off = await api.call('PUT', '/api/v1/personal/digest', alice, { subscribed: false });
    assert.deepEqual(off.body, { addresses: [{ address: 'alice@inside.test', subscribed: false }] });
    assert.equal((await api.call('PUT', '/api/v1/personal/digest', alice, { subscribed: true, address: 'bob@inside.test' })).status, 404);
    assert.equal(await node.backup.digest.subscribed('bob@inside.test'), true);
    assert.equal((await api.call('PUT', '/api/v1/personal/digest', alice, { subscribed: true, address: 'ALICE@inside.test' })).status, 200);

    // The unsubscribe link of bob's digest.
    const b0 = sink.messages.length;
    const run = await node.backup.digest.run();
    assert.ok(run.sent.some((s) => s.address === 'bob@inside.test'), JSON.stringify(run));
    const digest = (await sink.waitFor(b0 + run.sent.length)).slice(b0).find((m) => m.to.includes('bob@inside.test'))!;
    const link = /^<https:\/\/console\.inside\.test(\/api\/v1\/backup\/unsubscribe\?token=([A-Za-z0-9_.-]+))>$/.exec((header(digest.data, 'list-unsubscribe') ?? '').trim());
    assert.ok(link, header(digest.data, 'list-unsubscribe'));
    const [path, token] = [link[1], link[2]];
    // GET: a page with a button, no script, strict CSP; nothing changes (even when opened twice).
    for (let i = 0; i < 2; i++) {
      const page = await fetch(`${api.base}${path}`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(page.headers.get('content-security-policy')?.split(';')[0], "default-src 'none'");
      assert.match(page.headers.get('content-security-policy') ?? '', /form-action 'self'/);
      const html = await page.text();
      assert.ok(html.includes('bob@inside.test') && /<form method="post"/.test(html) && !/<script/i.test(html), html);
    }
    assert.equal(await node.backup.digest.subscribed('bob@inside.test'), true, 'GET does not unsubscribe');
    // Tampered tokens are refused, on GET and POST.
    const tampered = token.replace(/^./, (c) => (c === 'e' ? 'f' : 'e'));
    assert.equal((await fetch(`${api.base}/api/v1/backup/unsubscribe?token=${tampered}`)).status, 400);
    const bad = await api.call('POST', `/api/v1/backup/unsubscribe?token=${tampered}`, { kind: 'none' }, {});
    assert.deepEqual([bad.status, errorCode(bad)], [400, 'validation_failed']);
    assert.equal((await api.call('POST', '/api/v1/backup/unsubscribe', { kind: 'none' }, {})).status, 400, 'no token');
    // The RFC 8058 one-click POST.
    const one = await fetch(`${api.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    assert.equal(one.status, 200);
    assert.deepEqual(await one.json(), { address: 'bob@inside.test', subscribed: false });
    assert.equal(await node.backup.digest.subscribed('bob@inside.test'), false);
    assert.deepEqual((await api.call('GET', '/api/v1/personal/digest', bob)).body, { addresses: [{ address: 'bob@inside.test', subscribed: false }] });
    const again = await fetch(`${api.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, body: 'List-Unsubscribe=One-Click' });
    assert.equal(again.status, 400, 'a used token');
    assert.match(await again.text(), /already been used/);
    const unsub = (await api.call('GET', '/api/v1/events/audit?action=backup.digest_unsubscribe', admin)).body as { items: { actor: string; target: string }[] };
    assert.deepEqual(unsub.items.map((a) => [a.actor, a.target]), [['anonymous', 'address:bob@inside.test'], ['alice', 'account:alice']]);

    // Admin: validation, bulk delete.
    const v1 = await api.call('GET', '/api/v1/backup?status=infected', admin);
    assert.deepEqual([v1.status, (v1.body as { error: { fields: { path: string }[] } }).error.fields.map((f) => f.path)], [400, ['query.status']]);
    assert.equal((await api.call('GET', '/api/v1/backup?bogus=1', admin)).status, 400);
    assert.equal((await api.call('GET', '/api/v1/backup?limit=0', admin)).status, 400);
    assert.equal((await api.call('POST', `/api/v1/backup/${aVirus.id}/deliver`, admin, { to: ['not an address'] })).status, 400);
    assert.equal((await api.call('POST', '/api/v1/backup/delete', admin, { filter: {} })).status, 400, 'an empty filter needs all: true');
    assert.equal((await api.call('POST', '/api/v1/backup/delete', admin, { ids: [aVirus.id], filter: { sender: 'x@outside.test' } })).status, 400);
    const byFilter = await api.call('POST', '/api/v1/backup/delete', admin, { filter: { recipient: 'bob@inside.test' } });
    assert.deepEqual([byFilter.status, byFilter.body], [200, { deleted: 2 }]);
    const byIds = await api.call('POST', '/api/v1/backup/delete', admin, { ids: [aVirus.id, missing] });
    assert.deepEqual(byIds.body, { deleted: 1 });
    assert.equal((await svc.search()).total, 0);
    assert.equal((await api.call('DELETE', `/api/v1/backup/${aVirus.id}`, admin)).status, 404);
    const deletes = (await api.call('GET', '/api/v1/events/audit?actor=admin&total=true', admin)).body as { items: { action: string; target: string }[] };
    assert.deepEqual(deletes.items.filter((a) => a.action.startsWith('backup.')).map((a) => [a.action, a.target]), [['backup.delete', `backup:${aVirus.id}`], ['backup.delete_bulk', 'backup:filter']]);
  } finally {
    await node.cleanup();
    await sink.close();
  }
});
