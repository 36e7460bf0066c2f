/**
 * Anti-virus engine health for the metrics (`moat_engine_up`, `moat_engine_database_age_seconds`), from the
 * node's main thread, without loading any database there:
 *   - `clamav` (when scan.antivirus.clamav is set): clamd answers PING and VERSION (ClamdClient.health, 2 s
 *     timeout); its database age comes from the VERSION reply (`ClamAV 1.4.6/27000/Tue Mar  4 09:00:00 2025`,
 *     the date of the signature database).
 *   - `builtin` (when scan.antivirus.builtin is on): at least one database file (.sigs, .hdb, .hsb, .ndb) is
 *     present in the configured paths (default data/antivirus/), and the last anti-virus finding seen from the
 *     scan workers did not say the database was not loaded; its age is the newest file's modification time.
 * Probes run at most every `probeMs` (default 15 s; scrapes in between get the cached answer) and never throw.
 *
 * Hostile input: clamd's reply (parsed defensively, a date that does not parse gives no age).
 */
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Settings } from '../config/settings-schema.ts';
import type { ScanResult } from '../scan/pipeline.ts';
import { ClamdClient } from '../scan/antivirus/clamd.ts';
import { DEFAULT_DATABASE_DIR } from '../scan/antivirus/signatures.ts';

export interface EngineState {
  engine: 'builtin' | 'clamav';
  up: boolean;
  /** Seconds since the engine's database was built or written, when known. */
  databaseAgeSeconds?: number;
  version?: string;
  error?: string;
}

const DB_EXT = new Set(['.sigs', '.hdb', '.hsb', '.ndb']);

/** The date in clamd's VERSION reply (`ClamAV <version>/<db version>/<date>`), as ms, or undefined. */
export function clamdDatabaseTime(version: string): number | undefined {
  const parts = version.split('/');
  if (parts.length < 3) return undefined;
  const t = Date.parse(parts.slice(2).join('/').trim().replace(/\s+/g, ' '));
  return Number.isFinite(t) ? t : undefined;
}

/** Newest modification time of the database files under `paths` (files, or directories one level deep). */
export async function newestDatabaseFile(paths: readonly string[]): Promise<{ files: number; newest?: number }> {
  let files = 0;
  let newest: number | undefined;
  const seen = (mtime: number) => { files++; newest = Math.max(newest ?? 0, mtime); };
  for (const p of paths) {
    try {
      const st = await stat(p);
      if (!st.isDirectory()) { seen(st.mtimeMs); continue; }
      for (const n of await readdir(p)) {
        if (!DB_EXT.has(extname(n).toLowerCase())) continue;
        const f = await stat(join(p, n)).catch(() => null);
        if (f?.isFile()) seen(f.mtimeMs);
      }
    } catch { /* missing or unreadable: no file counted */ }
  }
  return { files, newest };
}

export class EngineHealth {
  private readonly settings: () => Settings;
  private readonly probeMs: number;
  private readonly now: () => number;
  private cached: { at: number; states: EngineState[] } | null = null;
  private probing: Promise<EngineState[]> | null = null;
  /** Last word from the scan workers on the built-in database (null = no anti-virus finding seen yet). */
  private builtinError: string | null = null;

  constructor(opts: { settings: () => Settings; probeMs?: number; now?: () => number }) {
    this.settings = opts.settings;
    this.probeMs = opts.probeMs ?? 15_000;
    this.now = opts.now ?? Date.now;
  }

  /** Called with every scan result: notes whether the built-in engine had its database. */
  observeScan(result: ScanResult | null): void {
    for (const f of Object.values(result?.findings ?? {})) {
      if (f.module !== 'antivirus' || !(f.details?.engines as string[] | undefined)?.includes('builtin')) continue;
      const errors = (f.details?.engine_errors as { engine: string; error: string }[] | undefined) ?? [];
      const notLoaded = errors.find((e) => e.engine === 'builtin' && /database not loaded/.test(e.error));
      this.builtinError = notLoaded ? notLoaded.error : null;
    }
  }

  /** Engine states, probed at most every probeMs. Never rejects. */
  states(): Promise<EngineState[]> {
    if (this.cached && this.now() - this.cached.at < this.probeMs) return Promise.resolve(this.cached.states);
    this.probing ??= this.probe().then((states) => { this.cached = { at: this.now(), states }; return states; }).finally(() => { this.probing = null; });
    return this.probing;
  }

  private async probe(): Promise<EngineState[]> {
    const av = this.settings().scan.antivirus;
    const out: EngineState[] = [];
    if (av.builtin) {
      const { files, newest } = await newestDatabaseFile(av.databases.length ? av.databases : [DEFAULT_DATABASE_DIR]);
      const up = files > 0 && !this.builtinError;
      out.push({
        engine: 'builtin', up,
        ...(newest !== undefined ? { databaseAgeSeconds: Math.max(0, (this.now() - newest) / 1000) } : {}),
        ...(up ? {} : { error: this.builtinError ?? 'no database file found' }),
      });
    }
    if (av.clamav) {
      const c = av.clamav;
      const client = new ClamdClient({ socket: c.socket, host: c.host, port: c.port, timeoutMs: 2000, retries: 0 });
      const h = await client.health();
      const t = h.version ? clamdDatabaseTime(h.version) : undefined;
      out.push({
        engine: 'clamav', up: h.ok, ...(h.version ? { version: h.version } : {}), ...(h.error ? { error: h.error } : {}),
        ...(t !== undefined ? { databaseAgeSeconds: Math.max(0, (this.now() - t) / 1000) } : {}),
      });
    }
    return out;
  }
}
