/**
 * Personal lists (admin side) in a real browser against a real node: add several patterns at once for an owner
 * (a bad line first: its error names the line and nothing is added), search by owner with the 500-entry usage
 * shown, delete one entry after confirming (Cancel keeps it), and a viewer sees entries without edit controls
 * (the API refuses a change anyway). Checked through the API; no console error or CSP violation.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { TEST_ADMIN_PASSWORD, eventually } from '../helpers.ts';
import { chromiumSkip, signIn, signInAdmin, startConsole, type ConsoleHarness } from './browser.ts';

interface Entry { id: number; owner: string; kind: string; pattern: string }

let h: ConsoleHarness;
before(async () => { if (!chromiumSkip) h = await startConsole({ nodeName: 'gw-lists' }); });
after(async () => { await h?.close(); });

async function newPage(): Promise<Page & { problems: string[] }> {
  const page = await h.newPage();
  page.setDefaultTimeout(45_000);
  return page;
}

async function entries(owner: string): Promise<Entry[]> {
  const api = await h.apiAs('admin', TEST_ADMIN_PASSWORD);
  return (await api.request<{ items: Entry[] }>('GET', `/api/v1/lists?owner=${encodeURIComponent(owner)}`)).body.items;
}

test('an administrator adds several entries, searches by owner, and deletes one after confirming', { skip: chromiumSkip, timeout: 120_000 }, async () => {
  const page = await newPage();
  await signInAdmin(page);
  await page.getByRole('menuitem', { name: 'Personal lists', exact: true }).click();
  await page.getByRole('heading', { name: 'Personal lists', level: 1 }).waitFor();

  await page.getByRole('button', { name: 'Add entries' }).click();
  const dialog = page.locator('.ant-modal').filter({ hasText: 'Add list entries' });
  await dialog.getByLabel('Owner (recipient address)').fill('alice@example.test');
  await dialog.getByLabel('Denied senders').check();
  // Line 2 is not a valid pattern: the error names it, and nothing is added.
  await dialog.getByLabel('Sender patterns (one per line)').fill('spam@bad.test\nre:(unclosed\n*@junk.test');
  await dialog.getByRole('button', { name: 'Add' }).click();
  await dialog.getByText(/^Line 2: /).waitFor();
  assert.deepEqual(await entries('alice@example.test'), []);

  await dialog.getByLabel('Sender patterns (one per line)').fill('spam@bad.test\n*@junk.test\n192.0.2.0/24');
  await dialog.getByRole('button', { name: 'Add' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await eventually(async () => (await entries('alice@example.test')).length === 3, 5000, 'three entries');
  const stored = await entries('alice@example.test');
  assert.deepEqual(stored.map((e) => `${e.kind} ${e.pattern}`).sort(), ['deny *@junk.test', 'deny 192.0.2.0/24', 'deny spam@bad.test']);

  // Another owner's entry, to see that the search narrows the table.
  const api = await h.apiAs('admin', TEST_ADMIN_PASSWORD);
  assert.equal((await api.request('POST', '/api/v1/lists', { owner: 'bob@example.test', kind: 'allow', patterns: ['friend@partner.test'] })).status, 201);

  await page.getByLabel('Owner', { exact: true }).fill('alice@example.test');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByText('alice@example.test: 3 of 500 entries').waitFor();
  const table = page.getByRole('table');
  await table.getByText('*@junk.test').waitFor();
  assert.equal(await table.getByText('friend@partner.test').count(), 0, 'only alice\'s entries');

  // Delete asks first: Cancel keeps the entry, Delete removes it.
  await page.getByRole('button', { name: 'Remove *@junk.test for alice@example.test' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await entries('alice@example.test')).length, 3);
  await page.getByRole('button', { name: 'Remove *@junk.test for alice@example.test' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await eventually(async () => (await entries('alice@example.test')).length === 2, 5000, 'one entry removed');
  assert.ok(!(await entries('alice@example.test')).some((e) => e.pattern === '*@junk.test'));
  await page.getByText('alice@example.test: 2 of 500 entries').waitFor();
  await eventually(async () => (await table.getByText('*@junk.test').count()) === 0, 10_000, 'the row gone');
  assert.deepEqual(page.problems, []);
});

test('a viewer sees the entries but cannot add or delete; the API refuses anyway', { skip: chromiumSkip, timeout: 60_000 }, async () => {
  const admin = await h.apiAs('admin', TEST_ADMIN_PASSWORD);
  assert.equal((await admin.request('POST', '/api/v1/lists', { owner: 'carol@example.test', kind: 'allow', patterns: ['boss@example.test'] })).status, 201);
  assert.equal((await admin.request('POST', '/api/v1/accounts', { username: 'vic', role: 'viewer', password: 'viewer-password-0123', mustChangePassword: false })).status, 201);
  const page = await newPage();
  await page.goto('/');
  await signIn(page, 'vic', 'viewer-password-0123');
  await page.getByTestId('user-menu').waitFor();
  await page.goto('/lists');
  await page.getByRole('table').getByText('boss@example.test').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Add entries' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: /^Remove / }).count(), 0);
  assert.equal(await page.getByRole('checkbox').count(), 0, 'no selection for bulk actions');
  const vic = await h.apiAs('vic', 'viewer-password-0123');
  const id = (await entries('carol@example.test'))[0].id;
  assert.equal((await vic.request('DELETE', `/api/v1/lists/${id}`)).status, 403);
  assert.equal((await vic.request('POST', '/api/v1/lists', { owner: 'carol@example.test', kind: 'deny', patterns: ['x@y.test'] })).status, 403);
  assert.deepEqual(page.problems, []);
});
