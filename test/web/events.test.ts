/**
 * The Events section in a real browser against a real node and a real SMTP sink: two messages sent over SMTP (one
 * clean, one carrying the EICAR test file) appear on the traffic tab; filtering by recipient narrows the list to
 * one; the detail shows the antivirus status, the detection and the link to the Backup item; CSV export with the
 * filter downloads a file whose rows are exactly the filtered events (checked against the API); pausing sending
 * in the console leaves an audit entry whose detail shows before/after; the system tab lists the start. A
 * viewer (events.view without events.export) has no Export button. No console error or CSP violation.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { client, eventually, TEST_ADMIN_PASSWORD } from '../helpers.ts';
import { chromiumSkip, signIn, signInAdmin, startConsole, type ApiSession, type ConsoleHarness } from './browser.ts';
import { diff } from '../../web/src/sections/events/diff.ts';

const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

interface TrafficItem { id: number; queueId: string; subject: string; recipients: string[]; backup: boolean; modules: Record<string, { status: string }> }

let h: ConsoleHarness;
let admin: ApiSession;
before(async () => {
  if (chromiumSkip) return;
  h = await startConsole({ nodeName: 'gw-events' });
  admin = await h.apiAs('admin', TEST_ADMIN_PASSWORD);
  const r = await admin.request('PATCH', '/api/v1/routing', { relayHost: `127.0.0.1:${h.sink.port}` });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const mail = client(h.node.smtpPort);
  await mail.sendMail({ from: 'alice@sender.test', to: 'carol@example.test', subject: 'Quarterly figures', text: 'Nothing to see here.' });
  await mail.sendMail({
    from: 'mallory@sender.test', to: 'bob@example.test', subject: 'Invoice attached', text: 'Please open the attachment.',
    attachments: [{ filename: 'invoice.com', content: EICAR }],
  });
  await eventually(async () => (await admin.request<{ items: unknown[] }>('GET', '/api/v1/events/traffic')).body.items.length >= 2, 20_000, 'two traffic events');
});
after(async () => { await h?.close(); });

test('traffic: both messages listed, filter by recipient, detail with the antivirus status, CSV export of the filter', { skip: chromiumSkip }, async () => {
  const page = await h.newPage();
  await signInAdmin(page);
  await page.getByRole('menuitem', { name: 'Events', exact: true }).click();
  await page.waitForURL(/\/events\/traffic/);
  const table = page.getByRole('table', { name: 'Traffic events', exact: true });
  await table.getByText('Quarterly figures').waitFor();
  await table.getByText('Invoice attached').waitFor();

  // Filter by recipient: only the EICAR message is left, and the filter is in the address.
  await page.getByLabel('Recipient', { exact: true }).fill('bob@example.test');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.waitForURL(/recipient=bob%40example\.test/);
  await eventually(async () => (await table.getByText('Quarterly figures').count()) === 0, 10_000, 'the clean message filtered out');
  await table.getByText('Invoice attached').waitFor();
  assert.equal(await table.locator('tbody tr.ant-table-row').count(), 1, 'one row after filtering by recipient');

  // Export CSV with the filter: the downloaded rows are the filtered events, as the API lists them.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    (async () => { await page.getByRole('button', { name: 'Export' }).click(); await page.getByText('CSV (spreadsheet)').click(); })(),
  ]);
  assert.match(download.suggestedFilename(), /^moat-traffic-events-\d{8}T\d{6}Z\.csv$/);
  const csv = readFileSync((await download.path())!, 'utf8');
  await page.getByText(/^Saved moat-traffic-events-.*1 rows/).waitFor();
  const lines = csv.trim().split(/\r?\n/);
  const viaApi = (await admin.request<{ items: TrafficItem[] }>('GET', '/api/v1/events/traffic?recipient=bob%40example.test')).body.items;
  assert.equal(viaApi.length, 1);
  assert.equal(lines.length, 1 + viaApi.length, `header + one row per filtered event:\n${csv}`);
  assert.equal(lines[0].split(',')[3], 'queue_id');
  assert.equal(lines[1].split(',')[3], viaApi[0].queueId, 'the row is the filtered event');
  assert.ok(lines[1].includes('Invoice attached'));
  assert.ok(!csv.includes('Quarterly figures'), 'the filtered-out event is not exported');
  await page.getByRole('dialog').getByRole('button', { name: 'Close', exact: true }).last().click();

  // The detail: antivirus status and detection, the Backup link (the Default rule keeps infected originals).
  await table.getByText('Invoice attached').click();
  await page.waitForURL(new RegExp(`/events/traffic/${viaApi[0].id}$`));
  const modules = page.getByRole('table', { name: 'Scan modules', exact: true });
  const avRow = modules.locator('tr', { hasText: 'antivirus' });
  await avRow.getByText('infected', { exact: true }).waitFor();
  assert.match(await avRow.textContent() ?? '', /EICAR/i, 'the detection is named');
  assert.equal(viaApi[0].modules.antivirus.status, 'infected');
  assert.equal(viaApi[0].backup, true);
  // "Open in Backup" leads to the Backup item kept for this message (found by its queue id).
  const kept = (await admin.request<{ items: { id: string }[] }>('GET', `/api/v1/backup?queueId=${viaApi[0].queueId}`)).body.items;
  assert.equal(kept.length, 1, 'the original is in Backup');
  const backupLink = page.getByRole('link', { name: 'Open in Backup' });
  await backupLink.waitFor();
  assert.equal(await backupLink.getAttribute('href'), `/backup/${kept[0].id}`);
  // Back to the list keeps the filter.
  await page.getByRole('button', { name: 'Back to the list' }).click();
  await page.waitForURL(/\/events\/traffic\?recipient=bob%40example\.test/);
  assert.equal(await page.getByLabel('Recipient', { exact: true }).inputValue(), 'bob@example.test');
  assert.deepEqual(page.problems, [], 'no console errors or CSP violations');
});

test('audit: pausing sending in the console is in the audit trail with before/after; system events list the start', { skip: chromiumSkip }, async () => {
  const page = await h.newPage();
  await signInAdmin(page);
  await page.getByRole('menuitem', { name: 'Message queue', exact: true }).click();
  await page.getByTestId('paused-sending').getByText('running', { exact: true }).waitFor();
  await page.getByRole('button', { name: 'Pause sending' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Pause sending' }).click();
  await page.getByTestId('paused-sending').getByText('paused', { exact: true }).waitFor();

  await page.getByRole('menuitem', { name: 'Events', exact: true }).click();
  await page.getByRole('tab', { name: 'Audit trail' }).click();
  await page.waitForURL(/\/events\/audit/);
  await page.getByLabel('Action', { exact: true }).fill('queue.pause');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  const table = page.getByRole('table', { name: 'Audit trail', exact: true });
  const row = table.locator('tbody tr.ant-table-row', { hasText: 'queue.pause' });
  await row.waitFor();
  assert.match(await row.textContent() ?? '', /admin/);
  await row.click();
  await page.getByText('Audit entry:').waitFor();
  const diffRow = page.locator('tr', { hasText: 'mta.paused.sending' });
  await diffRow.waitFor();
  const cells = await diffRow.locator('td').allTextContents();
  assert.deepEqual(cells.slice(1), ['changed', 'false', 'true'], `before/after of the pause: ${cells.join(' | ')}`);

  // System events: the node's start is there; the severity filter narrows by severity.
  await page.goto('/events/system?type=product.started');
  await page.getByRole('table', { name: 'System events', exact: true }).getByText(/started on node gw-events/).first().waitFor();
  await page.goto('/events/system?severity=critical');
  const systemTable = page.getByRole('table', { name: 'System events', exact: true });
  await systemTable.getByText('No data', { exact: true }).filter({ visible: true }).waitFor();
  assert.equal(await systemTable.getByText('product.started').count(), 0, 'the severity filter narrows the list');

  // Resume so that other tests see sending running.
  const r = await admin.request('POST', '/api/v1/queue/resume', { direction: 'sending' });
  assert.equal(r.status, 200);
  assert.deepEqual(page.problems, [], 'no console errors or CSP violations');
});

test('a viewer sees events but no Export button, nor queue controls', { skip: chromiumSkip }, async () => {
  const created = await admin.request('POST', '/api/v1/accounts', { username: 'watcher', role: 'viewer', password: 'viewer-password-2026', mustChangePassword: false });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const page = await h.newPage({ width: 390, height: 844, isMobile: true });
  await page.goto('/');
  await page.evaluate(() => sessionStorage.setItem('moat.wizard.offered', '1'));
  await signIn(page, 'watcher', 'viewer-password-2026');
  await page.getByTestId('user-menu').waitFor();
  await page.goto('/events/traffic');
  await page.getByText('Invoice attached').first().waitFor();
  assert.equal(await page.getByRole('button', { name: 'Export' }).count(), 0, 'no Export without events.export');
  await page.goto('/queue');
  await page.getByTestId('paused-sending').waitFor();
  assert.equal(await page.getByRole('button', { name: /Pause sending|Resume sending/ }).count(), 0, 'no pause control without queue.edit');
  assert.deepEqual(page.problems, [], 'no console errors or CSP violations');
});

test('keyset paging: the next page continues after the last event; the page size is remembered', { skip: chromiumSkip }, async () => {
  // 12 more audit entries on queue:receiving (pause/resume six times over the API).
  for (let i = 0; i < 6; i++) {
    for (const verb of ['pause', 'resume']) assert.equal((await admin.request('POST', `/api/v1/queue/${verb}`, { direction: 'receiving' })).status, 200);
  }
  const all = (await admin.request<{ items: { id: number }[] }>('GET', '/api/v1/events/audit?target=queue%3Areceiving')).body.items.map((e) => e.id);
  assert.equal(all.length, 12);
  const page = await h.newPage();
  await signInAdmin(page);
  await page.goto('/events/audit?target=queue%3Areceiving');
  const table = page.getByRole('table', { name: 'Audit trail', exact: true });
  const rows = table.locator('tbody tr.ant-table-row');
  await eventually(async () => (await rows.count()) === 12, 10_000, '12 rows at 25 a page');
  // 10 a page: the first page has the 10 newest, the next page (asked with the cursor) the 2 oldest.
  await page.getByRole('combobox', { name: /Page Size/i }).or(page.locator('.ant-pagination-options .ant-select')).first().click();
  await page.getByText('10 / page', { exact: true }).click();
  await eventually(async () => (await rows.count()) === 10, 10_000, '10 rows at 10 a page');
  const firstPage = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-row-key')));
  assert.deepEqual(firstPage, all.slice(0, 10).map(String));
  const nextPage = page.waitForResponse((r) => r.url().includes('/api/v1/events/audit?') && r.url().includes(`cursor=${all[9]}`));
  await page.getByRole('listitem', { name: 'Next Page' }).click();
  await nextPage;
  await eventually(async () => (await rows.count()) === 2, 10_000, 'the 2 oldest on the next page');
  assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-row-key'))), all.slice(10).map(String));
  // The page size is remembered in this browser.
  await page.reload();
  await eventually(async () => (await rows.count()) === 10, 10_000, 'still 10 a page after reloading');
  assert.deepEqual(page.problems, [], 'no console errors or CSP violations');
});

test('the audit before/after table: changed, added and removed paths first, values as JSON text, bounded', () => {
  const rows = diff({ 'mta.paused.sending': false, keep: 'x', list: ['a', 'b'], gone: { deep: 1 } }, { 'mta.paused.sending': true, keep: 'x', list: ['a'], added: null });
  assert.deepEqual(rows.map((r) => [r.path, r.change, r.before, r.after]), [
    ['added', 'added', undefined, 'null'],
    ['gone.deep', 'removed', '1', undefined],
    ['list.1', 'removed', '"b"', undefined],
    ['mta.paused.sending', 'changed', 'false', 'true'],
    ['keep', 'same', '"x"', '"x"'],
    ['list.0', 'same', '"a"', '"a"'],
  ]);
  assert.deepEqual(diff(undefined, undefined), []);
  assert.deepEqual(diff('<script>alert(1)</script>', undefined).map((r) => r.before), ['"<script>alert(1)</script>"'], 'text, rendered escaped by React');
  const big = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, i]));
  assert.equal(diff(big, {}).length, 500, 'at most 500 rows');
});
