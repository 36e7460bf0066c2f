/**
 * URL and host keys for the link database (urldb.ts): the one canonical form that both database entries and the
 * URLs found in a message are reduced to, so that a lookup is a few exact hash-map probes.
 *
 * A URL key is `host[:port]/path[?query]`:
 *   - no scheme (http, https and ftp links to the same place are the same key), no user info, no fragment;
 *   - the host lowercased, IDNA-encoded (punycode) and without a trailing dot, IPv4 in dotted-decimal and IPv6 in
 *     brackets, as the WHATWG URL parser serialises them (it also undoes percent-encoding and numeric forms in
 *     hosts);
 *   - ports 80 and 443 dropped whatever the scheme (a web link on its usual port), other ports kept;
 *   - runs of `/` in the path collapsed to one; dot segments resolved (by the WHATWG parser);
 *   - percent-escapes normalised (RFC 3986 §6.2.2): an escaped unreserved character (`%6D` → `m`) is decoded, any
 *     other escape gets upper-case hex digits (`%2f` → `%2F`), once (no repeated decoding: a server decodes once);
 *   - an empty query (a lone `?`) dropped. Path and query stay case-sensitive, as servers treat them.
 * A key matches an entry key when they are equal or the entry is a prefix of the key ending at a boundary: the
 * entry ends with `/`, or the key continues with `/`, `?` or `&` (`&` also in the path: a redirect target taken
 * out of another URL's query by src/scan/urls.ts keeps the outer query's next `&param` glued to its path,
 * e.g. `…/s/malware.html&sa=D`). `keyPrefixes` lists exactly
 * the prefixes of a key that can match, so a lookup never scans a list of entries.
 *
 * Hostile input: hrefs come from messages (through src/scan/urls.ts, already WHATWG-serialised and at most
 * 4096 characters) and entries from feed files. Everything here is a single forward pass over the string with no
 * regex backtracking; `keyPrefixes` yields at most MAX_PREFIXES prefixes. Nothing throws for bad input: parsers
 * return null.
 * Standards: WHATWG URL, RFC 3986 (§6.2.2 normalisation), RFC 5890 (IDNA).
 */

/** Most prefixes of one key that are looked up (a path deeper than this matches on its first segments only). */
export const MAX_PREFIXES = 48;

const SCHEMES = new Set(['http:', 'https:', 'ftp:']);
const HOST_OK = /^[a-z0-9_.:[\]-]+$/;
const LDH_NAME = /^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

function isUnreserved(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46 || c === 95 || c === 126;
}

const HEX = '0123456789ABCDEF';

/** Percent-escape normalisation (see the header); `collapse` also folds runs of `/` (for the path, not the query). */
function normalisePart(s: string, collapse: boolean): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 37 /* % */ && i + 2 < s.length) {
      const h = hexVal(s.charCodeAt(i + 1));
      const l = hexVal(s.charCodeAt(i + 2));
      if (h < 0 || l < 0) continue;
      const b = h * 16 + l;
      const rep = isUnreserved(b) ? String.fromCharCode(b) : `%${HEX[h]}${HEX[l]}`;
      if (rep !== s.slice(i, i + 3)) { out += s.slice(last, i) + rep; last = i + 3; }
      i += 2;
    } else if (collapse && c === 47 /* / */ && s.charCodeAt(i + 1) === 47) {
      let j = i + 1;
      while (s.charCodeAt(j) === 47) j++;
      out += s.slice(last, i + 1);
      last = j;
      i = j - 1;
    }
  }
  return last === 0 ? s : out + s.slice(last);
}

/** Path and query of a URL (starting with `/`, fragment already removed) in canonical form. */
export function canonicalPath(rest: string): string {
  let r = rest;
  if (r.endsWith('?')) r = r.slice(0, -1);
  if (r.indexOf('%') < 0 && r.indexOf('//') < 0) return r;
  const q = r.indexOf('?');
  if (q < 0) return normalisePart(r, true);
  return normalisePart(r.slice(0, q), true) + '?' + normalisePart(r.slice(q + 1), false);
}

/** Where the authority of a WHATWG href starts and ends, or null when it has no `scheme://`. */
function authorityBounds(href: string): { start: number; end: number } | null {
  const p = href.indexOf('://');
  if (p <= 0 || p > 10) return null;
  const start = p + 3;
  let end = start;
  const n = href.length;
  while (end < n) {
    const c = href.charCodeAt(end);
    if (c === 47 || c === 63 || c === 35 || c === 92) break;
    end++;
  }
  return { start, end };
}

/** Host and port of an authority: user info removed, lowercased, trailing dot and ports 80/443 dropped. */
function hostPort(auth: string): { host: string; port: string } | null {
  let a = auth;
  const at = a.lastIndexOf('@');
  if (at >= 0) a = a.slice(at + 1);
  if (/[A-Z]/.test(a)) a = a.toLowerCase();
  let host = a;
  let port = '';
  if (a.startsWith('[')) {
    const rb = a.indexOf(']');
    if (rb < 0) return null;
    host = a.slice(0, rb + 1);
    port = a.slice(rb + 1);
  } else {
    const c = a.lastIndexOf(':');
    if (c >= 0) { host = a.slice(0, c); port = a.slice(c); }
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (!host || host.length > 255 || !HOST_OK.test(host)) return null;
  if (port === ':' || port === ':80' || port === ':443') port = '';
  else if (port && !/^:\d{1,5}$/.test(port)) return null;
  return { host, port };
}

/**
 * The parts of a URL key: `host` as in the key (IPv6 in brackets), `port` (`''` or `:8080`), and the canonical
 * path with the query. The key is `host + port + path`.
 */
export interface UrlParts { host: string; port: string; path: string }

/**
 * The URL key of a WHATWG-serialised href (ExtractedUrl.url, or `new URL(x).href`), in parts; null when it is not
 * `scheme://authority…`. The scheme is not checked here (extractUrls only yields http, https and ftp).
 */
export function urlParts(href: string): UrlParts | null {
  const b = authorityBounds(href);
  if (!b) return null;
  const hp = hostPort(href.slice(b.start, b.end));
  if (!hp) return null;
  let rest = href.slice(b.end);
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  if (rest.charCodeAt(0) === 92) rest = '/' + rest.slice(1);
  if (rest.charCodeAt(0) !== 47) rest = '/' + rest;
  return { host: hp.host, port: hp.port, path: canonicalPath(rest) };
}

/** The whole URL key (`host[:port]/path?query`) of a WHATWG-serialised href; null when it has none. */
export function urlKeyFromHref(href: string): string | null {
  const p = urlParts(href);
  return p ? p.host + p.port + p.path : null;
}

/**
 * Parses a URL written by a person or a feed, with or without a scheme (`evil.example/x`, `HTTP://Evil.Example:80/x`,
 * `hxxp` forms are not URLs), to its key and host. Null for anything that is not an http, https or ftp URL.
 */
export function parseUrl(input: string): { key: string; host: string } | null {
  const s = input.trim();
  if (!s || s.length > 8192) return null;
  const hasScheme = /^[a-z][a-z0-9+.-]{0,15}:\/\//i.test(s);
  // `mailto:`, `javascript:`, `data:`… (a scheme without `//`), but not `host:port`.
  if (!hasScheme && /^[a-z][a-z0-9+.-]{0,31}:(?!\d)/i.test(s)) return null;
  let u: URL;
  try { u = new URL(hasScheme ? s : `http://${s}`); } catch { return null; }
  if (!SCHEMES.has(u.protocol) || !u.hostname) return null;
  const key = urlKeyFromHref(u.href);
  if (!key) return null;
  let host = u.hostname;
  if (host.startsWith('[')) host = host.slice(1, -1);
  if (host.endsWith('.')) host = host.slice(0, -1);
  return { key, host };
}

/** True for an IPv4 dotted quad or an IPv6 literal (without brackets), as hosts come out of the URL parser. */
export function isIpHost(host: string): boolean {
  if (host.includes(':')) return true;
  const last = host.charCodeAt(host.length - 1);
  return last >= 48 && last <= 57 && /^\d{1,3}(?:\.\d{1,3}){3}$/.test(host);
}

/**
 * A host name or IP address written by a person or a feed, in the form URL hosts take (lowercase, punycode, no
 * trailing dot, IPv6 without brackets); null when it is not one. Plain lowercase LDH names skip the URL parser.
 */
export function normaliseHost(input: string): string | null {
  let s = input.trim();
  if (!s || s.length > 255) return null;
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  if (s.endsWith('.')) s = s.slice(0, -1);
  if (/[A-Z]/.test(s)) s = s.toLowerCase();
  if (LDH_NAME.test(s) && !s.includes('xn--')) return s;
  if (s.includes('/') || s.includes('@') || s.includes('?') || s.includes('#') || s.includes('\\')) return null;
  let host: string;
  try {
    host = new URL(s.includes(':') && !s.startsWith('[') ? `http://[${s}]/` : `http://${s}/`).hostname;
  } catch { return null; }
  if (host.startsWith('[')) host = host.slice(1, -1);
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (!host || !HOST_OK.test(host) || host.includes('..')) return null;
  return host;
}

/**
 * Writes to `ends` the end of each prefix of a canonical path that an entry's path can equal for the entry to
 * match (see the header), shortest first, and returns how many: for `/a/b?x=1&y=2` the prefixes `/`, `/a`, `/a/`,
 * `/a/b`, `/a/b?x=1` and the whole path (`path.slice(0, end)`; the caller slices only the ones it wants). At most
 * MAX_PREFIXES (the size `ends` must have); the whole path is always the last.
 */
export function pathPrefixEnds(path: string, ends: Int32Array | number[]): number {
  let n = 0;
  let inQuery = false;
  for (let i = 0; i < path.length && n < MAX_PREFIXES - 2; i++) {
    const c = path.charCodeAt(i);
    if (!inQuery && c === 47) {
      if (i > 0) ends[n++] = i;
      ends[n++] = i + 1;
    } else if (!inQuery && c === 63) {
      if (i > 1) ends[n++] = i;
      inQuery = true;
    } else if (c === 38) {
      ends[n++] = i;
    }
  }
  if (n === 0 || ends[n - 1] !== path.length) ends[n++] = path.length;
  return n;
}

/** The prefixes of a whole URL key (`host/path`) that can match, shortest first (see forEachPathPrefix). */
export function keyPrefixes(key: string): string[] {
  const slash = key.indexOf('/');
  if (slash < 0) return [];
  const host = key.slice(0, slash);
  const out: string[] = [];
  const path = key.slice(slash);
  const ends = new Int32Array(MAX_PREFIXES);
  const n = pathPrefixEnds(path, ends);
  for (let i = 0; i < n; i++) out.push(host + path.slice(0, ends[i]));
  return out;
}
