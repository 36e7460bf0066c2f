/**
 * The console's browser-test harness (reused by every test/web/*.test.ts; web/README.md shows how):
 * - `chromiumSkip`: false when Debian's chromium is there, else the reason to skip — but with CI=true a missing
 *   chromium is a failure, never a silent skip (pass it as `{ skip: chromiumSkip }` and call `requireChromium()`
 *   in before());
 * - `startConsole(opts)`: builds the console when web/dist is stale, starts a real SMTP sink and a Moat node on
 *   loopback (test/helpers.ts startTestNode; the admin signs in with TEST_ADMIN_PASSWORD, or with `firstStart:
 *   true` like a real first start: a generated password, `h.initialPassword`, that must be changed), launches
 *   headless chromium (playwright-core, /usr/bin/chromium or MOAT_CHROMIUM, each launch with a fresh profile in
 *   a new temporary user-data dir) and gives `newPage()`: a page in a fresh browser context (own cookies) that
 *   records console errors, page errors and CSP violations in `page.problems`;
 * - `signIn(page, user, password)`, `changeInitialPassword(page, current, next)`, `apiAs(...)` helpers;
 * - `close()` stops everything (browser, node, sink) and removes the temporary folders.
 *
 * Tests drive the page through what a person sees: roles and labels (getByRole, getByLabel), not CSS classes.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startSink, startTestNode, TEST_ADMIN_PASSWORD, type Sink, type TestNode, type TestNodeOptions } from '../helpers.ts';
import { ensureConsoleBuilt } from '../../scripts/build-web.ts';

export const CHROMIUM = process.env.MOAT_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'];

/** false when chromium is installed; else why the browser tests skip (locally only: see requireChromium). */
export const chromiumSkip: false | string = existsSync(CHROMIUM) || process.env.CI ? false : `chromium is not installed at ${CHROMIUM} (apt-get install chromium); browser tests skipped locally`;
if (chromiumSkip) console.log(`# ${chromiumSkip}`);

/** In CI a missing chromium fails the test. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) assert.fail(`chromium is missing at ${CHROMIUM}: CI must install it (apt-get install chromium)`);
}

/** The admin's new password in tests that change the generated initial one (firstStart). */
export const NEW_ADMIN_PASSWORD = 'console-admin-pass-2026';

export interface ConsolePage extends Page {
  /** Console errors, uncaught page errors and CSP violations seen so far (assert it stays empty). */
  problems: string[];
}

export interface ConsoleHarness {
  node: TestNode;
  sink: Sink;
  browser: Browser;
  /** http://127.0.0.1:<port> of the node's HTTP listener. */
  base: string;
  /** With `firstStart`: the generated initial password of admin (to be changed at first sign-in). */
  initialPassword: string | null;
  newPage(opts?: { width?: number; height?: number; isMobile?: boolean }): Promise<ConsolePage>;
  /** Signs in over the API (no browser): a cookie jar and CSRF token for setting things up quickly. */
  apiAs(username: string, password: string): Promise<ApiSession>;
  close(): Promise<void>;
}

export interface StartConsoleOptions extends TestNodeOptions {
  /** Like a real first start: admin gets a generated password (h.initialPassword) that must be changed. */
  firstStart?: boolean;
  /** Settings seed that needs the sink's port, e.g. `(sink) => ({ mta: { relayHost: `127.0.0.1:${sink.port}` } })`. */
  settingsFor?: (sink: Sink) => unknown;
}

export async function startConsole(o: StartConsoleOptions = {}): Promise<ConsoleHarness> {
  requireChromium();
  await ensureConsoleBuilt();
  const sink = await startSink();
  let initialPassword: string | null = null;
  const node = await startTestNode({
    ...o, ...(o.firstStart ? { adminPassword: null } : {}), ...(o.settingsFor ? { settings: o.settingsFor(sink) } : {}),
    console: (text: string) => { initialPassword = /password\s+(\S+)/.exec(text)?.[1] ?? null; o.console?.(text); },
  });
  if (o.firstStart && !initialPassword) throw new Error('the node did not show the generated admin password');
  const base = `http://127.0.0.1:${node.httpPort}`;
  const profile = mkdtempSync(join(tmpdir(), 'moat-chromium-'));
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, env: { ...process.env, HOME: profile } });
  } catch (err) {
    await node.cleanup(); await sink.close(); rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  const contexts: BrowserContext[] = [];
  const h: ConsoleHarness = {
    node, sink, browser, base, initialPassword,
    async newPage(p = {}) {
      const context = await browser.newContext({ baseURL: base, viewport: { width: p.width ?? 1280, height: p.height ?? 800 }, isMobile: p.isMobile ?? false, hasTouch: p.isMobile ?? false, locale: 'en-GB' });
      contexts.push(context);
      const page = watchProblems(await context.newPage());
      // Generous: the suite may run beside other heavy tests; a real failure still shows within the test timeout.
      page.setDefaultTimeout(30_000);
      return page;
    },
    async apiAs(username, password) { return ApiSession.signIn(base, username, password); },
    async close() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close().catch(() => {});
      await node.cleanup();
      await sink.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
  return h;
}

/**
 * Records on `page.problems` the console errors, uncaught page errors and CSP violations. The browser logs every
 * 4xx answer as an error; those are expected (401 before sign-in, 400 on a refused form). Everything else (5xx,
 * CSP violations, React errors) is a problem.
 */
export function watchProblems(p: Page): ConsolePage {
  const page = p as ConsolePage;
  page.problems = [];
  page.on('console', (m) => { if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) page.problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  return page;
}

/** Fills the sign-in form and submits it. */
export async function signIn(page: Page, username: string, password: string): Promise<void> {
  if (!/\/$|\/[^.]*$/.test(page.url()) || page.url() === 'about:blank') await page.goto('/');
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** On the forced change-password page: current, new and repeated password, then submit. */
export async function changeInitialPassword(page: Page, current: string, next: string): Promise<void> {
  await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
  await page.getByLabel('Current password').fill(current);
  await page.getByLabel('New password', { exact: true }).fill(next);
  await page.getByLabel('Repeat the new password').fill(next);
  await page.getByRole('button', { name: 'Change password' }).click();
}

/** Signs in as admin (TEST_ADMIN_PASSWORD by default), without the wizard offer; waits for the shell. */
export async function signInAdmin(page: Page, password = TEST_ADMIN_PASSWORD): Promise<void> {
  await page.goto('/');
  await page.evaluate("sessionStorage.setItem('moat.wizard.offered', '1')");
  await signIn(page, 'admin', password);
  await page.getByTestId('user-menu').waitFor();
}

/** A signed-in API session over real HTTP (cookie + CSRF), for arranging data before driving the browser. */
export class ApiSession {
  readonly base: string;
  readonly cookie: string;
  readonly csrf: string;
  constructor(base: string, cookie: string, csrf: string) { this.base = base; this.cookie = cookie; this.csrf = csrf; }
  static async signIn(base: string, username: string, password: string): Promise<ApiSession> {
    const r = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    assert.equal(r.status, 200, `sign-in of ${username}: ${r.status} ${await r.clone().text()}`);
    const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0];
    const me = await r.json() as { csrfToken: string };
    return new ApiSession(base, cookie, me.csrfToken);
  }
  /** Calls the API; returns the status and the parsed JSON body (null for an empty body). */
  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const r = await fetch(this.base + path, {
      method, headers: { cookie: this.cookie, 'x-csrf-token': this.csrf, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    return { status: r.status, body: (text ? JSON.parse(text) : null) as T };
  }
}
