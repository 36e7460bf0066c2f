/**
 * The anti-spam module's cluster-wide state (SPEC §3.3, §4), in the shared store so every node sees the same:
 *   - personal allow/deny lists per recipient (sender masks, `re:`, IPs; at most 500 entries per recipient);
 *   - sender reputation: spam/ham verdict counts per key (client IP, network, sender domain);
 *   - body fingerprints: recipients per fingerprint key and hour, for "the same body seen for many recipients";
 *   - learned examples (moat learn, feedback): the classifier's feature vectors, with guards against poisoning
 *     (a limit per source and day; neither class may outgrow the other beyond a ratio).
 * Hostile input: owners, patterns and fingerprint keys come from messages or operators; they are bound
 * parameters, capped in length, and patterns are validated like rule criteria (policy/match.ts).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { criterionProblem } from '../policy/index.ts';

export const MAX_LIST_ENTRIES = 500;
export type ListKind = 'allow' | 'deny';
export interface ListEntry { id: number; owner: string; kind: ListKind; pattern: string; createdAt: number }

export class ListError extends Error {}

export interface Counts { spam: number; ham: number }

export interface LearnGuards {
  /** Examples one source may add per 24 hours. */
  perSourceDaily: number;
  /** Over the last 7 days, one class may hold at most ratio × the other class + slack examples. */
  maxClassRatio: number;
  slack: number;
}

export const DEFAULT_LEARN_GUARDS: Readonly<LearnGuards> = Object.freeze({ perSourceDaily: 500, maxClassRatio: 3, slack: 50 });

export type LearnOutcome = { ok: true; id: number } | { ok: false; reason: 'duplicate' | 'source_limit' | 'class_balance'; detail: string };

const DAY = 86_400_000;
const HOUR = 3_600_000;

export class AntispamRepo {
  private readonly db: Kysely<Database>;
  /** With `batchVerdicts` (ms), verdict counts wait in memory that long and are written together (a busy node). */
  private readonly batchMs: number;
  private pendingVerdicts = new Map<string, { spam: number; ham: number; at: number }>();
  private flushTimer: NodeJS.Timeout | null = null;
  constructor(db: Kysely<Database>, opts: { batchVerdicts?: number } = {}) { this.db = db; this.batchMs = opts.batchVerdicts ?? 0; }

  // ---- personal lists ----

  async addListEntry(owner: string, kind: ListKind, pattern: string, now = Date.now()): Promise<ListEntry> {
    const o = owner.trim().toLowerCase();
    const p = pattern.trim();
    if (!o || o.length > 320 || /\s/.test(o)) throw new ListError(`invalid owner address: ${JSON.stringify(owner)}`);
    const problem = criterionProblem(p, 'sender');
    if (problem) throw new ListError(`invalid sender pattern ${JSON.stringify(pattern)}: ${problem}`);
    return this.db.transaction().execute(async (tx) => {
      const { n } = await tx.selectFrom('personal_lists').select((eb) => eb.fn.countAll<number>().as('n')).where('owner', '=', o).executeTakeFirstOrThrow();
      if (Number(n) >= MAX_LIST_ENTRIES) throw new ListError(`${o} already has ${MAX_LIST_ENTRIES} list entries (the most allowed)`);
      const existing = await tx.selectFrom('personal_lists').selectAll().where('owner', '=', o).where('kind', '=', kind).where('pattern', '=', p).executeTakeFirst();
      if (existing) return toEntry(existing);
      const r = await tx.insertInto('personal_lists').values({ owner: o, kind, pattern: p, created_at: now }).returning('id').executeTakeFirstOrThrow();
      return { id: r.id, owner: o, kind, pattern: p, createdAt: now };
    });
  }

  async removeListEntry(owner: string, kind: ListKind, pattern: string): Promise<boolean> {
    const r = await this.db.deleteFrom('personal_lists').where('owner', '=', owner.trim().toLowerCase()).where('kind', '=', kind).where('pattern', '=', pattern.trim()).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async listEntries(owner?: string): Promise<ListEntry[]> {
    let q = this.db.selectFrom('personal_lists').selectAll().orderBy('owner').orderBy('kind').orderBy('pattern');
    if (owner) q = q.where('owner', '=', owner.trim().toLowerCase());
    return (await q.execute()).map(toEntry);
  }

  /** Entries of each of `owners` (lowercased addresses) that has any, in one query. */
  async entriesFor(owners: readonly string[]): Promise<Map<string, ListEntry[]>> {
    const out = new Map<string, ListEntry[]>();
    const wanted = [...new Set(owners.map((o) => o.toLowerCase()))];
    if (!wanted.length) return out;
    const rows = await this.db.selectFrom('personal_lists').selectAll().where('owner', 'in', wanted).execute();
    for (const r of rows) {
      const list = out.get(r.owner) ?? [];
      list.push(toEntry(r));
      out.set(r.owner, list);
    }
    return out;
  }

  // ---- reputation ----

  async reputation(keys: readonly string[]): Promise<Map<string, Counts>> {
    const out = new Map<string, Counts>();
    if (!keys.length) return out;
    const rows = await this.db.selectFrom('antispam_reputation').select(['key', 'spam', 'ham']).where('key', 'in', [...new Set(keys)]).execute();
    for (const r of rows) out.set(r.key, { spam: Number(r.spam), ham: Number(r.ham) });
    // Counts of this node not written yet.
    for (const k of keys) {
      const p = this.pendingVerdicts.get(k);
      if (!p) continue;
      const c = out.get(k) ?? { spam: 0, ham: 0 };
      out.set(k, { spam: c.spam + p.spam, ham: c.ham + p.ham });
    }
    return out;
  }

  /**
   * Counts one verdict for each key. Batched (constructor option), it only adds to the counts in memory: they
   * are written every `batchVerdicts` ms in one statement, and by flush() (the node calls it when it stops);
   * a crash loses at most that interval of reputation counts, never mail.
   */
  async countVerdict(keys: readonly string[], verdict: 'spam' | 'ham', now = Date.now()): Promise<void> {
    const spam = verdict === 'spam' ? 1 : 0;
    const ham = 1 - spam;
    if (!this.batchMs) return this.writeVerdicts([...new Set(keys)].map((key) => ({ key, spam, ham, updated_at: now })));
    for (const key of new Set(keys)) {
      const p = this.pendingVerdicts.get(key);
      if (p) { p.spam += spam; p.ham += ham; p.at = now; } else this.pendingVerdicts.set(key, { spam, ham, at: now });
    }
    if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => { void this.flush().catch(() => { /* kept for the next flush */ }); }, this.batchMs);
      this.flushTimer.unref();
    }
  }

  /** Writes the batched verdict counts (on failure they stay pending for the next flush). */
  async flush(): Promise<void> {
    if (this.flushTimer) { clearTimeout(this.flushTimer); this.flushTimer = null; }
    if (!this.pendingVerdicts.size) return;
    const batch = this.pendingVerdicts;
    this.pendingVerdicts = new Map();
    const rows = [...batch].map(([key, c]) => ({ key, spam: c.spam, ham: c.ham, updated_at: c.at }));
    try {
      for (let i = 0; i < rows.length; i += 2000) await this.writeVerdicts(rows.slice(i, i + 2000));
    } catch (err) {
      for (const [key, c] of batch) {
        const p = this.pendingVerdicts.get(key);
        if (p) { p.spam += c.spam; p.ham += c.ham; } else this.pendingVerdicts.set(key, c);
      }
      throw err;
    }
  }

  private async writeVerdicts(rows: { key: string; spam: number; ham: number; updated_at: number }[]): Promise<void> {
    if (!rows.length) return;
    await this.db.insertInto('antispam_reputation').values(rows)
      .onConflict((oc) => oc.column('key').doUpdateSet({
        spam: sql`antispam_reputation.spam + excluded.spam`, ham: sql`antispam_reputation.ham + excluded.ham`, updated_at: sql`excluded.updated_at`,
      }))
      .execute();
  }

  // ---- bulk fingerprints ----

  /**
   * Adds `recipients` to each key's count for the current hour and returns, over the keys, the largest number
   * of recipients seen within `windowMs` (this message included).
   */
  async countFingerprint(keys: readonly string[], recipients: number, windowMs: number, now = Date.now()): Promise<number> {
    const uniq = [...new Set(keys)].filter((k) => k.length > 0 && k.length <= 64).slice(0, 16);
    if (!uniq.length) return 0;
    const bucket = Math.floor(now / HOUR) * HOUR;
    await this.db.insertInto('antispam_fingerprints').values(uniq.map((key) => ({ key, bucket, count: recipients })))
      .onConflict((oc) => oc.columns(['key', 'bucket']).doUpdateSet({ count: sql`antispam_fingerprints.count + excluded.count` }))
      .execute();
    const rows = await this.db.selectFrom('antispam_fingerprints').select(['key', (eb) => eb.fn.sum<number>('count').as('n')])
      .where('key', 'in', uniq).where('bucket', '>=', now - windowMs).groupBy('key').execute();
    return rows.reduce((m, r) => Math.max(m, Number(r.n)), 0);
  }

  /** Forgets fingerprint counts older than `windowMs`. */
  async pruneFingerprints(windowMs: number, now = Date.now()): Promise<number> {
    const r = await this.db.deleteFrom('antispam_fingerprints').where('bucket', '<', now - windowMs - HOUR).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  // ---- learned examples ----

  async learn(ex: { label: 'spam' | 'ham'; source: string; digest: string; features: Uint32Array }, guards: LearnGuards = DEFAULT_LEARN_GUARDS, now = Date.now()): Promise<LearnOutcome> {
    return this.db.transaction().execute(async (tx) => {
      const dup = await tx.selectFrom('antispam_learned').select(['id', 'label']).where('digest', '=', ex.digest).executeTakeFirst();
      if (dup) return { ok: false, reason: 'duplicate', detail: `already learned as ${dup.label} (#${dup.id})` };
      const { n } = await tx.selectFrom('antispam_learned').select((eb) => eb.fn.countAll<number>().as('n'))
        .where('source', '=', ex.source).where('created_at', '>', now - DAY).executeTakeFirstOrThrow();
      if (Number(n) >= guards.perSourceDaily) return { ok: false, reason: 'source_limit', detail: `${ex.source} learned ${Number(n)} messages in the last 24 hours (limit ${guards.perSourceDaily})` };
      const counts = await tx.selectFrom('antispam_learned').select(['label', (eb) => eb.fn.countAll<number>().as('n')])
        .where('created_at', '>', now - 7 * DAY).groupBy('label').execute();
      const mine = Number(counts.find((c) => c.label === ex.label)?.n ?? 0);
      const other = Number(counts.find((c) => c.label !== ex.label)?.n ?? 0);
      if (mine + 1 > guards.maxClassRatio * other + guards.slack) {
        return { ok: false, reason: 'class_balance', detail: `${mine} ${ex.label} vs ${other} of the other class in 7 days: learn some of the other class first` };
      }
      const features = Buffer.from(ex.features.buffer, ex.features.byteOffset, ex.features.byteLength).toString('base64');
      const r = await tx.insertInto('antispam_learned').values({ label: ex.label, source: ex.source, digest: ex.digest, features, created_at: now }).returning('id').executeTakeFirstOrThrow();
      return { ok: true, id: r.id };
    });
  }

  /** Learned examples after `afterId`, oldest first (nodes apply them in this order). */
  async learnedSince(afterId: number, limit = 1000): Promise<{ id: number; label: 'spam' | 'ham'; features: Uint32Array }[]> {
    const rows = await this.db.selectFrom('antispam_learned').select(['id', 'label', 'features']).where('id', '>', afterId).orderBy('id').limit(limit).execute();
    return rows.map((r) => {
      const b = Buffer.from(r.features, 'base64');
      const copy = new Uint8Array(b.byteLength - (b.byteLength % 4));
      copy.set(b.subarray(0, copy.byteLength));
      return { id: r.id, label: r.label, features: new Uint32Array(copy.buffer) };
    });
  }
}

function toEntry(r: { id: number; owner: string; kind: string; pattern: string; created_at: number }): ListEntry {
  return { id: r.id, owner: r.owner, kind: r.kind as ListKind, pattern: r.pattern, createdAt: Number(r.created_at) };
}
