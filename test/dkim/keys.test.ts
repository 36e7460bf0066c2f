/**
 * DKIM keys: generation (RSA 2048 and 4096, Ed25519) whose published p= verifies what the private key signs; the
 * TXT record's format and its split into character-strings of at most 255 bytes; import of PKCS#1 and PKCS#8
 * PEM (RSA, Ed25519) and one-line refusals of everything else (garbage, EC, small RSA, encrypted keys, public
 * keys, certificates, oversized files); names (IDN to A-labels, bad domains and selectors).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import {
  DkimKeyError, generateKey, importKey, normaliseDomain, normaliseSelector, publicKeyBits, txtRecord, type KeyMaterial,
} from '../../src/dkim/keys.ts';

/** The public key a verifier builds from the record's p=. */
function published(m: KeyMaterial) {
  const raw = Buffer.from(m.publicKey, 'base64');
  if (m.algorithm === 'ed25519-sha256') {
    assert.equal(raw.length, 32, 'Ed25519: the raw 32-byte key (RFC 8463)');
    return createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
  }
  return createPublicKey({ key: raw, format: 'der', type: 'spki' });
}

function roundTrip(m: KeyMaterial): boolean {
  const data = Buffer.from('dkim test data');
  const alg = m.algorithm === 'rsa-sha256' ? 'sha256' : null;
  return verify(alg, data, published(m), sign(alg, data, createPrivateKey(m.privateKeyPem)));
}

test('keygen: RSA 2048 and Ed25519, PKCS#8 PEM, p= matches the private key', async () => {
  const rsa = await generateKey('rsa');
  assert.equal(rsa.algorithm, 'rsa-sha256');
  assert.equal(rsa.bits, 2048);
  assert.match(rsa.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  assert.equal(publicKeyBits(rsa.algorithm, rsa.publicKey), 2048);
  assert.ok(roundTrip(rsa));
  const ed = await generateKey('ed25519');
  assert.equal(ed.algorithm, 'ed25519-sha256');
  assert.equal(publicKeyBits(ed.algorithm, ed.publicKey), 256);
  assert.ok(roundTrip(ed));
  await assert.rejects(generateKey('rsa', 512), DkimKeyError);
  await assert.rejects(generateKey('rsa', 2047), DkimKeyError);
  await assert.rejects(generateKey('dsa' as 'rsa'), DkimKeyError);
});

test('TXT record: name, v=DKIM1; k=; p=, split into strings of at most 255 bytes', async () => {
  const rsa2048 = await generateKey('rsa');
  const r = txtRecord('example.test', 'sel2025', rsa2048.algorithm, rsa2048.publicKey);
  assert.equal(r.name, 'sel2025._domainkey.example.test.');
  assert.equal(r.value, `v=DKIM1; k=rsa; p=${rsa2048.publicKey}`);
  assert.equal(r.strings.length, 2, 'a 2048-bit key needs two strings');
  assert.equal(r.strings.join(''), r.value);
  assert.ok(r.strings.every((s) => Buffer.byteLength(s) <= 255));
  assert.equal(r.strings[0].length, 255);
  assert.equal(r.zoneLine, `sel2025._domainkey.example.test. IN TXT "${r.strings[0]}" "${r.strings[1]}"`);

  const rsa4096 = await generateKey('rsa', 4096);
  const big = txtRecord('example.test', 's', rsa4096.algorithm, rsa4096.publicKey);
  assert.equal(big.strings.length, 3);
  assert.equal(big.strings.join(''), big.value);
  assert.match(big.zoneLine, /^s\._domainkey\.example\.test\. IN TXT "v=DKIM1; k=rsa; p=[^"]{237}" "[^"]{255}" "[^"]+"$/);

  const ed = await generateKey('ed25519');
  const e = txtRecord('example.test', 'ed', ed.algorithm, ed.publicKey);
  assert.deepEqual(e.strings, [`v=DKIM1; k=ed25519; p=${ed.publicKey}`]);
  assert.equal(e.zoneLine, `ed._domainkey.example.test. IN TXT "v=DKIM1; k=ed25519; p=${ed.publicKey}"`);
});

test('import: RSA in PKCS#1 and PKCS#8, Ed25519 in PKCS#8; stored as PKCS#8 with the same public key', () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const pkcs1 = privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  assert.match(pkcs1, /BEGIN RSA PRIVATE KEY/);
  const a = importKey(pkcs1);
  const b = importKey(Buffer.from(`some text before the key\n${pkcs8}`));
  assert.equal(a.algorithm, 'rsa-sha256');
  assert.equal(a.bits, 1024);
  assert.equal(a.publicKey, b.publicKey);
  assert.equal(a.privateKeyPem, pkcs8);
  assert.ok(roundTrip(a));
  const ed = generateKeyPairSync('ed25519').privateKey;
  const e = importKey(ed.export({ type: 'pkcs8', format: 'pem' }) as string);
  assert.equal(e.algorithm, 'ed25519-sha256');
  assert.ok(roundTrip(e));
});

test('import refuses everything else with one line, never echoing the key', () => {
  const refused = (input: string | Buffer, pattern: RegExp) => {
    assert.throws(() => importKey(input), (err: Error) => {
      assert.ok(err instanceof DkimKeyError, err.message);
      assert.match(err.message, pattern);
      assert.doesNotMatch(err.message, /\n|MII/, 'one line, no key material');
      return true;
    });
  };
  refused('garbage', /not a PEM private key/);
  refused(Buffer.from([0, 1, 2, 255, 254]), /not a PEM private key/);
  refused('-----BEGIN PRIVATE KEY-----\nMIIBroken\n-----END PRIVATE KEY-----\n', /not a readable PEM private key/);
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  refused(ec.export({ type: 'pkcs8', format: 'pem' }) as string, /^ec keys cannot sign DKIM: use RSA \(at least 1024 bits\) or Ed25519$/);
  refused(ec.export({ type: 'sec1', format: 'pem' }) as string, /unsupported PEM block "EC PRIVATE KEY"/);
  const small = generateKeyPairSync('rsa', { modulusLength: 512 }).privateKey;
  refused(small.export({ type: 'pkcs1', format: 'pem' }) as string, /RSA key of 512 bits is too weak/);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  refused(rsa.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }) as string, /encrypted: decrypt it first/);
  refused(rsa.privateKey.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }) as string, /encrypted: decrypt it first/);
  refused(rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string, /this is a public key, not a private key/);
  refused('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', /this is a certificate, not a private key/);
  refused(`-----BEGIN PRIVATE KEY-----\n${'A'.repeat(70_000)}\n-----END PRIVATE KEY-----\n`, /too large for a key file/);
});

test('names: domains lowercased and in A-labels, selectors checked', () => {
  assert.equal(normaliseDomain('Example.COM.'), 'example.com');
  assert.equal(normaliseDomain('bücher.example'), 'xn--bcher-kva.example');
  for (const bad of ['', 'localhost', 'a b.test', '-x.test', 'x..test', `${'a'.repeat(64)}.test`, 'ex_ample.test', '"quoted".test']) {
    assert.throws(() => normaliseDomain(bad), DkimKeyError, bad);
  }
  assert.equal(normaliseSelector('Sel-2025'), 'sel-2025');
  assert.equal(normaliseSelector('a.b'), 'a.b');
  for (const bad of ['', 'a b', 'sel;', 'x._domainkey', '-a', 'ä']) assert.throws(() => normaliseSelector(bad), DkimKeyError, bad);
});
