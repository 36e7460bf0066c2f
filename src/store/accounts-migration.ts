/**
 * Migration 0007_accounts (SPEC §8): roles, lockout, expiry and personal addresses on the accounts table, custom
 * roles, console/API sessions and API tokens. Portable types only (text, integer, bigint; times in ms; flags 0/1).
 *
 * Existing rows (made for SMTP AUTH by `moat accounts add` before this migration, role `user`) become role
 * `personal` (end users, no administrative permission) and keep their password: SMTP AUTH goes on working. An
 * existing row named `admin` becomes the built-in superuser.
 *
 * Sessions, tokens and addresses reference accounts.id with ON DELETE CASCADE (SQLite runs with
 * foreign_keys = ON, see sqlite-adapter.ts), so deleting an account ends its sessions and tokens at once.
 */
import { type Kysely, type Migration, sql } from 'kysely';

export function accountsMigration(dialect: 'sqlite' | 'postgres'): Migration {
  return {
    async up(db: Kysely<unknown>) {
      const add = (name: string, type: 'text' | 'integer' | 'bigint', def?: string | number) =>
        db.schema.alterTable('accounts').addColumn(name, type, (c) => (def === undefined ? c : c.notNull().defaultTo(def))).execute();
      await add('source', 'text', 'local');
      await add('disabled', 'integer', 0);
      await add('must_change_password', 'integer', 0);
      await add('password_changed_at', 'bigint');
      await add('failed_logins', 'integer', 0);
      await add('locked_until', 'bigint');
      await add('last_login_at', 'bigint');
      await add('updated_at', 'bigint');
      await db.updateTable('accounts' as never).set({ role: 'personal' } as never).where('role' as never, '=', 'user' as never).execute();
      await db.updateTable('accounts' as never).set({ role: 'superuser' } as never).where('username' as never, '=', 'admin' as never).execute();
      await sql`UPDATE accounts SET password_changed_at = created_at`.execute(db);

      await db.schema.createTable('account_addresses')
        .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('address', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('account_addresses_pk', ['account_id', 'address'])
        .execute();
      await db.schema.createIndex('account_addresses_address').on('account_addresses').column('address').execute();

      await db.schema.createTable('roles')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('permissions', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema.createTable('sessions')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('ip', 'text')
        .addColumn('user_agent', 'text')
        .execute();
      await db.schema.createIndex('sessions_account').on('sessions').column('account_id').execute();
      await db.schema.createIndex('sessions_expires').on('sessions').column('expires_at').execute();

      await db.schema.createTable('api_tokens')
        .addColumn('id', dialect === 'postgres' ? 'serial' : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('account_id', 'integer', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('last_used_at', 'bigint')
        .addUniqueConstraint('api_tokens_account_name', ['account_id', 'name'])
        .execute();
    },
  };
}
