/**
 * Password hashing with scrypt (N=2^15, r=8, p=1, 32-byte salt), stored as
 * `scrypt$N$r$p$salt$hash` (base64). Verification is constant-time. Hashing runs in libuv's thread pool, never
 * on the event loop. Also the password policy (passwordProblem), generated passwords and DUMMY_HASH for
 * timing-equivalent refusals of unknown users.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

const N = 1 << 15, R = 8, P = 1, KEYLEN = 32;

function scryptAsync(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEYLEN, { N: n, r, p, maxmem: 256 * n * r }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(32);
  const key = await scryptAsync(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number);
  if (![n, r, p].every((x) => Number.isInteger(x) && x > 0) || n > 1 << 20) return false;
  const expected = Buffer.from(parts[5], 'base64');
  const key = await scryptAsync(password, Buffer.from(parts[4], 'base64'), n, r, p);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/**
 * A hash of a random password nobody knows, with the same parameters as hashPassword: checking a password
 * against it costs the same scrypt work as checking a real account's, so an unknown user name takes as long to
 * refuse as a wrong password (and no hash has to be made at start).
 */
export const DUMMY_HASH = 'scrypt$32768$8$1$k5pvnra5OIj4FCTrr4W7EXM6je/1Jji31iul6AE3N/M=$z29BIIrgD6Bsl/bOSFmAL2i7Vf8JefUBpVoe35ukNUg=';

/** A strong random password: 24 characters from an alphabet without look-alikes (about 138 bits). */
export function generatePassword(length = 24): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const out: string[] = [];
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      // Rejection sampling keeps every character equally likely.
      if (b < 256 - (256 % alphabet.length) && out.length < length) out.push(alphabet[b % alphabet.length]);
    }
  }
  return out.join('');
}

export const MIN_PASSWORD_LENGTH = 12;

/** Why a new password is refused (SPEC §8 policy: at least 12 characters, not the user name), or null. */
export function passwordProblem(username: string, password: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `password must be at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > 1024) return 'password must be at most 1024 characters';
  if (password.trim().toLowerCase() === username.trim().toLowerCase()) return 'password must not be the user name';
  return null;
}
