/**
 * Fixtures for the delivery/queue tests (test/relay/*.test.ts): a scriptable sink that counts TCP connections,
 * free loopback ports, a raw SMTP submit (null sender), a small multipart/report reader, the `moat` CLI and a Moat
 * node run as a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { SMTPServer } from 'smtp-server';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import YAML from 'yaml';
import { QueueRepo } from '../../src/store/queue-repo.ts';
import type { MoatNode } from '../../src/node.ts';
import { eventually, type SinkMessage } from '../helpers.ts';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const NODE_BIN = join(ROOT, 'node_modules/.bin/node');
export const MAIN = join(ROOT, 'src/main.ts');

/** Like `eventually`, typed for polls that answer `undefined` (or false/null) until the value is there. */
export async function until<T>(fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  return (await eventually(fn, timeoutMs, what)) as T;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A loopback port that nothing listens on (it was free a moment ago). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export type RcptAnswer = { code: number; text: string } | null;

/** The shared sink's default script: `reject*` → 550 5.1.1, `defer*` → 451 4.2.0, anything else accepted. */
export function defaultRcpt(address: string): RcptAnswer {
  const local = address.split('@')[0];
  if (local.startsWith('reject')) return { code: 550, text: '5.1.1 no such user' };
  if (local.startsWith('defer')) return { code: 451, text: '4.2.0 try later' };
  return null;
}

export interface ScriptedSink {
  port: number;
  messages: SinkMessage[];
  /** TCP connections accepted so far. */
  connections: number;
  /** Sessions open right now, and the most ever open at once. */
  open: number;
  maxOpen: number;
  /** Milliseconds to wait before answering the end of DATA (a slow next hop). */
  dataDelayMs: number;
  /** Answer per recipient at RCPT; replace it to change the sink's behaviour mid-test. */
  rcpt: (address: string) => RcptAnswer;
  failData: { code: number; text: string } | null;
  waitFor(count: number, timeoutMs?: number): Promise<SinkMessage[]>;
  close(): Promise<void>;
}

/** A real smtp-server sink on loopback like test/helpers.ts startSink, but scriptable at run time and counting connections. */
export async function startScriptedSink(opts: { port?: number; tls?: { key: string; cert: string; maxVersion?: string }; socketTimeoutMs?: number } = {}): Promise<ScriptedSink> {
  const waiters: (() => void)[] = [];
  const sink: ScriptedSink = {
    port: 0, messages: [], connections: 0, open: 0, maxOpen: 0, dataDelayMs: 0, rcpt: defaultRcpt, failData: null,
    async waitFor(count, timeoutMs = 20_000) {
      const end = Date.now() + timeoutMs;
      while (sink.messages.length < count) {
        if (Date.now() > end) throw new Error(`sink got ${sink.messages.length} of ${count} messages in ${timeoutMs} ms`);
        await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 100); });
      }
      return sink.messages;
    },
    close: async () => {},
  };
  const server = new SMTPServer({
    // Without a certificate the sink really has no STARTTLS: smtp-server would still accept the (hidden) command
    // and upgrade with its built-in certificate.
    logger: false, authOptional: true, disableReverseLookup: true, hideSTARTTLS: !opts.tls, ...(opts.tls ?? { disabledCommands: ['STARTTLS'] }),
    ...(opts.socketTimeoutMs ? { socketTimeout: opts.socketTimeoutMs } : {}),
    onConnect(_s, cb) { sink.connections++; sink.open++; sink.maxOpen = Math.max(sink.maxOpen, sink.open); cb(); },
    onClose() { sink.open--; },
    onRcptTo(addr, _s, cb) {
      const a = sink.rcpt(addr.address);
      if (a) return cb(Object.assign(new Error(a.text), { responseCode: a.code }));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.pipe(new Writable({ write(c, _e, done) { chunks.push(c); done(); } })).on('finish', async () => {
        if (sink.dataDelayMs) await sleep(sink.dataDelayMs);
        if (sink.failData) return cb(Object.assign(new Error(sink.failData.text), { responseCode: sink.failData.code }));
        sink.messages.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), data: Buffer.concat(chunks), secure: session.secure });
        waiters.splice(0).forEach((w) => w());
        cb();
      });
    },
  } as ConstructorParameters<typeof SMTPServer>[0]);
  server.on('error', () => {});
  await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', () => r()));
  sink.port = (server.server.address() as { port: number }).port;
  sink.close = () => new Promise<void>((r) => server.close(() => r()));
  return sink;
}

/** Sends one message with an arbitrary envelope (e.g. the null sender `<>`); resolves with the final reply. */
export async function submitRaw(port: number, envelope: { from: string; to: string[] }, message: string): Promise<string> {
  const conn = new SMTPConnection({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, name: 'client.test', logger: false } as ConstructorParameters<typeof SMTPConnection>[0]);
  try {
    await new Promise<void>((resolve, reject) => { conn.once('error', reject); conn.connect(() => { conn.off('error', reject); resolve(); }); });
    return await new Promise<string>((resolve, reject) => {
      conn.send(envelope, message.replace(/\r?\n/g, '\r\n'), (err, info) => (err ? reject(err) : resolve(String(info.response))));
    });
  } finally {
    conn.quit();
    conn.close();
  }
}

/** The queue id from Moat's `250 2.0.0 Ok: queued as ID`. */
export function queueIdOf(response: string): string {
  const m = /queued as ([0-9A-Z]{16})/.exec(response);
  if (!m) throw new Error(`no queue id in ${JSON.stringify(response)}`);
  return m[1];
}

export function repoOf(node: MoatNode): QueueRepo { return new QueueRepo(node.store.db); }

export function spoolFile(dataDir: string, id: string): string { return join(dataDir, 'spool', 'queue', id); }
export function spoolFiles(dataDir: string, dir: 'queue' | 'incoming'): string[] {
  const p = join(dataDir, 'spool', dir);
  return existsSync(p) ? readdirSync(p) : [];
}

/** A header field of a header section (first occurrence, unfolded). */
export function header(text: string, name: string): string | undefined {
  const head = text.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, ' ');
  const m = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(head);
  return m?.[1].trim();
}

export interface MimePart { contentType: string; headers: string; body: string }

/** Splits a multipart message into its parts (one level), enough to read a DSN. */
export function multipart(raw: string): { contentType: string; parts: MimePart[] } {
  const contentType = header(raw, 'Content-Type') ?? '';
  const b = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!b) return { contentType, parts: [] };
  const chunks = raw.split(`--${b}`);
  const parts = chunks.slice(1).filter((c) => !c.startsWith('--')).map((c) => {
    const s = c.replace(/^\r?\n/, '');
    const i = s.search(/\r?\n\r?\n/);
    const headers = i < 0 ? s : s.slice(0, i);
    const body = i < 0 ? '' : s.slice(i).replace(/^\r?\n\r?\n/, '');
    return { contentType: (header(headers + '\r\n\r\n', 'Content-Type') ?? 'text/plain').toLowerCase(), headers, body };
  });
  return { contentType, parts };
}

// ---- the CLI and Moat as a child process -------------------------------------------------------------------

export interface CliResult { code: number | null; stdout: string; stderr: string }

/** Node's compile cache (also for stripped TypeScript) roughly halves the start-up time of each spawned `moat`. */
const childEnv = { ...process.env, NODE_COMPILE_CACHE: join(tmpdir(), 'moat-test-compile-cache') };

/** Runs `moat ARGS --config FILE` with Node 24 and collects its output. */
export function runCli(args: string[], configFile: string, timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE_BIN, ['--disable-warning=ExperimentalWarning', MAIN, ...args, '--config', configFile], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    const t = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`moat ${args.join(' ')} timed out`)); }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(t); resolve({ code, stdout, stderr }); });
  });
}

/** Writes a bootstrap moat.yaml into `dir` and returns its path. */
export function writeBootstrap(dir: string, doc: Record<string, unknown>): string {
  const file = join(dir, 'moat.yaml');
  writeFileSync(file, YAML.stringify(doc));
  return file;
}

export interface MoatProcess {
  child: ChildProcess;
  /** Resolves with the exit code and signal once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  logFile: string;
  logs(): string;
}

/** Starts `moat start --config FILE` as a child process and waits until its HTTP health check answers 200. */
export async function startMoatProcess(configFile: string, httpPort: number, logDir: string, timeoutMs = 30_000): Promise<MoatProcess> {
  const logFile = join(logDir, `moat-${Date.now()}-${Math.random().toString(36).slice(2, 6)}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(NODE_BIN, ['--disable-warning=ExperimentalWarning', MAIN, 'start', '--config', configFile], { cwd: ROOT, env: childEnv, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  const proc: MoatProcess = { child, exited, logFile, logs: () => readFileSync(logFile, 'utf8') };
  const end = Date.now() + timeoutMs;
  let done = false;
  void exited.then(() => { done = true; });
  for (;;) {
    if (done) throw new Error(`moat exited during start:\n${proc.logs()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return proc;
    } catch { /* not up yet */ }
    if (Date.now() > end) { child.kill('SIGKILL'); throw new Error(`moat did not start in ${timeoutMs} ms:\n${proc.logs()}`); }
    await sleep(100);
  }
}

/** Kills a child with SIGKILL unless it has already exited; waits for the exit. */
export async function killHard(p: MoatProcess | undefined): Promise<void> {
  if (!p) return;
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await p.exited;
}

/** Queue size reported by a node's /healthz. */
export async function healthQueue(httpPort: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`, { signal: AbortSignal.timeout(5000) });
  return ((await res.json()) as { queue: number }).queue;
}

export function tempDir(prefix: string): string { return mkdtempSync(join(tmpdir(), prefix)); }
