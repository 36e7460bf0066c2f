/**
 * Signed tokens of the digest's one-click unsubscribe links (RFC 8058): `<payload>.<mac>`, both base64url, where
 * payload is the JSON `{a: address, v: version, e: expiry ms}` and mac = HMAC-SHA256(key, payload). The key is a
 * cluster-wide secret (src/store/secrets-repo.ts, name `backup-digest-token`). A token works once: unsubscribing
 * bumps the address's version, so the old token no longer matches.
 *
 * Hostile input: the token comes from an unauthenticated URL. Its length is bounded before any work, the MAC is
 * compared in constant time before the payload is parsed, and the parsed payload is validated.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface TokenPayload { address: string; version: number; expires: number }

export type TokenCheck =
  | { ok: true; payload: TokenPayload }
  | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' };

const MAX_TOKEN = 1024;

function mac(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(`moat-unsubscribe/1.${payload}`).digest();
}

export function signToken(key: Buffer, p: TokenPayload): string {
  const payload = Buffer.from(JSON.stringify({ a: p.address, v: p.version, e: p.expires })).toString('base64url');
  return `${payload}.${mac(key, payload).toString('base64url')}`;
}

export function checkToken(key: Buffer, token: unknown, now: number): TokenCheck {
  if (typeof token !== 'string' || token.length > MAX_TOKEN || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/.test(token)) return { ok: false, reason: 'malformed' };
  const [payload, sig] = token.split('.');
  const given = Buffer.from(sig, 'base64url');
  const want = mac(key, payload);
  if (given.length !== want.length || !timingSafeEqual(given, want)) return { ok: false, reason: 'bad_signature' };
  let p: { a?: unknown; v?: unknown; e?: unknown };
  try { p = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')); } catch { return { ok: false, reason: 'malformed' }; }
  if (typeof p?.a !== 'string' || !p.a.includes('@') || p.a.length > 320 || !Number.isInteger(p.v) || !Number.isInteger(p.e)) return { ok: false, reason: 'malformed' };
  if ((p.e as number) < now) return { ok: false, reason: 'expired' };
  return { ok: true, payload: { address: p.a, version: p.v as number, expires: p.e as number } };
}
