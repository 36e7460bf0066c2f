/**
 * The API framework itself (src/api/app.ts, access.ts, errors.ts): a route under /api/v1 without
 * `config.access` stops the app from starting; an internal error answers 500 JSON without details (which go to
 * the log); access is checked before validation. Uses buildApi with a real SQLite store and app.inject.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { z } from 'zod';
import { buildApi } from '../../src/api/app.ts';
import type { ApiContext } from '../../src/api/context.ts';
import type { RouteModule } from '../../src/api/routes/index.ts';
import { openStore, type Store } from '../../src/store/db.ts';
import { SettingsService } from '../../src/config/settings.ts';
import { SettingsRepo } from '../../src/store/settings-repo.ts';
import { AccountsService } from '../../src/accounts/service.ts';
import { systemClock } from '../../src/platform/clock.ts';
import { RecordingSinks } from './client.ts';

let dir: string;
let store: Store;
const logs: Record<string, unknown>[] = [];
let ctx: ApiContext;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'moat-api-'));
  store = await openStore(`sqlite:${join(dir, 'moat.db')}`);
  const settings = await SettingsService.open(new SettingsRepo(store.db), {});
  const logger = pino({ level: 'debug' }, new Writable({ write(c, _e, done) { for (const l of String(c).split('\n')) if (l) logs.push(JSON.parse(l)); done(); } }));
  const sinks = new RecordingSinks();
  ctx = {
    node: 'unit', version: '0', db: store.db, settings, logger, clock: systemClock, audit: sinks, systemEvents: sinks,
    accounts: new AccountsService({ db: store.db, settings: () => settings.snapshot().accounts, clock: systemClock, logger, events: sinks }),
    health: { health: async () => ({ ok: true }) },
  };
});
after(async () => { await store?.close(); rmSync(dir, { recursive: true, force: true }); });

test('a route under /api/v1 without config.access stops the app from starting', async () => {
  const bare: RouteModule = (app) => { app.get('/api/v1/forgotten', async () => ({ ok: true })); };
  await assert.rejects(async () => { const app = await buildApi(ctx, { routes: [bare] }); await app.ready(); }, /\/api\/v1\/forgotten declares no valid config\.access/);
  const typo: RouteModule = (app) => { app.get('/api/v1/typo', { config: { access: 'rules.editt' as never } }, async () => ({ ok: true })); };
  await assert.rejects(async () => { const app = await buildApi(ctx, { routes: [typo] }); await app.ready(); }, /declares no valid config\.access/);
});

test('an internal error answers 500 JSON without details; the detail is logged', async () => {
  const boom: RouteModule = (app) => {
    app.get('/api/v1/boom', { config: { access: 'public' } }, async () => { throw new Error('secret internal detail at /var/lib/x'); });
    app.route({
      method: 'GET', url: '/api/v1/badshape', config: { access: 'public' },
      schema: { response: { 200: z.object({ n: z.number() }) } },
      handler: async () => ({ n: 'not a number' }) as never,
    });
  };
  const app = await buildApi(ctx, { routes: [boom] });
  try {
    for (const url of ['/api/v1/boom', '/api/v1/badshape']) {
      const r = await app.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 500, url);
      const body = r.json() as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'internal');
      assert.ok(!r.body.includes('secret internal detail') && !r.body.includes('stack') && !r.body.includes('/var/lib'), r.body);
      assert.match(body.error.message, /request \S+/);
    }
    assert.ok(logs.some((l) => l.level === 50 && JSON.stringify(l).includes('secret internal detail')), 'the detail is in the log');
  } finally { await app.close(); }
});

test('access is checked before the body is parsed: 401 for a malformed body without credentials', async () => {
  const app = await buildApi(ctx);
  try {
    const r = await app.inject({ method: 'POST', url: '/api/v1/roles', headers: { 'content-type': 'application/json' }, payload: '{not json' });
    assert.equal(r.statusCode, 401);
    const big = await app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ username: 'x', password: 'y'.repeat(2 * 1024 * 1024) }) });
    assert.equal(big.statusCode, 413);
    assert.equal((big.json() as { error: { code: string } }).error.code, 'payload_too_large');
    const text = await app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: { 'content-type': 'application/xml' }, payload: '<a/>' });
    assert.equal(text.statusCode, 415);
  } finally { await app.close(); }
});
