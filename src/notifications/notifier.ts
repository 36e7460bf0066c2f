/**
 * Rule notifications (SPEC §4; docs/notifications.md): after disposition decided a rule group, every module
 * whose rule block has `notify` and whose statuses ask for it sends notifications to the chosen audiences:
 *   - sender: envelope sender `<>` (an auto-reply, RFC 3834: `Auto-Submitted: auto-generated`), never to a null
 *     sender or for a bounce, never for an in-session reject (the client got the 550), and for antispam and
 *     antiphishing only when the sender is authenticated (SMTP AUTH or DMARC pass): their senders are forged
 *     as a rule, so telling them is backscatter;
 *   - recipients: one message per recipient of the group (they do not see each other);
 *   - admins (settings notifications.admins) and extra addresses: one message each list.
 * Each notification has a unique id (header `X-Moat-Notification-Id`, macro %NOTIFICATION_ID%) and is logged
 * with it. Notifications are queued with QueueManager.submitStream: straight to the queue, never scanned again.
 *
 * Failures are logged (`notification failed`) and never affect the message's disposition.
 * Hostile input: every macro value (see macros.ts); addresses come from validated rules and settings, the
 * sender from the envelope (SMTP already checked its syntax).
 */
import { randomUUID } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Logger } from '../platform/logger.ts';
import type { Clock } from '../platform/clock.ts';
import type { Settings } from '../config/settings-schema.ts';
import { MODULES, type Finding, type ModuleName } from '../scan/types.ts';
import type { PartSummary } from '../scan/pipeline.ts';
import type { Audience, NotifyBlock, Rule, Verdict } from '../policy/types.ts';
import { listValue, type MacroValues } from './macros.ts';
import { defaultTemplateId, renderTemplate, type RenderedTemplate, type TemplatesRepo } from './templates.ts';
import { fromAddress } from './settings.ts';

/** What the notifier needs of the queue (QueueManager). */
export interface NotificationQueue {
  submitStream(sender: string, recipients: string[], content: Buffer, opts?: { isBounce?: boolean }): Promise<string>;
}

export interface NotifierDeps {
  node: string;
  settings: { snapshot(): Settings };
  queue: NotificationQueue;
  templates: Pick<TemplatesRepo, 'resolve'>;
  logger: Logger;
  clock?: Clock;
}

/** One rule group's outcome, as disposition carried it out. */
export interface GroupOutcome {
  queueId: string;
  sender: string;
  isBounce: boolean;
  clientIp: string;
  /** The group's recipients. */
  recipients: string[];
  rule: Rule;
  /** The verdict with the action finally taken (a late reject is a delete). */
  verdict: Verdict;
  findings: readonly Finding[];
  subject: string;
  messageId: string | null;
  parts: readonly PartSummary[];
  /** Names of the attachments removed (delete_attachment). */
  removed: string[];
  /** SMTP AUTH or DMARC pass (intake.ts senderAuthenticated). */
  authenticated: boolean;
  /** The message was refused with 550 while the client waited. */
  rejectedInSession: boolean;
}

/** Modules whose sender is told only when authenticated (backscatter). */
export const BACKSCATTER_MODULES: readonly ModuleName[] = ['antispam', 'antiphishing'];

export interface SentNotification { id: string; audience: Audience; module: ModuleName; template: string; to: string[]; queueId: string }

/** Statuses that trigger `notify` for the module, or [] (see the docs: empty list = the firing statuses). */
export function triggerStatuses(module: ModuleName, notify: NotifyBlock, verdict: Verdict, finding: Finding | undefined): string[] {
  const fired = verdict.fired.filter((b) => b.module === module).map((b) => b.status);
  if (!notify.statuses.length) return [...new Set(fired)];
  const reported = new Set<string>([...fired, ...(finding ? [finding.status, ...finding.detections.map((d) => d.status)] : [])]);
  return notify.statuses.filter((s) => reported.has(s));
}

/** Why the sender gets no notification, or null when it may. */
export function senderSuppressed(o: Pick<GroupOutcome, 'sender' | 'isBounce' | 'authenticated' | 'rejectedInSession'>, module: ModuleName): string | null {
  if (!o.sender) return 'null sender';
  if (o.isBounce || /^(mailer-daemon|postmaster)@/i.test(o.sender)) return 'bounce';
  if (o.rejectedInSession) return 'rejected in session (the client got the reply)';
  if (BACKSCATTER_MODULES.includes(module) && !o.authenticated) return 'sender not authenticated (backscatter)';
  return null;
}

export function attachmentNames(parts: readonly PartSummary[]): string[] {
  return parts.filter((p) => p.isAttachment && p.origin === 'mime').map((p) => p.name ?? 'unnamed part');
}

/** The macro values of one notification. */
export function ruleMacros(o: GroupOutcome, module: ModuleName, statuses: string[], id: string, node: string, now: number): Record<string, string> {
  const finding = o.findings.find((f) => f.module === module);
  return {
    SENDER: o.sender || '<>',
    RECIPIENTS: listValue(o.recipients),
    SUBJECT: o.subject,
    DATE: new Date(now).toUTCString(),
    ACTION: o.verdict.action,
    MODULE: module,
    STATUS: statuses.join(', '),
    THREATS: listValue((finding?.detections ?? []).filter((d) => statuses.includes(d.status) || !statuses.length).map((d) => d.name)),
    RULE_NAME: o.rule.name,
    MESSAGE_ID: o.messageId ?? '(none)',
    NODE: node,
    ATTACHMENTS: listValue(attachmentNames(o.parts)),
    REMOVED_ATTACHMENTS: listValue(o.removed),
    NOTIFICATION_ID: id,
    QUEUE_ID: o.queueId,
    CLIENT_IP: o.clientIp,
  };
}

/** The notification message (RFC 5322, MIME by nodemailer's composer, which RFC 2047-encodes the subject). */
export async function composeNotification(opts: { id: string; from: string; fromName: string; to: string[]; content: RenderedTemplate; date: Date; autoReply: boolean; hostname: string }): Promise<Buffer> {
  const headers: Record<string, string> = { 'X-Moat-Notification-Id': opts.id, 'Auto-Submitted': 'auto-generated' };
  if (opts.autoReply) headers['X-Auto-Response-Suppress'] = 'All';
  const mc = new MailComposer({
    from: { name: opts.fromName, address: opts.from }, to: opts.to, subject: opts.content.subject, date: opts.date,
    messageId: `<${opts.id}@${opts.hostname}>`, text: opts.content.text.replace(/\r?\n/g, '\r\n'),
    ...(opts.content.html !== null ? { html: opts.content.html } : {}), headers,
  });
  return new Promise<Buffer>((resolve, reject) => mc.compile().build((err, b) => (err ? reject(err) : resolve(b))));
}

export class Notifier {
  private readonly d: NotifierDeps;
  constructor(deps: NotifierDeps) { this.d = deps; }

  private now(): number { return this.d.clock?.now() ?? Date.now(); }

  /** Sends one rendered notification; returns its queue id. */
  async send(audience: Audience | 'system', to: string[], content: RenderedTemplate, id: string): Promise<string> {
    const s = this.d.settings.snapshot();
    const from = fromAddress(s.notifications, s.mta.hostname);
    const autoReply = audience === 'sender';
    const raw = await composeNotification({ id, from, fromName: s.notifications.fromName, to, content, date: new Date(this.now()), autoReply, hostname: s.mta.hostname });
    // To the sender: envelope sender <> (no reply, no bounce loop), with the lifetime of a bounce.
    return this.d.queue.submitStream(autoReply ? '' : from, to, raw, { isBounce: autoReply });
  }

  /** The notifications of one rule group; never throws (failures are logged). */
  async notifyGroup(o: GroupOutcome): Promise<SentNotification[]> {
    const sent: SentNotification[] = [];
    const log = this.d.logger.child({ qid: o.queueId, rule: o.rule.name });
    for (const module of MODULES) {
      const notify = o.rule.modules[module]?.notify;
      if (!notify || !o.rule.modules[module]?.enabled || o.rule.mode !== 'scan') continue;
      const finding = o.findings.find((f) => f.module === module);
      const statuses = triggerStatuses(module, notify, o.verdict, finding);
      if (!statuses.length) continue;
      const s = this.d.settings.snapshot();
      const jobs: { audience: Audience; to: string[] }[] = [];
      if (notify.sender) {
        const why = senderSuppressed(o, module);
        if (why) log.info({ module, reason: why }, 'no notification to the sender');
        else jobs.push({ audience: 'sender', to: [o.sender] });
      }
      if (notify.recipients && !o.rejectedInSession) for (const r of o.recipients) jobs.push({ audience: 'recipients', to: [r] });
      if (notify.admins) {
        if (s.notifications.admins.length) jobs.push({ audience: 'admins', to: [...s.notifications.admins] });
        else log.warn({ module }, 'admin notification asked for, but notifications.admins is empty');
      }
      if (notify.extra.length) jobs.push({ audience: 'extra', to: [...notify.extra] });
      for (const job of jobs) {
        const id = randomUUID();
        const wanted = notify.templates?.[job.audience] ?? defaultTemplateId(job.audience, module);
        try {
          const t = await this.d.templates.resolve(wanted, defaultTemplateId(job.audience, module));
          if (t.fellBack) log.warn({ template: wanted, used: t.id }, 'notification template not found; the shipped one is used');
          const values: MacroValues = ruleMacros(o, module, statuses, id, this.d.node, this.now());
          const queueId = await this.send(job.audience, job.to, renderTemplate(t.content, values), id);
          sent.push({ id, audience: job.audience, module, template: t.id, to: job.to, queueId });
          log.info({ notification: id, audience: job.audience, module, status: statuses, template: t.id, to: job.to, queuedAs: queueId }, 'notification queued');
        } catch (err) {
          log.error({ notification: id, audience: job.audience, module, err: (err as Error).message }, 'notification failed');
        }
      }
    }
    return sent;
  }
}
