/**
 * Console/API sessions (SPEC §8). The cookie carries a random 256-bit id (base64url); the store keeps only its
 * SHA-256, so every node of a cluster can check it and a copy of the table signs nobody in. A session ends after
 * `accounts.sessionIdleTimeout` seconds without a request (default 1800) or `accounts.sessionLifetime` seconds
 * after sign-in (default 43200), at sign-out, when the account is deleted or disabled, and (except the session
 * that made the change) when its password changes.
 *
 * CSRF: the session's token is HMAC-SHA256 of the fixed label `moat-csrf` keyed with the session id, so it is
 * derived, never stored, and worthless without the cookie. Compared in constant time.
 *
 * Hostile input: the cookie value; anything that is not 43 base64url characters is rejected before any lookup.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SessionsRepo } from '../store/sessions-repo.ts';
import type { AccountsSettings } from './settings.ts';

export const SESSION_COOKIE = 'moat_session';
const ID_RE = /^[A-Za-z0-9_-]{43}$/;

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export function csrfTokenFor(sessionId: string): string {
  return createHmac('sha256', sessionId).update('moat-csrf').digest('base64url');
}

export function csrfMatches(expected: string, given: string | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(expected), b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface LiveSession { idHash: string; accountId: number; csrfToken: string }

export class SessionService {
  private readonly repo: SessionsRepo;
  private readonly settings: () => AccountsSettings;
  private readonly now: () => number;
  constructor(repo: SessionsRepo, settings: () => AccountsSettings, now: () => number) {
    this.repo = repo;
    this.settings = settings;
    this.now = now;
  }

  /** A new session for the account; returns the cookie value (shown only to the client) and the CSRF token. */
  async create(accountId: number, meta: { ip: string | null; userAgent: string | null }): Promise<{ id: string; csrfToken: string; expiresAt: number }> {
    const id = randomBytes(32).toString('base64url');
    const now = this.now();
    const expiresAt = now + this.settings().sessionLifetime * 1000;
    await this.repo.create({ idHash: sha256Hex(id), accountId, createdAt: now, lastSeenAt: now, expiresAt, ip: meta.ip, userAgent: meta.userAgent?.slice(0, 300) ?? null });
    return { id, csrfToken: csrfTokenFor(id), expiresAt };
  }

  /** The live session for a cookie value, or null (unknown, idle too long, past its lifetime: then removed). */
  async check(id: string | undefined): Promise<LiveSession | null> {
    if (!id || !ID_RE.test(id)) return null;
    const idHash = sha256Hex(id);
    const s = await this.repo.get(idHash);
    if (!s) return null;
    const now = this.now();
    const { sessionIdleTimeout, sessionLifetime } = this.settings();
    const idleMs = sessionIdleTimeout * 1000;
    if (now >= s.expiresAt || now >= s.createdAt + sessionLifetime * 1000 || now - s.lastSeenAt >= idleMs) {
      await this.repo.remove(idHash);
      return null;
    }
    // One write per minute at most (or per tenth of the idle timeout, when it is shorter), not one per request.
    if (now - s.lastSeenAt >= Math.min(60_000, idleMs / 10)) await this.repo.touch(idHash, now);
    return { idHash, accountId: s.accountId, csrfToken: csrfTokenFor(id) };
  }

  async end(idHash: string): Promise<void> { await this.repo.remove(idHash); }

  async endAll(accountId: number, keep?: string): Promise<number> { return this.repo.removeForAccount(accountId, keep); }

  /** Removes expired and idle sessions (run now and then). */
  async purge(): Promise<number> {
    const now = this.now();
    return this.repo.purge(now, now - this.settings().sessionIdleTimeout * 1000);
  }
}
