/**
 * Prometheus metrics of one node (SPEC §6 metrics), in the text exposition format, from prom-client with a
 * registry of its own (never the global one, so several nodes in one process do not mix). Every series carries
 * the label `node`. The HTTP route (`GET /metrics`, API token required) serves metrics().
 *
 * Counters since the node started (traffic events seen by this node: one per message copy per rule group):
 *   moat_messages_total{action}, moat_message_bytes_total, moat_module_status_total{module,status},
 *   moat_scan_failures_total, moat_stats_flush_failures_total, moat_stats_dropped_keys_total.
 * Histograms: moat_scan_duration_seconds{module} (each module's own time, from the findings),
 *   moat_message_scan_duration_seconds (a whole scan on the main thread's clock, waiting for a worker included).
 * Gauges read at scrape time: moat_queue_messages{state} (queued, held: the store's queue of this node),
 *   moat_queue_delivering, moat_smtp_sessions, moat_engine_up{engine}, moat_engine_database_age_seconds{engine},
 *   moat_settings_version, moat_stats_pending_keys, moat_build_info{version}; process_* and nodejs_* metrics
 *   (prom-client's default collectors).
 * A source that fails at scrape time (the store unreachable) leaves its series out of that scrape, logged at
 * debug, and never fails the scrape. Labels come only from the SPEC vocabulary (buckets.ts), so the number of
 * series is bounded whatever the traffic.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../platform/logger.ts';
import type { TrafficEvent } from '../disposition/intake.ts';
import type { ScanResult } from '../scan/pipeline.ts';
import { MODULES, STATUSES } from '../scan/types.ts';
import { COUNTED_ACTIONS, actionKey, moduleKey } from './buckets.ts';
import type { EngineState } from './engines.ts';
import type { TrafficObserver } from './recorder.ts';

export interface MetricsSources {
  node: string;
  version: string;
  logger?: Logger;
  settingsVersion?: () => number;
  queueStates?: () => Promise<Record<string, number>>;
  delivering?: () => number;
  smtpSessions?: () => number;
  engines?: () => Promise<EngineState[]>;
  stats?: () => { pendingKeys: number; failures: number; dropped: number };
  /** prom-client's process and Node.js metrics (default true). */
  processMetrics?: boolean;
}

/** Seconds: from a few milliseconds (clean text mail) to the 180 s scan limit. */
const SCAN_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180];

export class MoatMetrics implements TrafficObserver {
  readonly registry = new Registry();
  private readonly messages: Counter<'action'>;
  private readonly bytes: Counter;
  private readonly moduleStatus: Counter<'module' | 'status'>;
  private readonly scanFailures: Counter;
  private readonly moduleDuration: Histogram<'module'>;
  private readonly scanDuration: Histogram;

  constructor(src: MetricsSources) {
    const registers = [this.registry];
    const log = (what: string, err: unknown) => src.logger?.debug({ err: (err as Error)?.message, metric: what }, 'metric source failed at scrape');
    this.registry.setDefaultLabels({ node: src.node });
    this.messages = new Counter({ name: 'moat_messages_total', help: 'Messages processed (one per message copy and rule group), by final action', labelNames: ['action'], registers });
    this.bytes = new Counter({ name: 'moat_message_bytes_total', help: 'Bytes of the messages processed', registers });
    this.moduleStatus = new Counter({ name: 'moat_module_status_total', help: 'Module statuses of the messages processed', labelNames: ['module', 'status'], registers });
    this.scanFailures = new Counter({ name: 'moat_scan_failures_total', help: 'Scans that failed as a whole (worker crash, task error); every module of the message is error', registers });
    this.moduleDuration = new Histogram({ name: 'moat_scan_duration_seconds', help: 'Time one module spent on one message', labelNames: ['module'], buckets: SCAN_BUCKETS, registers });
    this.scanDuration = new Histogram({ name: 'moat_message_scan_duration_seconds', help: 'Time of a whole scan of one message, waiting for a worker included', buckets: SCAN_BUCKETS, registers });
    // Every known label set starts at 0, so rate() and dashboards see the series from the first scrape.
    for (const a of COUNTED_ACTIONS) this.messages.inc({ action: a }, 0);
    for (const m of MODULES) for (const s of STATUSES[m]) this.moduleStatus.inc({ module: m, status: s }, 0);

    new Gauge({ name: 'moat_build_info', help: 'Moat version of this node (value 1)', labelNames: ['version'], registers }).set({ version: src.version }, 1);
    if (src.settingsVersion) {
      const f = src.settingsVersion;
      new Gauge({ name: 'moat_settings_version', help: 'Version of the settings in force on this node', registers, collect() { this.set(f()); } });
    }
    if (src.queueStates) {
      const f = src.queueStates;
      new Gauge({
        name: 'moat_queue_messages', help: "Messages in this node's delivery queue, by state", labelNames: ['state'], registers,
        async collect() {
          this.reset();
          try { for (const [state, n] of Object.entries(await f())) this.set({ state }, n); } catch (err) { log('moat_queue_messages', err); }
        },
      });
    }
    if (src.delivering) {
      const f = src.delivering;
      new Gauge({ name: 'moat_queue_delivering', help: 'Deliveries in progress on this node', registers, collect() { this.set(f()); } });
    }
    if (src.smtpSessions) {
      const f = src.smtpSessions;
      new Gauge({ name: 'moat_smtp_sessions', help: 'SMTP sessions open on this node', registers, collect() { this.set(f()); } });
    }
    if (src.engines) {
      const f = src.engines;
      let last: Promise<EngineState[]> | null = null;
      // Both gauges read one probe per scrape.
      const states = () => (last ??= f().catch((err) => { log('moat_engine_up', err); return []; }).finally(() => setImmediate(() => { last = null; })));
      new Gauge({
        name: 'moat_engine_up', help: 'Anti-virus engine usable (1) or not (0)', labelNames: ['engine'], registers,
        async collect() { this.reset(); for (const s of await states()) this.set({ engine: s.engine }, s.up ? 1 : 0); },
      });
      new Gauge({
        name: 'moat_engine_database_age_seconds', help: "Age of the engine's signature database", labelNames: ['engine'], registers,
        async collect() { this.reset(); for (const s of await states()) if (s.databaseAgeSeconds !== undefined) this.set({ engine: s.engine }, Math.round(s.databaseAgeSeconds)); },
      });
    }
    if (src.stats) {
      const f = src.stats;
      new Gauge({ name: 'moat_stats_pending_keys', help: 'Dashboard counter keys waiting to be written to the store', registers, collect() { this.set(f().pendingKeys); } });
      // Counters mirrored from the recorder at scrape time.
      new Counter({ name: 'moat_stats_flush_failures_total', help: 'Failed writes of the dashboard statistics (counts kept for the next write)', registers,
        collect() { this.reset(); this.inc(f().failures); } });
      new Counter({ name: 'moat_stats_dropped_keys_total', help: 'Dashboard counter keys dropped because the store could not be written for too long', registers,
        collect() { this.reset(); this.inc(f().dropped); } });
    }
    if (src.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Counts one traffic event (TrafficObserver; synchronous, never throws for an odd event). */
  observe(e: TrafficEvent): void {
    this.messages.inc({ action: actionKey(e.action).slice('action:'.length) });
    if (Number.isFinite(e.size) && e.size > 0) this.bytes.inc(e.size);
    for (const [m, r] of Object.entries(e.modules ?? {})) {
      const [, module, status] = moduleKey(m, String(r?.status)).split(':');
      this.moduleStatus.inc({ module, status });
    }
  }

  /** Times one scan: the whole scan (seconds on the caller's clock) and each module's own time. */
  observeScan(result: ScanResult | null, seconds: number): void {
    if (!result) { this.scanFailures.inc(); return; }
    this.scanDuration.observe(seconds);
    for (const f of Object.values(result.findings)) {
      if (typeof f.ms === 'number' && (MODULES as readonly string[]).includes(f.module)) this.moduleDuration.observe({ module: f.module }, f.ms / 1000);
    }
  }

  /** The exposition text and its content type, for the HTTP route. */
  async metrics(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
