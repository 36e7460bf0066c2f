/**
 * Counts traffic events into the dashboard statistics: in memory per minute bucket and counter key, written to
 * the store every few seconds (default 5 s) and at stop() as minute, hour and day rows (buckets.ts) in one
 * transaction of a few multi-row upserts (StatsRepo.add), so the store sees a handful of statements per flush
 * however much mail passes.
 *
 * Never disturbs the mail flow: observe() is synchronous and cannot throw; a failed flush is logged and its
 * counts are merged back for the next flush. What waits is bounded (default 100,000 minute-bucket keys, a few
 * days of a busy node's counts); beyond it the oldest buckets are dropped, counted in `dropped` and logged.
 * Also prunes each level past its retention (buckets.ts RETENTION_MS) at most once an hour.
 *
 * Hostile input: the event's strings are mapped to the SPEC vocabulary (buckets.ts keys) before they become
 * keys; sizes that are not finite non-negative numbers count as 0 bytes.
 */
import type { Logger } from '../platform/logger.ts';
import type { Clock } from '../platform/clock.ts';
import type { TrafficEvent } from '../disposition/intake.ts';
import type { CounterRow, StatsRepo } from '../store/stats-repo.ts';
import { LEVELS, RETENTION_MS, actionKey, bucketStart, moduleKey } from './buckets.ts';

export interface TrafficObserver { observe(e: TrafficEvent): void }

export interface RecorderOptions {
  repo: Pick<StatsRepo, 'add' | 'prune'>;
  logger: Logger;
  clock?: Clock;
  /** Milliseconds between flushes (default 5000; 0 = only on flush()/stop()). */
  flushMs?: number;
  /** Most minute-bucket keys kept waiting (default 100,000). */
  maxPending?: number;
  /** Milliseconds between prunes (default 1 h; 0 = never automatically). */
  pruneMs?: number;
}

const SEP = '\u0000';

export class StatsRecorder implements TrafficObserver {
  private readonly o: Required<Omit<RecorderOptions, 'clock'>> & { clock: Clock };
  /** `${minuteBucket}\0${node}\0${key}` → count. */
  private pending = new Map<string, number>();
  private flushing: Promise<boolean> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastPrune = 0;
  /** Counts dropped because too much waited while the store could not be written. */
  dropped = 0;
  /** Flushes that failed (and kept their counts). */
  failures = 0;

  constructor(opts: RecorderOptions) {
    this.o = { flushMs: 5000, maxPending: 100_000, pruneMs: 3_600_000, clock: { now: () => Date.now() }, ...opts };
    // An option passed as undefined (Monitor hands on its own optional flushMs) keeps the default.
    this.o.flushMs = opts.flushMs ?? 5000;
    this.o.maxPending = opts.maxPending ?? 100_000;
    this.o.pruneMs = opts.pruneMs ?? 3_600_000;
    if (this.o.flushMs > 0) {
      this.timer = setInterval(() => void this.flush(), this.o.flushMs);
      this.timer.unref();
    }
  }

  /** Keys waiting to be written. */
  get pendingKeys(): number { return this.pending.size; }

  observe(e: TrafficEvent): void {
    try {
      const t = Number.isFinite(e.time) ? e.time : this.o.clock.now();
      const prefix = `${bucketStart('minute', t)}${SEP}${String(e.node)}${SEP}`;
      const size = Number.isFinite(e.size) && e.size > 0 ? Math.floor(e.size) : 0;
      this.add(prefix + 'messages', 1);
      if (size) this.add(prefix + 'bytes', size);
      this.add(prefix + actionKey(e.action), 1);
      for (const [module, r] of Object.entries(e.modules ?? {})) this.add(prefix + moduleKey(module, String(r?.status)), 1);
      this.bound();
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'statistics: event not counted');
    }
  }

  private add(k: string, n: number): void {
    this.pending.set(k, (this.pending.get(k) ?? 0) + n);
  }

  /** Drops the oldest minute buckets while more than maxPending keys wait. */
  private bound(): void {
    if (this.pending.size <= this.o.maxPending) return;
    const keys = [...this.pending.keys()].sort((a, b) => Number(a.split(SEP)[0]) - Number(b.split(SEP)[0]));
    let lost = 0;
    for (const k of keys.slice(0, this.pending.size - this.o.maxPending)) {
      lost += k.endsWith(`${SEP}messages`) ? this.pending.get(k)! : 0;
      this.pending.delete(k);
      this.dropped++;
    }
    this.o.logger.error({ droppedKeys: this.dropped, messages: lost }, 'statistics: too many counts waiting for the store; oldest dropped');
  }

  /** The rows a set of minute-bucket counts makes: one per level, merged by primary key. */
  static rows(counts: ReadonlyMap<string, number>): CounterRow[] {
    const out = new Map<string, CounterRow>();
    for (const [k, count] of counts) {
      const [minute, node, key] = k.split(SEP);
      for (const level of LEVELS) {
        const bucket = bucketStart(level, Number(minute));
        const id = `${level}${SEP}${bucket}${SEP}${node}${SEP}${key}`;
        const row = out.get(id);
        if (row) row.count += count; else out.set(id, { level, bucket, node, key, count });
      }
    }
    return [...out.values()];
  }

  /**
   * Writes what waits; resolves true when it was written (or nothing waited), false when the store refused
   * it (the counts wait for the next flush). Never rejects. Concurrent calls share one flush.
   */
  flush(): Promise<boolean> {
    if (this.flushing) return this.flushing.then(() => this.flush());
    this.flushing = this.flushNow().finally(() => { this.flushing = null; });
    return this.flushing;
  }

  private async flushNow(): Promise<boolean> {
    await this.maybePrune();
    if (!this.pending.size) return true;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.o.repo.add(StatsRecorder.rows(batch));
      return true;
    } catch (err) {
      this.failures++;
      for (const [k, n] of batch) this.add(k, n);
      this.bound();
      this.o.logger.warn({ err: (err as Error).message, keys: this.pending.size }, 'statistics could not be written; kept for the next flush');
      return false;
    }
  }

  private async maybePrune(): Promise<void> {
    const now = this.o.clock.now();
    if (!this.o.pruneMs || now - this.lastPrune < this.o.pruneMs) return;
    this.lastPrune = now;
    await this.prune(now);
  }

  /** Deletes buckets past each level's retention. Never rejects. */
  async prune(now = this.o.clock.now()): Promise<void> {
    for (const level of LEVELS) {
      try {
        await this.o.repo.prune(level, bucketStart(level, now - RETENTION_MS[level]));
      } catch (err) {
        this.o.logger.warn({ err: (err as Error).message, level }, 'statistics: old buckets could not be pruned');
      }
    }
  }

  /** Stops the timer and writes what waits (one attempt). */
  async stop(): Promise<boolean> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const ok = await this.flush();
    if (!ok) this.o.logger.error({ keys: this.pending.size }, 'statistics not written at stop; these counts are lost');
    return ok;
  }
}
