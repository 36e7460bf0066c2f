/**
 * Credential-harvesting HTML (anti-phishing, SPEC §3.4): HTML and SVG attachments that are a login page or a
 * redirect in disguise. A local file has no site of its own, so a form that sends a password anywhere on the
 * web, or a page whose script sends the reader elsewhere, is the whole point of the attachment.
 *
 * Findings (strongest first):
 *   credential_form  a password field together with a form posting to an absolute http(s) URL or to a server
 *                    script (`.php`, `.asp`, `.cgi`…), or a script that sends data out (fetch, XMLHttpRequest,
 *                    jQuery ajax/post, sendBeacon, the Telegram bot API) to an absolute URL;
 *   redirect         a meta refresh to an absolute URL; a script that sets `location` (window.location,
 *                    location.href/replace/assign, document.location) when the script is obfuscated (atob,
 *                    unescape, decodeURIComponent, String.fromCharCode, escaped string literals, eval or
 *                    document.write of decoded text), or when it names an absolute URL and the page shows next
 *                    to no text of its own;
 *   obfuscated       decoded text written into the page or evaluated, without a form or redirect seen.
 * Decoding: string literals passed to atob / unescape / decodeURIComponent / decodeURI, String.fromCharCode lists,
 * and \xHH / \uHHHH escapes are decoded (two rounds) and the result is examined like the page itself, so a form
 * hidden in base64 is still a form.
 *
 * Hostile input: the attachment's bytes. At most `maxBytes` are read; every pattern is a literal or has bounded
 * repetitions, decoding is capped (32 literals, 1 MiB of decoded text), and nothing here throws.
 */

export type HtmlFindingKind = 'credential_form' | 'redirect' | 'obfuscated';

export interface HtmlFinding {
  kind: HtmlFindingKind;
  evidence: string;
  /** Where it sends the reader or the data (a host, or a script path), when known. */
  target?: string;
}

const MAX_DECODED = 1024 * 1024;
const MAX_LITERALS = 32;

/** Text of HTML bytes: UTF-16 when it has a byte-order mark (or looks like it), else UTF-8. */
export function htmlText(buf: Buffer): string {
  if (buf.length >= 2 && ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0x3c && buf[1] === 0x00))) return buf.toString('utf16le');
  if (buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff) {
    const swapped = Buffer.from(buf.subarray(0, buf.length - (buf.length % 2)));
    swapped.swap16();
    return swapped.toString('utf16le');
  }
  return buf.toString('utf8');
}

function percentDecode(s: string): string {
  return s.replace(/%u([0-9a-fA-F]{4})|%([0-9a-fA-F]{2})/g, (_m, u: string | undefined, b: string | undefined) => String.fromCharCode(parseInt(u ?? b!, 16)));
}

function escapesDecode(s: string): string {
  return s.replace(/\\x([0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})/g, (_m, x: string | undefined, u: string | undefined) => String.fromCharCode(parseInt(x ?? u!, 16)));
}

interface Decoded { texts: string[]; decoders: Set<string> }

/** Decodes what a script hides: encoded string literals, character-code lists, escaped literals. */
function decodeLayer(src: string, out: Decoded, budget: { left: number; literals: number }): string[] {
  const found: string[] = [];
  const push = (t: string, how: string) => {
    if (!t || budget.left <= 0) return;
    const cut = t.length > budget.left ? t.slice(0, budget.left) : t;
    budget.left -= cut.length;
    found.push(cut);
    out.decoders.add(how);
  };
  const call = /\b(atob|unescape|decodeURIComponent|decodeURI)\s{0,8}\(\s{0,8}(["'`])/g;
  for (let m = call.exec(src); m && budget.literals < MAX_LITERALS && budget.left > 0; m = call.exec(src)) {
    budget.literals++;
    const start = m.index + m[0].length;
    const end = src.indexOf(m[2], start);
    if (end < 0) break;
    const lit = src.slice(start, Math.min(end, start + MAX_DECODED));
    call.lastIndex = end + 1;
    if (m[1] === 'atob') {
      const clean = lit.replace(/\s/g, '');
      if (/^[A-Za-z0-9+/=_-]{8,}$/.test(clean)) push(Buffer.from(clean, 'base64').toString('latin1'), 'atob');
    } else {
      push(percentDecode(lit), m[1]);
    }
  }
  const codes = /fromCharCode\s{0,8}\(\s{0,8}([0-9][0-9,\s]{2,200000})\)/g;
  for (let m = codes.exec(src); m && budget.literals < MAX_LITERALS && budget.left > 0; m = codes.exec(src)) {
    budget.literals++;
    const chars = m[1].split(',').slice(0, 100_000).map((x) => Number(x.trim())).filter((n) => Number.isInteger(n) && n > 0 && n < 0x10000);
    push(String.fromCharCode(...chars.slice(0, 65_535)), 'fromCharCode');
  }
  let escapes = 0;
  for (let i = src.indexOf('\\x'); i >= 0 && escapes < 20; i = src.indexOf('\\x', i + 2)) escapes++;
  for (let i = src.indexOf('\\u'); i >= 0 && escapes < 20; i = src.indexOf('\\u', i + 2)) escapes++;
  if (escapes >= 20) push(escapesDecode(src.length > MAX_DECODED ? src.slice(0, MAX_DECODED) : src), 'escaped literals');
  return found;
}

/** A password input (tag attribute or script), the precondition of a credential form. */
export const PASSWORD_FIELD = /type\s{0,8}=\s{0,8}\\?["']?\s{0,8}password\b|\.type\s{0,8}=\s{0,8}["']password["']/i;
const ACTION_ATTR = /\b(?:action|formaction)\s{0,8}=\s{0,8}(?:"([^"]{0,2048})"|'([^']{0,2048})'|([^\s>]{1,2048}))/i;
const SCRIPT_TARGET = /\.(?:php|php\d|asp|aspx|cgi|pl|jsp|do)(?:[?#/]|$)/i;
const SENDS_DATA = /\bfetch\s{0,8}\(|XMLHttpRequest|\$\.(?:ajax|post|get)\s{0,8}\(|\baxios\b|sendBeacon|api\.telegram\.org|\.submit\s{0,8}\(\s{0,8}\)/i;
const ABSOLUTE_URL = /https?:\/\/[a-z0-9][a-z0-9.-]{0,252}/gi;
const LOCATION_SET = /\b(?:window|document|top|self|parent)\s{0,4}\.\s{0,4}location\s{0,8}(?:\.\s{0,4}href\s{0,8})?=(?!=)|\blocation\s{0,4}\.\s{0,4}(?:href\s{0,8}=(?!=)|replace\s{0,8}\(|assign\s{0,8}\()|(?:^|[;{}\s])location\s{0,8}=(?!=)/i;
const REFRESH = /http-equiv\s{0,8}=\s{0,8}["']?\s{0,8}refresh/i;
const SINK = /\beval\s{0,8}\(|\bnew\s{1,8}Function\s{0,8}\(|document\s{0,4}\.\s{0,4}write(?:ln)?\s{0,8}\(|\.innerHTML\s{0,8}=|insertAdjacentHTML|\bsetTimeout\s{0,8}\(\s{0,8}["'`]/i;

function hostIn(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.hostname : null;
  } catch { return null; }
}

const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);

/** The source of each `<name …>` tag (first `max`, each cut at 4,000 characters); linear in the input. */
function tags(src: string, lower: string, name: string, max = 200): string[] {
  const out: string[] = [];
  const open = `<${name}`;
  let i = 0;
  let gt = -1;
  while (out.length < max) {
    const lt = lower.indexOf(open, i);
    if (lt < 0) break;
    // The `>` that closes this tag; the one found for an earlier tag still serves when it lies beyond this one.
    if (gt < lt) gt = src.indexOf('>', lt);
    if (gt < 0) break;
    i = lt + open.length;
    const after = lower.charCodeAt(i);
    if (isSpace(after) || after === 47 || after === 62) out.push(src.slice(lt, Math.min(gt + 1, lt + 4000)));
  }
  return out;
}

/** Letters the page shows (outside tags, scripts and styles), counted up to `cap`, in the first 256 KiB. */
function visibleLetters(src: string, cap: number): number {
  const s = src.length > 262_144 ? src.slice(0, 262_144) : src;
  const lower = s.toLowerCase();
  let n = 0;
  let i = 0;
  while (i < s.length && n < cap) {
    const lt = s.indexOf('<', i);
    const end = lt < 0 ? s.length : lt;
    for (let k = i; k < end && n < cap; k++) {
      const c = s.charCodeAt(k);
      if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c >= 0xc0) n++;
    }
    if (lt < 0) break;
    const script = lower.startsWith('<script', lt);
    if (script || lower.startsWith('<style', lt)) {
      const close = lower.indexOf(script ? '</script' : '</style', lt);
      if (close < 0) break;
      i = close + 2;
      continue;
    }
    const gt = s.indexOf('>', lt);
    if (gt < 0) break;
    i = gt + 1;
  }
  return n;
}

/** Examines an HTML or SVG document (attachment, or a message body with `body`); findings strongest first. */
export function analyzeHtml(src: string): HtmlFinding[] {
  const decoded: Decoded = { texts: [], decoders: new Set() };
  const budget = { left: MAX_DECODED, literals: 0 };
  let layer = decodeLayer(src, decoded, budget);
  decoded.texts.push(...layer);
  if (layer.length) {
    layer = decodeLayer(layer.join('\n'), decoded, budget);
    decoded.texts.push(...layer);
  }
  const views = [src, ...decoded.texts];
  const all = views.length === 1 ? src : views.join('\n');
  const lower = all.toLowerCase();
  const findings: HtmlFinding[] = [];
  const obfuscated = decoded.decoders.size > 0;
  const hasSink = SINK.test(all);

  // Password field and somewhere to send it.
  if (PASSWORD_FIELD.test(all)) {
    let where: string | null = null;
    let target: string | undefined;
    for (const tag of [...tags(all, lower, 'form'), ...tags(all, lower, 'button'), ...tags(all, lower, 'input')]) {
      if (where) break;
      const a = ACTION_ATTR.exec(tag);
      const action = a ? (a[1] ?? a[2] ?? a[3] ?? '').trim() : '';
      if (!action) continue;
      const abs = /^(?:https?:)?\/\//i.test(action) ? hostIn(action.startsWith('//') ? `https:${action}` : action) : null;
      if (abs) { where = `form posts to ${abs}`; target = abs; } else if (SCRIPT_TARGET.test(action)) { target = action.slice(0, 60); where = `form posts to script ${target}`; }
    }
    if (!where && SENDS_DATA.test(all)) {
      ABSOLUTE_URL.lastIndex = 0;
      const m = ABSOLUTE_URL.exec(all);
      ABSOLUTE_URL.lastIndex = 0;
      if (m) { target = m[0].replace(/^https?:\/\//i, ''); where = `script sends to ${target}`; }
    }
    if (where) findings.push({ kind: 'credential_form', evidence: `password field, ${where}`, ...(target ? { target } : {}) });
  }

  // Redirects.
  for (const tag of tags(all, lower, 'meta')) {
    if (!REFRESH.test(tag)) continue;
    const url = /url\s{0,8}=\s{0,8}["']?\s{0,8}(https?:\/\/[^"'\s>;]{1,2048})/i.exec(tag);
    const host = url ? hostIn(url[1]) : null;
    if (host) { findings.push({ kind: 'redirect', evidence: `meta refresh to ${host}`, target: host }); break; }
  }
  if (!findings.some((f) => f.kind === 'redirect') && LOCATION_SET.test(all)) {
    if (obfuscated) {
      findings.push({ kind: 'redirect', evidence: `script sets location, hidden with ${[...decoded.decoders].join(', ')}` });
    } else {
      ABSOLUTE_URL.lastIndex = 0;
      let host: string | null = null;
      for (let m = ABSOLUTE_URL.exec(all), k = 0; m && k < 50 && !host; m = ABSOLUTE_URL.exec(all), k++) {
        const h = hostIn(m[0]);
        if (h && h !== 'www.w3.org') host = h;
      }
      ABSOLUTE_URL.lastIndex = 0;
      if (host && visibleLetters(src, 200) < 200) findings.push({ kind: 'redirect', evidence: `script sends the reader to ${host}`, target: host });
    }
  }
  if (!findings.length && obfuscated && hasSink) {
    findings.push({ kind: 'obfuscated', evidence: `decoded text (${[...decoded.decoders].join(', ')}) written or run` });
  }
  return findings;
}
