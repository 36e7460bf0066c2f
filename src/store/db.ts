/**
 * Opens the store named by a database URL: `sqlite:<path>` (embedded default, `node:sqlite`, WAL) or
 * `postgres://…` (shared by the nodes of a cluster). Runs the migrations, then hands back one Kysely instance
 * typed by `schema.ts`; repositories use only SQL that both dialects accept.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Kysely, SqliteDialect, PostgresDialect } from 'kysely';
import pg from 'pg';
import { openSqlite } from './sqlite-adapter.ts';
import { migrate, migrationNames } from './migrations.ts';
import type { Database } from './schema.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  close(): Promise<void>;
}

/** Reads bigint (int8) columns as JavaScript numbers: every bigint here is a time in ms or a size in bytes. */
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
};

/** Work a store's writers still hold in memory (write-behind), done before the store closes. */
const closing = new WeakMap<object, (() => Promise<void>)[]>();

/** Registers `fn` to run (and be awaited) when the store whose Kysely instance is `db` closes. */
export function beforeClose(db: object, fn: () => Promise<void>): void {
  const list = closing.get(db) ?? [];
  list.push(fn);
  closing.set(db, list);
}

export function describeUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

export async function openStore(url: string, opts: { migrate?: boolean } = {}): Promise<Store> {
  let db: Kysely<Database>;
  let dialect: Dialect;
  let runMigrations = () => migrate(db as Kysely<unknown>, dialect);
  if (url.startsWith('sqlite:')) {
    const path = resolve(url.slice('sqlite:'.length));
    mkdirSync(dirname(path), { recursive: true });
    const { raw, kysely } = openSqlite(path);
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: kysely }) });
    dialect = 'sqlite';
    // Kysely's migration lock is a no-op on SQLite (it assumes one process). A node and the CLI opening a new
    // file at once both ran 0001 ("table already exists"), so pending migrations run under BEGIN IMMEDIATE: the
    // second process waits (busy_timeout) for the first's commit, then finds nothing left to do. An up-to-date
    // file takes no write lock (opening it must not wait for, or stall, another connection's transaction).
    runMigrations = async () => {
      let applied: string[] = [];
      try { applied = (raw.prepare('SELECT name FROM kysely_migration').all() as { name: string }[]).map((r) => r.name); } catch { /* new file */ }
      if (migrationNames.every((n) => applied.includes(n))) return migrate(db as Kysely<unknown>, dialect);
      raw.exec('BEGIN IMMEDIATE');
      try {
        await migrate(db as Kysely<unknown>, dialect, { disableTransactions: true });
        raw.exec('COMMIT');
      } catch (err) {
        if (raw.isTransaction) raw.exec('ROLLBACK');
        throw err;
      }
    };
  } else if (/^postgres(ql)?:\/\//.test(url)) {
    const pool = new pg.Pool({ connectionString: url, max: 10, types: pgTypes as pg.CustomTypesConfig });
    // An idle client that loses its server must not crash the node; the next query reports the error.
    pool.on('error', () => {});
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    dialect = 'postgres';
  } else {
    throw new Error(`unsupported database URL ${describeUrl(url)} (use sqlite:<path> or postgres://…)`);
  }
  if (opts.migrate !== false) {
    try {
      await runMigrations();
    } catch (err) {
      await db.destroy();
      throw err;
    }
  }
  return {
    db, dialect,
    close: async () => {
      for (const fn of closing.get(db) ?? []) await fn().catch(() => {});
      await db.destroy();
    },
  };
}
