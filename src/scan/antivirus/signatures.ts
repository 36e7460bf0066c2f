/**
 * The built-in signature engine: hash signatures (MD5 / SHA-1 / SHA-256 of the whole decoded part, with its
 * size) and byte-pattern signatures (matcher.ts, one Aho-Corasick pass for all of them) over parts held in
 * memory or in temporary files. Database formats: database.ts; the shipped database: data/antivirus/.
 *
 * Files are read in chunks (default 256 KiB) into one buffer that also keeps the last `historyBytes` of the
 * previous chunk, so memory per scan is bounded by chunk + history (+ small match state) whatever the file
 * size, and a signature split across two chunks is found. Hashes are computed in the same pass unless the
 * caller already has them (Part.md5 / Part.sha256).
 *
 * Reload: reload() reads every configured path again and swaps the compiled database in one assignment; scans
 * already running finish on the database they started with. A failed reload (missing, unreadable or broken
 * file) keeps the previous database and is reported, never thrown. maybeReload() is the running node's update
 * path: every scan asks it, and at most every 10 s it compares the files' names, sizes and mtimes with those of
 * the last load, reloading when they differ (so dropping a new .sigs/.hdb/.ndb file into the database directory
 * takes effect in every scan worker within seconds, without a restart). Before the first good load every scan
 * throws EngineUnavailable (the scanner reports it as an engine error).
 *
 * Hostile input: the scanned bytes (read only, never interpreted); database files (database.ts).
 */
import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { filesStamp } from '../../platform/files-stamp.ts';
import { fileURLToPath } from 'node:url';
import { loadDatabase, type HashAlgorithm, type LoadReport, type SignatureDatabase } from './database.ts';
import type { PatternSetOptions } from './matcher.ts';
import type { SignatureStatus } from './status.ts';

/** The database shipped with Moat (data/antivirus/). */
export const DEFAULT_DATABASE_DIR = fileURLToPath(new URL('../../../data/antivirus/', import.meta.url));

/** How often a running engine looks for changed database files. */
export const RELOAD_CHECK_MS = 10_000;

export interface SignatureEngineOptions extends PatternSetOptions {
  /** Database files or directories (default: DEFAULT_DATABASE_DIR). */
  paths?: string[];
  /** Bytes read from a file at a time (default 256 KiB). */
  chunkBytes?: number;
}

export interface SignatureMatch { name: string; status: SignatureStatus; kind: 'hash' | 'pattern'; source: string }

/** What is known about the scanned part: its true type and hashes already computed by the model. */
export interface ScanContext { type?: { category: string; label: string }; md5?: string; sha256?: string }

export interface ReloadResult { ok: boolean; error?: string; report: LoadReport | null }

export class EngineUnavailable extends Error {}

export class SignatureEngine {
  private db: SignatureDatabase | null = null;
  /** What the database files looked like at the last load attempt (see databaseStamp). */
  private stamp: string | null = null;
  private nextCheck = 0;
  private checking: Promise<boolean> | null = null;
  private loadedAt: Date | null = null;
  private lastError: string | null = null;
  private readonly paths: string[];
  private readonly chunkBytes: number;
  private readonly patternOpts: PatternSetOptions;

  constructor(opts: SignatureEngineOptions = {}) {
    this.paths = opts.paths ?? [DEFAULT_DATABASE_DIR];
    this.chunkBytes = Math.max(1, opts.chunkBytes ?? 256 * 1024);
    this.patternOpts = { maxAnchorBytes: opts.maxAnchorBytes, denseStateLimit: opts.denseStateLimit };
  }

  /** Creates an engine and loads its database once (check `ready` / `status()` for the outcome). */
  static async create(opts: SignatureEngineOptions = {}): Promise<SignatureEngine> {
    const e = new SignatureEngine(opts);
    await e.reload();
    return e;
  }

  get ready(): boolean { return this.db !== null; }

  /**
   * Reloads when a database file was added, removed or changed since the last load (size and mtime), looking
   * at most once per `intervalMs`. Scanners call it without waiting; the scan in progress uses the database in
   * force. Resolves true when a reload happened. Never rejects.
   */
  maybeReload(intervalMs = RELOAD_CHECK_MS): Promise<boolean> {
    const now = Date.now();
    if (this.checking || now < this.nextCheck) return this.checking ?? Promise.resolve(false);
    this.nextCheck = now + intervalMs;
    this.checking = (async () => {
      try {
        if ((await filesStamp(this.paths)) === this.stamp) return false;
        await this.reload();
        return true;
      } catch {
        return false;
      } finally {
        this.checking = null;
      }
    })();
    return this.checking;
  }

  /** Loads the databases again; on failure the previous one stays in force. */
  async reload(): Promise<ReloadResult> {
    this.stamp = await filesStamp(this.paths);
    try {
      const db = await loadDatabase(this.paths, this.patternOpts);
      this.db = db;
      this.loadedAt = new Date();
      this.lastError = null;
      return { ok: true, report: db.report };
    } catch (err) {
      this.lastError = (err as Error).message;
      return { ok: false, error: this.lastError, report: this.db?.report ?? null };
    }
  }

  status(): { ready: boolean; loadedAt: string | null; lastError: string | null; version: string | null; report: LoadReport | null } {
    const versions = this.db?.report.files.map((f) => f.version).filter((v): v is string => !!v) ?? [];
    return { ready: this.ready, loadedAt: this.loadedAt?.toISOString() ?? null, lastError: this.lastError, version: versions.length ? versions.join(',') : null, report: this.db?.report ?? null };
  }

  private current(): SignatureDatabase {
    if (!this.db) throw new EngineUnavailable(`signature database not loaded${this.lastError ? `: ${this.lastError}` : ''}`);
    return this.db;
  }

  /** Scans bytes in memory. */
  scanBuffer(data: Uint8Array, ctx: ScanContext = {}): SignatureMatch[] {
    const db = this.current();
    const session = db.patterns.session({ size: data.length, type: ctx.type });
    session.feed(data, 0, 0);
    session.finish();
    const digests = new Map<HashAlgorithm, string>();
    for (const algo of db.algorithms) {
      const known = algo === 'md5' ? ctx.md5 : algo === 'sha256' ? ctx.sha256 : undefined;
      digests.set(algo, known ?? createHash(algo).update(data).digest('hex'));
    }
    return collect(db, session.matched, digests, data.length);
  }

  /** Scans a file in chunks (bounded memory); honours `signal` between chunks. */
  async scanFile(path: string, ctx: ScanContext = {}, signal?: AbortSignal): Promise<SignatureMatch[]> {
    const db = this.current();
    signal?.throwIfAborted();
    const fh = await open(path, 'r');
    try {
      const size = (await fh.stat()).size;
      const session = db.patterns.session({ size, type: ctx.type });
      const hashers = new Map<HashAlgorithm, Hash>();
      for (const algo of db.algorithms) {
        const known = algo === 'md5' ? ctx.md5 : algo === 'sha256' ? ctx.sha256 : undefined;
        if (!known) hashers.set(algo, createHash(algo));
      }
      const history = db.patterns.historyBytes;
      const buf = Buffer.allocUnsafe(history + this.chunkBytes);
      let kept = 0; // bytes of history at the front of buf
      let pos = 0; // absolute offset of the next byte to read
      for (;;) {
        signal?.throwIfAborted();
        const { bytesRead } = await fh.read(buf, kept, this.chunkBytes, pos);
        if (bytesRead === 0) break;
        const fresh = buf.subarray(kept, kept + bytesRead);
        for (const h of hashers.values()) h.update(fresh);
        const window = buf.subarray(0, kept + bytesRead);
        session.feed(window, pos - kept, kept);
        pos += bytesRead;
        const keep = Math.min(history, window.length);
        window.copyWithin(0, window.length - keep);
        kept = keep;
      }
      session.finish();
      const digests = new Map<HashAlgorithm, string>();
      for (const algo of db.algorithms) {
        const h = hashers.get(algo);
        digests.set(algo, h ? h.digest('hex') : (algo === 'md5' ? ctx.md5! : ctx.sha256!));
      }
      return collect(db, session.matched, digests, pos);
    } finally {
      await fh.close();
    }
  }
}

function collect(db: SignatureDatabase, matched: number[], digests: Map<HashAlgorithm, string>, size: number): SignatureMatch[] {
  const out: SignatureMatch[] = [];
  const seen = new Set<string>();
  const add = (m: SignatureMatch) => {
    if (seen.has(m.name)) return;
    seen.add(m.name);
    out.push(m);
  };
  for (const digest of digests.values()) {
    for (const h of db.hashes.get(digest.toLowerCase()) ?? []) {
      if (h.size === null || h.size === size) add({ name: h.name, status: h.status, kind: 'hash', source: h.source });
    }
  }
  for (const pi of matched) {
    const info = db.patternInfo[pi];
    add({ name: info.name, status: info.status, kind: 'pattern', source: info.source });
  }
  return out;
}
