/**
 * Accounts, roles and API tokens in a real browser against a real node: the admin creates a viewer account in
 * the console; the viewer, signed in in a fresh browser context, sees the settings read-only (no Save, no Add)
 * and the API refuses its changes; a custom role is made from the permission checkboxes; the built-in admin has
 * no Delete button while another account is deleted after confirming; an API token created in the console (its
 * secret shown once) works with fetch from outside the browser, and stops working once revoked.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TEST_ADMIN_PASSWORD } from '../helpers.ts';
import { chromiumSkip, signIn, signInAdmin, startConsole, type ConsoleHarness } from './browser.ts';

let h: ConsoleHarness;
before(async () => { if (!chromiumSkip) h = await startConsole(); });
after(async () => { await h?.close(); });

const VIEWER_PASSWORD = 'viewer-password-2026-x';

test('a viewer created in the console sees settings but cannot change them', { skip: chromiumSkip }, async () => {
  const page = await h.newPage();
  await signInAdmin(page);
  await page.getByRole('menuitem', { name: 'Accounts and roles', exact: true }).click();
  await page.getByRole('button', { name: 'Add account' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add an account' });
  await dialog.getByLabel('User name').fill('vera');
  await dialog.locator('input[type=password]').fill(VIEWER_PASSWORD);
  await dialog.getByLabel('Must change the password at the first sign-in').uncheck();
  await dialog.getByRole('button', { name: 'Add' }).click();
  await dialog.waitFor({ state: 'detached' });
  const row = page.getByRole('row').filter({ hasText: 'vera' });
  await row.getByText('viewer', { exact: true }).waitFor();
  // The built-in admin cannot be deleted: no button for it.
  await page.getByRole('row').filter({ hasText: 'superuser' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Delete admin' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Delete vera' }).count(), 1);

  // The viewer in a fresh browser context.
  const v = await h.newPage();
  await v.goto('/');
  await signIn(v, 'vera', VIEWER_PASSWORD);
  await v.getByTestId('user-menu').waitFor();
  await v.getByRole('menuitem', { name: 'Settings', exact: true }).click();
  await v.getByText(/Read-only: your role may view the settings/).waitFor();
  const card = v.getByRole('region', { name: 'Mail flow' });
  await card.getByLabel('Greeting banner').waitFor();
  assert.equal(await card.getByLabel('Greeting banner').isDisabled(), true);
  assert.equal(await v.getByRole('button', { name: 'Save' }).count(), 0, 'no Save button for a viewer');
  await v.getByRole('tab', { name: 'Domains and routing', exact: true }).click();
  await v.getByRole('table', { name: 'Domains' }).waitFor();
  assert.equal(await v.getByRole('button', { name: 'Add domain' }).count(), 0);
  await v.getByRole('menuitem', { name: 'Accounts and roles', exact: true }).click();
  await v.getByRole('row').filter({ hasText: 'vera' }).waitFor();
  assert.equal(await v.getByRole('button', { name: 'Add account' }).count(), 0);
  assert.equal(await v.getByRole('button', { name: /^(Edit|Delete) / }).count(), 0);
  // And the API refuses anyway.
  const api = await h.apiAs('vera', VIEWER_PASSWORD);
  assert.equal((await api.request('PATCH', '/api/v1/settings/mta', { settings: { banner: 'viewer was here' } })).status, 403);
  assert.deepEqual(page.problems, []);
  assert.deepEqual(v.problems, []);
});

test('a custom role from checkboxes; deleting an account asks first', { skip: chromiumSkip }, async () => {
  const admin = await h.apiAs('admin', TEST_ADMIN_PASSWORD);
  assert.equal((await admin.request('POST', '/api/v1/accounts', { username: 'temp', role: 'viewer', password: 'temporary-pass-2026' })).status, 201);
  const page = await h.newPage();
  await signInAdmin(page);
  await page.goto('/accounts/roles');
  await page.getByRole('row').filter({ hasText: 'viewer' }).getByText('read-only').waitFor();
  await page.getByRole('button', { name: 'Add role' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add a role' });
  await dialog.getByLabel('Role name').fill('auditors');
  await dialog.getByLabel('Description').fill('Read the events');
  await dialog.locator('fieldset').filter({ hasText: 'events' }).getByLabel('view').check();
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();
  await dialog.waitFor({ state: 'detached' });
  const role = await admin.request<{ permissions: string[] }>('GET', '/api/v1/roles/auditors');
  assert.deepEqual(role.body.permissions, ['events.view']);

  await page.getByRole('tab', { name: 'Accounts', exact: true }).click();
  await page.getByRole('button', { name: 'Delete temp' }).click();
  const ask = page.getByRole('dialog').filter({ hasText: 'Delete the account temp?' });
  await ask.getByText('its sessions and API tokens end at once').waitFor();
  await ask.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.getByText('Deleted temp').waitFor();
  assert.equal((await admin.request('GET', '/api/v1/accounts/temp')).status, 404);
  assert.deepEqual(page.problems, []);
});

test('an API token made in the console works with fetch, until revoked', { skip: chromiumSkip }, async () => {
  const page = await h.newPage();
  await signInAdmin(page);
  await page.getByRole('menuitem', { name: 'API tokens', exact: true }).click();
  await page.getByRole('button', { name: 'Create token' }).click();
  const dialog = page.getByRole('dialog', { name: 'Create an API token' });
  await dialog.getByLabel('Token name').fill('ci-script');
  await dialog.getByRole('button', { name: 'Create' }).click();
  const secret = (await page.getByTestId('shown-secret').textContent())?.trim() ?? '';
  assert.match(secret, /^moat_[A-Za-z0-9_-]{43}$/);
  assert.ok(await page.getByRole('dialog').getByRole('button', { name: /copy/i }).count() >= 1, 'a copy button');
  await page.getByRole('button', { name: 'Done' }).click();
  await page.getByRole('cell', { name: 'ci-script', exact: true }).waitFor();

  const me = await fetch(`${h.base}/api/v1/auth/me`, { headers: { authorization: `Bearer ${secret}` } });
  assert.equal(me.status, 200);
  const body = await me.json() as { username: string; via: string };
  assert.equal(body.username, 'admin');
  assert.equal(body.via, 'token');
  assert.equal((await fetch(`${h.base}/api/v1/settings/mta`, { headers: { authorization: `Bearer ${secret}` } })).status, 200);

  await page.getByRole('button', { name: 'Revoke ci-script' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
  await page.getByText('Revoked ci-script').waitFor();
  assert.equal((await fetch(`${h.base}/api/v1/auth/me`, { headers: { authorization: `Bearer ${secret}` } })).status, 401);
  assert.deepEqual(page.problems, []);
});

