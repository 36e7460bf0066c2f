/**
 * bench/relay.ts: relay throughput benchmark for Moat.
 *
 * Purpose
 *   Measures how many messages per second Moat relays end to end (SMTP in, queue, SMTP out), and
 *   compares that with two references measured in the same run on the same machine:
 *     direct   smtp-source -> smtp-sink. This is the ceiling of the load generator and sink.
 *     moat     smtp-source -> Moat (child process) -> smtp-sink
 *     postfix  smtp-source -> a private Postfix instance -> smtp-sink (null if Postfix is not installed)
 *   Everything runs on 127.0.0.1. Each message uses its own SMTP connection (the smtp-source default;
 *   -d is not passed), with a single recipient. C sessions run in parallel.
 *
 * What is measured
 *   seconds      wall time from starting smtp-source until the sink has counted all N messages, so
 *                the message is accepted AND delivered. msgsPerSec = N / seconds.
 *   acceptSeconds  wall time until smtp-source exits, i.e. every message got its 250 after DATA.
 *                For a store-and-forward relay this can be shorter than `seconds`.
 *   moat.p50Ms / p99Ms  accept-to-delivered latency, taken from Moat's own pino JSON log on stdout:
 *                one line per delivered recipient with "msg":"delivered" and a numeric "delay" (ms).
 *                Only lines from the measured run count, not the warm-up.
 *   moat.cpuMsPerMsg  CPU time of the Moat process (every thread) per measured message, from /proc (the
 *                measured run only, warm-up excluded); cpuByThread splits it by thread name (node = the main
 *                thread, WorkerThread = scan workers, libuv-worker = the file-system thread pool, …).
 *   moat.peakRssMB  the largest of VmHWM (read at the end) and VmRSS (polled every 250 ms) from
 *                /proc/<pid>/status for the Moat process.
 *   ratioToDirect / ratioToPostfix  moat.msgsPerSec divided by the reference's msgsPerSec.
 *   Each leg first sends `warmup` messages (default 200). They are not counted, and the leg waits
 *   until they are delivered. This warms the JIT, the connection caches and Postfix's concurrency window.
 *
 * Output
 *   Exactly one JSON line on stdout. Progress and diagnostics go to stderr. The exit code is 1 if a
 *   selected leg failed; the failed leg is then null and the reason is in "errors". A leg that cannot
 *   run here (Postfix not installed, not root) is null and the reason is in "skipped".
 *
 * Options (arguments override environment)
 *   -n, --messages N   (env N or BENCH_N, default 2000)   messages in the measured run
 *   -s, --size-kb S    (env S or BENCH_S, default 10)     payload size in KiB (smtp-source -l S*1024; headers not included)
 *   -c, --sessions C   (env C or BENCH_C, default 20)     parallel SMTP sessions
 *   -w, --warmup W     (env WARMUP, default 200)          uncounted warm-up messages per leg, 0 to disable
 *   --legs LIST        (env LEGS, default direct,moat,moatScan,postfix)
 *   --timeout SEC      (env BENCH_TIMEOUT, default 60 + N/10) bound on each leg's measured run
 *   env BENCH_NODE_TOOLS=1  use the built-in Node sink/source even if smtp-sink/smtp-source exist
 *   env BENCH_KEEP_TMP=1    keep the temp directory (Moat log, Postfix maillog) for inspection
 *   env BENCH_MOAT_PROF=DIR run Moat under --cpu-prof, one .cpuprofile per thread written to DIR
 *   env BENCH_MOAT_ARGS="…" extra Node/V8 flags for the Moat process (experiments: GC flags and the like)
 *
 * Limits
 *   - The load generator, the sink and the system under test share the machine (2 cores here), so
 *     the numbers are relative. Compare ratios, not absolute values, across machines.
 *   - Latency comes from Moat's self-reported "delay". No external timestamping is done.
 *   - Peak RSS covers the Moat main process only, not any child processes it spawns.
 *   - The Postfix instance uses stock tuning (default_destination_concurrency_limit 20,
 *     in_flow_delay 1s). It fsyncs its queue, and Moat should too. Both queues live under the same
 *     temp dir (os.tmpdir()), so they share a filesystem.
 *   - The private Postfix must be started as root, because master(8) needs it. The instance is
 *     configured entirely through `postfix -c <dir>`, and nothing under /etc/postfix is changed.
 *   - If smtp-sink/smtp-source are missing, minimal Node versions are used in this process instead.
 *     The direct leg then measures Node rather than the Postfix tools, and "tools" says so.
 *
 * Every child process (sink, source, Moat, Postfix master) is stopped on exit, including on errors
 * and on SIGINT/SIGTERM. The temp directory is removed unless BENCH_KEEP_TMP=1.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const SENDER = 'sender@bench.moat.test';
const RECIPIENT = 'rcpt@example.com';
const HEALTH_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;
const LOG_SETTLE_MS = 5_000;

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

type LegName = 'direct' | 'moat' | 'moatScan' | 'postfix';

interface Config {
  messages: number;
  sizeKB: number;
  sessions: number;
  warmup: number;
  legs: LegName[];
  legTimeoutMs: number;
}

function parseConfig(): Config {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', short: 'n' },
      'size-kb': { type: 'string', short: 's' },
      sessions: { type: 'string', short: 'c' },
      warmup: { type: 'string', short: 'w' },
      legs: { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (values.help) {
    process.stderr.write(
      'usage: node bench/relay.ts [-n messages] [-s sizeKB] [-c sessions] [-w warmup] ' +
        '[--legs direct,moat,postfix] [--timeout seconds]\n',
    );
    process.exit(0);
  }
  const env = process.env;
  const num = (name: string, raw: string | undefined, def: number, min: number): number => {
    if (raw === undefined || raw === '') return def;
    const v = Number(raw);
    if (!Number.isFinite(v) || v < min) throw new Error(`invalid ${name}: ${raw}`);
    return v;
  };
  const messages = Math.floor(num('messages', values.messages ?? env.N ?? env.BENCH_N, 2000, 1));
  const sizeKB = num('size-kb', values['size-kb'] ?? env.S ?? env.BENCH_S, 10, 0);
  const sessions = Math.floor(num('sessions', values.sessions ?? env.C ?? env.BENCH_C, 20, 1));
  const warmup = Math.floor(num('warmup', values.warmup ?? env.WARMUP ?? env.BENCH_WARMUP, 200, 0));
  const timeoutSec = num('timeout', values.timeout ?? env.BENCH_TIMEOUT, 60 + messages / 10, 1);
  const legs = (values.legs ?? env.LEGS ?? 'direct,moat,moatScan,postfix')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const leg of legs) {
    if (leg !== 'direct' && leg !== 'moat' && leg !== 'moatScan' && leg !== 'postfix') throw new Error(`unknown leg: ${leg}`);
  }
  return { messages, sizeKB, sessions, warmup, legs: legs as LegName[], legTimeoutMs: timeoutSec * 1000 };
}

// ---------------------------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------------------------

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Finds an executable in PATH or in the sbin directories where Debian puts the Postfix tools. */
function which(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const p = path.join(dir, name);
    if (existsSync(p)) return p;
  }
  return null;
}

/** Asks the kernel for a free loopback port. There is a small race until the user binds it. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once a TCP connect to 127.0.0.1:port succeeds. */
async function waitForPort(port: number, timeoutMs: number, what: string, alive?: () => string | null): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    const dead = alive?.();
    if (dead) throw new Error(`${what} exited before listening: ${dead}`);
    if (performance.now() > deadline) throw new Error(`${what} not listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function waitUntil(pred: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!pred()) {
    if (performance.now() > deadline) return false;
    await sleep(25);
  }
  return true;
}

/** Keeps the last `max` lines of a stream, for error messages. */
class Tail {
  private lines: string[] = [];
  private partial = '';
  private readonly max: number;
  constructor(max = 30) {
    this.max = max;
  }
  push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const l of parts) this.add(l);
  }
  add(line: string): void {
    this.lines.push(line.length > 500 ? line.slice(0, 500) + '...' : line);
    if (this.lines.length > this.max) this.lines.shift();
  }
  text(): string {
    return [...this.lines, this.partial].filter(Boolean).join('\n');
  }
}

// ---------------------------------------------------------------------------------------------
// Child process bookkeeping: whatever happens, nothing we started survives us
// ---------------------------------------------------------------------------------------------

const children = new Set<ChildProcess>();
/** config_directory of a private Postfix that may be running. */
const postfixInstances = new Set<string>();
let tmpRoot: string | null = null;

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Sends `signal` to the child's process group if it has one (detached), else to the child. */
function signalTree(child: ChildProcess, signal: NodeJS.Signals, group: boolean): void {
  if (child.pid === undefined) return;
  try {
    if (group) process.kill(-child.pid, signal);
    else child.kill(signal);
  } catch {
    // already gone
  }
}

/** Stops a child with SIGTERM and escalates to SIGKILL after `graceMs`. Resolves with how it exited. */
async function stopChild(child: ChildProcess, graceMs: number, group = false): Promise<string> {
  const exited = new Promise<string>((resolve) => {
    if (!isRunning(child)) resolve(`code=${child.exitCode} signal=${child.signalCode}`);
    else child.once('exit', (code, signal) => resolve(`code=${code} signal=${signal}`));
  });
  if (isRunning(child)) signalTree(child, 'SIGTERM', false);
  let timer: NodeJS.Timeout | undefined;
  const res = await Promise.race([
    exited,
    new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), graceMs);
    }),
  ]);
  clearTimeout(timer);
  if (group) signalTree(child, 'SIGKILL', true); // reap any grandchildren left in its group
  if (res !== null) return res;
  signalTree(child, 'SIGKILL', group);
  signalTree(child, 'SIGKILL', false);
  return `killed after ${graceMs} ms (${await exited})`;
}

/** Last-resort cleanup. It is synchronous so it also works from process.on('exit'). */
function cleanupSync(): void {
  for (const child of children) {
    signalTree(child, 'SIGKILL', true);
    signalTree(child, 'SIGKILL', false);
  }
  for (const etc of postfixInstances) stopPostfixSync(etc);
  if (tmpRoot && !process.env.BENCH_KEEP_TMP) {
    try {
      rmSync(tmpRoot, { recursive: true, force: true });
    } catch {
      // best effort
    }
    tmpRoot = null;
  }
}

process.on('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    log(`received ${sig}, cleaning up`);
    const exits = [...children].map((c) => new Promise((resolve) => c.once('exit', resolve)));
    cleanupSync();
    // Give libuv a moment to reap the killed children, so that none is left as a zombie.
    void Promise.race([Promise.all(exits), sleep(2000)]).then(() => process.exit(128 + (os.constants.signals[sig] ?? 1)));
  });
}

// ---------------------------------------------------------------------------------------------
// Sinks: count messages received and report when a count is reached
// ---------------------------------------------------------------------------------------------

interface Sink {
  readonly port: number;
  /** Messages received so far (the end of DATA was seen). */
  received(): number;
  /** Resolves with performance.now() at the moment the count reached `n`. */
  waitFor(n: number, timeoutMs: number): Promise<number>;
  stop(): Promise<void>;
}

/** Shared counter and waiter logic for both sink implementations. */
class Counter {
  count = 0;
  private waiters: { n: number; resolve: (t: number) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  private failure: Error | null = null;

  set(n: number): void {
    if (n <= this.count) return;
    this.count = n;
    const now = performance.now();
    this.waiters = this.waiters.filter((w) => {
      if (this.count < w.n) return true;
      clearTimeout(w.timer);
      w.resolve(now);
      return false;
    });
  }

  fail(err: Error): void {
    this.failure = err;
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.waiters = [];
  }

  waitFor(n: number, timeoutMs: number, what: string): Promise<number> {
    if (this.count >= n) return Promise.resolve(performance.now());
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new Error(`${what}: timed out after ${timeoutMs} ms waiting for ${n} messages (have ${this.count})`));
      }, timeoutMs);
      this.waiters.push({ n, resolve, reject, timer });
    });
  }
}

/**
 * smtp-sink with -c. On every session end, QUIT and "." it prints "sess=N quit=N mesg=N\r", and we
 * take the last mesg=. stdout goes to a file that we poll every SINK_POLL_MS. This costs less than a
 * pipe, because a pipe wakes this process up three times per message while smtp-source and smtp-sink
 * already use both cores. The price is up to SINK_POLL_MS of extra time on the end timestamp.
 * (smtp-sink -M N, "exit after N messages", can't be used: it exits before the 250 for the last
 * message, so a relay would retry that one.)
 */
const SINK_POLL_MS = 5;

async function startSmtpSink(bin: string, dir: string): Promise<Sink> {
  const port = await freePort();
  const args = ['-c', `127.0.0.1:${port}`, '1024'];
  if (process.getuid?.() === 0) args.unshift('-u', 'nobody'); // smtp-sink refuses to run as root without -u
  mkdirSync(dir, { recursive: true });
  const countFile = path.join(dir, `smtp-sink-${port}.out`);
  const outFd = openSync(countFile, 'w+');
  const child = track(spawn(bin, args, { stdio: ['ignore', outFd, 'pipe'] }));
  const counter = new Counter();
  const errTail = new Tail();
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => errTail.push(c));

  let offset = 0;
  let carry = '';
  const chunk = Buffer.alloc(64 * 1024);
  const poll = () => {
    let max = -1;
    for (;;) {
      const n = readSync(outFd, chunk, 0, chunk.length, offset);
      if (n <= 0) break;
      offset += n;
      const parts = (carry + chunk.toString('latin1', 0, n)).split(/[\r\n]/);
      carry = parts.pop() ?? '';
      for (const p of parts) {
        const m = /mesg=(\d+)/.exec(p);
        if (m) max = Math.max(max, Number(m[1]));
      }
    }
    if (max >= 0) counter.set(max);
  };
  const timer = setInterval(poll, SINK_POLL_MS);
  child.once('exit', (code, signal) => {
    clearInterval(timer);
    counter.fail(new Error(`smtp-sink exited (code=${code} signal=${signal}): ${errTail.text()}`));
  });
  child.once('error', (e) => counter.fail(e));
  try {
    await waitForPort(port, 5000, 'smtp-sink', () => (isRunning(child) ? null : errTail.text() || 'exited'));
  } catch (e) {
    clearInterval(timer);
    await stopChild(child, 1000);
    closeSync(outFd);
    throw e;
  }
  return {
    port,
    received: () => {
      poll();
      return counter.count;
    },
    waitFor: (n, t) => {
      poll();
      return counter.waitFor(n, t, 'smtp-sink');
    },
    stop: async () => {
      clearInterval(timer);
      await stopChild(child, 2000);
      closeSync(outFd);
    },
  };
}

/** Fallback sink: a minimal in-process SMTP server (EHLO/MAIL/RCPT/DATA/QUIT, PIPELINING-safe). */
async function startNodeSink(): Promise<Sink> {
  const counter = new Counter();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    sock.setNoDelay(true);
    sock.write('220 bench-sink ESMTP\r\n');
    let inData = false;
    let buf = '';
    sock.on('data', (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      let out = '';
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) {
            buf = buf.slice(-4); // enough to detect a terminator split across chunks
            break;
          }
          buf = buf.slice(end + 5);
          inData = false;
          counter.set(counter.count + 1);
          out += '250 2.0.0 Ok: queued\r\n';
          continue;
        }
        const nl = buf.indexOf('\n');
        if (nl < 0) break;
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') out += '250-bench-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 0\r\n';
        else if (verb === 'DATA') {
          out += '354 End data with <CR><LF>.<CR><LF>\r\n';
          inData = true;
          buf = '\r\n' + buf; // so that an empty body ("." right away) also matches the terminator
        } else if (verb === 'QUIT') {
          sock.end(out + '221 2.0.0 Bye\r\n');
          return;
        } else out += '250 2.0.0 Ok\r\n';
      }
      if (out) sock.write(out);
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', 1024, () => resolve());
  });
  return {
    port,
    received: () => counter.count,
    waitFor: (n, t) => counter.waitFor(n, t, 'node sink'),
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Sources: send `count` messages, one per connection, over `sessions` parallel sessions
// ---------------------------------------------------------------------------------------------

interface SourceJob {
  port: number;
  count: number;
  sessions: number;
  bytes: number;
  timeoutMs: number;
}

/** smtp-source. Without -d it opens a new connection per message. It exits non-zero on any non-2xx/3xx reply. */
async function runSmtpSource(bin: string, job: SourceJob): Promise<void> {
  const args = [
    '-s', String(job.sessions),
    '-m', String(job.count),
    '-l', String(job.bytes),
    '-M', 'bench-source.test',
    '-f', SENDER,
    '-t', RECIPIENT,
    `127.0.0.1:${job.port}`,
  ];
  const child = track(spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
  const errTail = new Tail();
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => errTail.push(c));
  const timer = setTimeout(() => signalTree(child, 'SIGKILL', false), job.timeoutMs);
  try {
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c, s) => resolve([c, s]));
    });
    if (code !== 0) {
      const why = signal === 'SIGKILL' ? `timed out after ${job.timeoutMs} ms` : `code=${code} signal=${signal}`;
      throw new Error(`smtp-source failed (${why}): ${errTail.text()}`);
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Builds a message of about `bytes` payload bytes after the headers, in 76-column lines. */
function buildMessage(bytes: number): string {
  const headers =
    `From: <${SENDER}>\r\nTo: <${RECIPIENT}>\r\nSubject: bench\r\n` +
    `Date: ${new Date().toUTCString()}\r\nMessage-ID: <bench.${process.pid}@bench.moat.test>\r\n\r\n`;
  const line = 'La La La La La La La La La La La La La La La La La La La La La La La La La\r\n';
  let body = '';
  while (body.length + line.length <= bytes) body += line;
  if (body.length < bytes) body += 'x'.repeat(Math.max(0, bytes - body.length - 2)) + '\r\n';
  return headers + body;
}

/** Fallback source: a minimal SMTP client with one connection per message. */
async function runNodeSource(job: SourceJob): Promise<void> {
  const message = buildMessage(job.bytes);
  let remaining = job.count;
  const sockets = new Set<net.Socket>();

  const sendOne = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const sock = net.connect({ host: '127.0.0.1', port: job.port });
      sockets.add(sock);
      sock.setNoDelay(true);
      const steps: [string | null, string][] = [
        [null, '220'],
        ['EHLO bench-source.test\r\n', '250'],
        [`MAIL FROM:<${SENDER}>\r\n`, '250'],
        [`RCPT TO:<${RECIPIENT}>\r\n`, '250'],
        ['DATA\r\n', '354'],
        [message + '.\r\n', '250'],
        ['QUIT\r\n', '221'],
      ];
      let step = 0;
      let buf = '';
      const fail = (e: Error) => {
        sock.destroy();
        reject(e);
      };
      sock.on('error', fail);
      sock.on('close', () => {
        sockets.delete(sock);
        if (step < steps.length) reject(new Error(`connection closed at step ${step}`));
      });
      sock.on('data', (d: Buffer) => {
        buf += d.toString('latin1');
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).replace(/\r$/, '');
          buf = buf.slice(nl + 1);
          if (!/^\d{3}(?: |$)/.test(line)) continue; // continuation line of a multi-line reply
          const want = steps[step][1];
          if (!line.startsWith(want)) return fail(new Error(`expected ${want}, got: ${line}`));
          step++;
          if (step === steps.length) {
            sock.end();
            return resolve();
          }
          sock.write(steps[step][0]!);
        }
      });
    });

  const worker = async () => {
    while (remaining > 0) {
      remaining--;
      await sendOne();
    }
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.all(Array.from({ length: Math.min(job.sessions, job.count) }, worker)),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`node source timed out after ${job.timeoutMs} ms`)), job.timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    for (const s of sockets) s.destroy();
  }
}

interface Tools {
  name: string;
  startSink(): Promise<Sink>;
  runSource(job: SourceJob): Promise<void>;
}

function detectTools(): Tools {
  const sinkBin = which('smtp-sink');
  const sourceBin = which('smtp-source');
  if (sinkBin && sourceBin && !process.env.BENCH_NODE_TOOLS) {
    return {
      name: 'smtp-source/smtp-sink',
      startSink: () => startSmtpSink(sinkBin, path.join(tmpRoot ?? os.tmpdir(), 'sink')),
      runSource: (job) => runSmtpSource(sourceBin, job),
    };
  }
  return { name: 'node', startSink: startNodeSink, runSource: runNodeSource };
}

// ---------------------------------------------------------------------------------------------
// The common measurement: warm-up, then N messages, timed until the sink has them all
// ---------------------------------------------------------------------------------------------

interface Timing {
  seconds: number;
  acceptSeconds: number;
}

async function measure(
  leg: string,
  cfg: Config,
  tools: Tools,
  sink: Sink,
  targetPort: number,
  afterWarmup?: () => Promise<void>,
): Promise<Timing> {
  const job = (count: number): SourceJob => ({
    port: targetPort,
    count,
    sessions: cfg.sessions,
    bytes: Math.round(cfg.sizeKB * 1024),
    timeoutMs: cfg.legTimeoutMs,
  });
  const base = sink.received();
  if (cfg.warmup > 0) {
    log(`${leg}: warm-up, ${cfg.warmup} messages`);
    await Promise.all([tools.runSource(job(cfg.warmup)), sink.waitFor(base + cfg.warmup, cfg.legTimeoutMs)]);
    await afterWarmup?.();
  }
  const target = base + cfg.warmup + cfg.messages;
  log(`${leg}: measuring, ${cfg.messages} messages x ${cfg.sizeKB} KB over ${cfg.sessions} sessions`);
  const t0 = performance.now();
  const [tAccepted, tDelivered] = await Promise.all([
    tools.runSource(job(cfg.messages)).then(() => performance.now()),
    sink.waitFor(target, cfg.legTimeoutMs),
  ]);
  const extra = sink.received() - target;
  if (extra > 0) log(`${leg}: WARNING: sink received ${extra} more messages than sent (duplicates?)`);
  const timing = { seconds: (tDelivered - t0) / 1000, acceptSeconds: (tAccepted - t0) / 1000 };
  log(
    `${leg}: ${cfg.messages} delivered in ${timing.seconds.toFixed(3)} s ` +
      `(${(cfg.messages / timing.seconds).toFixed(1)} msg/s), accepted in ${timing.acceptSeconds.toFixed(3)} s`,
  );
  return timing;
}

interface LegResult {
  msgsPerSec: number;
  seconds: number;
  acceptSeconds: number;
}

function legResult(cfg: Config, t: Timing): LegResult {
  return {
    msgsPerSec: round(cfg.messages / t.seconds, 1),
    seconds: round(t.seconds, 3),
    acceptSeconds: round(t.acceptSeconds, 3),
  };
}

// ---------------------------------------------------------------------------------------------
// Leg 1: direct
// ---------------------------------------------------------------------------------------------

async function runDirect(cfg: Config, tools: Tools): Promise<LegResult> {
  const sink = await tools.startSink();
  try {
    return legResult(cfg, await measure('direct', cfg, tools, sink, sink.port));
  } finally {
    await sink.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Leg 2: Moat
// ---------------------------------------------------------------------------------------------

interface MoatResult extends LegResult {
  p50Ms: number | null;
  p99Ms: number | null;
  latencySamples: number;
  peakRssMB: number | null;
  /** CPU ms per measured message of the Moat process, all threads, and by thread name (main = the process's own). */
  cpuMsPerMsg: number | null;
  cpuByThread: Record<string, number> | null;
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

function readProcStatusKB(pid: number, field: 'VmHWM' | 'VmRSS'): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** CPU ms used so far by each thread of a process, by thread name (/proc/<pid>/task/<tid>/stat, 100 ticks/s). */
function readThreadCpuMs(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // After "pid (comm) ", field 14 (utime) and 15 (stime) of proc(5) are at indexes 11 and 12.
      out[name] = (out[name] ?? 0) + (Number(f[11]) + Number(f[12])) * 10;
    }
  } catch { /* the process is gone */ }
  return out;
}

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

async function runMoat(cfg: Config, tools: Tools, dir: string, scan: boolean): Promise<MoatResult> {
  const mainTs = path.join(REPO_ROOT, 'src', 'main.ts');
  if (!existsSync(mainTs)) throw new Error(`${mainTs} not found`);
  const sink = await tools.startSink();
  let moat: ChildProcess | null = null;
  let rssPoll: NodeJS.Timeout | undefined;
  try {
    const smtpPort = await freePort();
    const httpPort = await freePort();
    const dataDir = path.join(dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    const configPath = path.join(dir, 'moat.yaml');
    writeFileSync(
      configPath,
      [
        `dataDir: ${JSON.stringify(dataDir)}`,
        `databaseUrl: ${JSON.stringify(`sqlite:${path.join(dataDir, 'moat.db')}`)}`,
        'listen:',
        `  smtp: 127.0.0.1:${smtpPort}`,
        `  http: 127.0.0.1:${httpPort}`,
        'logLevel: info',
        'settings:',
        '  mta:',
        '    hostname: bench.moat.test',
        `    relayHost: 127.0.0.1:${sink.port}`,
        '    trustedNetworks: [127.0.0.0/8]',
        '    tls: { outbound: none }',
        // `moat` measures the relay alone; `moatScan` the same with scanning and the shipped Default rule.
        `  scan: { enabled: ${scan} }`,
        '',
      ].join('\n'),
    );

    // The Node binary running this script is the pinned Node 24 (npm run puts node_modules/.bin first).
    // Spawning it directly, with no wrapper, makes moat.pid the Moat process for the RSS reading.
    // detached: Moat gets its own process group, so we can also reap any children it spawns.
    moat = track(
      spawn(process.execPath, [...(process.env.BENCH_MOAT_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_MOAT_PROF}`] : []), ...(process.env.BENCH_MOAT_ARGS?.split(' ').filter(Boolean) ?? []), 'src/main.ts', 'start', '--config', configPath], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
        // MOAT_* variables override the bootstrap file, so drop any that are set in the caller's environment.
        env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MOAT_'))),
      }),
    );
    const proc = moat;
    const pid = proc.pid!;
    const logFile = path.join(dir, 'moat.log');
    const outTail = new Tail(40);
    const errTail = new Tail(40);
    let delays: number[] = [];
    let deliveredLines = 0;
    let errorLines = 0;
    let partial = '';
    const logChunks: string[] = [];
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (chunk: string) => {
      if (process.env.BENCH_KEEP_TMP) logChunks.push(chunk);
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        // Most lines are not interesting. Parse only candidates, to keep this process's CPU use low.
        if (line.includes('"delivered"')) {
          try {
            const rec = JSON.parse(line) as { msg?: unknown; delay?: unknown };
            if (rec.msg === 'delivered' && typeof rec.delay === 'number') {
              delays.push(rec.delay);
              deliveredLines++;
              continue;
            }
          } catch {
            // not JSON; fall through to the tail
          }
        }
        if (/"level":\s*(50|60)/.test(line)) errorLines++;
        outTail.add(line);
      }
    });
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (c: string) => errTail.push(c));
    const diag = () => `\n--- moat stdout (tail) ---\n${outTail.text()}\n--- moat stderr (tail) ---\n${errTail.text()}`;
    const deadReason = () => (isRunning(proc) ? null : `code=${proc.exitCode} signal=${proc.signalCode}`);
    const spawnError = new Promise<never>((_, reject) => proc.once('error', reject));
    spawnError.catch(() => {});

    let peakRssKB = 0;
    let cpu0: Record<string, number> | null = null;
    rssPoll = setInterval(() => {
      peakRssKB = Math.max(peakRssKB, readProcStatusKB(pid, 'VmRSS') ?? 0);
    }, 250);

    try {
      log(`moat: starting (smtp 127.0.0.1:${smtpPort}, http 127.0.0.1:${httpPort}, relay to sink :${sink.port})`);
      const t0 = performance.now();
      for (;;) {
        const dead = deadReason();
        if (dead) throw new Error(`moat exited during startup (${dead})`);
        if ((await Promise.race([httpStatus(`http://127.0.0.1:${httpPort}/healthz`), spawnError])) === 200) break;
        if (performance.now() - t0 > HEALTH_TIMEOUT_MS) throw new Error(`moat /healthz not 200 after ${HEALTH_TIMEOUT_MS} ms`);
        await sleep(200);
      }
      log(`moat: healthy after ${((performance.now() - t0) / 1000).toFixed(1)} s`);

      const timing = await measure('moat', cfg, tools, sink, smtpPort, async () => {
        // Let the warm-up's "delivered" lines arrive (the sink counts at ".", the log line follows
        // the 250), then forget them.
        if (!(await waitUntil(() => deliveredLines >= cfg.warmup, LOG_SETTLE_MS))) {
          log(`moat: note: only ${deliveredLines}/${cfg.warmup} warm-up "delivered" log lines seen`);
        }
        delays = [];
        cpu0 = readThreadCpuMs(pid);
      });
      if (!(await waitUntil(() => delays.length >= cfg.messages, LOG_SETTLE_MS))) {
        log(`moat: WARNING: only ${delays.length}/${cfg.messages} "delivered" log lines with a numeric delay`);
      }
      peakRssKB = Math.max(peakRssKB, readProcStatusKB(pid, 'VmHWM') ?? 0, readProcStatusKB(pid, 'VmRSS') ?? 0);
      const cpu1 = readThreadCpuMs(pid);
      const cpuByThread: Record<string, number> | null = cpu0 ? Object.fromEntries(Object.entries(cpu1).map(([k, v]) => [k, round((v - (cpu0![k] ?? 0)) / cfg.messages, 3)]).filter(([, v]) => (v as number) > 0)) as Record<string, number> : null;
      if (errorLines > 0) log(`moat: note: ${errorLines} error-level log lines`);

      const sorted = [...delays].sort((a, b) => a - b);
      const p50 = percentile(sorted, 0.5);
      const p99 = percentile(sorted, 0.99);
      return {
        ...legResult(cfg, timing),
        p50Ms: p50 === null ? null : round(p50, 1),
        p99Ms: p99 === null ? null : round(p99, 1),
        latencySamples: sorted.length,
        peakRssMB: peakRssKB > 0 ? round(peakRssKB / 1024, 1) : null,
        cpuMsPerMsg: cpuByThread ? round(Object.values(cpuByThread).reduce((a, b) => a + b, 0), 3) : null,
        cpuByThread,
      };
    } catch (e) {
      throw new Error(`${(e as Error).message}${diag()}`, { cause: e });
    } finally {
      clearInterval(rssPoll);
      const how = await stopChild(proc, STOP_TIMEOUT_MS, true);
      log(`moat: stopped (${how})`);
      if (process.env.BENCH_KEEP_TMP) writeFileSync(logFile, logChunks.join(''));
    }
  } finally {
    clearInterval(rssPoll);
    if (moat && isRunning(moat)) await stopChild(moat, 1000, true);
    await sink.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Leg 3: a private Postfix instance
// ---------------------------------------------------------------------------------------------
//
// The instance lives entirely in <tmp>/postfix: etc/ (config_directory), spool/ (queue_directory),
// data/ (data_directory), and maillog. It is started as `postfix -c <tmp>/postfix/etc start`. As root,
// postfix(1) accepts any -c directory, so alternate_config_directories in /etc/postfix/main.cf is
// not needed (that is only for the set-gid postdrop/postqueue) and /etc/postfix is left untouched.
// What must be true for it to start:
//   - the queue_directory exists, owned by root and mode 0755. postfix-script's create-missing
//     makes the subdirectories, and data_directory, with the right owners;
//   - every directory above it can be traversed by the postfix user (mkdtemp makes 0700, so chmod);
//   - maillog_file_prefixes covers maillog_file;
//   - master.cf runs nothing chrooted, because the temp spool has no etc/ or lib/ for a chroot.
// postfix(1) prints errors on stderr only when stderr is a tty. So when start fails we report the
// maillog tail, and hint at `script -qc 'postfix -c DIR check' /dev/null`.

function postfixMainCf(root: string, smtpdPort: number, sinkPort: number): string {
  return `# Private Postfix instance for bench/relay.ts. Generated; deleted after the run.
compatibility_level = 3.6
queue_directory = ${root}/spool
data_directory = ${root}/data
maillog_file = ${root}/maillog
maillog_file_prefixes = ${root}
syslog_name = postfix-bench
myhostname = bench-postfix.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:${sinkPort}
smtpd_relay_restrictions = permit_mynetworks, reject
alias_maps =
alias_database =
local_recipient_maps =
smtp_tls_security_level = none
smtpd_tls_security_level = none
# Skips the client's reverse lookup. The client is 127.0.0.1, and this keeps the run from ever touching DNS.
smtpd_peername_lookup = no
# Everything else (content_filter, concurrency, in_flow_delay) stays at the Postfix defaults.
# smtpd listens on 127.0.0.1:${smtpdPort} (see master.cf).
`;
}

function postfixMasterCf(smtpdPort: number): string {
  // Debian's stock services, with chroot off for all of them. Nothing that is not needed to relay.
  return `# service type  private unpriv  chroot  wakeup  maxproc command
127.0.0.1:${smtpdPort} inet n - n - - smtpd
pickup     unix  n       -       n       60      1       pickup
cleanup    unix  n       -       n       -       0       cleanup
qmgr       unix  n       -       n       300     1       qmgr
rewrite    unix  -       -       n       -       -       trivial-rewrite
bounce     unix  -       -       n       -       0       bounce
defer      unix  -       -       n       -       0       bounce
trace      unix  -       -       n       -       0       bounce
verify     unix  -       -       n       -       1       verify
flush      unix  n       -       n       1000?   0       flush
proxymap   unix  -       -       n       -       -       proxymap
proxywrite unix  -       -       n       -       1       proxymap
smtp       unix  -       -       n       -       -       smtp
relay      unix  -       -       n       -       -       smtp
showq      unix  n       -       n       -       -       showq
error      unix  -       -       n       -       -       error
retry      unix  -       -       n       -       -       error
discard    unix  -       -       n       -       -       discard
local      unix  -       n       n       -       -       local
anvil      unix  -       -       n       -       1       anvil
scache     unix  -       -       n       -       1       scache
postlog    unix-dgram n  -       n       -       1       postlogd
`;
}

function postfixMasterPid(etc: string): number | null {
  try {
    const root = path.dirname(etc);
    const pid = Number(readFileSync(path.join(root, 'spool', 'pid', 'master.pid'), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return null;
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

/** `postfix stop`, then `postfix abort`, then SIGKILL the master. Synchronous, so usable at exit. */
function stopPostfixSync(etc: string): void {
  const bin = which('postfix');
  if (bin) spawnSync(bin, ['-c', etc, 'stop'], { stdio: 'ignore', timeout: 30_000 });
  const deadline = Date.now() + 5000;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  while (postfixMasterPid(etc) !== null && Date.now() < deadline) Atomics.wait(nap, 0, 0, 100);
  if (postfixMasterPid(etc) !== null && bin) {
    spawnSync(bin, ['-c', etc, 'abort'], { stdio: 'ignore', timeout: 10_000 });
  }
  const pid = postfixMasterPid(etc);
  if (pid !== null) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  postfixInstances.delete(etc);
}

function maillogTail(root: string, lines = 20): string {
  try {
    return readFileSync(path.join(root, 'maillog'), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no maillog)';
  }
}

async function runPostfix(cfg: Config, tools: Tools, root: string, bin: string): Promise<LegResult> {
  const etc = path.join(root, 'etc');
  const sink = await tools.startSink();
  try {
    const smtpdPort = await freePort();
    mkdirSync(etc, { recursive: true, mode: 0o755 });
    mkdirSync(path.join(root, 'spool'), { recursive: true, mode: 0o755 });
    for (const d of [path.dirname(root), root, etc, path.join(root, 'spool')]) chmodSync(d, 0o755);
    writeFileSync(path.join(etc, 'main.cf'), postfixMainCf(root, smtpdPort, sink.port));
    writeFileSync(path.join(etc, 'master.cf'), postfixMasterCf(smtpdPort));

    log(`postfix: starting private instance (config ${etc}, smtpd 127.0.0.1:${smtpdPort}, relay to sink :${sink.port})`);
    postfixInstances.add(etc);
    const r = spawnSync(bin, ['-c', etc, 'start'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) {
      throw new Error(
        `postfix -c ${etc} start failed (status=${r.status} ${r.error?.message ?? ''}) ${r.stderr ?? ''}\n` +
          `maillog:\n${maillogTail(root)}\n(hint: postfix prints errors only to a tty: script -qc 'postfix -c ${etc} check' /dev/null)`,
      );
    }
    try {
      await waitForPort(smtpdPort, 15_000, 'postfix smtpd', () =>
        postfixMasterPid(etc) === null ? `master not running\n${maillogTail(root)}` : null,
      );
      return legResult(cfg, await measure('postfix', cfg, tools, sink, smtpdPort));
    } catch (e) {
      throw new Error(`${(e as Error).message}\nmaillog:\n${maillogTail(root)}`, { cause: e });
    } finally {
      stopPostfixSync(etc);
      log('postfix: stopped');
    }
  } finally {
    if (postfixInstances.has(etc)) stopPostfixSync(etc);
    await sink.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const cfg = parseConfig();
  const tools = detectTools();
  if (Number(process.versions.node.split('.')[0]) < 24) {
    log(`WARNING: running on Node ${process.version}; Moat needs Node 24 (use node_modules/.bin/node)`);
  }
  tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'moat-bench-'));
  log(`tools: ${tools.name}; temp dir ${tmpRoot}; legs ${cfg.legs.join(',')}; warm-up ${cfg.warmup}`);

  const out: Record<string, unknown> = {
    bench: 'relay',
    messages: cfg.messages,
    sizeKB: cfg.sizeKB,
    sessions: cfg.sessions,
    warmup: cfg.warmup,
    tools: tools.name,
    direct: null,
    moat: null,
    postfix: null,
    ratioToDirect: null,
    ratioToPostfix: null,
  };
  const errors: Record<string, string> = {};
  const skipped: Record<string, string> = {};
  const results: Partial<Record<LegName, LegResult>> = {};

  try {
    for (const leg of cfg.legs) {
      try {
        if (leg === 'direct') {
          results.direct = await runDirect(cfg, tools);
        } else if (leg === 'moat') {
          results.moat = await runMoat(cfg, tools, path.join(tmpRoot, 'moat'), false);
        } else if (leg === 'moatScan') {
          results.moatScan = await runMoat(cfg, tools, path.join(tmpRoot, 'moat-scan'), true);
        } else {
          const bin = which('postfix');
          if (!bin) skipped.postfix = 'postfix not installed';
          else if (process.getuid?.() !== 0) skipped.postfix = 'a private Postfix instance needs root';
          else results.postfix = await runPostfix(cfg, tools, path.join(tmpRoot, 'postfix'), bin);
          if (skipped.postfix) log(`postfix: skipped (${skipped.postfix})`);
        }
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        errors[leg] = msg.split('\n')[0];
        log(`${leg}: FAILED: ${msg}`);
      }
    }
  } finally {
    if (process.env.BENCH_KEEP_TMP && tmpRoot) log(`keeping ${tmpRoot}`);
    cleanupSync();
  }

  out.direct = results.direct ?? null;
  out.moat = results.moat ?? null;
  out.postfix = results.postfix ?? null;
  if (results.moatScan) {
    out.moatScan = results.moatScan;
    if (results.moat) out.scanToRelayRatio = round(results.moatScan.msgsPerSec / results.moat.msgsPerSec, 3);
  }
  if (results.moat && results.direct) out.ratioToDirect = round(results.moat.msgsPerSec / results.direct.msgsPerSec, 3);
  if (results.moat && results.postfix) out.ratioToPostfix = round(results.moat.msgsPerSec / results.postfix.msgsPerSec, 3);
  if (Object.keys(skipped).length) out.skipped = skipped;
  if (Object.keys(errors).length) out.errors = errors;
  process.stdout.write(JSON.stringify(out) + '\n');
  return Object.keys(errors).length ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    log(`fatal: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    cleanupSync();
    process.exitCode = 1;
  },
);
