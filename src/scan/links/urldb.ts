/**
 * The link database (SPEC §3.2 "local URL/domain databases (updatable feeds)"): URLs, hosts and domains with a
 * category (`malicious`, `phishing`, `adware`, `riskware`) and a list name, loaded from plain-text files, looked
 * up by the `links` module (scanner.ts) and by the anti-phishing module (`lookup`, the `phishing` entries).
 *
 * File formats (full description for administrators: data/links/README.md and docs/links.md):
 *   Moat format (`*.txt`): `<entry> <category> [<list>]` per line, `version <text>` optional, `#` comment lines.
 *     entry: a URL (anything with `/` or `scheme://`, or `host:port`): matches URLs with that key or below it at a
 *     `/`, `?` or `&` boundary (normalize.ts); `*.name`: that name and every name below it; a registrable domain
 *     (`evil.example`, per the Public Suffix List): it and its subdomains; any other host name or an IP address:
 *     exactly that host. Public suffixes (`com`, `co.uk`, `*.com`) are refused: they would match everyone.
 *     A line that does not parse makes the file broken (these files are written by people: fail loudly).
 *   Feeds, category and list given per file (by the file name `<list>.<category>.<format>` or by the source
 *   spec): `urls`: one URL per line (URLhaus and OpenPhish text exports; a bare host name matches that host);
 *   `hosts`: hosts-file lines `0.0.0.0 name [name…]` or a bare name per line, each name matching exactly that
 *   host; `domains`: one name per line, matching it and its subdomains. Feeds are third-party and large: a line
 *   that does not parse is skipped and counted, but a file with more bad lines than good ones (an error page
 *   saved in place of the feed) or an empty file (a failed download) is broken.
 * A directory source loads every `*.txt` and `<list>.<category>.(urls|hosts|domains)` file in it, sorted by name;
 * other files are listed as ignored.
 *
 * Lookups (`lookup`) are hash-map probes only: first the URL's registrable domain (a URL under no entry's
 * registrable domain, i.e. nearly every URL, costs that one probe), then the exact host, each parent name of the
 * host for domain entries, and, when the host has URL entries at all, the boundary prefixes of the URL's path
 * whose length some entry of that host has (at most 48). No list is ever scanned.
 * Reload (UrlDatabase): `reload()` builds a new database and swaps it in one assignment, keeping the previous one
 * when any file is missing, unreadable or broken; `maybeReload()` looks at the files' names, sizes and
 * modification times at most every N seconds (like the anti-virus database) and reloads when they changed.
 *
 * Hostile input: message URLs (ExtractedUrl, bounded by urls.ts) and feed files (third-party). Limits:
 * MAX_FILE_BYTES per file, MAX_LINE_CHARS per line, MAX_ENTRIES in all; parsing is one pass per line without
 * backtracking regexes. Nothing here throws for a URL.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getDomain } from 'tldts';
import type { ExtractedUrl } from '../urls.ts';
import { isIpHost, MAX_PREFIXES, normaliseHost, parseUrl, pathPrefixEnds, urlParts } from './normalize.ts';
import { filesStamp } from '../../platform/files-stamp.ts';

export const LINK_CATEGORIES = ['malicious', 'phishing', 'adware', 'riskware'] as const;
export type LinkCategory = (typeof LINK_CATEGORIES)[number];
export const FEED_FORMATS = ['moat', 'urls', 'hosts', 'domains'] as const;
export type FeedFormat = (typeof FEED_FORMATS)[number];

/** The database shipped with Moat (data/links/): the Safe Browsing test URLs. */
export const DEFAULT_DATABASE_DIR = fileURLToPath(new URL('../../../data/links/', import.meta.url));
/** How often a running database looks for changed files, by default. */
export const RELOAD_CHECK_MS = 10_000;

const MAX_FILE_BYTES = 256 * 1024 * 1024;
const MAX_LINE_CHARS = 8192;
const MAX_ENTRIES = 10_000_000;
const MAX_SKIPPED_SAMPLES = 5;
const LIST_NAME = /^[A-Za-z0-9_.:+-]{1,64}$/;
const FEED_FILE = /^(.+)\.(malicious|phishing|adware|riskware)\.(urls|hosts|domains)$/;
/** Names of hosts files that are not entries. */
const HOSTS_SPECIAL = new Set(['localhost', 'localhost.localdomain', 'local', 'broadcasthost', 'ip6-localhost', 'ip6-loopback',
  'ip6-localnet', 'ip6-mcastprefix', 'ip6-allnodes', 'ip6-allrouters', 'ip6-allhosts', '0.0.0.0', '127.0.0.1', '::1', '::']);

/** What a lookup answers: the entry's category, its list, and the entry as the database holds it. */
export interface UrlDbMatch {
  category: LinkCategory;
  list: string;
  /** The matching entry in canonical form: `evil.example/path`, `www.evil.example`, `evil.example`, `*.cdn.evil.example`. */
  entry: string;
}

/** What a lookup needs of a URL: `ExtractedUrl` (src/scan/urls.ts) fits. */
export type UrlInput = Pick<ExtractedUrl, 'url' | 'host'> & {
  /** The host's registrable domain as urls.ts computes it (tldts, ICANN section); computed when absent. */
  domain?: string | null;
};

/** The interface the `links` and `antiphishing` modules use. */
export interface UrlLookup {
  /** Every entry matching the URL (host, parent domains, URL prefixes), in a new array; [] when none. Never throws. */
  lookup(url: UrlInput): UrlDbMatch[];
}

/** A database source: a file or directory path, or a file with its format, category and list given. */
export interface SourceSpec {
  path: string;
  /** Default: from the file name (`*.txt` → moat, `<list>.<category>.<format>`). */
  format?: FeedFormat;
  /** The category of every entry of a feed (urls, hosts, domains); default from the file name. */
  category?: LinkCategory;
  /** List name of the entries (default: from the file name). */
  list?: string;
}
export type DatabaseSource = string | SourceSpec;

export interface FileReport {
  path: string;
  format: FeedFormat;
  /** The list name entries get when they name none. */
  list: string;
  category?: LinkCategory;
  version?: string;
  urls: number;
  hosts: number;
  domains: number;
  /** Lines skipped (feeds only). */
  skipped: number;
}

export interface LoadReport {
  files: FileReport[];
  /** Files of source directories that are not database files. */
  ignored: string[];
  entries: number;
  /** The first few skipped feed lines as `file:line: reason`. */
  skippedSamples: string[];
  loadMs: number;
}

/** A file that cannot be used; the previous database stays in force. */
export class DatabaseError extends Error {}

type EntryKind = 'url' | 'host' | 'domain';
/** `root`: the registrable domain of the entry's host (the IP for IP hosts): where a lookup starts. */
interface ParsedEntry { kind: EntryKind; key: string; root: string; match: UrlDbMatch }

/** Parses an entry of the Moat format (or a feed line) into its kind and key; a string reason when it is not one. */
export function parseEntry(raw: string, mode: 'auto' | 'host' | 'domain'): { kind: EntryKind; key: string; root: string; entry: string } | string {
  const s = raw.trim();
  if (!s) return 'empty entry';
  if (s.length > MAX_LINE_CHARS) return 'entry too long';
  const looksUrl = s.includes('/') || /^[a-z][a-z0-9+.-]{0,15}:\/\//i.test(s) || (/^[^:]+:\d{1,5}$/.test(s));
  if (looksUrl) {
    const u = parseUrl(s);
    if (!u) return 'not a valid http, https or ftp URL';
    const root = isIpHost(u.host) ? u.host : getDomain(u.host);
    if (!root) return `"${u.host}" is a public suffix or has none`;
    // `host/dir/` and `host/dir` are the same entry (a server answers one with the other).
    const key = u.key.endsWith('/') && u.key.indexOf('/') < u.key.length - 1 ? u.key.slice(0, -1) : u.key;
    return { kind: 'url', key, root, entry: u.key };
  }
  const wildcard = s.startsWith('*.');
  const host = normaliseHost(wildcard ? s.slice(2) : s);
  if (!host) return 'not a valid host name, domain or IP address';
  if (isIpHost(host)) {
    if (wildcard) return 'a wildcard needs a domain name, not an IP address';
    return { kind: 'host', key: host, root: host, entry: host };
  }
  const registrable = getDomain(host);
  if (!registrable) return `"${host}" is a public suffix or has no registrable domain`;
  if (mode === 'host' && !wildcard) return { kind: 'host', key: host, root: registrable, entry: host };
  if (wildcard || mode === 'domain' || registrable === host) return { kind: 'domain', key: host, root: registrable, entry: registrable === host ? host : `*.${host}` };
  return { kind: 'host', key: host, root: registrable, entry: host };
}

export interface ParsedFile { report: FileReport; entries: ParsedEntry[]; skippedSamples: string[] }

/** Each line of `text` with its number (1-based), without the line break; no array of all lines is built. */
function* lines(text: string): Generator<[number, string]> {
  let start = 0;
  let n = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    n++;
    const line = text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end);
    yield [n, line];
    start = end + 1;
    if (end === text.length) break;
  }
}

/**
 * Parses one database file's text. `spec` says how (format, category for feeds, default list name). Throws
 * DatabaseError for a broken file (see the header for what is broken and what is only skipped).
 */
export function parseDatabaseText(text: string, spec: { path: string; format: FeedFormat; category?: LinkCategory; list: string }): ParsedFile {
  const { path, format, list } = spec;
  if (!LIST_NAME.test(list)) throw new DatabaseError(`${path}: list name "${list.slice(0, 80)}" must be 1-64 letters, digits or _.:+-`);
  const report: FileReport = { path, format, list, urls: 0, hosts: 0, domains: 0, skipped: 0 };
  const entries: ParsedEntry[] = [];
  const samples: string[] = [];
  const add = (e: { kind: EntryKind; key: string; root: string; entry: string }, category: LinkCategory, entryList: string) => {
    entries.push({ kind: e.kind, key: e.key, root: e.root, match: { category, list: entryList, entry: e.entry } });
    if (e.kind === 'url') report.urls++; else if (e.kind === 'host') report.hosts++; else report.domains++;
  };
  if (format === 'moat') {
    if (spec.category) throw new DatabaseError(`${path}: a Moat-format file gives a category on each line, not per file`);
    for (const [n, line] of lines(text)) {
      const t = line.trim();
      if (!t || t.startsWith('#')) continue;
      if (t.length > MAX_LINE_CHARS) throw new DatabaseError(`${path}:${n}: line longer than ${MAX_LINE_CHARS} characters`);
      const f = t.split(/[ \t]+/);
      if (f[0] === 'version') {
        if (f.length < 2) throw new DatabaseError(`${path}:${n}: version needs a value`);
        report.version = f.slice(1).join(' ').slice(0, 100);
        continue;
      }
      if (f.length < 2 || f.length > 3) throw new DatabaseError(`${path}:${n}: expected "<entry> <category> [<list>]"`);
      const category = f[1] as LinkCategory;
      if (!(LINK_CATEGORIES as readonly string[]).includes(category)) throw new DatabaseError(`${path}:${n}: unknown category "${f[1].slice(0, 40)}" (malicious, phishing, adware, riskware)`);
      const entryList = f[2] ?? list;
      if (!LIST_NAME.test(entryList)) throw new DatabaseError(`${path}:${n}: list name "${entryList.slice(0, 80)}" must be 1-64 letters, digits or _.:+-`);
      const e = parseEntry(f[0], 'auto');
      if (typeof e === 'string') throw new DatabaseError(`${path}:${n}: ${e}: ${f[0].slice(0, 200)}`);
      add(e, category, entryList);
      if (entries.length > MAX_ENTRIES) throw new DatabaseError(`${path}: more than ${MAX_ENTRIES} entries`);
    }
    return { report, entries, skippedSamples: samples };
  }

  const category = spec.category;
  if (!category || !(LINK_CATEGORIES as readonly string[]).includes(category)) {
    throw new DatabaseError(`${path}: a ${format} feed needs a category (name the file <list>.<category>.${format} or give one)`);
  }
  report.category = category;
  if (text.length === 0) throw new DatabaseError(`${path}: empty file (a failed download?)`);
  let good = 0;
  const skip = (n: number, why: string, what: string) => {
    report.skipped++;
    if (samples.length < MAX_SKIPPED_SAMPLES) samples.push(`${path}:${n}: ${why}: ${what.slice(0, 120)}`);
  };
  for (const [n, line] of lines(text)) {
    let t = line.trim();
    if (!t || t.startsWith('#') || t.startsWith('!') || t.startsWith(';')) continue;
    if (t.length > MAX_LINE_CHARS) { skip(n, 'line too long', t); continue; }
    if (format === 'urls') {
      const e = parseEntry(t, 'host');
      if (typeof e === 'string') { skip(n, e, t); continue; }
      add(e, category, list);
      good++;
    } else {
      const hash = t.indexOf('#');
      if (hash >= 0) t = t.slice(0, hash).trim();
      if (!t) continue;
      const f = t.split(/[ \t]+/);
      // `0.0.0.0 name…` (any address in front), or a bare name.
      const names = f.length > 1 && normaliseHost(f[0]) !== null && isIpHost(normaliseHost(f[0])!) ? f.slice(1) : f;
      let lineGood = false;
      let lineBad = false;
      for (const name of names) {
        if (HOSTS_SPECIAL.has(name.toLowerCase())) continue;
        const e = parseEntry(name, format === 'hosts' ? 'host' : 'domain');
        if (typeof e === 'string' || e.kind === 'url') { lineBad = true; skip(n, typeof e === 'string' ? e : 'a URL in a host list', name); continue; }
        add(e, category, list);
        lineGood = true;
      }
      if (lineGood) good++;
      else if (!lineBad) continue;
    }
    if (entries.length > MAX_ENTRIES) throw new DatabaseError(`${path}: more than ${MAX_ENTRIES} entries`);
  }
  if (report.skipped > good) {
    throw new DatabaseError(`${path}: ${report.skipped} lines are not ${format === 'urls' ? 'URLs' : 'host names'} and only ${good} are (not a ${format} feed, or an error page saved in its place?)`);
  }
  return { report, entries, skippedSamples: samples };
}

/** Format, category and default list of a file, from its spec and its name; null when it is no database file. */
function describeFile(path: string, spec: SourceSpec | null): { format: FeedFormat; category?: LinkCategory; list: string } | null {
  const name = basename(path);
  const m = FEED_FILE.exec(name);
  let format: FeedFormat | undefined = spec?.format;
  let category = spec?.category;
  let list = spec?.list;
  if (m) {
    format ??= m[3] as FeedFormat;
    category ??= m[2] as LinkCategory;
    list ??= m[1];
  } else if (name.endsWith('.txt')) {
    format ??= 'moat';
    list ??= name.slice(0, -4);
  } else if (spec) {
    // A file given on its own: the extension can still say the format (the category must then be given).
    format ??= (/\.(urls|hosts|domains)$/.exec(name)?.[1] as FeedFormat | undefined);
  }
  if (!format) return null;
  list ??= name.replace(/\.[^.]*$/, '');
  return { format, category: format === 'moat' ? spec?.category : category, list: list.replace(/[^A-Za-z0-9_.:+-]/g, '_').slice(0, 64) || 'list' };
}

async function readDatabaseFile(path: string): Promise<string> {
  let st;
  try { st = await stat(path); } catch (err) { throw new DatabaseError(`${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`); }
  if (!st.isFile()) throw new DatabaseError(`${path}: not a file`);
  if (st.size > MAX_FILE_BYTES) throw new DatabaseError(`${path}: larger than ${MAX_FILE_BYTES} bytes`);
  try { return await readFile(path, 'utf8'); } catch (err) { throw new DatabaseError(`${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`); }
}

/** The files a set of sources stands for, with how to read each; ignored directory members listed apart. */
async function expandSources(sources: readonly DatabaseSource[]): Promise<{ files: { path: string; format: FeedFormat; category?: LinkCategory; list: string }[]; ignored: string[] }> {
  const files: { path: string; format: FeedFormat; category?: LinkCategory; list: string }[] = [];
  const ignored: string[] = [];
  for (const src of sources) {
    const spec = typeof src === 'string' ? null : src;
    const path = typeof src === 'string' ? src : src.path;
    let st;
    try { st = await stat(path); } catch (err) { throw new DatabaseError(`${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`); }
    if (st.isDirectory()) {
      if (spec && (spec.format || spec.category || spec.list)) throw new DatabaseError(`${path}: format, category and list apply to a file, not a directory`);
      for (const name of (await readdir(path)).sort()) {
        const p = join(path, name);
        const d = describeFile(p, null);
        let isFile = false;
        try { isFile = (await stat(p)).isFile(); } catch { /* vanished: ignored */ }
        if (d && isFile) files.push({ path: p, ...d }); else ignored.push(p);
      }
    } else {
      const d = describeFile(path, spec ?? { path });
      if (!d) throw new DatabaseError(`${path}: cannot tell the format (name it *.txt or <list>.<category>.urls|hosts|domains, or give format and category)`);
      files.push({ path, ...d });
    }
  }
  return { files, ignored };
}

/** Scratch space for path prefix ends (lookups are synchronous: one buffer per thread is enough). */
const ENDS = new Int32Array(MAX_PREFIXES);

/** Host and URL entries of one host. */
interface HostEntries {
  matches: UrlDbMatch[] | null;
  ports: Map<string, { paths: Map<string, UrlDbMatch[]>; lengths: Set<number> }> | null;
}

/** `host[:port]` of an entry key → the host as URL hosts come (no brackets) and the port (`''` or `:8080`). */
function splitHostKey(hostKey: string): { host: string; port: string } {
  if (hostKey.startsWith('[')) {
    const rb = hostKey.indexOf(']');
    return { host: hostKey.slice(1, rb), port: hostKey.slice(rb + 1) };
  }
  const c = hostKey.lastIndexOf(':');
  return c < 0 ? { host: hostKey, port: '' } : { host: hostKey.slice(0, c), port: hostKey.slice(c) };
}

/** An immutable, compiled database: three hash maps. Build with `compile` or `loadDatabase`. */
export class CompiledUrlDb implements UrlLookup {
  readonly report: LoadReport;
  /**
   * Per host (as URL hosts come: no port, IPv6 without brackets): its host entries, and its URL entries by port
   * (`''`, `:8080`) → canonical path (with query) → matches, with the lengths of those paths (a prefix of another
   * length cannot match, so it is not even sliced).
   */
  private readonly hosts = new Map<string, HostEntries>();
  private readonly domains = new Map<string, UrlDbMatch[]>();
  /**
   * The registrable domain (or IP) of every entry: a URL under none of them (nearly all) costs one probe. The
   * Public Suffix List is hierarchical, so every host an entry covers has the entry's registrable domain.
   */
  private readonly roots = new Set<string>();

  constructor(parsed: readonly ParsedFile[], report: Omit<LoadReport, 'entries'>) {
    let entries = 0;
    for (const f of parsed) {
      for (const e of f.entries) {
        this.roots.add(e.root);
        let map: Map<string, UrlDbMatch[]> | null = null;
        let key = e.key;
        if (e.kind === 'domain') {
          map = this.domains;
        } else {
          // Host entries are bare hosts (IPv6 without brackets); URL keys start with `host[:port]`.
          const slash = e.kind === 'url' ? key.indexOf('/') : -1;
          const { host, port } = slash < 0 ? { host: key, port: '' } : splitHostKey(key.slice(0, slash));
          let h = this.hosts.get(host);
          if (!h) { h = { matches: null, ports: null }; this.hosts.set(host, h); }
          if (e.kind === 'host') {
            h.matches ??= [];
            if (h.matches.some((m) => m.category === e.match.category && m.list === e.match.list)) continue;
            h.matches.push(e.match);
            entries++;
            continue;
          }
          key = key.slice(slash);
          h.ports ??= new Map();
          let pe = h.ports.get(port);
          if (!pe) { pe = { paths: new Map(), lengths: new Set() }; h.ports.set(port, pe); }
          pe.lengths.add(key.length);
          map = pe.paths;
        }
        const cur = map.get(key);
        if (!cur) map.set(key, [e.match]);
        else if (!cur.some((m) => m.category === e.match.category && m.list === e.match.list)) cur.push(e.match);
        else continue;
        entries++;
      }
    }
    this.report = { ...report, entries };
  }

  get size(): number { return this.report.entries; }

  lookup(url: UrlInput): UrlDbMatch[] {
    let host = typeof url?.host === 'string' ? url.host : '';
    if (host.endsWith('.')) host = host.slice(0, -1);
    if (host.startsWith('[')) host = host.slice(1, -1);
    if (/[A-Z]/.test(host)) host = host.toLowerCase();
    if (!host) return [];
    const ip = isIpHost(host);
    const root = ip ? host : (typeof url.domain === 'string' ? url.domain : getDomain(host));
    if (!root || !this.roots.has(root)) return [];
    let out: UrlDbMatch[] | null = null;
    const h = this.hosts.get(host);
    if (h?.matches) out = [...h.matches];
    if (this.domains.size && !ip) {
      // The host itself, then each parent name down to the registrable domain: a.b.example → a.b.example, b.example.
      for (let i = 0, steps = 0; i >= 0 && steps < 128; steps++) {
        const name = i === 0 ? host : host.slice(i);
        const ms = this.domains.get(name);
        if (ms) { out ??= []; for (const m of ms) out.push(m); }
        if (name.length <= root.length) break;
        const dot = host.indexOf('.', i);
        i = dot < 0 ? -1 : dot + 1;
      }
    }
    if (h?.ports && typeof url.url === 'string') {
      const parts = urlParts(url.url);
      const pe = parts && h.ports.get(parts.port);
      if (pe) {
        const path = parts.path;
        const n = pathPrefixEnds(path, ENDS);
        for (let k = 0; k < n; k++) {
          const end = ENDS[k];
          if (!pe.lengths.has(end)) continue;
          const ms = pe.paths.get(end === path.length ? path : path.slice(0, end));
          if (ms) { out ??= []; for (const m of ms) out.push(m); }
        }
      }
    }
    return out ?? [];
  }

  /** Looks up any URL string (with or without a scheme); [] when it is not a URL. */
  lookupUrl(s: string): UrlDbMatch[] {
    const u = parseUrl(s);
    if (!u) return [];
    return this.lookup({ url: `http://${u.key}`, host: u.host, domain: null });
  }
}

/** Loads and compiles every file of `sources`; throws DatabaseError when any of them is missing or broken. */
export async function loadDatabase(sources: readonly DatabaseSource[]): Promise<CompiledUrlDb> {
  const started = performance.now();
  const { files, ignored } = await expandSources(sources);
  const parsed: ParsedFile[] = [];
  let total = 0;
  for (const f of files) {
    const text = await readDatabaseFile(f.path);
    const p = parseDatabaseText(text, f);
    total += p.entries.length;
    if (total > MAX_ENTRIES) throw new DatabaseError(`more than ${MAX_ENTRIES} entries in all`);
    parsed.push(p);
  }
  const skippedSamples = parsed.flatMap((p) => p.skippedSamples).slice(0, MAX_SKIPPED_SAMPLES);
  return new CompiledUrlDb(parsed, { files: parsed.map((p) => p.report), ignored, skippedSamples, loadMs: Math.round(performance.now() - started) });
}

/** A database from text in memory (tests, tools): one file's worth, in `format` (default moat). */
export function compileText(text: string, spec: { format?: FeedFormat; category?: LinkCategory; list?: string; path?: string } = {}): CompiledUrlDb {
  const p = parseDatabaseText(text, { path: spec.path ?? '<text>', format: spec.format ?? 'moat', category: spec.category, list: spec.list ?? 'local' });
  return new CompiledUrlDb([p], { files: [p.report], ignored: [], skippedSamples: p.skippedSamples, loadMs: 0 });
}

/** What the files of `sources` look like on disk (platform/files-stamp.ts). */
function sourcesStamp(sources: readonly DatabaseSource[]): Promise<string> {
  return filesStamp(sources.map((src) => (typeof src === 'string' ? src : src.path)));
}

export interface ReloadResult { ok: boolean; error?: string; report: LoadReport | null }

export interface UrlDatabaseStatus {
  ready: boolean;
  loadedAt: string | null;
  lastError: string | null;
  /** The files' `version` lines, comma-separated, or null. */
  version: string | null;
  entries: number;
  report: LoadReport | null;
}

/**
 * The running database of a set of sources: lookups go to the compiled database in force; reload() and
 * maybeReload() replace it only with one that loaded completely. Before the first good load, `ready` is false
 * and lookups answer nothing (the scanner reports that as an error).
 */
export class UrlDatabase implements UrlLookup {
  readonly sources: readonly DatabaseSource[];
  private db: CompiledUrlDb | null;
  private stamp: string | null = null;
  private nextCheck = 0;
  private checking: Promise<boolean> | null = null;
  private loadedAt: Date | null = null;
  private lastError: string | null = null;

  constructor(opts: { sources?: readonly DatabaseSource[]; compiled?: CompiledUrlDb } = {}) {
    this.sources = opts.sources ?? [DEFAULT_DATABASE_DIR];
    this.db = opts.compiled ?? null;
    if (this.db) this.loadedAt = new Date();
  }

  /** Creates a database and loads it once (see `ready` / `status()` for the outcome). */
  static async create(opts: { sources?: readonly DatabaseSource[] } = {}): Promise<UrlDatabase> {
    const d = new UrlDatabase(opts);
    await d.reload();
    return d;
  }

  /** A fixed database from text (tests, tools); reload() on it reads `sources` (none: nothing to reload). */
  static fromText(text: string, spec: Parameters<typeof compileText>[1] = {}): UrlDatabase {
    return new UrlDatabase({ sources: [], compiled: compileText(text, spec) });
  }

  get ready(): boolean { return this.db !== null; }

  lookup(url: UrlInput): UrlDbMatch[] {
    return this.db ? this.db.lookup(url) : [];
  }

  lookupUrl(s: string): UrlDbMatch[] {
    return this.db ? this.db.lookupUrl(s) : [];
  }

  /** Loads the sources again; on failure the previous database stays in force. Never rejects. */
  async reload(): Promise<ReloadResult> {
    if (!this.sources.length) return { ok: true, report: this.db?.report ?? null };
    this.stamp = await sourcesStamp(this.sources);
    try {
      const db = await loadDatabase(this.sources);
      this.db = db;
      this.loadedAt = new Date();
      this.lastError = null;
      return { ok: true, report: db.report };
    } catch (err) {
      this.lastError = (err as Error).message;
      return { ok: false, error: this.lastError, report: this.db?.report ?? null };
    }
  }

  /**
   * Reloads when a file was added, removed or changed (size, mtime) since the last load attempt, looking at most
   * once per `intervalMs`. Scanners call it without waiting; resolves true when a reload was attempted.
   */
  maybeReload(intervalMs = RELOAD_CHECK_MS): Promise<boolean> {
    const now = Date.now();
    if (this.checking || now < this.nextCheck || !this.sources.length) return this.checking ?? Promise.resolve(false);
    this.nextCheck = now + intervalMs;
    this.checking = (async () => {
      try {
        if ((await sourcesStamp(this.sources)) === this.stamp) return false;
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

  status(): UrlDatabaseStatus {
    const versions = this.db?.report.files.map((f) => f.version).filter((v): v is string => !!v) ?? [];
    return {
      ready: this.ready, loadedAt: this.loadedAt?.toISOString() ?? null, lastError: this.lastError,
      version: versions.length ? versions.join(',') : null, entries: this.db?.size ?? 0, report: this.db?.report ?? null,
    };
  }
}

/** Databases by sources, shared by the scanners of one thread (one copy in memory per worker). */
const shared = new Map<string, UrlDatabase>();

/** The thread's database for `sources` (default: the shipped data/links/), loaded if it is not yet. */
export async function sharedUrlDatabase(sources?: readonly DatabaseSource[]): Promise<UrlDatabase> {
  const key = JSON.stringify(sources ?? null);
  let d = shared.get(key);
  if (!d) {
    d = new UrlDatabase({ sources });
    shared.set(key, d);
  }
  if (!d.ready) await d.reload();
  return d;
}

/** Reloads every shared database of this thread (after an update); failures keep the old databases. */
export async function reloadUrlDatabases(): Promise<(ReloadResult & { sources: DatabaseSource[] | null })[]> {
  return Promise.all([...shared].map(async ([key, d]) => ({ sources: JSON.parse(key) as DatabaseSource[] | null, ...(await d.reload()) })));
}
