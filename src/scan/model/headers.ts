/**
 * Header decoding for the message model. Hostile input: every header line.
 * - Raw 8-bit header bytes (RFC 6532 allows UTF-8; older mail has Latin-1/Windows-1252) are read as UTF-8 when
 *   they are valid UTF-8, else as Windows-1252.
 * - RFC 2047 encoded-words are decoded (libmime; unknown charsets and broken words best effort, never throws).
 * - MIME parameters: RFC 2045 syntax with comments stripped, RFC 2231 continuations and charsets (libmime),
 *   and the common non-standard RFC 2047 words inside quoted parameter values.
 * - Decoded text keeps every character, including bidirectional controls such as U+202E: the content filter
 *   has to see them to catch right-to-left file name tricks.
 * Limits: the splitter caps a header block at 1 MiB.
 */
import libmime from 'libmime';

export interface RawHeaderLine { key: string; line: string }
export interface HeaderField { name: string; value: string }

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const CP1252 = new TextDecoder('windows-1252');

/** A header string read byte-per-char (`binary`) turned into text: UTF-8 if valid, else Windows-1252. */
export function headerText(binary: string): string {
  if (!/[\x80-\xff]/.test(binary)) return binary;
  const bytes = Buffer.from(binary, 'latin1');
  try { return UTF8.decode(bytes); } catch { return CP1252.decode(bytes); }
}

function decodeWords(s: string): string {
  try { return libmime.decodeWords(s); } catch { return s; }
}

/** Unfolded value of a raw header line, raw 8-bit bytes and encoded-words decoded. */
export function decodedValue(line: string): string {
  return decodeWords(headerText(libmime.decodeHeader(line).value));
}

/** Decoded fields in order; lines without a colon are left out and counted. */
export function decodeFields(lines: RawHeaderLine[]): { fields: HeaderField[]; withoutColon: number } {
  const fields: HeaderField[] = [];
  let withoutColon = 0;
  for (const { key, line } of lines) {
    if (!key) { withoutColon++; continue; }
    fields.push({ name: key, value: decodedValue(line) });
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
