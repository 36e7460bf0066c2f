/**
 * Event log retention (SPEC §6): a sweep deletes, per kind, the events older than `events.retention.<kind>.days`
 * and then the oldest beyond `maxRows` (src/events/settings.ts), 1,000 rows per statement with a pause between
 * batches so the mail flow's own writes are not held up. Runs once at start and hourly (`start()`); a deletion
 * because of the row limit records the system event `events.limit_reached` (warning) with the kind and count.
 * A failing sweep is logged and tried again at the next hour; it never throws into its caller.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import type { Logger } from '../platform/logger.ts';
import { systemClock, type Clock } from '../platform/clock.ts';
import { deleteOlderThan, trimToRows, type EventTable } from '../store/events-retention.ts';
import type { EventsSettings } from './settings.ts';
import type { SystemEventSink } from './types.ts';
import type { EventKind } from './query.ts';

const TABLES: Record<EventKind, EventTable> = { traffic: 'traffic_events', system: 'system_events', audit: 'audit_events' };
const DAY = 86_400_000;

export interface SweepResult { kind: EventKind; byAge: number; bySize: number }

export interface RetentionDeps {
  db: Kysely<Database>;
  settings: () => EventsSettings;
  events: SystemEventSink;
  logger: Logger;
  clock?: Clock;
  batch?: number;
}

export class RetentionSweeper {
  private readonly d: RetentionDeps;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SweepResult[]> | undefined;

  constructor(d: RetentionDeps) { this.d = d; }

  /** One sweep over the three kinds; concurrent calls share the sweep in progress. */
  sweep(): Promise<SweepResult[]> {
    this.running ??= this.run().finally(() => { this.running = undefined; });
    return this.running;
  }

  /** Sweeps now (in the background) and every `intervalMs` (default one hour). */
  start(intervalMs = 3_600_000): void {
    const go = () => { void this.sweep().catch(() => {}); };
    go();
    this.timer = setInterval(go, intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a sweep in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
  }

  private async run(): Promise<SweepResult[]> {
    const s = this.d.settings().retention;
    const now = (this.d.clock ?? systemClock).now();
    const batch = this.d.batch ?? 1000;
    const pause = () => new Promise<void>((r) => setImmediate(r));
    const results: SweepResult[] = [];
    for (const kind of ['traffic', 'system', 'audit'] as const) {
      const table = TABLES[kind];
      const r = s[kind];
      const res: SweepResult = { kind, byAge: 0, bySize: 0 };
      try {
        if (r.days > 0) res.byAge = await deleteOlderThan(this.d.db, table, now - r.days * DAY, batch, pause);
        if (r.maxRows > 0) res.bySize = await trimToRows(this.d.db, table, r.maxRows, batch, pause);
      } catch (err) {
        this.d.logger.error({ kind, err: (err as Error).message }, 'event retention sweep failed; tried again at the next sweep');
      }
      if (res.byAge || res.bySize) this.d.logger.info({ kind, byAge: res.byAge, bySize: res.bySize }, 'old events deleted');
      if (res.bySize) {
        await this.d.events.system({
          type: 'events.limit_reached', severity: 'warning',
          message: `${res.bySize} ${kind} event(s) deleted: more than events.retention.${kind}.maxRows (${r.maxRows})`,
          details: { kind, deleted: res.bySize, maxRows: r.maxRows },
        });
      }
      results.push(res);
    }
    return results;
  }
}
