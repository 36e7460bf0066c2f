/**
 * Sender reputation learned across the cluster (SPEC §3.3): the verdicts the cluster has reached for earlier
 * messages from the same client IP, its network (IPv4 /24, IPv6 /64) and the sender's registrable domain become
 * rating points. Pure functions: the store keeps the counts (one spam/ham pair per key, every verdict counted
 * under all the message's keys), the scanner adds the signals.
 *
 *   reputationKeys(clientIp, sender)  the store keys: `ip:<address>`, `net:<prefix>/<len>`, `dom:<domain>`
 *                                     (prefixed, so the three kinds can share one keyspace). No key for
 *                                     loopback, private, link-local, CGNAT, unique-local, multicast or
 *                                     unspecified addresses, for the null sender, or for senders whose domain
 *                                     is an address literal or has no registrable domain. IPv4-mapped IPv6
 *                                     addresses count as IPv4. Domains are ASCII (IDNA) and lowercase; the
 *                                     registrable domain follows the public suffix list including its private
 *                                     section, so tenants of shared hosting (x.github.io) keep separate names.
 *   reputationSignals(stats)          the signals for the counts found for those keys.
 *
 * Estimate: spam share p = (spam + 1) / (n + 2) (Beta(1, 1) prior, n = spam + ham), only with n ≥ MIN_MESSAGES.
 * Leaning s = (|p − ½| − ⅒) / ⅖ clipped to [0, 1], so shares between 40 % and 60 % say nothing and a pure record
 * says everything; confidence c = n / (n + CONFIDENCE_HALF), so 10 messages count for a third, 100 for 83 %.
 * Weight = c × s × (the source's maximum): bad up to +30 (IP), +15 (network), +20 (domain); good down to −10
 * (IP), −5 (network), −5 (domain: the envelope sender is not authenticated, and a forged good domain must not buy
 * much). The network's counts include the IP's own (every message is counted under both keys), so the IP's are
 * subtracted: the network signal is about the neighbours. All reputation signals together stay within
 * [−10, +30] (scaled down proportionally when they add up to more).
 *
 * Hostile input: counts come from the store (finite, non-negative expected; anything else counts as 0); the IP and
 * the sender come from the SMTP session. Nothing here throws.
 */
import { domainToASCII } from 'node:url';
import ipaddr from 'ipaddr.js';
import { getDomain } from 'tldts';
import type { Signal } from './types.ts';

export interface Counts { spam: number; ham: number }
export interface ReputationStats { ip?: Counts; network?: Counts; domain?: Counts }
export interface ReputationKeys { ip?: string; network?: string; domain?: string }

/** Fewer verdicts than this say nothing. */
export const MIN_MESSAGES = 10;
/** Messages at which the confidence reaches one half. */
export const CONFIDENCE_HALF = 20;
/** Bounds of the reputation signals together. */
export const MAX_BAD = 30;
export const MAX_GOOD = -10;
/** Spam shares within this distance of one half say nothing. */
const DEAD_ZONE = 0.1;

interface Source { key: keyof ReputationStats; id: string; what: string; bad: number; good: number }
const SOURCES: readonly Source[] = [
  { key: 'ip', id: 'IP', what: 'the client IP', bad: 30, good: -10 },
  { key: 'network', id: 'NETWORK', what: 'other hosts of the client network', bad: 15, good: -5 },
  { key: 'domain', id: 'DOMAIN', what: 'the sender domain', bad: 20, good: -5 },
];

function count(x: unknown): number {
  return typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : 0;
}

function counts(c: Counts | undefined): { spam: number; ham: number } {
  return c && typeof c === 'object' ? { spam: count(c.spam), ham: count(c.ham) } : { spam: 0, ham: 0 };
}

/** Rating points for the reputation counts (none without enough evidence). Never throws. */
export function reputationSignals(stats: ReputationStats): Signal[] {
  if (!stats || typeof stats !== 'object') return [];
  const ip = counts(stats.ip);
  const all: Record<keyof ReputationStats, { spam: number; ham: number }> = {
    ip,
    network: (() => {
      const net = counts(stats.network);
      return { spam: Math.max(0, net.spam - ip.spam), ham: Math.max(0, net.ham - ip.ham) };
    })(),
    domain: counts(stats.domain),
  };
  const out: Signal[] = [];
  for (const s of SOURCES) {
    const { spam, ham } = all[s.key];
    const n = spam + ham;
    if (n < MIN_MESSAGES) continue;
    const p = (spam + 1) / (n + 2);
    const lean = Math.min(1, Math.max(0, (Math.abs(p - 0.5) - DEAD_ZONE) / (0.5 - DEAD_ZONE)));
    if (lean === 0) continue;
    const confidence = n / (n + CONFIDENCE_HALF);
    const bad = p > 0.5;
    const weight = (bad ? s.bad : s.good) * lean * confidence;
    out.push({
      id: `REPUTATION_${s.id}_${bad ? 'BAD' : 'GOOD'}`,
      weight,
      description: `${bad ? 'Mostly spam' : 'Mostly legitimate mail'} seen from ${s.what} across the cluster`,
      detail: `${Math.round(spam)} spam / ${Math.round(ham)} ham`,
    });
  }
  // Keep the total within [MAX_GOOD, MAX_BAD].
  for (const [sign, bound] of [[1, MAX_BAD], [-1, MAX_GOOD]] as const) {
    const sum = out.reduce((a, x) => a + (Math.sign(x.weight) === sign ? x.weight : 0), 0);
    if (sign * sum > sign * bound) for (const x of out) if (Math.sign(x.weight) === sign) x.weight *= bound / sum;
  }
  for (const x of out) x.weight = Math.round(x.weight * 10) / 10;
  return out.filter((x) => x.weight !== 0);
}

/** Address ranges that say nothing about a sender on the Internet. */
const LOCAL_RANGES = new Set(['unspecified', 'broadcast', 'multicast', 'linkLocal', 'loopback', 'private', 'carrierGradeNat',
  'uniqueLocal', 'deprecatedSiteLocal']);

/** The store keys for a message's client IP, its network and its sender's registrable domain. Never throws. */
export function reputationKeys(clientIp: string, sender: string): ReputationKeys {
  const keys: ReputationKeys = {};
  const addr = parseIp(clientIp);
  if (addr && !LOCAL_RANGES.has(addr.range())) {
    keys.ip = `ip:${addr.toString()}`;
    if (addr.kind() === 'ipv4') {
      const o = (addr as ipaddr.IPv4).octets;
      keys.network = `net:${o[0]}.${o[1]}.${o[2]}.0/24`;
    } else {
      const p = (addr as ipaddr.IPv6).parts;
      keys.network = `net:${new ipaddr.IPv6([p[0], p[1], p[2], p[3], 0, 0, 0, 0]).toString()}/64`;
    }
  }
  const domain = senderDomain(sender);
  if (domain) keys.domain = `dom:${domain}`;
  return keys;
}

function parseIp(ip: unknown): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (typeof ip !== 'string' || ip.length === 0 || ip.length > 64) return null;
  try {
    return ipaddr.process(ip.trim().replace(/^\[|\]$/g, '').replace(/^ipv6:/i, '').replace(/%.*$/, ''));
  } catch {
    return null;
  }
}

/** The registrable domain of an envelope sender, ASCII lowercase; '' for the null sender and anything odd. */
function senderDomain(sender: unknown): string {
  if (typeof sender !== 'string' || sender.length > 512) return '';
  const s = sender.trim().replace(/^<|>$/g, '');
  const at = s.lastIndexOf('@');
  if (at <= 0) return '';
  let host = s.slice(at + 1).trim();
  while (host.endsWith('.')) host = host.slice(0, -1);
  if (!host || host.length > 253 || host.startsWith('[') || /[\s<>@,;"\\]/.test(host)) return '';
  const ascii = domainToASCII(host.toLowerCase());
  if (!ascii || /^[0-9.]+$/.test(ascii)) return '';
  try {
    return getDomain(ascii, { allowPrivateDomains: true, extractHostname: false, validateHostname: true }) ?? '';
  } catch {
    return '';
  }
}
