/**
 * `npm run screenshots`: a PNG of each main page of the console, in screenshots/ (git-ignored), for reviewing
 * the look. Starts a node on loopback with a real SMTP sink (test/web/browser.ts), sends some real traffic
 * through SMTP (clean mail, EICAR attachments, a GTUBE spam test message), then in headless chromium at
 * 1280×800: the sign-in page, the forced password change, the first-run wizard, and every section the menu
 * lists (whatever is built by then), plus the dashboard on a phone-sized screen.
 *
 * Options: `--out <dir>` (default screenshots/). Needs chromium (/usr/bin/chromium or MOAT_CHROMIUM).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { client } from '../test/helpers.ts';
import { EICAR } from '../test/antivirus/helpers.ts';
import { changeInitialPassword, NEW_ADMIN_PASSWORD, signIn, startConsole, type ConsolePage } from '../test/web/browser.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const out = resolve(args.includes('--out') ? args[args.indexOf('--out') + 1] : join(ROOT, 'screenshots'));
mkdirSync(out, { recursive: true });

const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

const h = await startConsole({
  nodeName: 'gw-1', firstStart: true,
  settingsFor: (sink) => ({ mta: { hostname: 'mx.example.com', relayHost: `127.0.0.1:${sink.port}` } }),
});
const shots: string[] = [];
async function shot(page: ConsolePage, name: string, fullPage = true): Promise<void> {
  await page.waitForLoadState('networkidle').catch(() => {});
  await page.waitForTimeout(600); // charts animate in
  const file = join(out, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  shots.push(file);
}

try {
  // Traffic: 40 messages over SMTP, relayed to the sink and scanned by the Default rule.
  const smtp = client(h.node.smtpPort);
  let sent = 0;
  for (let i = 0; i < 40; i++) {
    const to = `user${i % 7}@example.com`;
    if (i % 9 === 4) await smtp.sendMail({ from: 'billing@partner.example', to, subject: `Invoice ${1000 + i}`, text: 'Please find the invoice attached.', attachments: [{ filename: 'invoice.com', content: EICAR }] });
    else if (i % 6 === 5) await smtp.sendMail({ from: 'offers@bulk.example', to, subject: 'You have won', text: `Claim now! ${GTUBE}` });
    else await smtp.sendMail({ from: `colleague${i % 5}@partner.example`, to, subject: `Project update ${i}`, text: 'Notes from today attached as text.' });
    sent++;
  }
  // Message queue: two messages the next hop defers (the sink answers 451 to defer-* recipients).
  await smtp.sendMail({ from: 'reports@partner.example', to: ['defer-finance@example.com', 'defer-audit@example.com'], subject: 'Monthly report', text: 'Attached.' });
  await smtp.sendMail({ from: 'colleague1@partner.example', to: 'defer-sales@example.com', subject: 'Leads', text: 'See below.' });
  smtp.close();
  await h.sink.waitFor(sent - 10, 60_000).catch(() => {});
  await h.node.monitor.recorder.flush();

  const page = await h.newPage();
  await page.goto('/');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await shot(page, '01-sign-in', false);
  await signIn(page, 'admin', h.initialPassword!);
  await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
  await shot(page, '02-change-password', false);
  await changeInitialPassword(page, h.initialPassword!, NEW_ADMIN_PASSWORD);
  await page.waitForURL(/\/setup/);
  await page.getByRole('heading', { name: 'Set up Moat' }).waitFor();
  await shot(page, '03-wizard', false);

  await page.goto('/dashboard');
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await page.getByText('Last hour', { exact: true }).click();
  await shot(page, '04-dashboard');

  // Every section in the menu, in menu order.
  const keys = await page.locator('[data-testid^="menu-"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')!.slice(5)));
  let n = 5;
  for (const key of keys.filter((k) => k !== 'dashboard')) {
    await page.getByTestId(`menu-${key}`).click();
    // A section still being built may have no heading yet: take the picture anyway, and say so.
    await page.locator('h1').first().waitFor({ timeout: 8000 }).catch(() => console.error(`# section ${key}: no page heading`));
    await shot(page, `${String(n++).padStart(2, '0')}-${key}`);
  }

  // The rule editor (Rules section): the Default rule, every block.
  await page.goto('/rules/Default');
  await page.getByRole('heading', { name: /Rule Default/ }).waitFor().catch(() => console.error('# rule editor: no heading'));
  await shot(page, `${String(n++).padStart(2, '0')}-rule-editor`);

  // Backup: one message (index fields, the sandboxed HTML view); personal mode as the end user user4@example.com.
  await page.goto('/backup');
  await page.getByRole('row').filter({ hasText: 'Invoice' }).first().click();
  await page.getByTestId('message-html').or(page.getByTestId('message-text')).first().waitFor().catch(() => console.error('# backup message: no view'));
  await shot(page, `${String(n++).padStart(2, '0')}-backup-message`);
  const adminApi = await h.apiAs('admin', NEW_ADMIN_PASSWORD);
  await adminApi.request('POST', '/api/v1/accounts', { username: 'user4', role: 'personal', password: 'user4-screenshots-pass', mustChangePassword: false, addresses: ['user4@example.com'] });
  const user = await h.newPage();
  await signIn(user, 'user4', 'user4-screenshots-pass');
  await user.getByRole('heading', { name: 'My Backup' }).waitFor().catch(() => user.getByTestId('menu-my-backup').click());
  await user.goto('/my/backup');
  await user.getByRole('row').filter({ hasText: 'Invoice' }).first().waitFor().catch(() => console.error('# my backup: no item'));
  await shot(user, `${String(n++).padStart(2, '0')}-my-backup`);
  await user.getByRole('row').filter({ hasText: 'Invoice' }).first().click().catch(() => {});
  await shot(user, `${String(n++).padStart(2, '0')}-my-backup-message`);
  await user.goto('/my/lists');
  await shot(user, `${String(n++).padStart(2, '0')}-my-lists`);
  await user.goto('/my/digest');
  await shot(user, `${String(n++).padStart(2, '0')}-my-digest`);

  // Events: a traffic event's detail (the EICAR message), the audit trail and one entry's before/after; the queue.
  await page.goto('/events/traffic?status=infected');
  await page.getByRole('table', { name: 'Traffic events', exact: true }).getByText(/^Invoice/).first().click().catch(() => console.error('# events: no infected message'));
  await page.getByRole('table', { name: 'Scan modules', exact: true }).waitFor().catch(() => {});
  await shot(page, `${String(n++).padStart(2, '0')}-events-traffic-detail`);
  await page.goto('/events/audit');
  await page.getByRole('table', { name: 'Audit trail', exact: true }).locator('tbody tr.ant-table-row').first().waitFor().catch(() => {});
  await shot(page, `${String(n++).padStart(2, '0')}-events-audit`);
  await page.getByRole('table', { name: 'Audit trail', exact: true }).locator('tbody tr.ant-table-row', { hasText: 'settings.update' }).first().click().catch(() => {});
  await shot(page, `${String(n++).padStart(2, '0')}-events-audit-detail`);
  await page.goto('/queue');
  await page.getByRole('table', { name: 'Queued messages', exact: true }).locator('tbody tr.ant-table-row').first().click().catch(() => console.error('# queue: no message'));
  await page.getByRole('table', { name: 'Recipients', exact: true }).waitFor().catch(() => {});
  await shot(page, `${String(n++).padStart(2, '0')}-queue-message`);

  const phone = await h.newPage({ width: 390, height: 844, isMobile: true });
  await phone.goto('/');
  await phone.evaluate("sessionStorage.setItem('moat.wizard.offered', '1')");
  await signIn(phone, 'admin', NEW_ADMIN_PASSWORD);
  await phone.getByTestId('user-menu').waitFor();
  await phone.goto('/dashboard');
  await phone.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await shot(phone, `${String(n++).padStart(2, '0')}-dashboard-phone`);
  await phone.getByRole('button', { name: 'Open the menu' }).click();
  await shot(phone, `${String(n++).padStart(2, '0')}-menu-phone`, false);

  const problems = [...page.problems, ...phone.problems];
  console.log(JSON.stringify({ screenshots: shots.length, dir: out, problems }));
} finally {
  await h.close();
}
