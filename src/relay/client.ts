/**
 * Outbound SMTP: connections to next hops through nodemailer's SMTPConnection, kept open and reused per
 * destination and TLS policy (RSET only after a refused transaction, closed after 60 s idle or 100 messages), at
 * most `destinationConcurrency` per destination. A reused connection that turns out dead is replaced once before
 * the attempt counts as failed. One transaction yields a result per recipient: RCPT replies decide refused
 * recipients; the reply to the end of DATA decides the accepted ones.
 *
 * TLS policy per destination (RFC 3207, Postfix's smtp_tls_security_level):
 *   none     never STARTTLS;
 *   may      STARTTLS when offered, certificate not checked; a failed handshake is retried once in plaintext;
 *   require  STARTTLS mandatory, certificate not checked;
 *   verify   STARTTLS mandatory, certificate must be valid for the next hop's name.
 * Hostile input: next-hop replies (parsed by nodemailer), bounded by timeouts.
 */
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import type { Target } from './routing.ts';

export type TlsPolicy = 'none' | 'may' | 'require' | 'verify';

export interface RecipientResult { address: string; code: number; response: string }

export interface TransactionResult {
  /** Per recipient, in the order given. */
  recipients: RecipientResult[];
  /** Reply to DATA (or the error), for the log. */
  response: string;
  tls: boolean;
  /** The host that answered, `name[ip]:port`. */
  relay: string;
}

export class ConnectError extends Error {
  readonly code: number;
  constructor(message: string, code = 451) {
    super(message);
    this.code = code;
  }
}

interface PooledConnection {
  conn: SMTPConnection;
  target: Target;
  uses: number;
  idleTimer?: NodeJS.Timeout;
  broken: boolean;
  /** The last transaction ended in a refusal, so the session needs RSET before the next MAIL. */
  dirty: boolean;
}

interface ConnectOptions { hostname: string; tls: TlsPolicy; timeoutMs: number }

function connectOnce(target: Target, opts: ConnectOptions, plaintext: boolean): Promise<SMTPConnection> {
  const conn = new SMTPConnection({
    host: target.ip,
    port: target.port,
    name: opts.hostname,
    secure: false,
    ignoreTLS: plaintext || opts.tls === 'none',
    requireTLS: !plaintext && (opts.tls === 'require' || opts.tls === 'verify'),
    // No SNI for an IP literal (RFC 6066 forbids it; Node warns); the certificate is then checked against the IP.
    tls: { rejectUnauthorized: opts.tls === 'verify', ...(isIP(target.name) ? {} : { servername: target.name }), minVersion: 'TLSv1.2' },
    connectionTimeout: opts.timeoutMs,
    greetingTimeout: opts.timeoutMs,
    socketTimeout: Math.max(opts.timeoutMs, 60_000),
    logger: false,
  } as ConstructorParameters<typeof SMTPConnection>[0]);
  return new Promise((resolve, reject) => {
    // Say that TLS failed (the raw reply to a refused STARTTLS, e.g. "500 command not recognized", does not).
    const onError = (err: Error) => reject((err as { code?: string }).code === 'ETLS'
      ? Object.assign(new Error(`STARTTLS failed (TLS policy ${opts.tls}): ${errorText(err)}`), { code: 'ETLS' })
      : err);
    conn.once('error', onError);
    conn.connect(() => {
      conn.off('error', onError);
      conn.on('error', () => {}); // later socket errors surface through send()
      resolve(conn);
    });
  });
}

function errorText(err: unknown): string {
  const e = err as { response?: string; message?: string };
  return (e.response ?? e.message ?? String(err)).replace(/[\r\n]+/g, ' ').slice(0, 500);
}

function codeOf(err: unknown, fallback: number): number {
  const c = (err as { responseCode?: number }).responseCode;
  return typeof c === 'number' && c >= 200 && c < 600 ? c : fallback;
}

export class ConnectionPool {
  private readonly idle = new Map<string, PooledConnection[]>();
  private readonly active = new Map<string, number>();
  private readonly waiters = new Map<string, (() => void)[]>();
  private closed = false;

  /** Waits for a free slot for `key` (per-destination concurrency), runs `fn`, frees the slot. */
  async withSlot<T>(key: string, limit: number, fn: () => Promise<T>): Promise<T> {
    while ((this.active.get(key) ?? 0) >= limit) {
      await new Promise<void>((r) => { const w = this.waiters.get(key) ?? []; w.push(r); this.waiters.set(key, w); });
    }
    this.active.set(key, (this.active.get(key) ?? 0) + 1);
    try {
      return await fn();
    } finally {
      this.active.set(key, (this.active.get(key) ?? 1) - 1);
      this.waiters.get(key)?.shift()?.();
    }
  }

  /** Sends one message to one of `targets` (in order) for `recipients`. Throws ConnectError when none answers. */
  async send(key: string, targets: Target[], opts: ConnectOptions, sender: string, recipients: string[], open: () => Readable | Buffer): Promise<TransactionResult> {
    let lastErr: unknown;
    for (const target of targets) {
      for (let fresh = false; ; fresh = true) {
        let pc: PooledConnection;
        try {
          pc = await this.acquire(key, target, opts, fresh);
        } catch (err) {
          lastErr = err;
          break;
        }
        const reused = pc.uses > 0;
        try {
          const r = await this.transact(pc, sender, recipients, open);
          this.release(key, pc);
          return { ...r, relay: `${target.name}[${target.ip}]:${target.port}` };
        } catch (err) {
          pc.broken = true;
          this.release(key, pc);
          // A pooled connection the next hop dropped (or is closing with 421) while it sat idle says nothing about
          // the host: try once more on a new connection instead of deferring the message.
          if (reused && !fresh && (!codeOf(err, 0) || codeOf(err, 0) === 421)) { lastErr = err; continue; }
          // A reply from the server is an answer; a dropped connection means try the next host.
          if (codeOf(err, 0)) {
            const code = codeOf(err, 451);
            return { recipients: recipients.map((address) => ({ address, code, response: errorText(err) })), response: errorText(err), tls: pc.conn.secure, relay: `${target.name}[${target.ip}]:${target.port}` };
          }
          lastErr = err;
          break;
        }
      }
    }
    throw new ConnectError(`no next hop reachable: ${errorText(lastErr)}`);
  }

  private async acquire(key: string, target: Target, opts: ConnectOptions, fresh = false): Promise<PooledConnection> {
    const list = this.idle.get(key) ?? [];
    while (!fresh && list.length) {
      const pc = list.pop()!;
      clearTimeout(pc.idleTimer);
      const state = pc.conn as unknown as { _destroyed?: boolean; _closing?: boolean };
      if (!pc.broken && !state._destroyed && !state._closing) return pc;
      pc.conn.close();
    }
    let conn: SMTPConnection;
    try {
      conn = await connectOnce(target, opts, false);
    } catch (err) {
      // `may`: a STARTTLS that fails is retried once without TLS, as Postfix does.
      if (opts.tls !== 'may' || !/tls|ssl|handshake|certificate/i.test(String((err as Error).message))) throw err;
      conn = await connectOnce(target, opts, true);
    }
    return { conn, target, uses: 0, broken: false, dirty: false };
  }

  private release(key: string, pc: PooledConnection): void {
    pc.uses++;
    if (pc.broken || this.closed || pc.uses >= 100) { pc.conn.quit(); pc.conn.close(); return; }
    // A completed transaction leaves the session ready for the next MAIL (RFC 5321 §4.1.4); only a refused one
    // is cleared with RSET. Saves a round trip per message on a reused connection.
    const ready = (cb: (err?: Error | null) => void) => (pc.dirty ? pc.conn.reset((err) => { pc.dirty = false; cb(err); }) : cb());
    ready((err) => {
      if (err || this.closed) { pc.conn.close(); return; }
      const list = this.idle.get(key) ?? [];
      pc.idleTimer = setTimeout(() => {
        const i = list.indexOf(pc);
        if (i >= 0) list.splice(i, 1);
        pc.conn.quit();
        pc.conn.close();
      }, 60_000);
      pc.idleTimer.unref();
      list.push(pc);
      this.idle.set(key, list);
    });
  }

  private transact(pc: PooledConnection, sender: string, recipients: string[], open: () => Readable | Buffer): Promise<Omit<TransactionResult, 'relay'>> {
    return new Promise((resolve, reject) => {
      const stream = open();
      pc.conn.send({ from: sender, to: recipients }, stream, (err, info) => {
        if (err) {
          const rejected = (err as { rejectedErrors?: { recipient: string; responseCode?: number; response?: string }[] }).rejectedErrors;
          pc.dirty = true;
          if ((err as { code?: string }).code === 'EENVELOPE' && rejected?.length) {
            // Every recipient refused at RCPT (or MAIL refused): per-recipient answers, connection still usable.
            const by = new Map(rejected.map((r) => [r.recipient, r]));
            return resolve({
              recipients: recipients.map((address) => {
                const r = by.get(address);
                return { address, code: r ? codeOf(r, 450) : codeOf(err, 451), response: errorText(r ?? err) };
              }),
              response: errorText(err),
              tls: pc.conn.secure,
            });
          }
          // The end of DATA refused (or deferred) the message: that answer is for the recipients accepted at RCPT.
          // Those refused or deferred at RCPT keep their own answer: a 451 there must not become a 5xx failure.
          const atRcpt = (pc.conn as unknown as { _envelope?: { rejectedErrors?: { recipient: string; responseCode?: number; response?: string }[] } })._envelope?.rejectedErrors;
          if (codeOf(err, 0) && atRcpt?.length) {
            const by = new Map(atRcpt.map((r) => [r.recipient, r]));
            return resolve({
              recipients: recipients.map((address) => {
                const r = by.get(address);
                return r ? { address, code: codeOf(r, 450), response: errorText(r) } : { address, code: codeOf(err, 451), response: errorText(err) };
              }),
              response: errorText(err),
              tls: pc.conn.secure,
            });
          }
          return reject(err);
        }
        const refused = new Map((info.rejectedErrors ?? []).map((r) => [(r as unknown as { recipient: string }).recipient, r]));
        resolve({
          recipients: recipients.map((address) => {
            const r = refused.get(address);
            return r ? { address, code: codeOf(r, 450), response: errorText(r) } : { address, code: 250, response: String(info.response ?? '250') };
          }),
          response: String(info.response ?? ''),
          tls: pc.conn.secure,
        });
      });
    });
  }

  close(): void {
    this.closed = true;
    for (const list of this.idle.values()) for (const pc of list) { clearTimeout(pc.idleTimer); pc.conn.quit(); pc.conn.close(); }
    this.idle.clear();
  }
}
