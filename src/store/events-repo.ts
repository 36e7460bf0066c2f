/**
 * Traffic events (SPEC §6): one row per message and rule group, written by disposition, with its recipients and
 * module statuses copied into child tables (migration 0009_events) so the event log's filters use indexes.
 * Read by the event log (filters, keyset paging newest first, detail, streamed export), SIEM, dashboard and
 * reports. Filter values are hostile (API query strings, CLI options): they are bound parameters, LIKE patterns
 * are escaped, and the caller validates them with src/events/query.ts first.
 */
import { type ExpressionBuilder, type Expression, type Kysely, type SqlBool, sql } from 'kysely';
import type { Database } from './schema.ts';
import { beforeClose } from './db.ts';
import type { TrafficEvent, TrafficSink } from '../disposition/intake.ts';
import { recipientKey } from './events-migration.ts';
import { likeEscape, keysetPages, parsePage, toPage, type Page, type PageResult, type TrafficFilter } from '../events/query.ts';

export interface StoredTrafficEvent extends TrafficEvent { id: number }

type Row = Database['traffic_events'] & { id: number };
type EB = ExpressionBuilder<Database, 'traffic_events'>;

function fromRow(r: Row): StoredTrafficEvent {
  return {
    id: Number(r.id), time: Number(r.time), node: r.node, queueId: r.queue_id, deliveredAs: r.delivered_as, messageId: r.message_id, clientIp: r.client_ip,
    helo: r.helo, sender: r.sender, recipients: JSON.parse(r.recipients), subject: r.subject, size: Number(r.size), rule: r.rule,
    action: r.action, backup: r.backup === 1, modules: JSON.parse(r.modules),
  };
}

/** The WHERE conditions of a filter (all must hold). */
function conditions(eb: EB, f: TrafficFilter): Expression<SqlBool>[] {
  const c: Expression<SqlBool>[] = [];
  if (f.from !== undefined) c.push(eb('time', '>=', f.from));
  if (f.to !== undefined) c.push(eb('time', '<', f.to));
  if (f.node !== undefined) c.push(eb('node', '=', f.node));
  if (f.queueId !== undefined) {
    const q = f.queueId.toUpperCase();
    c.push(eb.or([eb('queue_id', '=', q), eb('delivered_as', '=', q)]));
  }
  if (f.messageId !== undefined) {
    // Stored as in the header (`<id@host>`); the brackets may be left out.
    const m = f.messageId.replace(/^<|>$/g, '');
    c.push(eb.or([eb('message_id', '=', `<${m}>`), eb('message_id', '=', m)]));
  }
  if (f.clientIp !== undefined) c.push(eb('client_ip', '=', f.clientIp));
  if (f.sender !== undefined) {
    const s = f.sender.toLowerCase();
    c.push(s.startsWith('@') ? eb(sql`lower(sender)`, 'like', `%${likeEscape(s)}`) : eb(sql`lower(sender)`, '=', s));
  }
  if (f.recipient !== undefined) {
    const r = f.recipient.trim().toLowerCase();
    const sub = r.startsWith('@')
      ? eb.selectFrom('traffic_event_recipients').select('event_id').where('domain', '=', r.slice(1))
      : eb.selectFrom('traffic_event_recipients').select('event_id').where('address', '=', recipientKey(r).address);
    c.push(eb('id', 'in', sub));
  }
  if (f.subject !== undefined) c.push(eb(sql`lower(subject)`, 'like', sql`lower(${`%${likeEscape(f.subject)}%`}) escape '\\'`));
  if (f.rule !== undefined) c.push(eb('rule', '=', f.rule));
  if (f.action !== undefined) c.push(eb('action', '=', f.action));
  if (f.module !== undefined || f.status !== undefined) {
    let sub = eb.selectFrom('traffic_event_statuses').select('event_id');
    if (f.module !== undefined) sub = sub.where('module', '=', f.module);
    if (f.status !== undefined) sub = sub.where('status', '=', f.status);
    c.push(eb('id', 'in', sub));
  }
  if (f.backup !== undefined) c.push(eb('backup', '=', f.backup ? 1 : 0));
  return c;
}

/** Events written in one transaction at most (a burst beyond it takes several). */
const EVENT_BATCH = 200;

interface Waiting { e: TrafficEvent; resolve: (id: number) => void; reject: (err: unknown) => void; lazy: boolean }

/**
 * The writer of one store's traffic events, shared by every TrafficEventsRepo on that Kysely instance (so a
 * reader anywhere in the process can wait for what is still queued) and flushed by Store.close().
 */
class EventWriter {
  private readonly db: Kysely<Database>;
  private pending: Waiting[] = [];
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;

  constructor(db: Kysely<Database>) {
    this.db = db;
    beforeClose(db, () => this.flush());
  }

  get backlog(): number { return this.pending.length; }

  add(w: Waiting, lingerMs: number): void {
    this.pending.push(w);
    if (this.draining) return; // the running drain takes it
    if (!w.lazy || this.pending.length >= EVENT_BATCH) { this.start(); return; }
    this.timer ??= setTimeout(() => this.start(), lingerMs);
  }

  /** Resolves once every event queued so far is written (or has failed). */
  async flush(): Promise<void> {
    while (this.pending.length || this.draining) {
      if (!this.draining) this.start();
      await this.draining;
    }
  }

  private start(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    // An event handed over between the drain's last look and this callback would otherwise wait for the next one.
    this.draining ??= this.drain().finally(() => { this.draining = undefined; if (this.pending.length) this.start(); });
  }

  private async drain(): Promise<void> {
    // A drain started for an eager event (or a flush) takes every event waiting, lazy ones too.
    await new Promise<void>((r) => setImmediate(r));
    while (this.pending.length) {
      const batch = this.pending.splice(0, EVENT_BATCH);
      try {
        const ids = await this.insertBatch(batch.map((b) => b.e));
        batch.forEach((b, i) => b.resolve(ids[i]));
      } catch (err) {
        if (batch.length === 1) { batch[0].reject(err); continue; }
        for (const b of batch) await this.insertBatch([b.e]).then(([id]) => b.resolve(id), b.reject);
      }
    }
  }

  private insertBatch(events: TrafficEvent[]): Promise<number[]> {
    return this.db.transaction().execute(async (trx) => {
      const ids: number[] = [];
      const rcpts: Database['traffic_event_recipients'][] = [];
      const statuses: Database['traffic_event_statuses'][] = [];
      for (const e of events) {
        const { id } = await trx.insertInto('traffic_events').values({
          time: e.time, node: e.node, queue_id: e.queueId, delivered_as: e.deliveredAs, message_id: e.messageId, client_ip: e.clientIp,
          helo: e.helo.slice(0, 255), sender: e.sender, recipients: JSON.stringify(e.recipients), subject: e.subject.slice(0, 998), size: e.size,
          rule: e.rule, action: e.action, backup: e.backup ? 1 : 0, modules: JSON.stringify(e.modules),
        }).returning('id').executeTakeFirstOrThrow();
        const eventId = Number(id);
        ids.push(eventId);
        e.recipients.forEach((a, idx) => rcpts.push({ event_id: eventId, idx, ...recipientKey(a) }));
        for (const [module, m] of Object.entries(e.modules)) statuses.push({ event_id: eventId, module, status: m.status });
      }
      // At most 1,000 recipients per message by default (100,000 at most): sliced under SQLite's parameter limit.
      for (let i = 0; i < rcpts.length; i += 2000) await trx.insertInto('traffic_event_recipients').values(rcpts.slice(i, i + 2000)).execute();
      for (let i = 0; i < statuses.length; i += 2000) await trx.insertInto('traffic_event_statuses').values(statuses.slice(i, i + 2000)).execute();
      return ids;
    });
  }
}

const writers = new WeakMap<Kysely<Database>, EventWriter>();

export class TrafficEventsRepo implements TrafficSink {
  private readonly db: Kysely<Database>;
  private readonly writer: EventWriter;
  constructor(db: Kysely<Database>) {
    this.db = db;
    let w = writers.get(db);
    if (!w) writers.set(db, (w = new EventWriter(db)));
    this.writer = w;
  }

  /** Stores one event with its recipient and status rows; see insert. */
  async record(e: TrafficEvent): Promise<void> { await this.insert(e); }

  /**
   * Stores one event; resolves to its id once it is committed. Events that arrive while a write is running go
   * together into the next one (group commit: one transaction and one insert per child table for the whole
   * batch), so a busy node pays a commit per batch rather than per message. A batch that fails is retried one
   * event at a time, so one bad event does not take the others with it.
   *
   * `lingerMs` (write-behind, used by the event log for the SMTP path): the write may wait that long for more
   * events to join it. A busy gateway then commits a few dozen events at once instead of one or two, and each
   * index page is written once per batch rather than once per event (measured: the event write was the largest
   * cost scanning added to the SMTP thread). Every read below waits for queued events first, and so does
   * Store.close(), so a reader in this process never misses an event that was handed over.
   */
  insert(e: TrafficEvent, lingerMs = 0): Promise<number> {
    return new Promise<number>((resolve, reject) => this.writer.add({ e, resolve, reject, lazy: lingerMs > 0 }, lingerMs));
  }

  /** Events handed over and not yet written. */
  get backlog(): number { return this.writer.backlog; }

  /** Waits until every event handed over so far is written. */
  flush(): Promise<void> { return this.writer.flush(); }

  /** Newest first. */
  async recent(limit = 100, queueId?: string): Promise<TrafficEvent[]> {
    await this.flush();
    let q = this.db.selectFrom('traffic_events').selectAll().orderBy('id', 'desc').limit(limit);
    if (queueId) q = q.where('queue_id', '=', queueId);
    const rows = await q.execute();
    return rows.map((r) => { const { id: _id, ...e } = fromRow(r as Row); return e; });
  }

  /** Matching events, newest first (by id, i.e. by recording order), one page at a time. */
  async list(f: TrafficFilter = {}, page: Page = {}): Promise<PageResult<StoredTrafficEvent>> {
    const p = parsePage(page);
    const rows = await this.pageRows(f, p.limit + 1, p.cursor);
    const total = p.total ? await this.count(f) : undefined;
    return toPage(rows, p.limit, total);
  }

  async count(f: TrafficFilter = {}): Promise<number> {
    await this.flush();
    const cs = (eb: EB) => conditions(eb, f);
    let q = this.db.selectFrom('traffic_events').select((eb) => eb.fn.countAll().as('n'));
    q = q.where((eb) => eb.and(cs(eb)));
    return Number((await q.executeTakeFirstOrThrow()).n);
  }

  async get(id: number): Promise<StoredTrafficEvent | null> {
    if (!Number.isSafeInteger(id)) return null;
    await this.flush();
    const r = await this.db.selectFrom('traffic_events').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? fromRow(r as Row) : null;
  }

  /** Every match, newest first, in pages of `size` rows read by keyset (for streamed exports). */
  async *pages(f: TrafficFilter = {}, size = 1000, limit = Infinity): AsyncGenerator<StoredTrafficEvent[]> {
    yield* keysetPages((n, before) => this.pageRows(f, n, before), size, limit);
  }

  private async pageRows(f: TrafficFilter, n: number, before?: number): Promise<StoredTrafficEvent[]> {
    await this.flush();
    let q = this.db.selectFrom('traffic_events').selectAll().orderBy('id', 'desc').limit(n);
    q = q.where((eb) => {
      const cs = conditions(eb, f);
      if (before !== undefined) cs.push(eb('id', '<', before));
      return eb.and(cs);
    });
    return (await q.execute()).map((r) => fromRow(r as Row));
  }
}
