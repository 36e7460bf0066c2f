/**
 * Signature database files for the built-in engine: Moat's own `.sigs` format and ClamAV's `.hdb`, `.hsb` and
 * `.ndb`, parsed and compiled into one immutable SignatureDatabase.
 *
 * Moat `.sigs` (one entry per line, fields separated by spaces or tabs; blank lines and `#` comments ignored):
 *   version <text>                                    optional, reported as the file's version
 *   hash <hex digest> <size|*> <name> [status=S]      MD5 (32 hex), SHA-1 (40) or SHA-256 (64) of the whole
 *                                                     decoded part; `size` in bytes must match too (`*` = any)
 *   pattern <name> <hex signature> [status=S] [target=T[,T...]] [offset=O]
 *       hex signature: hexsig.ts syntax (`??`, `a?`, `*`, `{n-m}`, `(aa|bb)`, ...)
 *       S: infected (default) | probably_infected | riskware
 *       T: a true-type category (`executable`, `office`, `pdf`, ...) or label (`pe`, `zip`, ...)
 *       O: `*` (default, anywhere) | n | n,m (start in n..n+m) | EOF-n | EOF-n,m
 *   Names: 1-200 printable ASCII characters without spaces.
 * ClamAV (https://docs.clamav.net/manual/Signatures.html):
 *   .hdb  MD5:Size:Name[:...]       .hsb  SHA1-or-SHA256:Size:Name[:...]   (Size `*` = any)
 *   .ndb  Name:TargetType:Offset:HexSignature[:MinFL[:MaxFL]]
 *   Target types map to true-type categories (1/6/9 executable, 2 office, 3 html, 4 message, 5 image, 7 text,
 *   10 pdf; 0, 8, 11-14 any part); ClamAV's normalised HTML/text targets are matched against the raw bytes.
 *   Status comes from the name (status.ts: `PUA.*` riskware, heuristics probably_infected).
 *
 * Broken vs unsupported: a line that is not valid at all (wrong field count, bad digest or size, unknown
 * keyword, a malformed hex signature in a `.sigs` file) makes the whole file broken and the load fails, so the
 * caller keeps its previous database. Valid syntax this engine does not implement (EP/section offsets,
 * boundary markers, byte ranges, unknown ClamAV target types, any hex signature ClamAV may accept that we
 * cannot parse) skips that one signature and is counted in the load report. Never a crash.
 *
 * Directories are read for `*.sigs`, `*.hdb`, `*.hsb`, `*.ndb` (sorted by name); other files are listed as
 * ignored. Limits: 256 MiB per file.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { MalformedSignature, parseHexSignature, UnsupportedSignature } from './hexsig.ts';
import { compilePattern, parseOffset, PatternSet, type PatternInput, type PatternSetOptions } from './matcher.ts';
import { SIGNATURE_STATUSES, signatureStatusForName, type SignatureStatus } from './status.ts';

export type HashAlgorithm = 'md5' | 'sha1' | 'sha256';
export type DatabaseFormat = 'moat' | 'hdb' | 'hsb' | 'ndb';

export interface SignatureInfo { name: string; status: SignatureStatus; source: string }
export interface HashSignature extends SignatureInfo { algorithm: HashAlgorithm; digest: string; size: number | null }
export interface PatternSignature extends SignatureInfo { input: PatternInput }

export interface ParsedFile {
  path: string;
  format: DatabaseFormat;
  version?: string;
  hashes: HashSignature[];
  patterns: PatternSignature[];
  skipped: string[];
}

export interface FileReport { path: string; format: DatabaseFormat; version?: string; hashes: number; patterns: number; skipped: number }

export interface LoadReport {
  files: FileReport[];
  ignored: string[];
  hashes: number;
  patterns: number;
  skipped: number;
  /** The first few skipped signatures as `file:line: reason`. */
  skippedSamples: string[];
  automaton: { layout: string; states: number };
  loadMs: number;
}

/** A file that cannot be used; the previous database stays in force. */
export class DatabaseError extends Error {}

const MAX_FILE_BYTES = 256 * 1024 * 1024;
const NAME_RE = /^[\x21-\x7e]{1,200}$/;
const EXTENSIONS: Record<string, DatabaseFormat> = { '.sigs': 'moat', '.hdb': 'hdb', '.hsb': 'hsb', '.ndb': 'ndb' };
const ALGORITHM_BY_LENGTH: Record<number, HashAlgorithm> = { 32: 'md5', 40: 'sha1', 64: 'sha256' };

const NDB_TARGETS: Record<number, string[] | null> = {
  0: null, 1: ['executable'], 2: ['office', 'office_macro'], 3: ['html'], 4: ['message'], 5: ['image'],
  6: ['executable'], 7: ['text', 'html', 'script'], 8: null, 9: ['executable'], 10: ['pdf'],
  11: null, 12: null, 13: null, 14: null,
};

function parseDigest(text: string, where: string): { algorithm: HashAlgorithm; digest: string } {
  const algorithm = ALGORITHM_BY_LENGTH[text.length];
  if (!algorithm || !/^[0-9a-f]+$/i.test(text)) throw new DatabaseError(`${where}: bad hash '${text.slice(0, 80)}'`);
  return { algorithm, digest: text.toLowerCase() };
}

function parseSize(text: string, where: string): number | null {
  if (text === '*') return null;
  if (!/^\d{1,15}$/.test(text)) throw new DatabaseError(`${where}: bad size '${text.slice(0, 40)}'`);
  return Number(text);
}

function checkName(name: string, where: string): string {
  if (!NAME_RE.test(name)) throw new DatabaseError(`${where}: bad signature name`);
  return name;
}

function lines(text: string): [number, string][] {
  const out: [number, string][] = [];
  text.split('\n').forEach((raw, i) => {
    const l = raw.replace(/\r$/, '').trim();
    if (l !== '' && !l.startsWith('#')) out.push([i + 1, l]);
  });
  return out;
}

/** Parses Moat's `.sigs` format (see the header). Throws DatabaseError for a broken file. */
export function parseMoatSigs(text: string, path: string): ParsedFile {
  const file: ParsedFile = { path, format: 'moat', hashes: [], patterns: [], skipped: [] };
  for (const [no, line] of lines(text)) {
    const where = `${basename(path)}:${no}`;
    const f = line.split(/\s+/);
    if (f[0] === 'version') {
      if (f.length !== 2) throw new DatabaseError(`${where}: expected 'version <text>'`);
      file.version = f[1];
      continue;
    }
    const opts = new Map<string, string>();
    const fixed = f[0] === 'hash' ? 4 : f[0] === 'pattern' ? 3 : -1;
    if (fixed < 0) throw new DatabaseError(`${where}: unknown keyword '${f[0].slice(0, 40)}'`);
    if (f.length < fixed) throw new DatabaseError(`${where}: too few fields`);
    for (const o of f.slice(fixed)) {
      const m = /^(status|target|offset)=(\S+)$/.exec(o);
      if (!m || opts.has(m[1])) throw new DatabaseError(`${where}: bad option '${o.slice(0, 40)}'`);
      opts.set(m[1], m[2]);
    }
    const status = (opts.get('status') ?? 'infected') as SignatureStatus;
    if (!SIGNATURE_STATUSES.includes(status)) throw new DatabaseError(`${where}: bad status '${status}'`);
    if (f[0] === 'hash') {
      if (opts.has('target') || opts.has('offset')) throw new DatabaseError(`${where}: hash signatures take only status=`);
      file.hashes.push({ ...parseDigest(f[1], where), size: parseSize(f[2], where), name: checkName(f[3], where), status, source: path });
      continue;
    }
    const name = checkName(f[1], where);
    const offset = parseOffset(opts.get('offset') ?? '*');
    if (!offset) throw new DatabaseError(`${where}: bad offset '${opts.get('offset')}'`);
    const target = opts.has('target') ? opts.get('target')!.split(',') : null;
    if (target && target.some((t) => !/^[a-z0-9_]{1,40}$/.test(t))) throw new DatabaseError(`${where}: bad target`);
    try {
      const input: PatternInput = { sig: parseHexSignature(f[2]), offset, target };
      compilePattern(input);
      file.patterns.push({ name, status, source: path, input });
    } catch (err) {
      if (err instanceof UnsupportedSignature) { file.skipped.push(`${where}: ${err.message}`); continue; }
      if (err instanceof MalformedSignature) throw new DatabaseError(`${where}: ${err.message}`);
      throw err;
    }
  }
  return file;
}

/** Parses ClamAV `.hdb` / `.hsb` hash databases. */
export function parseClamHashes(text: string, path: string, format: 'hdb' | 'hsb'): ParsedFile {
  const file: ParsedFile = { path, format, hashes: [], patterns: [], skipped: [] };
  for (const [no, line] of lines(text)) {
    const where = `${basename(path)}:${no}`;
    const f = line.split(':');
    if (f.length < 3) throw new DatabaseError(`${where}: expected Hash:Size:Name`);
    const name = checkName(f[2], where);
    file.hashes.push({ ...parseDigest(f[0], where), size: parseSize(f[1], where), name, status: signatureStatusForName(name), source: path });
  }
  return file;
}

/** Parses a ClamAV `.ndb` extended signature database. */
export function parseClamNdb(text: string, path: string): ParsedFile {
  const file: ParsedFile = { path, format: 'ndb', hashes: [], patterns: [], skipped: [] };
  for (const [no, line] of lines(text)) {
    const where = `${basename(path)}:${no}`;
    const f = line.split(':');
    if (f.length < 4 || f.length > 6) throw new DatabaseError(`${where}: expected Name:TargetType:Offset:HexSignature`);
    const name = checkName(f[0], where);
    if (!/^\d{1,3}$/.test(f[1])) throw new DatabaseError(`${where}: bad target type '${f[1].slice(0, 20)}'`);
    const tt = Number(f[1]);
    if (!(tt in NDB_TARGETS)) { file.skipped.push(`${where}: target type ${tt} not supported`); continue; }
    const offset = parseOffset(f[2]);
    if (!offset) { file.skipped.push(`${where}: offset '${f[2].slice(0, 40)}' not supported`); continue; }
    try {
      const input: PatternInput = { sig: parseHexSignature(f[3]), offset, target: NDB_TARGETS[tt] };
      compilePattern(input);
      file.patterns.push({ name, status: signatureStatusForName(name), source: path, input });
    } catch (err) {
      if (err instanceof UnsupportedSignature || err instanceof MalformedSignature) { file.skipped.push(`${where}: ${err.message}`); continue; }
      throw err;
    }
  }
  return file;
}

export function parseDatabaseText(text: string, path: string, format: DatabaseFormat): ParsedFile {
  if (format === 'moat') return parseMoatSigs(text, path);
  if (format === 'ndb') return parseClamNdb(text, path);
  return parseClamHashes(text, path, format);
}

/** One loaded, compiled database; immutable, shared by concurrent scans. */
export class SignatureDatabase {
  readonly report: LoadReport;
  readonly patterns: PatternSet;
  readonly patternInfo: SignatureInfo[];
  /** Digest (lowercase hex) → signatures with that digest. */
  readonly hashes: Map<string, HashSignature[]>;
  readonly algorithms: ReadonlySet<HashAlgorithm>;

  constructor(files: ParsedFile[], ignored: string[], opts: PatternSetOptions = {}, started = performance.now()) {
    this.hashes = new Map();
    const algorithms = new Set<HashAlgorithm>();
    const patterns: PatternSignature[] = [];
    for (const f of files) {
      for (const h of f.hashes) {
        algorithms.add(h.algorithm);
        const list = this.hashes.get(h.digest);
        if (list) list.push(h); else this.hashes.set(h.digest, [h]);
      }
      patterns.push(...f.patterns);
    }
    this.algorithms = algorithms;
    this.patterns = new PatternSet(patterns.map((p) => p.input), opts);
    this.patternInfo = patterns.map(({ name, status, source }) => ({ name, status, source }));
    const skipped = files.flatMap((f) => f.skipped);
    this.report = {
      files: files.map((f) => ({ path: f.path, format: f.format, version: f.version, hashes: f.hashes.length, patterns: f.patterns.length, skipped: f.skipped.length })),
      ignored,
      hashes: files.reduce((n, f) => n + f.hashes.length, 0),
      patterns: patterns.length,
      skipped: skipped.length,
      skippedSamples: skipped.slice(0, 20),
      automaton: { layout: this.patterns.automatonLayout, states: this.patterns.automatonStates },
      loadMs: Math.round(performance.now() - started),
    };
  }
}

/**
 * Reads and compiles the databases at `paths` (files, or directories of database files). Throws DatabaseError
 * when any file is missing, unreadable or broken: the database is all or nothing.
 */
export async function loadDatabase(paths: string[], opts: PatternSetOptions = {}): Promise<SignatureDatabase> {
  const started = performance.now();
  const files: { path: string; format: DatabaseFormat }[] = [];
  const ignored: string[] = [];
  for (const p of paths) {
    let st;
    try { st = await stat(p); } catch (err) { throw new DatabaseError(`${p}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`); }
    if (st.isDirectory()) {
      const names = (await readdir(p)).sort();
      for (const n of names) {
        const format = EXTENSIONS[extname(n).toLowerCase()];
        if (format) files.push({ path: join(p, n), format }); else ignored.push(join(p, n));
      }
    } else {
      const format = EXTENSIONS[extname(p).toLowerCase()];
      if (!format) throw new DatabaseError(`${p}: unknown database type (expected .sigs, .hdb, .hsb or .ndb)`);
      files.push({ path: p, format });
    }
  }
  const parsed: ParsedFile[] = [];
  for (const f of files) {
    let text: string;
    try {
      const st = await stat(f.path);
      if (!st.isFile()) { ignored.push(f.path); continue; }
      if (st.size > MAX_FILE_BYTES) throw new DatabaseError(`${f.path}: larger than ${MAX_FILE_BYTES} bytes`);
      text = await readFile(f.path, 'utf8');
    } catch (err) {
      if (err instanceof DatabaseError) throw err;
      throw new DatabaseError(`${f.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    parsed.push(parseDatabaseText(text, f.path, f.format));
  }
  return new SignatureDatabase(parsed, ignored, opts, started);
}
