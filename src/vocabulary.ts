/**
 * The product's exact words (SPEC §2, §3, §6): scan modules, their statuses, rule modes and actions, system event
 * types and severities. One source for the
 * server (scan/types.ts and policy/types.ts re-export these) and the web console (web/src/lib/labels.ts imports
 * this file), so neither copies the lists. Kept free of imports and Node types: the console's bundle compiles it.
 */

export const MODULES = ['antivirus', 'links', 'antispam', 'antiphishing', 'content', 'auth'] as const;

export const STATUSES = {
  antivirus: ['clean', 'infected', 'probably_infected', 'riskware', 'encrypted', 'macro', 'error', 'not_scanned'],
  links: ['clean', 'malicious', 'adware', 'riskware', 'error', 'not_scanned'],
  antispam: ['clean', 'spam', 'probable_spam', 'mass_mail', 'denylisted', 'trusted', 'error', 'not_scanned'],
  antiphishing: ['clean', 'phishing', 'error', 'not_scanned'],
  content: ['clean', 'size_exceeded', 'banned_type', 'banned_name', 'error', 'not_scanned'],
  auth: ['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'error', 'not_scanned'],
} as const satisfies Record<(typeof MODULES)[number], readonly string[]>;

export const MODES = ['scan', 'skip', 'reject', 'delete'] as const;

export const ACTIONS = ['skip', 'delete_attachment', 'reject', 'delete'] as const;

/** The catalogue of system event types (SPEC §6). Adding a type is a compatible change; renaming is not. */
export const SYSTEM_EVENT_TYPES = [
  'product.started', 'product.stopped',
  'settings.changed',
  'database.updated', 'database.out_of_date', 'database.obsolete', 'database.update_failed',
  'backup.limit_reached', 'backup.write_failed', 'backup.evicted',
  'node.joined', 'node.left', 'node.unavailable',
  'directory.sync_failed',
  'login.ok', 'login.failed', 'account.locked',
  'notification.failed',
  'engine.unavailable', 'engine.available',
  'health.problem', 'health.resolved',
  'license.expiring',
  // Added with the event log (src/events/retention.ts, src/events/siem.ts).
  'events.limit_reached', 'siem.delivery_failed',
] as const;

export const SEVERITIES = ['info', 'warning', 'error', 'critical'] as const;
