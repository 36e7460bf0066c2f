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
  // busy_timeout comes first: switching a new file to WAL takes a lock, and two processes opening it at once
  // (a node and the CLI) otherwise failed at once with "database is locked".
  raw.exec('PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');
  // Kysely prepares every query it runs; the same few SQL texts repeat on the hot path, so prepared statements
  // are kept (at most 500, oldest dropped first).
  const cache = new Map<string, SqliteStatement>();
  const kysely: SqliteDatabase = {
    close: () => { cache.clear(); raw.close(); },
    prepare(sql: string): SqliteStatement {
      const hit = cache.get(sql);
      if (hit) return hit;
      const stmt = raw.prepare(sql);
      const wrapped: SqliteStatement = {
        reader: stmt.columns().length > 0,
        all: (p) => stmt.all(...bind(p)),
        run: (p) => stmt.run(...bind(p)),
        iterate: (p) => stmt.iterate(...bind(p)),
      };
      if (cache.size >= 500) cache.delete(cache.keys().next().value!);
      cache.set(sql, wrapped);
      return wrapped;
    },
  };
  return { raw, kysely };
}
