/**
 * Classifying text content: is it text at all, and if so is it markup (HTML, SVG, HTA, WSF, scriptlet, XML), an
 * RFC 5322 message, a script (batch, PowerShell, VBScript, JScript/JavaScript, .reg) or plain text.
 *
 * Hostile input: the first bytes of any part. Only a prefix (the caller's head, 64 KiB) is examined; every regular
 * expression is linear (no nested quantifiers) and runs on at most that prefix. The script heuristics are
 * deliberately conservative: plain prose, a mail that quotes a command or two, or a CSV must stay `text`; a
 * script needs several independent markers of its language (or one that never occurs in prose, such as
 * `@echo off` on the first line or `new ActiveXObject(`).
 */
import { isUtf8 } from 'node:buffer';

export type TextKind =
  | { category: 'html'; label: 'html' }
  | { category: 'image'; label: 'svg' }
  | { category: 'script'; label: string }
  | { category: 'message'; label: 'rfc822' }
  | { category: 'text'; label: 'txt' | 'xml' };

/**
 * Decode `head` as text: UTF-8 (optionally with BOM), UTF-16 with a BOM, or 8-bit text without C0 controls.
 * Null when it looks binary (NUL bytes, control characters). `complete` says whether `head` is the whole content
 * (if not, a multi-byte sequence cut at the end is fine).
 */
export function decodeText(head: Buffer, complete: boolean): string | null {
  if (head.length === 0) return null;
  if (head[0] === 0xff && head[1] === 0xfe) return utf16(head.subarray(2), 'le', complete);
  if (head[0] === 0xfe && head[1] === 0xff) return utf16(head.subarray(2), 'be', complete);
  const body = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? head.subarray(3) : head;
  // One native pass over a one-byte copy finds NUL and the other C0 controls text does not use.
  if (BINARY.test(body.toString('latin1'))) return null;
  if (complete) return isUtf8(body) ? body.toString('utf8') : body.toString('latin1');
  // Cut short: a multi-byte sequence broken at the end is fine; anything else not UTF-8 is 8-bit text.
  const whole = body.subarray(0, body.length - brokenTail(body));
  return isUtf8(whole) ? whole.toString('utf8') : body.toString('latin1');
}

/** C0 controls other than TAB, LF, VT, FF, CR, SUB and ESC (and NUL): not text. */
const BINARY = /[\x00-\x08\x0e-\x19\x1c-\x1f]/;

/** Bytes at the end of `b` that start a UTF-8 sequence the buffer cuts short (0 when none). */
function brokenTail(b: Buffer): number {
  for (let back = 1; back <= 3 && back <= b.length; back++) {
    const c = b[b.length - back];
    if ((c & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

function utf16(body: Buffer, order: 'le' | 'be', complete: boolean): string | null {
  const even = body.subarray(0, body.length - (body.length % 2));
  if (complete && even.length !== body.length) return null;
  const le = order === 'le' ? even : Buffer.from(even).swap16();
  const text = le.toString('utf16le');
  if (/[\u0000-\u0008\u000e-\u0019\u001c-\u001f]/.test(text)) return null;
  return text;
}

/** What kind of text this is (markup, message, script), defaulting to plain text. */
export function classifyText(text: string): TextKind {
  return markup(text) ?? message(text) ?? script(text) ?? { category: 'text', label: 'txt' };
}

const HTML_TAGS = new Set([
  'html', 'head', 'body', 'meta', 'title', 'script', 'style', 'link', 'base', 'div', 'span', 'p', 'table', 'form',
  'iframe', 'frameset', 'a', 'img', 'center', 'font', 'b', 'i', 'u', 'br', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'noscript',
  'input', 'button', 'object', 'embed', 'pre', 'ul', 'ol',
]);

function markup(text: string): TextKind | undefined {
  const sample = text.slice(0, 65536);
  if (/<hta:application[\s>/]/i.test(sample)) return { category: 'script', label: 'hta' };
  // Skip leading whitespace, an XML declaration, processing instructions and comments.
  let s = sample.replace(/^\uFEFF/, '');
  for (let i = 0; i < 64; i++) {
    const before = s;
    s = s.replace(/^\s+/, '');
    if (s.startsWith('<?xml') || s.startsWith('<?XML')) s = skipPast(s, '?>');
    else if (s.startsWith('<!--')) s = skipPast(s, '-->');
    else if (/^<\?[a-z]/i.test(s) && !/^<\?component/i.test(s)) s = skipPast(s, '?>');
    if (s === before) break;
  }
  const lower = s.slice(0, 512).toLowerCase();
  if (lower.startsWith('<!doctype html')) return { category: 'html', label: 'html' };
  if (lower.startsWith('<!doctype svg')) return { category: 'image', label: 'svg' };
  if (lower.startsWith('<!doctype')) s = skipPast(s, '>').replace(/^\s+/, '');
  const tag = /^<([a-zA-Z][a-zA-Z0-9:-]*)[\s>/]/.exec(s)?.[1]?.toLowerCase();
  if (tag === undefined) {
    if (sample.replace(/^\uFEFF?\s*/, '').startsWith('<?xml')) return { category: 'text', label: 'xml' };
    return undefined;
  }
  if (tag === 'svg' || tag === 'svg:svg') return { category: 'image', label: 'svg' };
  if (tag === 'package' || tag === 'job') {
    if (/<job[\s>]/i.test(sample) && /<script[\s>]/i.test(sample)) return { category: 'script', label: 'wsf' };
  }
  if (tag === 'scriptlet' || tag === 'component' || /^<\?component/i.test(s)) {
    if (/<script[\s>]/i.test(sample)) return { category: 'script', label: 'sct' };
  }
  if (HTML_TAGS.has(tag)) return { category: 'html', label: 'html' };
  if (/^<\?xml/i.test(sample.replace(/^\uFEFF?\s*/, ''))) return { category: 'text', label: 'xml' };
  return undefined;
}

function skipPast(s: string, end: string): string {
  const i = s.indexOf(end);
  return i < 0 ? '' : s.slice(i + end.length);
}

const KNOWN_FIELDS = new Set([
  'from', 'to', 'cc', 'bcc', 'subject', 'date', 'message-id', 'received', 'return-path', 'mime-version', 'content-type',
  'reply-to', 'sender', 'delivered-to', 'in-reply-to', 'references', 'x-mailer', 'dkim-signature', 'authentication-results',
  'content-transfer-encoding', 'user-agent', 'thread-topic', 'x-originating-ip',
]);
const ANCHOR_FIELDS = new Set(['from', 'received', 'message-id', 'return-path', 'date', 'mime-version', 'delivered-to', 'dkim-signature']);

/**
 * An RFC 5322 message: optional mbox `From ` line, then only header fields (or their folded continuations) up to
 * a blank line, with at least two well-known fields of which one anchors it as mail (From, Date, Received, ...).
 */
function message(text: string): TextKind | undefined {
  const lines = text.slice(0, 65536).split(/\r?\n/);
  let i = 0;
  if (lines[0]?.startsWith('From ')) i = 1;
  const names = new Set<string>();
  let sawField = false;
  for (; i < lines.length && i < 500; i++) {
    const line = lines[i];
    if (line === '') break;
    if (/^[ \t]/.test(line)) {
      if (!sawField) return undefined;
      continue;
    }
    const m = /^([!-9;-~]+):/.exec(line);
    if (!m) return undefined;
    sawField = true;
    names.add(m[1].toLowerCase());
  }
  if (i >= lines.length || lines[i] !== '') return undefined;
  const known = [...names].filter((n) => KNOWN_FIELDS.has(n));
  if (known.length >= 2 && known.some((n) => ANCHOR_FIELDS.has(n))) return { category: 'message', label: 'rfc822' };
  return undefined;
}

type Test = RegExp | ((text: string) => boolean);
/**
 * A marker: its test, its weight, and the literals (lowercase, `|`-separated; `^x` = the text starts with x) of
 * which every match contains at least one. The literals are checked first, on the lowercased text, with one
 * native substring search each: prose and most mail carry none of them, so the regular expressions, which cost
 * a pass over up to 64 KiB each, mostly do not run (this classification was the largest cost of parsing a
 * plain-text message). textkind.test.ts checks that no literal list excludes a match.
 */
interface Marker { test: Test; weight: number; need: string[] }
const m = (test: Test, need: string, weight = 1): Marker => ({ test, weight, need: need.split('|') });

/** Each marker counts once; a language wins at a score of 3. */
export const LANGUAGES: { label: string; markers: Marker[] }[] = [
  {
    label: 'bat',
    markers: [
      m(echoFirst, 'echo', 3),
      m(/%~(?:[a-z]{0,6})[0-9]/i, '%~'),
      m(/^[ \t]*setlocal\b/im, 'setlocal'),
      m(/^[ \t]*goto\s+:?[\w.]+[ \t]*\r?$/im, 'goto'),
      m(/^[ \t]*if\s+(?:\/i\s+)?(?:not\s+)?(?:exist|errorlevel|defined)\b/im, 'exist|errorlevel|defined'),
      m(/^[ \t]*set\s+\/[ap]\s/im, 'set'),
      m(/^[ \t]*call\s+:\w+/im, 'call'),
      m(/^:[A-Za-z_][\w.-]*[ \t]*\r?$/m, '^:|\n:|\r:|\u2028:|\u2029:'),
      m(/%(?:comspec|temp|appdata|userprofile|systemroot|windir)%/i, '%comspec%|%temp%|%appdata%|%userprofile%|%systemroot%|%windir%'),
      m(/^[ \t]*(?:start|del|copy|move|mkdir|rmdir)\s+\/[a-z]\b/im, 'start|del|copy|move|mkdir|rmdir'),
    ],
  },
  {
    label: 'ps1',
    markers: [
      m(/\[CmdletBinding\(/i, '[cmdletbinding(', 3),
      m(/^#Requires\s+-/im, '#requires', 3),
      m(/^[ \t]*param\s*\(/im, 'param'),
      m(/\$(?:PSScriptRoot|PSVersionTable|PSCommandPath|ExecutionContext)\b/i, '$psscriptroot|$psversiontable|$pscommandpath|$executioncontext'),
      m(/\$env:[A-Za-z_]/i, '$env:'),
      m(/-ExecutionPolicy\s+(?:Bypass|Unrestricted)/i, '-executionpolicy'),
      m(/\[(?:System\.)?(?:Convert|Text\.Encoding|Reflection\.Assembly|IO\.File|Net\.WebClient)\]::/i, ']::'),
      m(/\b(?:IEX|Invoke-Expression)\b/i, 'iex|invoke-expression'),
      m(/\b(?:Invoke-WebRequest|Invoke-RestMethod|Start-BitsTransfer)\b/i, 'invoke-webrequest|invoke-restmethod|start-bitstransfer'),
      m(/\bNew-Object\s+(?:-TypeName\s+)?(?:System\.|Net\.|IO\.|-ComObject)/i, 'new-object'),
      m(/\b(?:Get|Set|Remove|Add|Start|Stop)-(?:ChildItem|Content|Item|ItemProperty|Process|Service|Type|MpPreference)\b/i, 'get-|set-|remove-|add-|start-|stop-'),
      m(/\|\s*(?:ForEach-Object|Where-Object|Out-Null|Select-Object)\b/i, 'foreach-object|where-object|out-null|select-object'),
      m(/\bWrite-(?:Host|Output|Verbose)\b/i, 'write-'),
      m(/^[ \t]*function\s+[A-Za-z]+-[A-Za-z]+\s*(?:\{|\()/im, 'function'),
    ],
  },
  {
    label: 'vbs',
    markers: [
      m(/\bCreateObject\s*\(\s*"(?:WScript\.Shell|Scripting\.FileSystemObject|Shell\.Application|MSXML2\.[\w.]+|Microsoft\.XMLHTTP|ADODB\.Stream|WinHttp\.[\w.]+)"/i, 'createobject', 2),
      m(/\bWScript\.(?:Echo|Sleep|Quit|Arguments|ScriptFullName|CreateObject)\b/i, 'wscript.'),
      m(/^[ \t]*Option\s+Explicit[ \t]*\r?$/im, 'explicit'),
      m(/^[ \t]*On\s+Error\s+Resume\s+Next[ \t]*\r?$/im, 'resume'),
      m(/^[ \t]*Dim\s+\w+(?:\s*,\s*\w+)*[ \t]*\r?$/im, 'dim'),
      m(/^[ \t]*End\s+(?:Sub|Function|If)[ \t]*\r?$/im, 'end'),
      m(/^[ \t]*Set\s+\w+\s*=\s*(?:CreateObject|GetObject|Nothing|\w+\.)/im, 'set'),
      m(/\bExecute(?:Global)?\s*[("]/i, 'execute'),
      m(/\bChrW?\(\d+\)\s*&/i, 'chr'),
    ],
  },
  {
    label: 'js',
    markers: [
      m(/\bnew\s+ActiveXObject\s*\(/, 'activexobject', 3),
      m(/\bWScript\.(?:CreateObject|Shell|Echo|Sleep|ScriptFullName)\b/, 'wscript.'),
      m(/\bvar\s+[A-Za-z_$][\w$]*\s*=/, 'var'),
      m(/\b(?:let|const)\s+[A-Za-z_$][\w$]*\s*=/, 'let|const'),
      m(/\bfunction\s*[A-Za-z_$]?[\w$]*\s*\([^)\n]*\)\s*\{/, 'function'),
      m(/\beval\s*\(/, 'eval'),
      m(/String\.fromCharCode\s*\(/, 'string.fromcharcode'),
      m(/\bdocument\.(?:write|createElement|getElementById)\s*\(/, 'document.'),
      m(/\b(?:window|document)\.location\b/, '.location'),
      m(/\brequire\s*\(\s*['"]/, 'require'),
      m(/\b(?:atob|unescape|decodeURIComponent)\s*\(/, 'atob|unescape|decodeuricomponent'),
      m(/\)\s*=>\s*\{/, '=>'),
    ],
  },
];

/** Whether `lower` (the lowercased text) holds one of a marker's literals. */
function mayMatch(lower: string, need: string[]): boolean {
  for (const n of need) if (n.charCodeAt(0) === 0x5e /* ^ */ ? lower.startsWith(n.slice(1)) : lower.includes(n)) return true;
  return false;
}

/** A language's score; `lower` (the text lowercased) lets markers whose literals are absent be skipped. */
export function score(text: string, markers: Marker[], lower: string | null = text.toLowerCase()): number {
  let total = 0;
  for (const mk of markers) {
    if (lower !== null && !mayMatch(lower, mk.need)) continue;
    if (typeof mk.test === 'function' ? mk.test(text) : mk.test.test(text)) total += mk.weight;
  }
  return total;
}

/** The first line that is not blank or a comment is `@echo off` (or on): a batch file's usual opening. */
function echoFirst(text: string): boolean {
  let pos = 0;
  for (let n = 0; n < 50 && pos < text.length; n++) {
    const nl = text.indexOf('\n', pos);
    const line = text.slice(pos, nl < 0 ? text.length : nl).trim();
    pos = nl < 0 ? text.length : nl + 1;
    if (line === '' || /^(?:rem\b|::)/i.test(line)) continue;
    return /^@?echo\s+(?:off|on)\b/i.test(line);
  }
  return false;
}

/** Fraction of non-empty lines that look like code (end in ; { } ) or are // comments). */
function codeLineRatio(text: string): number {
  let code = 0;
  let all = 0;
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '') continue;
    all++;
    if (/[;{}(),]$/.test(t) || t.startsWith('//')) code++;
  }
  return all === 0 ? 0 : code / all;
}

function script(text: string): TextKind | undefined {
  const sample = text.slice(0, 65536).replace(/^\uFEFF/, '');
  if (/^#!\s*\/?[\w./-]/.test(sample)) return { category: 'script', label: shebangLabel(sample) };
  if (/^\s*(?:Windows Registry Editor Version 5\.00|REGEDIT4)\s*$/m.test(sample.slice(0, 200))) return { category: 'script', label: 'reg' };
  if (sample.startsWith('#@~^')) return { category: 'script', label: 'encoded_script' };
  let best: { label: string; score: number } | undefined;
  const lower = sample.toLowerCase();
  for (const lang of LANGUAGES) {
    const s = score(sample, lang.markers, lower);
    if (s >= 3 && (!best || s > best.score)) best = { label: lang.label, score: s };
  }
  if (!best) return undefined;
  // JavaScript markers also appear in prose about code; require the text to be mostly code lines as well.
  if (best.label === 'js' && !/\bnew\s+ActiveXObject\s*\(/.test(sample) && codeLineRatio(sample) < 0.4) return undefined;
  return { category: 'script', label: best.label };
}

const INTERPRETERS: [RegExp, string][] = [
  [/^(?:ba|da|k|z|c|tc|fi)?sh$/, 'sh'],
  [/^python[\d.]*$/, 'python'],
  [/^perl[\d.]*$/, 'perl'],
  [/^ruby[\d.]*$/, 'ruby'],
  [/^(?:node|nodejs|deno|bun)$/, 'js'],
  [/^php[\d.]*$/, 'php'],
  [/^pwsh$|^powershell$/, 'ps1'],
  [/^(?:g?awk|sed|tclsh|wish|lua|osascript)$/, 'script'],
];

function shebangLabel(text: string): string {
  const line = text.slice(2, text.indexOf('\n') < 0 ? 200 : Math.min(text.indexOf('\n'), 200)).trim();
  const parts = line.split(/\s+/);
  let prog = parts[0]?.split('/').pop() ?? '';
  if (prog === 'env') prog = parts.slice(1).find((p) => !p.startsWith('-')) ?? '';
  for (const [re, label] of INTERPRETERS) if (re.test(prog)) return label;
  return 'script';
}
