/**
 * The Backup digest (SPEC §5): once a day (setting `backup.digest.time`, default 01:00 local time) every
 * recipient address of a local domain that has items newer than its last digest gets one mail listing them
 * (date, sender, subject, status) with links to view or release each in the console's personal Backup, and a
 * one-click unsubscribe (RFC 8058: `List-Unsubscribe` with an https/http URL and `List-Unsubscribe-Post:
 * List-Unsubscribe=One-Click`). The link carries a signed token (token.ts); a GET on it must only show a page
 * with a button (link scanners prefetch), the POST unsubscribes — the HTTP route lives in the API and calls
 * verifyToken / unsubscribeByToken here.
 *
 * Cluster: every node runs the scheduler, and a run is claimed in the store first (compare-and-set on a row of
 * backup_digest_state), so one node sends each day's digests; the control-node election (SPEC §7) may later
 * take this over. Only addresses of local domains (settings mta.domains, local) get digests: Backup items of
 * outbound mail name outside recipients, who must not be mailed.
 *
 * Hostile input: subjects and senders shown in the digest are message data: escaped for HTML, stripped of
 * control characters for text. Digests are sent with the null envelope sender and `Auto-Submitted:
 * auto-generated` (RFC 3834), through the relay queue (not scanned again).
 */
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Logger } from '../platform/logger.ts';
import { systemClock, type Clock } from '../platform/clock.ts';
import type { Settings } from '../config/settings-schema.ts';
import type { BackupRepo } from '../store/backup-repo.ts';
import type { BackupQueue } from './service.ts';
import { addressSchema } from './service.ts';
import { checkToken, signToken, type TokenPayload } from './token.ts';
import { nextDaily } from './schedule.ts';

export const TOKEN_SECRET = 'backup-digest-token';
/** Paths under the console URL (the API/console implement them). */
export const UNSUBSCRIBE_PATH = '/api/v1/backup/unsubscribe';
export const PERSONAL_ITEM_PATH = '/personal/backup/';

const RUN_CLAIM = '*digest-run*';

export interface SecretSource { get(name: string): Promise<Buffer> }

export interface DigestDeps {
  repo: BackupRepo;
  settings: { snapshot(): Settings };
  queue?: BackupQueue;
  secrets: SecretSource;
  logger: Logger;
  clock?: Clock;
}

export interface DigestRunResult { sent: { address: string; items: number; queueId: string }[]; failed: { address: string; error: string }[]; skipped: number }

export type UnsubscribeResult =
  | { ok: true; address: string }
  | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' | 'used' };

const clean = (s: string, max = 200) => s.replace(/[\x00-\x1f\x7f]+/g, ' ').slice(0, max);
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A short status of an item: its non-clean module statuses, e.g. `antivirus: infected`. */
function statusLine(modules: Record<string, { status: string }>): string {
  const bad = Object.entries(modules).filter(([, v]) => !['clean', 'not_scanned', 'pass', 'none', 'trusted'].includes(v.status)).map(([m, v]) => `${m}: ${v.status}`);
  return bad.join(', ') || 'kept by rule';
}

export class DigestService {
  private readonly d: DigestDeps;
  private readonly clock: Clock;
  private timer: NodeJS.Timeout | undefined;
  private next: { at: number; time: string } | null = null;
  private running: Promise<DigestRunResult> | null = null;

  constructor(deps: DigestDeps) {
    this.d = deps;
    this.clock = deps.clock ?? systemClock;
  }

  private get s() { return this.d.settings.snapshot(); }

  consoleUrl(): string {
    const s = this.s;
    return (s.backup.digest.consoleUrl ?? `http://${s.mta.hostname}:8080`).replace(/\/+$/, '');
  }

  private fromAddress(): string {
    return this.s.backup.digest.from ?? `postmaster@${this.s.mta.hostname}`;
  }

  /** A fresh unsubscribe token for an address (its current version; valid `backup.digest.tokenDays`). */
  async tokenFor(address: string): Promise<string> {
    const a = addressSchema.parse(address);
    const st = await this.d.repo.digestState(a);
    return signToken(await this.d.secrets.get(TOKEN_SECRET), { address: a, version: st?.tokenVersion ?? 1, expires: this.clock.now() + this.s.backup.digest.tokenDays * 86_400_000 });
  }

  /** Checks a token without changing anything (the GET of the link shows the address and a button). */
  async verifyToken(token: unknown): Promise<{ ok: true; address: string } | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' | 'used' }> {
    const c = checkToken(await this.d.secrets.get(TOKEN_SECRET), token, this.clock.now());
    if (!c.ok) return c;
    if (!(await this.current(c.payload))) return { ok: false, reason: 'used' };
    return { ok: true, address: c.payload.address };
  }

  private async current(p: TokenPayload): Promise<boolean> {
    const st = await this.d.repo.digestState(p.address);
    return (st?.tokenVersion ?? 1) === p.version;
  }

  /** The one-click POST: unsubscribes the token's address; the token then no longer works. */
  async unsubscribeByToken(token: unknown): Promise<UnsubscribeResult> {
    const c = checkToken(await this.d.secrets.get(TOKEN_SECRET), token, this.clock.now());
    if (!c.ok) return c;
    if (!(await this.d.repo.bumpTokenVersion(c.payload.address, c.payload.version, this.clock.now()))) return { ok: false, reason: 'used' };
    this.d.logger.info({ address: c.payload.address }, 'backup digest unsubscribed');
    return { ok: true, address: c.payload.address };
  }

  /** Personal mode: (un)subscribe an address to the digest. */
  async setSubscribed(address: string, subscribed: boolean): Promise<void> {
    await this.d.repo.setDigestState(addressSchema.parse(address), { unsubscribed: !subscribed }, this.clock.now());
  }

  async subscribed(address: string): Promise<boolean> {
    return !(await this.d.repo.digestState(addressSchema.parse(address)))?.unsubscribed;
  }

  private isLocal(address: string): boolean {
    const domain = address.split('@').pop()!.toLowerCase();
    return this.s.mta.domains.some((d) => d.local && d.name === domain);
  }

  /** Sends the digests now (`moat backup digest --now`, and the scheduler). */
  run(): Promise<DigestRunResult> {
    this.running ??= this.runNow().finally(() => { this.running = null; });
    return this.running;
  }

  private async runNow(): Promise<DigestRunResult> {
    const result: DigestRunResult = { sent: [], failed: [], skipped: 0 };
    if (!this.d.queue) throw new Error('digests cannot be sent here (no relay queue)');
    const now = this.clock.now();
    const max = this.s.backup.digest.maxItems;
    for (const c of await this.d.repo.digestCandidates()) {
      if (c.address === RUN_CLAIM) continue;
      if (!this.isLocal(c.address) || !addressSchema.safeParse(c.address).success) { result.skipped++; continue; }
      try {
        const items = await this.d.repo.search({ personal: [c.address], from: c.since + 1, to: now + 1 }, max);
        if (!items.length) continue;
        const total = await this.d.repo.count({ personal: [c.address], from: c.since + 1, to: now + 1 });
        const mail = await this.compose(c.address, items.map((r) => ({ id: r.id, time: Number(r.time), sender: r.sender, subject: r.subject, status: statusLine(JSON.parse(r.modules)), threat: r.has_threat === 1 })), total);
        const qid = await this.d.queue.submitStream('', [c.address], mail);
        await this.d.repo.setDigestState(c.address, { lastDigestAt: now }, now);
        result.sent.push({ address: c.address, items: total, queueId: qid });
      } catch (err) {
        this.d.logger.error({ address: c.address, err: (err as Error).message }, 'backup digest not sent');
        result.failed.push({ address: c.address, error: (err as Error).message });
      }
    }
    this.d.logger.info({ sent: result.sent.length, failed: result.failed.length, skipped: result.skipped }, 'backup digest run');
    return result;
  }

  private async compose(address: string, items: { id: string; time: number; sender: string; subject: string; status: string; threat: boolean }[], total: number): Promise<Buffer> {
    const base = this.consoleUrl();
    const unsub = `${base}${UNSUBSCRIBE_PATH}?token=${await this.tokenFor(address)}`;
    const link = (id: string, action?: string) => `${base}${PERSONAL_ITEM_PATH}${id}${action ? `?action=${action}` : ''}`;
    const date = (t: number) => new Date(t).toISOString().replace('T', ' ').slice(0, 16);
    const more = total - items.length;
    const text = [
      `Backup digest for ${address}: ${total} new message(s) kept for you.`, '',
      ...items.flatMap((i) => [
        `${date(i.time)}  ${clean(i.sender || '<>', 100)}  ${clean(i.subject || '(no subject)')}`,
        `  status: ${i.status}`,
        `  view: ${link(i.id)}`,
        ...(i.threat ? [] : [`  release: ${link(i.id, 'deliver')}`]), '',
      ]),
      ...(more > 0 ? [`... and ${more} more in your personal Backup: ${base}${PERSONAL_ITEM_PATH}`, ''] : []),
      `Unsubscribe from these digests: ${unsub}`, '',
    ].join('\n');
    const rows = items.map((i) => `<tr><td>${esc(date(i.time))}</td><td>${esc(clean(i.sender || '<>', 100))}</td><td>${esc(clean(i.subject || '(no subject)'))}</td><td>${esc(i.status)}</td>` +
      `<td><a href="${esc(link(i.id))}">view</a>${i.threat ? '' : ` | <a href="${esc(link(i.id, 'deliver'))}">release</a>`}</td></tr>`).join('\n');
    const html = `<!doctype html><html><body><p>Backup digest for ${esc(address)}: ${total} new message(s) kept for you.</p>\n` +
      `<table border="1" cellpadding="4" cellspacing="0"><tr><th>Date (UTC)</th><th>Sender</th><th>Subject</th><th>Status</th><th></th></tr>\n${rows}\n</table>\n` +
      (more > 0 ? `<p>... and ${more} more in <a href="${esc(`${base}${PERSONAL_ITEM_PATH}`)}">your personal Backup</a>.</p>\n` : '') +
      `<p><a href="${esc(unsub)}">Unsubscribe from these digests</a></p></body></html>\n`;
    const composer = new MailComposer({
      from: this.fromAddress(), to: address, subject: `Backup digest: ${total} new message(s)`, text, html,
      headers: { 'List-Unsubscribe': `<${unsub}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click', 'Auto-Submitted': 'auto-generated' },
    });
    return new Promise<Buffer>((resolve, reject) => composer.compile().build((err, b) => (err ? reject(err) : resolve(b))));
  }

  // ---- scheduler --------------------------------------------------------------------------------------------

  /** Checks every `checkMs` whether the daily time has come; the run is claimed in the store (one node sends). */
  start(checkMs = 30_000): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick().catch((err) => this.d.logger.error({ err: (err as Error).message }, 'backup digest scheduler failed')), checkMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One scheduler step (exposed for tests): runs the digest when its time has come and this node wins the claim. */
  async tick(): Promise<DigestRunResult | null> {
    const s = this.s.backup.digest;
    const now = this.clock.now();
    if (!this.next || this.next.time !== s.time) this.next = { at: nextDaily(now, s.time), time: s.time };
    if (!s.enabled || now < this.next.at) return null;
    const slot = this.next.at;
    this.next = { at: nextDaily(now, s.time), time: s.time };
    if (!(await this.claim(slot))) return null;
    return this.run();
  }

  private async claim(slot: number): Promise<boolean> {
    const db = this.d.repo.db;
    await db.insertInto('backup_digest_state').values({ address: RUN_CLAIM, last_digest_at: 0, unsubscribed: 1, token_version: 0, updated_at: 0 })
      .onConflict((oc) => oc.column('address').doNothing()).execute();
    const r = await db.updateTable('backup_digest_state').set({ last_digest_at: slot, updated_at: this.clock.now() })
      .where('address', '=', RUN_CLAIM).where('last_digest_at', '<', slot).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}
