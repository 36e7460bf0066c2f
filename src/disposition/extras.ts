/**
 * The per-rule extras of disposition (SPEC §2, §4; docs/rules.md), between the verdict and the queue:
 *   - what a delivered copy gets: the warning banner (when one of the rule's banner statuses was reported),
 *     the disclaimer, and the rule's header edits (add, remove, modify = remove then add), merged into the
 *     disposition's HeaderEdits so they are applied when the copy is sent (after them DKIM signs);
 *   - BCC: a copy of the ORIGINAL message (as received, before any change) to each BCC address, whatever the
 *     action, envelope sender = Moat's From address (notifications.from);
 *   - notifications (notifications/notifier.ts) once the group is done.
 * Nothing here may lose or block mail: every failure is logged and the disposition goes on.
 *
 * Banner texts may use %MODULE%, %STATUS%, %THREATS%, %RULE_NAME%, %SENDER%, %SUBJECT% (sanitised values).
 */
import type { Readable } from 'node:stream';
import type { Logger } from '../platform/logger.ts';
import type { Settings } from '../config/settings-schema.ts';
import type { Finding } from '../scan/types.ts';
import type { Rule, Verdict } from '../policy/types.ts';
import type { HeaderEdits } from './headers.ts';
import type { BodyDecoration } from './decorate.ts';
import { listValue, render } from '../notifications/macros.ts';
import { fromAddress } from '../notifications/settings.ts';
import type { GroupOutcome, Notifier } from '../notifications/notifier.ts';

/** Statuses reported by the findings, as `module:status` (finding status and detection statuses) plus fired ones. */
export function reportedStatuses(findings: readonly Finding[], verdict: Verdict): Set<string> {
  const out = new Set<string>();
  for (const f of findings) {
    out.add(`${f.module}:${f.status}`);
    for (const d of f.detections) out.add(`${f.module}:${d.status}`);
  }
  for (const b of verdict.fired) out.add(`${b.module}:${b.status}`);
  return out;
}

/** The `module:status` entries of the banner that match, or [] (`module:*` matches any status but clean/pass/not_scanned). */
export function bannerMatches(rule: Rule, findings: readonly Finding[], verdict: Verdict): string[] {
  if (!rule.banner) return [];
  const reported = reportedStatuses(findings, verdict);
  const quiet = new Set(['clean', 'pass', 'none', 'not_scanned', 'trusted']);
  return rule.banner.statuses.flatMap((s) => {
    const [m, st] = s.split(':');
    if (st !== '*') return reported.has(s) ? [s] : [];
    return [...reported].filter((r) => r.startsWith(`${m}:`) && !quiet.has(r.slice(m.length + 1)));
  });
}

/** Banner and disclaimer for a delivered copy of this group, or null when neither applies. */
export function decorationFor(rule: Rule, findings: readonly Finding[], verdict: Verdict, msg: { sender: string; subject: string }): BodyDecoration | null {
  const d: BodyDecoration = {};
  const hits = bannerMatches(rule, findings, verdict);
  if (rule.banner && hits.length) {
    const modules = [...new Set(hits.map((h) => h.split(':')[0]))];
    const values = {
      MODULE: modules.join(', '), STATUS: listValue(hits.map((h) => h.split(':')[1])), RULE_NAME: rule.name, SENDER: msg.sender || '<>', SUBJECT: msg.subject,
      THREATS: listValue(findings.filter((f) => modules.includes(f.module)).flatMap((f) => f.detections.map((x) => x.name))),
    };
    d.banner = { text: render(rule.banner.text, values, 'text'), ...(rule.banner.html !== undefined ? { html: render(rule.banner.html, values, 'html') } : {}) };
  }
  if (rule.disclaimer) d.disclaimer = { ...rule.disclaimer };
  return d.banner || d.disclaimer ? d : null;
}

/** The rule's header edits merged into disposition's (a new object; `base` is not changed). */
export function withRuleHeaders(base: HeaderEdits, rule: Rule): HeaderEdits {
  const h = rule.headers;
  if (!h) return base;
  return {
    ...base,
    removeHeaders: [...base.removeHeaders, ...h.remove, ...h.modify.map(([k]) => k)],
    addHeaders: [...base.addHeaders, ...h.modify, ...h.add],
  };
}

export interface ExtrasDeps {
  settings: { snapshot(): Settings };
  logger: Logger;
  /** QueueManager.submitStream. */
  submit(sender: string, recipients: string[], content: NodeJS.ReadableStream, opts: { base: { clientIp: string; helo: string; authUser: string | null; receivedAt: number } }): Promise<string>;
  notifier?: Pick<Notifier, 'notifyGroup'>;
}

export class DispositionExtras {
  private readonly d: ExtrasDeps;
  constructor(deps: ExtrasDeps) { this.d = deps; }

  decoration(rule: Rule, findings: readonly Finding[], verdict: Verdict, msg: { sender: string; subject: string }): BodyDecoration | null {
    return decorationFor(rule, findings, verdict, msg);
  }

  headers(base: HeaderEdits, rule: Rule): HeaderEdits { return withRuleHeaders(base, rule); }

  /** Queues a copy of the original to the rule's BCC addresses; never throws. `open` gives the original's bytes. */
  async bcc(rule: Rule, open: () => Readable, envelope: { id: string; clientIp: string; helo: string; authUser: string | null; receivedAt: number }): Promise<string | null> {
    if (!rule.bcc?.length) return null;
    const s = this.d.settings.snapshot();
    const from = fromAddress(s.notifications, s.mta.hostname);
    try {
      const id = await this.d.submit(from, [...rule.bcc], open(), { base: envelope });
      this.d.logger.info({ qid: envelope.id, rule: rule.name, bcc: rule.bcc, queuedAs: id }, 'BCC copy queued');
      return id;
    } catch (err) {
      this.d.logger.error({ qid: envelope.id, rule: rule.name, bcc: rule.bcc, err: (err as Error).message }, 'BCC copy failed');
      return null;
    }
  }

  /** The group's notifications; never throws. */
  async notify(o: GroupOutcome): Promise<void> {
    if (!this.d.notifier) return;
    try { await this.d.notifier.notifyGroup(o); } catch (err) {
      this.d.logger.error({ qid: o.queueId, err: (err as Error).message }, 'notifications failed');
    }
  }
}
