/**
 * The event log service (SPEC §6): the one place that records and reads traffic events, system events and the
 * audit trail, for the mail flow, the other areas (through SystemEventSink / AuditSink), the CLI and the REST
 * routes. It validates filters (hostile: query strings, CLI options) with src/events/query.ts, pages by keyset,
 * streams exports (src/events/export.ts) and hands every recorded event to the SIEM forwarder when one is set.
 *
 * Contract for callers of `system()` and `audit()`: they never throw and never wait on the SIEM; a failure to
 * store is logged (error level, with the event's type or action) and the event is still forwarded to the SIEM.
 * `trafficSink()` wraps disposition's sink the same way (intake.ts logs a store failure itself).
 */
import type { Kysely } from 'kysely';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import type { Database } from '../store/schema.ts';
import type { Logger } from '../platform/logger.ts';
import { systemClock, type Clock } from '../platform/clock.ts';
import type { TrafficEvent, TrafficSink } from '../disposition/intake.ts';
import { TrafficEventsRepo, type StoredTrafficEvent } from '../store/events-repo.ts';
import { SystemEventsRepo, type SystemEvent } from '../store/system-events-repo.ts';
import { AuditRepo, type AuditEvent } from '../store/audit-repo.ts';
import { SYSTEM_EVENT_TYPES, type AuditEntry, type AuditSink, type SystemEventInput, type SystemEventSink } from './types.ts';
import { auditFilterSchema, pageSchema, systemFilterSchema, trafficFilterSchema, type EventKind, type Page, type PageResult } from './query.ts';
import { exportStream, EXPORT_FORMATS, type ExportFormat } from './export.ts';
import { redactSecrets } from './redact.ts';

/** Receives every recorded event (with its id when it was stored); must not block or throw (siem.ts). */
export interface EventForwarder {
  forward(kind: 'traffic', e: TrafficEvent & { id?: number }): void;
  forward(kind: 'system', e: Omit<SystemEvent, 'id'> & { id?: number }): void;
  forward(kind: 'audit', e: Omit<AuditEvent, 'id'> & { id?: number; node: string }): void;
}

/** A filter or page request refused: `problems` name the field and the reason (an API answers 400). */
export class EventQueryError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) { super(problems.join('; ')); this.problems = problems; }
}

function parse<T>(schema: z.ZodType<T>, v: unknown): T {
  const r = schema.safeParse(v ?? {});
  if (!r.success) {
    throw new EventQueryError(r.error.issues.map((i) => (i.code === 'unrecognized_keys' ? `${i.keys.join(', ')}: unknown field`
      : `${i.path.length ? i.path.join('.') : '(filter)'}: ${i.message}`)));
  }
  return r.data;
}


/** How long a traffic event may wait for others to share its commit, and how many may wait at most. */
const TRAFFIC_LINGER_MS = 50;
const TRAFFIC_BACKLOG = 2000;

export interface EventLogDeps { db: Kysely<Database>; node: string; logger: Logger; clock?: Clock; forwarder?: EventForwarder }

export class EventLog implements SystemEventSink, AuditSink {
  readonly traffic: TrafficEventsRepo;
  readonly systemRepo: SystemEventsRepo;
  readonly auditRepo: AuditRepo;
  private readonly node: string;
  private readonly logger: Logger;
  private readonly clock: Clock;
  forwarder: EventForwarder | undefined;

  constructor(d: EventLogDeps) {
    this.traffic = new TrafficEventsRepo(d.db);
    this.systemRepo = new SystemEventsRepo(d.db);
    this.auditRepo = new AuditRepo(d.db);
    this.node = d.node;
    this.logger = d.logger;
    this.clock = d.clock ?? systemClock;
    this.forwarder = d.forwarder;
  }

  /**
   * The sink disposition records traffic events through: stored, then forwarded (also when storing failed).
   * Write-behind: the SMTP reply does not wait for the event's commit; events are written in batches at most
   * TRAFFIC_LINGER_MS later (reads in this process and Store.close() wait for them; see TrafficEventsRepo.insert).
   * When the store falls behind (more than TRAFFIC_BACKLOG events waiting) each caller waits for its own commit,
   * so memory stays bounded and the mail flow slows down with the store instead of racing ahead of it.
   */
  trafficSink(): TrafficSink {
    return {
      record: async (e: TrafficEvent) => {
        const stored = this.traffic.insert(e, TRAFFIC_LINGER_MS).then(
          (id) => { this.forward('traffic', { ...e, id }); },
          (err: unknown) => {
            this.logger.error({ qid: e.queueId, err: (err as Error).message }, 'traffic event not recorded');
            this.forward('traffic', e);
          },
        );
        if (this.traffic.backlog > TRAFFIC_BACKLOG) await stored;
      },
    };
  }

  async system(e: SystemEventInput): Promise<void> {
    const ev = {
      time: e.time ?? this.clock.now(), node: e.node ?? this.node, type: e.type, severity: e.severity,
      message: String(e.message ?? '').replace(/[\r\n]+/g, ' ').slice(0, 2000), details: e.details ? (redactSecrets(e.details) as Record<string, unknown>) : null,
    };
    let id: number | undefined;
    try {
      if (!(SYSTEM_EVENT_TYPES as readonly string[]).includes(ev.type)) throw new Error(`unknown system event type ${JSON.stringify(ev.type)}`);
      id = await this.systemRepo.insert(ev);
    } catch (err) {
      this.logger.error({ type: ev.type, severity: ev.severity, event: ev.message, err: (err as Error).message }, 'system event not recorded');
    }
    this.forward('system', { ...ev, id });
  }

  async audit(e: AuditEntry): Promise<void> {
    const ev = {
      time: e.time ?? this.clock.now(), actor: e.actor, source: e.source, ip: e.ip ?? null, action: e.action, target: e.target,
      before: e.before === undefined ? undefined : redactSecrets(e.before), after: e.after === undefined ? undefined : redactSecrets(e.after),
    };
    let id: number | undefined;
    try { id = await this.auditRepo.insert(ev); } catch (err) {
      this.logger.error({ actor: ev.actor, action: ev.action, target: ev.target, err: (err as Error).message }, 'audit entry not recorded');
    }
    this.forward('audit', { ...ev, id, node: this.node });
  }

  private forward(kind: EventKind, e: object): void {
    if (!this.forwarder) return;
    try { (this.forwarder.forward as (k: EventKind, e: object) => void)(kind, e); } catch (err) {
      this.logger.error({ kind, err: (err as Error).message }, 'event not handed to the SIEM forwarder');
    }
  }

  // Reading. Filters and pages are validated here (EventQueryError); ids that are not numbers find nothing.

  async listTraffic(filter?: unknown, p?: unknown): Promise<PageResult<StoredTrafficEvent>> {
    return this.traffic.list(parse(trafficFilterSchema, filter), this.pageOf(p));
  }
  async listSystem(filter?: unknown, p?: unknown): Promise<PageResult<SystemEvent>> {
    return this.systemRepo.list(parse(systemFilterSchema, filter), this.pageOf(p));
  }
  async listAudit(filter?: unknown, p?: unknown): Promise<PageResult<AuditEvent>> {
    return this.auditRepo.list(parse(auditFilterSchema, filter), this.pageOf(p));
  }
  getTraffic(id: number): Promise<StoredTrafficEvent | null> { return this.traffic.get(id); }
  getSystem(id: number): Promise<SystemEvent | null> { return this.systemRepo.get(id); }
  getAudit(id: number): Promise<AuditEvent | null> { return this.auditRepo.get(id); }

  /**
   * A streamed export (see export.ts): validated now (throws EventQueryError), read lazily page by page.
   * `limit` caps the number of rows (default: all).
   */
  export(kind: EventKind, format: ExportFormat, filter?: unknown, opts: { limit?: number; pageSize?: number } = {}): Readable {
    if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new EventQueryError([`format: expected one of ${EXPORT_FORMATS.join(', ')}`]);
    const limit = opts.limit ?? Infinity;
    if (!(limit === Infinity || (Number.isSafeInteger(limit) && limit > 0))) throw new EventQueryError(['limit: expected a positive integer']);
    const size = opts.pageSize ?? 1000;
    const pages = kind === 'traffic' ? this.traffic.pages(parse(trafficFilterSchema, filter), size, limit)
      : kind === 'system' ? this.systemRepo.pages(parse(systemFilterSchema, filter), size, limit)
        : kind === 'audit' ? this.auditRepo.pages(parse(auditFilterSchema, filter), size, limit)
          : null;
    if (!pages) throw new EventQueryError([`kind: expected traffic, system or audit`]);
    return exportStream(kind, format, pages);
  }

  private pageOf(p: unknown): Page {
    return parse(pageSchema, p);
  }
}
