/**
 * `moat accounts|roles|tokens` through the real CLI: roles and addresses on add, the password policy, list with
 * status, unlock, role change, admin protection, custom roles, and tokens (secret printed once, works against a
 * running node, revoked → 401).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { moat, moatOk } from '../cli/run.ts';
import { startTestNode, type TestNode } from '../helpers.ts';
import { openStore } from '../../src/store/db.ts';
import { AccountsRepo } from '../../src/store/accounts-repo.ts';

let dir: string;
let config: string;
let node: TestNode;
const cfg = () => ['--config', config];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'moat-acli-'));
  node = await startTestNode({ dataDir: join(dir, 'data') });
  config = join(dir, 'moat.yaml');
  writeFileSync(config, `dataDir: ./data\ndatabaseUrl: "sqlite:${join(dir, 'data', 'moat.db')}"\n`);
});
after(async () => { await node?.cleanup(); rmSync(dir, { recursive: true, force: true }); });

test('accounts: add with role and addresses, policy, list, role, unlock, admin protected', async () => {
  assert.equal(await moatOk(['accounts', 'add', 'ops1', '--role', 'viewer', '--address', 'Ops@Example.test', ...cfg()], { stdin: 'ops1-password-123\n' }), 'account ops1 created\n');
  const sameAsName = await moat(['accounts', 'add', 'longusername1', ...cfg()], { stdin: 'LongUserName1' });
  assert.equal(sameAsName.code, 1);
  assert.match(sameAsName.stderr, /password must not be the user name/);
  const badRole = await moat(['accounts', 'add', 'x1', '--role', 'nosuch', ...cfg()], { stdin: 'x1-password-12345' });
  assert.match(badRole.stderr, /no role nosuch/);
  const list = await moatOk(['accounts', 'list', ...cfg()]);
  assert.match(list, /^admin\tsuperuser\t\S+\tactive\tlast-login=-\t-$/m);
  assert.match(list, /^ops1\tviewer\t\S+\tactive\tlast-login=-\tops@example\.test$/m);
  assert.equal(await moatOk(['accounts', 'role', 'ops1', 'superuser', ...cfg()]), 'account ops1 now has role superuser\n');
  const demote = await moat(['accounts', 'role', 'admin', 'viewer', ...cfg()]);
  assert.equal(demote.code, 1);
  assert.match(demote.stderr, /keeps the superuser role/);
  const del = await moat(['accounts', 'delete', 'admin', ...cfg()]);
  assert.equal(del.stderr, 'moat accounts delete: the built-in admin account cannot be deleted\n');
  // Lock ops1 through the running node's API, then unlock with the CLI.
  for (let i = 0; i < 5; i++) {
    await fetch(`http://127.0.0.1:${node.httpPort}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'ops1', password: 'wrong-password-00' }) });
  }
  assert.match(await moatOk(['accounts', 'list', ...cfg()]), /^ops1\tsuperuser\t\S+\tlocked\t/m);
  assert.equal(await moatOk(['accounts', 'unlock', 'ops1', ...cfg()]), 'account ops1 unlocked\n');
  const store = await openStore(`sqlite:${join(dir, 'data', 'moat.db')}`);
  try { assert.equal((await new AccountsRepo(store.db).find('ops1'))!.lockedUntil, null); } finally { await store.close(); }
});

test('roles add/list/delete and tokens create/list/revoke against a running node', async () => {
  assert.equal(await moatOk(['roles', 'add', 'auditor', 'events.view', 'events.export', '--description', 'reads events', ...cfg()]), 'role auditor created: events.view,events.export\n');
  assert.match(await moatOk(['roles', 'list', ...cfg()]), /^auditor\tcustom\tevents\.view,events\.export\treads events$/m);
  const bad = await moat(['roles', 'add', 'x', 'events.fly', ...cfg()]);
  assert.match(bad.stderr, /unknown permission: events\.fly/);
  const out = (await moatOk(['tokens', 'create', 'ops1', 'deploy', '--expires', '30', ...cfg()])).trim().split('\n');
  assert.match(out[0], /^token \d+ "deploy" for ops1, expires \S+; the secret \(shown only now\):$/);
  const secret = out[1];
  assert.match(secret, /^moat_[A-Za-z0-9_-]{43}$/);
  const me = await fetch(`http://127.0.0.1:${node.httpPort}/api/v1/auth/me`, { headers: { authorization: `Bearer ${secret}` } });
  assert.equal(me.status, 200);
  const listed = await moatOk(['tokens', 'list', ...cfg()]);
  assert.ok(!listed.includes(secret.slice(5)), 'the secret is not listed');
  const id = /^(\d+)\tops1\tdeploy\t/m.exec(listed)?.[1];
  assert.ok(id, listed);
  assert.match(listed, /last-used=\d{4}-/);
  assert.equal(await moatOk(['tokens', 'revoke', id, ...cfg()]), `token ${id} revoked\n`);
  assert.equal((await fetch(`http://127.0.0.1:${node.httpPort}/api/v1/auth/me`, { headers: { authorization: `Bearer ${secret}` } })).status, 401);
  assert.equal((await moat(['tokens', 'revoke', id, ...cfg()])).code, 1);
  await moatOk(['accounts', 'add', 'aud1', '--role', 'auditor', ...cfg()], { stdin: 'aud1-password-123' });
  assert.match((await moat(['roles', 'delete', 'auditor', ...cfg()])).stderr, /held by at least one account/);
  await moatOk(['accounts', 'delete', 'aud1', ...cfg()]);
  assert.equal(await moatOk(['roles', 'delete', 'auditor', ...cfg()]), 'role auditor deleted\n');
});
