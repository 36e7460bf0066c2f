/**
 * Backup storage (SPEC §5; migration 0008_backup): contents in chunks, items with their recipients and module
 * statuses, history, and the digest's per-address state. One SQL for SQLite and PostgreSQL; the service layer
 * (src/backup/service.ts) holds the rules, this file only reads and writes.
 *
 * Hostile input: filter values reach SQL only as bound parameters; LIKE patterns are escaped (`\` as escape).
 * Search is newest first, `time` then `id` descending, with offset or keyset paging.
 */
import { sql, type Kysely, type SelectQueryBuilder, type Expression, type SqlBool, type ExpressionBuilder } from 'kysely';
import type { BackupItemTable, Database } from './schema.ts';

export interface ItemRow extends BackupItemTable { recipients: string[] }

export interface NewBackupItem {
  row: BackupItemTable;
  recipients: string[];
  statuses: { module: string; status: string }[];
}

/** A filter as the repo applies it: lower-cased, times as numbers (see backup/types.ts for the public shape). */
export interface RepoFilter {
  module?: string;
  status?: string;
  sender?: string;
  recipient?: string;
  clientIp?: string;
  subject?: string;
  from?: number;
  to?: number;
  rule?: string;
  action?: string;
  threat?: string;
  queueId?: string;
  messageId?: string;
  /** Personal Backup: only items with one of these recipients. */
  personal?: string[];
  /** Keyset: items strictly older than (time, id). */
  before?: { time: number; id: string };
  /** Keyset paging, oldest first: items after this (time, id). */
  after?: { time: number; id: string };
  /** Items received before this time (retention). */
  olderThan?: number;
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);
/** A mask with `*` (and `?`) as a LIKE pattern; other LIKE characters are literal. */
const maskToLike = (s: string) => escapeLike(s).replace(/\*/g, '%').replace(/\?/g, '_');
const like = (col: string, pattern: string) => sql<SqlBool>`${sql.ref(col)} like ${pattern} escape '\\'`;

type ItemsQuery = SelectQueryBuilder<Database, 'backup_items', object>;

export class BackupRepo {
  readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) { this.db = db; }

  // ---- contents ---------------------------------------------------------------------------------------------

  async createContent(id: string, encrypted: boolean, keyId: string | null, now: number): Promise<void> {
    await this.db.insertInto('backup_contents').values({ id, size: 0, chunks: 0, encrypted: encrypted ? 1 : 0, key_id: keyId, complete: 0, created_at: now }).execute();
  }

  async addChunk(contentId: string, seq: number, data: Buffer): Promise<void> {
    await this.db.insertInto('backup_chunks').values({ content_id: contentId, seq, data }).execute();
  }

  async completeContent(id: string, size: number, chunks: number): Promise<void> {
    await this.db.updateTable('backup_contents').set({ size, chunks, complete: 1 }).where('id', '=', id).execute();
  }

  async content(id: string) {
    return this.db.selectFrom('backup_contents').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async chunk(contentId: string, seq: number): Promise<Uint8Array | undefined> {
    return (await this.db.selectFrom('backup_chunks').select('data').where('content_id', '=', contentId).where('seq', '=', seq).executeTakeFirst())?.data;
  }

  /** Removes contents (and their chunks) that no item references any more, among `ids`. */
  async dropOrphanContents(ids: string[]): Promise<number> {
    let n = 0;
    for (const id of new Set(ids)) {
      const used = await this.db.selectFrom('backup_items').select('id').where('content_id', '=', id).limit(1).executeTakeFirst();
      if (used) continue;
      await this.db.deleteFrom('backup_chunks').where('content_id', '=', id).execute();
      n += Number((await this.db.deleteFrom('backup_contents').where('id', '=', id).executeTakeFirst()).numDeletedRows);
    }
    return n;
  }

  /** Contents left half-written or without items (a crash or a failed item insert), created before `before`. */
  async strayContents(before: number, limit = 500): Promise<string[]> {
    const rows = await this.db.selectFrom('backup_contents as c').select('c.id')
      .where('c.created_at', '<', before)
      .where((eb) => eb.or([eb('c.complete', '=', 0), eb.not(eb.exists(eb.selectFrom('backup_items as i').select('i.id').whereRef('i.content_id', '=', 'c.id')))]))
      .limit(limit).execute();
    return rows.map((r) => r.id);
  }

  async totalSize(): Promise<number> {
    const r = await this.db.selectFrom('backup_contents').select((eb) => eb.fn.coalesce(eb.fn.sum<number>('size'), sql<number>`0`).as('total')).executeTakeFirst();
    return Number(r?.total ?? 0);
  }

  /** The oldest complete contents first, with their size. */
  async oldestContents(limit: number): Promise<{ id: string; size: number }[]> {
    const rows = await this.db.selectFrom('backup_contents').select(['id', 'size']).where('complete', '=', 1).orderBy('created_at').orderBy('id').limit(limit).execute();
    return rows.map((r) => ({ id: r.id, size: Number(r.size) }));
  }

  // ---- items ------------------------------------------------------------------------------------------------

  async insertItem(item: NewBackupItem, history: { actor: string; action: string; details: string }): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('backup_items').values(item.row).execute();
      const rcpts = [...new Set(item.recipients.map((r) => r.toLowerCase()))];
      if (rcpts.length) await trx.insertInto('backup_recipients').values(rcpts.map((address) => ({ item_id: item.row.id, address, time: item.row.time }))).execute();
      if (item.statuses.length) await trx.insertInto('backup_statuses').values(item.statuses.map((s) => ({ item_id: item.row.id, module: s.module, status: s.status, time: item.row.time }))).execute();
      await trx.insertInto('backup_history').values({ item_id: item.row.id, time: item.row.time, ...history }).execute();
    });
  }

  /**
   * The filtered items. With module+status the query is driven by backup_statuses (module, status, time): its
   * index gives the newest matches first and the count from the index alone (an IN over a status that a third of
   * the items have took 300 ms at 100,000 items; the join takes a few).
   */
  private filtered(f: RepoFilter): ItemsQuery {
    const byStatus = !!(f.module && f.status);
    let q = (byStatus
      ? this.db.selectFrom('backup_statuses as bs').innerJoin('backup_items', 'backup_items.id', 'bs.item_id').where('bs.module', '=', f.module!).where('bs.status', '=', f.status!)
      : this.db.selectFrom('backup_items')) as unknown as ItemsQuery;
    const ref = (c: string) => sql.ref(byStatus ? `bs.${c === 'id' ? 'item_id' : c}` : `backup_items.${c}`);
    q = q.where((eb: ExpressionBuilder<Database, 'backup_items'>) => {
      const conds: Expression<SqlBool>[] = [];
      if (f.personal) {
        conds.push(f.personal.length
          ? eb('backup_items.id', 'in', eb.selectFrom('backup_recipients').select('item_id').where('address', 'in', f.personal))
          : sql<SqlBool>`1 = 0`);
      }
      if (f.recipient) {
        const sub = f.recipient.includes('*') || f.recipient.includes('?')
          ? eb.selectFrom('backup_recipients').select('item_id').where(like('address', maskToLike(f.recipient)))
          : eb.selectFrom('backup_recipients').select('item_id').where('address', '=', f.recipient);
        conds.push(eb('backup_items.id', 'in', sub));
      }
      if (f.sender) {
        conds.push(f.sender.includes('*') || f.sender.includes('?') ? like('backup_items.sender_lc', maskToLike(f.sender)) : eb('backup_items.sender_lc', '=', f.sender));
      }
      if (f.clientIp) conds.push(eb('backup_items.client_ip', '=', f.clientIp));
      if (f.subject) conds.push(like('backup_items.subject_lc', `%${escapeLike(f.subject)}%`));
      if (f.threat) conds.push(like('backup_items.threats_lc', `%${escapeLike(f.threat)}%`));
      if (f.from !== undefined) conds.push(eb('backup_items.time', '>=', f.from));
      if (f.to !== undefined) conds.push(eb('backup_items.time', '<', f.to));
      if (f.olderThan !== undefined) conds.push(eb('backup_items.time', '<', f.olderThan));
      if (f.rule) conds.push(eb('backup_items.rule', '=', f.rule));
      if (f.action) conds.push(eb('backup_items.action', '=', f.action));
      if (f.queueId) conds.push(eb.or([eb('backup_items.queue_id', '=', f.queueId), eb('backup_items.delivered_as', '=', f.queueId)]));
      if (f.messageId) conds.push(eb('backup_items.message_id', '=', f.messageId));
      if (f.before) {
        const b = f.before;
        conds.push(sql<SqlBool>`(${ref('time')} < ${b.time} or (${ref('time')} = ${b.time} and ${ref('id')} < ${b.id}))`);
      }
      if (f.after) {
        const a = f.after;
        conds.push(sql<SqlBool>`(${ref('time')} > ${a.time} or (${ref('time')} = ${a.time} and ${ref('id')} > ${a.id}))`);
      }
      return eb.and(conds);
    });
    return q;
  }

  /** Newest-first order of filtered(): by the driving table's time and id. */
  private order(f: RepoFilter): [string, string] {
    return f.module && f.status ? ['bs.time', 'bs.item_id'] : ['backup_items.time', 'backup_items.id'];
  }

  async count(f: RepoFilter): Promise<number> {
    const onlyStatus = f.module && f.status && Object.entries(f).every(([k, v]) => v === undefined || k === 'module' || k === 'status');
    const r = onlyStatus
      ? await this.db.selectFrom('backup_statuses').select((eb) => eb.fn.countAll<number>().as('n')).where('module', '=', f.module!).where('status', '=', f.status!).executeTakeFirst()
      : await this.filtered(f).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** Newest first (or oldest first). */
  async search(f: RepoFilter, limit: number, offset = 0, oldest = false): Promise<ItemRow[]> {
    const [t, i] = this.order(f);
    const dir = oldest ? 'asc' : 'desc';
    const rows = await this.filtered(f).selectAll('backup_items').orderBy(sql.ref(t), dir).orderBy(sql.ref(i), dir).limit(limit).offset(offset).execute();
    return this.withRecipients(rows as BackupItemTable[]);
  }

  /** Ids only, newest first (bulk operations). */
  async ids(f: RepoFilter, limit: number): Promise<string[]> {
    const [t, i] = this.order(f);
    const rows = await this.filtered(f).select('backup_items.id').orderBy(sql.ref(t), 'desc').orderBy(sql.ref(i), 'desc').limit(limit).execute();
    return rows.map((r) => (r as { id: string }).id);
  }

  async get(id: string, personal?: string[]): Promise<ItemRow | undefined> {
    const rows = await this.filtered({ personal }).selectAll('backup_items').where('backup_items.id', '=', id).execute();
    return (await this.withRecipients(rows as BackupItemTable[]))[0];
  }

  private async withRecipients(rows: BackupItemTable[]): Promise<ItemRow[]> {
    if (!rows.length) return [];
    const rc = await this.db.selectFrom('backup_recipients').select(['item_id', 'address']).where('item_id', 'in', rows.map((r) => r.id)).orderBy('address').execute();
    const by = new Map<string, string[]>();
    for (const r of rc) by.set(r.item_id, [...(by.get(r.item_id) ?? []), r.address]);
    return rows.map((r) => ({ ...r, time: Number(r.time), size: Number(r.size), recipients: by.get(r.id) ?? [] }));
  }

  /** Deletes items (with recipients and statuses) and the contents no item uses any more; returns items deleted. */
  async deleteItems(ids: string[]): Promise<number> {
    if (!ids.length) return 0;
    let n = 0;
    const contents: string[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const batch = ids.slice(i, i + 500);
      await this.db.transaction().execute(async (trx) => {
        contents.push(...(await trx.selectFrom('backup_items').select('content_id').where('id', 'in', batch).execute()).map((r) => r.content_id));
        await trx.deleteFrom('backup_recipients').where('item_id', 'in', batch).execute();
        await trx.deleteFrom('backup_statuses').where('item_id', 'in', batch).execute();
        n += Number((await trx.deleteFrom('backup_items').where('id', 'in', batch).executeTakeFirst()).numDeletedRows);
      });
    }
    await this.dropOrphanContents(contents);
    return n;
  }

  /** Items using a content (eviction). */
  async itemsOfContents(contentIds: string[]): Promise<string[]> {
    if (!contentIds.length) return [];
    return (await this.db.selectFrom('backup_items').select('id').where('content_id', 'in', contentIds).execute()).map((r) => r.id);
  }

  /** Removes one recipient from an item; deletes the item when none is left. Returns the recipients left. */
  async removeRecipients(id: string, addresses: string[]): Promise<number> {
    await this.db.deleteFrom('backup_recipients').where('item_id', '=', id).where('address', 'in', addresses).execute();
    const left = await this.db.selectFrom('backup_recipients').select((eb) => eb.fn.countAll<number>().as('n')).where('item_id', '=', id).executeTakeFirst();
    const n = Number(left?.n ?? 0);
    if (!n) await this.deleteItems([id]);
    return n;
  }

  // ---- history ----------------------------------------------------------------------------------------------

  async addHistory(itemIds: string[], time: number, actor: string, action: string, details: Record<string, unknown>): Promise<void> {
    if (!itemIds.length) return;
    const d = JSON.stringify(details);
    for (let i = 0; i < itemIds.length; i += 500) {
      await this.db.insertInto('backup_history').values(itemIds.slice(i, i + 500).map((item_id) => ({ item_id, time, actor, action, details: d }))).execute();
    }
  }

  async history(itemId: string) {
    const rows = await this.db.selectFrom('backup_history').select(['time', 'actor', 'action', 'details']).where('item_id', '=', itemId).orderBy('id').execute();
    return rows.map((r) => ({ time: Number(r.time), actor: r.actor, action: r.action, details: JSON.parse(r.details) as Record<string, unknown> }));
  }

  /** History of items gone for longer than the retention (the history of a deleted item outlives it that long). */
  async pruneHistory(before: number): Promise<void> {
    await this.db.deleteFrom('backup_history').where('time', '<', before)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('backup_items').select('id').whereRef('backup_items.id', '=', 'backup_history.item_id')))).execute();
  }

  // ---- digest -----------------------------------------------------------------------------------------------

  /** Addresses with items newer than their last digest (not unsubscribed), with the count of new items. */
  async digestCandidates(): Promise<{ address: string; since: number; count: number }[]> {
    const rows = await this.db.selectFrom('backup_recipients as r')
      .leftJoin('backup_digest_state as s', 's.address', 'r.address')
      .select(['r.address', (eb) => eb.fn.coalesce('s.last_digest_at', sql<number>`0`).as('since'), (eb) => eb.fn.countAll<number>().as('n')])
      .where((eb) => eb.or([eb('s.unsubscribed', 'is', null), eb('s.unsubscribed', '=', 0)]))
      .where((eb) => eb('r.time', '>', eb.fn.coalesce('s.last_digest_at', sql<number>`0`)))
      .groupBy(['r.address', 's.last_digest_at'])
      .execute();
    return rows.map((r) => ({ address: r.address, since: Number(r.since), count: Number(r.n) }));
  }

  async digestState(address: string) {
    const r = await this.db.selectFrom('backup_digest_state').selectAll().where('address', '=', address).executeTakeFirst();
    return r ? { lastDigestAt: Number(r.last_digest_at), unsubscribed: r.unsubscribed === 1, tokenVersion: Number(r.token_version) } : null;
  }

  async setDigestState(address: string, s: { lastDigestAt?: number; unsubscribed?: boolean; tokenVersion?: number }, now: number): Promise<void> {
    const cur = await this.digestState(address);
    const next = { last_digest_at: s.lastDigestAt ?? cur?.lastDigestAt ?? 0, unsubscribed: (s.unsubscribed ?? cur?.unsubscribed ?? false) ? 1 : 0, token_version: s.tokenVersion ?? cur?.tokenVersion ?? 1, updated_at: now };
    await this.db.insertInto('backup_digest_state').values({ address, ...next })
      .onConflict((oc) => oc.column('address').doUpdateSet(next)).execute();
  }

  /** Compare-and-set of the token version (one-time unsubscribe links): true when this call changed it. */
  async bumpTokenVersion(address: string, expected: number, now: number): Promise<boolean> {
    const cur = await this.digestState(address);
    if ((cur?.tokenVersion ?? 1) !== expected) return false;
    if (!cur) {
      const r = await this.db.insertInto('backup_digest_state').values({ address, last_digest_at: 0, unsubscribed: 1, token_version: expected + 1, updated_at: now })
        .onConflict((oc) => oc.column('address').doNothing()).executeTakeFirst();
      if (Number(r.numInsertedOrUpdatedRows ?? 0) === 1) return true;
      return false;
    }
    const r = await this.db.updateTable('backup_digest_state').set({ unsubscribed: 1, token_version: expected + 1, updated_at: now })
      .where('address', '=', address).where('token_version', '=', expected).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}
