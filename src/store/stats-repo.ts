/**
 * Dashboard statistics in the store (table `stats_counters`, migration 0011_stats): counts per level (minute,
 * hour, day), bucket start (ms, UTC), node and counter key (src/monitor/buckets.ts). Shared by the nodes of a
 * cluster through PostgreSQL; the same SQL runs on SQLite.
 *
 * Writes add to the counts with one multi-row `INSERT … ON CONFLICT (level, bucket, node, key) DO UPDATE SET
 * count = stats_counters.count + excluded.count` per chunk of rows, all in one transaction (all or nothing, so a
 * failed write can be retried without counting twice). The caller must not repeat a primary key within one call
 * (PostgreSQL refuses to update one row twice in a statement); StatsRecorder merges them first.
 *
 * Reads sum counts by bucket and key (series) or by key and node (totals) over [from, to). Limits: rows per
 * statement 200 (5 bound parameters each, under SQLite's limit).
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Database, QueueState } from './schema.ts';
import type { Level } from '../monitor/buckets.ts';

export interface CounterRow { level: Level; bucket: number; node: string; key: string; count: number }

export interface CounterRange { level: Level; from: number; to: number; node?: string }

const CHUNK = 200;

export class StatsRepo {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) { this.db = db; }

  /** Adds `rows` to the stored counts, all or none. */
  async add(rows: readonly CounterRow[]): Promise<void> {
    if (!rows.length) return;
    await this.db.transaction().execute(async (tx) => {
      for (let i = 0; i < rows.length; i += CHUNK) {
        await tx.insertInto('stats_counters').values(rows.slice(i, i + CHUNK).map((r) => ({ ...r })))
          .onConflict((oc) => oc.columns(['level', 'bucket', 'node', 'key']).doUpdateSet({ count: sql`stats_counters.count + excluded.count` }))
          .execute();
      }
    });
  }

  /** Sums per bucket and key, buckets in ascending order. */
  async byBucket(r: CounterRange): Promise<{ bucket: number; key: string; count: number }[]> {
    let q = this.db.selectFrom('stats_counters')
      .select(['bucket', 'key', (eb) => eb.fn.sum<number>('count').as('n')])
      .where('level', '=', r.level).where('bucket', '>=', r.from).where('bucket', '<', r.to);
    if (r.node) q = q.where('node', '=', r.node);
    const rows = await q.groupBy(['bucket', 'key']).orderBy('bucket').execute();
    return rows.map((x) => ({ bucket: Number(x.bucket), key: x.key, count: Number(x.n) }));
  }

  /** Sums per node and key over the range. */
  async byNode(r: CounterRange): Promise<{ node: string; key: string; count: number }[]> {
    let q = this.db.selectFrom('stats_counters')
      .select(['node', 'key', (eb) => eb.fn.sum<number>('count').as('n')])
      .where('level', '=', r.level).where('bucket', '>=', r.from).where('bucket', '<', r.to);
    if (r.node) q = q.where('node', '=', r.node);
    const rows = await q.groupBy(['node', 'key']).orderBy('node').execute();
    return rows.map((x) => ({ node: x.node, key: x.key, count: Number(x.n) }));
  }

  /** Nodes that have statistics at `level` since `from`. */
  async nodes(level: Level, from: number): Promise<string[]> {
    const rows = await this.db.selectFrom('stats_counters').select('node').distinct()
      .where('level', '=', level).where('bucket', '>=', from).orderBy('node').execute();
    return rows.map((r) => r.node);
  }

  /** Deletes the buckets of `level` that start before `before`; returns how many rows went. */
  async prune(level: Level, before: number): Promise<number> {
    const res = await this.db.deleteFrom('stats_counters').where('level', '=', level).where('bucket', '<', before).executeTakeFirst();
    return Number(res.numDeletedRows ?? 0);
  }

  /** Messages in a node's queue per state (the queue size gauge). */
  async queueStates(node: string): Promise<Record<QueueState, number>> {
    const rows = await this.db.selectFrom('queue_messages').select(['state', (eb) => eb.fn.countAll<number>().as('n')])
      .where('node', '=', node).groupBy('state').execute();
    const out: Record<QueueState, number> = { queued: 0, held: 0 };
    for (const r of rows) if (r.state in out) out[r.state] = Number(r.n);
    return out;
  }
}
