/**
 * A TrafficSink that shows every traffic event to observers (statistics, Prometheus counters) and then forwards
 * it to the inner sink (the store's traffic events, or another wrapper such as SIEM forwarding). Composable:
 * wrappers nest in any order, and disposition (src/disposition/intake.ts) sees one sink.
 *
 * Observers are synchronous and must not throw; one that does is logged and the others still run. The inner
 * sink's result (including its rejection) is passed back unchanged, so disposition logs a failed event write as
 * before; counting never depends on that write.
 */
import type { TrafficEvent, TrafficSink } from '../disposition/intake.ts';
import type { Logger } from '../platform/logger.ts';
import type { TrafficObserver } from './recorder.ts';

export class ObservedSink implements TrafficSink {
  private readonly inner: TrafficSink | undefined;
  private readonly observers: readonly TrafficObserver[];
  private readonly logger: Logger | undefined;

  constructor(inner: TrafficSink | undefined, observers: readonly TrafficObserver[], logger?: Logger) {
    this.inner = inner;
    this.observers = observers;
    this.logger = logger;
  }

  record(e: TrafficEvent): Promise<void> {
    for (const o of this.observers) {
      try { o.observe(e); } catch (err) { this.logger?.warn({ err: (err as Error).message }, 'traffic observer failed'); }
    }
    return this.inner ? this.inner.record(e) : Promise.resolve();
  }
}
