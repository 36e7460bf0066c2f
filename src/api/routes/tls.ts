/**
 * The STARTTLS certificate of the SMTP listeners (SPEC §1 TLS): read what is served (subject, SANs, issuer,
 * validity, SHA-256 fingerprint, whether it is self-signed and whether it comes from the settings or is the pair
 * generated at first start), replace it with a PEM chain and key, or go back to the generated self-signed pair.
 * The pair lives in the settings (`mta.tls.certificate`), so it reaches every node and the listeners switch at the
 * next handshake. The private key is never returned nor audited (the audit names fingerprints).
 *
 * Hostile input: PEM text from API clients (≤ 1 MiB body, each field ≤ 256 KiB): it must parse as X.509
 * certificates and a private key (not encrypted), the key must match the first (leaf) certificate, which must be
 * valid now; each problem is a 400 naming `cert` or `key`.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import type { RouteModule } from './index.ts';
import { ApiError } from '../errors.ts';
import { errors } from './schemas.ts';
import { changeSettings, expectedVersion } from './settings-write.ts';

const PEM_MAX = 256 * 1024;

const certSchema = z.object({
  source: z.enum(['settings', 'generated']).describe('settings: mta.tls.certificate; generated: the self-signed pair made at first start'),
  subject: z.string(),
  subjectAltNames: z.array(z.string()),
  issuer: z.string(),
  notBefore: z.string().describe('ISO 8601'),
  notAfter: z.string().describe('ISO 8601'),
  fingerprintSha256: z.string().describe('hex pairs separated by colons'),
  serialNumber: z.string(),
  selfSigned: z.boolean(),
  expired: z.boolean(),
  chainLength: z.number().int().describe('certificates in the chain, leaf first'),
}).meta({ id: 'TlsCertificate' });

const bad = (path: 'cert' | 'key', message: string) => new ApiError('validation_failed', `${path}: ${message}`, [{ path, message }]);

/** The certificates of a PEM chain, leaf first. */
function parseChain(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (!blocks.length) throw bad('cert', 'no PEM certificate (-----BEGIN CERTIFICATE-----) found');
  if (blocks.length > 10) throw bad('cert', 'more than 10 certificates in the chain');
  return blocks.map((b, i) => {
    try { return new X509Certificate(b); } catch { throw bad('cert', `certificate ${i + 1} of the chain is not readable X.509`); }
  });
}

function describe(pem: string, source: 'settings' | 'generated', now: number): z.infer<typeof certSchema> {
  const chain = parseChain(pem);
  const leaf = chain[0];
  const sans = (leaf.subjectAltName ?? '').split(/,\s*/).filter(Boolean);
  return {
    source, subject: leaf.subject.replace(/\n/g, ', '), subjectAltNames: sans, issuer: leaf.issuer.replace(/\n/g, ', '),
    notBefore: new Date(leaf.validFrom).toISOString(), notAfter: new Date(leaf.validTo).toISOString(),
    fingerprintSha256: leaf.fingerprint256, serialNumber: leaf.serialNumber,
    selfSigned: leaf.subject === leaf.issuer && leaf.verify(leaf.publicKey),
    expired: Date.parse(leaf.validTo) < now, chainLength: chain.length,
  };
}

/** Checks a new pair; returns its description. Throws 400 naming the field at fault. */
export function checkPair(cert: string, key: string, now: number): z.infer<typeof certSchema> {
  const chain = parseChain(cert);
  const leaf = chain[0];
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/i.test(key)) throw bad('key', 'the private key is encrypted: send it decrypted (openssl pkey -in FILE)');
  if (!/-----BEGIN ([A-Z]+ )?PRIVATE KEY-----/.test(key)) throw bad('key', 'no PEM private key (-----BEGIN PRIVATE KEY-----) found');
  let k: KeyObject;
  try { k = createPrivateKey({ key, format: 'pem' }); } catch { throw bad('key', 'not a readable PEM private key'); }
  if (!leaf.checkPrivateKey(k)) throw bad('key', 'the private key does not match the certificate (the first one of the chain)');
  if (Date.parse(leaf.validTo) < now) throw bad('cert', `the certificate expired on ${new Date(leaf.validTo).toISOString()}`);
  if (Date.parse(leaf.validFrom) > now) throw bad('cert', `the certificate is not valid before ${new Date(leaf.validFrom).toISOString()}`);
  return describe(cert, 'settings', now);
}

export const tlsRoutes: RouteModule = (app, ctx) => {
  const current = (): z.infer<typeof certSchema> => {
    const configured = ctx.settings.snapshot().mta.tls.certificate;
    if (configured) return describe(configured.cert, 'settings', ctx.clock.now());
    if (!ctx.selfSignedTls) throw new Error('no self-signed certificate in the API context');
    return describe(ctx.selfSignedTls.cert, 'generated', ctx.clock.now());
  };

  app.route({
    method: 'GET', url: '/api/v1/tls/certificate',
    config: { access: 'settings.view' },
    schema: { tags: ['tls'], summary: 'The STARTTLS certificate the SMTP listeners serve (never the key)', response: { 200: certSchema, ...errors() } },
    handler: async () => current(),
  });

  app.route({
    method: 'PUT', url: '/api/v1/tls/certificate',
    config: { access: 'settings.edit' },
    schema: {
      tags: ['tls'], summary: 'Replace the certificate: PEM chain (leaf first) and its private key; checked before use',
      body: z.object({
        cert: z.string().min(1).max(PEM_MAX).describe('PEM certificate chain, leaf first'),
        key: z.string().min(1).max(PEM_MAX).describe('PEM private key of the leaf (not encrypted)'),
        version: z.number().int().min(0).optional(),
      }).strict(),
      response: { 200: certSchema, ...errors(400, 409) },
    },
    handler: async (req) => {
      const { cert, key } = req.body;
      const info = checkPair(cert, key, ctx.clock.now());
      const before = current();
      const r = await changeSettings(ctx, req, {
        action: 'tls.certificate.set', target: 'tls:certificate', expected: expectedVersion(req, req.body.version), audit: false,
        build: (s) => { s.mta.tls.certificate = { cert, key }; return s; },
      });
      if (r.changes.length) await req.audit({ action: 'tls.certificate.set', target: 'tls:certificate', before: { fingerprintSha256: before.fingerprintSha256, subject: before.subject, source: before.source }, after: { fingerprintSha256: info.fingerprintSha256, subject: info.subject, notAfter: info.notAfter } });
      return current();
    },
  });

  app.route({
    method: 'DELETE', url: '/api/v1/tls/certificate',
    config: { access: 'settings.edit' },
    schema: { tags: ['tls'], summary: 'Remove the configured certificate: the self-signed one generated at first start is served again', response: { 200: certSchema, ...errors(409) } },
    handler: async (req) => {
      const before = current();
      await changeSettings(ctx, req, {
        action: 'tls.certificate.delete', target: 'tls:certificate', audit: false,
        build: (s) => { s.mta.tls.certificate = null; return s; },
      });
      const after = current();
      if (before.source === 'settings') {
        await req.audit({ action: 'tls.certificate.delete', target: 'tls:certificate', before: { fingerprintSha256: before.fingerprintSha256, subject: before.subject }, after: { fingerprintSha256: after.fingerprintSha256, source: after.source } });
      }
      return after;
    },
  });
};
