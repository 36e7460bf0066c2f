/**
 * Databases for store tests: whether PostgreSQL on 127.0.0.1:5432 answers, admin statements, and the two
 * targets every store suite runs against (a temp SQLite file, a throw-away PostgreSQL database).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** null when PostgreSQL answers, else why not. */
export async function pgReachable(): Promise<string | null> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('select 1');
    return null;
  } catch (err) {
    return (err as Error).message || String(err);
  } finally {
    await c.end().catch(() => {});
  }
}

export async function pgAdmin(statement: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try { await c.query(statement); } finally { await c.end(); }
}

/** A database for one suite run: a temp SQLite file, or a throw-away PostgreSQL database dropped afterwards. */
export interface Target {
  dialect: 'sqlite' | 'postgres';
  /** Creates the database; returns its URL. */
  setup(): Promise<string>;
  teardown(): Promise<void>;
}

export function sqliteTarget(prefix = 'moat-store-'): Target {
  let dir = '';
  return {
    dialect: 'sqlite',
    async setup() { dir = mkdtempSync(join(tmpdir(), prefix)); return `sqlite:${join(dir, 'moat.db')}`; },
    async teardown() { if (dir) rmSync(dir, { recursive: true, force: true }); },
  };
}

export function postgresTarget(): Target {
  const name = `moat_test_${randomBytes(6).toString('hex')}`;
  let created = false;
  return {
    dialect: 'postgres',
    async setup() { await pgAdmin(`CREATE DATABASE ${name}`); created = true; return `postgres://postgres@127.0.0.1:5432/${name}`; },
    // FORCE ends any session a failed case left open, so the database never outlives the run.
    async teardown() { if (created) await pgAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); },
  };
}
