/**
 * Link text against link target (anti-phishing, SPEC §3.4 "link text that shows one site while the href goes to
 * another"): the visible text of an HTML link shows a host or URL, and the link goes to a different registrable
 * domain, or to a bare IP address.
 *
 * Precision rules (ordinary bulk mail wraps every link in a click tracker):
 *   - the same registrable domain, the same owner (a brand's or the local domains' group), or the same name
 *     under another suffix (`example.com` / `example.co.uk`) is no mismatch;
 *   - a redirector that names its destination in a parameter or its path (`?url=https%3A%2F%2F…`,
 *     `/redirect/https://…`) is followed one step: the destination is compared, not the redirector;
 *   - an opaque tracker (a known e-mail platform or link-protection service, or a domain of the sender itself)
 *     hiding an ordinary site says nothing; hiding a protected site (a brand, a local domain) it is a weak
 *     signal, unless the sender is that brand (a shop's newsletter showing `walmart.com` and linking to the
 *     shop's own page is commerce, and the sender's own domain stands in its From for all to see);
 *   - anything else: weak for an ordinary site, medium when the text shows a protected site, strong when the
 *     link goes to a bare IP address instead of the host shown.
 * Text counts as showing a host when it is a URL (`http://…`, `www.…`), or a bare domain name under a common
 * suffix (`paypal.com`; not `readme.md` or `setup.sh`). E-mail addresses are not hosts.
 *
 * Hostile input: the HTML body. Links are read in one linear pass (htmlLinks: at most 200 links, 300
 * characters of text each); every URL goes through WHATWG URL; nested destinations are taken from at most 20
 * parameters and 3 path URLs per link. Nothing here throws.
 */
import { decodeEntities } from '../urls.ts';
import { registrable, toAsciiHost, type DomainGuard } from './lookalike.ts';
import { TRACKING_DOMAINS } from './lists.ts';
import { parse } from 'tldts';

export type AnchorSignalId = 'LINK_TEXT_PROTECTED_IP_HREF' | 'LINK_TEXT_IP_HREF' | 'LINK_TEXT_PROTECTED_MISMATCH' | 'LINK_TEXT_MISMATCH';

export interface AnchorFinding {
  id: AnchorSignalId;
  evidence: string;
  /** `shown->destination` (registrable domains or IPs). */
  label: string;
}

export interface AnchorContext {
  guard: DomainGuard;
  /** Registrable domains the sender uses: From, Sender, envelope sender (its own click tracking is no trick). */
  senderDomains: ReadonlySet<string>;
  /** Registrable domain of the From address, or null. */
  fromDomain: string | null;
}

/** Suffixes (last label) under which bare text like `name.tld` is taken for a host name. */
const COMMON_TLDS: ReadonlySet<string> = new Set(['com', 'net', 'org', 'edu', 'gov', 'mil', 'int', 'info', 'biz', 'io',
  'co', 'us', 'uk', 'ca', 'au', 'de', 'fr', 'nl', 'be', 'ch', 'at', 'it', 'es', 'se', 'no', 'dk', 'fi', 'ie', 'nz', 'jp',
  'cn', 'ru', 'br', 'in', 'mx', 'ar', 'za', 'eu', 'online', 'site', 'xyz', 'top', 'shop', 'store', 'app']);

const MAX_LINKS = 200;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

interface HostRef { host: string; ip: boolean }

function hostOf(url: string): HostRef | null {
  let u: URL;
  try { u = new URL(url); } catch { return null; }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  let host = u.hostname;
  if (host.startsWith('[')) return { host: host.slice(1, -1), ip: true };
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (!host || !/^[a-z0-9._-]+$/.test(host)) return null;
  return { host, ip: IPV4.test(host) };
}

const TRIM_START = new Set(['"', "'", '<', '(', '[', ' ', '\u00a0', '\u201c', '\u2018', '\u00ab']);
const TRIM_END = new Set(['"', "'", '>', ')', ']', '.', ',', ';', ':', '!', '?', ' ', '\u00a0', '\u201d', '\u2019', '\u00bb']);

/** The host a link's visible text shows, or null when the text is not a URL or host name. */
export function visibleHost(text: string): HostRef | null {
  let t = text.length > 300 ? text.slice(0, 300) : text;
  let a = 0;
  let b = t.length;
  while (a < b && TRIM_START.has(t[a])) a++;
  while (b > a && TRIM_END.has(t[b - 1])) b--;
  t = t.slice(a, b);
  if (!t) return null;
  let token = t;
  if (/\s/.test(t)) {
    const m = /(?:^|\s)((?:https?:\/\/|www\.)[^\s]{1,300})/i.exec(t);
    if (!m) return null;
    token = m[1];
    while (token && TRIM_END.has(token[token.length - 1])) token = token.slice(0, -1);
  }
  const slash = token.search(/[/?#]/);
  const head = slash < 0 ? token : token.slice(0, slash);
  if (head.includes('@')) return null;
  if (/^https?:\/\//i.test(token)) return hostOf(token);
  if (/^www\./i.test(token)) return hostOf(`http://${token}`);
  if (IPV4.test(head)) return { host: head, ip: true };
  // A bare name: labels of letters, digits and hyphens, a common suffix, at least one dot.
  const labels = head.split('.');
  if (labels.length < 2 || labels.length > 10 || !labels.every((l) => /^[\p{L}\p{N}-]{1,63}$/u.test(l))) return null;
  if (!COMMON_TLDS.has(labels[labels.length - 1].toLowerCase())) return null;
  return hostOf(`http://${token}`);
}

/** Destinations a redirector names: URL-looking parameter values and URLs in its path (first three). */
export function nestedTargets(href: string): HostRef[] {
  let u: URL;
  try { u = new URL(href); } catch { return []; }
  const out: HostRef[] = [];
  let n = 0;
  for (const v of u.searchParams.values()) {
    if (++n > 20 || out.length >= 3) break;
    const t = v.trim();
    const cand = /^https?:\/\//i.test(t) ? t : /^www\./i.test(t) ? `http://${t}` : t.startsWith('//') ? `http:${t}` : null;
    const h = cand ? hostOf(cand) : null;
    if (h) out.push(h);
  }
  if (out.length < 3) {
    let path = u.pathname.length > 2048 ? u.pathname.slice(0, 2048) : u.pathname;
    try { path = decodeURIComponent(path); } catch { /* keep it encoded */ }
    const re = /https?:\/{1,2}[a-z0-9.-]{1,253}/gi;
    for (let m = re.exec(path); m && out.length < 3; m = re.exec(path)) {
      const h = hostOf(m[0].replace(/^(https?:)\/(?!\/)/i, '$1//'));
      if (h) out.push(h);
    }
  }
  return out;
}

function domainOf(ref: HostRef): string {
  if (ref.ip) return ref.host;
  const a = toAsciiHost(ref.host);
  return (a && registrable(a)) ?? ref.host;
}

function sameSite(a: string, b: string, guard: DomainGuard): boolean {
  if (a === b) return true;
  const oa = guard.owners.get(a);
  if (oa && oa === guard.owners.get(b)) return true;
  const la = parse(a).domainWithoutSuffix;
  return !!la && la === parse(b).domainWithoutSuffix;
}

/** Text with its tags replaced by spaces (a `<` without a later `>` ends the text); linear. */
function stripTags(s: string): string {
  if (!s.includes('<')) return s;
  let out = '';
  let i = 0;
  for (let lt = s.indexOf('<'); lt >= 0; lt = s.indexOf('<', i)) {
    out += s.slice(i, lt);
    const gt = s.indexOf('>', lt);
    if (gt < 0) return out;
    out += ' ';
    i = gt + 1;
  }
  return out + s.slice(i);
}

const ANCHOR_TAG = /<(\/?)a(?=[\s>/])/gi;
const HREF_ATTR = /(?:^|[\s"'/])href\s{0,8}=\s{0,8}(?:"([^"]{0,4096})"|'([^']{0,4096})'|([^\s>]{1,4096}))/i;

/**
 * The links of an HTML body: each `<a href>` with the visible text up to its end (tags dropped, character
 * references decoded, whitespace collapsed, 300 characters). One forward pass: `<a` and `</a` found by a
 * quantifier-free pattern, every tag closed by the next `>` (none left: the rest is not read). At most `max`
 * links.
 */
export function htmlLinks(html: string, max = MAX_LINKS): { href: string; text: string }[] {
  const out: { href: string; text: string }[] = [];
  let open: { href: string; from: number } | null = null;
  const close = (end: number) => {
    if (!open) return;
    const text = decodeEntities(stripTags(html.slice(open.from, Math.min(end, open.from + 8192)))).replace(/\s+/g, ' ').trim();
    out.push({ href: open.href, text: text.length > 300 ? text.slice(0, 300) : text });
    open = null;
  };
  ANCHOR_TAG.lastIndex = 0;
  for (let m = ANCHOR_TAG.exec(html); m && out.length < max; m = ANCHOR_TAG.exec(html)) {
    const gt = html.indexOf('>', m.index);
    if (gt < 0) break;
    close(m.index);
    ANCHOR_TAG.lastIndex = gt + 1;
    if (m[1]) continue;
    const tag = html.slice(m.index + 2, Math.min(gt, m.index + 8192));
    const h = HREF_ATTR.exec(tag);
    if (h) open = { href: decodeEntities((h[1] ?? h[2] ?? h[3] ?? '').trim()), from: gt + 1 };
  }
  if (out.length < max) close(html.length);
  ANCHOR_TAG.lastIndex = 0;
  return out;
}

/** Mismatches between link text and link target, one finding per offending link (at most 200 links). */
export function anchorMismatches(links: readonly { href: string; text: string }[], ctx: AnchorContext): AnchorFinding[] {
  const out: AnchorFinding[] = [];
  const { guard } = ctx;
  const fromOwner = ctx.fromDomain ? guard.owners.get(ctx.fromDomain) : undefined;
  for (const link of links.slice(0, MAX_LINKS)) {
    if (!link.text || !/[./]/.test(link.text)) continue;
    const shown = visibleHost(link.text);
    if (!shown) continue;
    const href = hostOf(link.href.trim());
    if (!href) continue;
    const T = domainOf(shown);
    const H = domainOf(href);
    if (sameSite(T, H, guard)) continue;
    const nested = nestedTargets(link.href.trim());
    if (nested.some((n) => sameSite(T, domainOf(n), guard))) continue;
    const owner = shown.ip ? undefined : guard.owners.get(T);
    const isProtected = owner !== undefined && owner !== fromOwner;
    const dest = nested[0];
    if (dest) {
      const D = domainOf(dest);
      const label = `${T}->${D}`;
      if (dest.ip && !shown.ip) out.push({ id: isProtected ? 'LINK_TEXT_PROTECTED_IP_HREF' : 'LINK_TEXT_IP_HREF', evidence: `${label} via ${H}`, label });
      else out.push({ id: isProtected ? 'LINK_TEXT_PROTECTED_MISMATCH' : 'LINK_TEXT_MISMATCH', evidence: `${label} via ${H}`, label });
      continue;
    }
    if (href.ip && !shown.ip) {
      out.push({ id: isProtected ? 'LINK_TEXT_PROTECTED_IP_HREF' : 'LINK_TEXT_IP_HREF', evidence: `${T}->${H}`, label: `${T}->${H}` });
      continue;
    }
    const tracker = TRACKING_DOMAINS.has(H);
    const senders = ctx.senderDomains.has(H) || (fromOwner !== undefined && guard.owners.get(H) === fromOwner);
    if (isProtected) {
      const how = tracker ? ' (tracker)' : senders ? ' (sender\'s own site)' : '';
      out.push({ id: how ? 'LINK_TEXT_MISMATCH' : 'LINK_TEXT_PROTECTED_MISMATCH', evidence: `${T}->${H}${how}`, label: `${T}->${H}` });
    } else if (!tracker && !senders) out.push({ id: 'LINK_TEXT_MISMATCH', evidence: `${T}->${H}`, label: `${T}->${H}` });
  }
  return out;
}
