/**
 * Console/API sessions in the store, so every node of a cluster knows them. Only SHA-256 of the random session
 * id is stored: a copy of the table does not let anyone sign in. Expired rows are removed by `purge`.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface StoredSession { idHash: string; accountId: number; createdAt: number; lastSeenAt: number; expiresAt: number; ip: string | null; userAgent: string | null }

export class SessionsRepo {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) { this.db = db; }

  async create(s: StoredSession): Promise<void> {
    await this.db.insertInto('sessions').values({
      id_hash: s.idHash, account_id: s.accountId, created_at: s.createdAt, last_seen_at: s.lastSeenAt, expires_at: s.expiresAt, ip: s.ip, user_agent: s.userAgent,
    }).execute();
  }

  async get(idHash: string): Promise<StoredSession | undefined> {
    const r = await this.db.selectFrom('sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
    return r && {
      idHash: r.id_hash, accountId: Number(r.account_id), createdAt: Number(r.created_at), lastSeenAt: Number(r.last_seen_at),
      expiresAt: Number(r.expires_at), ip: r.ip, userAgent: r.user_agent,
    };
  }

  async touch(idHash: string, now: number): Promise<void> {
    await this.db.updateTable('sessions').set({ last_seen_at: now }).where('id_hash', '=', idHash).execute();
  }

  async remove(idHash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
  }

  /** Ends every session of an account (password change, disable, role change), except `keep`. */
  async removeForAccount(accountId: number, keep?: string): Promise<number> {
    let q = this.db.deleteFrom('sessions').where('account_id', '=', accountId);
    if (keep) q = q.where('id_hash', '!=', keep);
    const r = await q.executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** Removes sessions past their absolute end or idle since before `idleBefore`. */
  async purge(now: number, idleBefore: number): Promise<number> {
    const r = await this.db.deleteFrom('sessions').where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<', idleBefore)])).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
