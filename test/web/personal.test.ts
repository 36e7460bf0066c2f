/**
 * Personal mode in a real browser against a real node (SMTP in, real SMTP sink out, chromium headless): an end
 * user signed in with a `personal` account (alice@inside.test)
 *   - sees only the "My mail" sections in the menu, not the admin Backup; its direct URL says "not available"
 *     (and the API answers 403);
 *   - sees her own Backup items and never bob's (items exist for both), opens hers in the sandboxed frame,
 *     cannot deliver an item with a threat, delivers an item without threats to herself (it arrives at the
 *     sink for her only) and deletes her copy after confirming; options the administrator turned off
 *     (backup.personal) are no longer offered, and when turned off while her page was open the API's refusal
 *     shows in words where it was used;
 *   - adds senders to her denylist (a bad pattern is refused on the field) and removes one after confirming;
 *   - turns her daily digest off and on again (the API agrees);
 *   - and the same pages work on a phone-sized screen.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, TEST_ADMIN_PASSWORD } from '../helpers.ts';
import { EICAR, compose, sendRaw } from '../scan-e2e/helpers.ts';
import { chromiumSkip, signIn, startConsole, type ApiSession, type ConsoleHarness } from './browser.ts';

const PW = 'personal-user-password-1';
let h: ConsoleHarness;
let admin: ApiSession;

interface Page { items: { id: string; subject: string; recipients: string[]; hasThreat: boolean }[]; total: number }

before(async () => {
  if (chromiumSkip) return;
  h = await startConsole({ settings: {
    mta: { hostname: 'gw.moat.test', domains: [{ name: 'inside.test', local: true }], queue: { retryInitial: 1, retryMax: 2 } },
    // Big messages are kept without threats: content's size_exceeded with a Backup copy (see below).
  } });
  admin = await h.apiAs('admin', TEST_ADMIN_PASSWORD);
  assert.equal((await admin.request('PATCH', '/api/v1/routing', { relayHost: `127.0.0.1:${h.sink.port}` })).status, 200);
  for (const [name, address] of [['alice', 'alice@inside.test'], ['bob', 'bob@inside.test']]) {
    const r = await admin.request('POST', '/api/v1/accounts', { username: name, role: 'personal', password: PW, mustChangePassword: false, addresses: [address] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
});
after(async () => { await h?.close(); });

async function send(to: string, subject: string, virus: boolean): Promise<void> {
  const raw = await compose({ from: 'someone@outside.test', to, subject, text: `Text of ${subject}\r\n`, html: `<p>HTML of <b>${subject}</b></p>`,
    attachments: virus ? [{ filename: 'bad.com', content: EICAR }] : [{ filename: 'tool.exe', content: 'MZ harmless bytes' }] });
  await sendRaw(h.node, 'someone@outside.test', [to], raw);
}

async function search(query: string): Promise<Page> {
  const r = await admin.request<Page>('GET', `/api/v1/backup?${query}`);
  assert.equal(r.status, 200);
  return r.body;
}

test('an end user sees only her own Backup and lists, and never the admin sections', { skip: chromiumSkip }, async () => {
  // Items without threats: a rule for alice and bob that keeps a Backup copy of messages with a banned name.
  const rule = await admin.request('POST', '/api/v1/rules', {
    name: 'Keep banned names', recipients: ['*@inside.test'],
    modules: { content: { enabled: true, blocks: [{ statuses: ['banned_type', 'banned_name'], action: 'delete_attachment', backup: true }] } },
  });
  assert.equal(rule.status, 201, JSON.stringify(rule.body));
  await send('alice@inside.test', 'Virus for alice', true);
  await send('bob@inside.test', 'Virus for bob', true);
  await send('alice@inside.test', 'Tool for alice', false);
  await eventually(async () => (await search('')).total === 3, 20_000, 'three Backup items');
  const plain = (await search('subject=Tool')).items[0];
  assert.equal(plain?.hasThreat, false, 'the banned-name item has no threat');

  const page = await h.newPage();
  await page.goto('/');
  await signIn(page, 'alice', PW);
  await page.getByTestId('user-menu').waitFor();
  // The menu: her sections, none of the admin ones.
  for (const name of ['My Backup', 'My lists', 'My digest']) await page.getByRole('menuitem', { name, exact: true }).waitFor();
  for (const name of ['Backup', 'Dashboard', 'Rules', 'Settings', 'Events', 'Message queue']) {
    assert.equal(await page.getByRole('menuitem', { name, exact: true }).count(), 0, `no ${name} in the menu`);
  }
  // The admin Backup by its URL: not available, and the API refuses.
  await page.goto('/backup');
  await page.getByText('Not available to your account').waitFor();
  const alice = await h.apiAs('alice', PW);
  assert.equal((await alice.request('GET', '/api/v1/backup')).status, 403);

  // Her Backup: her two items, not bob's.
  await page.getByRole('menuitem', { name: 'My Backup', exact: true }).click();
  await page.getByRole('heading', { name: 'My Backup', level: 1 }).waitFor();
  await page.getByRole('row').filter({ hasText: 'Virus for alice' }).waitFor();
  await page.getByRole('row').filter({ hasText: 'Tool for alice' }).waitFor();
  assert.equal(await page.getByText('Virus for bob').count(), 0, "bob's item is not shown");
  assert.equal(await page.getByText('bob@inside.test').count(), 0);

  // The item with a threat: viewed in the sandboxed frame; no delivery, no download.
  await page.getByRole('row').filter({ hasText: 'Virus for alice' }).click();
  await page.getByRole('heading', { name: 'Virus for alice', level: 1 }).waitFor();
  const frame = page.getByTestId('message-html');
  assert.equal(await frame.getAttribute('sandbox'), '');
  await page.frameLocator('[data-testid="message-html"]').getByText('HTML of').waitFor();
  assert.ok(await page.getByRole('button', { name: 'Deliver to me' }).isDisabled());
  assert.equal(await page.getByRole('link', { name: /Download/ }).count(), 0);
  await page.getByRole('button', { name: 'Back' }).click();

  // The item without threats: deliver to herself, it reaches her only.
  const before = h.sink.messages.length;
  await page.getByRole('row').filter({ hasText: 'Tool for alice' }).click();
  await page.getByRole('heading', { name: 'Tool for alice', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Deliver to me' }).click();
  const askDeliver = page.getByRole('dialog').filter({ hasText: 'Deliver this message to your mailbox?' });
  await askDeliver.getByRole('button', { name: 'Deliver' }).click();
  await askDeliver.waitFor({ state: 'hidden' });
  await page.getByText('Delivered to alice@inside.test').waitFor();
  const got = (await h.sink.waitFor(before + 1)).slice(before);
  assert.deepEqual(got.map((m) => m.to), [['alice@inside.test']]);
  assert.ok(got[0].data.toString('latin1').includes('tool.exe'), 'the original, attachment included');

  // Delete her copy (asked first).
  await page.getByRole('button', { name: 'Delete' }).click();
  const askDelete = page.getByRole('dialog').filter({ hasText: 'Delete this message from your Backup?' });
  await askDelete.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('heading', { name: 'My Backup', level: 1 }).waitFor();
  await page.getByRole('row').filter({ hasText: 'Virus for alice' }).waitFor();
  assert.equal(await page.getByRole('row').filter({ hasText: 'Tool for alice' }).count(), 0);
  assert.equal((await search('subject=Tool')).total, 0, 'gone: she was its only recipient');
  assert.equal((await search('subject=bob')).total, 1, "bob's item untouched");

  // Options turned off while her page is open: the API's refusal is shown in words, where it happened.
  await page.getByRole('row').filter({ hasText: 'Virus for alice' }).click();
  await page.getByRole('heading', { name: 'Virus for alice', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Delete' }).waitFor();
  const off = await admin.request('PATCH', '/api/v1/settings/backup', { settings: { personal: { preview: false, delete: false } } });
  assert.equal(off.status, 200, JSON.stringify(off.body));
  const aliceApi = await h.apiAs('alice', PW);
  const virusId = (await search('subject=Virus for alice')).items[0].id;
  await eventually(async () => (await aliceApi.request('GET', `/api/v1/personal/backup/${virusId}/view`)).status === 403, 10_000, 'the node applied the settings');
  await page.getByRole('button', { name: 'Delete' }).click();
  await askDelete.getByRole('button', { name: 'Delete' }).click();
  await page.getByText('deleting is turned off for the personal Backup').waitFor();
  assert.equal((await search('subject=Virus for alice')).total, 1, 'not deleted');
  // Opened afresh, the page offers only what is allowed: no Delete, no view, no download; the API agrees.
  assert.deepEqual((await aliceApi.request('GET', '/api/v1/personal/backup/options')).body, { preview: false, delete: false, deliverToSelf: true });
  await page.reload();
  await page.getByRole('heading', { name: 'Virus for alice', level: 1 }).waitFor();
  await page.getByText('Your administrator has turned off viewing messages in your Backup.').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Delete' }).count(), 0, 'no Delete button when deleting is off');
  assert.equal(await page.getByTestId('message-html').count(), 0, 'no message view when preview is off');
  await page.getByRole('button', { name: 'Back' }).click();
  await page.getByRole('row').filter({ hasText: 'Virus for alice' }).waitFor();
  assert.equal(await page.getByRole('checkbox').count(), 0, 'no row selection (bulk delete) when deleting is off');
  const on = await admin.request('PATCH', '/api/v1/settings/backup', { settings: { personal: { preview: true, delete: true } } });
  assert.equal(on.status, 200, JSON.stringify(on.body));
  assert.deepEqual(page.problems, []);
});

test('an end user keeps her own lists and digest subscription', { skip: chromiumSkip }, async () => {
  const page = await h.newPage();
  await page.goto('/');
  await signIn(page, 'alice', PW);
  await page.getByRole('menuitem', { name: 'My lists', exact: true }).click();
  await page.getByRole('heading', { name: 'My lists', level: 1 }).waitFor();
  // A bad pattern: refused on the field, nothing added.
  await page.getByLabel('Always refuse (denylist)').check();
  await page.getByLabel('Senders').fill('spam@shop.example\nre:([');
  await page.getByRole('button', { name: 'Add' }).click();
  await page.getByText(/line 2/).waitFor();
  const alice = await h.apiAs('alice', PW);
  assert.equal((await alice.request<{ total: number }>('GET', '/api/v1/personal/lists')).body.total, 0);
  await page.getByLabel('Senders').fill('spam@shop.example\n*@junk.example');
  await page.getByRole('button', { name: 'Add' }).click();
  await page.getByRole('cell', { name: '*@junk.example', exact: true }).waitFor();
  await page.getByRole('cell', { name: 'spam@shop.example', exact: true }).waitFor();
  const mine = (await alice.request<{ items: { owner: string; kind: string; pattern: string }[] }>('GET', '/api/v1/personal/lists')).body.items;
  assert.deepEqual(mine.map((e) => [e.owner, e.kind, e.pattern]).sort(), [['alice@inside.test', 'deny', '*@junk.example'], ['alice@inside.test', 'deny', 'spam@shop.example']]);
  // Bob's lists are not hers: he sees none of them.
  const bob = await h.apiAs('bob', PW);
  assert.equal((await bob.request<{ total: number }>('GET', '/api/v1/personal/lists')).body.total, 0);
  // Remove one (asked first).
  await page.getByRole('button', { name: 'Remove *@junk.example' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();
  await eventually(async () => (await page.getByRole('cell', { name: '*@junk.example', exact: true }).count()) === 0, 10_000, 'entry removed');
  assert.equal((await alice.request<{ total: number }>('GET', '/api/v1/personal/lists')).body.total, 1);

  // Digest: off, then on again.
  await page.getByRole('menuitem', { name: 'My digest', exact: true }).click();
  const sw = page.getByRole('switch', { name: 'Daily digest for alice@inside.test' });
  await sw.waitFor();
  const was = await sw.isChecked();
  await sw.click();
  await eventually(async () => (await alice.request<{ addresses: { subscribed: boolean }[] }>('GET', '/api/v1/personal/digest')).body.addresses[0].subscribed === !was, 10_000, 'digest toggled');
  assert.equal(await sw.isChecked(), !was);
  await sw.click();
  await eventually(async () => (await alice.request<{ addresses: { subscribed: boolean }[] }>('GET', '/api/v1/personal/digest')).body.addresses[0].subscribed === was, 10_000, 'digest toggled back');
  assert.deepEqual(page.problems, []);
});

test('personal mode works on a phone-sized screen', { skip: chromiumSkip }, async () => {
  const page = await h.newPage({ width: 390, height: 844, isMobile: true });
  await page.goto('/');
  await signIn(page, 'alice', PW);
  await page.getByRole('button', { name: 'Open the menu' }).click();
  await page.getByRole('menuitem', { name: 'My Backup', exact: true }).click();
  await page.getByRole('heading', { name: 'My Backup', level: 1 }).waitFor();
  const row = page.getByRole('row').filter({ hasText: 'Virus for alice' });
  await row.waitFor();
  await row.click();
  await page.getByTestId('message-html').waitFor();
  // Nothing wider than the screen but the table and frame, which scroll inside themselves.
  const width = await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
  assert.ok(width <= 400, `page is ${width}px wide`);
  assert.deepEqual(page.problems, []);
});
