/**
 * Unit tests of the configuration routes' helpers: which settings fields are secret, redaction of every set
 * secret (at any depth, in arrays), the placeholder sent back keeping the stored value (and refused where nothing
 * is stored), JSON merge patch (RFC 7396), validation lines as API fields, and the If-Match version.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyRequest } from 'fastify';
import { SECRET_PLACEHOLDER as PH, expectedVersion, isSecretField, problemsToFields, redactSettings, restoreSecrets } from './settings-write.ts';
import { mergePatch } from './settings.ts';
import { ApiError } from '../errors.ts';
import { defaultSettings } from '../../config/settings-schema.ts';

test('secret fields by name', () => {
  for (const s of ['key', 'password', 'secret', 'token', 'passphrase', 'privateKey', 'clientSecret', 'bindPassword', 'apiToken', 'apiKey']) assert.equal(isSecretField(s), true, s);
  for (const s of ['publicKey', 'tokenDays', 'passwordExpiryDays', 'keyType', 'keys', 'monkey', 'hostname', 'cert']) assert.equal(isSecretField(s), false, s);
});

test('every set secret is redacted; the rest is untouched', () => {
  const s = defaultSettings() as unknown as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  s.mta.tls.certificate = { cert: 'CERT', key: 'KEY' };
  s.scan.antispam.rspamd = { url: 'http://x', timeout: 15, password: 'pw' };
  s.siem.targets = [{ host: 'h', tls: { cert: 'C', key: 'K', ca: null } }, { host: 'h2', tls: { cert: null, key: null } }];
  const r = redactSettings(s);
  assert.equal(r.mta.tls.certificate.key, PH);
  assert.equal(r.mta.tls.certificate.cert, 'CERT');
  assert.equal(r.scan.antispam.rspamd.password, PH);
  assert.equal(r.siem.targets[0].tls.key, PH);
  assert.equal(r.siem.targets[1].tls.key, null, 'an unset secret stays null');
  assert.equal(r.backup.digest.tokenDays, s.backup.digest.tokenDays);
  assert.equal(s.mta.tls.certificate.key, 'KEY', 'the input is not changed');
  assert.ok(!JSON.stringify(r).includes('"KEY"') && !JSON.stringify(r).includes('"pw"'));
});

test('the placeholder keeps the stored secret; a new value replaces it; none stored is refused', () => {
  const current = { a: { key: 'STORED', list: [{ password: 'P0' }, { password: 'P1' }] } };
  assert.deepEqual(restoreSecrets({ a: { key: PH, list: [{ password: PH }, { password: 'new' }] } }, current), { a: { key: 'STORED', list: [{ password: 'P0' }, { password: 'new' }] } });
  assert.throws(() => restoreSecrets({ a: { list: [{}, {}, { password: PH }] } }, current, 'sec'), (err: ApiError) => {
    assert.equal(err.code, 'validation_failed');
    assert.deepEqual(err.fields?.map((f) => f.path), ['sec.a.list.2.password']);
    return true;
  });
  // A placeholder in a field that is not secret is an ordinary value.
  assert.deepEqual(restoreSecrets({ banner: PH }, { banner: 'x' }), { banner: PH });
  // __proto__ stays an own key (validation then refuses it), never the prototype.
  const r = restoreSecrets(JSON.parse('{"__proto__":{"polluted":1}}'), {}) as Record<string, unknown>;
  assert.ok(Object.hasOwn(r, '__proto__'));
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('JSON merge patch (RFC 7396)', () => {
  assert.deepEqual(mergePatch({ a: 1, b: { c: 2, d: 3 }, e: [1, 2] }, { b: { c: null, x: 1 }, e: [3], f: 'n' }), { a: 1, b: { d: 3, x: 1 }, e: [3], f: 'n' });
  assert.deepEqual(mergePatch({ a: 1 }, null), null);
  assert.throws(() => mergePatch({}, JSON.parse('{"__proto__":{"x":1}}'), 'mta.'), (err: ApiError) => err.fields?.[0].path === 'mta.__proto__');
});

test('validation lines become fields; If-Match gives the version', () => {
  assert.deepEqual(problemsToFields(['mta.maxRecipients: Too small', 'odd line']), [{ path: 'mta.maxRecipients', message: 'Too small' }, { path: '(body)', message: 'odd line' }]);
  const req = (h?: string) => ({ headers: h === undefined ? {} : { 'if-match': h } }) as unknown as FastifyRequest;
  assert.equal(expectedVersion(req('"12"'), undefined), 12);
  assert.equal(expectedVersion(req('W/"7"'), undefined), 7);
  assert.equal(expectedVersion(req('*'), undefined), undefined);
  assert.equal(expectedVersion(req(), undefined), undefined);
  assert.equal(expectedVersion(req('"12"'), 3), 3, 'the body wins');
  assert.throws(() => expectedVersion(req('abc'), undefined), (err: ApiError) => err.fields?.[0].path === 'headers.if-match');
});
