/**
 * SIEM forwarding (SPEC §6): every recorded traffic, system and audit event, as an RFC 5424 syslog message with a
 * CEF payload (src/events/cef.ts, src/events/syslog.ts), to each configured target that takes its kind, over
 *   - UDP (RFC 5426): one message per datagram, cut to `maxMessageSize` (default 2048 bytes);
 *   - TCP (RFC 6587 octet counting) or TLS (RFC 5425, octet counting; CA, verification, server name and an
 *     optional client certificate from the target's `tls` settings), default limit 8192 bytes.
 *
 * Never in the mail flow's way: `forward()` formats and queues and returns at once. Each target has a bounded
 * queue (`queueSize`, default 10,000 messages); when it is full new messages are dropped and counted. A TCP/TLS
 * target connects when it has something to send and reconnects after a failure with exponential backoff (1 s
 * doubling to 60 s). Delivery is at most once: a message already written to a connection that then breaks may be
 * lost (plain syslog has no acknowledgements). Drops and failures are logged (at most once a minute per target,
 * with counts) and counted: `stats()` and the Prometheus counter `moat_siem_messages_total{target,outcome}`.
 *
 * Hostile input: event fields come from outside; CEF escaping keeps them inside their field, and the syslog
 * header fields are reduced to printable ASCII.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { Counter, register } from 'prom-client';
import type { Logger } from '../platform/logger.ts';
import type { TrafficEvent } from '../disposition/intake.ts';
import type { EventKind } from './query.ts';
import type { SiemSettings, SiemTarget } from './settings.ts';
import type { EventForwarder } from './service.ts';
import { auditCef, formatCef, systemCef, trafficCef, type CefEvent } from './cef.ts';
import { encodeLimited, formatSyslog, octetFrame, syslogSeverity } from './syslog.ts';

export interface TargetStats { name: string; transport: string; queued: number; sent: number; dropped: number; failed: number; truncated: number; connected: boolean }

function counter(): Counter<'target' | 'outcome'> {
  const existing = register.getSingleMetric('moat_siem_messages_total');
  if (existing) return existing as Counter<'target' | 'outcome'>;
  return new Counter({ name: 'moat_siem_messages_total', help: 'SIEM syslog messages by target and outcome (sent, dropped, failed, truncated)', labelNames: ['target', 'outcome'] });
}

const MAX_BACKOFF = 60_000;

/** One receiver: a bounded queue of encoded messages and its connection. */
class TargetSender {
  readonly cfg: SiemTarget;
  readonly name: string;
  private readonly logger: Logger;
  private readonly metric = counter();
  private queue: Buffer[] = [];
  private head = 0;
  private sent = 0;
  private dropped = 0;
  private failed = 0;
  private truncated = 0;
  private lastWarn = 0;
  private unwarned = { dropped: 0, failed: 0 };
  private closed = false;
  // UDP
  private udp: dgram.Socket | undefined;
  private inflight = 0;
  // TCP / TLS
  private socket: net.Socket | undefined;
  private connected = false;
  private writable = true;
  private backoff = 1000;
  private retryTimer: NodeJS.Timeout | undefined;
  private idle: (() => void)[] = [];

  constructor(cfg: SiemTarget, logger: Logger) {
    this.cfg = cfg;
    this.name = cfg.name ?? `${cfg.host}:${this.port}`;
    this.logger = logger.child({ siem: this.name });
  }

  get port(): number { return this.cfg.port ?? (this.cfg.transport === 'tls' ? 6514 : 514); }
  get maxSize(): number { return this.cfg.maxMessageSize ?? (this.cfg.transport === 'udp' ? 2048 : 8192); }
  get length(): number { return this.queue.length - this.head; }

  stats(): TargetStats {
    return { name: this.name, transport: this.cfg.transport, queued: this.length, sent: this.sent, dropped: this.dropped, failed: this.failed, truncated: this.truncated, connected: this.cfg.transport === 'udp' ? !!this.udp : this.connected };
  }

  enqueue(message: string): void {
    if (this.closed) return;
    if (this.length >= this.cfg.queueSize) {
      this.dropped++;
      this.unwarned.dropped++;
      this.metric.inc({ target: this.name, outcome: 'dropped' });
      this.warn();
      return;
    }
    const { bytes, truncated } = encodeLimited(message, this.maxSize);
    if (truncated) { this.truncated++; this.metric.inc({ target: this.name, outcome: 'truncated' }); }
    this.queue.push(this.cfg.transport === 'udp' ? bytes : octetFrame(bytes));
    this.pump();
  }

  private take(): Buffer | undefined {
    if (this.head >= this.queue.length) return undefined;
    const b = this.queue[this.head++];
    if (this.head > 1024 && this.head * 2 > this.queue.length) { this.queue = this.queue.slice(this.head); this.head = 0; }
    return b;
  }

  private pump(): void {
    if (this.closed && !this.draining) return;
    if (this.cfg.transport === 'udp') return this.pumpUdp();
    if (!this.connected) { this.connect(); return; }
    while (this.writable && this.length) {
      const b = this.take()!;
      this.writable = this.socket!.write(b);
      this.sent++;
      this.metric.inc({ target: this.name, outcome: 'sent' });
    }
    if (!this.length) this.settle();
  }

  private pumpUdp(): void {
    if (!this.udp) {
      this.udp = dgram.createSocket(net.isIPv6(this.cfg.host) ? 'udp6' : 'udp4');
      this.udp.on('error', (err) => this.fail(err));
      this.udp.unref();
    }
    while (this.inflight < 64 && this.length) {
      const b = this.take()!;
      this.inflight++;
      this.udp.send(b, this.port, this.cfg.host, (err) => {
        this.inflight--;
        if (err) this.fail(err, 1); else { this.sent++; this.metric.inc({ target: this.name, outcome: 'sent' }); }
        this.pump();
      });
    }
    if (!this.length && !this.inflight) this.settle();
  }

  private connect(): void {
    if (this.socket || this.retryTimer || this.closed) return;
    const t = this.cfg.tls;
    const sock = this.cfg.transport === 'tls'
      ? tls.connect({
        host: this.cfg.host, port: this.port, ca: t.ca ?? undefined, rejectUnauthorized: t.verify, cert: t.cert ?? undefined, key: t.key ?? undefined,
        servername: t.serverName ?? (net.isIP(this.cfg.host) ? undefined : this.cfg.host),
      })
      : net.connect({ host: this.cfg.host, port: this.port });
    this.socket = sock;
    sock.setKeepAlive(true, 60_000);
    sock.setTimeout(30_000, () => { if (!this.connected) sock.destroy(new Error('connect timeout')); });
    sock.on(this.cfg.transport === 'tls' ? 'secureConnect' : 'connect', () => {
      this.connected = true;
      this.writable = true;
      sock.setTimeout(0);
      this.backoff = 1000;
      this.logger.info({ transport: this.cfg.transport }, 'SIEM target connected');
      this.pump();
    });
    sock.on('drain', () => { this.writable = true; this.pump(); });
    sock.on('data', () => {}); // receivers do not answer; anything read is ignored
    sock.on('error', (err) => this.fail(err));
    sock.on('close', () => {
      const was = this.connected;
      this.connected = false;
      this.socket = undefined;
      if (this.closed) { this.settle(); return; }
      if (was) this.logger.warn('SIEM target connection closed');
      if (this.length) this.scheduleRetry();
    });
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return;
    const wait = this.backoff;
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF);
    this.retryTimer = setTimeout(() => { this.retryTimer = undefined; this.pump(); }, wait);
    this.retryTimer.unref();
  }

  private fail(err: Error, messages = 0): void {
    this.failed += messages;
    this.unwarned.failed += messages;
    if (messages) this.metric.inc({ target: this.name, outcome: 'failed' }, messages);
    this.warn(err);
  }

  /** At most one warning a minute per target, with what happened since the last one. */
  private warn(err?: Error): void {
    const now = Date.now();
    if (now - this.lastWarn < 60_000) return;
    this.lastWarn = now;
    this.logger.warn({ err: err?.message, dropped: this.unwarned.dropped, failed: this.unwarned.failed, queued: this.length, totalDropped: this.dropped },
      err ? 'SIEM target unreachable; messages queue (then drop) until it is back' : 'SIEM queue full; messages dropped');
    this.unwarned = { dropped: 0, failed: 0 };
  }

  private draining = false;
  private settle(): void { if (!this.length && !this.inflight) for (const f of this.idle.splice(0)) f(); }

  /** Tries to send what is queued for up to `graceMs`, then closes the connection. */
  async close(graceMs = 2000): Promise<void> {
    this.draining = true;
    if (this.length || this.inflight) {
      await new Promise<void>((r) => { const t = setTimeout(r, graceMs); t.unref(); this.idle.push(() => { clearTimeout(t); r(); }); this.pump(); });
    }
    this.closed = true;
    this.draining = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.length) this.logger.warn({ lost: this.length }, 'SIEM messages still queued at shutdown were not sent');
    const s = this.socket;
    if (s) await new Promise<void>((r) => { s.once('close', () => r()); s.end(); setTimeout(() => { s.destroy(); r(); }, 1000).unref(); });
    this.udp?.close();
    this.udp = undefined;
  }
}

export interface SiemForwarderDeps {
  /** Node name (CEF dvchost) and version (CEF device version). */
  node: string;
  version: string;
  logger: Logger;
}

export class SiemForwarder implements EventForwarder {
  private readonly d: SiemForwarderDeps;
  private enabled = false;
  private hostname = '-';
  private targets = new Map<string, TargetSender>();

  constructor(d: SiemForwarderDeps) { this.d = d; }

  /** Applies (new) settings: unchanged targets keep their queue and connection, removed ones are closed. */
  apply(s: SiemSettings, hostname: string): void {
    this.hostname = hostname;
    this.enabled = s.enabled;
    const wanted = new Map(s.enabled ? s.targets.map((t) => [JSON.stringify(t), t] as const) : []);
    for (const [key, t] of this.targets) if (!wanted.has(key)) { this.targets.delete(key); void t.close(0); }
    for (const [key, cfg] of wanted) if (!this.targets.has(key)) this.targets.set(key, new TargetSender(cfg, this.d.logger));
  }

  forward(kind: EventKind, e: object): void {
    if (!this.enabled || !this.targets.size) return;
    let cef: CefEvent | undefined;
    let text = '';
    for (const t of this.targets.values()) {
      if (!t.cfg.kinds.includes(kind)) continue;
      if (!cef) {
        cef = kind === 'traffic' ? trafficCef(e as TrafficEvent) : kind === 'system' ? systemCef(e as never) : auditCef({ node: this.d.node, ...(e as object) } as never);
        text = formatCef(cef, this.d.version);
      }
      const time = (e as { time?: number }).time ?? Date.now();
      t.enqueue(formatSyslog({ facility: t.cfg.facility, severity: syslogSeverity(cef.severity), time, hostname: this.hostname, appName: 'moat', procId: String(process.pid), msgId: kind }, text));
    }
  }

  stats(): TargetStats[] { return [...this.targets.values()].map((t) => t.stats()); }

  async close(graceMs = 2000): Promise<void> {
    const all = [...this.targets.values()];
    this.targets.clear();
    this.enabled = false;
    await Promise.all(all.map((t) => t.close(graceMs)));
  }
}
