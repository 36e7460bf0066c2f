/**
 * `moat dkim …` through the real CLI: keygen prints the record to publish (and the key signs only after `use`,
 * or at once with --use), import of PKCS#1/PKCS#8 files and one-line refusals, list, show, use (rotation),
 * disable, delete (not the signing key without --force), export; exit codes 0 / 1 / 2; the private key appears
 * only in `export`'s output.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { moat, moatOk } from '../cli/run.ts';
import { openStore } from '../../src/store/db.ts';
import { DkimRepo } from '../../src/store/dkim-repo.ts';
import { publicKeyValue } from '../../src/dkim/keys.ts';

/** The record line of an output, and its text with the strings joined. */
function record(stdout: string): { line: string; value: string } {
  const line = stdout.split('\n').find((l) => / IN TXT "/.test(l))!;
  assert.ok(line, `a record line in: ${stdout}`);
  const strings = [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1]);
  assert.ok(strings.every((s) => s.length <= 255));
  return { line, value: strings.join('') };
}

describe('moat dkim (CLI)', () => {
  let dir: string;
  const cfg = () => ['--config', join(dir, 'moat.yaml')];
  const repo = async <T>(fn: (r: DkimRepo) => Promise<T>): Promise<T> => {
    const store = await openStore(`sqlite:${join(dir, 'data', 'moat.db')}`);
    try { return await fn(new DkimRepo(store.db)); } finally { await store.close(); }
  };
  const secrets: string[] = [];
  const outputs: string[] = [];
  const run = async (args: string[]) => { const r = await moat([...args, ...cfg()]); outputs.push(r.stdout, r.stderr); return r; };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'moat-dkim-cli-'));
    writeFileSync(join(dir, 'moat.yaml'), 'dataDir: ./data\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('keygen: stores the key, prints the record, signs only after use (or with --use)', async () => {
    const r = await run(['dkim', 'keygen', 'Example.TEST', 'Mail2025']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'created DKIM key example.test/mail2025 (rsa-sha256, 2048 bits)');
    assert.equal(lines[1], 'not signing yet: publish this record in DNS, then run: moat dkim use example.test mail2025');
    const rec = record(r.stdout);
    assert.match(rec.line, /^mail2025\._domainkey\.example\.test\. IN TXT "v=DKIM1; k=rsa; p=[A-Za-z0-9+/]{237}" "[A-Za-z0-9+/=]+"$/);
    const key = (await repo((x) => x.get('example.test', 'mail2025')))!;
    secrets.push(key.privateKeyPem);
    assert.equal(key.enabled, false);
    assert.equal(rec.value, `v=DKIM1; k=rsa; p=${publicKeyValue(createPrivateKey(key.privateKeyPem))}`, 'the record publishes the stored key');

    const e = await run(['dkim', 'keygen', 'example.test', 'ed', '--type', 'ed25519', '--use']);
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stdout, /^created DKIM key example\.test\/ed \(ed25519-sha256, 256 bits\)\nexample\.test is now signed with it: publish this record in DNS before mail goes out\ned\._domainkey\.example\.test\. IN TXT "v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}="\n$/);
    secrets.push((await repo((x) => x.get('example.test', 'ed')))!.privateKeyPem);
    assert.deepEqual((await repo((x) => x.signingKeys())).map((k) => k.selector), ['ed']);
  });

  test('keygen refusals: taken selector, bad names, bad type or size', async () => {
    const taken = await run(['dkim', 'keygen', 'example.test', 'MAIL2025']);
    assert.deepEqual([taken.code, taken.stderr], [1, 'moat dkim keygen: example.test already has a key with selector mail2025 (delete it first, or choose another selector)\n']);
    const bad = await run(['dkim', 'keygen', 'not a domain', 's']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^moat dkim keygen: not a valid domain name: "not a domain"\n/);
    assert.equal((await run(['dkim', 'keygen', 'example.test', 'bad_selector'])).code, 2);
    assert.equal((await run(['dkim', 'keygen', 'example.test', 's', '--type', 'dsa'])).code, 2);
    assert.equal((await run(['dkim', 'keygen', 'example.test', 's', '--type', 'ed25519', '--bits', '2048'])).code, 2);
    const small = await run(['dkim', 'keygen', 'example.test', 's', '--bits', '512']);
    assert.deepEqual([small.code, small.stderr], [1, 'moat dkim keygen: RSA key size must be a multiple of 8 from 1024 to 8192 bits (2048 recommended)\n']);
    assert.equal((await run(['dkim', 'keygen', 'example.test'])).code, 2);
  });

  test('import: PKCS#1 and PKCS#8 files; garbage, EC and small keys refused with one line', async () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const pkcs1 = join(dir, 'pkcs1.pem');
    writeFileSync(pkcs1, pair.privateKey.export({ type: 'pkcs1', format: 'pem' }));
    secrets.push(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    const r = await run(['dkim', 'import', 'other.test', 'legacy', pkcs1]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^imported DKIM key other\.test\/legacy \(rsa-sha256, 1024 bits\)\nnot signing yet: /);
    assert.equal(record(r.stdout).value, `v=DKIM1; k=rsa; p=${publicKeyValue(pair.publicKey)}`);

    const ed = generateKeyPairSync('ed25519').privateKey;
    const pkcs8 = join(dir, 'ed.pem');
    writeFileSync(pkcs8, ed.export({ type: 'pkcs8', format: 'pem' }));
    secrets.push(ed.export({ type: 'pkcs8', format: 'pem' }) as string);
    assert.equal((await run(['dkim', 'import', 'other.test', 'ed', pkcs8, '--use'])).code, 0);

    const files: [string, string | Buffer, string][] = [
      ['garbage.pem', 'hello world\n', 'not a PEM private key (expected -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)'],
      ['ec.pem', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }), 'ec keys cannot sign DKIM: use RSA (at least 1024 bits) or Ed25519'],
      ['small.pem', generateKeyPairSync('rsa', { modulusLength: 512 }).privateKey.export({ type: 'pkcs1', format: 'pem' }), 'RSA key of 512 bits is too weak: DKIM needs at least 1024 (RFC 8301), 2048 recommended'],
      ['pub.pem', pair.publicKey.export({ type: 'spki', format: 'pem' }), 'this is a public key, not a private key'],
    ];
    for (const [name, content, why] of files) {
      writeFileSync(join(dir, name), content);
      const x = await run(['dkim', 'import', 'other.test', 'x', join(dir, name)]);
      assert.deepEqual([x.code, x.stderr], [1, `moat dkim import: ${join(dir, name)}: ${why}\n`], name);
    }
    const missing = await run(['dkim', 'import', 'other.test', 'x', join(dir, 'nothere.pem')]);
    assert.deepEqual([missing.code, missing.stderr], [1, `moat dkim import: cannot read ${join(dir, 'nothere.pem')}: ENOENT\n`]);
    assert.equal((await repo((x) => x.list('other.test'))).length, 2, 'nothing stored for the refused files');
  });

  test('list, show, use (rotation), disable, delete, export', async () => {
    const list = await run(['dkim', 'list']);
    assert.equal(list.code, 0);
    const rows = list.stdout.trimEnd().split('\n').map((l) => l.split('\t'));
    assert.deepEqual(rows.map((r) => [r[0], r[1], r[2], r[3], r[5]]), [
      ['example.test', 'ed', 'ed25519-sha256', '256', 'signing'],
      ['example.test', 'mail2025', 'rsa-sha256', '2048', '-'],
      ['other.test', 'ed', 'ed25519-sha256', '256', 'signing'],
      ['other.test', 'legacy', 'rsa-sha256', '1024', '-'],
    ]);
    assert.match(rows[0][4], /^\d{4}-\d\d-\d\dT/);
    const json = JSON.parse((await run(['dkim', 'list', 'other.test', '--json'])).stdout) as { selector: string; signing: boolean }[];
    assert.deepEqual(json.map((k) => [k.selector, k.signing]), [['ed', true], ['legacy', false]]);

    const show = await run(['dkim', 'show', 'example.test']);
    assert.equal(show.code, 0);
    const lines = show.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^; example\.test selector ed: ed25519-sha256, 256 bits, signing, created /);
    assert.match(lines[1], /^ed\._domainkey\.example\.test\. IN TXT "v=DKIM1; k=ed25519; p=/);
    assert.match(lines[2], /^; example\.test selector mail2025: rsa-sha256, 2048 bits, not signing, created /);
    const stored = (await repo((x) => x.get('example.test', 'mail2025')))!;
    assert.equal(record(lines[3]).value, `v=DKIM1; k=rsa; p=${stored.publicKey}`);
    assert.equal((await run(['dkim', 'show', 'example.test', 'mail2025'])).stdout.split('\n').length, 3);
    const none = await run(['dkim', 'show', 'nokeys.test']);
    assert.deepEqual([none.code, none.stderr], [1, 'moat dkim show: nokeys.test has no DKIM key\n']);

    assert.equal(await moatOk(['dkim', 'use', 'example.test', 'mail2025', ...cfg()]), 'example.test is now signed with selector mail2025 (was ed)\n');
    assert.equal(await moatOk(['dkim', 'use', 'example.test', 'mail2025', ...cfg()]), 'example.test is already signed with selector mail2025\n');
    const nokey = await run(['dkim', 'use', 'example.test', 'nope']);
    assert.deepEqual([nokey.code, nokey.stderr], [1, 'moat dkim use: example.test has no key with selector nope\n']);
    assert.deepEqual((await repo((x) => x.signingKeys())).map((k) => `${k.domain}/${k.selector}`), ['example.test/mail2025', 'other.test/ed']);

    const refuse = await run(['dkim', 'delete', 'example.test', 'mail2025']);
    assert.deepEqual([refuse.code, refuse.stderr], [1, "moat dkim delete: example.test/mail2025 signs example.test's mail: switch to another selector first (moat dkim use), or give --force to stop signing\n"]);
    assert.equal(await moatOk(['dkim', 'delete', 'example.test', 'ed', ...cfg()]), 'deleted DKIM key example.test/ed\n');
    assert.equal(await moatOk(['dkim', 'delete', 'example.test', 'mail2025', '--force', ...cfg()]), 'deleted DKIM key example.test/mail2025; example.test is no longer signed\n');
    assert.equal((await run(['dkim', 'delete', 'example.test', 'mail2025'])).code, 1);

    assert.equal(await moatOk(['dkim', 'disable', 'other.test', ...cfg()]), 'other.test is no longer signed (was selector ed)\n');
    assert.equal(await moatOk(['dkim', 'disable', 'other.test', ...cfg()]), 'other.test was not signed\n');
    assert.deepEqual(await repo((x) => x.signingKeys()), []);

    // The private key leaves the store only through export, and only there.
    const exported = await moatOk(['dkim', 'export', 'other.test', 'legacy', ...cfg()]);
    assert.equal(exported, (await repo((x) => x.get('other.test', 'legacy')))!.privateKeyPem);
    assert.match(exported, /^-----BEGIN PRIVATE KEY-----\n[\s\S]+-----END PRIVATE KEY-----\n$/);
    assert.equal((await run(['dkim', 'export', 'other.test', 'nope'])).code, 1);
    const body = (pem: string) => pem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
    for (const s of secrets) {
      for (const o of outputs) assert.ok(!o.includes(body(s).slice(0, 40)), 'no private key in the output of any other command');
    }
  });

  test('usage', async () => {
    const r = await moat(['dkim']);
    assert.deepEqual([r.code, r.stderr], [2, 'moat dkim: expected one of: keygen, import, list, show, use, disable, delete, export\n']);
    assert.equal((await run(['dkim', 'use', 'example.test'])).code, 2);
    assert.equal((await run(['dkim', 'list', 'a.test', 'b.test'])).code, 2);
  });
});
