/**
 * System notifications (SPEC §4; docs/notifications.md): parts of Moat report health problems here by key
 * (`antivirus.clamav`, `store`, `directory.sync`, …) with problem(key, { active, severity, message }); the
 * admins get a mail when a problem starts and when it ends, and a reminder while it lasts.
 *
 * Rate limit: at most one mail per problem per `minInterval` (default 15 min). A change inside that window is
 * mailed when the window ends, as the state THEN: a problem that started and ended again (flapping) in the
 * window is collapsed into nothing; one that ended and restarted is still "active" and needs no mail. A reminder
 * goes out every `reminder` hours (default 24) after the last mail while the problem stays active. A failed
 * send is retried at the next tick (every 30 s with start()). Times come from the injected clock, so tests
 * move time by hand and call tick().
 *
 * Hostile input: messages come from our own code but may quote remote errors: they go through the template
 * macros (sanitised). Keys are at most 100 characters, messages 1,000.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../platform/clock.ts';
import type { Logger } from '../platform/logger.ts';

export type Severity = 'info' | 'warning' | 'error' | 'critical';
export interface ProblemReport { active: boolean; severity?: Severity; message?: string }
export type SystemMailKind = 'start' | 'end' | 'reminder';

export interface ProblemState {
  key: string;
  active: boolean;
  severity: Severity;
  message: string;
  /** When the current (or last) episode started. */
  since: number;
  /** The state the admins were last told: true (active), false (ended) or null (nothing mailed yet). */
  mailed: boolean | null;
  lastMailAt: number | null;
}

export interface SystemMail { id: string; kind: SystemMailKind; problem: Readonly<ProblemState> }

export interface HealthDeps {
  clock: Clock;
  logger: Logger;
  /** Sends a system mail to the admins; throws when it could not be queued. */
  send(mail: SystemMail): Promise<void>;
  /** Current timing (settings notifications.system), read at every tick. */
  timing(): { enabled: boolean; minIntervalMs: number; reminderMs: number };
  /** Told when a problem starts or ends (the node records a system event); must not throw. */
  onTransition?(p: { key: string; active: boolean; severity: Severity; message: string }): void;
}

/** The one place problems are reported to. */
export interface HealthReporter { problem(key: string, report: ProblemReport): void }

export class HealthNotifier implements HealthReporter {
  private readonly d: HealthDeps;
  private readonly problems = new Map<string, ProblemState>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(deps: HealthDeps) { this.d = deps; }

  problem(key: string, report: ProblemReport): void {
    const k = key.slice(0, 100);
    const now = this.d.clock.now();
    const message = (report.message ?? '').slice(0, 1000);
    const cur = this.problems.get(k);
    if (!cur) {
      if (!report.active) return;
      this.problems.set(k, { key: k, active: true, severity: report.severity ?? 'error', message, since: now, mailed: null, lastMailAt: null });
      this.d.logger.warn({ problem: k, severity: report.severity ?? 'error', message }, 'health problem started');
      this.d.onTransition?.({ key: k, active: true, severity: report.severity ?? 'error', message });
    } else {
      const changed = report.active !== cur.active;
      if (report.active && !cur.active) { cur.since = now; this.d.logger.warn({ problem: k, message }, 'health problem started'); }
      if (!report.active && cur.active) this.d.logger.info({ problem: k }, 'health problem ended');
      cur.active = report.active;
      if (report.severity) cur.severity = report.severity;
      if (message) cur.message = message;
      if (changed) this.d.onTransition?.({ key: k, active: cur.active, severity: cur.severity, message: cur.message });
    }
    void this.tick();
  }

  /** Problems known now (active ones, and ended ones within their mail window). */
  list(): ProblemState[] { return [...this.problems.values()].map((p) => ({ ...p })); }

  /** Sends what is due; runs one at a time (calls queue behind each other). */
  tick(): Promise<void> {
    this.running = this.running.then(() => this.evaluate()).catch((err) => this.d.logger.error({ err: (err as Error).message }, 'system notifications failed'));
    return this.running;
  }

  private async evaluate(): Promise<void> {
    const t = this.d.timing();
    const now = this.d.clock.now();
    for (const p of [...this.problems.values()]) {
      const windowOpen = p.lastMailAt === null || now - p.lastMailAt >= t.minIntervalMs;
      let kind: SystemMailKind | null = null;
      if (p.active && p.mailed !== true && windowOpen) kind = 'start';
      else if (!p.active && p.mailed === true && windowOpen) kind = 'end';
      else if (p.active && p.mailed === true && p.lastMailAt !== null && now - p.lastMailAt >= t.reminderMs) kind = 'reminder';
      // Over and never told (collapsed), or told it ended and the window has passed: forgotten.
      if (!p.active && (p.mailed === null || (p.mailed === false && windowOpen))) { this.problems.delete(p.key); continue; }
      if (!kind) continue;
      if (!t.enabled) { if (kind === 'end') this.problems.delete(p.key); continue; }
      const mail: SystemMail = { id: randomUUID(), kind, problem: { ...p } };
      try {
        await this.d.send(mail);
        p.mailed = p.active;
        p.lastMailAt = now;
        this.d.logger.info({ notification: mail.id, problem: p.key, kind }, 'system notification queued');
      } catch (err) {
        this.d.logger.error({ problem: p.key, kind, err: (err as Error).message }, 'system notification could not be sent; retried at the next check');
      }
    }
  }

  /** Checks every `everyMs` (reminders, delayed mails, retries). */
  start(everyMs = 30_000): void {
    this.stop();
    this.timer = setInterval(() => void this.tick(), everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
