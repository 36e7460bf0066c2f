/**
 * Sign-in, sessions, CSRF, lockout, forced and expired passwords, API tokens, account rules and the error shape,
 * over real loopback HTTP against nodes started with startTestNode (SQLite). Time moves through an injected
 * clock (idle timeout, lockout end, expiry), never by sleeping.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, TEST_ADMIN_PASSWORD, type TestNode } from '../helpers.ts';
import { Api, RecordingSinks, errorCode, type Creds } from './client.ts';

const PW = 'alice-password-0001';

class TestClock { offset = 0; now = () => Date.now() + this.offset; }

describe('accounts API', () => {
  let node: TestNode;
  let api: Api;
  let admin: Creds;
  const sinks = new RecordingSinks();
  const clock = new TestClock();

  before(async () => {
    node = await startTestNode({
      clock, audit: sinks, systemEvents: sinks,
      settings: { accounts: { lockoutThreshold: 3, lockoutDuration: 600, loginRatePerMinute: 0, sessionIdleTimeout: 120, sessionLifetime: 3600, passwordExpiryDays: 30 } },
    });
    api = new Api(node.httpPort);
    admin = await api.session('admin', TEST_ADMIN_PASSWORD);
  });
  after(async () => { await node?.cleanup(); });

  async function create(username: string, role: string, extra: Record<string, unknown> = {}) {
    const r = await api.call('POST', '/api/v1/accounts', admin, { username, role, password: PW, mustChangePassword: false, ...extra });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r;
  }

  test('sign-in: cookie flags, /auth/me, login.ok event; sign-out ends the session', async () => {
    const s = await api.login('admin', TEST_ADMIN_PASSWORD);
    assert.match(s.setCookie, /^moat_session=[A-Za-z0-9_-]{43};/);
    for (const flag of ['HttpOnly', 'SameSite=Strict', 'Path=/']) assert.ok(s.setCookie.includes(flag), `${flag} in ${s.setCookie}`);
    assert.ok(!/;\s*Secure/i.test(s.setCookie), 'no Secure flag over plain HTTP');
    const creds: Creds = { kind: 'session', cookie: s.cookie, csrf: s.csrf };
    const me = await api.call('GET', '/api/v1/auth/me', creds);
    assert.equal(me.status, 200);
    assert.deepEqual({ ...(me.body as object), permissions: undefined }, { username: 'admin', role: 'superuser', permissions: undefined, personal: false, addresses: [], source: 'local', via: 'session', mustChangePassword: false, csrfToken: s.csrf });
    assert.ok(sinks.events.some((e) => e.type === 'login.ok' && (e.details as { user: string }).user === 'admin'));
    const out = await api.call('POST', '/api/v1/auth/logout', creds);
    assert.equal(out.status, 204);
    assert.match(out.headers.get('set-cookie') ?? '', /moat_session=;/);
    assert.equal((await api.call('GET', '/api/v1/auth/me', creds)).status, 401);
  });

  test('unknown user and wrong password get the same answer; both are recorded as login.failed', async () => {
    await create('bob', 'viewer');
    const unknown = await api.call('POST', '/api/v1/auth/login', { kind: 'none' }, { username: 'nobody-here', password: 'whatever-password' });
    const wrong = await api.call('POST', '/api/v1/auth/login', { kind: 'none' }, { username: 'bob', password: 'whatever-password' });
    assert.equal(unknown.status, 401);
    assert.deepEqual(unknown.body, wrong.body);
    assert.equal(unknown.headers.get('set-cookie'), null);
    const failed = sinks.events.filter((e) => e.type === 'login.failed').map((e) => (e.details as { reason: string; user: string }));
    assert.ok(failed.some((d) => d.user === 'nobody-here' && d.reason === 'unknown_user'));
    assert.ok(failed.some((d) => d.user === 'bob' && d.reason === 'wrong_password'));
    assert.ok(!JSON.stringify(sinks.events).includes('whatever-password'), 'no password in events');
    assert.ok(!JSON.stringify(node.logs).includes('whatever-password'), 'no password in the log');
    assert.equal((await api.call('POST', '/api/v1/accounts/bob/unlock', admin)).status, 200, 'reset the failure count');
  });

  test('CSRF: a cookie request that changes state needs the right X-CSRF-Token; GET and Bearer do not', async () => {
    const s = await api.login('admin', TEST_ADMIN_PASSWORD);
    const none = await api.call('POST', '/api/v1/tokens', { kind: 'session', cookie: s.cookie, csrf: null }, { name: 'csrf-1' });
    assert.equal(none.status, 403);
    assert.equal(errorCode(none), 'csrf_failed');
    const wrong = await api.call('POST', '/api/v1/tokens', { kind: 'session', cookie: s.cookie, csrf: `${s.csrf.slice(0, -2)}xx` }, { name: 'csrf-1' });
    assert.equal(errorCode(wrong), 'csrf_failed');
    const other = await api.login('admin', TEST_ADMIN_PASSWORD);
    assert.equal(errorCode(await api.call('DELETE', '/api/v1/accounts/bob', { kind: 'session', cookie: s.cookie, csrf: other.csrf })), 'csrf_failed', "another session's token does not do");
    assert.equal((await api.call('GET', '/api/v1/accounts', { kind: 'session', cookie: s.cookie, csrf: null })).status, 200);
    const right = await api.call('POST', '/api/v1/tokens', { kind: 'session', cookie: s.cookie, csrf: s.csrf }, { name: 'csrf-1' });
    assert.equal(right.status, 201);
    const bearer = await api.call('POST', '/api/v1/tokens', { kind: 'token', token: (right.body as { secret: string }).secret }, { name: 'csrf-2' });
    assert.equal(bearer.status, 201, 'Bearer tokens are exempt');
  });

  test('lockout: N failures lock the account even for the right password; unlock and the duration end it', async () => {
    await create('carol', 'viewer');
    for (let i = 0; i < 3; i++) assert.equal((await api.call('POST', '/api/v1/auth/login', { kind: 'none' }, { username: 'carol', password: 'wrong-password-xyz' })).status, 401);
    const locked = await api.call('POST', '/api/v1/auth/login', { kind: 'none' }, { username: 'carol', password: PW });
    assert.equal(locked.status, 401);
    const wrong = await api.call('POST', '/api/v1/auth/login', { kind: 'none' }, { username: 'nobody-here', password: PW });
    assert.deepEqual(locked.body, wrong.body, 'a locked account answers like an unknown one');
    assert.ok(sinks.events.some((e) => e.type === 'account.locked' && (e.details as { user: string }).user === 'carol'));
    const view = await api.call('GET', '/api/v1/accounts/carol', admin);
    assert.equal((view.body as { locked: boolean }).locked, true);
    assert.equal((await api.call('POST', '/api/v1/accounts/carol/unlock', admin)).status, 200);
    assert.ok(sinks.audits.some((a) => a.action === 'accounts.unlock' && a.target === 'account:carol' && a.actor === 'admin' && a.source === 'api' && a.ip === '127.0.0.1'));
    await api.login('carol', PW);
    // Locked again; this time the lock runs out.
    for (let i = 0; i < 3; i++) await api.call('POST', '/api/v1/auth/login', { kind: 'none' }, { username: 'carol', password: 'wrong-password-xyz' });
    assert.equal((await api.call('POST', '/api/v1/auth/login', { kind: 'none' }, { username: 'carol', password: PW })).status, 401);
    clock.offset += 601_000;
    try { await api.login('carol', PW); } finally { clock.offset -= 601_000; }
  });

  test('session idle timeout and absolute lifetime', async () => {
    const start = clock.offset;
    try {
      const s = await api.session('admin', TEST_ADMIN_PASSWORD);
      clock.offset += 100_000;
      assert.equal((await api.call('GET', '/api/v1/auth/me', s)).status, 200, 'active within the idle timeout');
      clock.offset += 100_000;
      assert.equal((await api.call('GET', '/api/v1/auth/me', s)).status, 200, 'the request above renewed it');
      clock.offset += 121_000;
      assert.equal((await api.call('GET', '/api/v1/auth/me', s)).status, 401, 'idle for longer than 120 s');
      // Lifetime: kept busy every 100 s, it still ends 3600 s after sign-in.
      const t = await api.session('admin', TEST_ADMIN_PASSWORD);
      for (let i = 0; i < 35; i++) {
        clock.offset += 100_000;
        assert.equal((await api.call('GET', '/api/v1/auth/me', t)).status, 200, `${(i + 1) * 100} s`);
      }
      clock.offset += 100_000;
      assert.equal((await api.call('GET', '/api/v1/auth/me', t)).status, 401, '3600 s');
    } finally {
      clock.offset = start;
    }
  });

  test('an expired password must be changed: every other route answers password_change_required', async () => {
    await create('dave', 'viewer');
    clock.offset += 31 * 86_400_000;
    try {
      const s = await api.session('dave', PW);
      const me = await api.call('GET', '/api/v1/auth/me', s);
      assert.equal((me.body as { mustChangePassword: boolean }).mustChangePassword, true);
      const blocked = await api.call('GET', '/api/v1/accounts', s);
      assert.equal(blocked.status, 403);
      assert.equal(errorCode(blocked), 'password_change_required');
      assert.equal(errorCode(await api.call('GET', '/api/v1/health', s)), 'password_change_required');
      const weak = await api.call('POST', '/api/v1/auth/password', s, { currentPassword: PW, newPassword: 'dave' });
      assert.equal(weak.status, 400);
      assert.deepEqual((weak.body as { error: { fields: { path: string }[] } }).error.fields.map((f) => f.path), ['newPassword']);
      assert.equal((await api.call('POST', '/api/v1/auth/password', s, { currentPassword: 'not-the-password', newPassword: 'dave-new-password-1' })).status, 400);
      assert.equal((await api.call('POST', '/api/v1/auth/password', s, { currentPassword: PW, newPassword: 'dave-new-password-1' })).status, 204);
      assert.equal((await api.call('GET', '/api/v1/accounts', s)).status, 200, 'the same session goes on');
      // The admin's own session (password set at creation, 31 days ago) must change too; not part of this test.
    } finally { clock.offset -= 31 * 86_400_000; }
  });

  test('API tokens: created (secret once), used, listed, revoked → 401; owner disabled → 401; expiry', async () => {
    await create('erin', 'viewer');
    const erin = await api.session('erin', PW);
    const made = await api.call('POST', '/api/v1/tokens', erin, { name: 'ci', expiresInDays: 2 });
    assert.equal(made.status, 201);
    const { token, secret } = made.body as { token: { id: number; lastUsedAt: null }; secret: string };
    assert.match(secret, /^moat_[A-Za-z0-9_-]{43}$/);
    assert.equal(token.lastUsedAt, null);
    const bearer: Creds = { kind: 'token', token: secret };
    const me = await api.call('GET', '/api/v1/auth/me', bearer);
    assert.equal((me.body as { via: string; username: string; csrfToken: null }).via, 'token');
    assert.equal((me.body as { username: string }).username, 'erin');
    assert.equal((await api.call('GET', '/api/v1/accounts', bearer)).status, 200, 'acts with the viewer role');
    assert.equal((await api.call('POST', '/api/v1/roles', bearer, { name: 'x', permissions: [] })).status, 403, 'and no more');
    const list = await api.call('GET', '/api/v1/tokens', erin);
    const listed = (list.body as { items: { id: number; lastUsedAt: number | null }[] }).items;
    assert.equal(listed.length, 1);
    assert.equal(typeof listed[0].lastUsedAt, 'number');
    assert.ok(!JSON.stringify(list.body).includes(secret.slice(5)), 'the secret is never listed');
    assert.equal((await api.call('GET', '/api/v1/accounts/erin/tokens', admin)).status, 200);
    // Expiry
    clock.offset += 2 * 86_400_000 + 1000;
    try { assert.equal((await api.call('GET', '/api/v1/auth/me', bearer)).status, 401, 'expired'); } finally { clock.offset -= 2 * 86_400_000 + 1000; }
    assert.equal((await api.call('GET', '/api/v1/auth/me', bearer)).status, 200);
    // Disabled owner
    assert.equal((await api.call('PATCH', '/api/v1/accounts/erin', admin, { disabled: true })).status, 200);
    assert.equal((await api.call('GET', '/api/v1/auth/me', bearer)).status, 401);
    assert.equal((await api.call('GET', '/api/v1/auth/me', erin)).status, 401, 'disabling ends the sessions too');
    assert.equal((await api.call('PATCH', '/api/v1/accounts/erin', admin, { disabled: false })).status, 200);
    assert.equal((await api.call('GET', '/api/v1/auth/me', bearer)).status, 200);
    // Revoked: someone else's token is not found for a viewer, revoked by its owner.
    const bob = await api.session('bob', PW);
    assert.equal((await api.call('DELETE', `/api/v1/tokens/${token.id}`, bob)).status, 404);
    assert.equal((await api.call('DELETE', `/api/v1/tokens/${token.id}`, bearer)).status, 204);
    assert.equal((await api.call('GET', '/api/v1/auth/me', bearer)).status, 401);
    assert.ok(sinks.audits.some((a) => a.action === 'tokens.revoke' && a.actor === 'erin'));
    assert.ok(!JSON.stringify(sinks.audits).includes(secret), 'no secret in the audit trail');
  });

  test('account rules: admin protected, no escalation, roles in use, personal addresses; audit without hashes', async () => {
    assert.equal(errorCode(await api.call('DELETE', '/api/v1/accounts/admin', admin)), 'conflict');
    assert.equal(errorCode(await api.call('PATCH', '/api/v1/accounts/admin', admin, { role: 'viewer' })), 'conflict');
    assert.equal(errorCode(await api.call('PATCH', '/api/v1/accounts/admin', admin, { disabled: true })), 'conflict');
    assert.equal((await api.call('POST', '/api/v1/roles', admin, { name: 'helpdesk', description: 'unlocks', permissions: ['accounts.view', 'accounts.edit'] })).status, 201);
    assert.equal(errorCode(await api.call('POST', '/api/v1/roles', admin, { name: 'bad', permissions: ['accounts.fly'] })), 'validation_failed');
    assert.equal(errorCode(await api.call('POST', '/api/v1/roles', admin, { name: 'viewer', permissions: [] })), 'conflict');
    await create('frank', 'helpdesk');
    const frank = await api.session('frank', PW);
    assert.equal(errorCode(await api.call('POST', '/api/v1/accounts', frank, { username: 'evil', role: 'superuser', password: PW })), 'forbidden');
    assert.equal(errorCode(await api.call('PATCH', '/api/v1/accounts/frank', frank, { role: 'superuser' })), 'forbidden');
    assert.equal(errorCode(await api.call('POST', '/api/v1/accounts/admin/password', frank, {})), 'forbidden');
    assert.equal(errorCode(await api.call('POST', '/api/v1/roles', frank, { name: 'wide', permissions: ['rules.edit'] })), 'forbidden');
    const made = await api.call('POST', '/api/v1/accounts', frank, { username: 'Gina', role: 'personal', addresses: ['Gina@Example.TEST', 'gina@example.test', 'g2@example.test'] });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const { account, generatedPassword } = made.body as { account: { username: string; addresses: string[]; mustChangePassword: boolean }; generatedPassword: string };
    assert.deepEqual([account.username, account.addresses, account.mustChangePassword], ['gina', ['g2@example.test', 'gina@example.test'], true]);
    assert.equal(generatedPassword.length, 24);
    const gina = await api.session('gina', generatedPassword);
    assert.equal(errorCode(await api.call('GET', '/api/v1/tokens', gina)), 'password_change_required');
    assert.equal((await api.call('POST', '/api/v1/auth/password', gina, { currentPassword: generatedPassword, newPassword: 'gina-own-password-1' })).status, 204);
    const me = (await api.call('GET', '/api/v1/auth/me', gina)).body as { personal: boolean; addresses: string[]; permissions: string[] };
    assert.deepEqual([me.personal, me.addresses, me.permissions], [true, ['g2@example.test', 'gina@example.test'], []]);
    assert.equal((await api.call('GET', '/api/v1/accounts', gina)).status, 403);
    assert.equal(errorCode(await api.call('DELETE', '/api/v1/roles/helpdesk', admin)), 'conflict', 'in use by frank');
    assert.equal(errorCode(await api.call('DELETE', '/api/v1/accounts/frank', frank)), 'conflict', 'not yourself');
    assert.equal((await api.call('DELETE', '/api/v1/accounts/frank', admin)).status, 204);
    assert.equal((await api.call('GET', '/api/v1/auth/me', frank)).status, 401, 'a deleted account has no session');
    assert.equal((await api.call('DELETE', '/api/v1/roles/helpdesk', admin)).status, 204);
    const created = sinks.audits.find((a) => a.action === 'accounts.create' && a.target === 'account:gina');
    assert.ok(created);
    assert.equal(created.actor, 'frank');
    assert.ok(!JSON.stringify(sinks.audits).includes('scrypt$'), 'no password hash in the audit trail');
    assert.ok(!JSON.stringify(sinks.audits).includes(generatedPassword), 'no password in the audit trail');
  });

  test('errors: validation names the field, bad JSON, unknown route, 401 before 400', async () => {
    const bad = await api.call('POST', '/api/v1/accounts', admin, { username: 5, role: 'viewer' });
    assert.equal(bad.status, 400);
    assert.equal(errorCode(bad), 'validation_failed');
    assert.deepEqual((bad.body as { error: { fields: { path: string }[] } }).error.fields.map((f) => f.path), ['username']);
    const q = await api.call('DELETE', '/api/v1/tokens/abc', admin);
    assert.deepEqual((q.body as { error: { fields: { path: string }[] } }).error.fields.map((f) => f.path), ['params.id']);
    const res = await fetch(`${api.base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":' });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'validation_failed');
    const unknown = await api.call('GET', '/api/v1/no/such/thing', admin);
    assert.equal(unknown.status, 404);
    assert.equal(errorCode(unknown), 'not_found');
    assert.equal(errorCode(await api.call('GET', '/api/nothing')), 'not_found');
    const anon = await api.call('POST', '/api/v1/accounts', { kind: 'none' }, { username: 5 });
    assert.equal(anon.status, 401, 'authentication is checked before the body');
    assert.equal(errorCode(anon), 'unauthenticated');
    assert.equal((await api.call('GET', '/api/v1/accounts', { kind: 'token', token: 'moat_nope' })).status, 401);
    assert.equal((await api.call('GET', '/api/v1/accounts', admin, undefined, { authorization: 'Basic eDp5' })).status, 401, 'a non-Bearer Authorization header is not a cookie fallback');
  });

  test('GET /healthz stays public; /api/v1/health needs sign-in; the OpenAPI document and the reference are served', async () => {
    const h = await fetch(`${api.base}/healthz`);
    assert.equal(h.status, 200);
    assert.equal(((await h.json()) as { ok: boolean }).ok, true);
    assert.equal((await api.call('GET', '/api/v1/health')).status, 401);
    const signed = await api.call('GET', '/api/v1/health', admin);
    assert.equal((signed.body as { node: string }).node, 'test');
    const doc = (await api.call('GET', '/api/openapi.json')).body as { openapi: string; components: { securitySchemes: Record<string, unknown> } };
    assert.match(doc.openapi, /^3\./);
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['bearerAuth', 'cookieAuth']);
    const ui = await fetch(`${api.base}/api/docs/`);
    assert.equal(ui.status, 200);
    assert.match(await ui.text(), /swagger/i);
  });
});

describe('first start without adminPassword', () => {
  test('a generated admin password is printed once (not logged) and must be changed at first sign-in', async () => {
    const printed: string[] = [];
    const node = await startTestNode({ adminPassword: null, console: (t) => printed.push(t) });
    try {
      assert.equal(printed.length, 1);
      const pw = /\n {4}(\S{24})\n/.exec(printed[0])?.[1];
      assert.ok(pw, printed[0]);
      assert.ok(!JSON.stringify(node.logs).includes(pw), 'not in the log');
      const api = new Api(node.httpPort);
      const s = await api.session('admin', pw);
      assert.equal(errorCode(await api.call('GET', '/api/v1/accounts', s)), 'password_change_required');
      assert.equal((await api.call('POST', '/api/v1/auth/password', s, { currentPassword: pw, newPassword: 'a-brand-new-admin-pw' })).status, 204);
      assert.equal((await api.call('GET', '/api/v1/accounts', s)).status, 200);
    } finally { await node.cleanup(); }
  });

  test('the sign-in rate limit answers 429 too_many_requests', async () => {
    const node = await startTestNode({ settings: { accounts: { loginRatePerMinute: 2 } } });
    try {
      const api = new Api(node.httpPort);
      const codes = [];
      for (let i = 0; i < 3; i++) codes.push((await api.call('POST', '/api/v1/auth/login', { kind: 'none' }, { username: 'admin', password: 'wrong-wrong-wrong' })).status);
      assert.deepEqual(codes, [401, 401, 429]);
    } finally { await node.cleanup(); }
  });
});
