/**
 * Retention of the event tables (SPEC §6): deletes rows older than a cutoff, or the oldest rows beyond a row
 * limit, in batches (default 1,000 rows per statement) so neither SQLite's single writer nor PostgreSQL's row
 * locks are held for long; a traffic event's recipient and status rows go with it (ON DELETE CASCADE).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';

export type EventTable = 'traffic_events' | 'system_events' | 'audit_events';

/** Deletes rows with `time < cutoff`; returns how many. `pause` runs between batches (lets other writers in). */
export async function deleteOlderThan(db: Kysely<Database>, table: EventTable, cutoff: number, batch = 1000, pause?: () => Promise<void>): Promise<number> {
  let total = 0;
  for (;;) {
    const r = await sql`DELETE FROM ${sql.table(table)} WHERE id IN (SELECT id FROM ${sql.table(table)} WHERE time < ${cutoff} ORDER BY id LIMIT ${batch})`.execute(db);
    const n = Number(r.numAffectedRows ?? 0n);
    total += n;
    if (n < batch) return total;
    await pause?.();
  }
}

export async function countRows(db: Kysely<Database>, table: EventTable): Promise<number> {
  const r = await sql<{ n: number | string }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(db);
  return Number(r.rows[0].n);
}

/** Deletes the oldest rows so that at most `maxRows` remain; returns how many were deleted. */
export async function trimToRows(db: Kysely<Database>, table: EventTable, maxRows: number, batch = 1000, pause?: () => Promise<void>): Promise<number> {
  const excess = (await countRows(db, table)) - maxRows;
  if (excess <= 0) return 0;
  const edge = await sql<{ id: number | string }>`SELECT id FROM ${sql.table(table)} ORDER BY id LIMIT 1 OFFSET ${excess - 1}`.execute(db);
  if (!edge.rows.length) return 0;
  const last = Number(edge.rows[0].id);
  let total = 0;
  for (;;) {
    const r = await sql`DELETE FROM ${sql.table(table)} WHERE id IN (SELECT id FROM ${sql.table(table)} WHERE id <= ${last} ORDER BY id LIMIT ${batch})`.execute(db);
    const n = Number(r.numAffectedRows ?? 0n);
    total += n;
    if (n < batch) return total;
    await pause?.();
  }
}
