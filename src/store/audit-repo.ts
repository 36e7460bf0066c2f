/**
 * The audit trail (SPEC §6): every change made through the API, the CLI or by the system on someone's behalf:
 * time, actor, source (api | cli | system), client IP, action, target and before/after images (JSON, secrets
 * removed by the caller, src/events/redact.ts). Filters by actor, source, action, target and time; keyset paging
 * newest first. Filter values are validated by src/events/query.ts and bound as parameters.
 */
import type { Expression, ExpressionBuilder, Kysely, SqlBool } from 'kysely';
import type { Database } from './schema.ts';
import type { AuditEntry } from '../events/types.ts';
import { keysetPages, parsePage, toPage, type AuditFilter, type Page, type PageResult } from '../events/query.ts';

export interface AuditEvent {
  id: number;
  time: number;
  actor: string;
  source: AuditEntry['source'];
  ip: string | null;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
}

type EB = ExpressionBuilder<Database, 'audit_events'>;

function conditions(eb: EB, f: AuditFilter): Expression<SqlBool>[] {
  const c: Expression<SqlBool>[] = [];
  if (f.from !== undefined) c.push(eb('time', '>=', f.from));
  if (f.to !== undefined) c.push(eb('time', '<', f.to));
  if (f.actor !== undefined) c.push(eb('actor', '=', f.actor));
  if (f.source !== undefined) c.push(eb('source', '=', f.source));
  if (f.action !== undefined) c.push(eb('action', '=', f.action));
  if (f.target !== undefined) c.push(eb('target', '=', f.target));
  return c;
}

const json = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));

function fromRow(r: Database['audit_events'] & { id: number }): AuditEvent {
  return {
    id: Number(r.id), time: Number(r.time), actor: r.actor, source: r.source as AuditEntry['source'], ip: r.ip, action: r.action, target: r.target,
    before: r.before === null ? undefined : JSON.parse(r.before), after: r.after === null ? undefined : JSON.parse(r.after),
  };
}

export class AuditRepo {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) { this.db = db; }

  async insert(e: AuditEntry & { time: number }): Promise<number> {
    const { id } = await this.db.insertInto('audit_events').values({
      time: e.time, actor: e.actor.slice(0, 320), source: e.source, ip: e.ip, action: e.action.slice(0, 200), target: e.target.slice(0, 998),
      before: json(e.before), after: json(e.after),
    }).returning('id').executeTakeFirstOrThrow();
    return Number(id);
  }

  async list(f: AuditFilter = {}, page: Page = {}): Promise<PageResult<AuditEvent>> {
    const p = parsePage(page);
    const rows = await this.pageRows(f, p.limit + 1, p.cursor);
    return toPage(rows, p.limit, p.total ? await this.count(f) : undefined);
  }

  async count(f: AuditFilter = {}): Promise<number> {
    const r = await this.db.selectFrom('audit_events').select((eb) => eb.fn.countAll().as('n')).where((eb) => eb.and(conditions(eb, f))).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async get(id: number): Promise<AuditEvent | null> {
    if (!Number.isSafeInteger(id)) return null;
    const r = await this.db.selectFrom('audit_events').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? fromRow(r as never) : null;
  }

  async *pages(f: AuditFilter = {}, size = 1000, limit = Infinity): AsyncGenerator<AuditEvent[]> {
    yield* keysetPages((n, before) => this.pageRows(f, n, before), size, limit);
  }

  private async pageRows(f: AuditFilter, n: number, before?: number): Promise<AuditEvent[]> {
    const rows = await this.db.selectFrom('audit_events').selectAll().orderBy('id', 'desc').limit(n).where((eb) => {
      const cs = conditions(eb, f);
      if (before !== undefined) cs.push(eb('id', '<', before));
      return eb.and(cs);
    }).execute();
    return rows.map((r) => fromRow(r as never));
  }
}
