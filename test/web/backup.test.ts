/**
 * The Backup section in a real browser against a real node (SMTP in, real SMTP sink out, chromium headless):
 *   - EICAR sent over SMTP is kept by the Default rule, shows in the Backup table, opens, is delivered (to its
 *     recipient and to another address) and arrives at the sink as the original; the .eml download is the
 *     original too; the filters (subject, queue id) narrow the table on the server and live in the URL;
 *   - a message whose HTML carries <script> (sets a global, changes the parent's title, calls fetch to a
 *     listener of the test) and <img onerror=…> is viewed: nothing ran (no global, title unchanged, no request
 *     reached the listener), the frame is sandbox="" with the message CSP — and even script put into the frame
 *     by hand (as if the server's sanitiser had failed) does not run;
 *   - a role with backup.view only sees no deliver / download / delete controls and no row selection;
 *   - the table sorts on the server (oldest first after a click on "Received", remembered after a reload; the
 *     API's cursor pages on in that order);
 *   - bulk delete asks first (Cancel deletes nothing), then shows progress and deletes exactly the selection.
 * The end user's side (personal mode) is test/web/personal.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { eventually, TEST_ADMIN_PASSWORD } from '../helpers.ts';
import { EICAR, compose, sendRaw } from '../scan-e2e/helpers.ts';
import { chromiumSkip, signIn, signInAdmin, startConsole, type ApiSession, type ConsoleHarness } from './browser.ts';

let h: ConsoleHarness;
let admin: ApiSession;
let hits: string[] = [];
let listener: Server;
let trap = '';

interface Page { items: { id: string; queueId: string; subject: string; recipients: string[] }[]; total: number }

before(async () => {
  if (chromiumSkip) return;
  h = await startConsole({ settings: { mta: { hostname: 'gw.moat.test', domains: [{ name: 'inside.test', local: true }], queue: { retryInitial: 1, retryMax: 2 } } } });
  admin = await h.apiAs('admin', TEST_ADMIN_PASSWORD);
  const r = await admin.request('PATCH', '/api/v1/routing', { relayHost: `127.0.0.1:${h.sink.port}` });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  // Any request here means script (or remote content) of a message ran in the browser.
  listener = createServer((req, res) => { hits.push(req.url ?? ''); res.end('ok'); });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  trap = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
});
after(async () => {
  listener?.close();
  await h?.close();
});

async function sendVirus(to: string, subject: string, html?: string): Promise<void> {
  const raw = await compose({ from: 'attacker@outside.test', to, subject, text: `Text of ${subject}\r\n`, ...(html ? { html } : {}), attachments: [{ filename: 'invoice.com', content: EICAR }] });
  await sendRaw(h.node, 'attacker@outside.test', [to], raw);
}

async function backupSearch(query: string): Promise<Page> {
  const r = await admin.request<Page>('GET', `/api/v1/backup?${query}`);
  assert.equal(r.status, 200);
  return r.body;
}

test('EICAR over SMTP: in the Backup table, opened, delivered (original and other address), downloaded', { skip: chromiumSkip }, async () => {
  await sendVirus('carol@inside.test', 'Quarterly invoice EICAR');
  await eventually(async () => (await backupSearch('subject=Quarterly')).total === 1, 20_000, 'the EICAR message in the Backup');
  // The cleaned copy went on to carol (Default rule: delete the attachment, keep the original in Backup).
  await h.sink.waitFor(1);
  const cleaned = h.sink.messages.length;
  assert.ok(!h.sink.messages.some((m) => m.data.includes('EICAR-STANDARD-ANTIVIRUS-TEST-FILE')), 'the virus never reached the sink');

  const page = await h.newPage();
  await signInAdmin(page);
  await page.getByRole('menuitem', { name: 'Backup', exact: true }).click();
  await page.getByRole('heading', { name: 'Backup', level: 1 }).waitFor();
  const row = page.getByRole('row').filter({ hasText: 'Quarterly invoice EICAR' });
  await row.waitFor();
  assert.match(await row.textContent() ?? '', /carol@inside\.test/);
  assert.match(await row.textContent() ?? '', /Eicar/i, 'the threat is in the row');

  // Filters narrow the table (server-side) and live in the URL.
  await page.getByLabel('Subject').fill('no-such-subject');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(/subject=no-such-subject/);
  await page.getByText('No data', { exact: true }).last().waitFor();
  await page.getByRole('button', { name: 'Clear' }).click();
  await row.waitFor();
  // By queue id (under "More filters"): the item's own id finds it, another does not.
  const queueId = (await backupSearch('subject=Quarterly')).items[0].queueId;
  await page.getByRole('button', { name: 'More filters' }).click();
  await page.getByLabel('Queue id').fill('0000000000000000');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(/queueId=0000000000000000/);
  await page.getByText('No data', { exact: true }).last().waitFor();
  await page.getByLabel('Queue id').fill(queueId);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(new RegExp(`queueId=${queueId}`));
  await row.waitFor();
  await page.getByRole('button', { name: 'Clear' }).click();

  await row.click();
  await page.getByRole('heading', { name: 'Quarterly invoice EICAR', level: 1 }).waitFor();
  await page.getByRole('tab', { name: /Attachments/ }).click();
  await page.getByRole('cell', { name: 'invoice.com' }).waitFor();
  await page.getByRole('tab', { name: 'Plain text' }).click();
  await page.getByTestId('message-text').filter({ hasText: 'Text of Quarterly invoice EICAR' }).waitFor();

  // Deliver to the original recipient: the original (with the virus) arrives at the sink.
  await page.getByRole('button', { name: 'Deliver…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Deliver the original message' });
  await dialog.getByRole('button', { name: 'Deliver' }).click();
  await page.getByText('Delivered to carol@inside.test').waitFor();
  const [orig] = (await h.sink.waitFor(cleaned + 1)).slice(cleaned);
  assert.deepEqual(orig.to, ['carol@inside.test']);
  assert.ok(orig.data.includes('Quarterly invoice EICAR'));
  assert.ok(orig.data.toString('latin1').includes('invoice.com'), 'the original, attachment included');

  // Deliver to another address: a bad one is refused on the field, then a good one arrives.
  await page.getByRole('button', { name: 'Deliver…' }).click();
  await dialog.getByLabel('Other addresses').check();
  await dialog.getByRole('textbox', { name: 'Addresses' }).fill('not an address');
  await dialog.getByRole('button', { name: 'Deliver' }).click();
  await dialog.getByText(/Not an address/).waitFor();
  await dialog.getByRole('textbox', { name: 'Addresses' }).fill('security-team@elsewhere.test');
  await dialog.getByRole('button', { name: 'Deliver' }).click();
  await page.getByText('Delivered to security-team@elsewhere.test').waitFor();
  const [other] = (await h.sink.waitFor(cleaned + 2)).slice(cleaned + 1);
  assert.deepEqual(other.to, ['security-team@elsewhere.test']);

  // The history names both deliveries.
  await page.getByRole('tab', { name: 'History' }).click();
  await eventually(async () => (await page.getByRole('table', { name: 'History' }).getByText('delivered').count()) >= 2, 10_000, 'two deliveries in the history');

  // Download: the original bytes as .eml.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: /Download \.eml/ }).click()]);
  assert.match(download.suggestedFilename(), /^[0-9A-Za-z]{16}\.eml$/);
  const eml = readFileSync((await download.path())!);
  assert.ok(eml.includes('Quarterly invoice EICAR'));
  assert.ok(eml.toString('latin1').includes('invoice.com'));
  assert.deepEqual(page.problems, [], 'no console errors or CSP violations');
});

test('script in a message does not run: sanitised HTML in a sandboxed frame with its own CSP', { skip: chromiumSkip }, async () => {
  hits = [];
  const html = '<h2>Hello from the message</h2><p>Please see the attachment.</p>'
    + `<script>window.top.moatPwned = 1; parent.document.title = 'pwned'; fetch('${trap}/script');</script>`
    + `<img src="x" onerror="window.top.moatPwned = 2; parent.document.title = 'pwned'; fetch('${trap}/onerror')">`
    + `<img src="${trap}/remote.png" alt="remote">`
    + `<a href="javascript:fetch('${trap}/link')">click</a>`;
  await sendVirus('dave@inside.test', 'Hostile HTML', html);
  await eventually(async () => (await backupSearch('subject=Hostile')).total === 1, 20_000, 'the hostile message in the Backup');

  const page = await h.newPage();
  await signInAdmin(page);
  await page.goto('/backup?subject=Hostile');
  await page.getByRole('row').filter({ hasText: 'Hostile HTML' }).click();
  await page.getByRole('heading', { name: 'Hostile HTML', level: 1 }).waitFor();
  const title = await page.title();

  const frameEl = page.getByTestId('message-html');
  await frameEl.waitFor();
  const sandbox = await frameEl.getAttribute('sandbox');
  const srcdoc = await frameEl.getAttribute('srcdoc') ?? '';
  // The message is shown.
  await page.frameLocator('[data-testid="message-html"]').getByRole('heading', { name: 'Hello from the message' }).waitFor();
  // Second wall: put the script back by hand, as if the sanitiser had let it through.
  await frameEl.evaluate((el, t) => {
    const f = el as unknown as { srcdoc: string };
    f.srcdoc = f.srcdoc.replace('</body>', `<script>window.top.moatPwned = 3; parent.document.title = 'pwned'; fetch('${t}/injected');</script><img src="x" onerror="window.top.moatPwned = 4; fetch('${t}/injected-onerror')"><p>reloaded</p></body>`);
  }, trap);
  await page.frameLocator('[data-testid="message-html"]').getByText('reloaded').waitFor();
  await new Promise((r) => setTimeout(r, 1500));

  assert.equal(await page.evaluate(() => (globalThis as unknown as { moatPwned?: number }).moatPwned), undefined, 'no global set by the message');
  assert.equal(await page.title(), title, 'the parent title is unchanged');
  assert.notEqual(await page.title(), 'pwned');
  assert.deepEqual(hits, [], 'no request reached the listener');
  // The walls: the server sanitised the HTML; the frame is sandbox="" (no allow-scripts, no allow-same-origin)
  // and its document carries the message CSP (the console's own CSP, inherited by srcdoc, forbids inline script too).
  assert.doesNotMatch(srcdoc, /<script|onerror|javascript:/i, 'the server sanitised the HTML');
  assert.ok(!srcdoc.includes(trap), 'no remote content');
  assert.equal(sandbox, '');
  assert.match(srcdoc, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">/);
  // Only the sandbox's own refusals may be in the console (chromium reports each blocked script).
  assert.deepEqual(page.problems.filter((p) => !/sandboxed and the 'allow-scripts' permission is not set|Content Security Policy/.test(p)), []);
});

test('a role with backup.view only sees no deliver, download or delete controls', { skip: chromiumSkip }, async () => {
  const role = await admin.request('POST', '/api/v1/roles', { name: 'backup-reader', permissions: ['backup.view'] });
  assert.equal(role.status, 201, JSON.stringify(role.body));
  const acct = await admin.request('POST', '/api/v1/accounts', { username: 'reader', role: 'backup-reader', password: 'reader-password-2026', mustChangePassword: false, addresses: [] });
  assert.equal(acct.status, 201, JSON.stringify(acct.body));
  const page = await h.newPage();
  await page.goto('/');
  await signIn(page, 'reader', 'reader-password-2026');
  await page.getByRole('menuitem', { name: 'Backup', exact: true }).click();
  const row = page.getByRole('row').filter({ hasText: 'Quarterly invoice EICAR' });
  await row.waitFor();
  assert.equal(await page.getByRole('checkbox').count(), 0, 'no row selection without deliver or delete');
  await row.click();
  await page.getByRole('heading', { name: 'Quarterly invoice EICAR', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Back' }).waitFor();
  for (const name of ['Deliver…', 'Delete']) assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, name);
  assert.equal(await page.getByRole('link', { name: /Download/ }).count(), 0, 'Download');
  // The API refuses anyway.
  const reader = await h.apiAs('reader', 'reader-password-2026');
  const id = (await backupSearch('subject=Quarterly')).items[0].id;
  assert.equal((await reader.request('DELETE', `/api/v1/backup/${id}`)).status, 403);
  assert.deepEqual(page.problems, []);
});

test('bulk delete asks first, shows progress and deletes exactly the selection', { skip: chromiumSkip }, async () => {
  for (const n of [1, 2, 3]) await sendVirus('erin@inside.test', `Bulk item ${n}`);
  await eventually(async () => (await backupSearch('subject=Bulk item')).total === 3, 20_000, 'three bulk items');
  const before = (await backupSearch('')).total;

  const page = await h.newPage();
  await signInAdmin(page);
  await page.goto('/backup?subject=Bulk%20item');
  await page.getByRole('row').filter({ hasText: 'Bulk item 3' }).waitFor();
  assert.equal(await page.getByRole('row').filter({ hasText: /Bulk item/ }).count(), 3);
  // Sorting is the server's (by time received): newest first, then oldest first after a click on the header,
  // remembered after a reload; the API pages on in that order with its cursor.
  const firstRow = () => page.getByRole('row').filter({ hasText: /Bulk item/ }).first().textContent();
  assert.match(await firstRow() ?? '', /Bulk item 3/);
  await page.getByRole('columnheader', { name: /Received/ }).click();
  await eventually(async () => /Bulk item 1/.test(await firstRow() ?? ''), 10_000, 'oldest first');
  await page.reload();
  await page.getByRole('row').filter({ hasText: 'Bulk item 3' }).waitFor();
  assert.match(await firstRow() ?? '', /Bulk item 1/, 'the sort order is remembered');
  const subjects: string[] = [];
  for (let cursor = '', i = 0; i < 5; i++) {
    const p = await admin.request<Page & { nextCursor: string | null }>('GET', `/api/v1/backup?subject=Bulk%20item&order=oldest&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
    subjects.push(...p.body.items.map((x) => x.subject));
    if (!p.body.nextCursor) break;
    cursor = encodeURIComponent(p.body.nextCursor);
  }
  assert.deepEqual(subjects, ['Bulk item 1', 'Bulk item 2', 'Bulk item 3'], 'keyset paging oldest first');
  await page.getByRole('checkbox', { name: /select all/i }).check();
  await page.getByRole('button', { name: 'Delete (3)' }).click();
  // Cancel: nothing is deleted.
  const ask = page.getByRole('dialog').filter({ hasText: 'Delete the selected messages from the Backup?' });
  await ask.waitFor();
  await ask.getByRole('button', { name: 'Cancel' }).click();
  await ask.waitFor({ state: 'hidden' });
  assert.equal((await backupSearch('subject=Bulk item')).total, 3);

  await page.getByRole('button', { name: 'Delete (3)' }).click();
  await ask.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog', { name: 'Delete: 3 items' }).waitFor();
  await page.getByText('3 of 3 done').waitFor();
  await page.getByText('No data', { exact: true }).last().waitFor();
  assert.equal((await backupSearch('subject=Bulk item')).total, 0);
  assert.equal((await backupSearch('')).total, before - 3, 'nothing else deleted');
  const audit = await admin.request<{ items: { action: string }[] }>('GET', '/api/v1/events/audit?action=backup.delete&actor=admin');
  assert.ok(audit.body.items.length >= 3, 'each deletion audited');
  assert.deepEqual(page.problems, []);
});
