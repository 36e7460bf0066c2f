/**
 * The Backup service (SPEC §5): keeps originals for disposition (the BackupSink), and every operation the API,
 * the console and the CLI need: search, get, view, history, deliver, download, delete (single, bulk, by filter),
 * their personal variants for end users, and the sweep (retention by age, the size cap with oldest-first eviction,
 * half-written contents).
 *
 * Isolation of the personal Backup: every personal method takes the user's addresses and reads the item through
 * a query restricted to items with one of those addresses as a recipient; an id outside that set is "not found",
 * exactly as an id that does not exist, whatever the operation.
 *
 * Failure: keeping an original never throws into the mail flow; a failure is logged and recorded as the system
 * event `backup.write_failed`. Eviction records `backup.limit_reached` when it starts, at most once an hour.
 *
 * Hostile input: search inputs and addresses are validated with zod (types.ts); the message bytes are only parsed
 * for the view (view.ts), with a size cap. Limits: settings `backup.*` (src/backup/settings.ts).
 */
import type { Readable } from 'node:stream';
import { z } from 'zod';
import type { Logger } from '../platform/logger.ts';
import { systemClock, type Clock } from '../platform/clock.ts';
import { newQueueId } from '../platform/ids.ts';
import type { Settings } from '../config/settings-schema.ts';
import type { SystemEventSink } from '../events/types.ts';
import { MODULES, type Finding } from '../scan/types.ts';
import type { BackupRepo, ItemRow, RepoFilter } from '../store/backup-repo.ts';
import { readContent, readContentPrefix, writeContent } from './content.ts';
import { parseForView } from './view.ts';
import {
  THREAT_STATUSES, backupFilterSchema, backupSearchSchema, BackupForbiddenError, BackupNotFoundError,
  type BackupFilter, type BackupGroupInput, type BackupItem, type BackupKeepInput, type BackupKeeping, type BackupSearchInput,
  type BackupSearchResult, type BackupSink, type BackupView, type HistoryEntry, type ModuleStatus,
} from './types.ts';

/** The relay queue as the Backup uses it (QueueManager.submitStream: queued for delivery, not scanned again). */
export interface BackupQueue {
  submitStream(sender: string, recipients: string[], content: Buffer | NodeJS.ReadableStream): Promise<string>;
}

export interface BackupServiceDeps {
  repo: BackupRepo;
  settings: { snapshot(): Settings };
  node: string;
  /** Encryption key at rest (bootstrap `backupKey`), or null. */
  key: Buffer | null;
  logger: Logger;
  /** Needed by deliver; absent → deliver refuses. */
  queue?: BackupQueue;
  clock?: Clock;
  events?: SystemEventSink;
}

export const addressSchema = z.string().trim().toLowerCase().max(320).regex(/^[^\s@<>"]{1,64}@[^\s@<>"]{1,255}$/, 'not a mail address');
export const addressesSchema = z.array(addressSchema).min(1).max(100);

const LIMIT_EVENT_EVERY = 3_600_000;
const STRAY_AGE = 3_600_000;

export interface DeliverResult { queueIds: string[]; recipients: string[] }
export interface DownloadResult { stream: Readable; filename: string; size: number }

function itemOf(r: ItemRow): BackupItem {
  return {
    id: r.id, time: Number(r.time), node: r.node, queueId: r.queue_id, deliveredAs: r.delivered_as, messageId: r.message_id, clientIp: r.client_ip,
    helo: r.helo, sender: r.sender, recipients: r.recipients, subject: r.subject, size: Number(r.size), rule: r.rule, action: r.action, reason: r.reason,
    threats: JSON.parse(r.threats) as string[], hasThreat: r.has_threat === 1, modules: JSON.parse(r.modules) as Record<string, ModuleStatus>, encrypted: r.encrypted === 1,
  };
}

/** Every module's status in the traffic event's shape (not run = not_scanned/disabled). */
export function moduleStatuses(findings: Finding[]): Record<string, ModuleStatus> {
  const out: Record<string, ModuleStatus> = {};
  for (const m of MODULES) out[m] = { status: 'not_scanned', reason: 'disabled' };
  for (const f of findings) {
    out[f.module] = { status: f.status, ...(f.reason ? { reason: f.reason } : {}), detections: f.detections.map((d) => ({ status: d.status, name: d.name, ...(d.part ? { part: d.part } : {}) })) };
  }
  return out;
}

export function isThreat(modules: Record<string, ModuleStatus>): boolean {
  return Object.entries(THREAT_STATUSES).some(([m, st]) => st.includes(modules[m]?.status ?? ''));
}

/** Threat names: detections of antivirus, links, antiphishing and content that are not clean. */
export function threatNames(findings: Finding[]): string[] {
  const names = new Set<string>();
  for (const f of findings) {
    if (!['antivirus', 'links', 'antiphishing', 'content'].includes(f.module)) continue;
    for (const d of f.detections) if (d.name && d.status !== 'clean') names.add(d.name.slice(0, 300));
  }
  return [...names].slice(0, 50);
}

export class BackupService implements BackupSink {
  private readonly d: BackupServiceDeps;
  private readonly clock: Clock;
  private estimate: { total: number; at: number } | null = null;
  private evicting: Promise<void> | null = null;
  private lastLimitEvent = 0;

  constructor(deps: BackupServiceDeps) {
    this.d = deps;
    this.clock = deps.clock ?? systemClock;
  }

  private get s() { return this.d.settings.snapshot().backup; }

  private async systemEvent(type: 'backup.write_failed' | 'backup.limit_reached' | 'backup.evicted', severity: 'warning' | 'error' | 'info', message: string, details: Record<string, unknown>) {
    if (!this.d.events) return;
    await this.d.events.system({ type, severity, message, details, node: this.d.node }).catch((err) => this.d.logger.error({ err: (err as Error).message, type }, 'system event not recorded'));
  }

  // ---- keeping originals (disposition) ----------------------------------------------------------------------

  async keep(m: BackupKeepInput): Promise<BackupKeeping | null> {
    const qid = m.envelope.id;
    if (!this.s.enabled) return null;
    let content: { id: string; size: number; encrypted: boolean };
    try {
      content = await writeContent(this.d.repo, m.open() as AsyncIterable<Buffer>, this.d.key, this.clock.now());
    } catch (err) {
      await this.writeFailed(qid, err);
      return null;
    }
    return {
      item: async (g: BackupGroupInput) => {
        try {
          await this.insertItem(m, content, g);
          await this.checkCap();
        } catch (err) {
          await this.writeFailed(qid, err);
        }
      },
    };
  }

  private async writeFailed(qid: string, err: unknown): Promise<void> {
    this.d.logger.error({ qid, err: (err as Error).message }, 'backup copy not stored; the message goes on unchanged');
    await this.systemEvent('backup.write_failed', 'error', `Backup copy of ${qid} could not be stored`, { queueId: qid, error: (err as Error).message });
  }

  private async insertItem(m: BackupKeepInput, content: { id: string; size: number; encrypted: boolean }, g: BackupGroupInput): Promise<string> {
    const now = this.clock.now();
    const modules = moduleStatuses(g.findings);
    const threats = threatNames(g.findings);
    const reason = [...new Set(g.verdict.fired.filter((f) => f.backup).map((f) => `${f.module}:${f.status}`))].join(', ') || (g.verdict.escalated ? `escalated:${g.verdict.escalated}` : 'rule');
    const id = newQueueId(now);
    const subject = g.subject.slice(0, 998);
    await this.d.repo.insertItem({
      row: {
        id, content_id: content.id, time: now, node: this.d.node, queue_id: m.envelope.id, delivered_as: g.deliveredAs, message_id: g.messageId?.slice(0, 998) ?? null,
        client_ip: m.envelope.clientIp, helo: m.envelope.helo.slice(0, 255), sender: m.envelope.sender, sender_lc: m.envelope.sender.toLowerCase(),
        subject, subject_lc: subject.toLowerCase(), size: m.size, rule: g.verdict.ruleName, action: g.verdict.action, reason,
        threats: JSON.stringify(threats), threats_lc: threats.join('\n').toLowerCase(), has_threat: isThreat(modules) ? 1 : 0,
        modules: JSON.stringify(modules), encrypted: content.encrypted ? 1 : 0,
      },
      recipients: g.recipients,
      statuses: Object.entries(modules).filter(([, v]) => v.status !== 'not_scanned' || v.reason !== 'disabled').map(([module, v]) => ({ module, status: v.status })),
    }, { actor: 'system', action: 'stored', details: JSON.stringify({ reason, action: g.verdict.action, deliveredAs: g.deliveredAs }) });
    if (this.estimate) this.estimate.total += content.size;
    this.d.logger.info({ qid: m.envelope.id, backup: id, rule: g.verdict.ruleName, reason }, 'backup copy kept');
    return id;
  }

  // ---- cap, retention, sweep ---------------------------------------------------------------------------------

  /** Cheap after each insert: an estimate of the total (re-read at most once a minute) against the cap. */
  private async checkCap(): Promise<void> {
    const now = this.clock.now();
    if (!this.estimate || now - this.estimate.at > 60_000) this.estimate = { total: await this.d.repo.totalSize(), at: now };
    if (this.estimate.total > this.s.maxSize) await this.enforceCap();
  }

  /** Evicts the oldest contents (with their items) until the total is under the cap. Returns items evicted. */
  async enforceCap(): Promise<number> {
    let evicted = 0;
    while (this.evicting) await this.evicting;
    const run = (async () => {
      const cap = this.s.maxSize;
      let total = await this.d.repo.totalSize();
      if (total <= cap) { this.estimate = { total, at: this.clock.now() }; return; }
      const start = total;
      while (total > cap) {
        const oldest = await this.d.repo.oldestContents(100);
        if (!oldest.length) break;
        const pick: string[] = [];
        for (const c of oldest) { if (total <= cap) break; pick.push(c.id); total -= c.size; }
        const items = await this.d.repo.itemsOfContents(pick);
        evicted += await this.d.repo.deleteItems(items);
        await this.d.repo.dropOrphanContents(pick);
      }
      total = await this.d.repo.totalSize();
      this.estimate = { total, at: this.clock.now() };
      this.d.logger.warn({ evicted, before: start, after: total, cap }, 'backup size cap reached: oldest items evicted');
      const now = this.clock.now();
      if (now - this.lastLimitEvent >= LIMIT_EVENT_EVERY) {
        this.lastLimitEvent = now;
        await this.systemEvent('backup.limit_reached', 'warning', `Backup reached its size cap (${cap} bytes); the oldest items are being evicted`, { cap, total: start });
      }
      await this.systemEvent('backup.evicted', 'info', `${evicted} Backup item(s) evicted by the size cap`, { evicted, cap, total });
    })();
    this.evicting = run;
    try { await run; } finally { this.evicting = null; }
    return evicted;
  }

  /** Retention by age, the cap, and contents left half-written or without items. */
  async sweep(): Promise<{ expired: number; evicted: number; strays: number }> {
    const now = this.clock.now();
    const cutoff = now - this.s.retentionDays * 86_400_000;
    let expired = 0;
    for (;;) {
      const ids = await this.d.repo.ids({ olderThan: cutoff }, 500);
      if (!ids.length) break;
      expired += await this.d.repo.deleteItems(ids);
    }
    await this.d.repo.pruneHistory(cutoff);
    const strays = await this.d.repo.dropOrphanContents(await this.d.repo.strayContents(now - STRAY_AGE));
    const evicted = await this.enforceCap();
    if (expired || strays) this.d.logger.info({ expired, strays, retentionDays: this.s.retentionDays }, 'backup sweep');
    return { expired, evicted, strays };
  }

  // ---- search and reading -----------------------------------------------------------------------------------

  private repoFilter(f: z.output<typeof backupFilterSchema>): RepoFilter {
    return {
      ...f,
      sender: f.sender?.toLowerCase(), recipient: f.recipient?.toLowerCase(), subject: f.subject?.toLowerCase(), threat: f.threat?.toLowerCase(),
      queueId: f.queueId?.toUpperCase(), from: f.from as number | undefined, to: f.to as number | undefined,
    };
  }

  private async searchWith(input: BackupSearchInput, personal?: string[]): Promise<BackupSearchResult> {
    const q = backupSearchSchema.parse(input);
    const f: RepoFilter = { ...this.repoFilter(q.filter), ...(personal ? { personal } : {}) };
    const oldest = q.order === 'oldest';
    const at = q.cursor ? { time: Number(q.cursor.split(':')[0]), id: q.cursor.split(':')[1] } : undefined;
    const page: RepoFilter = at ? { ...f, ...(oldest ? { after: at } : { before: at }) } : f;
    const [rows, total] = await Promise.all([
      this.d.repo.search(page, q.limit + 1, q.cursor ? 0 : q.offset, oldest),
      q.count ? this.d.repo.count(f) : Promise.resolve(null),
    ]);
    const more = rows.length > q.limit;
    const items = rows.slice(0, q.limit).map(itemOf);
    const last = items.at(-1);
    return { items, total, nextCursor: more && last ? `${last.time}:${last.id}` : null };
  }

  /** Admin search: filters, newest (or oldest) first, offset or keyset paging, total count. */
  search(input: BackupSearchInput = {}): Promise<BackupSearchResult> { return this.searchWith(input); }

  private async row(id: string, personal?: string[]): Promise<ItemRow> {
    if (typeof id !== 'string' || !/^[0-9A-Za-z]{16}$/.test(id)) throw new BackupNotFoundError(String(id).slice(0, 40));
    const r = await this.d.repo.get(id.toUpperCase(), personal);
    if (!r) throw new BackupNotFoundError(id);
    return r;
  }

  async get(id: string): Promise<{ item: BackupItem; history: HistoryEntry[] }> {
    const r = await this.row(id);
    return { item: itemOf(r), history: await this.d.repo.history(r.id) };
  }

  async history(id: string): Promise<HistoryEntry[]> {
    return this.d.repo.history((await this.row(id)).id);
  }

  private async viewOf(r: ItemRow, actor: string): Promise<BackupView> {
    const limit = this.s.viewLimit;
    const { data, truncated } = await readContentPrefix(this.d.repo, r.content_id, this.d.key, limit, `Backup item ${r.id}`);
    const parsed = await parseForView(data);
    await this.d.repo.addHistory([r.id], this.clock.now(), actor, 'viewed', {});
    return { item: itemOf(r), ...parsed, truncated, parsedBytes: data.length };
  }

  /** Headers, text, sanitised HTML, attachments (first `backup.viewLimit` bytes). */
  async view(id: string, actor = 'system'): Promise<BackupView> { return this.viewOf(await this.row(id), actor); }

  /** The original message (.eml) as stored. */
  async download(id: string, actor = 'system'): Promise<DownloadResult> {
    const r = await this.row(id);
    return this.downloadOf(r, actor);
  }

  private async downloadOf(r: ItemRow, actor: string): Promise<DownloadResult> {
    const stream = await readContent(this.d.repo, r.content_id, this.d.key, `Backup item ${r.id}`);
    await this.d.repo.addHistory([r.id], this.clock.now(), actor, 'downloaded', {});
    const c = await this.d.repo.content(r.content_id);
    return { stream, filename: `${r.id}.eml`, size: Number(c?.size ?? r.size) };
  }

  // ---- deliver ----------------------------------------------------------------------------------------------

  /** Queues the original for delivery (not scanned again) to the item's recipients or to `to`. */
  async deliver(id: string, opts: { to?: string[]; actor?: string } = {}): Promise<DeliverResult> {
    const r = await this.row(id);
    const to = opts.to?.length ? addressesSchema.parse(opts.to) : r.recipients;
    return this.deliverOf(r, to, opts.actor ?? 'system');
  }

  private async deliverOf(r: ItemRow, to: string[], actor: string): Promise<DeliverResult> {
    if (!this.d.queue) throw new Error('delivery is not available here (no relay queue)');
    if (!to.length) throw new BackupForbiddenError(`Backup item ${r.id} has no recipients left to deliver to`);
    const stream = await readContent(this.d.repo, r.content_id, this.d.key, `Backup item ${r.id}`);
    const qid = await this.d.queue.submitStream(r.sender, to, stream);
    await this.d.repo.addHistory([r.id], this.clock.now(), actor, 'delivered', { queueId: qid, recipients: to });
    this.d.logger.info({ backup: r.id, queuedAs: qid, rcpts: to.length, actor }, 'backup item delivered');
    return { queueIds: [qid], recipients: to };
  }

  // ---- delete -----------------------------------------------------------------------------------------------

  /** Deletes items by id; unknown ids are skipped. Returns the number deleted. */
  async delete(ids: string[], actor = 'system'): Promise<number> {
    const valid = [...new Set(ids.filter((i) => typeof i === 'string' && /^[0-9A-Za-z]{16}$/.test(i)).map((i) => i.toUpperCase()))];
    if (!valid.length) return 0;
    await this.d.repo.addHistory(valid, this.clock.now(), actor, 'deleted', {});
    return this.d.repo.deleteItems(valid);
  }

  /** Deletes every item matching a filter (bulk); an empty filter is refused (use `all: true`). */
  async deleteWhere(filter: BackupFilter, actor = 'system', opts: { all?: boolean } = {}): Promise<number> {
    const f = this.repoFilter(backupFilterSchema.parse(filter));
    if (!opts.all && !Object.values(f).some((v) => v !== undefined)) throw new BackupForbiddenError('refusing to delete the whole Backup without all: true');
    let n = 0;
    for (;;) {
      const ids = await this.d.repo.ids(f, 500);
      if (!ids.length) break;
      await this.d.repo.addHistory(ids, this.clock.now(), actor, 'deleted', { bulk: true });
      const done = await this.d.repo.deleteItems(ids);
      n += done;
      if (!done) break;
    }
    return n;
  }

  // ---- personal Backup --------------------------------------------------------------------------------------

  private personal(addresses: string[]): string[] {
    return [...new Set(addressesSchema.parse(addresses))];
  }

  /** The user's items only (one of `addresses` is a recipient). */
  async searchPersonal(addresses: string[], input: BackupSearchInput = {}): Promise<BackupSearchResult> {
    return this.searchWith(input, this.personal(addresses));
  }

  async getPersonal(addresses: string[], id: string): Promise<{ item: BackupItem; history: HistoryEntry[] }> {
    const mine = this.personal(addresses);
    const r = await this.row(id, mine);
    const item = itemOf(r);
    // Other recipients of the item are not the user's business.
    item.recipients = item.recipients.filter((a) => mine.includes(a));
    const history = (await this.d.repo.history(r.id)).filter((h) => h.actor === 'system' || mine.some((a) => h.actor === `personal:${a}`))
      .map((h) => (h.action === 'delivered' ? { ...h, details: { queueId: h.details.queueId } } : h));
    return { item, history };
  }

  /** What end users may do in their personal Backup (setting backup.personal), for the console to offer. */
  personalOptions(): { preview: boolean; delete: boolean; deliverToSelf: boolean } {
    const { preview, delete: del, deliverToSelf } = this.s.personal;
    return { preview, delete: del, deliverToSelf };
  }

  async viewPersonal(addresses: string[], id: string): Promise<BackupView> {
    const mine = this.personal(addresses);
    const r = await this.row(id, mine);
    if (!this.s.personal.preview) throw new BackupForbiddenError('preview is turned off for the personal Backup');
    const v = await this.viewOf(r, `personal:${mine[0]}`);
    v.item.recipients = v.item.recipients.filter((a) => mine.includes(a));
    return v;
  }

  async downloadPersonal(addresses: string[], id: string): Promise<DownloadResult> {
    const mine = this.personal(addresses);
    const r = await this.row(id, mine);
    if (!this.s.personal.preview) throw new BackupForbiddenError('preview is turned off for the personal Backup');
    if (r.has_threat === 1) throw new BackupForbiddenError('items with threats cannot be downloaded from the personal Backup');
    return this.downloadOf(r, `personal:${mine[0]}`);
  }

  /** Removes the user's addresses from the item (their copy); the item goes when no recipient is left. */
  async deletePersonal(addresses: string[], id: string): Promise<{ removed: string[]; itemDeleted: boolean }> {
    const mine = this.personal(addresses);
    const r = await this.row(id, mine);
    if (!this.s.personal.delete) throw new BackupForbiddenError('deleting is turned off for the personal Backup');
    const removed = r.recipients.filter((a) => mine.includes(a));
    await this.d.repo.addHistory([r.id], this.clock.now(), `personal:${removed[0]}`, 'recipient_removed', { recipients: removed });
    const left = await this.d.repo.removeRecipients(r.id, removed);
    return { removed, itemDeleted: left === 0 };
  }

  /** Delivers the item to the user's own addresses among its recipients; only items without threats. */
  async deliverPersonal(addresses: string[], id: string): Promise<DeliverResult> {
    const mine = this.personal(addresses);
    const r = await this.row(id, mine);
    if (!this.s.personal.deliverToSelf) throw new BackupForbiddenError('delivering is turned off for the personal Backup');
    if (r.has_threat === 1) throw new BackupForbiddenError('items with threats can only be delivered by an administrator');
    const to = r.recipients.filter((a) => mine.includes(a));
    return this.deliverOf(r, to, `personal:${to[0]}`);
  }
}
