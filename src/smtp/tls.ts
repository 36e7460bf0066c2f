/**
 * Certificates for STARTTLS. On first start a self-signed certificate (EC P-256, 10 years, SAN = hostname) is
 * generated into `<dataDir>/tls/` with mode 0600; an administrator replaces it at run time by setting
 * `mta.tls.certificate` (PEM chain and key), which takes effect for the next TLS handshake.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import { generate } from 'selfsigned';

export interface KeyPair { cert: string; key: string }

export async function ensureSelfSigned(dataDir: string, hostname: string): Promise<KeyPair> {
  const dir = join(dataDir, 'tls');
  const certPath = join(dir, 'selfsigned.crt');
  const keyPath = join(dir, 'selfsigned.key');
  if (existsSync(certPath) && existsSync(keyPath)) {
    return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const now = new Date();
  const pems = await generate([{ name: 'commonName', value: hostname }], {
    keyType: 'ec', curve: 'P-256', algorithm: 'sha256',
    notBeforeDate: now, notAfterDate: new Date(now.getTime() + 3650 * 86400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: hostname }] },
    ],
  });
  writeFileSync(keyPath, pems.private, { mode: 0o600 });
  writeFileSync(certPath, pems.cert, { mode: 0o644 });
  return { cert: pems.cert, key: pems.private };
}

/** Builds a secure context, or throws with a one-line reason (bad PEM, key not matching the certificate). */
export function secureContext(pair: KeyPair): SecureContext {
  try {
    return createSecureContext({ cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2' });
  } catch (err) {
    throw new Error(`unusable TLS certificate or key: ${(err as Error).message}`);
  }
}
