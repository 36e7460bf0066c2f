/**
 * The monitoring service of one node, as the composition root (src/node.ts) and the HTTP routes use it:
 *   - trafficSink(inner): the TrafficSink to give disposition; counts every traffic event into the dashboard
 *     statistics (StatsRecorder → store) and the Prometheus counters, then forwards to `inner`;
 *   - scanning(inner): the scanning port to give disposition; times scans and notes engine health;
 *   - attach(live): gauges read from parts started later (SMTP sessions, deliveries in progress);
 *   - stats: dashboard queries (DashboardStats: totals, series by period, step and node);
 *   - metrics(): the Prometheus text for `GET /metrics`;
 *   - stop(): writes the counts still in memory (call before the store closes).
 * Nothing here can stop mail: every failure is logged and counted (see recorder.ts, metrics.ts).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import type { Logger } from '../platform/logger.ts';
import type { Clock } from '../platform/clock.ts';
import type { Settings } from '../config/settings-schema.ts';
import type { Scanning, TrafficSink } from '../disposition/intake.ts';
import { StatsRepo } from '../store/stats-repo.ts';
import { StatsRecorder } from './recorder.ts';
import { ObservedSink } from './sink.ts';
import { DashboardStats } from './dashboard.ts';
import { MoatMetrics } from './metrics.ts';
import { EngineHealth } from './engines.ts';
import { TimedScanning } from './scan-timing.ts';

export interface MonitorOptions {
  node: string;
  version: string;
  db: Kysely<Database>;
  logger: Logger;
  clock?: Clock;
  /** The settings in force and their version (SettingsService). */
  settings: { snapshot(): Settings; readonly version: number };
  /** Milliseconds between statistics writes (default 5000). */
  flushMs?: number;
  /** prom-client's process metrics (default true). */
  processMetrics?: boolean;
}

export interface LiveSources { smtpSessions?: () => number; delivering?: () => number }

export class Monitor {
  readonly repo: StatsRepo;
  readonly recorder: StatsRecorder;
  readonly stats: DashboardStats;
  readonly metricsRegistry: MoatMetrics;
  readonly engines: EngineHealth;
  private readonly logger: Logger;
  private live: LiveSources = {};

  constructor(o: MonitorOptions) {
    const clock = o.clock ?? { now: () => Date.now() };
    this.logger = o.logger;
    this.repo = new StatsRepo(o.db);
    this.recorder = new StatsRecorder({ repo: this.repo, logger: o.logger, clock, flushMs: o.flushMs });
    this.stats = new DashboardStats(this.repo, clock);
    this.engines = new EngineHealth({ settings: () => o.settings.snapshot(), now: () => clock.now() });
    this.metricsRegistry = new MoatMetrics({
      node: o.node, version: o.version, logger: o.logger, processMetrics: o.processMetrics,
      settingsVersion: () => o.settings.version,
      queueStates: () => this.repo.queueStates(o.node),
      smtpSessions: () => this.live.smtpSessions?.() ?? 0,
      delivering: () => this.live.delivering?.() ?? 0,
      engines: () => this.engines.states(),
      stats: () => ({ pendingKeys: this.recorder.pendingKeys, failures: this.recorder.failures, dropped: this.recorder.dropped }),
    });
  }

  trafficSink(inner: TrafficSink | undefined): TrafficSink {
    return new ObservedSink(inner, [this.recorder, this.metricsRegistry], this.logger);
  }

  scanning(inner: Scanning): Scanning {
    return new TimedScanning(inner, [this.metricsRegistry, { observeScan: (r) => this.engines.observeScan(r) }]);
  }

  attach(live: LiveSources): void { this.live = { ...this.live, ...live }; }

  metrics(): Promise<{ contentType: string; body: string }> { return this.metricsRegistry.metrics(); }

  /** Writes what is still counted in memory; resolves false when the store refused it. */
  stop(): Promise<boolean> { return this.recorder.stop(); }
}
