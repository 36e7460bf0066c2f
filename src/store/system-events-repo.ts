/**
 * System events (SPEC §6): typed events of the product itself (started/stopped, settings changed, databases,
 * Backup limits, nodes, logins…; catalogue in src/events/types.ts), with time, node, severity, a one-line message
 * and details (JSON). Filters by type, severity, node and time; keyset paging newest first. Filter values are
 * validated by src/events/query.ts and bound as parameters.
 */
import type { Expression, ExpressionBuilder, Kysely, SqlBool } from 'kysely';
import type { Database } from './schema.ts';
import type { Severity, SystemEventType } from '../events/types.ts';
import { keysetPages, parsePage, toPage, type Page, type PageResult, type SystemFilter } from '../events/query.ts';

export interface SystemEvent {
  id: number;
  time: number;
  node: string;
  type: SystemEventType;
  severity: Severity;
  message: string;
  details: Record<string, unknown> | null;
}

export interface NewSystemEvent { time: number; node: string; type: string; severity: string; message: string; details?: Record<string, unknown> | null }

type EB = ExpressionBuilder<Database, 'system_events'>;

function conditions(eb: EB, f: SystemFilter): Expression<SqlBool>[] {
  const c: Expression<SqlBool>[] = [];
  if (f.from !== undefined) c.push(eb('time', '>=', f.from));
  if (f.to !== undefined) c.push(eb('time', '<', f.to));
  if (f.type !== undefined) c.push(eb('type', '=', f.type));
  if (f.severity !== undefined) c.push(eb('severity', '=', f.severity));
  if (f.node !== undefined) c.push(eb('node', '=', f.node));
  return c;
}

function fromRow(r: Database['system_events'] & { id: number }): SystemEvent {
  return {
    id: Number(r.id), time: Number(r.time), node: r.node, type: r.type as SystemEventType, severity: r.severity as Severity, message: r.message,
    details: r.details === null ? null : JSON.parse(r.details),
  };
}

export class SystemEventsRepo {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) { this.db = db; }

  async insert(e: NewSystemEvent): Promise<number> {
    const { id } = await this.db.insertInto('system_events').values({
      time: e.time, node: e.node, type: e.type, severity: e.severity, message: e.message.slice(0, 2000),
      details: e.details == null ? null : JSON.stringify(e.details),
    }).returning('id').executeTakeFirstOrThrow();
    return Number(id);
  }

  async list(f: SystemFilter = {}, page: Page = {}): Promise<PageResult<SystemEvent>> {
    const p = parsePage(page);
    const rows = await this.pageRows(f, p.limit + 1, p.cursor);
    return toPage(rows, p.limit, p.total ? await this.count(f) : undefined);
  }

  async count(f: SystemFilter = {}): Promise<number> {
    const r = await this.db.selectFrom('system_events').select((eb) => eb.fn.countAll().as('n')).where((eb) => eb.and(conditions(eb, f))).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async get(id: number): Promise<SystemEvent | null> {
    if (!Number.isSafeInteger(id)) return null;
    const r = await this.db.selectFrom('system_events').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? fromRow(r as never) : null;
  }

  async *pages(f: SystemFilter = {}, size = 1000, limit = Infinity): AsyncGenerator<SystemEvent[]> {
    yield* keysetPages((n, before) => this.pageRows(f, n, before), size, limit);
  }

  private async pageRows(f: SystemFilter, n: number, before?: number): Promise<SystemEvent[]> {
    const rows = await this.db.selectFrom('system_events').selectAll().orderBy('id', 'desc').limit(n).where((eb) => {
      const cs = conditions(eb, f);
      if (before !== undefined) cs.push(eb('id', '<', before));
      return eb.and(cs);
    }).execute();
    return rows.map((r) => fromRow(r as never));
  }
}
