/**
 * Identifier port: queue ids. A queue id is 16 characters of Crockford base32 from the time in milliseconds and
 * random bits, so ids sort by arrival and are safe as file names on any file system.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function newQueueId(now = Date.now()): string {
  let out = '';
  let t = now;
  for (let i = 0; i < 9; i++) { out = ALPHABET[t % 32] + out; t = Math.floor(t / 32); }
  const rnd = randomBytes(7);
  for (let i = 0; i < 7; i++) out += ALPHABET[rnd[i] & 31];
  return out;
}

export const QUEUE_ID_RE = /^[0-9A-HJKMNP-TV-Z]{16}$/;
