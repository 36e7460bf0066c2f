/**
 * Client for ClamAV's clamd (https://docs.clamav.net/manual/Usage/Scanning.html#clamd), over a unix socket or
 * TCP. Commands use the `z` prefix (NUL-terminated command and reply):
 *   zPING → `PONG`;  zVERSION → `ClamAV 1.4.6/27000/...`;
 *   zINSTREAM, then chunks of <4-byte big-endian length><bytes>, then a zero length →
 *     `stream: OK` | `stream: <Name> FOUND` (one line per match with AllMatchScan) | `... ERROR`
 *     (e.g. `INSTREAM size limit exceeded. ERROR`, after which clamd closes the socket).
 *
 * One fresh connection per command: nothing to go stale, and a clamd restart costs nothing but one retry (a
 * connect failure or a reset before any reply byte is retried `retries` times, default 1). Every command runs
 * under a timeout (timeoutMs, default 30 s) combined with the caller's AbortSignal.
 * Data larger than maxStreamBytes (default 25 MiB, clamd's StreamMaxLength default) is refused before
 * connecting, as clamd would refuse it.
 *
 * Errors are ClamdError with a code: `unavailable` (refused, no socket, reset), `timeout`, `aborted`,
 * `size_limit`, `error` (clamd said ERROR) or `protocol` (an unexpected reply). Hostile input: the scanned data
 * is passed through; replies are parsed defensively (capped at 64 KiB).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';

export interface ClamdOptions {
  /** Unix socket path; takes precedence over host/port. */
  socket?: string;
  host?: string;
  port?: number;
  /** Per command, default 30,000 ms. */
  timeoutMs?: number;
  /** Largest stream sent, default 25 MiB (keep ≤ clamd's StreamMaxLength). */
  maxStreamBytes?: number;
  /** INSTREAM chunk size, default 64 KiB. */
  chunkBytes?: number;
  /** Retries after a connection failure, default 1. */
  retries?: number;
}

export type ClamdErrorCode = 'unavailable' | 'timeout' | 'aborted' | 'size_limit' | 'error' | 'protocol';

export class ClamdError extends Error {
  readonly code: ClamdErrorCode;
  constructor(code: ClamdErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** What clamd said about one stream: `found` is empty when it is clean. */
export interface ClamdScanResult { found: string[]; raw: string }

export type ClamdSource = Uint8Array | { path: string };

const MAX_REPLY = 64 * 1024;
const RETRY_DELAY_MS = 100;

export class ClamdClient {
  private readonly opts: Required<Omit<ClamdOptions, 'socket' | 'host' | 'port'>> & Pick<ClamdOptions, 'socket' | 'host' | 'port'>;

  constructor(opts: ClamdOptions) {
    if (!opts.socket && !opts.port) throw new Error('clamd: socket or port is required');
    this.opts = {
      socket: opts.socket, host: opts.host ?? '127.0.0.1', port: opts.port,
      timeoutMs: opts.timeoutMs ?? 30_000, maxStreamBytes: opts.maxStreamBytes ?? 25 * 1024 * 1024,
      chunkBytes: opts.chunkBytes ?? 64 * 1024, retries: opts.retries ?? 1,
    };
  }

  /** Where clamd is expected, for messages (no secrets in it). */
  get address(): string {
    return this.opts.socket ?? `${this.opts.host}:${this.opts.port}`;
  }

  async ping(signal?: AbortSignal): Promise<void> {
    const r = await this.command('zPING\0', null, signal);
    if (r !== 'PONG') throw new ClamdError('protocol', `clamd: unexpected PING reply '${r.slice(0, 100)}'`);
  }

  async version(signal?: AbortSignal): Promise<string> {
    const r = await this.command('zVERSION\0', null, signal);
    if (!/^ClamAV /.test(r)) throw new ClamdError('protocol', `clamd: unexpected VERSION reply '${r.slice(0, 100)}'`);
    return r;
  }

  /** PING and VERSION; never throws. */
  async health(signal?: AbortSignal): Promise<{ ok: boolean; version?: string; error?: string; ms: number }> {
    const t = performance.now();
    try {
      await this.ping(signal);
      const version = await this.version(signal);
      return { ok: true, version, ms: Math.round(performance.now() - t) };
    } catch (err) {
      return { ok: false, error: (err as Error).message, ms: Math.round(performance.now() - t) };
    }
  }

  /** Sends bytes or a file's content with INSTREAM. Throws ClamdError when clamd cannot give a verdict. */
  async scan(source: ClamdSource, signal?: AbortSignal): Promise<ClamdScanResult> {
    const size = source instanceof Uint8Array ? source.length : (await stat(source.path)).size;
    if (size > this.opts.maxStreamBytes) throw new ClamdError('size_limit', `clamd: ${size} bytes exceed the stream limit of ${this.opts.maxStreamBytes}`);
    const raw = await this.command('zINSTREAM\0', source, signal);
    return parseScanReply(raw);
  }

  private async command(cmd: string, source: ClamdSource | null, signal?: AbortSignal): Promise<string> {
    const timeout = AbortSignal.timeout(this.opts.timeoutMs);
    const sig = signal ? AbortSignal.any([signal, timeout]) : timeout;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(cmd, source, sig);
      } catch (err) {
        if (sig.aborted) throw abortError(sig, timeout, this.opts.timeoutMs);
        const retryable = err instanceof ClamdError && err.code === 'unavailable';
        if (!retryable || attempt >= this.opts.retries) throw err;
        await new Promise<void>((r) => { const t = setTimeout(r, RETRY_DELAY_MS); sig.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true }); });
        if (sig.aborted) throw abortError(sig, timeout, this.opts.timeoutMs);
      }
    }
  }

  /** One connection: send `cmd` (and the stream), read the NUL-terminated reply. */
  private once(cmd: string, source: ClamdSource | null, signal: AbortSignal): Promise<string> {
    signal.throwIfAborted();
    return new Promise<string>((resolve, reject) => {
      const sock: Socket = this.opts.socket ? connect({ path: this.opts.socket }) : connect({ host: this.opts.host, port: this.opts.port! });
      const chunks: Buffer[] = [];
      let got = 0;
      let settled = false;
      let lastError: Error | null = null;
      let connected = false;
      const finish = (err: Error | null, reply?: string) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        sock.destroy();
        if (err) reject(err); else resolve(reply!);
      };
      const onAbort = () => finish(new ClamdError('aborted', 'clamd: aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      const replyText = () => Buffer.concat(chunks).toString('utf8').replace(/\0[\s\S]*$/, '').trim();
      sock.on('data', (d: Buffer) => {
        chunks.push(d);
        got += d.length;
        if (d.includes(0) || got > MAX_REPLY) finish(null, replyText());
      });
      // 'close' always follows 'end' and 'error'; a reply already received wins over a write error, because
      // clamd answers a size limit and then closes while we may still be sending.
      sock.on('error', (err: NodeJS.ErrnoException) => { lastError = err; });
      sock.on('close', () => {
        if (got > 0) return finish(null, replyText());
        const why = lastError ? ((lastError as NodeJS.ErrnoException).code ?? lastError.message) : 'connection closed without a reply';
        const hint = connected && source ? ' during INSTREAM (data over its StreamMaxLength?)' : '';
        finish(new ClamdError('unavailable', `clamd at ${this.address}: ${why}${hint}`));
      });
      sock.once('connect', () => {
        connected = true;
        sock.write(cmd);
        if (!source) return;
        this.stream(sock, source, () => got > 0).catch((err: Error) => {
          if (err instanceof StopStreaming) return;
          if (err instanceof ClamdError) finish(err);
          else lastError ??= err; // the reply (or the close) says what happened
        });
      });
    });
  }

  /**
   * Writes the INSTREAM chunks one at a time, each after the previous one reached the kernel and pending reads
   * were handled: clamd answers a size limit and closes at once, and Node discards a socket (and the unread
   * reply) on the next failed write, so writing stops as soon as any reply byte has arrived.
   */
  private async stream(sock: Socket, source: ClamdSource, replied: () => boolean): Promise<void> {
    const send = async (data: Uint8Array) => {
      if (replied() || sock.destroyed) throw new StopStreaming();
      const frame = Buffer.allocUnsafe(4 + data.length);
      frame.writeUInt32BE(data.length, 0);
      frame.set(data, 4);
      await new Promise<void>((resolve, reject) => sock.write(frame, (err) => (err ? reject(err) : resolve())));
      await new Promise<void>((r) => setImmediate(r));
    };
    const cb = this.opts.chunkBytes;
    if (source instanceof Uint8Array) {
      for (let i = 0; i < source.length; i += cb) await send(source.subarray(i, Math.min(source.length, i + cb)));
    } else {
      const rs = createReadStream(source.path, { highWaterMark: cb });
      try {
        for await (const chunk of rs) await send(chunk as Buffer);
      } finally {
        rs.destroy();
      }
    }
    if (!replied() && !sock.destroyed) sock.write(Buffer.alloc(4));
  }
}

/** Thrown inside stream() to stop writing because clamd already answered or the socket is gone. */
class StopStreaming extends Error {}

function abortError(sig: AbortSignal, timeout: AbortSignal, ms: number): ClamdError {
  if (timeout.aborted && sig.reason === timeout.reason) return new ClamdError('timeout', `clamd: no answer within ${ms} ms`);
  return new ClamdError('aborted', 'clamd: aborted');
}

/** Parses an INSTREAM reply. Throws ClamdError for `... ERROR` and anything unexpected. */
export function parseScanReply(raw: string): ClamdScanResult {
  const lines = raw.split(/\r?\n|\0/).map((l) => l.trim()).filter(Boolean);
  if (lines.length === 0) throw new ClamdError('protocol', 'clamd: empty reply');
  const found: string[] = [];
  let ok = false;
  for (const l of lines) {
    if (/size limit exceeded/i.test(l)) throw new ClamdError('size_limit', `clamd: ${l.slice(0, 200)}`);
    if (/ ERROR$/.test(l)) throw new ClamdError('error', `clamd: ${l.slice(0, 200)}`);
    const m = /^(?:\d+: )?stream: (.+) FOUND$/.exec(l);
    if (m) { found.push(m[1]); continue; }
    if (/^(?:\d+: )?stream: OK$/.test(l)) { ok = true; continue; }
    throw new ClamdError('protocol', `clamd: unexpected reply '${l.slice(0, 200)}'`);
  }
  if (!ok && found.length === 0) throw new ClamdError('protocol', 'clamd: no verdict in reply');
  return { found, raw };
}
