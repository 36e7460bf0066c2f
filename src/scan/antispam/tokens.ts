/**
 * Feature extraction for the statistical spam classifier (classifier.ts): a MessageModel becomes a set of
 * 32-bit feature hashes (a Uint32Array, each value once, in first-seen order).
 *
 * Features (each in its own namespace, so "free" in the subject and "free" in the body differ):
 *   - words of the decoded subject and of the bodies (text/plain, and text/html reduced to visible text: tags,
 *     comments, scripts and styles removed, character references decoded), lowercased, plus an all-caps
 *     variant for shouted words; CJK ideographs, kana, hangul and emoji are one-character words;
 *   - orthogonal sparse bigrams (OSB): each word paired with each of the previous `window` words, the distance
 *     being part of the pair, within one text (subject and body are separate streams);
 *   - the hosts of URLs found in the bodies and in the HTML source: registrable domain (tldts `getDomain`),
 *     top-level label, and shape tokens (numeric IP, percent-encoded or userinfo-bearing host);
 *   - HTML tag names and tag.attribute names (what the markup looks like, not what it says);
 *   - selected header fields: From (registrable domain, display-name words, local-part shape), Reply-To
 *     divergence, the mailer (X-Mailer / User-Agent words), the top Content-Type and charset, presence of some
 *     fields (list, priority, threading), and the MIME structure (HTML-only, attachment true types);
 *   - coarse message-level shape (share of capitals, counts of links and images) as bucket tokens.
 * Received, Delivered-To, Return-Path, dates and other filters' X-Spam-* fields are deliberately NOT used: they
 * describe the path and the collection of a corpus, not the message, and would teach the model artefacts.
 *
 * Hostile input: every character of the model. Everything here is a single linear pass over bounded slices
 * (MAX_SCAN_CHARS of each text, MAX_WORDS words, MAX_URLS hosts, MAX_FEATURES features); there is no regular
 * expression over message text, nothing recursive, and `messageFeatures` never throws (a failure past the
 * guards returns the features gathered so far). Zero-width characters and soft hyphens are ignored so that
 * they cannot split words; fullwidth ASCII is folded to ASCII. Surrogates are handled as pairs.
 * RFCs: 5322 (header fields), 2045/2046 (Content-Type), 3986 (URI authority), HTML 5 character references
 * (a common subset of the named ones).
 *
 * The hashes are stable: FNV-1a over UTF-16 code units, mixed with a namespace and finalised with the murmur3
 * fmix32 step. A model maps a hash to its table with `hash & (size - 1)`, so stored feature vectors stay
 * valid when the table size changes. Change FEATURE_VERSION when any token changes.
 */
import { getDomain } from 'tldts';
import type { MessageModel } from '../types.ts';

/** Version of the token scheme; stored in model files so a model never meets features it was not trained on. */
export const FEATURE_VERSION = 1;

/** Tunable parts of the scheme (the defaults are what the shipped model is trained with). */
export interface TokenOptions {
  /** OSB window: how many previous words each word is paired with (0 = unigrams only). */
  window: number;
  /** Header-field tokens (From, mailer, Content-Type, field presence). */
  headers: boolean;
  /** HTML tag and tag.attribute tokens. */
  htmlTags: boolean;
  /** Digits-only words longer than this become a shape token (length bucket) instead of the number. */
  maxNumberLength: number;
  /** Words taken from the bodies (text and HTML together). */
  maxWords: number;
  /** Words of URL paths (after the host), unigrams. */
  urlWords: boolean;
}

export const DEFAULT_TOKEN_OPTIONS: Readonly<TokenOptions> = Object.freeze({
  window: 2,
  headers: true,
  htmlTags: true,
  maxNumberLength: 4,
  maxWords: 3000,
  urlWords: true,
});

/** Hard bounds, whatever the options. */
export const MAX_FEATURES = 16384;
const MAX_SCAN_CHARS = 256 * 1024;
const MAX_SUBJECT_WORDS = 64;
const MAX_WORD_LENGTH = 32;
const MAX_URLS = 64;
const MAX_HOST_LENGTH = 253;
const MAX_TAG_SCAN = 2048;
const MAX_HEADER_CHARS = 1024;
const MAX_WINDOW = 8;
const MAX_PATH_SCAN = 256;
const MAX_ENTITY = 32;
/** `://` and `www.` occurrences examined per text (repeats of one host are cheap but not free). */
const MAX_URL_CANDIDATES = 1024;

// ---- namespaces ----
const NS = {
  subject: 1,
  body: 2,
  subjectCaps: 3,
  bodyCaps: 4,
  urlDomain: 5,
  urlTld: 6,
  urlShape: 7,
  tag: 8,
  tagAttr: 9,
  fromDomain: 10,
  fromName: 11,
  fromShape: 12,
  mailer: 13,
  contentType: 14,
  charset: 15,
  field: 16,
  structure: 17,
  shape: 18,
  fromTld: 19,
  long: 20,
  number: 21,
  attachment: 22,
  priority: 23,
  script: 24,
  urlPath: 25,
} as const;

// ---- hashing ----
const FNV_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Final feature of a word hash in a namespace. */
function feature(ns: number, h: number): number {
  return fmix((h ^ Math.imul(ns, 0x9e3779b1)) >>> 0);
}

/** Final feature of a word pair at a distance (OSB). */
function pairFeature(ns: number, a: number, b: number, distance: number): number {
  return fmix((Math.imul(a, 0x2c1b3c6d) ^ fmix((b + Math.imul(distance, 0x297a2d39)) >>> 0) ^ Math.imul(ns + 64, 0x9e3779b1)) >>> 0);
}

function hashString(s: string, max = 128): number {
  let h = FNV_BASIS;
  const n = Math.min(s.length, max);
  for (let i = 0; i < n; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h >>> 0;
}

/** Namespace names (for `featureOf`). */
export type Namespace = keyof typeof NS;

/**
 * The feature hash of one token, for tests and diagnostics: a word (lowercase, at most 32 characters) of a
 * word namespace (`subject`, `body`, their `…Caps` variants, `fromName`, `mailer`, `urlPath`) or a whole token
 * of the others (`urlDomain` 'example.com', `tag` 'font', `tagAttr` 'font.color', `field` '+list-id', …).
 */
export function featureOf(ns: Namespace, token: string): number {
  return feature(NS[ns], hashString(token));
}

/** The feature hash of an OSB pair: word `a`, then word `b` `distance` words later (1 = adjacent). */
export function pairFeatureOf(ns: 'subject' | 'body', a: string, b: string, distance: number): number {
  return pairFeature(NS[ns], hashString(a), hashString(b), distance);
}

// ---- the feature set being built (one per call; reused buffers, synchronous, so no sharing across calls) ----
class Sink {
  readonly out = new Uint32Array(MAX_FEATURES);
  n = 0;
  private readonly table = new Uint32Array(MAX_FEATURES * 2);
  private readonly stamp = new Uint32Array(MAX_FEATURES * 2);
  private gen = 0;

  reset(): void {
    this.n = 0;
    this.gen = (this.gen + 1) >>> 0;
    if (this.gen === 0) {
      this.stamp.fill(0);
      this.gen = 1;
    }
  }

  get full(): boolean {
    return this.n >= MAX_FEATURES;
  }

  add(f: number): void {
    if (this.n >= MAX_FEATURES) return;
    const mask = this.table.length - 1;
    let i = f & mask;
    // Open addressing in a table twice the cap: never more than half full, so the probe always ends.
    for (;;) {
      if (this.stamp[i] !== this.gen) {
        this.stamp[i] = this.gen;
        this.table[i] = f;
        this.out[this.n++] = f;
        return;
      }
      if (this.table[i] === f) return;
      i = (i + 1) & mask;
    }
  }

  token(ns: number, s: string): void {
    this.add(feature(ns, hashString(s)));
  }

  result(): Uint32Array {
    return this.out.slice(0, this.n);
  }
}

const sink = new Sink();

// ---- characters ----
const SEP = 0;
const WORD = 1;
/** A character that is a word of its own (CJK ideographs, kana, hangul, emoji, `$`, `!`, `%`). */
const SINGLE = 2;
/** Invisible characters that must not split words (zero-width, soft hyphen, BOM). */
const IGNORE = 3;

const ASCII_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  ASCII_CLASS[c] = alnum ? WORD : c === 0x24 || c === 0x21 || c === 0x25 ? SINGLE : SEP;
}
// Apostrophes and hyphens inside words are common in both classes; they separate (cheap and stable).

function classOf(c: number): number {
  if (c < 128) return ASCII_CLASS[c];
  if (c === 0xad || c === 0x200b || c === 0x200c || c === 0x200d || c === 0x2060 || c === 0xfeff) return IGNORE;
  if (c < 0xc0) return c === 0xaa || c === 0xb5 || c === 0xba ? WORD : SEP; // Latin-1 punctuation, symbols, NBSP
  if (c === 0xd7 || c === 0xf7) return SEP;
  if (c >= 0x2000 && c <= 0x2bff) return SEP; // general punctuation, symbols, arrows, boxes…
  if (c >= 0x3000 && c <= 0x303f) return SEP; // CJK punctuation
  if ((c >= 0x3040 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7af) || (c >= 0xf900 && c <= 0xfaff)) return SINGLE;
  if (c >= 0xd800 && c <= 0xdfff) return SINGLE; // astral characters (emoji, rare scripts), taken as pairs
  if (c >= 0xfe10 && c <= 0xfe6f) return SEP; // vertical forms, small form variants
  if (c >= 0xff00 && c <= 0xff0f) return SEP;
  if (c >= 0xfff0) return SEP; // specials, replacement character
  return WORD;
}

/** Lowercase table for U+0000–U+052F (Latin, Greek, Cyrillic); other characters are kept as they are. */
const LOWER_LIMIT = 0x530;
const LOWER = new Uint16Array(LOWER_LIMIT);
const UPPER_FLAG = new Uint8Array(LOWER_LIMIT);
const LOWER_FLAG = new Uint8Array(LOWER_LIMIT);
for (let c = 0; c < LOWER_LIMIT; c++) {
  const ch = String.fromCharCode(c);
  const lo = ch.toLowerCase();
  LOWER[c] = lo.length === 1 ? lo.charCodeAt(0) : c;
  const up = ch.toUpperCase();
  if (LOWER[c] !== c) UPPER_FLAG[c] = 1;
  else if (up.length === 1 && up !== ch) LOWER_FLAG[c] = 1;
}

// ---- scripts ----
const SCRIPTS = ['latin', 'latin-ext', 'greek', 'cyrillic', 'hebrew', 'arabic', 'kana', 'cjk', 'hangul', 'other'] as const;

function scriptOf(c: number): number {
  if (c < 0xc0) return 0;
  if (c < 0x250) return 1;
  if (c >= 0x370 && c < 0x400) return 2;
  if (c >= 0x400 && c < 0x530) return 3;
  if (c >= 0x590 && c < 0x600) return 4;
  if (c >= 0x600 && c < 0x700) return 5;
  if (c >= 0x3040 && c < 0x3100) return 6;
  if ((c >= 0x3400 && c < 0xa000) || (c >= 0xf900 && c < 0xfb00)) return 7;
  if (c >= 0xac00 && c < 0xd7b0) return 8;
  return 9;
}

/** Tokens for the scripts that make up at least 5 % of a stream's words. */
function scriptTokens(st: Stream, prefix: string): void {
  if (st.words === 0) return;
  for (let k = 0; k < SCRIPTS.length; k++) if (st.scripts[k] * 20 >= st.words) sink.token(NS.script, prefix + SCRIPTS[k]);
}

// ---- word streams ----
/** State of one stream of words: the OSB ring of previous word hashes and the counters. */
class Stream {
  readonly ring = new Uint32Array(MAX_WINDOW);
  filled = 0;
  words = 0;
  caps = 0;
  letters = 0;
  /** Words per script (SCRIPTS order), by their first character. */
  readonly scripts = new Uint32Array(SCRIPTS.length);
  readonly ns: number;
  readonly capsNs: number;
  readonly maxWords: number;
  readonly window: number;
  readonly maxNumber: number;
  constructor(ns: number, capsNs: number, maxWords: number, window: number, maxNumber: number) {
    this.ns = ns;
    this.capsNs = capsNs;
    this.maxWords = maxWords;
    this.window = window;
    this.maxNumber = maxNumber;
  }
}

/** Emits one finished word. `h` is the lowercase hash, `len` its length in code units. */
function emitWord(st: Stream, h: number, len: number, digitsOnly: boolean, allCaps: boolean): void {
  if (len > MAX_WORD_LENGTH) h = hashString('long:' + Math.min(len >> 3, 16), 16) ^ 0x5bd1e995;
  else if (digitsOnly && len > st.maxNumber) h = hashString('num:' + Math.min(len, 12), 16) ^ 0x1b873593;
  h >>>= 0;
  sink.add(feature(st.ns, h));
  if (allCaps && len >= 3) sink.add(feature(st.capsNs, h));
  const w = st.window;
  for (let d = 1; d <= w && d <= st.filled; d++) sink.add(pairFeature(st.ns, st.ring[(st.words - d) & (MAX_WINDOW - 1)], h, d));
  st.ring[st.words & (MAX_WINDOW - 1)] = h;
  st.words++;
  if (st.filled < MAX_WINDOW) st.filled++;
}

/** Breaks the OSB chain (pairs do not span a boundary such as subject/body or text/HTML). */
function breakChain(st: Stream): void {
  st.filled = 0;
}

/** Tokenises `text` into `st`. Linear in min(text.length, MAX_SCAN_CHARS). */
function scanWords(text: string, st: Stream): void {
  const n = Math.min(text.length, MAX_SCAN_CHARS);
  let h = FNV_BASIS;
  let len = 0;
  let digitsOnly = true;
  let upper = 0;
  let lower = 0;
  let first = 0;
  for (let i = 0; i < n && st.words < st.maxWords && !sink.full; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xff01 && c <= 0xff5e) c -= 0xfee0; // fullwidth ASCII
    const k = classOf(c);
    if (k === IGNORE) continue;
    if (k === WORD) {
      if (len === 0) first = c;
      if (c < LOWER_LIMIT) {
        if (UPPER_FLAG[c]) upper++;
        else if (LOWER_FLAG[c]) lower++;
        c = LOWER[c];
      } else lower++;
      if (c < 0x30 || c > 0x39) digitsOnly = false;
      if (len < MAX_WORD_LENGTH) h = Math.imul(h ^ c, FNV_PRIME);
      len++;
      continue;
    }
    if (len > 0) {
      st.letters += upper + lower;
      st.caps += upper;
      st.scripts[scriptOf(first)]++;
      emitWord(st, h >>> 0, len, digitsOnly, upper > 0 && lower === 0);
      h = FNV_BASIS;
      len = 0;
      digitsOnly = true;
      upper = 0;
      lower = 0;
    }
    if (k === SINGLE) {
      // A run of the same `$`/`!`/`%` is one word (capped at 3); other SINGLEs are one character (a pair
      // for astral characters).
      let sh = Math.imul(FNV_BASIS ^ c, FNV_PRIME);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          sh = Math.imul(sh ^ d, FNV_PRIME);
          i++;
        }
      } else if (c < 128) {
        let run = 1;
        while (i + 1 < n && text.charCodeAt(i + 1) === c) {
          i++;
          if (run < 3) {
            sh = Math.imul(sh ^ c, FNV_PRIME);
            run++;
          }
        }
      }
      st.scripts[scriptOf(c)]++;
      emitWord(st, sh >>> 0, 1, false, false);
    }
  }
  if (len > 0 && st.words < st.maxWords) {
    st.letters += upper + lower;
    st.caps += upper;
    st.scripts[scriptOf(first)]++;
    emitWord(st, h >>> 0, len, digitsOnly, upper > 0 && lower === 0);
  }
}

// ---- HTML ----
const BLOCK_TAGS = new Set(['p', 'br', 'div', 'td', 'th', 'tr', 'li', 'table', 'tbody', 'thead', 'ul', 'ol', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6',
  'hr', 'title', 'blockquote', 'pre', 'center', 'form', 'option', 'select', 'dd', 'dt', 'dl', 'body', 'head', 'html', 'section', 'article',
  'header', 'footer', 'nav', 'img', 'input', 'textarea', 'button', 'caption', 'address', 'frame', 'iframe']);

const ENTITIES: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', copy: '©', reg: '®', trade: '™', euro: '€', pound: '£', cent: '¢',
  yen: '¥', sect: '§', deg: '°', middot: '·', bull: '•', hellip: '…', ndash: '–', mdash: '—', lsquo: '‘', rsquo: '’', ldquo: '“',
  rdquo: '”', laquo: '«', raquo: '»', times: '×', divide: '÷', shy: '', zwnj: '', zwj: '', iexcl: '¡', iquest: '¿', szlig: 'ß',
  aacute: 'á', eacute: 'é', iacute: 'í', oacute: 'ó', uacute: 'ú', agrave: 'à', egrave: 'è', igrave: 'ì', ograve: 'ò', ugrave: 'ù',
  acirc: 'â', ecirc: 'ê', icirc: 'î', ocirc: 'ô', ucirc: 'û', auml: 'ä', euml: 'ë', iuml: 'ï', ouml: 'ö', uuml: 'ü', atilde: 'ã',
  otilde: 'õ', ntilde: 'ñ', ccedil: 'ç', aring: 'å', aelig: 'æ', oslash: 'ø', Aacute: 'Á', Eacute: 'É', Auml: 'Ä', Ouml: 'Ö', Uuml: 'Ü',
};

/** Decodes character references in `s`. A reference is at most MAX_ENTITY characters long, so this is linear. */
function decodeEntities(s: string): string {
  let out = '';
  let last = 0;
  let i = s.indexOf('&');
  while (i >= 0) {
    // The reference's name: '#', letters and digits, then ';' within MAX_ENTITY characters.
    let semi = -1;
    const limit = Math.min(s.length, i + 1 + MAX_ENTITY);
    for (let k = i + 1; k < limit; k++) {
      const c = s.charCodeAt(k);
      if (c === 0x3b) {
        semi = k;
        break;
      }
      if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x23)) break;
    }
    let rep: string | undefined;
    if (semi > i + 1) {
      const body = s.slice(i + 1, semi);
      if (body.charCodeAt(0) === 0x23) {
        const hex = body.charCodeAt(1) === 0x78 || body.charCodeAt(1) === 0x58;
        const digits = body.slice(hex ? 2 : 1);
        const cp = digits.length > 0 && digits.length <= 7 && (hex ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/).test(digits) ? parseInt(digits, hex ? 16 : 10) : NaN;
        if (Number.isFinite(cp)) rep = cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : '\ufffd';
      } else if (Object.hasOwn(ENTITIES, body)) rep = ENTITIES[body];
    }
    if (rep !== undefined) {
      out += s.slice(last, i) + rep;
      last = semi + 1;
      i = s.indexOf('&', last);
    } else i = s.indexOf('&', i + 1);
  }
  return last === 0 ? s : out + s.slice(last);
}

function isNameChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x3a || c === 0x5f;
}

/** Case-insensitive test of ASCII `lit` (lowercase) at s[i]. */
function atCI(s: string, i: number, lit: string): boolean {
  if (i + lit.length > s.length) return false;
  for (let k = 0; k < lit.length; k++) {
    let c = s.charCodeAt(i + k);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== lit.charCodeAt(k)) return false;
  }
  return true;
}

/** Index of the next `</name` (case-insensitive) at or after `from`, or -1. */
function findClose(s: string, from: number, name: string, limit: number): number {
  let i = s.indexOf('</', from);
  while (i >= 0 && i < limit) {
    if (atCI(s, i + 2, name)) return i;
    i = s.indexOf('</', i + 2);
  }
  return -1;
}

export interface HtmlText {
  /** The visible text (tags removed, references decoded), at most MAX_SCAN_CHARS of the input scanned. */
  text: string;
  /** Number of tags seen, of <img> tags and of <a> tags. */
  tags: number;
  images: number;
  links: number;
}

/**
 * Reduces HTML to its visible text, in one pass: comments, <script> and <style> contents and tags are removed
 * (block-level tags become a space, inline tags nothing, as a browser renders them), character references
 * decoded. When `tagTokens` is given, each tag name and tag.attribute name is passed to it.
 */
export function htmlToText(html: string, tagTokens?: (tag: string, attr?: string) => void): HtmlText {
  const n = Math.min(html.length, MAX_SCAN_CHARS);
  const chunks: string[] = [];
  let tags = 0;
  let images = 0;
  let links = 0;
  let last = 0;
  let i = html.indexOf('<');
  while (i >= 0 && i < n) {
    const c1 = html.charCodeAt(i + 1);
    let next: number;
    let space = false;
    if (c1 === 0x21 && html.startsWith('--', i + 2)) {
      const end = html.indexOf('-->', i + 4);
      next = end < 0 || end >= n ? n : end + 3;
    } else if (c1 === 0x21 || c1 === 0x3f) {
      const end = html.indexOf('>', i + 2);
      next = end < 0 || end >= n ? n : end + 1;
      space = true;
    } else if (isNameChar(c1) || c1 === 0x2f) {
      const closing = c1 === 0x2f;
      let j = closing ? i + 2 : i + 1;
      const start = j;
      while (j < n && j - start < 32 && isNameChar(html.charCodeAt(j))) j++;
      const name = html.slice(start, j).toLowerCase();
      // The tag ends at the next '>' outside quotes, bounded by MAX_TAG_SCAN (a run-away tag ends there).
      let q = 0;
      let k = j;
      const tagLimit = Math.min(n, j + MAX_TAG_SCAN);
      // Attributes: names are reported; values (quoted or not) are skipped.
      let attrStart = -1;
      let inValue = false;
      let valueStarted = false;
      const report = !closing && tagTokens !== undefined;
      for (; k < tagLimit; k++) {
        const c = html.charCodeAt(k);
        if (q !== 0) {
          if (c === q) {
            q = 0;
            inValue = false;
          }
          continue;
        }
        if (c === 0x3e) break;
        if (inValue) {
          if (!valueStarted) {
            if (c <= 0x20) continue;
            valueStarted = true;
            if (c === 0x22 || c === 0x27) q = c;
          } else if (c <= 0x20) inValue = false;
          continue;
        }
        if (c === 0x22 || c === 0x27) {
          q = c;
          continue;
        }
        if (isNameChar(c)) {
          if (attrStart < 0) attrStart = k;
          continue;
        }
        if (attrStart >= 0 && report) tagTokens(name, html.slice(attrStart, Math.min(k, attrStart + 32)).toLowerCase());
        attrStart = -1;
        if (c === 0x3d) {
          inValue = true;
          valueStarted = false;
        }
      }
      if (attrStart >= 0 && report) tagTokens(name, html.slice(attrStart, Math.min(k, attrStart + 32)).toLowerCase());
      next = k >= tagLimit ? tagLimit : k + 1;
      if (name) {
        tags++;
        if (!closing) {
          if (name === 'img') images++;
          else if (name === 'a') links++;
          if (tagTokens) tagTokens(name);
        }
        space = BLOCK_TAGS.has(name);
        if (!closing && (name === 'script' || name === 'style')) {
          const end = findClose(html, next, name, n);
          if (end >= 0) {
            const gt = html.indexOf('>', end);
            next = gt < 0 || gt >= n ? n : gt + 1;
          } else next = n;
          space = true;
        }
      }
    } else {
      // A '<' that starts no tag is text.
      i = html.indexOf('<', i + 1);
      continue;
    }
    if (i > last) chunks.push(html.slice(last, i));
    if (space) chunks.push(' ');
    last = next;
    i = html.indexOf('<', next);
  }
  if (last < n) chunks.push(html.slice(last, n));
  let text = chunks.join('');
  if (text.includes('&')) text = decodeEntities(text);
  return { text, tags, images, links };
}

// ---- URLs ----
function isHostChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x25 || c === 0x5f || c >= 0x80;
}

/** Finds URL authorities (after `scheme://` and bare `www.`) in `s`, passing each host (raw) to `found`. */
function findUrls(s: string, seen: Set<string>, onHost: (host: string, userinfo: boolean) => void, onPath?: (path: string) => void): void {
  const n = Math.min(s.length, MAX_SCAN_CHARS);
  const take = (start: number): void => {
    // Authority: up to '/', '?', '#', whitespace, quote or angle bracket; userinfo ends at the last '@'.
    let j = start;
    let at = -1;
    const limit = Math.min(n, start + MAX_HOST_LENGTH + 64);
    for (; j < limit; j++) {
      const c = s.charCodeAt(j);
      if (c === 0x40) at = j;
      else if (!isHostChar(c) && c !== 0x3a) break;
    }
    let hostStart = at >= 0 ? at + 1 : start;
    let hostEnd = hostStart;
    while (hostEnd < j && s.charCodeAt(hostEnd) !== 0x3a) hostEnd++;
    while (hostStart < hostEnd && s.charCodeAt(hostStart) === 0x2e) hostStart++;
    while (hostEnd > hostStart && s.charCodeAt(hostEnd - 1) === 0x2e) hostEnd--;
    if (hostEnd <= hostStart || hostEnd - hostStart > MAX_HOST_LENGTH) return;
    if (onPath) {
      let e = j;
      const pl = Math.min(n, j + MAX_PATH_SCAN);
      while (e < pl) {
        const c = s.charCodeAt(e);
        if (c <= 0x20 || c === 0x22 || c === 0x27 || c === 0x3c || c === 0x3e) break;
        e++;
      }
      if (e > j) onPath(s.slice(j, e));
    }
    const host = s.slice(hostStart, hostEnd).toLowerCase();
    if (seen.has(host) || seen.size >= MAX_URLS) return;
    seen.add(host);
    onHost(host, at >= 0);
  };
  let budget = MAX_URL_CANDIDATES;
  let i = s.indexOf('://');
  while (i >= 0 && i < n && seen.size < MAX_URLS && budget-- > 0) {
    take(i + 3);
    i = s.indexOf('://', i + 3);
  }
  for (const www of ['www.', 'WWW.']) {
    i = s.indexOf(www);
    while (i >= 0 && i < n && seen.size < MAX_URLS && budget-- > 0) {
      const p = i > 0 ? s.charCodeAt(i - 1) : 0x20;
      if (p !== 0x2f && p !== 0x2e && p !== 0x40 && !(p < 128 && ASCII_CLASS[p] === WORD)) take(i);
      i = s.indexOf(www, i + 4);
    }
  }
}

function isNumericHost(h: string): boolean {
  for (let i = 0; i < h.length; i++) {
    const c = h.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || c === 0x2e)) return false;
  }
  return true;
}

function lastLabel(h: string): string {
  const dot = h.lastIndexOf('.');
  return dot >= 0 ? h.slice(dot + 1) : h;
}

function hostTokens(host: string, userinfo: boolean): void {
  if (userinfo) sink.token(NS.urlShape, 'userinfo');
  if (host.includes('%')) {
    sink.token(NS.urlShape, 'percent');
    return;
  }
  if (isNumericHost(host)) {
    sink.token(NS.urlShape, 'ip');
    return;
  }
  let domain: string | null = null;
  try {
    domain = getDomain(host, { extractHostname: false, validateHostname: true });
  } catch {
    domain = null;
  }
  if (!domain) {
    sink.token(NS.urlShape, 'nodomain');
    return;
  }
  sink.token(NS.urlDomain, domain);
  sink.token(NS.urlTld, lastLabel(domain));
  if (host.startsWith('xn--') || host.includes('.xn--')) sink.token(NS.urlShape, 'punycode');
}

// ---- header fields ----
function header(model: MessageModel, name: string): string | undefined {
  for (const h of model.headers) if (h.name === name) return h.value.length > MAX_HEADER_CHARS ? h.value.slice(0, MAX_HEADER_CHARS) : h.value;
  return undefined;
}

/** The addr-spec of the first mailbox of an address header (best effort), lowercased, or ''. */
function firstAddress(value: string): string {
  const lt = value.lastIndexOf('<');
  if (lt >= 0) {
    const gt = value.indexOf('>', lt);
    const inner = value.slice(lt + 1, gt < 0 ? undefined : gt).trim();
    if (inner.includes('@')) return inner.toLowerCase();
  }
  for (const part of value.split(/[\s,;]+/, 32)) if (part.includes('@')) return part.replace(/^[<("']+|[>)"']+$/g, '').toLowerCase();
  return '';
}

function domainOf(addr: string): string {
  const at = addr.lastIndexOf('@');
  return at >= 0 ? addr.slice(at + 1).replace(/\.+$/, '') : '';
}

function registrable(host: string): string {
  if (!host) return '';
  if (host.startsWith('[') || isNumericHost(host)) return '[ip]';
  try {
    return getDomain(host, { extractHostname: false, validateHostname: true }) ?? host;
  } catch {
    return host;
  }
}

function bucket(n: number, edges: readonly number[]): string {
  let k = 0;
  while (k < edges.length && n >= edges[k]) k++;
  return String(k);
}

/** Header fields whose presence or absence says something about the message (not about its path). */
const PRESENCE_FIELDS = ['list-id', 'list-unsubscribe', 'precedence', 'x-priority', 'x-msmail-priority', 'importance', 'x-mimeole',
  'reply-to', 'in-reply-to', 'references', 'organization', 'user-agent', 'x-mailer', 'mime-version', 'message-id', 'date', 'cc', 'sender',
  'content-transfer-encoding', 'thread-index', 'x-originating-ip', 'disposition-notification-to', 'errors-to', 'x-accept-language', 'to'];

function headerTokens(model: MessageModel): void {
  const names = new Set<string>();
  for (const h of model.headers) names.add(h.name);
  for (const f of PRESENCE_FIELDS) sink.token(NS.field, (names.has(f) ? '+' : '-') + f);

  const from = header(model, 'from') ?? '';
  const addr = firstAddress(from);
  const dom = domainOf(addr);
  const reg = registrable(dom);
  sink.token(NS.fromDomain, reg || '(none)');
  sink.token(NS.fromTld, reg ? lastLabel(reg) : '(none)');
  const local = addr.slice(0, Math.max(0, addr.lastIndexOf('@')));
  let digits = 0;
  for (let i = 0; i < local.length; i++) if (local.charCodeAt(i) >= 0x30 && local.charCodeAt(i) <= 0x39) digits++;
  sink.token(NS.fromShape, 'digits' + bucket(digits, [1, 3, 6]));
  sink.token(NS.fromShape, 'len' + bucket(local.length, [4, 9, 16, 24]));
  const lt = from.lastIndexOf('<');
  const display = lt > 0 ? from.slice(0, lt) : '';
  sink.token(NS.fromShape, display.trim() ? 'named' : 'bare');
  if (display) {
    const st = new Stream(NS.fromName, NS.fromName, 8, 0, 4);
    scanWords(display, st);
  }
  const replyTo = header(model, 'reply-to');
  if (replyTo !== undefined) sink.token(NS.fromShape, registrable(domainOf(firstAddress(replyTo))) === reg ? 'reply-same' : 'reply-other');

  const mailer = header(model, 'x-mailer') ?? header(model, 'user-agent');
  if (mailer !== undefined) {
    const st = new Stream(NS.mailer, NS.mailer, 6, 1, 2);
    scanWords(mailer.slice(0, 80), st);
  }
  const prio = header(model, 'x-priority');
  if (prio !== undefined) sink.token(NS.priority, prio.trim().slice(0, 1));

  const ct = header(model, 'content-type') ?? '';
  const semi = ct.indexOf(';');
  sink.token(NS.contentType, (semi < 0 ? ct : ct.slice(0, semi)).trim().toLowerCase().slice(0, 64) || '(none)');
  const cs = /charset\s*=\s*"?([A-Za-z0-9_.:-]{1,40})/i.exec(ct);
  sink.token(NS.charset, cs ? cs[1].toLowerCase() : '(none)');

  const to = header(model, 'to') ?? '';
  let ats = 0;
  for (let i = 0; i < to.length; i++) if (to.charCodeAt(i) === 0x40) ats++;
  sink.token(NS.shape, 'to' + bucket(ats, [1, 2, 5, 20]));
}

function structureTokens(model: MessageModel): void {
  const hasText = model.text.trim().length > 0;
  const hasHtml = model.html.length > 0;
  sink.token(NS.structure, hasText ? (hasHtml ? 'text+html' : 'text') : hasHtml ? 'html-only' : 'no-body');
  let attachments = 0;
  const limit = Math.min(model.parts.length, 256);
  for (let i = 0; i < limit; i++) {
    const p = model.parts[i];
    if (!p.isAttachment) continue;
    attachments++;
    sink.token(NS.attachment, p.trueType.category + ':' + p.trueType.label);
  }
  sink.token(NS.structure, 'att' + bucket(attachments, [1, 2, 4]));
  sink.token(NS.structure, 'parts' + bucket(model.parts.length, [2, 3, 5, 10]));
  sink.token(NS.structure, 'size' + bucket(model.size, [1024, 2048, 4096, 8192, 16384, 65536, 262144]));
}

/**
 * The feature set of a message: distinct 32-bit hashes, in first-seen order, at most MAX_FEATURES.
 * Never throws: an unexpected failure returns what was gathered before it.
 */
export function messageFeatures(model: MessageModel, options: Partial<TokenOptions> = {}): Uint32Array {
  const o = { ...DEFAULT_TOKEN_OPTIONS, ...options };
  const window = Math.max(0, Math.min(MAX_WINDOW - 1, Math.floor(o.window)));
  sink.reset();
  try {
    const subject = new Stream(NS.subject, NS.subjectCaps, MAX_SUBJECT_WORDS, window, o.maxNumberLength);
    scanWords(typeof model.subject === 'string' ? model.subject.slice(0, 4096) : '', subject);
    if (subject.words === 0) sink.token(NS.shape, 'no-subject');
    scriptTokens(subject, 's:');

    const body = new Stream(NS.body, NS.bodyCaps, o.maxWords, window, o.maxNumberLength);
    const text = typeof model.text === 'string' ? model.text : '';
    const html = typeof model.html === 'string' ? model.html : '';
    scanWords(text, body);
    let images = 0;
    let links = 0;
    if (html) {
      const tagTokens = o.htmlTags
        ? (tag: string, attr?: string) => sink.token(attr === undefined ? NS.tag : NS.tagAttr, attr === undefined ? tag : tag + '.' + attr)
        : undefined;
      const reduced = htmlToText(html, tagTokens);
      images = reduced.images;
      links = reduced.links;
      breakChain(body);
      scanWords(reduced.text, body);
    }
    scriptTokens(body, 'b:');
    sink.token(NS.shape, 'words' + bucket(body.words, [1, 20, 60, 150, 400, 1000]));
    sink.token(NS.shape, 'caps' + bucket(body.letters > 0 ? body.caps / body.letters : 0, [0.05, 0.1, 0.2, 0.35, 0.6]));
    sink.token(NS.shape, 'img' + bucket(images, [1, 2, 5]));
    sink.token(NS.shape, 'links' + bucket(links, [1, 2, 5, 15]));

    const seen = new Set<string>();
    const pathStream = new Stream(NS.urlPath, NS.urlPath, 256, 0, o.maxNumberLength);
    const onPath = o.urlWords ? (path: string) => scanWords(path, pathStream) : undefined;
    findUrls(text, seen, hostTokens, onPath);
    if (html) findUrls(html, seen, hostTokens, onPath);
    sink.token(NS.shape, 'hosts' + bucket(seen.size, [1, 2, 4, 8]));

    if (o.headers) headerTokens(model);
    structureTokens(model);
  } catch {
    // Whatever was gathered stands (the guards above should make this unreachable).
  }
  return sink.result();
}
