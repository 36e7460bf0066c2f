/**
 * Header decoding for the message model. Hostile input: every header line.
 * - Raw 8-bit header bytes (RFC 6532 allows UTF-8; older mail has Latin-1/Windows-1252) are read as UTF-8 when
 *   they are valid UTF-8, else in the charset the message declares for its text (as mail clients do: old Korean,
 *   Chinese, Japanese and Russian mailers write their subjects and names raw in EUC-KR, GB2312, Shift_JIS,
 *   KOI8-R…), else as Windows-1252.
 * - RFC 2047 encoded-words are decoded (libmime; unknown charsets and broken words best effort, never throws).
 * - MIME parameters: RFC 2045 syntax with comments stripped, RFC 2231 continuations and charsets (libmime),
 *   and the common non-standard RFC 2047 words inside quoted parameter values.
 * - Decoded text keeps every character, including bidirectional controls such as U+202E: the content filter
 *   has to see them to catch right-to-left file name tricks.
 * Limits: the splitter caps a header block at 1 MiB.
 */
import { TextDecoder } from 'node:util';
import libmime from 'libmime';

export interface RawHeaderLine { key: string; line: string }
export interface HeaderField { name: string; value: string }

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const CP1252 = new TextDecoder('windows-1252');

/**
 * A header string read byte-per-char (`binary`) turned into text: UTF-8 if valid, else the `fallback` charset
 * (the message's declared text charset) when it is a real hint and decodes, else Windows-1252.
 */
export function headerText(binary: string, fallback = ''): string {
  if (!/[\x80-\xff]/.test(binary)) return binary;
  const bytes = Buffer.from(binary, 'latin1');
  try { return UTF8.decode(bytes); } catch { /* not UTF-8 */ }
  return ((fallback && decoderFor(fallback)) || CP1252).decode(bytes);
}

/**
 * Encodings (the Encoding Standard's names, whatever label was declared) that are no hint for raw header bytes:
 * UTF-8 (already tried) and Windows-1252 (the default; us-ascii, latin1 and iso-8859-1 are its labels), and those
 * that do not keep ASCII as ASCII: UTF-16 would turn the field into other characters, `replacement`
 * (iso-2022-kr, hz-gb-2312…) into one U+FFFD, and ISO-2022-JP's escape sequences would shift the ASCII after them
 * into kanji. A sender could otherwise hide a subject from the rules by declaring one of them and adding one 8-bit
 * byte.
 */
const NO_HINT = new Set(['utf-8', 'windows-1252', 'utf-16le', 'utf-16be', 'replacement', 'x-user-defined', 'iso-2022-jp']);

/** WHATWG decoders by charset label (the labels mail uses: euc-kr, ks_c_5601-1987, gb2312, big5, koi8-r…). */
const DECODERS = new Map<string, TextDecoder | null>();

function decoderFor(label: string): TextDecoder | undefined {
  const key = label.toLowerCase().slice(0, 40);
  let d = DECODERS.get(key);
  if (d === undefined) {
    try { d = new TextDecoder(key); } catch { d = null; } // a label the Encoding Standard does not know
    if (d && NO_HINT.has(d.encoding)) d = null;
    if (DECODERS.size < 256) DECODERS.set(key, d);
  }
  return d ?? undefined;
}

function decodeWords(s: string): string {
  try { return libmime.decodeWords(s); } catch { return s; }
}

/** Unfolded value of a raw header line, raw 8-bit bytes (see headerText) and encoded-words decoded. */
export function decodedValue(line: string, fallback = ''): string {
  return decodeWords(headerText(libmime.decodeHeader(line).value, fallback));
}

/** Decoded fields in order; lines without a colon are left out and counted. */
export function decodeFields(lines: RawHeaderLine[], fallbackCharset = ''): { fields: HeaderField[]; withoutColon: number } {
  const fields: HeaderField[] = [];
  let withoutColon = 0;
  for (const { key, line } of lines) {
    if (!key) { withoutColon++; continue; }
    fields.push({ name: key, value: decodedValue(line, fallbackCharset) });
  }
  return { fields, withoutColon };
}

/** Fields as received: unfolded, encoded-words and 8-bit bytes left as they are (one char per byte). */
export function rawFields(lines: RawHeaderLine[]): HeaderField[] {
  const fields: HeaderField[] = [];
  for (const { key, line } of lines) if (key) fields.push({ name: key, value: libmime.decodeHeader(line).value });
  return fields;
}

export interface Structured { value: string; params: Record<string, string> }

/** A structured MIME header (Content-Type, Content-Disposition): lowercased value and decoded parameters. */
export function parseStructured(line: string | undefined): Structured {
  if (line === undefined) return { value: '', params: {} };
  const raw = headerText(libmime.decodeHeader(line).value);
  try {
    const parsed = libmime.parseHeaderValue(raw, { stripComments: true });
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(parsed.params)) {
      params[k] = parsed.decodedParams.includes(k) ? v : decodeWords(v);
    }
    return { value: parsed.value.trim().toLowerCase(), params };
  } catch {
    return { value: raw.split(';')[0].trim().toLowerCase(), params: {} };
  }
}

export interface MimeHeaders {
  /** Declared type without parameters, `defaultType` when absent (RFC 2045 §5.2, RFC 2046 §5.1.5). */
  type: string;
  charset: string;
  disposition: string;
  /** Content-Transfer-Encoding, lowercased, comments removed. */
  cte: string;
  /** The file name clients show: Content-Disposition filename, else Content-Type name. */
  name: string | undefined;
  /** Other distinct names the part declares (a filename and a name that disagree). */
  otherNames: string[];
  flowed: boolean;
  delSp: boolean;
}

/** The MIME fields of one entity's header block. */
export function mimeHeaders(lines: RawHeaderLine[], defaultType: string): MimeHeaders {
  const first = (k: string) => lines.find((l) => l.key === k)?.line;
  const ct = parseStructured(first('content-type'));
  const cd = parseStructured(first('content-disposition'));
  const cteLine = first('content-transfer-encoding');
  const cte = cteLine === undefined ? '' : libmime.decodeHeader(cteLine).value.replace(/\([^)]*\)/g, '').trim().toLowerCase();
  const names = [cd.params.filename, ct.params.name].filter((n): n is string => typeof n === 'string' && n !== '');
  const type = /^[^/\s]+\/[^/\s]+$/.test(ct.value) ? ct.value : defaultType;
  return {
    type,
    charset: ct.params.charset ?? '',
    disposition: cd.value,
    cte,
    name: names[0],
    otherNames: [...new Set(names.slice(1))].filter((n) => n !== names[0]),
    flowed: (ct.params.format ?? '').toLowerCase() === 'flowed',
    delSp: (ct.params.delsp ?? '').toLowerCase() === 'yes',
  };
}
