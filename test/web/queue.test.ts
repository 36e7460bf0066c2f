/**
 * The Message queue section in a real browser against a real node whose next hop (a real SMTP sink) answers 451 to
 * `defer-*` recipients: the deferred messages are listed with the summary counts; the recipient filter narrows the
 * list; the detail shows each recipient's state and the sink's 451 reply; Hold, Release and Retry act (checked
 * over the API: state and attempts); Delete asks first (Cancel keeps the message, Delete removes it); bulk Hold and
 * bulk Delete on selected rows show progress and act. No console error or CSP violation.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { client, eventually, TEST_ADMIN_PASSWORD } from '../helpers.ts';
import { chromiumSkip, signInAdmin, startConsole, type ApiSession, type ConsoleHarness } from './browser.ts';

interface Queued { id: string; state: string; attempts: number; recipients: { address: string; state: string; lastResponse: string | null }[] }

let h: ConsoleHarness;
let admin: ApiSession;
let one: string;
let two: string;

const queueIdOf = (response: string) => /queued as ([0-9A-Z]{16})/i.exec(response)?.[1] ?? assert.fail(`no queue id in "${response}"`);
const get = async (id: string) => admin.request<Queued>('GET', `/api/v1/queue/${id}`);

before(async () => {
  if (chromiumSkip) return;
  h = await startConsole({ nodeName: 'gw-queue' });
  admin = await h.apiAs('admin', TEST_ADMIN_PASSWORD);
  const r = await admin.request('PATCH', '/api/v1/routing', { relayHost: `127.0.0.1:${h.sink.port}` });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const mail = client(h.node.smtpPort);
  one = queueIdOf((await mail.sendMail({ from: 'alice@sender.test', to: 'defer-one@example.test', subject: 'Stuck one', text: 'x' })).response);
  two = queueIdOf((await mail.sendMail({ from: 'bob@sender.test', to: 'defer-two@example.test', subject: 'Stuck two', text: 'y' })).response);
  // The first delivery attempt is answered 451 by the sink: deferred (the next attempt is minutes away).
  for (const id of [one, two]) await eventually(async () => ((await get(id)).body?.attempts ?? 0) >= 1, 20_000, `first attempt of ${id}`);
});
after(async () => { await h?.close(); });

test('a deferred message is listed, held, released, retried and deleted with confirmation', { skip: chromiumSkip }, async () => {
  const page = await h.newPage();
  await signInAdmin(page);
  await page.getByRole('menuitem', { name: 'Message queue', exact: true }).click();
  const table = page.getByRole('table', { name: 'Queued messages', exact: true });
  await table.getByText(one).waitFor();
  await table.getByText(two).waitFor();
  // The summary counts both, both tried once.
  await page.getByText('Deferred (tried)').waitFor();
  const stat = (title: string) => page.locator('.ant-statistic', { hasText: title }).locator('.ant-statistic-content');
  await eventually(async () => (await stat('Queued').textContent())?.trim() === '2', 10_000, 'Queued 2');
  assert.equal((await stat('Deferred (tried)').textContent())?.trim(), '2');

  // The recipient filter narrows the list.
  await page.getByLabel('Recipient', { exact: true }).fill('defer-one');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await eventually(async () => (await table.getByText(two).count()) === 0, 10_000, 'the other message filtered out');
  await table.getByText(one).click();

  // Detail: the recipient, its state and the next hop's reply.
  await page.waitForURL(new RegExp(`/queue/${one}$`));
  const rcpt = page.getByRole('table', { name: 'Recipients', exact: true }).locator('tr', { hasText: 'defer-one@example.test' });
  await rcpt.waitFor();
  assert.match(await rcpt.textContent() ?? '', /pending/);
  assert.match(await rcpt.textContent() ?? '', /451/);

  // Hold, then release: the state follows, in the page and in the queue.
  await page.getByRole('button', { name: 'Hold' }).click();
  await page.getByRole('button', { name: 'Release' }).waitFor();
  assert.equal((await get(one)).body.state, 'held');
  assert.equal(await page.getByRole('button', { name: 'Retry now' }).count(), 0, 'a held message is released, not retried');
  const beforeRelease = (await get(one)).body.attempts;
  await page.getByRole('button', { name: 'Release' }).click();
  await page.getByRole('button', { name: 'Hold' }).waitFor();
  assert.equal((await get(one)).body.state, 'queued');
  // Release delivers at once: the sink defers again, one more attempt.
  await eventually(async () => (await get(one)).body.attempts > beforeRelease, 15_000, 'the attempt after release');

  // Retry now: another attempt (the sink still answers 451), shown after reloading the detail.
  const beforeRetry = (await get(one)).body.attempts;
  await page.getByRole('button', { name: 'Retry now' }).click();
  await page.getByText('Delivery started').waitFor();
  await eventually(async () => (await get(one)).body.attempts > beforeRetry, 15_000, 'the retried attempt');
  await page.getByRole('button', { name: 'Back to the queue' }).click();
  await page.waitForURL(/\/queue\?recipient=defer-one/);
  await table.getByText(one).click();
  const attemptsCell = page.locator('.ant-descriptions-item-label', { hasText: /^Attempts$/ }).locator('xpath=following-sibling::td[1]');
  const attempts = (await get(one)).body.attempts;
  await eventually(async () => Number(await attemptsCell.textContent()) === attempts, 10_000, `the detail showing ${attempts} attempts`);

  // Delete asks first: Cancel keeps it, Delete removes it.
  await page.getByRole('button', { name: 'Delete' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText(`Delete message ${one} from the queue?`).filter({ visible: true }).waitFor();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.equal((await get(one)).status, 200, 'still queued after Cancel');
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete', exact: true }).click();
  await page.waitForURL(/\/queue\?recipient=defer-one/);
  await eventually(async () => (await get(one)).status === 404, 10_000, 'deleted');
  await eventually(async () => (await table.getByText(one).count()) === 0, 10_000, 'gone from the list');
  assert.deepEqual(page.problems, [], 'no console errors or CSP violations');
});

test('bulk hold and bulk delete of selected messages show progress and act', { skip: chromiumSkip }, async () => {
  const page = await h.newPage();
  await signInAdmin(page);
  await page.goto('/queue?sender=bob');
  const table = page.getByRole('table', { name: 'Queued messages', exact: true });
  const row = table.locator('tr', { hasText: two });
  await row.waitFor();
  await row.getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Hold (1)' }).click();
  await page.getByText('1 of 1 done').waitFor();
  await eventually(async () => (await get(two)).body.state === 'held', 10_000, 'held in bulk');
  await row.getByText('held', { exact: true }).waitFor();

  await row.getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Delete (1)' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText(/Delete the selected messages from the queue\?/).filter({ visible: true }).waitFor();
  await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
  await eventually(async () => (await get(two)).status === 404, 10_000, 'deleted in bulk');
  await eventually(async () => (await table.getByText(two).count()) === 0, 10_000, 'gone from the list');
  const audit = await admin.request<{ items: { action: string }[] }>('GET', '/api/v1/events/audit?target=queue%3A' + two);
  assert.deepEqual(audit.body.items.map((e) => e.action).sort(), ['queue.delete', 'queue.hold']);
  assert.deepEqual(page.problems, [], 'no console errors or CSP violations');
});
