/**
 * Settings over the REST API on a real node (loopback HTTP): read all / one section, replace, merge-patch,
 * optimistic concurrency (version and If-Match → 409), validation naming each field, secrets never returned
 * (TLS key, Rspamd password) in any read, the placeholder sent back keeping the stored secret, export with `only`,
 * import with a dry-run diff, and the audit trail with before/after.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, TEST_ADMIN_PASSWORD, type TestNode } from '../helpers.ts';
import { Api, errorCode, type Creds } from './client.ts';
import { audits, makeCert, type TestCert } from './config-helpers.ts';
import { SettingsService, getPath, setPath } from '../../src/config/settings.ts';
import { SettingsRepo } from '../../src/store/settings-repo.ts';

let node: TestNode;
let api: Api;
let admin: Creds;
let cert: TestCert;
const PH = '********';

type Doc = { version: number; settings: Record<string, unknown>; changes?: { path: string; before: unknown; after: unknown }[] };
/** A value of an answer's document by path (`mta.tls.certificate.key`). */
const at = (doc: unknown, path: string): unknown => getPath(doc, path);

before(async () => {
  node = await startTestNode({ settings: { mta: { hostname: 'gw.settings.test' }, accounts: { loginRatePerMinute: 0 } } });
  api = new Api(node.httpPort);
  admin = await api.session('admin', TEST_ADMIN_PASSWORD);
  cert = await makeCert('mx.settings.test');
});
after(async () => { await node?.cleanup(); });

function noSecrets(label: string, body: unknown): void {
  const text = JSON.stringify(body);
  assert.ok(!text.includes('PRIVATE KEY'), `${label}: a private key was returned`);
  assert.ok(!text.includes(cert.key.split('\n')[1]), `${label}: private key material was returned`);
  assert.ok(!text.includes('rspamd-s3cret'), `${label}: the Rspamd password was returned`);
}

test('read, patch, replace, conflicts, validation and the audit trail', async () => {
  const r0 = await api.call('GET', '/api/v1/settings', admin);
  assert.equal(r0.status, 200);
  const d0 = r0.body as Doc;
  assert.equal(d0.version, node.settings.version);
  assert.equal(r0.headers.get('etag'), `"${d0.version}"`);
  assert.equal(at(d0.settings, 'mta.hostname'), 'gw.settings.test');

  const sec = await api.call('GET', '/api/v1/settings/mta', admin);
  assert.equal(sec.status, 200);
  assert.equal((sec.body as { settings: { hostname: string } }).settings.hostname, 'gw.settings.test');
  const missing = await api.call('GET', '/api/v1/settings/nosuch', admin);
  assert.equal(missing.status, 404);
  assert.equal(errorCode(missing), 'not_found');

  // PATCH: a merge patch of one section, based on the version read.
  const p1 = await api.call('PATCH', '/api/v1/settings/mta', admin, { version: d0.version, settings: { banner: 'Moat test', limits: { greetPause: 250 } } });
  assert.equal(p1.status, 200, JSON.stringify(p1.body));
  const b1 = p1.body as Doc;
  assert.equal(b1.version, d0.version + 1);
  assert.equal(at(b1.settings, 'banner'), 'Moat test');
  assert.equal(at(b1.settings, 'limits.greetPause'), 250);
  assert.equal(at(b1.settings, 'limits.commandTimeout'), 30, 'fields not named keep their values');
  assert.deepEqual(b1.changes!.map((c) => c.path).sort(), ['mta.banner', 'mta.limits.greetPause']);
  // The node runs on it at once.
  assert.equal(node.settings.snapshot().mta.banner, 'Moat test');
  const a1 = (await audits(node, 'settings.update'))[0];
  assert.equal(a1.actor, 'admin');
  assert.equal(a1.source, 'api');
  assert.equal(a1.target, 'settings:mta');
  assert.deepEqual(a1.before, { 'mta.banner': '', 'mta.limits.greetPause': 0 });
  assert.deepEqual(a1.after, { 'mta.banner': 'Moat test', 'mta.limits.greetPause': 250 });

  // The same stale version again: 409, nothing written; If-Match works the same.
  const stale = await api.call('PATCH', '/api/v1/settings/mta', admin, { version: d0.version, settings: { banner: 'lost update' } });
  assert.equal(stale.status, 409);
  assert.equal(errorCode(stale), 'conflict');
  const staleHeader = await api.call('PATCH', '/api/v1/settings/mta', admin, { settings: { banner: 'lost update' } }, { 'if-match': `"${d0.version}"` });
  assert.equal(staleHeader.status, 409);
  assert.equal(node.settings.snapshot().mta.banner, 'Moat test');
  const okHeader = await api.call('PATCH', '/api/v1/settings/mta', admin, { settings: { banner: 'Moat test 2' } }, { 'if-match': `"${b1.version}"` });
  assert.equal(okHeader.status, 200, JSON.stringify(okHeader.body));

  // null resets a field to its default (RFC 7396).
  const reset = await api.call('PATCH', '/api/v1/settings/mta', admin, { settings: { banner: null, limits: { greetPause: null } } });
  assert.equal(reset.status, 200, JSON.stringify(reset.body));
  assert.equal(at((reset.body as Doc).settings, 'banner'), '');
  assert.equal(at((reset.body as Doc).settings, 'limits.greetPause'), 0);

  // Validation: every bad field is named by its path; nothing is written.
  const v = node.settings.version;
  const bad = await api.call('PATCH', '/api/v1/settings/mta', admin, { settings: { maxRecipients: 0, trustedNetworks: ['10/8'], nosuch: 1 } });
  assert.equal(bad.status, 400);
  assert.equal(errorCode(bad), 'validation_failed');
  const paths = ((bad.body as { error: { fields: { path: string }[] } }).error.fields).map((f) => f.path);
  assert.ok(paths.includes('mta.maxRecipients'), paths.join());
  assert.ok(paths.includes('mta.trustedNetworks.0'), paths.join());
  assert.ok(paths.some((p) => p.startsWith('mta')), paths.join());
  assert.equal(node.settings.version, v);
  const proto = await api.call('PATCH', '/api/v1/settings/mta', admin, JSON.parse('{"settings":{"__proto__":{"banner":"x"}}}'));
  assert.equal(proto.status, 400);
  const notObject = await api.call('PUT', '/api/v1/settings', admin, { settings: 'x' });
  assert.equal(notObject.status, 400);
  assert.deepEqual((notObject.body as { error: { fields: { path: string }[] } }).error.fields.map((f) => f.path), ['settings']);

  // PUT of the whole document: what was read, with one change, goes back as it is.
  const cur = (await api.call('GET', '/api/v1/settings', admin)).body as Doc;
  cur.settings = setPath(cur.settings, 'mta.maxRecipients', 77) as Record<string, unknown>;
  const put = await api.call('PUT', '/api/v1/settings', admin, { version: cur.version, settings: cur.settings });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  assert.deepEqual((put.body as Doc).changes!.map((c) => c.path), ['mta.maxRecipients']);
  assert.equal(node.settings.snapshot().mta.maxRecipients, 77);
  const putStale = await api.call('PUT', '/api/v1/settings', admin, { version: cur.version, settings: cur.settings });
  assert.equal(putStale.status, 409);
});

test('secrets are never returned, and the placeholder keeps the stored value', async () => {
  const tls = await api.call('PUT', '/api/v1/tls/certificate', admin, cert);
  assert.equal(tls.status, 200, JSON.stringify(tls.body));
  const sp = await api.call('PATCH', '/api/v1/settings/scan', admin, { settings: { antispam: { rspamd: { url: 'http://127.0.0.1:11333', password: 'rspamd-s3cret' } } } });
  assert.equal(sp.status, 200, JSON.stringify(sp.body));
  noSecrets('PATCH answer', sp.body);
  assert.equal(at((sp.body as Doc).settings, 'antispam.rspamd.password'), PH);
  assert.equal((sp.body as Doc).changes!.find((c) => c.path === 'scan.antispam.rspamd')?.after && JSON.stringify((sp.body as Doc).changes).includes(PH), true);

  const all = await api.call('GET', '/api/v1/settings', admin);
  noSecrets('GET /settings', all.body);
  const doc = all.body as Doc;
  assert.equal(at(doc.settings, 'mta.tls.certificate.key'), PH);
  assert.equal(at(doc.settings, 'mta.tls.certificate.cert'), cert.cert, 'the certificate itself is public');
  assert.equal(at(doc.settings, 'scan.antispam.rspamd.password'), PH);
  noSecrets('GET /settings/mta', (await api.call('GET', '/api/v1/settings/mta', admin)).body);
  noSecrets('GET /settings/scan', (await api.call('GET', '/api/v1/settings/scan', admin)).body);
  const exp = await api.call('GET', '/api/v1/settings/export', admin);
  assert.equal(exp.status, 200);
  noSecrets('export', exp.body);

  // The document read goes back with the placeholders: the stored secrets stay.
  doc.settings = setPath(doc.settings, 'mta.banner', 'after secrets') as Record<string, unknown>;
  const put = await api.call('PUT', '/api/v1/settings', admin, { version: doc.version, settings: doc.settings });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  noSecrets('PUT answer', put.body);
  assert.deepEqual((put.body as Doc).changes!.map((c) => c.path), ['mta.banner']);
  assert.equal(node.settings.snapshot().mta.tls.certificate?.key, cert.key);
  assert.equal(node.settings.snapshot().scan.antispam.rspamd?.password, 'rspamd-s3cret');
  // A placeholder where nothing is stored is refused (it is not a password).
  const none = await api.call('PATCH', '/api/v1/settings/siem', admin, { settings: { targets: [{ host: '127.0.0.1', transport: 'tls', tls: { cert: cert.cert, key: PH } }] } });
  assert.equal(none.status, 400);
  assert.deepEqual((none.body as { error: { fields: { path: string }[] } }).error.fields.map((f) => f.path), ['siem.targets.0.tls.key']);
  // A new secret replaces the old one.
  const pw = await api.call('PATCH', '/api/v1/settings/scan', admin, { settings: { antispam: { rspamd: { password: 'other-pass' } } } });
  assert.equal(pw.status, 200);
  assert.ok(!JSON.stringify(pw.body).includes('other-pass'));
  assert.equal(node.settings.snapshot().scan.antispam.rspamd?.password, 'other-pass');

  // The audit trail holds no secret either.
  for (const a of [...await audits(node, 'settings.update'), ...await audits(node, 'tls.certificate.set')]) {
    const text = JSON.stringify(a);
    assert.ok(!text.includes('PRIVATE KEY') && !text.includes('rspamd-s3cret') && !text.includes('other-pass'), text.slice(0, 300));
  }
});

test('export with only, import with a dry-run diff, then for real', async () => {
  const exp = await api.call('GET', '/api/v1/settings/export?only=mta.domains,mta.relayHost,rules', admin);
  assert.equal(exp.status, 200, JSON.stringify(exp.body));
  const e = exp.body as { format: string; settingsVersion: number; settings: { mta: Record<string, unknown> }; rules: { name: string }[] };
  assert.equal(e.format, 'moat-settings/1');
  assert.deepEqual(Object.keys(e.settings), ['mta']);
  assert.deepEqual(Object.keys(e.settings.mta).sort(), ['domains', 'relayHost']);
  assert.deepEqual(e.rules.map((r) => r.name), ['AllowList', 'DenyList', 'Default']);
  assert.equal((await api.call('GET', '/api/v1/settings/export?only=mta.nosuch', admin)).status, 404);
  assert.equal((await api.call('GET', '/api/v1/settings/export?only=a..b', admin)).status, 400);

  const v = node.settings.version;
  const importDoc = { ...e, settings: { mta: { domains: [{ name: 'imported.test', local: true, route: null }], relayHost: '127.0.0.1:2599' } } };
  const dry = await api.call('POST', '/api/v1/settings/import?dryRun=true&only=mta.domains,mta.relayHost', admin, importDoc);
  assert.equal(dry.status, 200, JSON.stringify(dry.body));
  const d = dry.body as { dryRun: boolean; version: number; changes: { path: string; after: unknown }[]; ruleChanges: unknown[] };
  assert.equal(d.dryRun, true);
  assert.deepEqual(d.changes.map((c) => c.path).sort(), ['mta.domains', 'mta.relayHost']);
  assert.equal(node.settings.version, v, 'a dry run writes nothing');
  assert.equal(node.settings.snapshot().mta.relayHost, null);

  const real = await api.call('POST', '/api/v1/settings/import?only=mta.domains,mta.relayHost', admin, importDoc);
  assert.equal(real.status, 200, JSON.stringify(real.body));
  assert.equal((real.body as { version: number }).version, v + 1);
  assert.equal(node.settings.snapshot().mta.relayHost, '127.0.0.1:2599');
  assert.deepEqual(node.settings.snapshot().mta.domains.map((x) => x.name), ['imported.test']);
  assert.equal(node.settings.snapshot().mta.banner, 'after secrets', 'groups not named stay as they are');
  const a = (await audits(node, 'settings.import'))[0];
  assert.equal(a.target, 'settings:mta.domains,mta.relayHost');
  assert.deepEqual(a.after, { 'mta.domains': [{ name: 'imported.test', local: true, route: null }], 'mta.relayHost': '127.0.0.1:2599' });

  // Invalid imports are refused whole, naming the field; rules too.
  const badSettings = await api.call('POST', '/api/v1/settings/import', admin, { settings: { mta: { maxRecipients: -1 } } });
  assert.equal(badSettings.status, 400);
  assert.ok((badSettings.body as { error: { fields: { path: string }[] } }).error.fields.some((f) => f.path === 'mta.maxRecipients'));
  const badRules = await api.call('POST', '/api/v1/settings/import?dryRun=true', admin, { rules: [{ name: 'x', senders: ['re:('] }] });
  assert.equal(badRules.status, 400);
  assert.ok((badRules.body as { error: { fields: { path: string }[] } }).error.fields.some((f) => f.path === 'rules.0.senders.0'), JSON.stringify(badRules.body));

  // Rules import: dry run lists the rule changes, the real one makes them.
  const rulesDry = await api.call('POST', '/api/v1/settings/import?dryRun=true&only=rules', admin, { rules: [{ name: 'Imported rule', recipients: ['*@imported.test'], mode: 'skip' }] });
  assert.equal(rulesDry.status, 200, JSON.stringify(rulesDry.body));
  assert.deepEqual((rulesDry.body as { ruleChanges: { kind: string; rule: string }[] }).ruleChanges.filter((c) => c.kind === 'add').map((c) => c.rule), ['Imported rule']);
  const rulesReal = await api.call('POST', '/api/v1/settings/import?only=rules', admin, { rules: [{ name: 'Imported rule', recipients: ['*@imported.test'], mode: 'skip' }] });
  assert.equal(rulesReal.status, 200, JSON.stringify(rulesReal.body));
  const names = ((await api.call('GET', '/api/v1/rules', admin)).body as { items: { name: string }[] }).items.map((r) => r.name);
  assert.deepEqual(names, ['AllowList', 'DenyList', 'Imported rule', 'Default']);

  // Importing rules needs rules.edit as well as settings.edit.
  assert.equal((await api.call('POST', '/api/v1/roles', admin, { name: 'settings-only', permissions: ['settings.view', 'settings.edit'] })).status, 201);
  assert.equal((await api.call('POST', '/api/v1/accounts', admin, { username: 'setter', role: 'settings-only', password: 'setter-password-123456', mustChangePassword: false })).status, 201);
  const setter = await api.session('setter', 'setter-password-123456');
  const refused = await api.call('POST', '/api/v1/settings/import?dryRun=true', setter, { rules: [] });
  assert.equal(refused.status, 403);
  const allowed = await api.call('POST', '/api/v1/settings/import?dryRun=true', setter, { settings: { mta: { hostname: 'gw.settings.test' } } });
  assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
});

test('concurrent changes: one wins, the other gets 409; a version written by another node counts too', async () => {
  const v = node.settings.version;
  const [a, b] = await Promise.all([
    api.call('PATCH', '/api/v1/settings/mta', admin, { version: v, settings: { banner: 'first' } }),
    api.call('PATCH', '/api/v1/settings/mta', admin, { version: v, settings: { banner: 'second' } }),
  ]);
  assert.deepEqual([a.status, b.status].sort(), [200, 409]);
  const winner = a.status === 200 ? 'first' : 'second';
  assert.equal(node.settings.snapshot().mta.banner, winner);

  // Another writer of the same store (the CLI, another node) stores a version: the API notices it.
  const other = await SettingsService.open(new SettingsRepo(node.store.db));
  await other.set('mta.banner', 'from elsewhere', 'cli:test');
  const stale = await api.call('PATCH', '/api/v1/settings/mta', admin, { version: v + 1, settings: { banner: 'stale' } });
  assert.equal(stale.status, 409);
  const fresh = await api.call('GET', '/api/v1/settings/mta', admin);
  assert.equal((fresh.body as { version: number }).version, v + 2);
  assert.equal(at((fresh.body as { settings: unknown }).settings, 'banner'), 'from elsewhere');
});
