/**
 * PTR/HELO sanity (SPEC §3.3): small signals about how the sending host presents itself.
 *
 * - PTR_MISSING       the client IP has no reverse DNS (PTR) name;
 * - PTR_GENERIC       its PTR name looks like an ISP's dynamic/residential pool (embeds the IP's octets, or
 *                     words like dsl, dyn, pool, cable, dhcp, ppp in the host part left of the registrable domain);
 * - PTR_FCRDNS_FAIL   none of its PTR names resolves back to the IP (forward-confirmed reverse DNS, RFC 8601 §2.7.3
 *                     "iprev", RFC 1912 §2.1);
 * - HELO_IP_MISMATCH  the HELO is an IP (bare or an RFC 5321 §4.1.3 address literal) other than the client's;
 * - HELO_BARE_IP      the HELO is a bare IP without the brackets RFC 5321 requires for address literals;
 * - HELO_NOT_FQDN     the HELO is neither an address literal nor a name under a public suffix (RFC 5321 §4.1.1.1);
 * - HELO_LOCALHOST    the HELO is `localhost` (or localhost.localdomain);
 * - HELO_CLAIMS_LOCAL the HELO claims one of our own host names or a domain we receive mail for.
 * Nothing is checked for local client IPs (loopback, private, link-local…, see isPublicIp), trusted relays, or
 * authenticated clients.
 *
 * Hostile input: the HELO string and every PTR/A/AAAA answer. Names are validated (length, characters) before
 * use; at most MAX_PTR names are checked; token scans are linear. DNS failures (timeouts, SERVFAIL) never make
 * a signal: they are returned in `errors`. Lookups share the DNS blocklists' per-resolver cache.
 */
import { parse as parseDomain } from 'tldts';
import type { Resolver } from '../../platform/resolver.ts';
import { cacheFor, isPublicIp, isTrustedRelay, parseIp, type DnsCache } from './dnsbl.ts';
import type { Signal } from './types.ts';

export const PTR_SIGNALS = {
  PTR_MISSING: { weight: 5, description: 'The client IP has no reverse DNS (PTR) name' },
  PTR_GENERIC: { weight: 3, description: 'The client\'s PTR name looks like a dynamic or residential address' },
  PTR_FCRDNS_FAIL: { weight: 4, description: 'The client\'s PTR name does not resolve back to its IP (FCrDNS failed)' },
  HELO_IP_MISMATCH: { weight: 5, description: 'HELO/EHLO gives an IP address that is not the client\'s' },
  HELO_BARE_IP: { weight: 2, description: 'HELO/EHLO gives a bare IP address instead of a name or [address literal]' },
  HELO_NOT_FQDN: { weight: 3, description: 'HELO/EHLO name is not a fully-qualified domain name' },
  HELO_LOCALHOST: { weight: 5, description: 'HELO/EHLO claims to be localhost' },
  HELO_CLAIMS_LOCAL: { weight: 8, description: 'HELO/EHLO claims one of our own host names or domains' },
} as const;

export type PtrSignalId = keyof typeof PTR_SIGNALS;

export interface PtrConfig {
  /** Our own host names (e.g. the MTA hostname and MX names), compared case-insensitively. */
  localNames?: readonly string[];
  /** Domains we receive mail for; a HELO equal to one or below one claims to be us. */
  localDomains?: readonly string[];
  /** Relays in front of Moat (as the DNS blocklists' `trustedRelays`): a trusted client is not checked. */
  trustedRelays?: readonly string[];
  /** Weight overrides; 0 disables a check's signal. */
  weights?: Partial<Record<PtrSignalId, number>>;
  /** Bound of each lookup, milliseconds (default 5000). */
  timeoutMs?: number;
  /** Cache TTL for answers, seconds (default 300, both positive and negative). */
  cacheTtlSeconds?: number;
}

export interface PtrInput {
  clientIp: string;
  helo: string;
  /** True when the client authenticated (SMTP AUTH); all checks are skipped. */
  authenticated: boolean;
}

export interface PtrResult {
  signals: Signal[];
  errors: string[];
  /** The PTR names found (validated, at most MAX_PTR), for explanations. */
  ptr: string[];
}

const MAX_PTR = 3;
const NAME_RE = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?$/;

/** Words of dynamic/residential PTR naming, matched as whole letter runs of the host part. */
const GENERIC_WORDS = new Set([
  'dsl', 'adsl', 'xdsl', 'vdsl', 'sdsl', 'dyn', 'dynamic', 'dynip', 'dynamicip', 'dip', 'pool', 'pools', 'cable',
  'dhcp', 'ppp', 'pppoe', 'dial', 'dialup', 'dialin', 'broadband', 'resi', 'residential', 'cust', 'customer', 'cpe',
  'ftth', 'hsd', 'catv', 'modem', 'unknown', 'unassigned', 'noreverse',
]);

function normName(s: unknown): string | null {
  if (typeof s !== 'string') return null;
  const n = s.trim().toLowerCase().replace(/\.$/, '');
  return NAME_RE.test(n) && !n.includes('..') ? n : null;
}

/**
 * True when a PTR name looks generic: the part left of the registrable domain embeds the IPv4 octets (in either
 * order, any separators, or as 8 hex digits), or contains a dynamic-pool word as a token.
 */
export function isGenericPtr(name: string, ip: string): boolean {
  const n = normName(name);
  if (!n) return false;
  const p = parseDomain(n);
  const hostPart = p.domain && n.endsWith(p.domain) ? n.slice(0, n.length - p.domain.length) : n;
  if (!hostPart) return false;
  const addr = parseIp(ip);
  if (addr && addr.kind() === 'ipv4') {
    const o = addr.toByteArray();
    const nums = hostPart.split(/[^0-9]+/).filter(Boolean).map((x) => (x.length <= 3 ? Number(x) : -1));
    const has = (seq: number[]) => {
      for (let i = 0; i + seq.length <= nums.length; i++) {
        let ok = true;
        for (let k = 0; k < seq.length && ok; k++) ok = nums[i + k] === seq[k];
        if (ok) return true;
      }
      return false;
    };
    if (has(o) || has([...o].reverse())) return true;
    const hex = o.map((b) => b.toString(16).padStart(2, '0')).join('');
    if (hostPart.includes(hex)) return true;
  }
  // Tokens: letter runs (so `dsl-123`, `dynamic123`, `pool_a` all yield their word).
  for (const tok of hostPart.split(/[^a-z]+/)) if (tok && GENERIC_WORDS.has(tok)) return true;
  return false;
}

/** True for a syntactically fine name under a known public suffix (ICANN section), e.g. `mail.example.com`. */
export function isFqdn(name: string): boolean {
  const n = normName(name);
  if (!n || !n.includes('.')) return false;
  const p = parseDomain(n);
  return p.isIcann === true && !!p.domain && !p.isIp;
}

function sameIp(a: string, b: string): boolean {
  const x = parseIp(a);
  const y = parseIp(b);
  return !!x && !!y && x.kind() === y.kind() && x.toString() === y.toString();
}

/** The HELO checks (no DNS). */
export function heloSignals(helo: string, clientIp: string, cfg: PtrConfig = {}): PtrSignalId[] {
  const out: PtrSignalId[] = [];
  const h = String(helo ?? '').trim().toLowerCase().replace(/\.$/, '');
  if (!h) return ['HELO_NOT_FQDN'];
  const literal = h.startsWith('[') && h.endsWith(']');
  const ip = parseIp(literal ? h : h.replace(/^\[|\]$/g, ''));
  if (literal && !ip) return ['HELO_NOT_FQDN'];
  if (ip) {
    if (!literal) out.push('HELO_BARE_IP');
    if (!sameIp(ip.toString(), clientIp)) out.push('HELO_IP_MISMATCH');
    return out;
  }
  if (h === 'localhost' || h === 'localhost.localdomain' || h.startsWith('localhost.')) { out.push('HELO_LOCALHOST'); return out; }
  const names = (cfg.localNames ?? []).map((s) => String(s).toLowerCase().replace(/\.$/, ''));
  const domains = (cfg.localDomains ?? []).map((s) => String(s).toLowerCase().replace(/\.$/, ''));
  if (names.includes(h) || domains.some((d) => d && (h === d || h.endsWith(`.${d}`)))) out.push('HELO_CLAIMS_LOCAL');
  if (!isFqdn(h)) out.push('HELO_NOT_FQDN');
  return out;
}

function errText(code: string): string {
  return code === 'ETIMEOUT' ? 'timeout' : code === 'EABORTED' ? 'aborted' : code;
}

/** Runs the PTR and HELO checks for one message. Never throws for the message's or DNS's content. */
export async function ptrSignals(input: PtrInput, cfg: PtrConfig, resolver: Resolver, signal: AbortSignal, opts: { cache?: DnsCache } = {}): Promise<PtrResult> {
  const result: PtrResult = { signals: [], errors: [], ptr: [] };
  const addr = parseIp(String(input.clientIp ?? ''));
  if (input.authenticated || !addr || !isPublicIp(addr) || isTrustedRelay(addr, cfg.trustedRelays ?? [])) return result;
  const ip = addr.toString();
  const cache = opts.cache ?? cacheFor(resolver);
  const ttlMs = Math.max(0, cfg.cacheTtlSeconds ?? 300) * 1000;
  const lookupOpts = { signal, timeoutMs: Math.max(1, cfg.timeoutMs ?? 5_000), ttlMs, negativeTtlMs: ttlMs };
  const fired = new Map<PtrSignalId, string>();

  const heloShown = String(input.helo ?? '').slice(0, 100).replace(/[^\x20-\x7e]/g, '?');
  for (const id of heloSignals(input.helo, ip, cfg)) fired.set(id, heloShown);

  const rev = await cache.lookup(`PTR ${ip}`, () => resolver.reverse(ip), lookupOpts);
  if (!rev.ok) {
    result.errors.push(`ptr: ${errText(rev.code)} for ${ip}`);
  } else {
    const names = [...new Set(rev.values.map(normName).filter((n): n is string => n !== null))].slice(0, MAX_PTR);
    result.ptr = names;
    if (!names.length) {
      fired.set('PTR_MISSING', rev.values.length ? `${ip} (unusable PTR)` : ip);
    } else {
      const generic = names.find((n) => isGenericPtr(n, ip));
      if (generic) fired.set('PTR_GENERIC', generic);
      const v6 = addr.kind() === 'ipv6';
      const forward = await Promise.all(names.map((n) => cache.lookup(`${v6 ? 'AAAA' : 'A'} ${n}`, () => (v6 ? resolver.resolve6(n) : resolver.resolve4(n)), lookupOpts)));
      let confirmed = false;
      let failed = false;
      for (let i = 0; i < names.length; i++) {
        const f = forward[i];
        if (!f.ok) { failed = true; result.errors.push(`fcrdns: ${errText(f.code)} for ${names[i]}`); continue; }
        if (f.values.some((v) => sameIp(String(v), ip))) confirmed = true;
      }
      if (!confirmed && !failed) fired.set('PTR_FCRDNS_FAIL', `${ip} → ${names.join(', ')}`.slice(0, 200));
    }
  }

  for (const [id, detail] of fired) {
    const weight = cfg.weights?.[id] ?? PTR_SIGNALS[id].weight;
    if (!Number.isFinite(weight) || weight === 0) continue;
    result.signals.push({ id, weight, description: PTR_SIGNALS[id].description, detail });
  }
  return result;
}
