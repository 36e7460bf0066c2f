/**
 * DNS URI blocklists for the `links` module (SPEC §3.2): the registrable domains and public IPv4 literals of a
 * message's URLs asked of URIBL/SURBL-style lists, each answer mapped to a link category. Everything DNS is the
 * anti-spam module's machinery, imported from src/scan/antispam/dnsbl.ts: the zone fields and their validation,
 * `uriSubjects` (which domains, how many, the allowlist), query names (`reverseIp`), the answer cache with
 * in-flight sharing (`cacheFor`), bounded concurrency (`runBounded`) and the reading of answers
 * (`interpretAnswers`: refused codes, 127.0.0.1, answers outside 127/8 are errors, never listings).
 *
 * What differs from anti-spam: a listing here has a category, not a weight. A zone maps its return codes (or,
 * for bitmask lists, its bits) to `malicious` / `phishing` / `adware` / `riskware`; `category` covers any other
 * listing; answers with no category (e.g. the spam bits of a combined list) are ignored here, since spam domains
 * are anti-spam's business. A lookup counts as answered when DNS said "not listed" or gave at least one real
 * listing; timeouts, SERVFAIL, and answers that are only error codes are failures. A zone none of whose lookups
 * for the message was answered is reported as unreachable (the scanner turns that into `error`).
 *
 * Hostile input: URLs of the message (bounded by uriSubjects: at most maxUriDomains subjects) and DNS answers
 * (interpretAnswers reads at most 16). Every lookup is bounded by the list's timeout and the caller's signal.
 */
import { z } from 'zod';
import type { Resolver } from '../../platform/resolver.ts';
import {
  cacheFor, DEFAULT_URI_ALLOWLIST, dnsblConfigSchema, dnsblZoneSchema, interpretAnswers, reverseIp, runBounded, uriSubjects,
  type DnsCache, type DnsblZone, type UrlLike,
} from '../antispam/dnsbl.ts';
import { LINK_CATEGORIES, type LinkCategory } from './urldb.ts';

const category = z.enum(LINK_CATEGORIES);
/** A 127.x.y.z return code, validated exactly as the anti-spam zones do. */
const returnCode = dnsblZoneSchema.shape.codes.unwrap().keyType;

export const linksZoneSchema = z.object({
  /** The list's DNS zone, e.g. `multi.surbl.org`. */
  zone: dnsblZoneSchema.shape.zone,
  /** Category of a listing whose answer (or bit) has no entry in `codes`; absent: such listings are ignored. */
  category: category.optional(),
  /** Category per return code (`127.0.1.5`), or per bit for bitmask lists (`127.0.0.16`). */
  codes: z.record(returnCode, z.union([category, z.object({ category, description: z.string().trim().min(1).max(200).optional() }).strict()])).optional(),
  /** The last octet of the answer is a set of bits (multi.surbl.org). */
  bitmask: dnsblZoneSchema.shape.bitmask,
  /** More answers that mean "query refused / error" for this list (127.255.255.x always does). */
  errorCodes: dnsblZoneSchema.shape.errorCodes,
  /** Also ask about IPv4 literals found in URLs (reversed octets). Turn off for domain-only lists. */
  ips: dnsblZoneSchema.shape.ips,
  /** One line for administrators (default "Listed on <zone>"). */
  description: dnsblZoneSchema.shape.description,
}).strict().refine((z) => z.category !== undefined || (z.codes !== undefined && Object.keys(z.codes).length > 0), 'a zone needs a category or codes');

/** The URI-list settings of the links module; the shared fields are anti-spam's, with the same defaults. */
export const linksBlocklistsSchema = z.object({
  zones: z.array(linksZoneSchema).max(64).default([]),
  uriAllowlist: dnsblConfigSchema.shape.uriAllowlist,
  maxUriDomains: dnsblConfigSchema.shape.maxUriDomains,
  concurrency: dnsblConfigSchema.shape.concurrency,
  timeoutMs: dnsblConfigSchema.shape.timeoutMs,
  cacheTtlSeconds: dnsblConfigSchema.shape.cacheTtlSeconds,
  negativeCacheTtlSeconds: dnsblConfigSchema.shape.negativeCacheTtlSeconds,
}).strict();

export type LinksZone = z.output<typeof linksZoneSchema>;
export type LinksBlocklists = z.output<typeof linksBlocklistsSchema>;

export { DEFAULT_URI_ALLOWLIST };

/** One listing: which subject, on which list, what it means. */
export interface UriListHit {
  zone: string;
  /** The registrable domain or IPv4 address asked about. */
  subject: string;
  kind: 'domain' | 'ip';
  /** The category the zone gives this answer; null when it gives none (ignored for the status). */
  category: LinkCategory | null;
  /** The A record answered. */
  code: string;
  description: string;
}

export interface UriListResult {
  hits: UriListHit[];
  /** Failed lookups and answers that are not listings (at most MAX_ERRORS). */
  errors: string[];
  /** Lookups sent to DNS / answered from the cache. */
  queried: number;
  cached: number;
  /** Zones asked at least once for this message and never answered. */
  unreachable: string[];
  /** The caller's signal fired before every lookup finished. */
  aborted: boolean;
}

const MAX_ERRORS = 20;
const ZONE_ID = 'L';
const ID_PREFIX = `URIBL_${ZONE_ID}`;

const converted = new WeakMap<LinksZone, DnsblZone>();

/** The anti-spam form of a zone, for interpretAnswers: each code's `id` is its category in capitals. */
function asDnsblZone(z: LinksZone): DnsblZone {
  let d = converted.get(z);
  if (!d) {
    const codes: NonNullable<DnsblZone['codes']> = {};
    for (const [code, v] of Object.entries(z.codes ?? {})) {
      const cat = typeof v === 'string' ? v : v.category;
      const description = (typeof v === 'string' ? undefined : v.description) ?? `${cat} (${z.zone} ${code})`;
      codes[code] = { description, id: cat.toUpperCase() };
    }
    d = {
      zone: z.zone, type: 'uri', weight: 0, id: ZONE_ID, description: z.description, codes: Object.keys(codes).length ? codes : undefined,
      bitmask: z.bitmask, errorCodes: z.errorCodes, ipv6: true, ips: z.ips,
    };
    converted.set(z, d);
  }
  return d;
}

/** The category of an interpretAnswers hit (its id carries the code's category), else the zone's default. */
function categoryOf(z: LinksZone, id: string): LinkCategory | null {
  const suffix = id.startsWith(`${ID_PREFIX}_`) ? id.slice(ID_PREFIX.length + 1).toLowerCase() : '';
  if ((LINK_CATEGORIES as readonly string[]).includes(suffix)) return suffix as LinkCategory;
  return z.category ?? null;
}

const allowSets = new WeakMap<readonly string[], Set<string>>();
function allowSet(list: readonly string[]): Set<string> {
  let s = allowSets.get(list);
  if (!s) { s = new Set(list.map((d) => d.toLowerCase())); allowSets.set(list, s); }
  return s;
}

/** Asks every configured URI list about the URLs' domains and IPs, in parallel and bounded. Never throws. */
export async function uriListLookups(urls: readonly UrlLike[], cfg: LinksBlocklists, resolver: Resolver, signal: AbortSignal, opts: { cache?: DnsCache } = {}): Promise<UriListResult> {
  const result: UriListResult = { hits: [], errors: [], queried: 0, cached: 0, unreachable: [], aborted: false };
  if (!cfg.zones.length || cfg.maxUriDomains <= 0) return result;
  const cache = opts.cache ?? cacheFor(resolver);
  interface Job { zone: LinksZone; subject: string; kind: 'domain' | 'ip'; name: string }
  const jobs: Job[] = [];
  for (const s of uriSubjects(urls, allowSet(cfg.uriAllowlist), cfg.maxUriDomains)) {
    const prefix = s.kind === 'ip' ? reverseIp(s.value) : s.value;
    if (!prefix) continue;
    for (const z of cfg.zones) {
      if (s.kind === 'ip' && !z.ips) continue;
      const name = `${prefix}.${z.zone}`;
      if (name.length <= 253) jobs.push({ zone: z, subject: s.value, kind: s.kind, name });
    }
  }
  if (!jobs.length) return result;

  const lookupOpts = { signal, timeoutMs: cfg.timeoutMs, ttlMs: cfg.cacheTtlSeconds * 1000, negativeTtlMs: cfg.negativeCacheTtlSeconds * 1000 };
  const outcomes = await runBounded(jobs.map((j) => () => cache.lookup(`A ${j.name}`, () => resolver.resolve4(j.name), lookupOpts)), cfg.concurrency, signal);

  // Read in job order (subjects by rank), so details do not depend on timing.
  const errors = new Set<string>();
  const addError = (e: string) => { if (errors.size < MAX_ERRORS) errors.add(e); };
  const asked = new Map<string, { asked: number; answered: number }>();
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i];
    const r = outcomes[i];
    if (!r || (!r.ok && r.code === 'EABORTED')) { result.aborted = true; continue; }
    const tally = asked.get(job.zone.zone) ?? { asked: 0, answered: 0 };
    asked.set(job.zone.zone, tally);
    tally.asked++;
    if (r.ok && r.cached) result.cached++; else result.queried++;
    if (!r.ok) { addError(`${job.zone.zone}: ${r.code === 'ETIMEOUT' ? 'timeout' : r.code} for ${job.subject}`); continue; }
    if (!r.values.length) { tally.answered++; continue; }
    const { hits, errors: errs } = interpretAnswers(asDnsblZone(job.zone), r.values);
    for (const e of errs) addError(`${e} for ${job.subject}`);
    if (hits.length || !errs.length) tally.answered++;
    for (const h of hits) {
      result.hits.push({ zone: job.zone.zone, subject: job.subject, kind: job.kind, category: categoryOf(job.zone, h.id), code: h.code, description: h.description });
    }
  }
  if (result.aborted) addError('uri lists: interrupted before all lookups finished');
  for (const [zone, t] of asked) if (t.asked > 0 && t.answered === 0) result.unreachable.push(zone);
  result.errors = [...errors];
  return result;
}
