/**
 * The STARTTLS certificate over the REST API on a real node: the generated self-signed certificate is described
 * (never its key); a certificate and key set through the API are what the SMTP listener presents at the next
 * STARTTLS (real handshake over loopback); bad pairs are refused with a clear 400 naming the field (not PEM, key
 * not matching, expired, encrypted key); DELETE goes back to the self-signed one; changes are audited without keys.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { startTestNode, TEST_ADMIN_PASSWORD, type TestNode } from '../helpers.ts';
import { Api, errorCode, type Creds } from './client.ts';
import { audits, makeCert, starttlsFingerprint } from './config-helpers.ts';

let node: TestNode;
let api: Api;
let admin: Creds;

type Info = { source: string; subject: string; subjectAltNames: string[]; issuer: string; notBefore: string; notAfter: string; fingerprintSha256: string; selfSigned: boolean; expired: boolean; chainLength: number };
const fields = (b: unknown) => ((b as { error: { fields?: { path: string }[] } }).error.fields ?? []).map((f) => f.path);

before(async () => {
  node = await startTestNode({ settings: { mta: { hostname: 'gw.tls.test' } } });
  api = new Api(node.httpPort);
  admin = await api.session('admin', TEST_ADMIN_PASSWORD);
});
after(async () => { await node?.cleanup(); });

test('describe, replace, refuse bad pairs, and go back to the self-signed certificate', async () => {
  const g = await api.call('GET', '/api/v1/tls/certificate', admin);
  assert.equal(g.status, 200);
  const gen = g.body as Info;
  assert.equal(gen.source, 'generated');
  assert.equal(gen.selfSigned, true);
  assert.deepEqual(gen.subjectAltNames, ['DNS:gw.tls.test']);
  assert.equal(gen.expired, false);
  const served0 = await starttlsFingerprint(node.smtpPort);
  assert.equal(gen.fingerprintSha256, served0, 'the description is of the certificate the listener serves');
  assert.ok(!JSON.stringify(g.body).includes('PRIVATE KEY'));

  const mine = await makeCert('mx.tls.test');
  const put = await api.call('PUT', '/api/v1/tls/certificate', admin, mine);
  assert.equal(put.status, 200, JSON.stringify(put.body));
  const info = put.body as Info;
  assert.ok(!JSON.stringify(put.body).includes('PRIVATE KEY'));
  assert.equal(info.source, 'settings');
  assert.equal(info.fingerprintSha256, new X509Certificate(mine.cert).fingerprint256);
  assert.deepEqual(info.subjectAltNames, ['DNS:mx.tls.test']);
  assert.equal(info.subject, 'CN=mx.tls.test');
  assert.equal(info.chainLength, 1);
  // The listener presents it at the next handshake.
  assert.equal(await starttlsFingerprint(node.smtpPort), info.fingerprintSha256);
  const a = (await audits(node, 'tls.certificate.set'))[0];
  assert.deepEqual(a.before, { fingerprintSha256: gen.fingerprintSha256, subject: gen.subject, source: 'generated' });
  assert.equal((a.after as { fingerprintSha256: string }).fingerprintSha256, info.fingerprintSha256);
  assert.ok(!JSON.stringify(a).includes('PRIVATE KEY'));

  // Refusals, each naming the field; the certificate in use stays.
  const other = await makeCert('other.tls.test');
  const expired = await makeCert('old.tls.test', { expired: true });
  const encrypted = createPrivateKey(mine.key).export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string;
  const cases: [string, unknown, string, RegExp][] = [
    ['key of another certificate', { cert: mine.cert, key: other.key }, 'key', /does not match/],
    ['expired', expired, 'cert', /expired/],
    ['not PEM', { cert: 'hello', key: mine.key }, 'cert', /no PEM certificate/],
    ['damaged certificate', { cert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', key: mine.key }, 'cert', /not readable/],
    ['encrypted key', { cert: mine.cert, key: encrypted }, 'key', /encrypted/],
    ['no key', { cert: mine.cert, key: 'nothing' }, 'key', /no PEM private key/],
  ];
  for (const [label, body, field, msg] of cases) {
    const r = await api.call('PUT', '/api/v1/tls/certificate', admin, body);
    assert.equal(r.status, 400, label);
    assert.equal(errorCode(r), 'validation_failed', label);
    assert.deepEqual(fields(r.body), [field], label);
    assert.match((r.body as { error: { message: string } }).error.message, msg, label);
  }
  const missing = await api.call('PUT', '/api/v1/tls/certificate', admin, { cert: mine.cert });
  assert.equal(missing.status, 400);
  assert.deepEqual(fields(missing.body), ['key']);
  assert.equal(node.settings.snapshot().mta.tls.certificate?.cert, mine.cert);
  assert.equal(await starttlsFingerprint(node.smtpPort), info.fingerprintSha256);

  // The settings show the certificate, never its key.
  const s = await api.call('GET', '/api/v1/settings/mta', admin);
  assert.equal((s.body as { settings: { tls: { certificate: { key: string } } } }).settings.tls.certificate.key, '********');
  assert.ok(!JSON.stringify(s.body).includes('PRIVATE KEY'));

  const del = await api.call('DELETE', '/api/v1/tls/certificate', admin);
  assert.equal(del.status, 200);
  assert.equal((del.body as Info).source, 'generated');
  assert.equal((del.body as Info).fingerprintSha256, gen.fingerprintSha256);
  assert.equal(node.settings.snapshot().mta.tls.certificate, null);
  assert.equal(await starttlsFingerprint(node.smtpPort), gen.fingerprintSha256);
  assert.equal((await audits(node, 'tls.certificate.delete'))[0].target, 'tls:certificate');
});
