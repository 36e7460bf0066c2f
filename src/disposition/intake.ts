/**
 * The scanning intake: between "on disk" and "queued" (DESIGN.md flow). SMTP hands it a durable message in
 * spool/received/; it finds the rule of every recipient (policy/), scans the message once in the worker pool
 * for all the modules those rules enable, decides per rule group, and carries the verdicts out:
 *   - all groups `reject` while the client still waits → `550 5.7.1` (generic text), nothing queued;
 *   - `delete` → dropped silently (the client gets 250);
 *   - `skip` / `delete_attachment` → delivered, rewritten when there are tags, status headers or parts to
 *     remove (one new queue entry per rule group), or queued as it is;
 *   - past the inline time budget, or when the groups' verdicts differ, a `reject` becomes `delete` (SPEC §2).
 * One traffic event per rule group. A scan that fails (worker crash, timeout) gives `error` findings that the
 * rule handles, never a lost message: the file stays in received/ until its copies are queued, and a restart
 * processes whatever is still there. A scan cut short by the node's own shutdown (close()) is no verdict: its
 * message stays in received/ for the next start, so it is never delivered unscanned (e.g. `[Not scanned]`).
 */
import type { Logger } from '../platform/logger.ts';
import type { SettingsService } from '../config/settings.ts';
import type { Settings } from '../config/settings-schema.ts';
import type { Spool } from '../spool/spool.ts';
import type { QueueManager } from '../relay/queue.ts';
import type { BackupKeeping, BackupSink } from '../backup/types.ts';
import type { AcceptedMessage, Intake } from '../smtp/server.ts';
import { SmtpError } from '../smtp/errors.ts';
import { groupRecipients, decide, type Rule, type RuleGroup, type Verdict } from '../policy/index.ts';
import type { ModuleRequest, ScanRequest, ScanResult } from '../scan/pipeline.ts';
import { configKey } from '../scan/registry.ts';
import { errorFinding } from '../scan/run.ts';
import { MODULES, type Finding, type ModuleName } from '../scan/types.ts';
import { removeParts } from './rewrite.ts';
import { headerEditor } from './headers.ts';
import { planFor } from './plan.ts';
import { decorateBody } from './decorate.ts';
import type { DispositionExtras } from './extras.ts';
import type { GroupOutcome } from '../notifications/notifier.ts';
import { moduleOptions } from '../scan/options.ts';
import { fingerprintKeys, personalFinding, personalVerdict, reputationVerdict, withFingerprintCount, type PersonalListHit } from '../scan/antispam/finalize.ts';
import { reputationKeys } from '../scan/antispam/reputation.ts';
import { dmarcPolicyOf } from '../scan/auth/scanner.ts';

/** Splits the groups `applies` to by the personal-list verdict of each recipient (first-seen order kept). */
export function splitByPersonalLists(groups: RuleGroup[], verdictOf: (rcpt: string) => PersonalListHit | null, applies: (g: RuleGroup) => boolean): { groups: RuleGroup[]; personal: (PersonalListHit | null)[] } {
  const out: RuleGroup[] = [];
  const personal: (PersonalListHit | null)[] = [];
  for (const g of groups) {
    if (!applies(g)) { out.push(g); personal.push(null); continue; }
    const by = new Map<string, { hit: PersonalListHit | null; recipients: string[]; indexes: number[] }>();
    g.recipients.forEach((r, j) => {
      const hit = verdictOf(r);
      const key = hit ? `${hit.status}\0${hit.pattern}` : '';
      const slot = by.get(key) ?? { hit, recipients: [], indexes: [] };
      slot.recipients.push(r);
      slot.indexes.push(g.indexes[j]);
      by.set(key, slot);
    });
    for (const slot of by.values()) { out.push({ ...g, recipients: slot.recipients, indexes: slot.indexes }); personal.push(slot.hit); }
  }
  return { groups: out, personal };
}

export interface Scanning { scan(req: ScanRequest): Promise<ScanResult> }

/**
 * SPEC §2: a sender counts as authenticated when it logged in to Moat (SMTP AUTH) or when the message passed
 * DMARC (an aligned SPF or DKIM pass), as the `auth` module reports it when a rule runs it.
 */
export function senderAuthenticated(authUser: string | null, result: ScanResult | null): boolean {
  if (authUser) return true;
  for (const f of Object.values(result?.findings ?? {})) {
    if (f.module === 'auth' && f.detections.some((d) => d.name === 'dmarc' && d.status === 'pass')) return true;
  }
  return false;
}

export interface TrafficEvent {
  time: number;
  node: string;
  queueId: string;
  /** Queue id of the copy queued for delivery, when one was. */
  deliveredAs: string | null;
  messageId: string | null;
  clientIp: string;
  helo: string;
  sender: string;
  recipients: string[];
  subject: string;
  size: number;
  rule: string;
  action: string;
  backup: boolean;
  /** Every module (SPEC §6), including those the rule does not run (`not_scanned`, reason `disabled`). */
  modules: Record<string, { status: string; reason?: string; detections?: { status: string; name: string; part?: string }[]; details?: Record<string, unknown> }>;
}

export interface TrafficSink { record(e: TrafficEvent): Promise<void> }

/** The anti-spam module's cluster-wide state (store/antispam-repo.ts AntispamRepo). */
export interface AntispamStore {
  entriesFor(owners: readonly string[]): Promise<Map<string, { kind: 'allow' | 'deny'; pattern: string }[]>>;
  reputation(keys: readonly string[]): Promise<Map<string, { spam: number; ham: number }>>;
  countVerdict(keys: readonly string[], verdict: 'spam' | 'ham'): Promise<void>;
  countFingerprint(keys: readonly string[], recipients: number, windowMs: number): Promise<number>;
}

export interface ScanningIntakeDeps {
  node: string;
  settings: SettingsService;
  spool: Spool;
  queue: QueueManager;
  scanning: Scanning;
  /** The processing rules in force (cached by the caller). */
  rules: () => Promise<Rule[]>;
  logger: Logger;
  events?: TrafficSink;
  antispam?: AntispamStore;
  /** Backup (quarantine): originals of groups whose verdict has `backup` (src/backup/service.ts). */
  backup?: BackupSink;
  /** Banner, disclaimer, rule header edits, BCC copies and notifications (disposition/extras.ts). */
  extras?: DispositionExtras;
}


interface Plan {
  groups: RuleGroup[];
  perGroup: ModuleRequest[][];
  all: ModuleRequest[];
  /** Per group: the anti-spam finding its recipients' personal lists decided (the module is not run for it). */
  personal: (Finding | null)[];
  /** Per-message data for the scanners (anti-spam reputation). */
  context?: Record<string, unknown>;
}

export class ScanningIntake implements Intake {
  readonly stage = 'received' as const;
  private readonly d: ScanningIntakeDeps;
  private closing = false;
  /** Dispositions finished after the session (late scans, restart reprocessing), until they settle. */
  private readonly background = new Set<Promise<unknown>>();
  private readonly requests = new WeakMap<Settings, WeakMap<Rule, Map<ModuleName, ModuleRequest>>>();

  constructor(deps: ScanningIntakeDeps) {
    this.d = deps;
    deps.queue.reprocess = (id) => this.reprocess(id);
  }

  async accept(msg: AcceptedMessage): Promise<string> {
    const s = this.d.settings.snapshot();
    const plan = await this.plan(await this.d.rules(), msg, s);
    const scanning = plan.all.length ? this.scan(msg, plan, s) : Promise.resolve(null);
    const budget = new Promise<'late'>((r) => { const t = setTimeout(() => r('late'), s.scan.inlineBudget * 1000); t.unref(); void scanning.then(() => clearTimeout(t), () => clearTimeout(t)); });
    const first = await Promise.race([scanning, budget]);
    if (first === 'late') {
      this.track(scanning.then((r) => this.finish(msg, plan, r, false))
        .catch((err) => this.d.logger.error({ qid: msg.envelope.id, err: (err as Error).message }, 'finishing a late scan failed; left in spool/received')));
      this.d.logger.info({ qid: msg.envelope.id, budget: s.scan.inlineBudget }, 'scan past the inline budget: accepted, finished after the session');
      return `2.0.0 Ok: queued as ${msg.envelope.id}`;
    }
    return this.finish(msg, plan, first, true);
  }

  /**
   * Shutdown, called before the scan pool is closed: scans failing from now on were cut short, not judged, so
   * their messages stay in spool/received/ (processed again at the next start). Resolves once the dispositions
   * under way after their sessions have settled (await it after closing the pool, before closing the store).
   */
  async close(): Promise<void> {
    this.closing = true;
    while (this.background.size) await Promise.allSettled([...this.background]);
  }

  private track(p: Promise<unknown>): void {
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }

  /** A message found in spool/received/ at start: no client waits, so a reject is a delete. */
  reprocess(id: string): Promise<void> {
    const p = this.reprocessNow(id);
    this.track(p.catch(() => {}));
    return p;
  }

  private async reprocessNow(id: string): Promise<void> {
    const { envelope, offset, size } = await this.d.spool.readEnvelope(id, 'received');
    const msg: AcceptedMessage = { envelope, size, messageId: null, offset, tls: false, stage: 'received' };
    const s = this.d.settings.snapshot();
    if (!s.scan.enabled) { await this.d.queue.acceptReceived(msg); return; }
    const plan = await this.plan(await this.d.rules(), msg, s);
    await this.finish(msg, plan, plan.all.length ? await this.scan(msg, plan, s) : null, false);
  }

  /**
   * A module's request (options and config key) for a rule under a settings snapshot, built once per rule object
   * and snapshot (rules are re-read at most once a second) instead of once per message.
   */
  private request(module: ModuleName, rule: Rule, s: Settings): ModuleRequest {
    let byRule = this.requests.get(s);
    if (!byRule) { byRule = new WeakMap(); this.requests.set(s, byRule); }
    let byModule = byRule.get(rule);
    if (!byModule) { byModule = new Map(); byRule.set(rule, byModule); }
    let req = byModule.get(module);
    if (!req) {
      const options = moduleOptions(module, rule, s);
      req = { module, key: configKey(module, options), options };
      byModule.set(module, req);
    }
    return req;
  }

  private async plan(rules: Rule[], msg: AcceptedMessage, s: Settings): Promise<Plan> {
    const env = msg.envelope;
    const usesSpam = (g: RuleGroup) => g.rule.mode === 'scan' && !!g.rule.modules.antispam?.enabled;
    let groups = groupRecipients(rules, env);
    let personal: (Finding | null)[] = groups.map(() => null);
    let context: Record<string, unknown> | undefined;
    if (this.d.antispam && groups.some(usesSpam)) {
      // Personal lists (SPEC §4): recipients whose lists decide the anti-spam status form groups of their own.
      const lists = await this.d.antispam.entriesFor(env.recipients).catch((err) => {
        this.d.logger.error({ qid: env.id, err: (err as Error).message }, 'personal lists unavailable');
        return new Map<string, { kind: 'allow' | 'deny'; pattern: string }[]>();
      });
      const split = splitByPersonalLists(groups, (rcpt) => {
        const entries = lists.get(rcpt.toLowerCase());
        return entries ? personalVerdict(entries, env.sender, env.clientIp) : null;
      }, usesSpam);
      groups = split.groups;
      personal = split.personal.map((h) => (h ? personalFinding(h) : null));
      if (s.scan.antispam.reputation && groups.some((g, i) => usesSpam(g) && !personal[i])) {
        const keys = reputationKeys(env.clientIp, env.sender);
        const wanted = [keys.ip, keys.network, keys.domain].filter((k): k is string => !!k);
        const counts = wanted.length ? await this.d.antispam.reputation(wanted).catch(() => new Map<string, { spam: number; ham: number }>()) : new Map();
        const of = (k?: string) => (k ? counts.get(k) : undefined);
        context = { antispam: { reputation: { ip: of(keys.ip), network: of(keys.network), domain: of(keys.domain) } } };
      }
    }
    const all = new Map<string, ModuleRequest>();
    const perGroup = groups.map((g, i) => {
      if (g.rule.mode !== 'scan') return [];
      const reqs: ModuleRequest[] = [];
      for (const [module, cfg] of Object.entries(g.rule.modules) as [ModuleName, NonNullable<Rule['modules'][ModuleName]>][]) {
        if (!cfg?.enabled || (module === 'antispam' && personal[i])) continue;
        const req = this.request(module, g.rule, s);
        all.set(req.key, req);
        reqs.push(req);
      }
      return reqs;
    });
    return { groups, perGroup, all: [...all.values()], personal, context };
  }

  /**
   * The store's part of the anti-spam verdict, after the scan: the cluster-wide count of the body fingerprint
   * (bulk), and the verdict counted for the sender's reputation. Store failures are logged, never fatal.
   */
  private async finishAntispam(msg: AcceptedMessage, plan: Plan, result: ScanResult | null, s: Settings): Promise<void> {
    const store = this.d.antispam;
    if (!store || !result) return;
    const a = s.scan.antispam;
    for (const req of plan.all) {
      if (req.module !== 'antispam') continue;
      const f = result.findings[req.key];
      if (!f) continue;
      try {
        const keys = fingerprintKeys(f);
        if (keys.length) {
          const n = await store.countFingerprint(keys, msg.envelope.recipients.length, a.bulk.window * 3_600_000);
          result.findings[req.key] = withFingerprintCount(f, n, a.bulk.recipients, a.thresholds);
        }
        const verdict = a.reputation && !msg.envelope.authUser ? reputationVerdict(result.findings[req.key]) : null;
        if (verdict) {
          const k = reputationKeys(msg.envelope.clientIp, msg.envelope.sender);
          const wanted = [k.ip, k.network, k.domain].filter((x): x is string => !!x);
          if (wanted.length) await store.countVerdict(wanted, verdict);
        }
      } catch (err) {
        this.d.logger.error({ qid: msg.envelope.id, err: (err as Error).message }, 'anti-spam store update failed');
      }
    }
  }

  private async scan(msg: AcceptedMessage, plan: Plan, s: Settings): Promise<ScanResult | null> {
    try {
      return await this.d.scanning.scan({
        // A small message still in memory goes to the worker as bytes (no file to open and read back there).
        source: msg.content ? { data: msg.content } : { path: this.d.spool.path(msg.envelope.id, 'received'), offset: msg.offset },
        envelope: { sender: msg.envelope.sender, recipients: msg.envelope.recipients, clientIp: msg.envelope.clientIp, helo: msg.envelope.helo, authUser: msg.envelope.authUser },
        modules: plan.all,
        ...(plan.context ? { context: plan.context } : {}),
        deadlineMs: s.scan.maxScanTime * 1000,
        limits: { maxDepth: s.scan.limits.maxDepth, maxMembers: s.scan.limits.maxMembers, maxUnpackedBytes: s.scan.limits.maxUnpackedBytes },
      });
    } catch (err) {
      // Stopping: the pool ended the task. Not a verdict; the message waits in received/ for the next start.
      if (this.closing) throw new Error(`scan interrupted by shutdown: ${(err as Error).message}`, { cause: err });
      // A worker that died or a task that failed: every module of this message reports `error`.
      this.d.logger.error({ qid: msg.envelope.id, err: (err as Error).message }, 'scan failed');
      return null;
    }
  }

  private async finish(msg: AcceptedMessage, plan: Plan, result: ScanResult | null, inSession: boolean): Promise<string> {
    const s = this.d.settings.snapshot();
    const id = msg.envelope.id;
    const log = this.d.logger.child({ qid: id });
    await this.finishAntispam(msg, plan, result, s);
    const findingsOf = (i: number): Finding[] => [
      ...plan.perGroup[i].map((r) => result?.findings[r.key] ?? errorFinding(r.module, 'scan failed')),
      ...(plan.personal[i] ? [plan.personal[i]] : []),
    ];
    const verdicts: Verdict[] = plan.groups.map((g, i) => decide(g.rule, findingsOf(i), { dmarcPolicy: dmarcPolicyOf(findingsOf(i)) }));
    const unanimousReject = verdicts.every((v) => v.action === 'reject');
    // Backup (SPEC §5): the original is stored once, now, while its file is still in received/; each group that
    // asks for it gets its item after its event. Never throws: a Backup failure leaves the mail flow unchanged.
    const kept = this.d.backup && verdicts.some((v) => v.backup)
      ? await this.d.backup.keep({ envelope: msg.envelope, size: msg.size, open: () => this.d.spool.openMessage(id, msg.offset, 'received') }) : null;

    if (inSession && unanimousReject) {
      for (const [i, v] of verdicts.entries()) await this.event(msg, plan.groups[i], v, findingsOf(i), result, null);
      for (const [i, v] of verdicts.entries()) await this.backupItem(kept, msg, plan.groups[i], v, findingsOf(i), result, null);
      // BCC copies of the original and notifications (not to the sender: the client gets the 550).
      for (const [i, v] of verdicts.entries()) {
        await this.d.extras?.bcc(plan.groups[i].rule, () => this.d.spool.openMessage(id, msg.offset, 'received') as import('node:stream').Readable, msg.envelope);
        await this.d.extras?.notify(this.outcome(msg, plan.groups[i], v, findingsOf(i), result, [], true));
      }
      await this.d.spool.remove(id, 'received');
      log.info({ rules: verdicts.map((v) => v.ruleName) }, 'rejected');
      throw new SmtpError(550, '5.7.1', 'Message rejected by policy');
    }

    const queued: string[] = [];
    let promoted = false;
    for (const [i, g] of plan.groups.entries()) {
      const v = verdicts[i];
      const findings = findingsOf(i);
      // After the session (or for only some recipients) a reject can no longer be said: it is a delete, with a
      // non-delivery notice when the sender is authenticated (SPEC §2), so a real person learns of it.
      let action = v.action === 'reject' ? 'delete' : v.action;
      if (v.action === 'reject' && senderAuthenticated(msg.envelope.authUser, result)) {
        const ndr = await this.d.queue.bounceRejected(msg.envelope, msg.offset, 'received', g.recipients)
          .catch((err) => { log.error({ err: (err as Error).message }, 'could not create the non-delivery notice'); return null; });
        if (ndr) log.info({ ndr, to: msg.envelope.sender, rcpts: g.recipients.length }, 'non-delivery notice queued for a rejected copy');
      }
      const rw = action === 'delete' ? null : planFor({ verdict: { ...v, action }, findings, parts: result?.parts ?? [], statusHeaders: s.scan.statusHeaders && g.rule.mode === 'scan', spamHeaders: s.scan.antispam.headers,
        authservId: s.scan.auth.authservId ?? s.mta.hostname });
      // The threat is the message itself (a single-part message): nothing to cut out, so it is not delivered.
      if (rw?.unremovable.length) action = 'delete';
      let deliveredAs: string | null = null;
      // BCC: a copy of the original whatever the action, before the original is queued or removed.
      await this.d.extras?.bcc(g.rule, () => this.d.spool.openMessage(id, msg.offset, 'received') as import('node:stream').Readable, msg.envelope);
      if (action !== 'delete') {
        if (!rw) throw new Error('no rewrite plan for a delivered group');
        // Even without tags or status headers the edits run: they strip forged X-Moat-* fields.
        const edits = this.d.extras ? this.d.extras.headers(rw.edits, g.rule) : rw.edits;
        const decoration = this.d.extras?.decoration(g.rule, findings, { ...v, action }, { sender: msg.envelope.sender, subject: result?.subject ?? '' }) ?? null;
        if (!rw.removals.size && !decoration && plan.groups.length === 1) {
          // The common case: the original is queued as it is; header edits are applied as it is sent.
          deliveredAs = await this.d.queue.acceptReceived(msg, g.recipients, edits);
          promoted = true;
        } else {
          // Parts removed, or one copy per rule group: a new spool file for this group.
          let stream: NodeJS.ReadableStream = this.d.spool.openMessage(id, msg.offset, 'received');
          if (rw.removals.size) stream = removeParts(stream as import('node:stream').Readable, rw.removals);
          if (decoration) stream = decorateBody(stream as import('node:stream').Readable, decoration, (why) => log.info({ why }, 'banner/disclaimer not added'));
          if (edits) stream = stream.pipe(headerEditor(edits));
          deliveredAs = await this.d.queue.submitStream(msg.envelope.sender, g.recipients, stream, { base: msg.envelope });
        }
        queued.push(deliveredAs);
      }
      await this.event(msg, g, { ...v, action }, findings, result, deliveredAs);
      await this.backupItem(kept, msg, g, { ...v, action }, findings, result, deliveredAs);
      await this.d.extras?.notify(this.outcome(msg, g, { ...v, action }, findings, result, rw ? [...rw.removals.values()].map((r) => r.name) : [], false));
      log.info({ rule: v.ruleName, action, rcpts: g.recipients.length, tags: v.tags.length ? v.tags : undefined, queuedAs: deliveredAs ?? undefined }, 'disposition');
    }
    if (!promoted) await this.d.spool.remove(id, 'received');
    return queued.length ? `2.0.0 Ok: queued as ${queued.join(' ')}` : '2.0.0 Ok';
  }

  /** What notifications need to know of one rule group's outcome (notifications/notifier.ts). */
  private outcome(msg: AcceptedMessage, g: RuleGroup, v: Verdict, findings: Finding[], result: ScanResult | null, removed: string[], rejectedInSession: boolean): GroupOutcome {
    const e = msg.envelope;
    return {
      queueId: e.id, sender: e.sender, isBounce: e.isBounce, clientIp: e.clientIp, recipients: g.recipients, rule: g.rule, verdict: v, findings,
      subject: result?.subject ?? '', messageId: result?.messageId ?? msg.messageId, parts: result?.parts ?? [], removed,
      authenticated: senderAuthenticated(e.authUser, result), rejectedInSession,
    };
  }

  /** One rule group's Backup item, when its verdict keeps the original and the original was stored. */
  private async backupItem(kept: BackupKeeping | null, msg: AcceptedMessage, g: RuleGroup, v: Verdict, findings: Finding[], result: ScanResult | null, deliveredAs: string | null): Promise<void> {
    if (!kept || !v.backup) return;
    await kept.item({ recipients: g.recipients, verdict: v, findings, deliveredAs, messageId: result?.messageId ?? msg.messageId, subject: result?.subject ?? '' });
  }

  private async event(msg: AcceptedMessage, g: RuleGroup, v: Verdict, findings: Finding[], result: ScanResult | null, deliveredAs: string | null): Promise<void> {
    if (!this.d.events) return;
    const modules: TrafficEvent['modules'] = {};
    for (const m of MODULES) modules[m] = { status: 'not_scanned', reason: 'disabled' };
    for (const f of findings) {
      modules[f.module] = {
        status: f.status, reason: f.reason, detections: f.detections.map((d) => ({ status: d.status, name: d.name, part: d.part })),
        ...(f.details ? { details: f.details } : {}),
      };
    }
    await this.d.events.record({
      time: Date.now(), node: this.d.node, queueId: msg.envelope.id, deliveredAs, messageId: result?.messageId ?? msg.messageId,
      clientIp: msg.envelope.clientIp, helo: msg.envelope.helo, sender: msg.envelope.sender, recipients: g.recipients,
      subject: result?.subject ?? '', size: msg.size, rule: v.ruleName, action: v.action, backup: v.backup, modules,
    }).catch((err) => this.d.logger.error({ qid: msg.envelope.id, err: (err as Error).message }, 'traffic event not recorded'));
  }
}
