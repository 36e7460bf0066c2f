/**
 * `moat accounts …`: add (password on stdin), list, passwd, delete through the real CLI; short passwords are
 * refused; only a scrypt hash is ever stored.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { moat, moatOk } from './run.ts';
import { openStore } from '../../src/store/db.ts';
import { AccountsRepo, type Account } from '../../src/store/accounts-repo.ts';
import { verifyPassword } from '../../src/accounts/passwords.ts';

describe('moat accounts (CLI)', () => {
  let dir: string;
  let config: string;
  const cfg = () => ['--config', config];
  const PW1 = 'correct horse battery';
  const PW2 = 'Tr0ub4dor&3-staple';

  async function stored(name: string): Promise<Account | undefined> {
    const store = await openStore(`sqlite:${join(dir, 'data', 'moat.db')}`);
    try { return await new AccountsRepo(store.db).find(name); } finally { await store.close(); }
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'moat-acct-'));
    config = join(dir, 'moat.yaml');
    writeFileSync(config, 'dataDir: ./data\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('add with the password on stdin; only a scrypt hash is stored', async () => {
    assert.equal(await moatOk(['accounts', 'add', 'Alice', ...cfg()], { stdin: `${PW1}\n` }), 'account alice created\n');
    const a = await stored('alice');
    assert.ok(a);
    assert.equal(a.role, 'personal', 'accounts for SMTP AUTH are end users (role personal) by default');
    assert.match(a.passwordHash, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/]{43}=\$[A-Za-z0-9+/]{43}=$/);
    assert.ok(!a.passwordHash.includes(PW1));
    assert.equal(await verifyPassword(PW1, a.passwordHash), true, 'the trailing newline is not part of the password');
    assert.equal(await verifyPassword(`${PW1}\n`, a.passwordHash), false);
    assert.equal(await verifyPassword('wrong password', a.passwordHash), false);
    // Not in plaintext anywhere in the database files either.
    for (const f of readdirSync(join(dir, 'data')).filter((n) => n.startsWith('moat.db'))) {
      assert.ok(!readFileSync(join(dir, 'data', f)).includes(PW1), f);
    }

    const [bob, dup] = await Promise.all([
      moat(['accounts', 'add', 'bob@example.test', ...cfg()], { stdin: PW2 }),
      moat(['accounts', 'add', 'ALICE', ...cfg()], { stdin: PW2 }),
    ]);
    assert.equal(bob.code, 0, bob.stderr);
    assert.equal(dup.code, 1);
    assert.equal(dup.stderr, 'moat accounts add: account ALICE exists\n');
    assert.equal(await verifyPassword(PW1, (await stored('alice'))!.passwordHash), true, 'the existing account is untouched');
    assert.ok(await stored('BOB@example.test'));
  });

  test('list', async () => {
    const lines = (await moatOk(['accounts', 'list', ...cfg()])).trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^alice\tpersonal\t\d{4}-\d\d-\d\dT[\d:.]+Z\tactive\tlast-login=-\t-$/);
    assert.match(lines[1], /^bob@example\.test\tpersonal\t/);
    assert.ok(!lines.join('\n').includes('scrypt'), 'hashes are not listed');
  });

  test('short passwords and bad names are refused; nothing is created', async () => {
    const [short, empty, badName, shortPasswd] = await Promise.all([
      moat(['accounts', 'add', 'carol', ...cfg()], { stdin: 'short\n' }),
      moat(['accounts', 'add', 'dave', ...cfg()], { stdin: '' }),
      moat(['accounts', 'add', 'bad name', ...cfg()], { stdin: PW1 }),
      moat(['accounts', 'passwd', 'alice', ...cfg()], { stdin: '1234567' }),
    ]);
    for (const r of [short, empty, shortPasswd]) {
      assert.equal(r.code, 1);
      assert.match(r.stderr, /: password must be at least 12 characters\n$/);
    }
    assert.equal(badName.code, 2);
    assert.match(badName.stderr, /expected one account NAME/);
    assert.equal(await stored('carol'), undefined);
    assert.equal(await stored('dave'), undefined);
    assert.equal(await verifyPassword(PW1, (await stored('alice'))!.passwordHash), true, 'a refused passwd keeps the old password');
  });

  test('passwd replaces the hash; delete removes the account', async () => {
    const before = (await stored('alice'))!.passwordHash;
    const [pw, missing] = await Promise.all([
      moat(['accounts', 'passwd', 'ALICE', ...cfg()], { stdin: `${PW2}\r\n` }),
      moat(['accounts', 'passwd', 'nobody', ...cfg()], { stdin: PW2 }),
    ]);
    assert.equal(pw.code, 0, pw.stderr);
    assert.equal(pw.stdout, 'password changed\n');
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'moat accounts passwd: no account nobody\n');
    const after = (await stored('alice'))!.passwordHash;
    assert.notEqual(after, before);
    assert.equal(await verifyPassword(PW2, after), true);
    assert.equal(await verifyPassword(PW1, after), false);

    assert.equal(await moatOk(['accounts', 'delete', 'Alice', ...cfg()]), 'account deleted\n');
    const again = await moat(['accounts', 'delete', 'alice', ...cfg()]);
    assert.equal(again.code, 1);
    assert.equal(again.stderr, 'moat accounts delete: no account alice\n');
    assert.equal(await stored('alice'), undefined);
    assert.match(await moatOk(['accounts', 'list', ...cfg()]), /^bob@example\.test\tpersonal\t[^\n]+\n$/);
  });
});
