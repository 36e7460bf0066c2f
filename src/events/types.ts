/**
 * The event contracts other areas write through (SPEC §6): system events (a typed catalogue) and the audit trail
 * of every change made through the API or the CLI. Implemented by src/events/ (store, SIEM forwarding); callers
 * only see these interfaces, and a failure to record is logged by the implementation, never thrown into the mail
 * flow.
 */

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
export type SystemEventType = (typeof SYSTEM_EVENT_TYPES)[number];

export type Severity = 'info' | 'warning' | 'error' | 'critical';

export interface SystemEventInput {
  type: SystemEventType;
  severity: Severity;
  /** One human-readable line (no secrets). */
  message: string;
  details?: Record<string, unknown>;
  /** Defaults to the recording node's name. */
  node?: string;
  /** Defaults to now. */
  time?: number;
}

export interface SystemEventSink {
  system(e: SystemEventInput): Promise<void>;
}

export interface AuditEntry {
  /** Account name (or `cli:<os user>` for the CLI, `token:<name>` is not used: a token acts as its account). */
  actor: string;
  source: 'api' | 'cli' | 'system';
  /** Client IP for the API; null for the CLI. */
  ip: string | null;
  /** Stable verb such as `rules.update`, `backup.deliver`, `accounts.create`. */
  action: string;
  /** What was acted on, e.g. `rule:12`, `backup:01J…`, `account:alice`. */
  target: string;
  /** Before/after images for changes (secrets such as password hashes and keys must be left out). */
  before?: unknown;
  after?: unknown;
  time?: number;
}

export interface AuditSink {
  audit(e: AuditEntry): Promise<void>;
}
