/**
 * The authorisation matrix: reads GET /api/openapi.json from a real node and calls EVERY operation over loopback
 * HTTP with: no credentials, a superuser session (with its CSRF header), a viewer, a personal user, a custom
 * role holding exactly the route's permission, a custom role holding every permission but that one, and a
 * viewer's API token. The expected access comes from the TABLE below (not from the routes' own config), and the
 * test fails when the document has an operation without a row (or the table a row without an operation): every
 * route added later must be added here.
 *
 * Allowed = any status but 401/403 (dummy path values and empty bodies may well give 400/404); denied = 401
 * without credentials, 403 otherwise.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, TEST_ADMIN_PASSWORD, type TestNode } from '../helpers.ts';
import { PERMISSIONS, type Permission } from '../../src/accounts/permissions.ts';
import { Api, type Creds } from './client.ts';

type Access = 'public' | 'authenticated' | 'personal' | Permission;

/** method + OpenAPI path → who may call it. Add a row for every new operation. */
const TABLE: Record<string, Access> = {
  'POST /api/v1/auth/login': 'public',
  'POST /api/v1/auth/logout': 'authenticated',
  'GET /api/v1/auth/me': 'authenticated',
  'POST /api/v1/auth/password': 'authenticated',
  'GET /api/v1/accounts': 'accounts.view',
  'POST /api/v1/accounts': 'accounts.edit',
  'GET /api/v1/accounts/{username}': 'accounts.view',
  'PATCH /api/v1/accounts/{username}': 'accounts.edit',
  'DELETE /api/v1/accounts/{username}': 'accounts.edit',
  'POST /api/v1/accounts/{username}/unlock': 'accounts.edit',
  'POST /api/v1/accounts/{username}/password': 'accounts.edit',
  'GET /api/v1/accounts/{username}/tokens': 'accounts.view',
  'GET /api/v1/permissions': 'accounts.view',
  'GET /api/v1/roles': 'accounts.view',
  'POST /api/v1/roles': 'accounts.edit',
  'GET /api/v1/roles/{name}': 'accounts.view',
  'PATCH /api/v1/roles/{name}': 'accounts.edit',
  'DELETE /api/v1/roles/{name}': 'accounts.edit',
  'GET /api/v1/tokens': 'authenticated',
  'POST /api/v1/tokens': 'authenticated',
  'DELETE /api/v1/tokens/{id}': 'authenticated',
  'GET /api/v1/health': 'authenticated',
  // Configuration routes: settings, domains and routing, TLS, DKIM keys, rules, personal lists, queue.
  'GET /api/v1/settings': 'settings.view',
  'PUT /api/v1/settings': 'settings.edit',
  'GET /api/v1/settings/export': 'settings.view',
  'POST /api/v1/settings/import': 'settings.edit',
  'GET /api/v1/settings/{section}': 'settings.view',
  'PUT /api/v1/settings/{section}': 'settings.edit',
  'PATCH /api/v1/settings/{section}': 'settings.edit',
  'GET /api/v1/domains': 'settings.view',
  'POST /api/v1/domains': 'settings.edit',
  'GET /api/v1/domains/{name}': 'settings.view',
  'PATCH /api/v1/domains/{name}': 'settings.edit',
  'DELETE /api/v1/domains/{name}': 'settings.edit',
  'GET /api/v1/routing': 'settings.view',
  'PATCH /api/v1/routing': 'settings.edit',
  'GET /api/v1/tls/certificate': 'settings.view',
  'PUT /api/v1/tls/certificate': 'settings.edit',
  'DELETE /api/v1/tls/certificate': 'settings.edit',
  'GET /api/v1/dkim/keys': 'settings.view',
  'POST /api/v1/dkim/keys': 'settings.edit',
  'POST /api/v1/dkim/keys/import': 'settings.edit',
  'GET /api/v1/dkim/keys/{domain}/{selector}': 'settings.view',
  'POST /api/v1/dkim/keys/{domain}/{selector}/use': 'settings.edit',
  'POST /api/v1/dkim/keys/{domain}/{selector}/disable': 'settings.edit',
  'DELETE /api/v1/dkim/keys/{domain}/{selector}': 'settings.edit',
  'GET /api/v1/rules': 'rules.view',
  'POST /api/v1/rules': 'rules.edit',
  'GET /api/v1/rules/{id}': 'rules.view',
  'PATCH /api/v1/rules/{id}': 'rules.edit',
  'DELETE /api/v1/rules/{id}': 'rules.edit',
  'POST /api/v1/rules/{id}/enable': 'rules.edit',
  'POST /api/v1/rules/{id}/disable': 'rules.edit',
  'POST /api/v1/rules/{id}/move': 'rules.edit',
  'PUT /api/v1/rules/order': 'rules.edit',
  'GET /api/v1/lists': 'lists.view',
  'POST /api/v1/lists': 'lists.edit',
  'DELETE /api/v1/lists/{id}': 'lists.edit',
  'GET /api/v1/personal/lists': 'personal',
  'POST /api/v1/personal/lists': 'personal',
  'DELETE /api/v1/personal/lists/{id}': 'personal',
  'GET /api/v1/queue': 'queue.view',
  'GET /api/v1/queue/summary': 'queue.view',
  'GET /api/v1/queue/{id}': 'queue.view',
  'POST /api/v1/queue/{id}/retry': 'queue.edit',
  'POST /api/v1/queue/{id}/hold': 'queue.edit',
  'POST /api/v1/queue/{id}/release': 'queue.edit',
  'DELETE /api/v1/queue/{id}': 'queue.edit',
  'POST /api/v1/queue/bulk': 'queue.edit',
  'POST /api/v1/queue/pause': 'queue.edit',
  'POST /api/v1/queue/resume': 'queue.edit',
  // Record routes: Backup (admin, personal, digest unsubscribe), events, notification templates, stats, /metrics.
  'GET /api/v1/backup': 'backup.view',
  'GET /api/v1/backup/{id}': 'backup.view',
  'GET /api/v1/backup/{id}/view': 'backup.view',
  'GET /api/v1/backup/{id}/eml': 'backup.download',
  'POST /api/v1/backup/{id}/deliver': 'backup.deliver',
  'DELETE /api/v1/backup/{id}': 'backup.delete',
  'POST /api/v1/backup/delete': 'backup.delete',
  'GET /api/v1/backup/unsubscribe': 'public',
  'POST /api/v1/backup/unsubscribe': 'public',
  'GET /api/v1/personal/backup': 'personal',
  'GET /api/v1/personal/backup/options': 'personal',
  'GET /api/v1/personal/backup/{id}': 'personal',
  'GET /api/v1/personal/backup/{id}/view': 'personal',
  'GET /api/v1/personal/backup/{id}/eml': 'personal',
  'POST /api/v1/personal/backup/{id}/deliver': 'personal',
  'DELETE /api/v1/personal/backup/{id}': 'personal',
  'GET /api/v1/personal/digest': 'personal',
  'PUT /api/v1/personal/digest': 'personal',
  'GET /api/v1/events/traffic': 'events.view',
  'GET /api/v1/events/traffic/{id}': 'events.view',
  'GET /api/v1/events/traffic/export': 'events.export',
  'GET /api/v1/events/system': 'events.view',
  'GET /api/v1/events/system/{id}': 'events.view',
  'GET /api/v1/events/system/export': 'events.export',
  'GET /api/v1/events/audit': 'events.view',
  'GET /api/v1/events/audit/{id}': 'events.view',
  'GET /api/v1/events/audit/export': 'events.export',
  'GET /api/v1/notifications/templates': 'settings.view',
  'GET /api/v1/notifications/templates/{id}': 'settings.view',
  'PUT /api/v1/notifications/templates/{id}': 'settings.edit',
  'POST /api/v1/notifications/templates/{id}/reset': 'settings.edit',
  'POST /api/v1/notifications/templates/{id}/preview': 'settings.view',
  'GET /api/v1/stats/totals': 'stats.view',
  'GET /api/v1/stats/series': 'stats.view',
  'GET /api/v1/stats/nodes': 'stats.view',
  'GET /metrics': 'stats.view',
};

const PW = 'matrix-password-123456';
type Who = 'none' | 'superuser' | 'viewer' | 'personal' | 'exact' | 'allBut' | 'viewerToken';
const WHO: Who[] = ['none', 'superuser', 'viewer', 'personal', 'exact', 'allBut', 'viewerToken'];

function expectAllowed(who: Who, access: Access): boolean {
  if (access === 'public') return true;
  if (who === 'none') return false;
  if (access === 'authenticated' || access === 'personal') return true;
  switch (who) {
    case 'superuser': case 'exact': return true;
    case 'viewer': case 'viewerToken': return access.endsWith('.view');
    case 'personal': case 'allBut': return false;
  }
}

let node: TestNode;
let api: Api;
let doc: { paths: Record<string, Record<string, unknown>> };
const users = new Map<string, { name: string; creds: Creds }>();

async function makeAccount(admin: Creds, name: string, role: string): Promise<Creds> {
  const r = await api.call('POST', '/api/v1/accounts', admin, { username: name, role, password: PW, mustChangePassword: false, addresses: [`${name}@example.test`] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return api.session(name, PW);
}

before(async () => {
  node = await startTestNode({ settings: { accounts: { loginRatePerMinute: 0 } } });
  api = new Api(node.httpPort);
  doc = (await api.call('GET', '/api/openapi.json')).body as typeof doc;
});
after(async () => { await node?.cleanup(); });

test('the OpenAPI document and the table list the same operations', () => {
  const ops = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).filter((m) => m !== 'parameters').map((m) => `${m.toUpperCase()} ${path}`));
  const missing = ops.filter((o) => !(o in TABLE));
  assert.deepEqual(missing, [], `operations without a row in TABLE (add them): ${missing.join(', ')}`);
  const stale = Object.keys(TABLE).filter((o) => !ops.includes(o));
  assert.deepEqual(stale, [], `rows for operations the document does not have: ${stale.join(', ')}`);
  // Every protected operation names both security schemes; public ones none.
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [m, op] of Object.entries(methods as Record<string, { security?: unknown[]; tags?: string[] }>)) {
      assert.ok(op.tags?.length, `${m} ${path} has a tag`);
      assert.deepEqual(op.security, TABLE[`${m.toUpperCase()} ${path}`] === 'public' ? [] : [{ cookieAuth: [] }, { bearerAuth: [] }], `${m} ${path}`);
    }
  }
});

test('every operation with every kind of caller', async () => {
  const admin = await api.session('admin', TEST_ADMIN_PASSWORD);
  users.set('superuser', { name: 'admin', creds: admin });
  users.set('viewer', { name: 'viewer1', creds: await makeAccount(admin, 'viewer1', 'viewer') });
  users.set('personal', { name: 'person1', creds: await makeAccount(admin, 'person1', 'personal') });
  const tok = await api.call('POST', '/api/v1/tokens', users.get('viewer')!.creds, { name: 'matrix' });
  assert.equal(tok.status, 201, JSON.stringify(tok.body));
  users.set('viewerToken', { name: 'viewer1', creds: { kind: 'token', token: (tok.body as { secret: string }).secret } });

  // One pair of custom roles per permission the table uses, and one pair for routes that need none.
  const needed = new Set<string>(Object.values(TABLE).filter((a) => a !== 'public' && a !== 'authenticated' && a !== 'personal'));
  const custom = new Map<string, { exact: { name: string; creds: Creds }; allBut: { name: string; creds: Creds } }>();
  for (const perm of [...needed, '(none)']) {
    const slug = perm.replace(/[^a-z]/g, '');
    const exactPerms = perm === '(none)' ? [] : [perm];
    const allButPerms = PERMISSIONS.filter((p) => p !== perm);
    for (const [kind, perms] of [['exact', exactPerms], ['allbut', allButPerms]] as const) {
      const r = await api.call('POST', '/api/v1/roles', admin, { name: `${kind}-${slug}`, permissions: perms });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    custom.set(perm, {
      exact: { name: `u-exact-${slug}`, creds: await makeAccount(admin, `u-exact-${slug}`, `exact-${slug}`) },
      allBut: { name: `u-allbut-${slug}`, creds: await makeAccount(admin, `u-allbut-${slug}`, `allbut-${slug}`) },
    });
  }

  const failures: string[] = [];
  let calls = 0;
  for (const op of Object.keys(TABLE)) {
    const [method, rawPath] = op.split(' ');
    const path = rawPath.replace(/\{[^}]+\}/g, '999999');
    const access = TABLE[op];
    const key = access === 'public' || access === 'authenticated' || access === 'personal' ? '(none)' : access;
    for (const who of WHO) {
      let caller: { name: string; creds: Creds } | undefined;
      if (who === 'none') caller = { name: '', creds: { kind: 'none' } };
      else if (who === 'exact' || who === 'allBut') caller = custom.get(key)![who];
      else caller = users.get(who)!;
      const body = method === 'GET' || method === 'DELETE' ? undefined : {};
      const r = await api.call(method, path, caller.creds, body);
      calls++;
      const allowed = expectAllowed(who, access);
      const ok = allowed ? r.status !== 401 && r.status !== 403 : r.status === (who === 'none' ? 401 : 403);
      if (!ok) failures.push(`${op} as ${who}: expected ${allowed ? 'allowed' : who === 'none' ? '401' : '403'}, got ${r.status} ${JSON.stringify(r.body).slice(0, 160)}`);
      if (r.status >= 500) failures.push(`${op} as ${who}: server error ${r.status}`);
      // Signing out ends the session: sign in again for the next operations.
      if (op === 'POST /api/v1/auth/logout' && caller.creds.kind === 'session' && r.status === 204) {
        const fresh = await api.session(caller.name, caller.name === 'admin' ? TEST_ADMIN_PASSWORD : PW);
        Object.assign(caller.creds, fresh);
      }
    }
  }
  assert.deepEqual(failures, [], failures.join('\n'));
  assert.equal(calls, Object.keys(TABLE).length * WHO.length);
});
