/**
 * The first-run wizard in a real browser, and its effect on real mail: on the first sign-in with no local domain
 * the console offers the wizard; the admin picks edge mode, sets the hostname, adds a local domain whose next
 * hop is a real SMTP sink, replaces the trusted networks (so the test's own 127.0.0.1 is no longer trusted) and
 * gives an admin address. Then, over SMTP from 127.0.0.1: mail to the new local domain is accepted and arrives at
 * the sink; mail to another domain is refused (no open relay); the greeting names the new hostname; the settings
 * read back over the API are the wizard's.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { client, TEST_ADMIN_PASSWORD } from '../helpers.ts';
import { chromiumSkip, signIn, startConsole, type ConsoleHarness } from './browser.ts';

let h: ConsoleHarness;
before(async () => { if (!chromiumSkip) h = await startConsole(); });
after(async () => { await h?.close(); });

async function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    s.once('data', (d) => { resolve(String(d)); s.end('QUIT\r\n'); });
    s.once('error', reject);
  });
}

test('the wizard sets up a local domain, its next hop and the trusted networks; mail flows accordingly', { skip: chromiumSkip }, async () => {
  const page = await h.newPage();
  await page.goto('/');
  await signIn(page, 'admin', TEST_ADMIN_PASSWORD);
  // No local domain yet: the wizard is offered.
  await page.waitForURL(/\/setup\?first=1/);
  await page.getByRole('heading', { name: 'Set up Moat' }).waitFor();

  await page.getByRole('radio', { name: /Edge gateway/ }).check();
  await page.getByRole('button', { name: 'Next' }).click();

  // A bad hostname is refused on its field.
  await page.getByLabel('Hostname of this gateway').fill('not a host name');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByText('Not a valid host name').waitFor();
  await page.getByLabel('Hostname of this gateway').fill('mx.wizard.test');
  await page.getByRole('button', { name: 'Next' }).click();

  await page.getByLabel('Domain 1', { exact: true }).fill('wizard.test');
  await page.getByLabel('Next hop of domain 1', { exact: true }).fill(`127.0.0.1:${h.sink.port}`);
  await page.getByRole('button', { name: 'Next' }).click();

  // Replace the default trusted networks (127.0.0.0/8, ::1/128) with a network the test is not in.
  const nets = page.getByLabel('Trusted networks (CIDR)');
  await nets.click();
  await nets.press('Backspace');
  await nets.press('Backspace');
  await nets.fill('10.0.0.0/8');
  await nets.press('Enter');
  await page.getByRole('button', { name: 'Next' }).click();

  await page.getByLabel("Administrator's e-mail address").fill('postmaster@wizard.test');
  await page.getByRole('button', { name: 'Next' }).click();

  // Review, then apply.
  await page.getByText('wizard.test → 127.0.0.1:' + h.sink.port).waitFor();
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.getByText('Moat is set up').waitFor();
  assert.deepEqual(page.problems, []);

  // The settings over the API are the wizard's.
  const api = await h.apiAs('admin', TEST_ADMIN_PASSWORD);
  const mta = await api.request<{ settings: { hostname: string; trustedNetworks: string[]; relayHost: string | null } }>('GET', '/api/v1/settings/mta');
  assert.equal(mta.body.settings.hostname, 'mx.wizard.test');
  assert.deepEqual(mta.body.settings.trustedNetworks, ['10.0.0.0/8']);
  const domains = await api.request<{ items: { name: string; local: boolean; route: string | null }[] }>('GET', '/api/v1/domains');
  assert.deepEqual(domains.body.items.map((d) => [d.name, d.local, d.route]), [['wizard.test', true, `127.0.0.1:${h.sink.port}`]]);
  const notif = await api.request<{ settings: { admins: string[] } }>('GET', '/api/v1/settings/notifications');
  assert.deepEqual(notif.body.settings.admins, ['postmaster@wizard.test']);

  // Real mail: accepted for the local domain and delivered to its next hop; refused for other domains.
  assert.match(await greeting(h.node.smtpPort), /^220 mx\.wizard\.test/);
  const smtp = client(h.node.smtpPort);
  await smtp.sendMail({ from: 'someone@elsewhere.example', to: 'user@wizard.test', subject: 'after the wizard', text: 'hello' });
  const got = await h.sink.waitFor(1);
  assert.deepEqual(got[0].to, ['user@wizard.test']);
  assert.match(got[0].data.toString(), /after the wizard/);
  await assert.rejects(smtp.sendMail({ from: 'someone@elsewhere.example', to: 'user@other.example', subject: 'relay?', text: 'no' }), (e: { responseCode?: number }) => e.responseCode === 554);

  // With a local domain now, the next sign-in goes straight to the console (no wizard offer).
  const again = await h.newPage();
  await again.goto('/');
  await signIn(again, 'admin', TEST_ADMIN_PASSWORD);
  await again.getByTestId('user-menu').waitFor();
  await again.waitForURL(/\/dashboard/);
});
