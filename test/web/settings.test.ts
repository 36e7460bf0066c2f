/**
 * The Settings section in a real browser against a real node and a real SMTP sink: the greeting banner changed
 * in the console is what the SMTP listener says next; a domain added with a next hop receives its mail at the
 * sink; a refused value (a host name that is not one) shows the API's words on that field; a DKIM key generated
 * in the console shows the DNS TXT record to publish with copy buttons; a stale form answers 409 and offers to
 * reload. No console errors or CSP violations on the way.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { client, TEST_ADMIN_PASSWORD } from '../helpers.ts';
import { chromiumSkip, signInAdmin, startConsole, type ConsoleHarness, type ConsolePage } from './browser.ts';

let h: ConsoleHarness;
before(async () => { if (!chromiumSkip) h = await startConsole(); });
after(async () => { await h?.close(); });

/** The first line the SMTP listener sends. */
function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    s.setTimeout(10_000, () => { s.destroy(); reject(new Error('no greeting')); });
    s.on('data', (d) => { buf += d.toString('latin1'); const i = buf.indexOf('\r\n'); if (i >= 0) { s.end('QUIT\r\n'); resolve(buf.slice(0, i)); } });
    s.on('error', reject);
  });
}

async function openSettings(page: ConsolePage, tab: string): Promise<void> {
  await page.getByRole('menuitem', { name: 'Settings', exact: true }).click();
  await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
  await page.getByRole('tab', { name: tab, exact: true }).click();
}

/** The form item (label, control, error) around the control labelled `label`, inside `scope`. */
const item = (scope: ReturnType<ConsolePage['getByRole']>, label: string) => scope.locator('.ant-form-item').filter({ has: scope.page().getByLabel(label) });

test('the banner changed in the console is in the next SMTP greeting; a bad host name is refused on its field', { skip: chromiumSkip }, async () => {
  assert.doesNotMatch(await greeting(h.node.smtpPort), /console-banner-7/);
  const page = await h.newPage();
  await signInAdmin(page);
  await openSettings(page, 'Mail flow');
  const card = page.getByRole('region', { name: 'Mail flow' });
  await card.getByLabel('Greeting banner').fill('console-banner-7');
  await card.getByRole('button', { name: 'Save' }).click();
  await page.getByText(/Saved: 1 setting changed/).waitFor();
  assert.match(await greeting(h.node.smtpPort), /^220 .*console-banner-7$/);

  // A host name the API refuses: its words appear on the Host name field, and nothing is stored.
  await card.getByLabel('Host name').fill('not a host!');
  await card.getByRole('button', { name: 'Save' }).click();
  await item(card, 'Host name').getByText(/not a valid domain name/).waitFor();
  const api = await h.apiAs('admin', TEST_ADMIN_PASSWORD);
  const mta = await api.request<{ settings: { hostname: string; banner: string } }>('GET', '/api/v1/settings/mta');
  assert.notEqual(mta.body.settings.hostname, 'not a host!');
  assert.equal(mta.body.settings.banner, 'console-banner-7');
  assert.deepEqual(page.problems, []);
});

test('a stale form is refused with 409 and offers to reload', { skip: chromiumSkip }, async () => {
  const page = await h.newPage();
  await signInAdmin(page);
  await openSettings(page, 'Mail flow');
  const card = page.getByRole('region', { name: 'Mail flow' });
  await card.getByLabel('Greeting banner').fill('from-the-browser');
  // Meanwhile someone else changes the settings over the API.
  const api = await h.apiAs('admin', TEST_ADMIN_PASSWORD);
  assert.equal((await api.request('PATCH', '/api/v1/settings/mta', { settings: { maxRecipients: 999 } })).status, 200);
  await card.getByRole('button', { name: 'Save' }).click();
  await card.getByText('The settings changed meanwhile', { exact: true }).waitFor();
  await card.getByRole('button', { name: 'Reload' }).click();
  await card.getByText('The settings changed meanwhile', { exact: true }).waitFor({ state: 'detached' });
  assert.equal(await card.getByLabel('Recipients per message').inputValue(), '999');
  assert.notEqual(await card.getByLabel('Greeting banner').inputValue(), 'from-the-browser');
  assert.deepEqual(page.problems, []);
});

test('a domain added with a next hop gets its mail there; a DKIM key shows its DNS record', { skip: chromiumSkip }, async () => {
  const page = await h.newPage();
  await signInAdmin(page);
  await openSettings(page, 'Domains and routing');
  await page.getByRole('button', { name: 'Add domain' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add a domain' });
  await dialog.getByLabel('Domain name').fill('example.test');
  // A next hop that is not host[:port]: refused on the field.
  await dialog.getByLabel('Next hop').fill('bad hop!');
  await dialog.getByRole('button', { name: 'Add' }).click();
  await item(dialog, 'Next hop').getByText(/host\[:port\]/).waitFor();
  await dialog.getByLabel('Next hop').fill(`[127.0.0.1]:${h.sink.port}`);
  await dialog.getByRole('button', { name: 'Add' }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.getByRole('cell', { name: 'example.test', exact: true }).waitFor();
  await page.getByRole('cell', { name: `[127.0.0.1]:${h.sink.port}` }).waitFor();

  await client(h.node.smtpPort).sendMail({ from: 'someone@outside.test', to: 'user@example.test', subject: 'routed', text: 'hello' });
  const [m] = await h.sink.waitFor(1, 30_000);
  assert.deepEqual(m.to, ['user@example.test']);

  await page.getByRole('tab', { name: 'DKIM keys', exact: true }).click();
  await page.getByRole('button', { name: 'Generate key' }).click();
  const gen = page.getByRole('dialog', { name: 'Generate a DKIM key' });
  await gen.getByLabel('Domain').fill('example.test');
  await gen.getByLabel('Selector').fill('s1');
  await gen.getByRole('button', { name: 'Generate' }).click();
  const record = page.getByTestId('dkim-record');
  await record.waitFor({ timeout: 60_000 });
  await record.getByText('s1._domainkey.example.test.', { exact: true }).waitFor();
  assert.match(await record.textContent() ?? '', /v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]{300,}/);
  assert.ok(await record.getByRole('button', { name: /copy/i }).count() >= 2, 'copy buttons');
  await page.keyboard.press('Escape');
  await record.waitFor({ state: 'hidden' });
  await page.getByRole('cell', { name: 's1', exact: true }).waitFor();
  // Use the key: the table shows it signing.
  await page.getByRole('button', { name: 'Use', exact: true }).click();
  await page.getByText('signs', { exact: true }).waitFor();
  assert.deepEqual(page.problems, []);
});
