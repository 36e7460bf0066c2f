/**
 * The event log of a running node (used by src/node.ts): the EventLog service, its SIEM forwarder (settings
 * `siem`, applied again whenever the settings change) and the retention sweep (at start, then hourly), plus the
 * `product.started` / `product.stopped` system events. `stop()` records `product.stopped`, lets the SIEM send what
 * is queued (up to 2 s), and stops the sweep; the store is closed by the caller afterwards.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import type { Logger } from '../platform/logger.ts';
import type { Clock } from '../platform/clock.ts';
import type { SettingsService } from '../config/settings.ts';
import { EventLog } from './service.ts';
import { SiemForwarder } from './siem.ts';
import { RetentionSweeper } from './retention.ts';

export interface NodeEvents {
  log: EventLog;
  siem: SiemForwarder;
  retention: RetentionSweeper;
  /** Records product.started (call once the node is up). */
  started(details?: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

export function startEvents(d: { db: Kysely<Database>; node: string; version: string; settings: SettingsService; logger: Logger; clock?: Clock; retentionIntervalMs?: number }): NodeEvents {
  const siem = new SiemForwarder({ node: d.node, version: d.version, logger: d.logger });
  const apply = () => { const s = d.settings.snapshot(); siem.apply(s.siem, s.mta.hostname); };
  apply();
  d.settings.on('change', apply);
  const log = new EventLog({ db: d.db, node: d.node, logger: d.logger, clock: d.clock, forwarder: siem });
  const retention = new RetentionSweeper({ db: d.db, settings: () => d.settings.snapshot().events, events: log, logger: d.logger, clock: d.clock });
  retention.start(d.retentionIntervalMs);
  let stopped = false;
  return {
    log, siem, retention,
    started: (details) => log.system({ type: 'product.started', severity: 'info', message: `Moat ${d.version} started on node ${d.node}`, details: { version: d.version, ...details } }),
    async stop() {
      if (stopped) return;
      stopped = true;
      d.settings.off('change', apply);
      await retention.stop();
      await log.traffic.flush(); // the write-behind traffic events, before the SIEM queues drain
      await log.system({ type: 'product.stopped', severity: 'info', message: `Moat stopped on node ${d.node}`, details: { version: d.version } });
      await siem.close();
    },
  };
}
