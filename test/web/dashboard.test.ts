/**
 * The dashboard in a real browser after real traffic: three clean messages and one carrying EICAR go through
 * SMTP (relayed to a real sink, scanned by the shipped Default rule: EICAR → attachment removed). The dashboard
 * then shows 4 messages processed, 3 delivered and 1 with attachments removed, an anti-virus detection, the
 * empty queue and the node's health with its anti-virus database; the period filter reloads the numbers; the
 * page works on a phone-sized screen (menu in a drawer) without console errors or CSP violations.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { client } from '../helpers.ts';
import { EICAR } from '../antivirus/helpers.ts';
import { chromiumSkip, signInAdmin, startConsole, type ConsoleHarness } from './browser.ts';

let h: ConsoleHarness;
// Code that runs in the page is a string: the server's tsconfig has no DOM types.
const KPI_MESSAGES_IS_4 = `document.querySelector('[data-testid="kpi-messages"] .ant-statistic-content-value')?.textContent === '4'`;
before(async () => {
  if (chromiumSkip) return;
  h = await startConsole({ nodeName: 'gw-dash', settingsFor: (sink) => ({ mta: { hostname: 'gw.dash.test', relayHost: `127.0.0.1:${sink.port}` } }) });
  const smtp = client(h.node.smtpPort);
  for (let i = 1; i <= 3; i++) await smtp.sendMail({ from: 'sender@client.example', to: `user${i}@example.com`, subject: `clean ${i}`, text: 'hello' });
  await smtp.sendMail({ from: 'sender@client.example', to: 'user4@example.com', subject: 'eicar', text: 'see attachment', attachments: [{ filename: 'eicar.com', content: EICAR }] });
  smtp.close();
  await h.sink.waitFor(4);
  // Statistics are written every few seconds; flush now so the test does not wait for the timer.
  await h.node.monitor.recorder.flush();
});
after(async () => { await h?.close(); });

test('the dashboard shows the messages by action, detections, queue and node health', { skip: chromiumSkip }, async () => {
  const page = await h.newPage();
  await signInAdmin(page);
  await page.getByRole('menuitem', { name: 'Dashboard', exact: true }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  const kpi = (id: string) => page.getByTestId(id).locator('.ant-statistic-content-value');
  await page.waitForFunction(KPI_MESSAGES_IS_4);
  assert.equal(await kpi('kpi-skip').textContent(), '3');
  assert.equal(await kpi('kpi-delete_attachment').textContent(), '1');
  assert.equal(await kpi('kpi-reject').textContent(), '0');
  assert.equal(await kpi('kpi-queue').textContent(), '0');
  // Anti-virus detected one; its status breakdown is drawn.
  await page.getByTestId('module-antivirus').getByText('1 detected').waitFor();
  assert.equal(await page.getByTestId('module-antivirus').getByRole('img', { name: 'Anti-virus statuses' }).count(), 1);
  // Charts are present and labelled.
  await page.getByRole('img', { name: 'Messages over time by action' }).waitFor();
  await page.getByRole('img', { name: 'Detections per module' }).waitFor();
  // Node health: running, the node's name, the built-in engine with its database.
  assert.equal(await page.getByTestId('health-state').textContent(), 'Running');
  await page.getByTestId('engine-builtin').waitFor();
  assert.match(await page.getByTestId('engine-builtin').textContent() ?? '', /Built-in anti-virus/);

  // Period filter: the last hour still holds all four.
  await page.getByText('Last hour', { exact: true }).click();
  await page.waitForFunction(KPI_MESSAGES_IS_4);
  assert.deepEqual(page.problems, []);
});

test('on a phone-sized screen the menu is a drawer and the dashboard still reads', { skip: chromiumSkip }, async () => {
  const page = await h.newPage({ width: 390, height: 844, isMobile: true });
  await signInAdmin(page);
  await page.goto('/dashboard');
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  assert.equal(await page.getByRole('menuitem', { name: 'Dashboard', exact: true }).count(), 0, 'no side menu');
  await page.getByRole('button', { name: 'Open the menu' }).click();
  await page.getByRole('menuitem', { name: 'Message queue', exact: true }).click();
  await page.getByRole('heading', { name: 'Message queue' }).waitFor();
  // No horizontal scrolling of the page itself.
  const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
  assert.ok(overflow <= 1, `page overflows by ${overflow}px`);
  assert.deepEqual(page.problems, []);
});
