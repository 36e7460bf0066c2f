/**
 * Shared test fixtures: a real SMTP sink (smtp-server on loopback) whose per-recipient answers are scripted by
 * the recipient's local part, and a Moat node started in-process on ephemeral ports with a temp data dir.
 *
 * Sink scripting: a recipient whose local part starts with `reject` gets 550 5.1.1 at RCPT, `defer` gets
 * 451 4.2.0 at RCPT, anything else is accepted; `sink.failData` makes the end of DATA answer that code.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { SMTPServer } from 'smtp-server';
import nodemailer from 'nodemailer';
import { pino } from 'pino';
import { loadBootstrap, type Bootstrap } from '../src/config/bootstrap.ts';
import { startNode, type MoatNode, type NodeOptions } from '../src/node.ts';
import { staticResolver, type Resolver } from '../src/platform/resolver.ts';

export interface SinkMessage { from: string; to: string[]; data: Buffer; secure: boolean }

export interface Sink {
  port: number;
  messages: SinkMessage[];
  /** Reply for the end of DATA when set, e.g. { code: 452, text: '4.3.1 full' }. */
  failData: { code: number; text: string } | null;
  waitFor(count: number, timeoutMs?: number): Promise<SinkMessage[]>;
  close(): Promise<void>;
}

export async function startSink(opts: { port?: number; tls?: { key: string; cert: string } } = {}): Promise<Sink> {
  const messages: SinkMessage[] = [];
  const waiters: (() => void)[] = [];
  const sink: Partial<Sink> = { messages, failData: null };
  const server = new SMTPServer({
    logger: false, authOptional: true, disableReverseLookup: true, ...(opts.tls ?? { disabledCommands: ['STARTTLS'] }),
    onRcptTo(addr, _s, cb) {
      const local = addr.address.split('@')[0];
      if (local.startsWith('reject')) return cb(Object.assign(new Error('5.1.1 no such user'), { responseCode: 550 }));
      if (local.startsWith('defer')) return cb(Object.assign(new Error('4.2.0 try later'), { responseCode: 451 }));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.pipe(new Writable({ write(c, _e, done) { chunks.push(c); done(); } })).on('finish', () => {
        if (sink.failData) return cb(Object.assign(new Error(sink.failData.text), { responseCode: sink.failData.code }));
        messages.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), data: Buffer.concat(chunks), secure: session.secure });
        waiters.splice(0).forEach((w) => w());
        cb();
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', () => r()));
  sink.port = (server.server.address() as { port: number }).port;
  sink.waitFor = async (count: number, timeoutMs = 20_000) => {
    const end = Date.now() + timeoutMs;
    while (messages.length < count) {
      if (Date.now() > end) throw new Error(`sink got ${messages.length} of ${count} messages in ${timeoutMs} ms`);
      await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 200); });
    }
    return messages;
  };
  sink.close = () => new Promise<void>((r) => server.close(() => r()));
  return sink as Sink;
}

export interface TestNode extends MoatNode {
  smtpPort: number;
  submissionPort?: number;
  submissionsPort?: number;
  httpPort: number;
  dataDir: string;
  /** Lines the node logged, parsed. */
  logs: Record<string, unknown>[];
  /** Stops the node and removes its data dir (unless keep). */
  cleanup(keep?: boolean): Promise<void>;
}

export interface TestNodeOptions extends NodeOptions {
  settings?: unknown;
  submission?: boolean;
  /** Also listen for submission over implicit TLS. */
  submissions?: boolean;
  databaseUrl?: string;
  dataDir?: string;
  nodeName?: string;
  /** Password of the built-in admin created at first start; default TEST_ADMIN_PASSWORD; null = generated. */
  adminPassword?: string | null;
}

/** The built-in admin's password in nodes started by startTestNode (unless a test sets another). */
export const TEST_ADMIN_PASSWORD = 'test-admin-password-0123';

/** Starts a node on ephemeral loopback ports with a fresh data dir and an offline resolver. */
export async function startTestNode(o: TestNodeOptions = {}): Promise<TestNode> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'moat-test-'));
  const boot: Bootstrap = {
    ...loadBootstrap(undefined, {
      MOAT_DATA_DIR: dataDir, MOAT_SMTP_LISTEN: '127.0.0.1:0', MOAT_HTTP_LISTEN: '127.0.0.1:0', MOAT_NODE_NAME: o.nodeName ?? 'test',
      ...(o.submission ? { MOAT_SUBMISSION_LISTEN: '127.0.0.1:0' } : {}), ...(o.submissions ? { MOAT_SUBMISSIONS_LISTEN: '127.0.0.1:0' } : {}), ...(o.databaseUrl ? { MOAT_DATABASE_URL: o.databaseUrl } : {}),
    }),
    settingsSeed: o.settings ?? {},
  };
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, new Writable({ write(c, _e, done) { for (const l of String(c).split('\n')) if (l) logs.push(JSON.parse(l)); done(); } }));
  // The built-in admin signs in with TEST_ADMIN_PASSWORD unless the test asks for a generated one (null).
  boot.adminPassword = o.adminPassword === undefined ? TEST_ADMIN_PASSWORD : o.adminPassword;
  const node = await startNode(boot, {
    resolver: o.resolver ?? staticResolver({}), pollMs: o.pollMs ?? 200, logger, clock: o.clock,
    audit: o.audit, systemEvents: o.systemEvents, console: o.console ?? (() => {}),
  });
  const httpAddr = node.http.server.address() as { port: number };
  return Object.assign(node, {
    smtpPort: node.smtp.address('smtp')!.port,
    submissionPort: node.smtp.address('submission')?.port,
    submissionsPort: node.smtp.address('submissions')?.port,
    httpPort: httpAddr.port,
    dataDir,
    logs,
    async cleanup(keep = false) {
      await node.stop();
      if (!keep && !o.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

/** A nodemailer transport to a Moat listener (no TLS unless asked; self-signed certificates accepted). */
export function client(port: number, opts: Record<string, unknown> = {}) {
  return nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, tls: { rejectUnauthorized: false }, ...opts } as never);
}

/** Polls `fn` until it returns a truthy value or the time runs out. */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export type { Resolver };
