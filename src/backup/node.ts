/**
 * The Backup on a running node: the service (kept originals, operations), the digest, and their timers — the
 * sweep (retention, cap, half-written contents) every `backup.sweepInterval` seconds, first one minute after the
 * start, and the digest scheduler. `stop()` clears the timers; a sweep or digest run under way finishes on its
 * own (the node closes the store after its dispositions settle).
 */
import type { Logger } from '../platform/logger.ts';
import type { Clock } from '../platform/clock.ts';
import type { Store } from '../store/db.ts';
import type { Settings } from '../config/settings-schema.ts';
import type { SystemEventSink } from '../events/types.ts';
import { BackupRepo } from '../store/backup-repo.ts';
import { SecretsRepo } from '../store/secrets-repo.ts';
import { BackupService, type BackupQueue } from './service.ts';
import { DigestService } from './digest.ts';

export interface NodeBackup {
  service: BackupService;
  digest: DigestService;
  stop(): void;
}

export interface NodeBackupOptions {
  store: Store;
  settings: { snapshot(): Settings };
  node: string;
  key: Buffer | null;
  queue: BackupQueue;
  logger: Logger;
  clock?: Clock;
  events?: SystemEventSink;
  /** Timers off (tests that drive sweep/digest themselves; the CLI). */
  timers?: boolean;
}

export function startBackup(o: NodeBackupOptions): NodeBackup {
  const repo = new BackupRepo(o.store.db);
  const service = new BackupService({ repo, settings: o.settings, node: o.node, key: o.key, logger: o.logger, queue: o.queue, clock: o.clock, events: o.events });
  const digest = new DigestService({ repo, settings: o.settings, queue: o.queue, secrets: new SecretsRepo(o.store.db), logger: o.logger, clock: o.clock });
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const sweepLater = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      service.sweep().catch((err) => o.logger.error({ err: (err as Error).message }, 'backup sweep failed'))
        .finally(() => sweepLater(o.settings.snapshot().backup.sweepInterval * 1000));
    }, ms);
    timer.unref();
  };
  if (o.timers !== false) {
    sweepLater(60_000);
    digest.start();
  }
  return {
    service, digest,
    stop() { stopped = true; clearTimeout(timer); digest.stop(); },
  };
}
