/**
 * The shared table's conventions (web/src/components/DataTable.tsx), in a real browser on a real list: the
 * traffic events table after 12 messages went through SMTP. Server-side paging with keyset cursors (page size 10:
 * page 1 has 10 rows, page 2 the other 2, no row twice), a column hidden through "Columns", and both choices
 * remembered after a reload (localStorage `moat.table.<id>`).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { client, eventually, TEST_ADMIN_PASSWORD } from '../helpers.ts';
import { chromiumSkip, signInAdmin, startConsole, type ConsoleHarness } from './browser.ts';

let h: ConsoleHarness;
before(async () => {
  if (chromiumSkip) return;
  h = await startConsole({ settingsFor: (sink) => ({ mta: { hostname: 'gw.table.test', relayHost: `127.0.0.1:${sink.port}` } }) });
  const smtp = client(h.node.smtpPort);
  for (let i = 1; i <= 12; i++) await smtp.sendMail({ from: 'sender@client.example', to: `user${i}@example.com`, subject: `table row ${i}`, text: 'hello' });
  smtp.close();
  const api = await h.apiAs('admin', TEST_ADMIN_PASSWORD);
  await eventually(async () => (await api.request<{ items: unknown[] }>('GET', '/api/v1/events/traffic?limit=50')).body.items.length >= 12, 20_000, '12 traffic events');
});
after(async () => { await h?.close(); });

test('server paging with cursors, column choice and page size are remembered', { skip: chromiumSkip }, async () => {
  const page = await h.newPage();
  await signInAdmin(page);
  await page.goto('/events/traffic');
  const rows = page.locator('.ant-table-tbody tr.ant-table-row');
  await rows.first().waitFor();

  // Page size 10 through the size changer (tried again if a click landed while the dropdown was still moving).
  await eventually(async () => {
    if ((await rows.count()) === 10) return true;
    if (!(await page.getByTitle('10 / page').isVisible())) await page.locator('.ant-pagination-options .ant-select').click();
    await page.getByTitle('10 / page').click({ timeout: 5000 }).catch(() => {});
    await new Promise((r) => setTimeout(r, 500));
    return (await rows.count()) === 10;
  }, 30_000, '10 rows');
  const first = await rows.allTextContents();
  await page.locator('.ant-pagination-item-2').click();
  await eventually(async () => (await rows.count()) === 2, 10_000, 'the 2 rows of page 2');
  const second = await rows.allTextContents();
  assert.equal(new Set([...first, ...second]).size, 12, 'no row on both pages');

  // Hide the second column.
  await page.getByRole('button', { name: 'Choose columns' }).click();
  const boxes = page.locator('.ant-popover .ant-checkbox-wrapper');
  const name = (await boxes.nth(1).textContent())!.trim();
  await boxes.nth(1).click();
  await eventually(async () => !(await page.locator('.ant-table-thead th').allTextContents()).some((t) => t.trim() === name), 5000, `column ${name} hidden`);

  // Reload: still 10 per page, still hidden.
  await page.reload();
  await rows.first().waitFor();
  await eventually(async () => (await rows.count()) === 10, 10_000, '10 rows after reload');
  const heads = (await page.locator('.ant-table-thead th').allTextContents()).map((t) => t.trim());
  assert.ok(!heads.includes(name), `${name} stays hidden: ${heads.join('|')}`);
  const stored = JSON.parse(await page.evaluate<string>("localStorage.getItem('moat.table.events-traffic')")) as { pageSize: number; hidden: string[] };
  assert.equal(stored.pageSize, 10);
  assert.equal(stored.hidden.length >= 1, true);
  assert.deepEqual(page.problems, []);
});
