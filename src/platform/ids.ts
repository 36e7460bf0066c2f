/**
 * Identifier port: queue ids. A queue id is 16 characters of Crockford base32 from the time in milliseconds and
 * random bits, so ids sort by arrival and are safe as file names on any file system.
 */
import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

// Random bytes are drawn 4 KiB at a time: one call to the CSPRNG per 585 ids instead of one per id.
const pool = Buffer.alloc(4096);
let poolPos = pool.length;

export function newQueueId(now = Date.now()): string {
  let out = '';
  let t = now;
  for (let i = 0; i < 9; i++) { out = ALPHABET[t % 32] + out; t = Math.floor(t / 32); }
  if (poolPos + 7 > pool.length) { randomFillSync(pool); poolPos = 0; }
  for (let i = 0; i < 7; i++) out += ALPHABET[pool[poolPos++] & 31];
  return out;
}

export const QUEUE_ID_RE = /^[0-9A-HJKMNP-TV-Z]{16}$/;
