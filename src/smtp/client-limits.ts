/**
 * Per-client limits, counted per client IP on this node: simultaneous connections, new connections per minute
 * and messages per minute (sliding one-minute windows of per-second buckets), plus the total number of sessions.
 * Trusted networks are not exempt from the concurrency limits (a runaway internal host must not starve others)
 * but are exempt from the per-minute rates, as Postfix's anvil exempts mynetworks by default.
 * Memory is bounded: idle entries are swept every minute.
 */
const WINDOW = 60;

/** Events in the last 60 seconds, in one-second buckets. */
class RateWindow {
  private readonly counts = new Array<number>(WINDOW).fill(0);
  private readonly stamps = new Array<number>(WINDOW).fill(-1);

  /** Adds one event at `sec` and returns the number in the window ending then. */
  add(sec: number): number {
    const slot = sec % WINDOW;
    if (this.stamps[slot] !== sec) { this.stamps[slot] = sec; this.counts[slot] = 0; }
    this.counts[slot]++;
    let sum = 0;
    for (let i = 0; i < WINDOW; i++) if (this.stamps[i] > sec - WINDOW) sum += this.counts[i];
    return sum;
  }
}

interface Entry { conns: number; connRate: RateWindow; msgRate: RateWindow; lastSeen: number }

export class ClientLimits {
  private readonly clients = new Map<string, Entry>();
  total = 0;
  private readonly sweeper: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  private entry(ip: string): Entry {
    let e = this.clients.get(ip);
    if (!e) this.clients.set(ip, (e = { conns: 0, connRate: new RateWindow(), msgRate: new RateWindow(), lastSeen: 0 }));
    e.lastSeen = this.now();
    return e;
  }

  /** Counts a new connection; returns the reason to refuse it, or null. Call `close` for every accepted one. */
  open(ip: string, limits: { maxConnections: number; connectionsPerClient: number; connectionRatePerClient: number }, exemptRates: boolean): 'total' | 'client' | 'rate' | null {
    if (this.total >= limits.maxConnections) return 'total';
    const e = this.entry(ip);
    if (e.conns >= limits.connectionsPerClient) return 'client';
    if (limits.connectionRatePerClient > 0 && !exemptRates && e.connRate.add(Math.floor(this.now() / 1000)) > limits.connectionRatePerClient) return 'rate';
    e.conns++;
    this.total++;
    return null;
  }

  close(ip: string): void {
    const e = this.clients.get(ip);
    if (e && e.conns > 0) { e.conns--; this.total--; }
  }

  /** Counts a message (at MAIL FROM); false when the client is over its per-minute message rate. */
  message(ip: string, perMinute: number, exempt: boolean): boolean {
    if (perMinute <= 0 || exempt) return true;
    return this.entry(ip).msgRate.add(Math.floor(this.now() / 1000)) <= perMinute;
  }

  private sweep(): void {
    const cutoff = this.now() - 2 * WINDOW * 1000;
    for (const [ip, e] of this.clients) if (e.conns === 0 && e.lastSeen < cutoff) this.clients.delete(ip);
  }

  stop(): void { clearInterval(this.sweeper); }
}
