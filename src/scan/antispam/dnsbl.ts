/**
 * DNS blocklists (SPEC §3.3): IP lists (DNSBL) for the client IP, or for the first untrusted hop of the
 * Received chain when Moat sits behind trusted relays, and URI lists (URIBL/SURBL style) for the registrable
 * domains and IP literals of the URLs in the body. Every answer becomes a Signal with the zone's (or the
 * return code's) weight; nothing is queried unless zones are configured.
 *
 * Query names follow RFC 5782: reversed IPv4 octets or reversed IPv6 nibbles, then the zone; URI lists get the
 * registrable domain (tldts, ICANN section) or the reversed IPv4 literal. Answers are read as RFC 5782 says:
 * A records in 127.0.0.0/8 mean "listed", with per-code meanings, or one meaning per bit (bitmask lists such as
 * multi.surbl.org). Anything outside 127/8 (a resolver that rewrites NXDOMAIN), 127.255.255.x (Spamhaus's
 * refused/over-quota codes), a bare 127.0.0.1 not configured as a code (the usual "query blocked" answer) and
 * configured `errorCodes` are reported in `errors`, never as hits. Timeouts, SERVFAIL and aborts are errors too.
 *
 * Hostile input: Received headers, URLs and DNS answers. Received parsing reads at most MAX_RECEIVED headers of
 * MAX_RECEIVED_CHARS each with a single forward scan; query names are validated (LDH labels ≤ 63, name ≤ 253);
 * at most MAX_ANSWERS answers per query are read. Limits: `maxUriDomains` URI subjects per message,
 * `concurrency` lookups in flight, each bounded by `timeoutMs` and the caller's AbortSignal. Results are cached
 * per Resolver (positive and negative TTLs, MAX_CACHE entries); errors are not cached.
 */
import ipaddr from 'ipaddr.js';
import { getDomain } from 'tldts';
import { z } from 'zod';
import { isNotFound, type Resolver } from '../../platform/resolver.ts';
import type { Signal } from './types.ts';

// ---------------------------------------------------------------------------------------------------------------
// Configuration

const code127 = z.string().trim().refine((s) => /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(s) && s.split('.').every((o) => Number(o) <= 255), 'expected a 127.x.y.z return code');
const signalId = z.string().trim().regex(/^[A-Z0-9_]{1,40}$/, 'upper-case letters, digits and _ only');
const zoneName = z.string().trim().toLowerCase().transform((s) => s.replace(/\.$/, ''))
  .refine((s) => s.length <= 200 && /^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(s), 'expected a DNS zone name like zen.spamhaus.org');
const weight = z.number().min(-100).max(100);
const cidrString = z.string().trim().refine((s) => {
  const addr = s.split('/')[0];
  if (!addr.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(addr)) return false;
  try { if (s.includes('/')) ipaddr.parseCIDR(s); else ipaddr.parse(s); return true; } catch { return false; }
}, 'not a valid IP address or CIDR range');

/** Meaning of one return code (or, for bitmask lists, of one bit written as 127.0.0.<bit value>). */
export const dnsblCodeSchema = z.object({
  /** Rating points for this code; the zone's weight when absent. */
  weight: weight.optional(),
  description: z.string().trim().min(1).max(200),
  /** Suffix of the signal id, e.g. `SBL` → `DNSBL_SPAMHAUS_ZEN_SBL`; the code's digits when absent. */
  id: signalId.optional(),
}).strict();

export const dnsblZoneSchema = z.object({
  /** The list's DNS zone, e.g. `zen.spamhaus.org`. */
  zone: zoneName,
  /** `ip`: queried with the client IP; `uri`: with domains and IP literals of the body's URLs. */
  type: z.enum(['ip', 'uri']),
  /** Rating points of a listing (for codes without a weight of their own). */
  weight,
  /** Middle part of the signal id (default: the zone in upper case, dots as `_`). */
  id: signalId.optional(),
  /** One line for administrators (default "Listed on <zone>"). */
  description: z.string().trim().min(1).max(200).optional(),
  /** Return-code meanings, keyed by the A record (`127.0.0.2`); for bitmask lists, by bit (`127.0.0.8`). */
  codes: z.record(code127, dnsblCodeSchema).optional(),
  /** The last octet of the answer is a set of bits, each with its own meaning (multi.surbl.org, multi.uribl.com). */
  bitmask: z.boolean().default(false),
  /** More answers that mean "query refused / error" for this list (127.255.255.x is always one). */
  errorCodes: z.record(code127, z.string().trim().max(200)).optional(),
  /** IP lists: also query IPv6 clients (reversed nibbles). Turn off for IPv4-only lists. */
  ipv6: z.boolean().default(true),
  /** URI lists: also query IPv4 literals found in URLs (reversed octets). Turn off for domain-only lists. */
  ips: z.boolean().default(true),
}).strict();

/** Registrable domains so common in legitimate mail that asking URI lists about them only wastes queries. */
export const DEFAULT_URI_ALLOWLIST: readonly string[] = Object.freeze([
  'google.com', 'gmail.com', 'googleapis.com', 'gstatic.com', 'youtube.com', 'googlemail.com', 'microsoft.com',
  'outlook.com', 'office.com', 'office365.com', 'live.com', 'hotmail.com', 'windows.net', 'bing.com', 'apple.com',
  'icloud.com', 'yahoo.com', 'amazon.com', 'amazonaws.com', 'facebook.com', 'instagram.com', 'whatsapp.com',
  'linkedin.com', 'twitter.com', 'x.com', 'wikipedia.org', 'w3.org', 'github.com', 'mozilla.org', 'cloudflare.com',
  'akamaihd.net', 'paypal.com', 'dropbox.com', 'zoom.us', 'schema.org', 'openxmlformats.org', 'adobe.com',
]);

const domainEntry = z.string().trim().toLowerCase().transform((s) => s.replace(/\.$/, '')).refine((s) => /^[a-z0-9_.-]{1,253}$/.test(s), 'expected a domain name');

export const dnsblConfigSchema = z.object({
  /** The lists to query; none by default. */
  zones: z.array(dnsblZoneSchema).max(64).default([]),
  /**
   * Relays in front of Moat (edge gateways, inbound filters). When the client is one of them, the IP lists are
   * asked about the first Received hop that is not. Loopback is always trusted.
   */
  trustedRelays: z.array(cidrString).max(1000).default([]),
  /** Registrable domains (or hosts) never sent to URI lists. Replaces the built-in list when set. */
  uriAllowlist: z.array(domainEntry).max(10_000).default(() => [...DEFAULT_URI_ALLOWLIST]),
  /** Most domains/IPs per message sent to each URI list, most frequent first. */
  maxUriDomains: z.number().int().min(0).max(100).default(20),
  /** Lookups in flight per message. */
  concurrency: z.number().int().min(1).max(64).default(16),
  /** Bound of one lookup, milliseconds (the resolver's own timeout may be shorter). */
  timeoutMs: z.number().int().min(1).max(60_000).default(5_000),
  /** How long a "listed" answer is reused, seconds (0 = no cache). */
  cacheTtlSeconds: z.number().int().min(0).max(86_400).default(300),
  /** How long a "not listed" answer is reused, seconds. */
  negativeCacheTtlSeconds: z.number().int().min(0).max(86_400).default(300),
}).strict();

export type DnsblZone = z.output<typeof dnsblZoneSchema>;
export type DnsblConfig = z.output<typeof dnsblConfigSchema>;
export type DnsblConfigInput = z.input<typeof dnsblConfigSchema>;

const parsedConfigs = new WeakMap<object, DnsblConfig>();

/** Validates a configuration (cached by object identity, so per-message calls cost nothing). Throws if invalid. */
export function dnsblConfig(input: DnsblConfigInput): DnsblConfig {
  let cfg = parsedConfigs.get(input);
  if (!cfg) {
    const r = dnsblConfigSchema.safeParse(input);
    if (!r.success) throw new Error(`invalid DNS blocklist settings: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    cfg = r.data;
    parsedConfigs.set(input, cfg);
  }
  return cfg;
}

// ---------------------------------------------------------------------------------------------------------------
// Addresses

type Addr = ipaddr.IPv4 | ipaddr.IPv6;

/** Parses an address strictly (dotted-quad decimal IPv4, or IPv6; brackets, `IPv6:` and zone ids stripped). */
export function parseIp(s: string): Addr | null {
  let t = s.trim();
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  if (/^ipv6:/i.test(t)) t = t.slice(5);
  t = t.replace(/%.*$/, '');
  if (t.length > 45 || t.length < 2) return null;
  if (!t.includes(':')) {
    if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(t)) return null;
    const o = t.split('.').map(Number);
    if (o.some((x) => x > 255)) return null;
    return new ipaddr.IPv4(o);
  }
  try {
    if (!ipaddr.IPv6.isValid(t)) return null;
    const a = ipaddr.IPv6.parse(t);
    return a.isIPv4MappedAddress() ? a.toIPv4Address() : a;
  } catch { return null; }
}

/** Ranges whose addresses are never an outside sender worth asking a list about. */
const LOCAL_RANGES = new Set(['unspecified', 'broadcast', 'multicast', 'linkLocal', 'loopback', 'carrierGradeNat', 'private',
  'uniqueLocal', 'deprecatedSiteLocal', 'discard']);

/**
 * True unless the address is loopback, private (RFC 1918, IPv6 ULA), link-local, shared (CGNAT 100.64/10),
 * multicast, broadcast or unspecified. Documentation and other special-purpose ranges count as public, so that
 * examples and tests (203.0.113.0/24, 2001:db8::/32) behave like real traffic.
 */
export function isPublicIp(ip: string | Addr): boolean {
  const a = typeof ip === 'string' ? parseIp(ip) : ip;
  return a !== null && !LOCAL_RANGES.has(a.range());
}

/** The RFC 5782 query prefix: `4.3.2.1` for 1.2.3.4, 32 reversed nibbles for IPv6. */
export function reverseIp(ip: string | Addr): string | null {
  const a = typeof ip === 'string' ? parseIp(ip) : ip;
  if (!a) return null;
  const bytes = a.toByteArray();
  if (a.kind() === 'ipv4') return bytes.reverse().join('.');
  const nib: string[] = [];
  for (let i = bytes.length - 1; i >= 0; i--) nib.push((bytes[i] & 15).toString(16), (bytes[i] >> 4).toString(16));
  return nib.join('.');
}

interface Range { addr: Addr; bits: number }
const rangeCache = new WeakMap<readonly string[], Range[]>();

function ranges(list: readonly string[]): Range[] {
  let r = rangeCache.get(list);
  if (!r) {
    r = [];
    for (const s of list) {
      try {
        if (s.includes('/')) { const [addr, bits] = ipaddr.parseCIDR(s.trim()); r.push({ addr, bits }); } else {
          const addr = parseIp(s);
          if (addr) r.push({ addr, bits: addr.kind() === 'ipv4' ? 32 : 128 });
        }
      } catch { /* invalid entries match nothing (the settings schema rejects them) */ }
    }
    rangeCache.set(list, r);
  }
  return r;
}

/** True when `ip` is loopback or inside one of the CIDRs of `list`. */
export function isTrustedRelay(ip: string | Addr, list: readonly string[]): boolean {
  const a = typeof ip === 'string' ? parseIp(ip) : ip;
  if (!a) return false;
  if (a.range() === 'loopback') return true;
  for (const { addr, bits } of ranges(list)) {
    if (addr.kind() === a.kind() && a.match(addr as never, bits)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------------------
// Received headers

const MAX_RECEIVED = 50;
const MAX_RECEIVED_CHARS = 2_000;

function ipToken(tok: string): string | null {
  const a = parseIp(tok);
  return a ? a.toString() : null;
}

/**
 * The connecting IP a Received header records (its `from` clause), or null. Reads the TCP-info comment first
 * (`from helo (rdns [ip])` Postfix/Sendmail, `(host [ip] helo=x)` Exim, `(ip)` qmail/Exchange), skipping
 * `(HELO …)`/`(helo=…)` comments which hold client-chosen text, then a bare `[ip]` or ip after `from`.
 */
export function receivedFromIp(header: string): string | null {
  const s = header.length > MAX_RECEIVED_CHARS ? header.slice(0, MAX_RECEIVED_CHARS) : header;
  const m = /^\s*from\s/i.exec(s);
  if (!m) return null;
  // Split the from clause into top-level text and comments (nested comments fold into their outermost one).
  const groups: string[] = [];
  let top = '';
  let cur = '';
  let depth = 0;
  for (let i = m[0].length; i < s.length; i++) {
    const ch = s[i];
    if (ch === '(') { if (depth === 0) cur = ''; else cur += ' '; depth++; continue; }
    if (ch === ')') {
      if (depth > 0) { depth--; if (depth === 0) groups.push(cur); else cur += ' '; }
      continue;
    }
    if (depth > 0) { cur += ch; continue; }
    // The clause ends at a top-level " by " (or at the ";" before the date).
    if (ch === ';') break;
    if ((ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') && /^by\s/i.test(s.slice(i + 1, i + 4))) break;
    top += ch;
  }
  if (depth > 0) groups.push(cur);
  const tokens = (t: string) => t.split(/[\s()[\];,=]+/);
  // `1.2.3.4:25` carries a port; an IPv6 token keeps its colons.
  const ipOf = (tok: string) => (tok ? ipToken(tok.includes('.') ? tok.replace(/:\d{1,5}$/, '') : tok) : null);
  for (const g of groups) {
    if (/^\s*(?:helo|ehlo)[\s=]/i.test(g)) continue;
    for (const tok of tokens(g)) { const ip = ipOf(tok); if (ip) return ip; }
  }
  for (const tok of tokens(top)) { const ip = ipOf(tok); if (ip) return ip; }
  return null;
}

/**
 * The first external client of the Received chain: walking from the newest header (the one our side added)
 * down, the first `from` IP that is not a trusted relay (or loopback). Null when every hop is trusted or no hop
 * records an IP. Headers below the first untrusted hop are never read (anything there can be forged).
 */
export function firstUntrustedHop(receivedHeaders: readonly string[], trustedRelays: readonly string[]): string | null {
  const n = Math.min(receivedHeaders.length, MAX_RECEIVED);
  for (let i = 0; i < n; i++) {
    const ip = receivedFromIp(receivedHeaders[i]);
    if (!ip) continue;
    if (isTrustedRelay(ip, trustedRelays)) continue;
    return ip;
  }
  return null;
}

/**
 * The IP that IP lists are asked about: the client, or (when the client is a trusted relay) the first untrusted
 * Received hop; null when that address is local (private, loopback, link-local…, see isPublicIp) or there is none.
 */
export function dnsblSubjectIp(clientIp: string, receivedHeaders: readonly string[], trustedRelays: readonly string[]): string | null {
  const client = parseIp(clientIp);
  let ip: Addr | null = client;
  if (!client || isTrustedRelay(client, trustedRelays)) {
    const hop = firstUntrustedHop(receivedHeaders, trustedRelays);
    ip = hop ? parseIp(hop) : null;
  }
  return ip && isPublicIp(ip) ? ip.toString() : null;
}

// ---------------------------------------------------------------------------------------------------------------
// Cache and lookups

const MAX_CACHE = 10_000;
const MAX_ANSWERS = 16;
const INFLIGHT_STALE_MS = 60_000;

export type LookupResult = { ok: true; values: string[]; cached: boolean } | { ok: false; code: string };

/**
 * A small TTL cache of DNS answers (positive and negative), with in-flight de-duplication: concurrent callers
 * asking the same question share one query. Keys are `TYPE name`. Errors are never stored.
 */
export class DnsCache {
  private readonly entries = new Map<string, { values: string[]; expires: number }>();
  private readonly inflight = new Map<string, { p: Promise<string[]>; started: number }>();
  private readonly now: () => number;
  private readonly max: number;

  constructor(opts: { now?: () => number; maxEntries?: number } = {}) {
    this.now = opts.now ?? Date.now;
    this.max = opts.maxEntries ?? MAX_CACHE;
  }

  get size(): number { return this.entries.size; }
  clear(): void { this.entries.clear(); this.inflight.clear(); }

  /**
   * Answers `key` from the cache or by running `query` (whose not-found errors become an empty answer),
   * waiting at most `timeoutMs` and never past `signal`.
   */
  async lookup(key: string, query: () => Promise<string[]>, opts: { signal: AbortSignal; timeoutMs: number; ttlMs: number; negativeTtlMs: number }): Promise<LookupResult> {
    const now = this.now();
    const hit = this.entries.get(key);
    if (hit) {
      if (hit.expires > now) return { ok: true, values: hit.values, cached: true };
      this.entries.delete(key);
    }
    if (opts.signal.aborted) return { ok: false, code: 'EABORTED' };
    let fl = this.inflight.get(key);
    if (!fl || now - fl.started > INFLIGHT_STALE_MS) {
      const p = (async () => {
        try {
          const v = await query();
          return Array.isArray(v) ? v.slice(0, MAX_ANSWERS) : [];
        } catch (err) {
          if (isNotFound(err)) return [];
          throw err;
        }
      })();
      const entry = { p, started: now };
      fl = entry;
      this.inflight.set(key, entry);
      p.then((values) => {
        if (this.inflight.get(key) === entry) this.inflight.delete(key);
        const ttl = values.length ? opts.ttlMs : opts.negativeTtlMs;
        if (ttl > 0) this.store(key, values, this.now() + ttl);
      }, () => { if (this.inflight.get(key) === entry) this.inflight.delete(key); });
    }
    try {
      const values = await withDeadline(fl.p, opts.signal, opts.timeoutMs);
      return { ok: true, values, cached: false };
    } catch (err) {
      return { ok: false, code: String((err as { code?: unknown })?.code ?? 'ERROR').slice(0, 40) };
    }
  }

  private store(key: string, values: string[], expires: number): void {
    this.entries.delete(key);
    this.entries.set(key, { values, expires });
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }
}

const caches = new WeakMap<Resolver, DnsCache>();

/** The cache shared by every lookup made through `resolver` in this thread. */
export function cacheFor(resolver: Resolver): DnsCache {
  let c = caches.get(resolver);
  if (!c) { c = new DnsCache(); caches.set(resolver, c); }
  return c;
}

function withDeadline<T>(p: Promise<T>, signal: AbortSignal, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const fail = (code: string) => Object.assign(new Error(code), { code });
    const onAbort = () => finish(() => reject(fail('EABORTED')));
    const timer = setTimeout(() => finish(() => reject(fail('ETIMEOUT'))), ms);
    let done = false;
    function finish(f: () => void) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      f();
    }
    if (signal.aborted) { onAbort(); return; }
    signal.addEventListener('abort', onAbort, { once: true });
    p.then((v) => finish(() => resolve(v)), (e) => finish(() => reject(e)));
  });
}

/** Runs `jobs` with at most `limit` in flight; stops starting new ones once `signal` fires. */
export async function runBounded<T>(jobs: readonly (() => Promise<T>)[], limit: number, signal: AbortSignal): Promise<(T | undefined)[]> {
  const out: (T | undefined)[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length && !signal.aborted) {
      const i = next++;
      out[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), jobs.length) }, worker));
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Answers

/** Spamhaus's (and others') "not an answer" codes in 127.255.255.0/24. */
const REFUSED_MEANINGS: Record<string, string> = {
  '127.255.255.252': 'typing error in the list name',
  '127.255.255.254': 'query through a public/open resolver refused',
  '127.255.255.255': 'excessive number of queries',
};

interface Hit { id: string; weight: number; description: string; code: string }

function slug(s: string): string {
  return s.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 60);
}

function zoneId(z: DnsblZone): string {
  return `${z.type === 'ip' ? 'DNSBL' : 'URIBL'}_${z.id ?? slug(z.zone)}`;
}

/** Reads one list's A records: hits, and error details for answers that are not listings. */
export function interpretAnswers(z: DnsblZone, answers: readonly string[]): { hits: Hit[]; errors: string[] } {
  const hits: Hit[] = [];
  const errors: string[] = [];
  const base = zoneId(z);
  const zoneDesc = z.description ?? `Listed on ${z.zone}`;
  const seen = new Set<string>();
  for (const raw of answers.slice(0, MAX_ANSWERS)) {
    const a = typeof raw === 'string' ? parseIp(raw) : null;
    if (!a || a.kind() !== 'ipv4') { errors.push(`${z.zone}: malformed answer ignored`); continue; }
    const code = a.toString();
    if (seen.has(code)) continue;
    seen.add(code);
    if (!code.startsWith('127.')) { errors.push(`${z.zone}: answer ${code} outside 127.0.0.0/8 ignored (resolver rewriting NXDOMAIN?)`); continue; }
    const custom = z.errorCodes?.[code];
    if (custom !== undefined) { errors.push(`${z.zone}: list error ${code}${custom ? ` (${custom})` : ''}`); continue; }
    if (code.startsWith('127.255.255.')) { errors.push(`${z.zone}: query refused ${code} (${REFUSED_MEANINGS[code] ?? 'list error code'})`); continue; }
    if (code === '127.0.0.1' && !z.codes?.[code]) { errors.push(`${z.zone}: answered 127.0.0.1 (query blocked or test code), ignored`); continue; }
    if (z.bitmask) {
      const octets = code.split('.');
      const last = Number(octets[3]);
      const prefix = octets.slice(0, 3).join('.');
      let undescribed = 0;
      for (let bit = 1; bit <= 128; bit <<= 1) {
        if (!(last & bit)) continue;
        const c = z.codes?.[`${prefix}.${bit}`];
        if (c) hits.push({ id: `${base}_${c.id ?? String(bit)}`, weight: c.weight ?? z.weight, description: c.description, code });
        else if (bit !== 1) undescribed |= bit;
      }
      if (undescribed) hits.push({ id: z.codes ? `${base}_${undescribed}` : base, weight: z.weight, description: zoneDesc, code });
      continue;
    }
    const c = z.codes?.[code];
    if (c) hits.push({ id: `${base}_${c.id ?? slug(code)}`, weight: c.weight ?? z.weight, description: c.description, code });
    else hits.push({ id: z.codes ? `${base}_${slug(code)}` : base, weight: z.weight, description: zoneDesc, code });
  }
  return { hits, errors };
}

// ---------------------------------------------------------------------------------------------------------------
// URI subjects

/** What the URI lists need of an extracted URL (`ExtractedUrl` from src/scan/urls.ts fits). */
export interface UrlLike { host: string; domain?: string | null; count?: number }

const LDH_NAME = /^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9-]{1,63}$/;

/**
 * The registrable domains and public IPv4 literals of `urls`, most frequent first (ties: first seen), minus the
 * allowlist, at most `max`.
 */
export function uriSubjects(urls: readonly UrlLike[], allowlist: ReadonlySet<string>, max: number): { kind: 'domain' | 'ip'; value: string }[] {
  const tally = new Map<string, { kind: 'domain' | 'ip'; value: string; n: number; first: number }>();
  const limit = Math.min(urls.length, 5_000);
  for (let i = 0; i < limit; i++) {
    const u = urls[i];
    if (!u || typeof u.host !== 'string') continue;
    const host = u.host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
    if (!host || host.length > 253) continue;
    const count = Number.isFinite(u.count) && (u.count as number) > 0 ? Math.min(u.count as number, 1e6) : 1;
    let kind: 'domain' | 'ip';
    let value: string;
    const ip = /^[0-9.]+$/.test(host) || host.includes(':') ? parseIp(host) : null;
    if (ip) {
      if (ip.kind() !== 'ipv4' || !isPublicIp(ip)) continue;
      kind = 'ip';
      value = ip.toString();
    } else {
      const d = (u.domain ?? getDomain(host) ?? '').toLowerCase();
      if (!d || !LDH_NAME.test(d)) continue;
      if (allowlist.has(d) || allowlist.has(host)) continue;
      kind = 'domain';
      value = d;
    }
    const t = tally.get(value);
    if (t) t.n += count; else tally.set(value, { kind, value, n: count, first: i });
  }
  return [...tally.values()].sort((a, b) => b.n - a.n || a.first - b.first).slice(0, Math.max(0, max)).map(({ kind, value }) => ({ kind, value }));
}

const allowSets = new WeakMap<readonly string[], Set<string>>();
function allowSet(list: readonly string[]): Set<string> {
  let s = allowSets.get(list);
  if (!s) { s = new Set(list.map((d) => d.toLowerCase())); allowSets.set(list, s); }
  return s;
}

// ---------------------------------------------------------------------------------------------------------------
// The signal source

export interface DnsblInput {
  /** The SMTP client's address (model.envelope.clientIp). */
  clientIp: string;
  /** Values of the Received headers, newest first (model.headers in order). */
  receivedHeaders: readonly string[];
  /** URLs of the body (extractUrls of src/scan/urls.ts). */
  urls: readonly UrlLike[];
  /**
   * True when the client authenticated (SMTP AUTH): the IP lists are skipped (a user sending from a home
   * connection is on every policy list), the URI lists still run.
   */
  authenticated?: boolean;
}

export interface DnsblResult {
  signals: Signal[];
  /** Lookups that could not be answered or answers that are not listings; never contribute weight. */
  errors: string[];
  /** Lookups sent to DNS (cache misses). */
  queried: number;
  /** Lookups answered from the cache. */
  cached: number;
  /** The IP that IP lists were asked about, if any. */
  ip: string | null;
}

const MAX_ERRORS = 20;
const MAX_DETAIL = 300;

/** Asks every configured list about this message, in parallel and bounded; never throws for message content. */
export async function dnsblSignals(input: DnsblInput, config: DnsblConfigInput, resolver: Resolver, signal: AbortSignal, opts: { cache?: DnsCache } = {}): Promise<DnsblResult> {
  const cfg = dnsblConfig(config);
  const result: DnsblResult = { signals: [], errors: [], queried: 0, cached: 0, ip: null };
  if (!cfg.zones.length) return result;
  const cache = opts.cache ?? cacheFor(resolver);

  const ipZones = cfg.zones.filter((z) => z.type === 'ip');
  const uriZones = cfg.zones.filter((z) => z.type === 'uri');
  interface Job { zone: DnsblZone; subject: string; name: string }
  const jobs: Job[] = [];

  if (ipZones.length && input.authenticated !== true) {
    const ip = dnsblSubjectIp(String(input.clientIp ?? ''), Array.isArray(input.receivedHeaders) ? input.receivedHeaders : [], cfg.trustedRelays);
    result.ip = ip;
    const rev = ip ? reverseIp(ip) : null;
    if (ip && rev) {
      const v6 = ip.includes(':');
      for (const z of ipZones) if (!v6 || z.ipv6) jobs.push({ zone: z, subject: ip, name: `${rev}.${z.zone}` });
    }
  }
  if (uriZones.length && cfg.maxUriDomains > 0) {
    const subjects = uriSubjects(Array.isArray(input.urls) ? input.urls : [], allowSet(cfg.uriAllowlist), cfg.maxUriDomains);
    for (const s of subjects) {
      const prefix = s.kind === 'ip' ? reverseIp(s.value) : s.value;
      if (!prefix) continue;
      for (const z of uriZones) {
        if (s.kind === 'ip' && !z.ips) continue;
        const name = `${prefix}.${z.zone}`;
        if (name.length <= 253) jobs.push({ zone: z, subject: s.value, name });
      }
    }
  }

  const lookupOpts = { signal, timeoutMs: cfg.timeoutMs, ttlMs: cfg.cacheTtlSeconds * 1000, negativeTtlMs: cfg.negativeCacheTtlSeconds * 1000 };
  const outcomes = await runBounded(jobs.map((job) => () => cache.lookup(`A ${job.name}`, () => resolver.resolve4(job.name), lookupOpts)), cfg.concurrency, signal);

  // Read the outcomes in job order (subjects by rank), so details and errors do not depend on timing.
  const errors = new Set<string>();
  const addError = (e: string) => { if (errors.size < MAX_ERRORS) errors.add(e); };
  const bySignal = new Map<string, { hit: Hit; subjects: string[]; more: number }>();
  let aborted = false;
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i];
    const r = outcomes[i];
    if (!r || (!r.ok && r.code === 'EABORTED')) { aborted = true; continue; }
    if (r.ok && r.cached) result.cached++; else result.queried++;
    if (!r.ok) { addError(`${job.zone.zone}: ${r.code === 'ETIMEOUT' ? 'timeout' : r.code} for ${job.subject}`); continue; }
    if (!r.values.length) continue;
    const { hits, errors: errs } = interpretAnswers(job.zone, r.values);
    for (const e of errs) addError(`${e} for ${job.subject}`);
    for (const h of hits) {
      const s = bySignal.get(h.id);
      const label = `${job.subject} ${h.code}`;
      if (!s) bySignal.set(h.id, { hit: h, subjects: [label], more: 0 });
      else if (s.subjects.length < 5) s.subjects.push(label);
      else s.more++;
    }
  }
  if (aborted) addError('dnsbl: aborted before all lookups finished');

  for (const [id, { hit, subjects, more }] of bySignal) {
    const detail = (subjects.join(', ') + (more ? `, +${more} more` : '')).slice(0, MAX_DETAIL);
    result.signals.push({ id, weight: hit.weight, description: hit.description, detail });
  }
  result.signals.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  result.errors = [...errors];
  return result;
}
