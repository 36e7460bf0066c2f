/**
 * The `antivirus` module (SPEC §3.1): runs the enabled engines (built-in signatures, ClamAV's clamd) over every
 * part of the message model that carries content — bodies, attachments, archive members, and archives that
 * kept their own bytes — and reports one Finding.
 *
 * clamd gets each decoded part, not the raw message: the model does not carry the raw message, and decoded
 * parts are what both engines should judge (clamd still unpacks archives it receives, e.g. 7z/rar the model
 * could not open). The parts of one message are scanned one after another, both engines on a part at once.
 *
 * Status, worst first (status.ts): infected > riskware > probably_infected > encrypted > macro > error > clean.
 * - every engine hit is a detection {status, name, engine, part};
 * - Part.encrypted → `encrypted` and Part.hasMacros → `macro` (engine `model`), whatever the engines say;
 * - model limits of kind depth / members / unpacked_bytes / time / parts / unsupported (content left unscanned:
 *   a zip bomb, a RAR without the 7z program)
 *   → `error` with details.limits;
 * - an engine failure (clamd down, timeout, size limit, database not loaded) → `error` with
 *   details.engine_errors (at most 20 listed); after a connection failure (or a database that is not loaded)
 *   that engine is not asked again for the same message;
 * - maxScanMs (default 180 s) or the caller's signal ends the scan: what was found so far, at least `error`.
 * So anything infected wins over limits and engine errors. Never throws for a property of the message.
 *
 * Settings: antivirusOptionsSchema (zod, with defaults) → createAntivirusScanner(). The built-in database path
 * defaults to data/antivirus/; scanners made by createAntivirusScanner share one compiled database per thread
 * and set of paths (reloadSignatureDatabases() reloads them all), or take a SignatureEngine in `deps`.
 * details.clamav_version is filled once health() has asked clamd.
 */
import { z } from 'zod';
import type { Detection, Finding, MessageModel, Part, Scanner } from '../types.ts';
import { ClamdClient, ClamdError } from './clamd.ts';
import { EngineUnavailable, SignatureEngine, type ReloadResult } from './signatures.ts';
import { statusForThreatName, worst, type AvStatus } from './status.ts';

export const antivirusOptionsSchema = z.object({
  engines: z.object({
    builtin: z.boolean().default(true),
    clamav: z.object({
      socket: z.string().min(1).optional(),
      host: z.string().min(1).optional(),
      port: z.number().int().min(1).max(65535).optional(),
      timeoutMs: z.number().int().min(100).default(30_000),
      /** Keep at or below clamd's StreamMaxLength; larger parts are an engine error. */
      maxStreamBytes: z.number().int().min(1).default(25 * 1024 * 1024),
    }).strict().refine((c) => !!c.socket || !!c.port, 'clamav needs socket or port').nullable().default(null),
  }).strict().default({ builtin: true, clamav: null }),
  maxScanMs: z.number().int().min(1).default(180_000),
  /** How often the built-in engine looks for changed database files. */
  reloadCheckMs: z.number().int().min(1).default(10_000),
  /** Built-in database files or directories; default data/antivirus/. */
  databasePaths: z.array(z.string().min(1)).optional(),
}).strict();

export type AntivirusOptions = z.input<typeof antivirusOptionsSchema>;
type ResolvedOptions = z.output<typeof antivirusOptionsSchema>;

export interface AntivirusDeps {
  /** A loaded engine to use instead of loading one (not closed by this scanner). */
  signatures?: SignatureEngine;
  clamd?: ClamdClient;
}

/** Limits after which some content went unscanned. */
const ERROR_LIMITS = new Set(['depth', 'members', 'unpacked_bytes', 'time', 'parts', 'unsupported']);

interface EngineError { engine: string; part?: string; error: string }
/** details.engine_errors lists at most this many (details.engine_errors_total counts them all). */
const MAX_ENGINE_ERRORS = 20;

export class AntivirusScanner implements Scanner {
  readonly module = 'antivirus' as const;
  readonly options: ResolvedOptions;
  private readonly signatures: SignatureEngine | null;
  private readonly clamd: ClamdClient | null;
  private clamdVersion: string | null = null;

  /** Prefer createAntivirusScanner(); without deps.signatures the built-in engine here starts unloaded (reload()). */
  constructor(options: AntivirusOptions, deps: AntivirusDeps = {}) {
    this.options = antivirusOptionsSchema.parse(options);
    const eng = this.options.engines;
    this.signatures = eng.builtin ? (deps.signatures ?? new SignatureEngine({ paths: this.options.databasePaths })) : null;
    this.clamd = eng.clamav ? (deps.clamd ?? new ClamdClient(eng.clamav)) : null;
  }

  /** Reloads the built-in database (on demand, e.g. after an update); the previous one stays on failure. */
  async reload(): Promise<ReloadResult> {
    return this.signatures ? this.signatures.reload() : { ok: true, report: null };
  }

  /** State of each enabled engine; never throws. */
  async health(signal?: AbortSignal) {
    const out: { builtin?: ReturnType<SignatureEngine['status']>; clamav?: Awaited<ReturnType<ClamdClient['health']>> } = {};
    if (this.signatures) out.builtin = this.signatures.status();
    if (this.clamd) {
      out.clamav = await this.clamd.health(signal);
      if (out.clamav.version) this.clamdVersion = out.clamav.version;
    }
    return out;
  }

  async scan(model: MessageModel, signal: AbortSignal): Promise<Finding> {
    const started = performance.now();
    const deadline = AbortSignal.timeout(this.options.maxScanMs);
    const sig = AbortSignal.any([signal, deadline]);
    // Picks up an updated database in the background; this scan runs on the one in force.
    void this.signatures?.maybeReload(this.options.reloadCheckMs);
    const detections: Detection[] = [];
    const engineErrors: EngineError[] = [];
    const seen = new Set<string>();
    let status: AvStatus = 'clean';
    const detect = (d: Detection & { status: AvStatus }) => {
      const key = `${d.status}\0${d.name}\0${d.engine}\0${d.part}`;
      if (seen.has(key)) return;
      seen.add(key);
      detections.push(d);
      status = worst(status, d.status);
    };

    for (const p of model.parts) {
      if (p.encrypted) detect({ status: 'encrypted', name: `Encrypted.${p.trueType.label || 'file'}`, engine: 'model', part: p.path });
      if (p.hasMacros) detect({ status: 'macro', name: `Macro.${p.trueType.label || 'office'}`, engine: 'model', part: p.path });
    }
    const limits = model.limits.filter((l) => ERROR_LIMITS.has(l.limit));
    for (const l of limits) detect({ status: 'error', name: `limit:${l.limit}`, engine: 'model', part: l.part });

    let clamdDown = false, builtinDown = false;
    let scanned = 0;
    let interrupted: string | null = null;
    for (const part of model.parts) {
      if (!part.content) continue;
      if (sig.aborted) { interrupted = deadline.aborted ? 'timeout' : 'aborted'; break; }
      const jobs: Promise<void>[] = [];
      if (this.signatures && !builtinDown) jobs.push(this.runBuiltin(part, sig).then((r) => {
        if ('error' in r) {
          engineErrors.push({ engine: 'builtin', part: part.path, error: r.error });
          if (r.down) builtinDown = true;
        } else for (const m of r.matches) detect({ status: m.status, name: m.name, engine: 'builtin', part: part.path });
      }));
      if (this.clamd && !clamdDown) jobs.push(this.runClamd(part, sig).then((r) => {
        if ('error' in r) {
          engineErrors.push({ engine: 'clamav', part: part.path, error: r.error });
          if (r.down) clamdDown = true;
        } else for (const name of r.found) detect({ status: statusForThreatName(name), name, engine: 'clamav', part: part.path });
      }));
      await Promise.all(jobs);
      scanned++;
    }
    if (!interrupted && sig.aborted) interrupted = deadline.aborted ? 'timeout' : 'aborted';
    if (interrupted) {
      status = worst(status, 'error');
      // Errors caused by the interruption itself say nothing more.
      for (let i = engineErrors.length - 1; i >= 0; i--) if (/abort|timeout/i.test(engineErrors[i].error)) engineErrors.splice(i, 1);
    }
    if (engineErrors.length > 0) status = worst(status, 'error');

    const details: Record<string, unknown> = {
      engines: [this.signatures && 'builtin', this.clamd && 'clamav'].filter(Boolean),
      scanned_parts: scanned,
    };
    if (this.signatures) details.builtin_version = this.signatures.status().version;
    if (this.clamd && this.clamdVersion) details.clamav_version = this.clamdVersion;
    if (engineErrors.length) details.engine_errors = engineErrors.slice(0, MAX_ENGINE_ERRORS);
    if (engineErrors.length > MAX_ENGINE_ERRORS) details.engine_errors_total = engineErrors.length;
    if (limits.length) details.limits = limits;
    if (interrupted) details.error = interrupted;
    // No engine configured: nothing looked for viruses, so `clean` would be a lie. What the model itself found
    // (encrypted, macro, limits) still counts.
    if (!this.signatures && !this.clamd && status === 'clean') {
      return { module: 'antivirus', status: 'not_scanned', reason: 'engine_unavailable', detections, details, ms: Math.round(performance.now() - started) };
    }
    return { module: 'antivirus', status, detections, details, ms: Math.round(performance.now() - started) };
  }

  private async runBuiltin(part: Part, signal: AbortSignal): Promise<{ matches: Awaited<ReturnType<SignatureEngine['scanFile']>> } | { error: string; down: boolean }> {
    const eng = this.signatures!;
    const ctx = { type: part.trueType, md5: part.md5, sha256: part.sha256 };
    try {
      const c = part.content!;
      const matches = c.kind === 'buffer' ? eng.scanBuffer(c.data, ctx) : await eng.scanFile(c.path, ctx, signal);
      return { matches };
    } catch (err) {
      return { error: errorText(err), down: err instanceof EngineUnavailable };
    }
  }

  private async runClamd(part: Part, signal: AbortSignal): Promise<{ found: string[] } | { error: string; down: boolean }> {
    const c = part.content!;
    try {
      const r = await this.clamd!.scan(c.kind === 'buffer' ? c.data : { path: c.path }, signal);
      return { found: r.found };
    } catch (err) {
      const down = err instanceof ClamdError && (err.code === 'unavailable' || err.code === 'timeout');
      return { error: errorText(err), down };
    }
  }

  /** Nothing to release: engines hold no handles between scans (clamd connections are per scan). */
  async close(): Promise<void> {}
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Engines by database paths, shared by the scanners of one thread (one compiled database per thread). */
const sharedEngines = new Map<string, SignatureEngine>();

/** The thread's engine for `paths` (default: the shipped database), loaded if it is not yet. */
export async function sharedSignatureEngine(paths?: string[]): Promise<SignatureEngine> {
  const key = JSON.stringify(paths ?? null);
  let e = sharedEngines.get(key);
  if (!e) {
    e = new SignatureEngine({ paths });
    sharedEngines.set(key, e);
  }
  if (!e.ready) await e.reload();
  return e;
}

/** Reloads every shared engine of this thread (after a database update); failures keep the old databases. */
export async function reloadSignatureDatabases(): Promise<(ReloadResult & { paths: string[] | null })[]> {
  return Promise.all([...sharedEngines].map(async ([key, e]) => ({ paths: JSON.parse(key) as string[] | null, ...(await e.reload()) })));
}

/**
 * Creates the scanner from (partial) settings. The built-in database is loaded once per thread and set of
 * paths and shared by the scanners using it. A database that fails to load does not fail creation: each
 * scan then reports the engine error, and reload() can fix it.
 */
export async function createAntivirusScanner(options: AntivirusOptions = {}, deps: AntivirusDeps = {}): Promise<AntivirusScanner> {
  const opts = antivirusOptionsSchema.parse(options);
  const signatures = deps.signatures ?? (opts.engines.builtin ? await sharedSignatureEngine(opts.databasePaths) : undefined);
  return new AntivirusScanner(opts, { ...deps, signatures });
}
