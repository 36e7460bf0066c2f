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

const BUSY_MS = 10_000;

export function openSqlite(path: string): { raw: DatabaseSync; kysely: SqliteDatabase } {
  const raw = new DatabaseSync(path, { timeout: BUSY_MS });
  // WAL lets the CLI read and write while a node runs; NORMAL keeps commits cheap (the spool file, fsync'd before
  // 250, is the durable record of an accepted message; the store is its index and per-recipient state).
  // Switching a new file to WAL takes a lock, and while another process is doing the same (or recovering the WAL
  // index) SQLite can answer SQLITE_BUSY without calling the busy handler at all, so the switch is retried here
  // for as long as the busy timeout would have waited (seen in CI with three processes opening one new file).
  const until = Date.now() + BUSY_MS;
  for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
    try {
      raw.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');
      break;
    } catch (err) {
      const code = ((err as { errcode?: number }).errcode ?? 0) & 0xff; // extended codes: BUSY_RECOVERY, BUSY_SNAPSHOT…
      if ((code !== 5 && code !== 6) || Date.now() >= until) { raw.close(); throw err; }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, pause);
    }
  }
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
