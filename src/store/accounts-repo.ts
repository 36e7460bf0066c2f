/**
 * Local accounts: enough for SMTP AUTH on the submission listener today; roles, lockout, expiry and sessions
 * build on this table later. Only password hashes are stored (see accounts/passwords.ts).
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface Account { id: number; username: string; passwordHash: string; role: string; createdAt: number }

export class AccountsRepo {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) { this.db = db; }

  async find(username: string): Promise<Account | undefined> {
    const r = await this.db.selectFrom('accounts').selectAll().where('username', '=', username.toLowerCase()).executeTakeFirst();
    return r && { id: r.id, username: r.username, passwordHash: r.password_hash, role: r.role, createdAt: Number(r.created_at) };
  }

  async list(): Promise<Account[]> {
    const rows = await this.db.selectFrom('accounts').selectAll().orderBy('username').execute();
    return rows.map((r) => ({ id: r.id, username: r.username, passwordHash: r.password_hash, role: r.role, createdAt: Number(r.created_at) }));
  }

  async create(username: string, passwordHash: string, role: string, now = Date.now()): Promise<void> {
    await this.db.insertInto('accounts').values({ username: username.toLowerCase(), password_hash: passwordHash, role, created_at: now }).execute();
  }

  async setPassword(username: string, passwordHash: string): Promise<boolean> {
    const r = await this.db.updateTable('accounts').set({ password_hash: passwordHash }).where('username', '=', username.toLowerCase()).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async remove(username: string): Promise<boolean> {
    const r = await this.db.deleteFrom('accounts').where('username', '=', username.toLowerCase()).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
