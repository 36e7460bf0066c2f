/**
 * API tokens for automation (SPEC §8): `Authorization: Bearer moat_<43 base64url chars>`. The secret (256
 * random bits) is shown once at creation; the store keeps its SHA-256. A token acts with its owner's role, stops
 * working when it expires, is revoked, or its owner is disabled or deleted (the owner is read on every request).
 *
 * Hostile input: the header value (format-checked before any lookup), token names (1–64 printable characters)
 * and expiry (1–3650 days).
 */
import { randomBytes } from 'node:crypto';
import { sha256Hex } from './sessions.ts';
import { AccountsError } from './errors.ts';
import type { TokensRepo, StoredToken } from '../store/tokens-repo.ts';

const TOKEN_RE = /^moat_[A-Za-z0-9_-]{43}$/;
export const TOKEN_NAME_RE = /^[\x20-\x7e]{1,64}$/;
export const MAX_TOKEN_DAYS = 3650;

export class TokenService {
  private readonly repo: TokensRepo;
  private readonly now: () => number;
  constructor(repo: TokensRepo, now: () => number) {
    this.repo = repo;
    this.now = now;
  }

  /** Creates a token; the secret is in the result and nowhere else. */
  async create(accountId: number, name: string, expiresInDays?: number | null): Promise<{ token: StoredToken; secret: string }> {
    const n = name.trim();
    if (!TOKEN_NAME_RE.test(n)) throw new AccountsError('validation_failed', 'token name: 1-64 printable characters', 'name');
    if (expiresInDays != null && (!Number.isInteger(expiresInDays) || expiresInDays < 1 || expiresInDays > MAX_TOKEN_DAYS)) {
      throw new AccountsError('validation_failed', `expiry: a whole number of days from 1 to ${MAX_TOKEN_DAYS}`, 'expiresInDays');
    }
    const secret = `moat_${randomBytes(32).toString('base64url')}`;
    const now = this.now();
    const id = await this.repo.create({ accountId, name: n, secretHash: sha256Hex(secret), createdAt: now, expiresAt: expiresInDays ? now + expiresInDays * 86_400_000 : null });
    if (id === null) throw new AccountsError('conflict', `a token named ${JSON.stringify(n)} exists for this account`);
    return { token: (await this.repo.get(id))!, secret };
  }

  /** The live token for a bearer value, or null (unknown, malformed, expired). Records the last use. */
  async check(secret: string | undefined): Promise<StoredToken | null> {
    if (!secret || !TOKEN_RE.test(secret)) return null;
    const t = await this.repo.findBySecretHash(sha256Hex(secret));
    if (!t) return null;
    const now = this.now();
    if (t.expiresAt !== null && now >= t.expiresAt) return null;
    if (t.lastUsedAt === null || now - t.lastUsedAt >= 60_000) await this.repo.touch(t.id, now);
    return t;
  }

  list(accountId?: number): Promise<StoredToken[]> { return this.repo.list(accountId); }
  get(id: number): Promise<StoredToken | undefined> { return this.repo.get(id); }
  revoke(id: number): Promise<boolean> { return this.repo.remove(id); }
}
