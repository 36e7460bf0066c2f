/**
 * URL extraction from a message's text and HTML bodies, shared by anti-spam (URI blocklists) and link scanning.
 *
 * Text: `http://`, `https://`, `ftp://` and scheme-less `www.` forms. HTML: `href` (a, area, link),
 * `src`/`background`, form `action`/`formaction`, `<meta http-equiv=refresh>`, resolved against `<base href>`,
 * and URL-looking visible text (`anchor_text` inside <a>, else `text`), with character references decoded.
 * Percent-encoded URLs nested in another URL's path or query (redirectors) are extracted too, one level deep.
 * Hosts come out lowercased and IDNA-encoded (punycode) by the WHATWG URL parser (which also undoes
 * percent-encoding and numeric IPv4 forms in hosts); `domain` is the registrable domain (tldts, ICANN section).
 *
 * Hostile input: bodies are attacker-controlled. Everything here is a single forward pass: the only regexes are
 * literal alternations without nested quantifiers, each scan resumes after the previous match, and a candidate
 * is at most MAX_URL_CHARS long, so time is linear in the input. Defanged forms (`hxxp://`, `example[.]com`,
 * `evil(.)com`) are not links: the scheme must be exact and the host must be plain LDH/IP characters.
 * Limits: `maxUrls` distinct (url, source) pairs (default 500); inputs beyond MAX_INPUT chars are ignored.
 * Standards: WHATWG URL and HTML (character references, base URL), RFC 3986, RFC 5890 (IDNA).
 */
import { getDomain } from 'tldts';

export type UrlSource = 'text' | 'href' | 'src' | 'form' | 'anchor_text';

export interface ExtractedUrl {
  /** Normalised absolute URL (WHATWG serialisation). */
  url: string;
  /** Lowercased ASCII host (punycode); IPv6 without brackets. */
  host: string;
  /** Registrable domain of the host (e.g. `example.co.uk`), null for IP literals and hosts without one. */
  domain: string | null;
  source: UrlSource;
  /** How many times this URL was seen with this source. */
  count: number;
}

export interface ExtractOptions {
  /** Most distinct (url, source) pairs returned (default 500). */
  maxUrls?: number;
}

const MAX_URL_CHARS = 4096;
const MAX_INPUT = 4 * 1024 * 1024;
const SCHEMES = new Set(['http:', 'https:', 'ftp:']);
/** Plain hostname or IP characters after WHATWG parsing; anything else (parentheses, brackets…) is not a link. */
const HOST_OK = /^[a-z0-9_.:-]+$/;

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', sol: '/', bsol: '\\', colon: ':', period: '.',
  commat: '@', num: '#', percnt: '%', equals: '=', quest: '?', lpar: '(', rpar: ')', lsqb: '[', rsqb: ']',
  lbrack: '[', rbrack: ']', excl: '!', dollar: '$', plus: '+', comma: ',', semi: ';', hyphen: '-', dash: '-',
  lowbar: '_', tilde: '~', ast: '*', verbar: '|', shy: '\u00ad', zwsp: '\u200b', zwnj: '\u200c', zwj: '\u200d',
  ensp: '\u2002', emsp: '\u2003', thinsp: '\u2009', newline: '\n', tab: '\t', copy: '\u00a9', reg: '\u00ae',
};
/** References browsers also accept without the semicolon (a subset of the legacy list). */
const LEGACY = new Set(['amp', 'lt', 'gt', 'quot', 'nbsp', 'copy', 'reg']);

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** Decodes HTML character references (numeric, and a useful set of named ones); unknown ones stay as they are. */
export function decodeEntities(s: string): string {
  if (s.indexOf('&') < 0) return s;
  let out = '';
  let last = 0;
  let i = s.indexOf('&');
  while (i >= 0 && i < s.length) {
    let j = i + 1;
    let rep: string | null = null;
    if (s.charCodeAt(j) === 35 /* # */) {
      j++;
      const hex = s.charCodeAt(j) === 120 || s.charCodeAt(j) === 88;
      if (hex) j++;
      const start = j;
      let cp = 0;
      while (j < s.length && j - start < 10) {
        const c = s.charCodeAt(j);
        const d = c >= 48 && c <= 57 ? c - 48 : hex && c >= 97 && c <= 102 ? c - 87 : hex && c >= 65 && c <= 70 ? c - 55 : -1;
        if (d < 0) break;
        cp = cp * (hex ? 16 : 10) + d;
        j++;
      }
      if (j > start) {
        if (s.charCodeAt(j) === 59) j++;
        rep = cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? '\ufffd' : String.fromCodePoint(cp);
      }
    } else {
      const start = j;
      while (j < s.length && j - start < 32 && isAlnum(s.charCodeAt(j))) j++;
      const name = s.slice(start, j);
      const v = NAMED_ENTITIES[name] ?? NAMED_ENTITIES[name.toLowerCase()];
      if (v !== undefined) {
        if (s.charCodeAt(j) === 59) { j++; rep = v; } else if (LEGACY.has(name)) rep = v;
      }
    }
    if (rep !== null) {
      out += s.slice(last, i) + rep;
      last = j;
      i = s.indexOf('&', j);
    } else {
      i = s.indexOf('&', i + 1);
    }
  }
  return out + s.slice(last);
}

/** Ends a URL candidate in text: whitespace, controls, and characters that never appear raw in a URL. */
function isStop(c: number): boolean {
  if (c <= 0x20 || c === 0x7f) return true;
  if (c < 0x80) return c === 0x3c || c === 0x3e || c === 0x22 || c === 0x60 || c === 0x7b || c === 0x7d || c === 0x7c || c === 0x5c || c === 0x5e;
  return c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfffd || c === 0x3001 || c === 0x3002 || c === 0xff0c;
}

/** Invisible characters dropped from a candidate (used to break URLs up without the reader seeing it). */
function isInvisible(c: number): boolean {
  return c === 0xad || (c >= 0x200b && c <= 0x200d) || c === 0x2060 || c === 0xfeff;
}

const TRAIL = new Set(['.', ',', ';', ':', '!', '?', "'", '*', '"']);

/** Drops trailing punctuation and closing brackets that the URL does not open. */
function trimTrailing(s: string): string {
  let end = s.length;
  let paren = 0;
  let square = 0;
  for (let k = 0; k < end; k++) {
    const ch = s.charCodeAt(k);
    if (ch === 40) paren++; else if (ch === 41) paren--; else if (ch === 91) square++; else if (ch === 93) square--;
  }
  while (end > 0) {
    const ch = s[end - 1];
    if (TRAIL.has(ch)) { end--; continue; }
    if (ch === ')' && paren < 0) { paren++; end--; continue; }
    if (ch === ']' && square < 0) { square++; end--; continue; }
    break;
  }
  return s.slice(0, end);
}

/** Tolerant percent-decoding (malformed escapes stay as they are; bytes are read as UTF-8). */
function percentDecode(s: string): string {
  if (s.indexOf('%') < 0) return s;
  const bytes: number[] = [];
  let out = '';
  const flush = () => { if (bytes.length) { out += Buffer.from(bytes).toString('utf8'); bytes.length = 0; } };
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 37 && i + 2 < s.length && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      flush();
      out += s[i];
    }
  }
  flush();
  return out;
}

interface Parsed { url: string; host: string; domain: string | null; nested: string | null }

/** A redirect target hidden in the path or query (`…?u=https%3A%2F%2Fevil.example%2F`), decoded once or twice. */
function nestedText(tail: string): string | null {
  if (tail.length < 10) return null;
  let t = tail;
  for (let round = 0; round < 2; round++) {
    if (!/%3a%2f%2f|%253a/i.test(t)) break;
    t = percentDecode(t);
  }
  return t.includes('://') || /(?:^|[^a-z0-9])www\./i.test(t) ? t : null;
}

function parse(raw: string, base: string | undefined): Parsed | null {
  let u: URL;
  try { u = new URL(raw, base); } catch { return null; }
  const proto = u.protocol;
  if (!SCHEMES.has(proto)) return null;
  let host = u.hostname;
  if (host.startsWith('[')) host = host.slice(1, -1);
  if (!host || host.length > 253 || !HOST_OK.test(host) || host.startsWith('.') || host.includes('..')) return null;
  const url = u.href;
  if (host.endsWith('.')) host = host.slice(0, -1);
  const domain = host.includes(':') || /^[0-9.]+$/.test(host) ? null : getDomain(host);
  const path = url.indexOf('/', proto.length + 2);
  return { url, host, domain: domain || null, nested: path < 0 ? null : nestedText(url.slice(path)) };
}

class Collector {
  readonly map = new Map<string, ExtractedUrl>();
  /** Parse results by raw candidate, so a URL repeated many times is parsed once. */
  private readonly parsed = new Map<string, Parsed | null>();
  readonly max: number;
  constructor(max: number) { this.max = max; }
  get full(): boolean { return this.map.size >= this.max; }

  /** Parses and records one candidate; returns the text of a nested redirect target to scan, or null. */
  add(raw: string, source: UrlSource, base?: string): string | null {
    const ck = base ? `${base}\u0000${raw}` : raw;
    let p = this.parsed.get(ck);
    if (p === undefined) {
      p = parse(raw, base);
      if (this.parsed.size < 4 * this.max + 100) this.parsed.set(ck, p);
    }
    if (!p) return null;
    const key = `${source} ${p.url}`;
    const seen = this.map.get(key);
    if (seen) { seen.count++; return p.nested; }
    if (this.full) return null;
    this.map.set(key, { url: p.url, host: p.host, domain: p.domain, source, count: 1 });
    return p.nested;
  }
}

/**
 * Finds URL candidates in plain text and records them. `sourceAt` picks the source by the candidate's offset
 * (for HTML visible text: anchor text or not). `nested` false stops redirect-target recursion.
 */
function scanText(s: string, sourceAt: (offset: number) => UrlSource, c: Collector, nested = true): void {
  const re = /(?:https?|ftp):\/\/|www\./gi;
  let m: RegExpExecArray | null;
  while (!c.full && (m = re.exec(s)) !== null) {
    const start = m.index;
    const isWww = m[0].length === 4;
    const prev = start > 0 ? s.charCodeAt(start - 1) : 32;
    // `xhttp://` is not a scheme; `www.` must start a host (not `a.www.`, `/www.`, `user@www.`).
    if (isAlnum(prev) || (isWww && (prev === 46 || prev === 47 || prev === 64 || prev === 45 || prev === 95))) continue;
    let end = start;
    let cand = '';
    let runStart = start;
    while (end < s.length && end - start < MAX_URL_CHARS) {
      const ch = s.charCodeAt(end);
      if (isStop(ch)) break;
      if (isInvisible(ch)) { cand += s.slice(runStart, end); runStart = end + 1; }
      end++;
    }
    cand += s.slice(runStart, end);
    re.lastIndex = Math.max(end, start + m[0].length);
    cand = trimTrailing(cand);
    if (cand.length <= m[0].length) continue;
    const source = sourceAt(start);
    const inner = c.add(isWww ? `http://${cand}` : cand, source);
    if (inner && nested) scanText(inner, () => source, c, false);
  }
}

const BLOCK_TAGS = new Set(['br', 'p', 'div', 'tr', 'td', 'th', 'li', 'ul', 'ol', 'table', 'tbody', 'thead', 'h1', 'h2', 'h3',
  'h4', 'h5', 'h6', 'hr', 'blockquote', 'pre', 'section', 'article', 'header', 'footer', 'center', 'dd', 'dt', 'dl',
  'title', 'img', 'button', 'form', 'body', 'html', 'head', 'caption', 'address', 'nav', 'main', 'aside', 'figure']);
const RAW_TEXT = new Set(['script', 'style', 'xmp', 'textarea', 'noembed', 'noframes']);

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12;
}

interface Tag { name: string; end: boolean; attrs: Map<string, string>; next: number }

/** Parses the tag starting at `i` (s[i] === '<', followed by a letter or '/'); linear in the tag's length. */
function parseTag(s: string, i: number): Tag {
  const n = s.length;
  let j = i + 1;
  const end = s.charCodeAt(j) === 47;
  if (end) j++;
  const ns = j;
  while (j < n && !isSpace(s.charCodeAt(j)) && s[j] !== '>' && s[j] !== '/') j++;
  const name = s.slice(ns, j).toLowerCase();
  const attrs = new Map<string, string>();
  while (j < n) {
    while (j < n && (isSpace(s.charCodeAt(j)) || s[j] === '/')) j++;
    if (j >= n) break;
    if (s[j] === '>') { j++; break; }
    const as = j;
    j++; // an attribute name has at least one character (even '=')
    while (j < n && !isSpace(s.charCodeAt(j)) && s[j] !== '>' && s[j] !== '/' && s[j] !== '=') j++;
    const an = s.slice(as, j).toLowerCase();
    while (j < n && isSpace(s.charCodeAt(j))) j++;
    let value = '';
    if (s[j] === '=') {
      j++;
      while (j < n && isSpace(s.charCodeAt(j))) j++;
      const q = s[j];
      if (q === '"' || q === "'") {
        let k = s.indexOf(q, j + 1);
        if (k < 0) k = n;
        value = s.slice(j + 1, k);
        j = k + 1;
      } else {
        const vs = j;
        while (j < n && !isSpace(s.charCodeAt(j)) && s[j] !== '>') j++;
        value = s.slice(vs, j);
      }
    }
    if (!attrs.has(an)) attrs.set(an, value);
  }
  return { name, end, attrs, next: Math.min(j, n) };
}

/** An attribute value as a URL string: references decoded, ASCII whitespace trimmed; `//host` gets a scheme. */
function attrUrl(v: string, base: string | undefined): { raw: string; base?: string } | null {
  const t = decodeEntities(v).trim();
  if (!t || t.length > MAX_URL_CHARS) return null;
  if (!base && /^[/\\]{2}/.test(t)) return { raw: `http:${t}` };
  return { raw: t, base };
}

function findBase(html: string): string | undefined {
  const m = /<base[\s/]/i.exec(html);
  if (!m) return undefined;
  const href = parseTag(html, m.index).attrs.get('href');
  if (!href) return undefined;
  try {
    const u = new URL(decodeEntities(href).trim());
    return SCHEMES.has(u.protocol) ? u.href : undefined;
  } catch { return undefined; }
}

function scanHtml(html: string, c: Collector): void {
  const base = findBase(html);
  const parts: string[] = [];
  let len = 0;
  const anchors: [number, number][] = [];
  let anchorStart = -1;
  const push = (t: string) => { if (t) { parts.push(t); len += t.length; } };
  const addAttr = (v: string | undefined, source: UrlSource) => {
    if (v === undefined || c.full) return;
    const a = attrUrl(v, base);
    if (!a) return;
    const inner = c.add(a.raw, source, a.base);
    if (inner) scanText(inner, () => source, c, false);
  };
  const n = html.length;
  let i = 0;
  let textFrom = 0; // start of the pending text run (a '<' that opens no tag is text)
  while (i < n && !c.full) {
    const lt = html.indexOf('<', i);
    if (lt < 0) break;
    const next = html.charCodeAt(lt + 1);
    const isLetter = (next >= 65 && next <= 90) || (next >= 97 && next <= 122);
    if (!isLetter && next !== 47 && next !== 33 && next !== 63) { i = lt + 1; continue; }
    if (lt > textFrom) push(decodeEntities(html.slice(textFrom, lt)));
    i = lt;
    if (next === 33 /* ! */ || next === 63 /* ? */) {
      if (html.startsWith('<!--', i)) {
        // Outlook conditional comments carry real content: parse through them, drop only the markers.
        if (html.startsWith('<!--[if', i)) { const gt = html.indexOf('>', i); i = gt < 0 ? n : gt + 1; textFrom = i; continue; }
        const close = html.indexOf('-->', i + 4);
        i = close < 0 ? n : close + 3;
      } else {
        const gt = html.indexOf('>', i);
        i = gt < 0 ? n : gt + 1;
      }
      textFrom = i;
      continue;
    }
    const tag = parseTag(html, i);
    i = tag.next;
    textFrom = i;
    if (tag.name === 'a') {
      if (anchorStart >= 0) anchors.push([anchorStart, len]);
      anchorStart = -1;
      push(' ');
      if (!tag.end) anchorStart = len;
    } else if (BLOCK_TAGS.has(tag.name)) {
      push('\n');
    }
    if (tag.end) continue;
    const at = tag.attrs;
    if (at.size) {
      if (tag.name !== 'base') addAttr(at.get('href'), 'href');
      addAttr(at.get('src'), 'src');
      addAttr(at.get('background'), 'src');
      addAttr(at.get('action'), 'form');
      addAttr(at.get('formaction'), 'form');
      if (tag.name === 'meta' && (at.get('http-equiv') ?? '').toLowerCase() === 'refresh') {
        const content = decodeEntities(at.get('content') ?? '');
        const k = content.toLowerCase().indexOf('url=');
        if (k >= 0) addAttr(content.slice(k + 4).replace(/^['"]|['"]$/g, ''), 'href');
      }
    }
    if (RAW_TEXT.has(tag.name)) {
      const re = new RegExp(`</${tag.name}[\\s/>]`, 'gi');
      re.lastIndex = i;
      const m = re.exec(html);
      i = m ? m.index : n;
      textFrom = i;
    }
  }
  if (textFrom < n && !c.full) push(decodeEntities(html.slice(textFrom)));
  if (anchorStart >= 0) anchors.push([anchorStart, len]);
  const text = parts.join('');
  // Anchors are in offset order: a binary search picks the source of each candidate.
  const sourceAt = (off: number): UrlSource => {
    let lo = 0; let hi = anchors.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [a, b] = anchors[mid];
      if (off < a) hi = mid - 1; else if (off >= b) lo = mid + 1; else return 'anchor_text';
    }
    return 'text';
  };
  scanText(text, sourceAt, c);
}

/** URLs of a message: from the text body and the HTML body (attributes first, then visible text). */
export function extractUrls(text: string, html: string, opts: ExtractOptions = {}): ExtractedUrl[] {
  const c = new Collector(Math.max(0, Math.floor(opts.maxUrls ?? 500)));
  if (text) scanText(text.length > MAX_INPUT ? text.slice(0, MAX_INPUT) : text, () => 'text', c);
  if (html) scanHtml(html.length > MAX_INPUT ? html.slice(0, MAX_INPUT) : html, c);
  return [...c.map.values()];
}
