/**
 * What every route can use: the services of the node, handed to `buildApi(ctx)` by the composition root
 * (src/node.ts) or by a test. A later area adds its service as one more field here (e.g. `backup: BackupService`),
 * builds it in node.ts, and reads `ctx.backup` in its route file; nothing else changes.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import type { SettingsService } from '../config/settings.ts';
import type { Logger } from '../platform/logger.ts';
import type { Clock } from '../platform/clock.ts';
import type { AuditSink, SystemEventSink } from '../events/types.ts';
import type { AccountsService } from '../accounts/service.ts';
// Record routes (Backup, events, notification templates, statistics): types only.
import type { BackupService } from '../backup/service.ts';
import type { DigestService } from '../backup/digest.ts';
import type { EventLog } from '../events/service.ts';
import type { TemplatesRepo } from '../notifications/templates.ts';
import type { Monitor } from '../monitor/monitor.ts';

/** The node's health for GET /healthz (public, load balancers) and GET /api/v1/health (signed in). */
export interface HealthSource {
  health(): Promise<{ ok: boolean; [k: string]: unknown }>;
}

export interface ApiContext {
  /** This node's name. */
  node: string;
  version: string;
  db: Kysely<Database>;
  settings: SettingsService;
  logger: Logger;
  clock: Clock;
  /** The audit trail: routes record every change through `request.audit(...)`, which calls this. */
  audit: AuditSink;
  systemEvents: SystemEventSink;
  accounts: AccountsService;
  health: HealthSource;
  // ---- configuration routes (settings, domains, tls, dkim, rules, lists, queue); they build their repositories
  // from `db`. Optional so a context built for the framework alone still works; without them those routes answer
  // 500 `internal` (nothing else breaks).
  /** This node's delivery queue: `kick()` starts due deliveries now, `spool.remove` drops a deleted message's file. */
  queue?: { kick(): void; spool: { remove(id: string): Promise<void> } };
  /** The self-signed STARTTLS pair generated at first start (served while `mta.tls.certificate` is null). */
  selfSignedTls?: { cert: string; key: string };
  // ---- record routes (backup, personal backup, digest, events, notification templates, stats, /metrics).
  // Optional for the same reason; without them those routes answer 500 `internal`.
  /** The Backup service and its digest (node.backup). */
  backup?: { service: BackupService; digest: DigestService };
  /** The event log: traffic, system and audit events, exports (node.events.log). */
  events?: EventLog;
  /** Notification templates (node.notifications.templates). */
  templates?: TemplatesRepo;
  /** Dashboard statistics and Prometheus metrics (node.monitor). */
  monitor?: Pick<Monitor, 'stats' | 'metrics'>;
}
