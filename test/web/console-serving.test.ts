/**
 * Serving the built console (src/api/console.ts) over real HTTP from a node: index.html at / and at any deep
 * link (SPA fallback) with no-cache, hashed assets with a year-long immutable cache, the security headers (strict
 * CSP, nosniff, same-origin referrer, not framable) on console answers, JSON 404s under /api, 404 for a missing
 * file, no way out of web/dist (encoded `..`), no console routes in the OpenAPI document; and 503 with the build
 * command when the console is not built (a node whose console folder is empty).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { pino } from 'pino';
import { startTestNode, type TestNode } from '../helpers.ts';
import { ensureConsoleBuilt } from '../../scripts/build-web.ts';
import { buildApi } from '../../src/api/app.ts';
import { CONSOLE_CSP } from '../../src/api/console.ts';
import { openStore } from '../../src/store/db.ts';
import { SettingsService } from '../../src/config/settings.ts';
import { SettingsRepo } from '../../src/store/settings-repo.ts';
import { AccountsService } from '../../src/accounts/service.ts';
import { systemClock } from '../../src/platform/clock.ts';

let node: TestNode;
let base: string;
before(async () => { await ensureConsoleBuilt(); node = await startTestNode(); base = `http://127.0.0.1:${node.httpPort}`; });
after(async () => { await node?.cleanup(); });

/** A raw GET (fetch would normalise `..` in the path away). */
function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject).end();
  });
}

test('index.html at / and at deep links, no-cache, with the security headers', async () => {
  for (const path of ['/', '/backup/123', '/settings/tls?x=1', '/dashboard']) {
    const r = await fetch(base + path);
    assert.equal(r.status, 200, path);
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(r.headers.get('cache-control'), 'no-cache', path);
    assert.equal(r.headers.get('content-security-policy'), CONSOLE_CSP);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('referrer-policy'), 'same-origin');
    const html = await r.text();
    assert.match(html, /<div id="root"><\/div>/);
    assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/.test(html), 'no inline script in index.html');
  }
  for (const directive of ["script-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "default-src 'self'"]) assert.ok(CONSOLE_CSP.includes(directive), directive);
});

test('hashed assets are cached for a year; a missing file is a 404, not the console', async () => {
  const html = await (await fetch(base + '/')).text();
  const js = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1];
  const r = await fetch(base + js);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.match(r.headers.get('content-type') ?? '', /javascript/);
  assert.equal(r.headers.get('content-security-policy'), CONSOLE_CSP);
  const missing = await fetch(base + '/assets/nope-123.js');
  assert.equal(missing.status, 404);
  assert.doesNotMatch(await missing.text(), /<div id="root">/);
});

test('/api paths keep the API JSON 404; the API and /healthz are untouched', async () => {
  for (const path of ['/api/v1/nope', '/api/nothing', '/api']) {
    const r = await fetch(base + path);
    assert.equal(r.status, 404, path);
    assert.equal((await r.json() as { error: { code: string } }).error.code, 'not_found');
  }
  assert.equal((await fetch(base + '/healthz')).status, 200);
  assert.equal((await fetch(base + '/api/v1/auth/me')).status, 401);
  const doc = await (await fetch(base + '/api/openapi.json')).json() as { paths: Record<string, unknown> };
  assert.ok(!('/' in doc.paths) && !('/*' in doc.paths), 'console routes are hidden from the OpenAPI document');
});

test('no path leaves web/dist', async () => {
  for (const path of ['/..%2f..%2fpackage.json', '/assets/..%2f..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/package.json', '/..\\..\\package.json', '/%00']) {
    const r = await rawGet(node.httpPort, path);
    assert.ok(!r.body.includes('"name": "moat"'), `${path} served a file outside web/dist`);
    assert.ok([400, 404].includes(r.status) || r.body.includes('<div id="root">'), `${path}: ${r.status}`);
  }
});

test('without a build the console answers 503 with the command that builds it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'moat-console-'));
  const store = await openStore(`sqlite:${join(dir, 'moat.db')}`);
  const settings = await SettingsService.open(new SettingsRepo(store.db), {});
  const logger = pino({ level: 'silent' });
  const sink = { async audit() {}, async system() {} } as never;
  const app = await buildApi({
    node: 'x', version: '0', db: store.db, settings, logger, clock: systemClock, audit: sink, systemEvents: sink,
    accounts: new AccountsService({ db: store.db, settings: () => settings.snapshot().accounts, clock: systemClock, logger, events: sink }),
    health: { health: async () => ({ ok: true }) },
  }, { console: { dir: join(dir, 'no-dist') } });
  try {
    const r = await app.inject({ method: 'GET', url: '/rules' });
    assert.equal(r.statusCode, 503);
    assert.match(r.body, /npm run build:web/);
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/x' })).statusCode, 404);
  } finally {
    await app.close(); await store.close(); rmSync(dir, { recursive: true, force: true });
  }
});
