/**
 * The Rules section in a real browser against a real node and SMTP sink: an administrator creates a rule in the
 * editor (recipient mask, anti-virus infected → delete with the Backup copy on; a bad sender first, whose API
 * error shows on that very field), then real EICAR mail over SMTP to the mask is deleted and kept in Backup
 * (checked through the API) while the same mail to another recipient goes through the Default rule to the sink;
 * rules are reordered with the keyboard (Move up) and by dragging a row, Default staying last; a viewer sees the
 * rules read-only and the API refuses a change anyway. No console error or CSP violation on the way.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { TEST_ADMIN_PASSWORD, eventually } from '../helpers.ts';
import { EICAR, compose, sendRaw } from '../scan-e2e/helpers.ts';
import { chromiumSkip, signIn, signInAdmin, startConsole, type ConsoleHarness } from './browser.ts';

interface RuleView { id: number; name: string; position: number; preset: string | null; enabled: boolean; recipients: string[]; senders: string[]; modules: { antivirus: { blocks: { statuses: string[]; action: string; backup: boolean }[] } } }

let h: ConsoleHarness;
before(async () => {
  if (!chromiumSkip) h = await startConsole({ nodeName: 'gw-rules', settingsFor: (sink) => ({ mta: { hostname: 'gw.rules.test', relayHost: `127.0.0.1:${sink.port}`, queue: { retryInitial: 1, retryMax: 2 } } }) });
});
after(async () => { await h?.close(); });

/** A console page with room for a loaded machine (the browser tests share it with the node they drive). */
async function newPage(): Promise<Page & { problems: string[] }> {
  const page = await h.newPage();
  page.setDefaultTimeout(45_000);
  return page;
}

async function pick(page: Page, label: string, option: string): Promise<void> {
  await page.getByLabel(label, { exact: true }).click();
  await page.locator(`.ant-select-dropdown:visible .ant-select-item-option[title="${option}"]`).click();
}

async function ruleNames(): Promise<string[]> {
  const api = await h.apiAs('admin', TEST_ADMIN_PASSWORD);
  const r = await api.request<{ items: RuleView[] }>('GET', '/api/v1/rules');
  return r.body.items.map((x) => x.name);
}

test('a rule made in the editor sends EICAR to Backup for a recipient mask, and decides real mail', { skip: chromiumSkip, timeout: 120_000 }, async () => {
  const page = await newPage();
  await signInAdmin(page);
  await page.getByRole('menuitem', { name: 'Rules', exact: true }).click();
  await page.getByRole('heading', { name: 'Rules', level: 1 }).waitFor();
  for (const p of ['AllowList', 'DenyList', 'Default']) await page.getByTestId(`rule-row-${p}`).waitFor();
  // Default: no move, no delete, always on.
  assert.ok(await page.getByRole('button', { name: 'Move Default up' }).isDisabled());
  assert.ok(await page.getByRole('button', { name: 'Delete Default' }).isDisabled());
  assert.ok(await page.getByRole('switch', { name: 'Enabled: Default' }).isDisabled());

  await page.getByRole('button', { name: 'New rule' }).click();
  await page.getByRole('heading', { name: 'New rule' }).waitFor();
  await page.getByLabel('Name', { exact: true }).fill('EICAR to Backup');
  await page.getByLabel('Description').fill('Infected mail for the quarantine domain is deleted and kept');
  await page.getByRole('button', { name: 'Add recipient' }).click();
  await page.getByLabel('Recipient 1', { exact: true }).fill('*@quarantine.test');
  // A sender the server refuses: its words appear on that field, nothing is stored.
  await page.getByRole('button', { name: 'Add sender' }).click();
  await page.getByLabel('Sender 1', { exact: true }).fill('re:(unclosed');
  await pick(page, 'Anti-virus block 1 action', 'Delete');
  await page.getByLabel('Anti-virus block 1 backup').check();
  await page.getByRole('button', { name: 'Create rule' }).first().click();
  const senderError = page.locator('.ant-form-item-has-error').filter({ has: page.getByLabel('Sender 1', { exact: true }) });
  await senderError.locator('.ant-form-item-explain-error').waitFor();
  assert.match(await senderError.locator('.ant-form-item-explain-error').innerText(), /unclosed|regex|regular|\(/i);
  assert.ok(!(await ruleNames()).includes('EICAR to Backup'), 'nothing stored after the refusal');

  await page.getByRole('button', { name: 'Remove sender 1' }).click();
  await page.getByRole('button', { name: 'Create rule' }).first().click();
  await page.waitForURL(/\/rules$/);
  await page.getByTestId('rule-row-EICAR to Backup').waitFor();

  const api = await h.apiAs('admin', TEST_ADMIN_PASSWORD);
  const stored = (await api.request<RuleView>('GET', `/api/v1/rules/${encodeURIComponent('EICAR to Backup')}`)).body;
  assert.deepEqual(stored.recipients, ['*@quarantine.test']);
  assert.deepEqual(stored.senders, []);
  assert.equal(stored.position, 3, 'placed last above Default');
  const infected = stored.modules.antivirus.blocks.find((b) => b.statuses.includes('infected'))!;
  assert.equal(infected.action, 'delete');
  assert.equal(infected.backup, true);

  // Real mail: EICAR to the mask is deleted (nothing reaches the sink) and kept in Backup under this rule.
  await eventually(async () => (await api.request<{ items: RuleView[] }>('GET', '/api/v1/rules')).status === 200, 2000);
  await new Promise((r) => setTimeout(r, 1200)); // nodes pick rule changes up within a second (docs/api.md)
  const raw = await compose({ from: 'sender@outside.test', to: 'user@quarantine.test', subject: 'eicar for the quarantine', text: 'see attachment',
    attachments: [{ filename: 'eicar.com', content: Buffer.from(EICAR), contentType: 'application/octet-stream' }] });
  await sendRaw(h.node, 'sender@outside.test', ['user@quarantine.test'], raw);
  const item = await eventually(async () => {
    const r = await api.request<{ items: { rule: string; action: string; recipients: string[] }[] }>('GET', '/api/v1/backup?recipient=user%40quarantine.test');
    return r.body.items[0];
  }, 20_000, 'the Backup item');
  assert.equal(item.rule, 'EICAR to Backup');
  assert.equal(item.action, 'delete');

  // The same mail to a recipient outside the mask goes through Default (attachment removed, delivered).
  const other = await compose({ from: 'sender@outside.test', to: 'user@elsewhere.test', subject: 'eicar elsewhere', text: 'see attachment',
    attachments: [{ filename: 'eicar.com', content: Buffer.from(EICAR), contentType: 'application/octet-stream' }] });
  await sendRaw(h.node, 'sender@outside.test', ['user@elsewhere.test'], other);
  const got = await h.sink.waitFor(1);
  assert.deepEqual(got.map((m) => m.to), [['user@elsewhere.test']], 'only the mail outside the mask was delivered');
  assert.ok(!got[0].data.toString('latin1').includes('EICAR-STANDARD-ANTIVIRUS-TEST-FILE'), 'the virus did not reach the sink');
  assert.deepEqual(page.problems, []);
});

test('rules are reordered with the keyboard and by dragging; Default stays last', { skip: chromiumSkip, timeout: 60_000 }, async () => {
  const api = await h.apiAs('admin', TEST_ADMIN_PASSWORD);
  for (const name of ['Order A', 'Order B']) assert.equal((await api.request('POST', '/api/v1/rules', { name, recipients: [`*@${name.replace(' ', '').toLowerCase()}.test`] })).status, 201);
  const page = await newPage();
  await signInAdmin(page);
  await page.goto('/rules');
  await page.getByTestId('rule-row-Order B').waitFor();
  const before = await ruleNames();
  const b = before.indexOf('Order B');

  // Keyboard: focus "Move Order B up" and press Enter.
  await page.getByRole('button', { name: 'Move Order B up' }).focus();
  await page.keyboard.press('Enter');
  await eventually(async () => (await ruleNames()).indexOf('Order B') === b - 1, 5000, 'Order B one up');
  const moved = await ruleNames();
  assert.equal(moved.at(-1), 'Default');
  await page.getByText('Order B is now number').waitFor();

  // Drag: Order A onto AllowList's row takes the top place.
  await page.getByTestId('rule-row-Order A').dragTo(page.getByTestId('rule-row-AllowList'));
  await eventually(async () => (await ruleNames())[0] === 'Order A', 5000, 'Order A on top');
  // Dragging onto Default puts the rule just above it.
  await page.getByTestId('rule-row-Order A').dragTo(page.getByTestId('rule-row-Default'));
  await eventually(async () => { const n = await ruleNames(); return n.at(-2) === 'Order A' && n.at(-1) === 'Default'; }, 5000, 'Order A just above Default');

  // The status toggle disables a rule.
  await page.getByRole('switch', { name: 'Enabled: Order B' }).click();
  await eventually(async () => (await api.request<RuleView>('GET', '/api/v1/rules/Order%20B')).body.enabled === false, 5000, 'Order B disabled');

  // Delete asks first; Cancel keeps it, Delete removes it.
  await page.getByRole('button', { name: 'Delete Order B' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  assert.ok((await ruleNames()).includes('Order B'));
  await page.getByRole('button', { name: 'Delete Order B' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await eventually(async () => !(await ruleNames()).includes('Order B'), 5000, 'Order B deleted');
  assert.deepEqual(page.problems, []);
});

test('a viewer sees the rules but no edit controls, and the API refuses a change', { skip: chromiumSkip, timeout: 60_000 }, async () => {
  const admin = await h.apiAs('admin', TEST_ADMIN_PASSWORD);
  assert.equal((await admin.request('POST', '/api/v1/accounts', { username: 'vera', role: 'viewer', password: 'viewer-password-0123', mustChangePassword: false })).status, 201);
  const page = await newPage();
  await page.goto('/');
  await signIn(page, 'vera', 'viewer-password-0123');
  await page.getByTestId('user-menu').waitFor();
  await page.goto('/rules');
  await page.getByTestId('rule-row-Default').waitFor();
  await page.getByText('changing them needs the rules.edit permission').waitFor();
  assert.equal(await page.getByRole('button', { name: 'New rule' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: /^Move .* (up|down)$/ }).count(), 0);
  assert.equal(await page.getByRole('button', { name: /^Delete / }).count(), 0);
  assert.ok(await page.getByRole('switch', { name: 'Enabled: AllowList' }).isDisabled());
  assert.equal(await page.locator('tr[draggable="true"]').count(), 0);

  await page.getByRole('link', { name: 'DenyList' }).click();
  await page.getByText('Read-only: changing rules needs the rules.edit permission.').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Save' }).count(), 0);
  assert.ok(await page.getByLabel('Description').isDisabled());

  const vera = await h.apiAs('vera', 'viewer-password-0123');
  const r = await vera.request<{ error: { code: string } }>('PATCH', '/api/v1/rules/DenyList', { description: 'changed by a viewer' });
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'forbidden');
  assert.deepEqual(page.problems, []);
});
