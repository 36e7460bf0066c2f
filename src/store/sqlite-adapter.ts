/**
 * Adapter from `node:sqlite` (built into Node.js, no native addon) to the small better-sqlite3-shaped interface
 * that Kysely's SqliteDialect drives. A statement is a reader when it returns columns. Booleans are bound as 0/1
 * and `undefined` as NULL, because node:sqlite refuses both.
 */
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

function bind(params: ReadonlyArray<unknown>): SQLInputValue[] {
  return params.map((p) => (p === undefined ? null : typeof p === 'boolean' ? (p ? 1 : 0) : (p as SQLInputValue)));
}

export function openSqlite(path: string): { raw: DatabaseSync; kysely: SqliteDatabase } {
  const raw = new DatabaseSync(path);
  // WAL lets the CLI read and write while a node runs; NORMAL keeps commits cheap (the spool file, fsync'd before
  // 250, is the durable record of an accepted message; the store is its index and per-recipient state).
  raw.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;');
  const kysely: SqliteDatabase = {
    close: () => raw.close(),
    prepare(sql: string): SqliteStatement {
      const stmt = raw.prepare(sql);
      return {
        reader: stmt.columns().length > 0,
        all: (p) => stmt.all(...bind(p)),
        run: (p) => stmt.run(...bind(p)),
        iterate: (p) => stmt.iterate(...bind(p)),
      };
    },
  };
  return { raw, kysely };
}
