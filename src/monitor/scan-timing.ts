/**
 * Wraps the scanning port disposition uses (the worker pool) to time each scan for the metrics and to let the
 * engine health see anti-virus findings. The request and the result pass through unchanged, a rejection is
 * re-thrown as it came; observers are synchronous and a throwing observer is ignored (never the scan's fault).
 */
import type { Scanning } from '../disposition/intake.ts';
import type { ScanRequest, ScanResult } from '../scan/pipeline.ts';

/** Sees every scan: the result (null when the scan failed as a whole) and its wall-clock time in seconds. */
export interface ScanObserver { observeScan(result: ScanResult | null, seconds: number): void }

export class TimedScanning implements Scanning {
  private readonly inner: Scanning;
  private readonly observers: readonly ScanObserver[];

  constructor(inner: Scanning, observers: readonly ScanObserver[]) {
    this.inner = inner;
    this.observers = observers;
  }

  async scan(req: ScanRequest): Promise<ScanResult> {
    const started = performance.now();
    let result: ScanResult | null = null;
    try {
      result = await this.inner.scan(req);
      return result;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      for (const o of this.observers) {
        try { o.observeScan(result, seconds); } catch { /* an observer's bug is not the scan's */ }
      }
    }
  }
}
