/**
 * A raw SMTP client for protocol-level tests: one TCP (or TLS after STARTTLS) socket, replies parsed into
 * { code, lines }, and nothing done behind the test's back (no dot-stuffing, no line-ending fixes), so a test
 * can send exactly the bytes it means to, including hostile ones.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface Reply {
  code: number;
  lines: string[];
  /** All lines joined with \n, without the code prefixes. */
  text: string;
  /** The last line as sent, e.g. `554 5.7.1 Relay access denied`. */
  raw: string;
}

export class Wire {
  socket: Socket | TLSSocket;
  private buf = '';
  /** Lines of a multi-line reply still being received. */
  private readonly pending: string[] = [];
  private readonly replies: Reply[] = [];
  private waiters: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  ended = false;
  /** Resolves when the server closed the connection. */
  readonly closed: Promise<void>;
  private onClosed!: () => void;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.closed = new Promise<void>((r) => { this.onClosed = r; });
    this.attach(socket);
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => this.onData(d));
    socket.on('error', () => {});
    socket.on('close', () => {
      if (socket !== this.socket) return;
      this.ended = true;
      this.onClosed();
      for (const w of this.waiters.splice(0)) w.reject(new Error(`connection closed (unparsed: ${JSON.stringify(this.buf.slice(0, 200))})`));
    });
  }

  /** Connects and reads the greeting. */
  static async open(port: number, opts: { host?: string; localAddress?: string } = {}): Promise<{ wire: Wire; greeting: Reply }> {
    const socket = connect({ host: opts.host ?? '127.0.0.1', port, localAddress: opts.localAddress });
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
    const wire = new Wire(socket);
    const greeting = await wire.read();
    return { wire, greeting };
  }

  private onData(d: string): void {
    this.buf += d;
    for (;;) {
      const m = /^(\d{3})([ -])([^\r\n]*)\r?\n/.exec(this.buf);
      if (!m) {
        // not a reply line (yet); drop anything that can never become one
        const nl = this.buf.indexOf('\n');
        if (nl !== -1) { this.buf = this.buf.slice(nl + 1); continue; }
        return;
      }
      this.buf = this.buf.slice(m[0].length);
      this.pending.push(`${m[1]}${m[2]}${m[3]}`);
      if (m[2] === ' ') {
        const lines = this.pending.splice(0);
        const reply: Reply = { code: Number(m[1]), lines, text: lines.map((l) => l.slice(4)).join('\n'), raw: lines[lines.length - 1] };
        const w = this.waiters.shift();
        if (w) w.resolve(reply); else this.replies.push(reply);
      }
    }
  }

  /** The next reply (waits up to `timeoutMs`). */
  read(timeoutMs = 10_000): Promise<Reply> {
    const r = this.replies.shift();
    if (r) return Promise.resolve(r);
    if (this.ended) return Promise.reject(new Error('connection closed'));
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (rep: Reply) => { clearTimeout(timer); resolve(rep); };
      this.waiters.push({ resolve: done, reject: (e) => { clearTimeout(timer); reject(e); } });
    });
  }

  /** Replies received that no read() has taken yet (an unexpected extra reply shows up here). */
  get unread(): number { return this.replies.length; }

  /** Writes bytes exactly as given (strings as UTF-8). */
  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }

  /** Sends one command line (CRLF added) and reads its reply. */
  async cmd(line: string, timeoutMs?: number): Promise<Reply> {
    this.write(`${line}\r\n`);
    return this.read(timeoutMs);
  }

  /** EHLO; returns the reply (its lines are the extensions). */
  ehlo(name = 'client.test'): Promise<Reply> { return this.cmd(`EHLO ${name}`); }

  /** STARTTLS and the TLS handshake; afterwards the session continues over TLS (EHLO again). */
  async starttls(): Promise<Reply> {
    const r = await this.cmd('STARTTLS');
    if (r.code !== 220) return r;
    const plain = this.socket as Socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => { secure.once('secureConnect', resolve); secure.once('error', reject); });
    this.socket = secure;
    this.attach(secure);
    return r;
  }

  /** MAIL, RCPTs, DATA with `body` (CRLF line endings expected, dot-stuffed by the caller), final dot. */
  async send(from: string, to: string[], body: string): Promise<Reply> {
    const m = await this.cmd(`MAIL FROM:<${from}>`);
    if (m.code !== 250) return m;
    let accepted = 0;
    for (const r of to) if ((await this.cmd(`RCPT TO:<${r}>`)).code === 250) accepted++;
    if (!accepted) return { code: 554, lines: [], text: 'no recipient accepted', raw: '' };
    const d = await this.cmd('DATA');
    if (d.code !== 354) return d;
    this.write(body.endsWith('\r\n') ? body : `${body}\r\n`);
    return this.cmd('.');
  }

  async quit(): Promise<void> {
    if (this.ended) return;
    try { await this.cmd('QUIT', 2000); } catch { /* closed already */ }
    this.socket.end();
  }

  destroy(): void { this.socket.destroy(); }
}

/** Files in the node's spool directories (incoming = being received, queue = acknowledged). */
export function spoolFiles(dataDir: string): { incoming: string[]; queue: string[] } {
  const dir = (d: string) => readdirSync(join(dataDir, 'spool', d));
  return { incoming: dir('incoming'), queue: dir('queue') };
}

/** A minimal, valid message with CRLF line endings. */
export function message(subject: string, body = 'hello', extraHeaders = ''): string {
  return `From: <a@x.test>\r\nTo: <b@y.test>\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}.${Date.now()}@x.test>\r\n${extraHeaders}\r\n${body}\r\n`;
}

export function sleep(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }
