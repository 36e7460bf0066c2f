/**
 * Wiring of system notifications (docs/notifications.md): the mail a HealthNotifier sends (templates
 * system.start / system.end / system.reminder to the admin list), and the health sources wired so far:
 *   - `antivirus.clamav`: clamd configured (scan.antivirus.clamav) but not answering PING/VERSION, checked every
 *     notifications.system.clamdCheck seconds (default 60) from the main thread; cleared when it answers again
 *     or is no longer configured.
 * Other parts report through HealthReporter.problem() (store, directory sync, database freshness later).
 */
import { ClamdClient } from '../scan/antivirus/clamd.ts';
import type { Settings } from '../config/settings-schema.ts';
import type { Logger } from '../platform/logger.ts';
import type { HealthReporter, SystemMail } from './health.ts';
import type { Notifier } from './notifier.ts';
import { renderTemplate, type TemplatesRepo } from './templates.ts';

/** The HealthNotifier's `send`: the system template of the mail's kind, to notifications.admins. */
export function systemMailSender(deps: { notifier: Pick<Notifier, 'send'>; templates: Pick<TemplatesRepo, 'resolve'>; settings: { snapshot(): Settings }; node: string; logger: Logger; now: () => number }) {
  return async (mail: SystemMail): Promise<void> => {
    const admins = deps.settings.snapshot().notifications.admins;
    if (!admins.length) { deps.logger.warn({ problem: mail.problem.key, kind: mail.kind }, 'system notification not sent: notifications.admins is empty'); return; }
    const id = `system.${mail.kind}`;
    const t = await deps.templates.resolve(id, id);
    const p = mail.problem;
    const content = renderTemplate(t.content, {
      PROBLEM: p.key, SEVERITY: p.severity, MESSAGE: p.message || '(none)', STATE: p.active ? 'active' : 'ended',
      SINCE: new Date(p.since).toUTCString(), NODE: deps.node, DATE: new Date(deps.now()).toUTCString(), NOTIFICATION_ID: mail.id,
    });
    await deps.notifier.send('system', admins, content, mail.id);
  };
}

/** Asks clamd whether it answers, when it is configured; reports `antivirus.clamav`. Returns stop(). */
export function startClamdProbe(deps: { settings: { snapshot(): Settings }; health: HealthReporter; logger: Logger }): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let inFlight: AbortController | undefined;
  const check = async () => {
    const s = deps.settings.snapshot();
    const c = s.scan.antivirus.clamav;
    if (!c) { deps.health.problem('antivirus.clamav', { active: false }); return; }
    const client = new ClamdClient({ socket: c.socket, host: c.host, port: c.port, timeoutMs: Math.min(c.timeout, 10) * 1000, retries: 0 });
    inFlight = new AbortController();
    const h = await client.health(inFlight.signal);
    if (stopped) return;
    deps.health.problem('antivirus.clamav', h.ok
      ? { active: false }
      : { active: true, severity: 'error', message: `clamd at ${client.address} does not answer: ${h.error ?? 'no reply'}; messages get antivirus status error` });
  };
  const loop = () => {
    if (stopped) return;
    void check().catch((err) => deps.logger.error({ err: (err as Error).message }, 'clamd check failed')).finally(() => {
      if (stopped) return;
      timer = setTimeout(loop, deps.settings.snapshot().notifications.system.clamdCheck * 1000);
      timer.unref();
    });
  };
  loop();
  return () => { stopped = true; inFlight?.abort(); if (timer) clearTimeout(timer); };
}
