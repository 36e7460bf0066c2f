/**
 * The event contracts other areas write through (SPEC §6): system events (a typed catalogue) and the audit trail
 * of every change made through the API or the CLI. Implemented by src/events/ (store, SIEM forwarding); callers
 * only see these interfaces, and a failure to record is logged by the implementation, never thrown into the mail
 * flow.
 */

import { SEVERITIES, SYSTEM_EVENT_TYPES } from '../vocabulary.ts';

export { SEVERITIES, SYSTEM_EVENT_TYPES };
export type SystemEventType = (typeof SYSTEM_EVENT_TYPES)[number];

export type Severity = (typeof SEVERITIES)[number];

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
