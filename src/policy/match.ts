/**
 * Sender and recipient criteria of a rule (SPEC §2). A criterion is one of:
 * - `re:PATTERN`: a regular expression, case-insensitive, found anywhere in the address unless anchored
 *   (`re:^info@`); run in linear time (regex.ts);
 * - an IPv4/IPv6 address or CIDR range (`192.0.2.7`, `10.0.0.0/8`, `2001:db8::/32`): matched against the client
 *   IP, senders only; IPv4-mapped IPv6 addresses on either side compare as IPv4;
 * - `<>`: the null sender (bounces), senders only;
 * - anything else: a mask on the whole address, case-insensitive, `*` = any run of characters (also none),
 *   `?` = exactly one character (`*@example.com`, `user?@*.example.org`).
 * A list matches when any of its criteria matches; an empty list matches everyone.
 *
 * Hostile input: the sender, recipients and client IP come from the SMTP client. Masks run in O(address ×
 * mask) without backtracking blow-up, regexes in linear time; only the first MAX_INPUT characters of an address
 * are looked at. A criterion that cannot be compiled (possible only for lists that skipped validation) matches
 * nothing. Lists are compiled once and cached per list object.
 *
 * Pure: no I/O.
 */
import ipaddr from 'ipaddr.js';
import { compileRegex, fold, MAX_INPUT, RegexError, type SafeRegex } from './regex.ts';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** A criterion, compiled. */
export type Criterion =
  | { kind: 'null' }
  | { kind: 'mask'; cps: number[] }
  | { kind: 're'; re: SafeRegex }
  | { kind: 'ip'; range: Range }
  | { kind: 'invalid'; reason: string };

/** The longest criterion accepted (a `re:` prefix and the longest regex). */
export const MAX_CRITERION = 1100;

const STAR = -1;
const ANY = -2;

function foldAddress(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) {
    if (out.length >= MAX_INPUT) break;
    out.push(fold(ch.codePointAt(0)!));
  }
  return out;
}

/** Text that looks like an IP address or CIDR range rather than an address mask. */
function ipLike(s: string): boolean {
  if (s.includes('@')) return false;
  return /^[\d.]+(\/\d*)?$/.test(s) ? /[./]/.test(s) : /^[0-9a-f:.]*:[0-9a-f:.]*(\/\d*)?$/i.test(s);
}

function parseRange(s: string): Range | null {
  const addr = s.split('/')[0];
  // Dotted-quad decimal only: ipaddr.js also reads `10` as 0.0.0.10 and `010.0.0.1` as octal.
  if (!addr.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(addr)) return null;
  try {
    let range: Range;
    if (s.includes('/')) range = ipaddr.parseCIDR(s);
    else { const a = ipaddr.parse(s); range = [a, a.kind() === 'ipv4' ? 32 : 128]; }
    const [a, bits] = range;
    if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) return [(a as ipaddr.IPv6).toIPv4Address(), bits - 96];
    return range;
  } catch {
    return null;
  }
}

/** Compiles one criterion (never throws: a bad one comes back as `invalid` with the reason). */
export function parseCriterion(text: string): Criterion {
  const s = text.trim();
  if (!s) return { kind: 'invalid', reason: 'empty criterion' };
  if (s.length > MAX_CRITERION) return { kind: 'invalid', reason: `longer than ${MAX_CRITERION} characters` };
  if (/[\u0000-\u001f\u007f]/.test(s)) return { kind: 'invalid', reason: 'control characters are not allowed' };
  if (s.startsWith('re:')) {
    try {
      return { kind: 're', re: compileRegex(s.slice(3)) };
    } catch (err) {
      if (err instanceof RegexError) return { kind: 'invalid', reason: `invalid regular expression: ${err.message}` };
      throw err;
    }
  }
  if (s === '<>') return { kind: 'null' };
  if (ipLike(s)) {
    const range = parseRange(s);
    return range ? { kind: 'ip', range } : { kind: 'invalid', reason: 'not a valid IP address or CIDR range' };
  }
  return { kind: 'mask', cps: Array.from(s, (ch) => (ch === '*' ? STAR : ch === '?' ? ANY : fold(ch.codePointAt(0)!))) };
}

/**
 * Why `text` is not a valid criterion on that side, or null when it is. Besides what parseCriterion refuses:
 * IP criteria and `<>` are for senders only, and an IP written as a mask (`10.0.0.*`) is refused with a hint,
 * because a mask matches the address, never the client IP.
 */
export function criterionProblem(text: string, side: 'sender' | 'recipient'): string | null {
  const c = parseCriterion(text);
  if (c.kind === 'invalid') return c.reason;
  if (side === 'recipient' && c.kind === 'ip') return 'client IPs and networks are sender criteria only';
  if (side === 'recipient' && c.kind === 'null') return 'the null sender <> is a sender criterion only';
  if (c.kind === 'mask' && /^[\d.*?]+$/.test(text.trim()) && /[*?]/.test(text) && text.includes('.')) {
    return 'masks match addresses, not client IPs: give an IP address or a CIDR range such as 10.0.0.0/24';
  }
  return null;
}

/** Glob match on folded code points: O(address × mask), no exponential backtracking. */
function globMatch(p: number[], s: number[]): boolean {
  let pi = 0;
  let si = 0;
  let star = -1;
  let mark = 0;
  while (si < s.length) {
    if (pi < p.length && (p[pi] === ANY || p[pi] === s[si])) { pi++; si++; }
    else if (pi < p.length && p[pi] === STAR) { star = pi++; mark = si; }
    else if (star >= 0) { pi = star + 1; si = ++mark; }
    else return false;
  }
  while (pi < p.length && p[pi] === STAR) pi++;
  return pi === p.length;
}

const byList = new WeakMap<readonly string[], Criterion[]>();
const byText = new Map<string, Criterion>();
const BY_TEXT_MAX = 5000;

/** The compiled form of a criteria list (cached per list, and per criterion text across lists). */
export function compileCriteria(list: readonly string[]): Criterion[] {
  let compiled = byList.get(list);
  if (!compiled) {
    compiled = list.map((text) => {
      let c = byText.get(text);
      if (!c) {
        c = parseCriterion(text);
        if (byText.size >= BY_TEXT_MAX) byText.clear();
        byText.set(text, c);
      }
      return c;
    });
    byList.set(list, compiled);
  }
  return compiled;
}

function clientAddress(ip: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  try { return ipaddr.process(ip.trim().replace(/^\[|\]$/g, '').replace(/^ipv6:/i, '').replace(/%.*$/, '')); } catch { return null; }
}

function matchAddress(list: Criterion[], address: string, clientIp: string | null): boolean {
  let folded: number[] | undefined;
  let ip: ipaddr.IPv4 | ipaddr.IPv6 | null | undefined;
  for (const c of list) {
    switch (c.kind) {
      case 'mask':
        folded ??= foldAddress(address);
        if (globMatch(c.cps, folded)) return true;
        break;
      case 're':
        if (c.re.test(address)) return true;
        break;
      case 'null':
        if (clientIp !== null && address === '') return true;
        break;
      case 'ip':
        if (clientIp === null) break;
        if (ip === undefined) ip = clientAddress(clientIp);
        if (ip && ip.kind() === c.range[0].kind() && ip.match(c.range as never)) return true;
        break;
    }
  }
  return false;
}

/** Does the sender (envelope MAIL FROM, '' for the null sender) or the client IP match any of `criteria`? */
export function matchSender(criteria: readonly string[], sender: string, clientIp: string): boolean {
  if (!criteria.length) return true;
  return matchAddress(compileCriteria(criteria), sender, clientIp);
}

/** Does the recipient match any of `criteria` (masks and `re:`; IP criteria never match a recipient)? */
export function matchRecipient(criteria: readonly string[], rcpt: string): boolean {
  if (!criteria.length) return true;
  return matchAddress(compileCriteria(criteria), rcpt, null);
}
