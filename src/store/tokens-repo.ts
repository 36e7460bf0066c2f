/**
 * API tokens in the store: name, owner account, creation, optional expiry, last use. Only SHA-256 of the secret
 * is stored (the secret is 256 random bits, so an unsalted hash cannot be reversed by guessing).
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface StoredToken { id: number; accountId: number; username: string; name: string; createdAt: number; expiresAt: number | null; lastUsedAt: number | null }

export class TokensRepo {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) { this.db = db; }

  private base() {
    return this.db.selectFrom('api_tokens').innerJoin('accounts', 'accounts.id', 'api_tokens.account_id')
      .select(['api_tokens.id', 'api_tokens.account_id', 'accounts.username', 'api_tokens.name', 'api_tokens.created_at', 'api_tokens.expires_at', 'api_tokens.last_used_at']);
  }

  private static fromRow(r: { id: number; account_id: number; username: string; name: string; created_at: number; expires_at: number | null; last_used_at: number | null }): StoredToken {
    return {
      id: Number(r.id), accountId: Number(r.account_id), username: r.username, name: r.name, createdAt: Number(r.created_at),
      expiresAt: r.expires_at == null ? null : Number(r.expires_at), lastUsedAt: r.last_used_at == null ? null : Number(r.last_used_at),
    };
  }

  /** Returns the new token's id, or null when the account already has a token of that name. */
  async create(t: { accountId: number; name: string; secretHash: string; createdAt: number; expiresAt: number | null }): Promise<number | null> {
    const r = await this.db.insertInto('api_tokens').values({
      account_id: t.accountId, name: t.name, secret_hash: t.secretHash, created_at: t.createdAt, expires_at: t.expiresAt, last_used_at: null,
    }).onConflict((oc) => oc.columns(['account_id', 'name']).doNothing()).returning('id').executeTakeFirst();
    return r ? Number(r.id) : null;
  }

  async findBySecretHash(hash: string): Promise<StoredToken | undefined> {
    const r = await this.base().where('api_tokens.secret_hash', '=', hash).executeTakeFirst();
    return r && TokensRepo.fromRow(r);
  }

  async get(id: number): Promise<StoredToken | undefined> {
    const r = await this.base().where('api_tokens.id', '=', id).executeTakeFirst();
    return r && TokensRepo.fromRow(r);
  }

  /** All tokens, or those of one account; newest first. */
  async list(accountId?: number): Promise<StoredToken[]> {
    let q = this.base();
    if (accountId !== undefined) q = q.where('api_tokens.account_id', '=', accountId);
    return (await q.orderBy('api_tokens.id', 'desc').execute()).map(TokensRepo.fromRow);
  }

  async touch(id: number, now: number): Promise<void> {
    await this.db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', id).execute();
  }

  async remove(id: number): Promise<boolean> {
    const r = await this.db.deleteFrom('api_tokens').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
