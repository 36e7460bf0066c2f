/**
 * `moat scan`: the scanning pipeline offline. Each message given (a file, every regular file of a directory, or
 * standard input) goes through scanMessage in this process, with the module requests the SMTP intake would
 * build for it (same rule selection, same module options, same configuration keys, same verdicts); nothing is
 * sent, queued or recorded. One line per message on stdout: JSON with --json, else a short human line.
 *
 * Rules and settings come from the store of the bootstrap config. A store that does not exist yet is not
 * created (a scan writes nothing): the shipped rules are used, with the settings the config would seed (else
 * the defaults), and stderr says so once; the same when the store cannot be opened or read.
 *
 * Envelope, per message, when not given: sender = the message's Return-Path, else its From address, else the
 * null sender; recipients = the To and Cc addresses, else postmaster@localhost; client IP 127.0.0.1; HELO
 * `localhost`. A leading mbox `From ` line is skipped, as an MTA would never have received it.
 *
 * Several messages are in flight at once (lines still come in input order); a directory of 200 files or more is
 * scanned in worker threads, one per core (the SMTP path's ScanPool), when the machine has more than one.
 *
 * --all-modules: every module is requested whatever the rule enables (those without an engine yet report
 * not_scanned/engine_unavailable), content with the default criteria; the verdict is the Default rule's blocks
 * with every module enabled (mode scan), and the line names rule Default. Rule selection is bypassed.
 * --modules LIST: the same, but only the listed modules run; the others are reported disabled.
 *
 * Inputs that cannot be read (missing, a directory without files, a read error) are skipped and the others
 * scanned; the command then fails with one line naming them. A message whose scan failed as a whole gets
 * `error` findings (as on the SMTP path), its line is printed, and it counts as a failure too.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import ipaddr from 'ipaddr.js';
import type { Bootstrap } from '../config/bootstrap.ts';
import { SettingsService, validateSettings } from '../config/settings.ts';
import { defaultSettings, type Settings } from '../config/settings-schema.ts';
import {
  decide, defaultContentOptions, defaultRules, fallbackDefault, groupRecipients, shippedBlocks, shippedOptions,
  type Rule, type RuleGroup, type Verdict,
} from '../policy/index.ts';
import { openStore } from '../store/db.ts';
import { RulesRepo } from '../store/rules-repo.ts';
import { AntispamRepo } from '../store/antispam-repo.ts';
import { loadClassifier, shareClassifier, type Classifier } from './antispam/classifier.ts';
import { LearnedSync } from './antispam/learn.ts';
import { setSharedClassifier } from './antispam/scanner.ts';
import { dmarcPolicyOf } from './auth/scanner.ts';
import { SettingsRepo } from '../store/settings-repo.ts';
import { scanMessage, type ModuleRequest, type ScanRequest, type ScanResult } from './pipeline.ts';
import { ScanPool } from './pool.ts';
import { closeScanners, configKey } from './registry.ts';
import { errorFinding } from './run.ts';
import { MODULES, type Envelope, type Finding, type ModuleName } from './types.ts';
import { moduleOptions } from './options.ts';

/** Messages in flight per thread (reading one overlaps scanning another), as a pool worker takes them. */
const PER_THREAD = 4;
/**
 * Messages in flight per pool thread. Lines are printed in input order, so one slow message holds back the
 * window behind it: with only PER_THREAD per thread the workers sat idle about 15 % of the time over the
 * SpamAssassin corpus; 32 keeps them fed (the files are small, at most WHOLE_BYTES each is held).
 */
const PER_POOL_THREAD = 32;
/** From this many files in one argument on, a machine with several cores scans them in worker threads. */
const POOL_FROM = 200;

/** A problem with the command line itself (the caller turns it into a usage error, exit 2). */
export class ScanUsageError extends Error {}

export interface ScanCommandOptions {
  inputs: string[];
  json: boolean;
  allModules: boolean;
  /** --modules: like --all-modules, but only these modules run (the others are reported disabled). */
  modules?: ModuleName[];
  from?: string;
  to: string[];
  ip?: string;
  helo?: string;
}

export interface ScanIo {
  out(line: string): void;
  warn(line: string): void;
  stdin: NodeJS.ReadableStream;
}

export const DEFAULT_CLIENT_IP = '127.0.0.1';
export const DEFAULT_HELO = 'localhost';
export const DEFAULT_RECIPIENT = 'postmaster@localhost';

/** Bytes read from the top of a file to find its header fields (defaults for the envelope). */
const HEAD_BYTES = 64 * 1024;
/** A file up to this size is read once, whole, and scanned from memory (the SMTP path's in-memory limit). */
const WHOLE_BYTES = 128 * 1024;

/** Module entry of a printed line. */
interface ModuleLine {
  status: string;
  reason?: string;
  detections?: { status: string; name: string; engine?: string; part?: string }[];
  details?: Record<string, unknown>;
}

export interface ScanLine {
  file: string;
  action: string;
  rule: string;
  modules: Record<ModuleName, ModuleLine>;
  groups?: { rule: string; action: string; recipients: string[] }[];
}

// ---- envelope defaults from the message ----

/** Length of a leading mbox separator line (`From sender date`), 0 when there is none. */
export function mboxLineLength(head: Buffer): number {
  if (head.length < 5 || head.toString('latin1', 0, 5) !== 'From ') return 0;
  const nl = head.indexOf(0x0a);
  return nl < 0 ? 0 : nl + 1;
}

/** Unfolded header fields of the top of a message (names lowercased), up to the first empty line. */
function headerFields(head: Buffer): Map<string, string[]> {
  const text = head.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const block = (end < 0 ? text : text.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const fields = new Map<string, string[]>();
  for (const line of block.split(/\r?\n/)) {
    const m = /^([!-9;-~]+)[ \t]*:(.*)$/.exec(line);
    if (!m) continue;
    const name = m[1].toLowerCase();
    fields.set(name, [...(fields.get(name) ?? []), m[2].trim()]);
  }
  return fields;
}

/** The addr-specs of an address-list header value (display names, comments and groups ignored). */
export function addressesIn(value: string): string[] {
  // Quoted display names and comments may hold commas, angle brackets and @ signs that are not addresses.
  const bare = value.replace(/"(?:[^"\\]|\\.)*"/g, ' ').replace(/\((?:[^()\\]|\\.)*\)/g, ' ');
  const out: string[] = [];
  for (const item of bare.split(/[,;]/)) {
    const angle = /<\s*([^<>\s]*)\s*>/.exec(item);
    const addr = angle ? angle[1] : /[^\s<>:]+@[^\s<>:]+/.exec(item)?.[0];
    if (addr && addr.includes('@')) out.push(addr);
  }
  return out;
}

/** The envelope of one message: what was given on the command line, the rest from its header fields. */
export function envelopeFor(head: Buffer, o: Pick<ScanCommandOptions, 'from' | 'to' | 'ip' | 'helo'>): Envelope {
  const fields = headerFields(head);
  let sender = o.from;
  if (sender === undefined) {
    const rp = fields.get('return-path')?.[0];
    if (rp !== undefined) sender = /<\s*([^<>\s]*)\s*>/.exec(rp)?.[1] ?? rp.trim();
    else sender = addressesIn(fields.get('from')?.[0] ?? '')[0] ?? '';
  }
  let recipients = o.to;
  if (!recipients.length) {
    const seen = new Set<string>();
    recipients = [...(fields.get('to') ?? []), ...(fields.get('cc') ?? [])].flatMap(addressesIn)
      .filter((a) => !seen.has(a.toLowerCase()) && !!seen.add(a.toLowerCase()));
    if (!recipients.length) recipients = [DEFAULT_RECIPIENT];
  }
  return { sender, recipients, clientIp: o.ip ?? DEFAULT_CLIENT_IP, helo: o.helo ?? DEFAULT_HELO, authUser: null };
}

/** `<>` and `<a@b>` as given on a command line → the envelope form ('' for the null sender). */
function envelopeAddress(a: string): string {
  const t = a.trim();
  return t.startsWith('<') && t.endsWith('>') ? t.slice(1, -1).trim() : t;
}

// ---- rules, settings and module requests ----

interface Context { rules: Rule[]; settings: Settings; classifier?: Classifier }

/** Rules and settings from the store; the shipped ones when there is no store or it cannot be opened. */
async function loadContext(boot: Bootstrap, warn: (line: string) => void): Promise<Context> {
  const fallback = (why: string): Context => {
    warn(`moat scan: ${why}; using the shipped rules and the config's settings`);
    let settings: Settings;
    try { settings = validateSettings(boot.settingsSeed ?? {}); } catch { settings = defaultSettings(); }
    return { rules: defaultRules(), settings };
  };
  if (boot.databaseUrl.startsWith('sqlite:') && !existsSync(boot.databaseUrl.slice('sqlite:'.length))) {
    return fallback(`no store at ${boot.databaseUrl.slice('sqlite:'.length)}`);
  }
  let store;
  try { store = await openStore(boot.databaseUrl); } catch (err) {
    return fallback(`cannot open the store (${String((err as Error).message).split('\n')[0]})`);
  }
  try {
    const rules = await new RulesRepo(store.db).list();
    const settings = (await SettingsService.open(new SettingsRepo(store.db), boot.settingsSeed)).snapshot();
    // The classifier as the cluster has trained it: the shipped model plus every learned example.
    const classifier = await loadClassifier();
    await new LearnedSync(new AntispamRepo(store.db), classifier).sync();
    setSharedClassifier(classifier);
    return { rules, settings, classifier };
  } catch (err) {
    return fallback(`cannot read the store (${String((err as Error).message).split('\n')[0]})`);
  } finally {
    await store.close().catch(() => {});
  }
}


/**
 * The Default rule (as the store has it) with every module enabled (or only those of `only`), content with the
 * default criteria.
 */
function everyModuleRule(rules: readonly Rule[], only?: readonly ModuleName[]): Rule {
  const base = rules.find((r) => r.preset === 'Default') ?? fallbackDefault();
  const modules: Rule['modules'] = {};
  for (const m of MODULES) {
    const options = m === 'content' ? { ...defaultContentOptions() } : (base.modules[m]?.options ?? shippedOptions(m));
    modules[m] = { enabled: !only || only.includes(m), blocks: base.modules[m]?.blocks ?? shippedBlocks(m), ...(options ? { options } : {}) };
  }
  return { ...base, mode: 'scan', modules };
}

interface Plan { groups: RuleGroup[]; perGroup: ModuleRequest[][]; all: ModuleRequest[] }

function plan(ctx: Context, envelope: Envelope, o: ScanCommandOptions): Plan {
  let groups: RuleGroup[];
  if (o.allModules || o.modules) {
    groups = [{ rule: everyModuleRule(ctx.rules, o.modules), recipients: envelope.recipients, indexes: envelope.recipients.map((_, i) => i) }];
  } else {
    // The group of the first recipient first: the line's top-level fields are about it.
    groups = groupRecipients(ctx.rules, envelope).sort((a, b) => a.indexes[0] - b.indexes[0]);
  }
  const all = new Map<string, ModuleRequest>();
  const perGroup = groups.map((g) => {
    if (g.rule.mode !== 'scan') return [];
    return MODULES.filter((m) => g.rule.modules[m]?.enabled === true).map((module) => {
      const options = moduleOptions(module, g.rule, ctx.settings);
      const req: ModuleRequest = { module, key: configKey(module, options), options };
      all.set(req.key, req);
      return req;
    });
  });
  return { groups, perGroup, all: [...all.values()] };
}

// ---- inputs ----

type Input = { file: string; path: string } | { file: '-'; data: Buffer };

class InputError extends Error {}

function reason(err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT': return 'no such file or directory';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'is a directory';
    default: return String((err as Error).message ?? err).split('\n')[0];
  }
}

/** Files to scan for one argument, in order; throws InputError when there is nothing readable. */
async function expand(arg: string, stdin: NodeJS.ReadableStream): Promise<Input[]> {
  if (arg === '-') {
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
    return [{ file: '-', data: Buffer.concat(chunks) }];
  }
  let st;
  try { st = await stat(arg); } catch (err) { throw new InputError(`${arg}: ${reason(err)}`); }
  if (!st.isDirectory()) return [{ file: arg, path: arg }];
  let names: string[];
  try { names = await readdir(arg); } catch (err) { throw new InputError(`${arg}: ${reason(err)}`); }
  const files: Input[] = [];
  for (const name of names.sort()) {
    const path = join(arg, name);
    if ((await stat(path).catch(() => null))?.isFile()) files.push({ file: path, path });
  }
  if (!files.length) throw new InputError(`${arg}: no files in the directory`);
  return files;
}

/**
 * The start of a file (to find its header fields; also proves it can be read): its first HEAD_BYTES, and the
 * whole content when the file is at most WHOLE_BYTES (most mail), so the scan works on those bytes instead of
 * opening the file again (in a worker thread: open, stat, read and close cost more than parsing a small message
 * on some file systems). A file that grows while it is read is scanned from the file.
 */
async function readStart(path: string): Promise<{ head: Buffer; whole: Buffer | null }> {
  let fh;
  try { fh = await open(path, 'r'); } catch (err) { throw new InputError(`${path}: ${reason(err)}`); }
  try {
    // Its own memory (not the shared pool), one byte more than expected to see a file longer than its size said.
    // Not a regular file (a FIFO, a device): its head only, as before.
    const st = await fh.stat();
    const buf = Buffer.allocUnsafeSlow(st.isFile() ? Math.min(st.size, WHOLE_BYTES) + 1 : HEAD_BYTES);
    let n = 0;
    for (let r; n < buf.length && (r = (await fh.read(buf, n, buf.length - n, st.isFile() ? n : null)).bytesRead) > 0;) n += r;
    if (n === buf.length || !st.isFile()) return { head: buf.subarray(0, Math.min(n, HEAD_BYTES)), whole: null };
    return { head: buf.subarray(0, Math.min(n, HEAD_BYTES)), whole: buf.subarray(0, n) };
  } catch (err) {
    throw new InputError(`${path}: ${reason(err)}`);
  } finally {
    await fh.close();
  }
}

// ---- output ----

function moduleLine(f: Finding): ModuleLine {
  const line: ModuleLine = { status: f.status };
  if (f.reason) line.reason = f.reason;
  if (f.detections.length) line.detections = f.detections.map((d) => ({ status: d.status, name: d.name, ...(d.engine ? { engine: d.engine } : {}), ...(d.part ? { part: d.part } : {}) }));
  if (f.details && Object.keys(f.details).length) line.details = f.details;
  return line;
}

function lineFor(file: string, p: Plan, findings: Record<string, Finding>, verdicts: Verdict[]): ScanLine {
  const modules = {} as Record<ModuleName, ModuleLine>;
  for (const m of MODULES) {
    const req = p.perGroup[0]?.find((r) => r.module === m);
    modules[m] = req ? moduleLine(findings[req.key]) : { status: 'not_scanned', reason: 'disabled' };
  }
  const line: ScanLine = { file, action: verdicts[0]?.action ?? 'skip', rule: verdicts[0]?.ruleName ?? '', modules };
  if (p.groups.length > 1) line.groups = p.groups.map((g, i) => ({ rule: verdicts[i].ruleName, action: verdicts[i].action, recipients: g.recipients }));
  return line;
}

/** `FILE  ACTION  rule=NAME  module=status:name…` (modules that are clean or not asked for are left out). */
export function humanLine(l: ScanLine): string {
  const notable = MODULES.flatMap((m) => {
    const x = l.modules[m];
    if (x.status === 'clean' || x.status === 'pass' || (x.status === 'not_scanned' && (x.reason === 'disabled' || x.reason === 'engine_unavailable'))) return [];
    if (x.status === 'not_scanned') return [`${m}=not_scanned(${x.reason})`];
    const names = [...new Set((x.detections ?? []).filter((d) => d.status === x.status).map((d) => d.name))];
    const shown = names.slice(0, 3).join(',') + (names.length > 3 ? `,+${names.length - 3}` : '');
    return [`${m}=${x.status}${shown ? `:${shown}` : ''}`];
  });
  const parts = [l.file, l.action, `rule=${l.rule}`, notable.length ? notable.join(' ') : 'clean'];
  for (const g of (l.groups ?? []).slice(1)) parts.push(`| rule=${g.rule} ${g.action} for ${g.recipients.join(',')}`);
  return parts.join('  ');
}

// ---- the command ----

/** Validates the options that do not depend on the store. */
function checkOptions(o: ScanCommandOptions): ScanCommandOptions {
  if (!o.inputs.length) throw new ScanUsageError('expected at least one FILE, DIR or - (standard input)');
  if (o.inputs.filter((i) => i === '-').length > 1) throw new ScanUsageError('standard input (-) can be read only once');
  if (o.ip !== undefined && !ipaddr.isValid(o.ip)) throw new ScanUsageError(`--ip must be an IP address, got ${JSON.stringify(o.ip)}`);
  if (o.helo !== undefined && !o.helo.trim()) throw new ScanUsageError('--helo must not be empty');
  if (o.modules) {
    if (o.allModules) throw new ScanUsageError('--modules and --all-modules exclude each other');
    const unknown = o.modules.filter((m) => !(MODULES as readonly string[]).includes(m));
    if (unknown.length || !o.modules.length) throw new ScanUsageError(`--modules takes a comma-separated list of ${MODULES.join(', ')}; got ${JSON.stringify(o.modules.join(','))}`);
  }
  const to = o.to.map(envelopeAddress);
  if (to.some((t) => !t)) throw new ScanUsageError('--to must be an address (the null address <> is a sender only)');
  return { ...o, to, from: o.from === undefined ? undefined : envelopeAddress(o.from) };
}

/**
 * Runs `moat scan`. Resolves when every input was scanned; throws an Error naming the inputs that could not
 * be read or scanned (after the others were), or a ScanUsageError before scanning anything.
 */
export async function scanCommand(given: ScanCommandOptions, boot: Bootstrap, io: ScanIo): Promise<void> {
  const o = checkOptions(given);
  const ctx = await loadContext(boot, io.warn);
  const s = ctx.settings;
  const failed: string[] = [];
  // In this thread; for a big batch on several cores, in a pool of worker threads (the node's ScanPool, with
  // the same classifier in shared memory). Each message's result is the same either way.
  let pool: ScanPool | null = null;
  let scan: (req: ScanRequest) => Promise<ScanResult> = scanMessage;
  let concurrency = PER_THREAD;
  const usePool = async () => {
    const threads = availableParallelism();
    if (pool || threads < 2) return;
    const { shared } = shareClassifier(ctx.classifier ?? await loadClassifier());
    const p = new ScanPool({ threads, workerData: { antispamClassifier: shared } });
    pool = p;
    scan = (req) => p.scan(req);
    concurrency = threads * PER_POOL_THREAD;
  };
  /** One input → its output line (null when it could not be read: named in `failed`). */
  const scanOne = async (input: Input): Promise<string | null> => {
    let head: Buffer;
    let data: Uint8Array | null;
    try {
      if ('data' in input) ({ head, data } = { head: input.data.subarray(0, HEAD_BYTES), data: input.data });
      else ({ head, whole: data } = await readStart(input.path));
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      failed.push(err.message);
      return null;
    }
    const skip = mboxLineLength(head);
    const envelope = envelopeFor(head.subarray(skip), o);
    const p = plan(ctx, envelope, o);
    const req: ScanRequest = {
      source: data ? { data: data.subarray(skip) } : { path: (input as { path: string }).path, offset: skip },
      envelope,
      modules: p.all,
      deadlineMs: s.scan.maxScanTime * 1000,
      limits: { maxDepth: s.scan.limits.maxDepth, maxMembers: s.scan.limits.maxMembers, maxUnpackedBytes: s.scan.limits.maxUnpackedBytes },
    };
    let findings: Record<string, Finding>;
    if (p.all.length) {
      try {
        findings = (await scan(req)).findings;
      } catch (err) {
        // As on the SMTP path: a scan that failed as a whole is an `error` finding of every module asked for.
        const why = reason(err);
        findings = Object.fromEntries(p.all.map((r) => [r.key, errorFinding(r.module, why)]));
        failed.push(`${input.file}: scan failed: ${why}`);
      }
    } else {
      findings = {};
    }
    const verdicts = p.groups.map((g, i) => {
      const fs = p.perGroup[i].map((r) => findings[r.key]);
      return decide(g.rule, fs, { dmarcPolicy: dmarcPolicyOf(fs) });
    });
    const line = lineFor(input.file, p, findings, verdicts);
    return o.json ? JSON.stringify(line) : humanLine(line);
  };
  try {
    for (const arg of o.inputs) {
      let inputs: Input[];
      try { inputs = await expand(arg, io.stdin); } catch (err) {
        if (!(err instanceof InputError)) throw err;
        failed.push(err.message);
        continue;
      }
      // A few messages in flight (as a pool worker takes them: reading one overlaps scanning another), lines
      // printed in input order.
      if (inputs.length >= POOL_FROM) await usePool();
      const inFlight: Promise<string | null>[] = [];
      try {
        for (const input of inputs) {
          inFlight.push(scanOne(input));
          if (inFlight.length >= concurrency) { const l = await inFlight.shift()!; if (l !== null) io.out(l); }
        }
        while (inFlight.length) { const l = await inFlight.shift()!; if (l !== null) io.out(l); }
      } catch (err) {
        await Promise.allSettled(inFlight); // an unexpected failure: let the others end before it is thrown
        throw err;
      }
    }
  } finally {
    await closeScanners();
    await (pool as ScanPool | null)?.close();
  }
  if (failed.length) {
    throw new Error(failed.length === 1 ? `cannot scan ${failed[0]}` : `cannot scan ${failed.length} inputs: ${failed.join('; ')}`);
  }
}
