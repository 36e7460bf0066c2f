/**
 * The `links` module (SPEC §3.2): the URLs of a message looked up in the link database (urldb.ts) and in DNS URI
 * blocklists (dns.ts), reported as one Finding.
 *
 * URLs: `extractUrls(model.text, model.html)` (src/scan/urls.ts: hrefs, visible text, character references and
 * percent-encoding undone, redirect targets hidden in queries) plus the URLs of text and HTML parts that are not
 * the message's inline bodies (attachments, bodies of attached messages, text files in archives), bounded by
 * `attachments` (parts, bytes per part, bytes in all, URLs).
 *
 * Status, worst first: malicious > riskware > adware > error > clean.
 *   - a database entry or a URI-list answer of a category listed in `categories` (default only `malicious`) is a
 *     detection with that status: `name` = the URL (at most 200 characters), `engine` = `urldb` or the list's
 *     zone, `part` = the part path when the URL came from an attachment; one detection per URL, engine and part;
 *   - categories not listed (adware and riskware by default) appear in `details.excluded` only;
 *   - `phishing` entries and answers are the `antiphishing` module's status, never this one's: they appear in
 *     `details.phishing` (and the anti-phishing module asks the same database itself);
 *   - `error`, unless something worse was found: the database is not loaded (details.errors says why), a URI list
 *     could not be asked at all for this message (every lookup to it failed: timeout, SERVFAIL, refused), or the
 *     module's time limit (`timeoutMs`, 30 s) or the caller's signal ended the DNS lookups. A list that answered
 *     some lookups and failed others only lists the failures in `details.errors`;
 *   - `not_scanned` (engine_unavailable) when neither a database nor a URI list is configured.
 * Later (SPEC §3.2): "the cluster's own reputation history" of URLs (links seen in mail later reported or
 * detected) as a third source; it needs the store, so like anti-spam's reputation counts it will arrive through
 * model.context from the caller.
 *
 * Hostile input: the whole message through the model. URL extraction is linear and capped (maxUrls); database
 * lookups are hash probes; attachment reads are capped; DNS work is bounded by uriSubjects/maxUriDomains,
 * concurrency and timeouts. Never throws for a property of the message.
 */
import { open } from 'node:fs/promises';
import { z } from 'zod';
import { systemResolver, type Resolver } from '../../platform/resolver.ts';
import type { Detection, Finding, MessageModel, Part, Scanner } from '../types.ts';
import { extractUrls, type ExtractedUrl } from '../urls.ts';
import { linksBlocklistsSchema, uriListLookups, type UriListResult } from './dns.ts';
import { FEED_FORMATS, LINK_CATEGORIES, sharedUrlDatabase, type LinkCategory, type UrlDatabase, type UrlDbMatch } from './urldb.ts';

/** Categories that can be this module's status (phishing is the anti-phishing module's). */
export const COUNTABLE_CATEGORIES = ['malicious', 'adware', 'riskware'] as const;
export type LinksStatus = 'clean' | 'malicious' | 'adware' | 'riskware' | 'error' | 'not_scanned';

export const sourceSchema = z.union([
  z.string().min(1),
  z.object({
    path: z.string().min(1),
    format: z.enum(FEED_FORMATS).optional(),
    category: z.enum(LINK_CATEGORIES).optional(),
    list: z.string().regex(/^[A-Za-z0-9_.:+-]{1,64}$/, '1-64 letters, digits or _.:+-').optional(),
  }).strict(),
]);

export const linksOptionsSchema = z.object({
  /** Database files and directories (see urldb.ts); absent: the shipped data/links/; [] = no database. */
  databases: z.array(sourceSchema).max(256).optional(),
  /** How often the database files are checked for changes, milliseconds. */
  reloadCheckMs: z.number().int().min(1).default(10_000),
  /** Categories that count for the status; the others are reported in details only. */
  categories: z.array(z.enum(COUNTABLE_CATEGORIES)).default(['malicious']),
  /** DNS URI blocklists (dns.ts); none by default. */
  blocklists: linksBlocklistsSchema.prefault({}),
  /** DNS servers for the URI lists (`ip` or `ip:port`); [] = the system's. */
  dnsServers: z.array(z.string().min(1)).max(16).default([]),
  /** Time limit of the module for one message, milliseconds (SPEC §3.2: 30 s). */
  timeoutMs: z.number().int().min(1).max(600_000).default(30_000),
  /** Most distinct URLs taken from the inline text and HTML bodies. */
  maxUrls: z.number().int().min(1).max(10_000).default(500),
  /** URLs of text and HTML attachments. */
  attachments: z.object({
    /** Most parts read (0 = attachments are not looked at). */
    maxParts: z.number().int().min(0).max(1000).default(20),
    /** Bytes read of one part. */
    maxBytes: z.number().int().min(1).max(64 * 1024 * 1024).default(1024 * 1024),
    /** Bytes read of all parts together. */
    maxTotalBytes: z.number().int().min(1).max(256 * 1024 * 1024).default(4 * 1024 * 1024),
    /** Most distinct URLs taken from all attachments together. */
    maxUrls: z.number().int().min(0).max(10_000).default(500),
  }).strict().prefault({}),
}).strict();

export type LinksOptions = z.input<typeof linksOptionsSchema>;
export type ResolvedLinksOptions = z.output<typeof linksOptionsSchema>;

export interface LinksDeps {
  /** The database to use instead of the thread's shared one (not closed by the scanner). */
  database?: UrlDatabase | null;
  /** DNS for the URI lists (default: the system resolver with `dnsServers`). */
  resolver?: Resolver;
}

const RANK: Record<string, number> = { clean: 0, error: 1, adware: 2, riskware: 3, malicious: 4 };
const MAX_DETECTIONS = 100;
const MAX_LISTED = 20;
const MAX_NAME = 200;

/** A URL for display: at most MAX_NAME characters. */
export function shortUrl(u: string): string {
  return u.length <= MAX_NAME ? u : `${u.slice(0, MAX_NAME - 3)}...`;
}

interface Found { url: ExtractedUrl; part?: string }

/** The paths of the inline bodies whose text is already in model.text / model.html. */
function bodyPaths(model: MessageModel): Set<string> {
  if (model.bodies) return new Set(model.bodies.map((b) => b.path));
  // Hand-built models without `bodies`: the inline text/plain and text/html leaves are the bodies.
  return new Set(model.parts.filter((p) => p.isLeaf && !p.isAttachment && (p.declaredType === 'text/plain' || p.declaredType === 'text/html')).map((p) => p.path));
}

async function readHead(p: Part, max: number): Promise<Buffer> {
  const c = p.content!;
  if (c.kind === 'buffer') return c.data.subarray(0, max);
  const fh = await open(c.path, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.min(max, Math.max(0, p.size) || max));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function decodeText(b: Buffer): string {
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return b.subarray(2).toString('utf16le');
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) {
    const s = Buffer.from(b.subarray(2, 2 + ((b.length - 2) & ~1)));
    return s.swap16().toString('utf16le');
  }
  return b.toString('utf8');
}

/** URLs of text and HTML parts other than the inline bodies, within the attachment limits. */
async function attachmentUrls(model: MessageModel, o: ResolvedLinksOptions['attachments'], signal: AbortSignal, errors: string[]): Promise<{ found: Found[]; parts: number }> {
  const found: Found[] = [];
  if (o.maxParts === 0 || o.maxUrls === 0) return { found, parts: 0 };
  const bodies = bodyPaths(model);
  let parts = 0;
  let bytes = 0;
  let urls = 0;
  for (const p of model.parts) {
    if (parts >= o.maxParts || bytes >= o.maxTotalBytes || urls >= o.maxUrls || signal.aborted) break;
    if (!p.isLeaf || !p.content || bodies.has(p.path)) continue;
    const cat = p.trueType.category;
    if (cat !== 'text' && cat !== 'html') continue;
    let head: Buffer;
    try {
      head = await readHead(p, Math.min(o.maxBytes, o.maxTotalBytes - bytes));
    } catch (err) {
      if (errors.length < MAX_LISTED) errors.push(`attachment ${p.path}: ${(err as Error).message}`);
      continue;
    }
    parts++;
    bytes += head.length;
    const text = decodeText(head);
    const got = cat === 'html' ? extractUrls('', text, { maxUrls: o.maxUrls - urls }) : extractUrls(text, '', { maxUrls: o.maxUrls - urls });
    urls += got.length;
    for (const u of got) found.push({ url: u, part: p.path });
  }
  return { found, parts };
}

/** One database entry or list answer matched by a URL, as details list it. */
interface Listed { url: string; category: LinkCategory; source: string; list: string; entry: string; part?: string; code?: string }

export class LinksScanner implements Scanner {
  readonly module = 'links' as const;
  readonly options: ResolvedLinksOptions;
  private readonly db: UrlDatabase | null;
  private readonly resolver: Resolver | null;
  private readonly counted: ReadonlySet<string>;

  /** Prefer createLinksScanner(), which loads the shared database. */
  constructor(options: LinksOptions, deps: { database: UrlDatabase | null; resolver: Resolver | null }) {
    this.options = linksOptionsSchema.parse(options);
    this.db = deps.database;
    this.resolver = this.options.blocklists.zones.length ? deps.resolver : null;
    this.counted = new Set(this.options.categories);
  }

  async scan(model: MessageModel, signal: AbortSignal): Promise<Finding> {
    const started = performance.now();
    const o = this.options;
    if (!this.db && !this.resolver) {
      return { module: 'links', status: 'not_scanned', reason: 'engine_unavailable', detections: [], details: { error: 'no link database and no URI list configured' }, ms: 0 };
    }
    // Picks up a changed database in the background; this scan uses the one in force.
    void this.db?.maybeReload(o.reloadCheckMs);
    const errors: string[] = [];
    const detections: Detection[] = [];
    const seen = new Set<string>();
    const excluded: Listed[] = [];
    const phishing: Listed[] = [];
    const hits: Listed[] = [];
    let status: LinksStatus = 'clean';
    const worse = (s: LinksStatus) => { if (RANK[s] > RANK[status]) status = s; };

    const found: Found[] = extractUrls(model.text, model.html, { maxUrls: o.maxUrls }).map((url) => ({ url }));
    const att = await attachmentUrls(model, o.attachments, signal, errors);
    for (const f of att.found) found.push(f);
    // Each URL once per part (extractUrls lists an `<a href=X>X</a>` link twice: as href and as anchor text).
    const unique = new Map<string, Found>();
    for (const f of found) {
      const k = `${f.part ?? ''}\0${f.url.url}`;
      if (!unique.has(k)) unique.set(k, f);
    }

    const record = (l: Listed) => {
      if (l.category === 'phishing') { if (phishing.length < MAX_LISTED) phishing.push(l); return; }
      if (!this.counted.has(l.category)) { if (excluded.length < MAX_LISTED) excluded.push(l); return; }
      if (hits.length < MAX_LISTED) hits.push(l);
      worse(l.category as LinksStatus);
      const name = shortUrl(l.url);
      const key = `${l.category}\0${name}\0${l.source}\0${l.part ?? ''}`;
      if (seen.has(key) || detections.length >= MAX_DETECTIONS) return;
      seen.add(key);
      detections.push({ status: l.category, name, engine: l.source, ...(l.part ? { part: l.part } : {}) });
    };

    // The database: hash probes per distinct URL.
    let dbHits = 0;
    const distinct = new Set<string>();
    const db = this.db;
    if (db && !db.ready) errors.push(`link database not loaded${db.status().lastError ? `: ${db.status().lastError}` : ''}`);
    const memo = new Map<string, readonly UrlDbMatch[]>();
    for (const f of unique.values()) {
      distinct.add(f.url.url);
      if (!db) continue;
      let ms = memo.get(f.url.url);
      if (!ms) { ms = db.lookup(f.url); memo.set(f.url.url, ms); }
      for (const m of ms) {
        dbHits++;
        record({ url: f.url.url, category: m.category, source: 'urldb', list: m.list, entry: m.entry, ...(f.part ? { part: f.part } : {}) });
      }
    }

    // DNS URI lists, under the module's time limit.
    let dns: UriListResult | null = null;
    let interrupted: string | null = null;
    const uncategorised: string[] = [];
    if (this.resolver) {
      const deadline = AbortSignal.timeout(o.timeoutMs);
      const sig = AbortSignal.any([signal, deadline]);
      dns = await uriListLookups(found.map((f) => f.url), o.blocklists, this.resolver, sig);
      if (dns.aborted) interrupted = deadline.aborted ? 'timeout' : 'aborted';
      for (const h of dns.hits) {
        if (!h.category) {
          if (uncategorised.length < MAX_LISTED) uncategorised.push(`${h.subject} ${h.code} on ${h.zone}`);
          continue;
        }
        // Every URL whose domain (or IP) was listed, one per part: the first of each.
        const parts = new Set<string>();
        for (const f of unique.values()) {
          const subject = h.kind === 'ip' ? f.url.host : f.url.domain;
          if (subject !== h.subject || parts.has(f.part ?? '')) continue;
          parts.add(f.part ?? '');
          record({ url: f.url.url, category: h.category, source: h.zone, list: h.zone, entry: h.subject, code: h.code, ...(f.part ? { part: f.part } : {}) });
        }
      }
      for (const e of dns.errors) if (errors.length < MAX_LISTED) errors.push(e);
      for (const z of dns.unreachable) if (errors.length < MAX_LISTED) errors.push(`${z}: no lookup answered`);
    }

    if ((this.db && !this.db.ready) || (dns && dns.unreachable.length) || interrupted) worse('error');

    const details: Record<string, unknown> = {
      urls_checked: distinct.size,
      db_hits: dbHits,
      dns_queried: dns?.queried ?? 0,
    };
    if (att.parts) details.attachments_scanned = att.parts;
    if (dns?.cached) details.dns_cached = dns.cached;
    if (this.db) details.database_version = this.db.status().version;
    if (hits.length) details.hits = hits;
    if (excluded.length) details.excluded = excluded;
    if (phishing.length) details.phishing = phishing;
    if (uncategorised.length) details.uncategorised = uncategorised;
    if (errors.length) details.errors = errors;
    if (interrupted) details.error = interrupted;
    return { module: 'links', status, detections, details, ms: Math.round(performance.now() - started) };
  }

  /** Nothing to release: the database is shared, DNS holds no connections between scans. */
  async close(): Promise<void> {}
}

/**
 * Creates the scanner from (partial) options. The database is loaded once per thread and set of sources and
 * shared; one that fails to load does not fail creation (each scan then reports `error`, and a fixed file is
 * picked up by the reload check).
 */
export async function createLinksScanner(options: LinksOptions = {}, deps: LinksDeps = {}): Promise<LinksScanner> {
  const o = linksOptionsSchema.parse(options);
  const database = deps.database !== undefined ? deps.database : (o.databases && o.databases.length === 0 ? null : await sharedUrlDatabase(o.databases));
  const resolver = o.blocklists.zones.length ? (deps.resolver ?? systemResolver({ servers: o.dnsServers, timeoutMs: o.blocklists.timeoutMs })) : null;
  return new LinksScanner(o, { database, resolver });
}
