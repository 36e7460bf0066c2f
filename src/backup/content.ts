/**
 * Backup contents in the store, in chunks of 256 KiB (one row each in backup_chunks), so writing and reading a
 * message of any size takes constant memory and every node of a cluster can serve any item. Optionally sealed
 * per chunk with AES-256-GCM (crypto.ts).
 *
 * A content is written as: row (complete = 0) → chunks → row completed with size and chunk count. A crash in
 * between leaves an incomplete content that the sweep removes; readers refuse incomplete contents and check the
 * chunk count and size they read against the row (a truncated or damaged content is an error, never a silent
 * short message).
 *
 * Hostile input: the message bytes are opaque here; chunks read back are checked (count, size, GCM tag).
 */
import { Readable } from 'node:stream';
import { newQueueId } from '../platform/ids.ts';
import type { BackupRepo } from '../store/backup-repo.ts';
import { BackupKeyError, keyId, openChunk, sealChunk } from './crypto.ts';

export const CHUNK_SIZE = 256 * 1024;

export class BackupContentError extends Error {}

export interface StoredContent { id: string; size: number; encrypted: boolean }

/** Writes a stream as a new content; returns its id and size. On failure the partial content is removed. */
export async function writeContent(repo: BackupRepo, source: AsyncIterable<Buffer | string | Uint8Array>, key: Buffer | null, now: number): Promise<StoredContent> {
  const id = newQueueId(now);
  await repo.createContent(id, !!key, key ? keyId(key) : null, now);
  let seq = 0;
  let size = 0;
  let pending: Buffer[] = [];
  let pendingLen = 0;
  const flush = async (all: boolean) => {
    while (pendingLen >= CHUNK_SIZE || (all && pendingLen > 0)) {
      const buf = Buffer.concat(pending, pendingLen);
      const take = Math.min(CHUNK_SIZE, buf.length);
      const plain = buf.subarray(0, take);
      await repo.addChunk(id, seq, key ? sealChunk(key, id, seq, plain) : Buffer.from(plain));
      seq++;
      const rest = buf.subarray(take);
      pending = rest.length ? [rest] : [];
      pendingLen = rest.length;
    }
  };
  try {
    for await (const c of source) {
      const b = typeof c === 'string' ? Buffer.from(c, 'latin1') : Buffer.isBuffer(c) ? c : Buffer.from(c);
      pending.push(b);
      pendingLen += b.length;
      size += b.length;
      if (pendingLen >= CHUNK_SIZE) await flush(false);
    }
    await flush(true);
    await repo.completeContent(id, size, seq);
  } catch (err) {
    await repo.dropOrphanContents([id]).catch(() => {});
    throw err;
  }
  return { id, size, encrypted: !!key };
}

/** Checks that a content can be read with `key` (exists, complete, right key) before a stream is handed out. */
export async function checkContent(repo: BackupRepo, contentId: string, key: Buffer | null, label: string) {
  const c = await repo.content(contentId);
  if (!c || c.complete !== 1) throw new BackupContentError(`${label}: the stored message is missing or incomplete`);
  if (c.encrypted === 1) {
    if (!key) throw new BackupKeyError(`${label} is encrypted at rest and no backup key is configured (backupKey / MOAT_BACKUP_KEY)`);
    if (c.key_id && c.key_id !== keyId(key)) throw new BackupKeyError(`${label} was encrypted with another backup key (key id ${c.key_id}; the configured key is ${keyId(key)})`);
  }
  return c;
}

/** The content as a stream, one chunk in memory at a time; errors (missing chunk, wrong key) end it with an error. */
export async function readContent(repo: BackupRepo, contentId: string, key: Buffer | null, label = `content ${contentId}`): Promise<Readable> {
  const c = await checkContent(repo, contentId, key, label);
  const chunks = Number(c.chunks);
  const size = Number(c.size);
  const encrypted = c.encrypted === 1;
  let seq = 0;
  let read = 0;
  return new Readable({
    highWaterMark: CHUNK_SIZE,
    read() {
      if (seq >= chunks) {
        if (read !== size) this.destroy(new BackupContentError(`${label}: stored size ${size}, read ${read}`));
        else this.push(null);
        return;
      }
      const s = seq++;
      repo.chunk(contentId, s).then((data) => {
        if (!data) throw new BackupContentError(`${label}: chunk ${s} of ${chunks} is missing`);
        const plain = encrypted ? openChunk(key!, contentId, s, data) : Buffer.from(data);
        read += plain.length;
        this.push(plain);
      }).catch((err) => this.destroy(err as Error));
    },
  });
}

/** Reads at most `limit` bytes of a content (the view); says whether there was more. */
export async function readContentPrefix(repo: BackupRepo, contentId: string, key: Buffer | null, limit: number, label: string): Promise<{ data: Buffer; truncated: boolean; size: number }> {
  const c = await checkContent(repo, contentId, key, label);
  const stream = await readContent(repo, contentId, key, label);
  const parts: Buffer[] = [];
  let n = 0;
  for await (const b of stream) {
    const buf = b as Buffer;
    const take = Math.min(buf.length, limit - n);
    parts.push(buf.subarray(0, take));
    n += take;
    if (n >= limit) { stream.destroy(); break; }
  }
  return { data: Buffer.concat(parts, n), truncated: Number(c.size) > n, size: Number(c.size) };
}
