/**
 * Migration 0009_events (listed in migrations.ts): the event log's tables and indexes (SPEC §6).
 *  - `traffic_event_recipients` / `traffic_event_statuses`: one row per recipient (lowercased, with its domain) and
 *    per module status of a traffic event, so recipient and module + status filters use an index instead of
 *    scanning the JSON columns; rows recorded before this migration are copied in, 1,000 events at a time.
 *  - `system_events` and `audit_events` (the audit trail).
 *  - Indexes `(column, id)` for every equality filter: results are newest first by id, so an index that ends in id
 *    serves both the filter and the order on SQLite and PostgreSQL; time ranges use the `time` index.
 * Portable types only (text, integer, bigint); times are ms since the epoch.
 */
import { type Kysely, type Migration, sql } from 'kysely';

/** How a recipient address is stored and searched: trimmed, lowercased; the domain is what follows the last @. */
export function recipientKey(address: string): { address: string; domain: string } {
  const a = address.trim().toLowerCase().slice(0, 320);
  const at = a.lastIndexOf('@');
  return { address: a, domain: at >= 0 ? a.slice(at + 1) : '' };
}

export function eventsMigration(dialect: 'sqlite' | 'postgres'): Migration {
  const idColumn = dialect === 'postgres' ? 'bigserial' : 'integer';
  return {
    async up(db: Kysely<unknown>) {
      const d = db as Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      await d.schema.createTable('traffic_event_recipients')
        .addColumn('event_id', 'bigint', (c) => c.notNull().references('traffic_events.id').onDelete('cascade'))
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('domain', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('traffic_event_recipients_pk', ['event_id', 'idx'])
        .execute();
      await d.schema.createIndex('traffic_event_recipients_address').on('traffic_event_recipients').columns(['address', 'event_id']).execute();
      await d.schema.createIndex('traffic_event_recipients_domain').on('traffic_event_recipients').columns(['domain', 'event_id']).execute();
      await d.schema.createTable('traffic_event_statuses')
        .addColumn('event_id', 'bigint', (c) => c.notNull().references('traffic_events.id').onDelete('cascade'))
        .addColumn('module', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('traffic_event_statuses_pk', ['event_id', 'module'])
        .execute();
      await d.schema.createIndex('traffic_event_statuses_status').on('traffic_event_statuses').columns(['module', 'status', 'event_id']).execute();

      for (const col of ['node', 'message_id', 'delivered_as', 'client_ip', 'rule', 'action']) {
        await d.schema.createIndex(`traffic_events_${col}`).on('traffic_events').columns([col, 'id']).execute();
      }
      await d.schema.createIndex('traffic_events_sender').on('traffic_events').expression(sql`lower(sender), id`).execute();

      await d.schema.createTable('system_events')
        .addColumn('id', idColumn, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('time', 'bigint', (c) => c.notNull())
        .addColumn('node', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('details', 'text')
        .execute();
      await d.schema.createIndex('system_events_time').on('system_events').column('time').execute();
      for (const col of ['type', 'severity', 'node']) {
        await d.schema.createIndex(`system_events_${col}`).on('system_events').columns([col, 'id']).execute();
      }

      await d.schema.createTable('audit_events')
        .addColumn('id', idColumn, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('time', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('ip', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('before', 'text')
        .addColumn('after', 'text')
        .execute();
      await d.schema.createIndex('audit_events_time').on('audit_events').column('time').execute();
      for (const col of ['actor', 'action', 'target']) {
        await d.schema.createIndex(`audit_events_${col}`).on('audit_events').columns([col, 'id']).execute();
      }

      // Traffic events recorded before this migration: their recipients and statuses.
      await copyTrafficChildren(d);
    },
  };
}

/**
 * Fills the recipient and status rows of the traffic events with an id above `afterId` (rows recorded before
 * 0009_events), 1,000 events at a time; returns how many events were read. A damaged JSON column gives no child rows (the event stays).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function copyTrafficChildren(d: Kysely<any>, afterId = 0): Promise<number> {
  let seen = 0;
  let last = afterId;
  for (;;) {
    const rows = await d.selectFrom('traffic_events').select(['id', 'recipients', 'modules']).where('id', '>', last).orderBy('id').limit(1000).execute() as
      { id: number | string; recipients: string; modules: string }[];
    if (!rows.length) break;
    seen += rows.length;
    const rcpts: { event_id: number; idx: number; address: string; domain: string }[] = [];
    const statuses: { event_id: number; module: string; status: string }[] = [];
    for (const r of rows) {
      const id = Number(r.id);
      last = id;
      let list: unknown = [];
      let mods: unknown = {};
      try { list = JSON.parse(r.recipients); } catch { /* a damaged row keeps its JSON and gets no child rows */ }
      try { mods = JSON.parse(r.modules); } catch { /* idem */ }
      if (Array.isArray(list)) list.forEach((a, idx) => { if (typeof a === 'string') rcpts.push({ event_id: id, idx, ...recipientKey(a) }); });
      if (mods && typeof mods === 'object') {
        for (const [module, v] of Object.entries(mods as Record<string, { status?: unknown }>)) {
          if (v && typeof v.status === 'string') statuses.push({ event_id: id, module, status: v.status });
        }
      }
    }
    // SQLite allows 32,766 bound parameters per statement: insert in slices well under it.
    for (let i = 0; i < rcpts.length; i += 2000) await d.insertInto('traffic_event_recipients').values(rcpts.slice(i, i + 2000)).execute();
    for (let i = 0; i < statuses.length; i += 2000) await d.insertInto('traffic_event_statuses').values(statuses.slice(i, i + 2000)).execute();
  }
  return seen;
}
