/**
 * The DKIM key repository on SQLite and PostgreSQL: add (names normalised, a taken selector refused), listings
 * without private keys, one signing key per domain (use switches, the store's unique index refuses a second),
 * disable, delete, and the signing keys handed to the signer.
 */
import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { PG_ADMIN_URL, pgReachable, postgresTarget, sqliteTarget } from '../store/pg.ts';
import { openStore, type Store } from '../../src/store/db.ts';
import { DkimRepo, DkimKeyExistsError, DkimKeyNotFoundError } from '../../src/store/dkim-repo.ts';
import { DkimKeyError, generateKey, type KeyMaterial } from '../../src/dkim/keys.ts';

const T0 = 1_700_000_000_000;

const pgProblem = await pgReachable();
if (pgProblem && process.env.CI) {
  test(`PostgreSQL is reachable at ${PG_ADMIN_URL} (required under CI)`, () => { assert.fail(`PostgreSQL unreachable: ${pgProblem}`); });
}

const rsa = await generateKey('rsa', 1024);
const ed = await generateKey('ed25519');
const key = (m: KeyMaterial) => ({ algorithm: m.algorithm, privateKeyPem: m.privateKeyPem, publicKey: m.publicKey });

for (const target of [sqliteTarget('moat-dkim-'), postgresTarget()]) {
  const skip = target.dialect === 'postgres' && pgProblem ? `PostgreSQL unreachable: ${pgProblem}` : false;

  describe(`DKIM key repository on ${target.dialect}`, { skip }, () => {
    let store: Store;
    let repo: DkimRepo;
    before(async () => { store = await openStore(await target.setup()); });
    after(async () => { try { await store?.close(); } finally { await target.teardown(); } });
    beforeEach(async () => {
      await store.db.deleteFrom('dkim_keys').execute();
      repo = new DkimRepo(store.db);
    });

    test('add, list (no private keys), get (with it), names normalised, a taken selector refused', async () => {
      const a = await repo.add({ domain: 'Example.TEST.', selector: 'Sel1', ...key(rsa) }, T0);
      assert.deepEqual(a, { domain: 'example.test', selector: 'sel1', algorithm: 'rsa-sha256', publicKey: rsa.publicKey, createdAt: T0, enabled: false });
      await repo.add({ domain: 'example.test', selector: 'ed', ...key(ed) }, T0 + 1);
      await repo.add({ domain: 'bücher.example', selector: 's', ...key(rsa) }, T0 + 2);
      await assert.rejects(repo.add({ domain: 'EXAMPLE.test', selector: 'SEL1', ...key(ed) }), DkimKeyExistsError);
      await assert.rejects(repo.add({ domain: 'not a domain', selector: 's', ...key(ed) }), DkimKeyError);

      const all = await repo.list();
      assert.deepEqual(all.map((k) => `${k.domain}/${k.selector}/${k.algorithm}`), ['example.test/ed/ed25519-sha256', 'example.test/sel1/rsa-sha256', 'xn--bcher-kva.example/s/rsa-sha256']);
      assert.ok(all.every((k) => !('privateKeyPem' in k) && !JSON.stringify(k).includes('PRIVATE KEY')), 'listings carry no private key');
      assert.deepEqual((await repo.list('EXAMPLE.test')).map((k) => k.selector), ['ed', 'sel1']);
      const got = await repo.get('example.test', 'sel1');
      assert.equal(got?.privateKeyPem, rsa.privateKeyPem);
      assert.equal(await repo.get('example.test', 'nope'), undefined);
    });

    test('one signing key per domain: use switches, disable stops, the index refuses a second', async () => {
      await repo.add({ domain: 'example.test', selector: 'old', ...key(rsa), enabled: true }, T0);
      await repo.add({ domain: 'example.test', selector: 'new', ...key(ed) }, T0);
      await repo.add({ domain: 'other.test', selector: 'x', ...key(rsa), enabled: true }, T0);
      assert.deepEqual((await repo.signingKeys()).map((k) => `${k.domain}/${k.selector}`), ['example.test/old', 'other.test/x']);

      assert.equal(await repo.use('example.test', 'new'), 'old');
      assert.equal(await repo.use('example.test', 'new'), 'new', 'already signing');
      const signing = await repo.signingKeys();
      assert.deepEqual(signing.map((k) => `${k.domain}/${k.selector}`), ['example.test/new', 'other.test/x']);
      assert.equal(signing[0].privateKeyPem, ed.privateKeyPem);
      assert.deepEqual((await repo.list('example.test')).map((k) => [k.selector, k.enabled]), [['new', true], ['old', false]]);
      await assert.rejects(repo.use('example.test', 'missing'), DkimKeyNotFoundError);

      // The store itself refuses two signing keys for a domain.
      await assert.rejects(store.db.updateTable('dkim_keys').set({ enabled: 1 }).where('domain', '=', 'example.test').execute());

      // A new key added with enabled: true takes over.
      await repo.add({ domain: 'example.test', selector: 'newest', ...key(rsa), enabled: true }, T0);
      assert.deepEqual((await repo.signingKeys()).map((k) => `${k.domain}/${k.selector}`), ['example.test/newest', 'other.test/x']);

      assert.equal(await repo.disable('example.test'), 'newest');
      assert.equal(await repo.disable('example.test'), null);
      assert.deepEqual((await repo.signingKeys()).map((k) => k.domain), ['other.test']);
    });

    test('remove', async () => {
      await repo.add({ domain: 'example.test', selector: 'a', ...key(rsa), enabled: true }, T0);
      const gone = await repo.remove('example.test', 'a');
      assert.equal(gone?.selector, 'a');
      assert.equal(gone?.enabled, true);
      assert.equal(await repo.remove('example.test', 'a'), undefined);
      assert.deepEqual(await repo.signingKeys(), []);
    });
  });
}
