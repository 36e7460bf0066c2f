/**
 * Encryption at rest of Backup contents: AES-256-GCM per chunk, a fresh random 96-bit nonce per chunk, and the
 * content id and chunk number as additional authenticated data, so a chunk cannot be moved to another content
 * or another position without failing authentication. A sealed chunk is `nonce(12) || ciphertext || tag(16)`.
 *
 * The key (32 bytes) comes from the bootstrap config (`backupKey`, MOAT_BACKUP_KEY); contents record the key's
 * id (the first 8 bytes of its SHA-256, hex) so a wrong key is named as such instead of giving garbage.
 *
 * Hostile input: stored chunks may be damaged or swapped (a compromised or corrupted database); every failure
 * of authentication is a BackupKeyError, never partial plaintext.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const NONCE = 12;
const TAG = 16;

export class BackupKeyError extends Error {}

export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

function aad(contentId: string, seq: number): Buffer {
  return Buffer.from(`moat-backup/1\0${contentId}\0${seq}`, 'utf8');
}

export function sealChunk(key: Buffer, contentId: string, seq: number, plain: Buffer): Buffer {
  const nonce = randomBytes(NONCE);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aad(contentId, seq));
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([nonce, body, c.getAuthTag()]);
}

export function openChunk(key: Buffer, contentId: string, seq: number, sealed: Uint8Array): Buffer {
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (buf.length < NONCE + TAG) throw new BackupKeyError(`content ${contentId} chunk ${seq} is damaged (too short)`);
  const d = createDecipheriv('aes-256-gcm', key, buf.subarray(0, NONCE));
  d.setAAD(aad(contentId, seq));
  d.setAuthTag(buf.subarray(buf.length - TAG));
  try {
    return Buffer.concat([d.update(buf.subarray(NONCE, buf.length - TAG)), d.final()]);
  } catch {
    throw new BackupKeyError(`content ${contentId} chunk ${seq} does not authenticate with the configured backup key (wrong key, or damaged data)`);
  }
}
