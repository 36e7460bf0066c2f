/**
 * The queue index: one row per queued message and one per recipient, with per-recipient state. The spool file
 * holds the bytes and a copy of the envelope, so a row lost in a crash is rebuilt from the file at start; a file
 * is removed only after its row says every recipient is final.
 *
 * Every query names the node: each node has its own spool, and in a cluster they share this table.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, QueueState, RecipientState } from './schema.ts';

export interface NewQueuedMessage {
  id: string;
  node: string;
  sender: string;
  recipients: string[];
  clientIp: string;
  helo: string;
  messageId: string | null;
  receivedAt: number;
  size: number;
  expiresAt: number;
  isBounce: boolean;
  nextAttemptAt: number;
  state?: QueueState;
  /** Header edits to apply when sending (JSON-serialisable). */
  edits?: unknown;
}

export interface QueuedRecipient {
  idx: number;
  address: string;
  state: RecipientState;
  attempts: number;
  lastResponse: string | null;
}

export interface QueuedMessage {
  id: string;
  node: string;
  sender: string;
  clientIp: string;
  helo: string;
  messageId: string | null;
  receivedAt: number;
  size: number;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  state: QueueState;
  isBounce: boolean;
  expiresAt: number;
  edits: unknown;
  recipients: QueuedRecipient[];
}

export interface QueueFilter {
  node?: string;
  id?: string;
  /** Substring of the envelope sender (case-insensitive). */
  sender?: string;
  /** Substring of any recipient address (case-insensitive). */
  recipient?: string;
  state?: QueueState;
  receivedAfter?: number;
  receivedBefore?: number;
  minSize?: number;
  maxSize?: number;
  minAttempts?: number;
  /** Substring of the last error. */
  error?: string;
  limit?: number;
  offset?: number;
}

export interface RecipientUpdate {
  idx: number;
  state: RecipientState;
  response: string;
}

type Row = Database['queue_messages'];

function toMessage(r: Row, recipients: QueuedRecipient[]): QueuedMessage {
  return {
    id: r.id, node: r.node, sender: r.sender, clientIp: r.client_ip, helo: r.helo, messageId: r.message_id,
    receivedAt: Number(r.received_at), size: Number(r.size), attempts: r.attempts, nextAttemptAt: Number(r.next_attempt_at),
    lastError: r.last_error, state: r.state, isBounce: r.is_bounce === 1, expiresAt: Number(r.expires_at),
    edits: r.edits ? JSON.parse(r.edits) : null, recipients,
  };
}

function likePattern(s: string): string {
  return `%${s.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Case-insensitive substring match. ESCAPE is explicit: SQLite's LIKE has no default escape character, so
 *  without it a filter containing `_` or `%` (e.g. `no_reply`) matched nothing there. */
function ilike(column: 'sender' | 'address' | 'last_error', text: string) {
  return sql<boolean>`lower(${sql.ref(column)}) like ${likePattern(text)} escape '\\'`;
}

/**
 * Gathers calls made in the same tick into one unit of work (one transaction, one statement), so concurrent
 * SMTP sessions share a commit instead of paying one each.
 */
class Batcher<T> {
  private pending: { item: T; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;
  private readonly run: (items: T[]) => Promise<void>;
  constructor(run: (items: T[]) => Promise<void>) { this.run = run; }

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (!this.scheduled) { this.scheduled = true; setImmediate(() => this.flush()); }
    });
  }

  private flush(): void {
    const batch = this.pending.splice(0, 500);
    this.scheduled = this.pending.length > 0;
    if (this.scheduled) setImmediate(() => this.flush());
    this.run(batch.map((b) => b.item)).then(() => batch.forEach((b) => b.resolve()), (err) => {
      if (batch.length === 1) return batch[0].reject(err);
      // One bad item must not fail the others that shared its transaction: each is tried alone.
      for (const b of batch) this.run([b.item]).then(b.resolve, b.reject);
    });
  }
}

export class QueueRepo {
  private readonly db: Kysely<Database>;
  /** New messages and finished ones, written together: one transaction (one commit) per tick. */
  private readonly writes: Batcher<{ insert: NewQueuedMessage[] } | { forget: string }>;

  constructor(db: Kysely<Database>) {
    this.db = db;
    this.writes = new Batcher((items) => this.db.transaction().execute(async (tx) => {
      const forget: string[] = [];
      for (const it of items) {
        if ('forget' in it) forget.push(it.forget);
        else for (const m of it.insert) await this.insertOne(tx, m);
      }
      for (let i = 0; i < forget.length; i += 500) await tx.deleteFrom('queue_messages').where('id', 'in', forget.slice(i, i + 500)).execute();
    }));
  }

  /** Inserts messages with their recipients, all or none; calls in the same tick share one transaction. */
  async insert(msgs: NewQueuedMessage[]): Promise<void> {
    if (msgs.length) await this.writes.add({ insert: msgs });
  }

  private async insertOne(tx: Transaction<Database>, m: NewQueuedMessage): Promise<void> {
    await tx.insertInto('queue_messages').values({
      id: m.id, node: m.node, sender: m.sender, client_ip: m.clientIp, helo: m.helo, message_id: m.messageId,
      received_at: m.receivedAt, size: m.size, attempts: 0, next_attempt_at: m.nextAttemptAt, last_error: null,
      state: m.state ?? 'queued', is_bounce: m.isBounce ? 1 : 0, expires_at: m.expiresAt, edits: m.edits ? JSON.stringify(m.edits) : null,
    }).execute();
    // One statement per chunk of recipients keeps the bound-parameter count under SQLite's limit.
    for (let i = 0; i < m.recipients.length; i += 100) {
      await tx.insertInto('queue_recipients').values(m.recipients.slice(i, i + 100).map((address, j) => ({
        message_id: m.id, idx: i + j, address, state: 'pending' as const, attempts: 0, last_response: null, updated_at: m.receivedAt,
      }))).execute();
    }
  }

  async get(id: string): Promise<QueuedMessage | undefined> {
    const row = await this.db.selectFrom('queue_messages').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const rcpts = await this.db.selectFrom('queue_recipients').selectAll().where('message_id', '=', id).orderBy('idx').execute();
    return toMessage(row, rcpts.map((r) => ({ idx: r.idx, address: r.address, state: r.state, attempts: r.attempts, lastResponse: r.last_response })));
  }

  async list(f: QueueFilter = {}): Promise<QueuedMessage[]> {
    let q = this.db.selectFrom('queue_messages').selectAll();
    if (f.node) q = q.where('node', '=', f.node);
    if (f.id) q = q.where('id', '=', f.id);
    if (f.state) q = q.where('state', '=', f.state);
    if (f.sender) q = q.where(ilike('sender', f.sender));
    if (f.recipient) {
      const recipient = f.recipient;
      q = q.where('id', 'in', (eb) => eb.selectFrom('queue_recipients').select('message_id').where(ilike('address', recipient)));
    }
    if (f.receivedAfter !== undefined) q = q.where('received_at', '>=', f.receivedAfter);
    if (f.receivedBefore !== undefined) q = q.where('received_at', '<', f.receivedBefore);
    if (f.minSize !== undefined) q = q.where('size', '>=', f.minSize);
    if (f.maxSize !== undefined) q = q.where('size', '<=', f.maxSize);
    if (f.minAttempts !== undefined) q = q.where('attempts', '>=', f.minAttempts);
    if (f.error) q = q.where(ilike('last_error', f.error));
    const rows = await q.orderBy('received_at').orderBy('id').limit(f.limit ?? 1000).offset(f.offset ?? 0).execute();
    if (!rows.length) return [];
    const ids = rows.map((r) => r.id);
    const rcpts = await this.db.selectFrom('queue_recipients').selectAll().where('message_id', 'in', ids).orderBy('message_id').orderBy('idx').execute();
    const byMsg = new Map<string, QueuedRecipient[]>();
    for (const r of rcpts) {
      let list = byMsg.get(r.message_id);
      if (!list) byMsg.set(r.message_id, (list = []));
      list.push({ idx: r.idx, address: r.address, state: r.state, attempts: r.attempts, lastResponse: r.last_response });
    }
    return rows.map((r) => toMessage(r, byMsg.get(r.id) ?? []));
  }

  async count(node?: string): Promise<number> {
    let q = this.db.selectFrom('queue_messages').select((eb) => eb.fn.countAll().as('n'));
    if (node) q = q.where('node', '=', node);
    const row = await q.executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Ids of this node's queued messages whose next attempt is due, oldest first. */
  async due(node: string, now: number, limit: number): Promise<string[]> {
    const rows = await this.db.selectFrom('queue_messages').select('id')
      .where('node', '=', node).where('state', '=', 'queued').where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at').limit(limit).execute();
    return rows.map((r) => r.id);
  }

  /** Earliest next attempt among this node's queued messages, or undefined when none waits. */
  async nextDueAt(node: string): Promise<number | undefined> {
    const row = await this.db.selectFrom('queue_messages').select((eb) => eb.fn.min('next_attempt_at').as('t'))
      .where('node', '=', node).where('state', '=', 'queued').executeTakeFirst();
    return row?.t == null ? undefined : Number(row.t);
  }

  async ids(node: string): Promise<string[]> {
    const rows = await this.db.selectFrom('queue_messages').select('id').where('node', '=', node).execute();
    return rows.map((r) => r.id);
  }

  /**
   * Records one delivery attempt: each recipient's new state and reply, the attempt count, the next attempt time
   * and the last error. Returns false when the message is no longer queued (deleted meanwhile).
   */
  async recordAttempt(id: string, updates: RecipientUpdate[], nextAttemptAt: number, lastError: string | null, now: number): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const res = await tx.updateTable('queue_messages')
        .set((eb) => ({ attempts: eb('attempts', '+', 1), next_attempt_at: nextAttemptAt, last_error: lastError }))
        .where('id', '=', id).executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return false;
      for (const u of updates) {
        await tx.updateTable('queue_recipients')
          .set((eb) => ({ state: u.state, last_response: u.response.slice(0, 1000), attempts: eb('attempts', '+', 1), updated_at: now }))
          .where('message_id', '=', id).where('idx', '=', u.idx).execute();
      }
      return true;
    });
  }

  /** Removes a message and its recipients; returns whether it existed. */
  async remove(id: string): Promise<boolean> {
    const res = await this.db.deleteFrom('queue_messages').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** Removes a finished message; calls in the same tick share one statement. */
  async forget(id: string): Promise<void> {
    await this.writes.add({ forget: id });
  }

  /** Makes messages due now (all of a node's when `id` is omitted); held ones stay held. Returns how many. */
  async retryNow(node: string, now: number, id?: string): Promise<number> {
    let q = this.db.updateTable('queue_messages').set({ next_attempt_at: now }).where('node', '=', node).where('state', '=', 'queued');
    if (id) q = q.where('id', '=', id);
    const res = await q.executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  async setState(node: string, id: string, state: QueueState, now: number): Promise<boolean> {
    const res = await this.db.updateTable('queue_messages').set({ state, next_attempt_at: now })
      .where('node', '=', node).where('id', '=', id).executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }
}
