/**
 * PostgreSQL for store tests: whether the server on 127.0.0.1:5432 answers, and admin statements (CREATE and
 * DROP of the throw-away databases each suite makes).
 */
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
