/**
 * A small MIME writer for the test corpus (RFC 5322, RFC 2045–2047, RFC 2183, RFC 2231): leaves with a
 * transfer encoding, multiparts with fixed boundaries, attached messages, and the top-level message with fixed
 * headers. CRLF line ends everywhere. Names that are not ASCII are written the way common clients do: RFC 2231
 * `filename*=UTF-8''…` and an RFC 2047 `name=` (or raw 8-bit bytes when a case asks for them).
 */
import { base64Lines } from './lib.ts';

export type Encoding = 'base64' | 'quoted-printable' | '7bit' | '8bit';

export interface Leaf {
  kind: 'leaf';
  type: string;
  /** Extra Content-Type parameters, e.g. charset. */
  params?: Record<string, string>;
  disposition?: 'attachment' | 'inline';
  filename?: string;
  /** Write a non-ASCII file name as raw UTF-8 instead of RFC 2231/2047 (malformed on purpose). */
  rawName?: boolean;
  encoding: Encoding;
  body: Buffer | string;
  headers?: [string, string][];
  /** Use this text as the encoded body verbatim (for broken encodings). */
  encodedBody?: string;
}

export interface Multipart {
  kind: 'multipart';
  subtype: string;
  /** Omit to write a multipart without a boundary parameter (malformed on purpose). */
  boundary?: string;
  parts: Node[];
  params?: Record<string, string>;
  /** Boundary the parts are actually separated by, when it differs from the declared one. */
  writtenBoundary?: string;
}

export interface Attached {
  kind: 'message';
  message: Buffer;
  filename?: string;
}

export type Node = Leaf | Multipart | Attached;

const textOf = (b: Buffer | string) => (typeof b === 'string' ? Buffer.from(b, 'utf8') : b);

function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, '\\$&')}"`;
}

const isAscii = (s: string) => /^[\x20-\x7e]*$/.test(s);

/** RFC 2047 encoded-word (B encoding, UTF-8), split so each word stays under 75 characters. */
export function encodedWord(s: string): string {
  const words: string[] = [];
  let chunk = '';
  for (const ch of s) {
    if (Buffer.byteLength(chunk + ch) > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w).toString('base64')}?=`).join(' ');
}

/** A display phrase for From/To: ASCII quoted, anything else as encoded words. */
export function phrase(s: string): string {
  return isAscii(s) ? quote(s) : encodedWord(s);
}

function rfc2231(s: string): string {
  return `UTF-8''${[...Buffer.from(s, 'utf8')].map((b) => (/[A-Za-z0-9!#$&+.^_`|~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('')}`;
}

/** Quoted-printable (RFC 2045 §6.7) with soft line breaks at 76 characters; input lines end in CRLF or LF. */
export function quotedPrintable(text: string): string {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    let enc = '';
    const bytes = Buffer.from(line, 'utf8');
    bytes.forEach((b, i) => {
      const last = i === bytes.length - 1;
      const plain = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last);
      enc += plain ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
    });
    while (enc.length > 76) {
      let cut = 75;
      const eq = enc.lastIndexOf('=', cut - 1);
      if (eq > cut - 3) cut = eq; // never split an =XX escape
      out.push(`${enc.slice(0, cut)}=`);
      enc = enc.slice(cut);
    }
    out.push(enc);
  }
  return out.join('\r\n');
}

function params(p: Record<string, string> = {}): string {
  return Object.entries(p).map(([k, v]) => `; ${k}=${/^[A-Za-z0-9._-]+$/.test(v) ? v : quote(v)}`).join('');
}

function nameParams(kind: 'name' | 'filename', name: string | undefined, raw: boolean | undefined): string {
  if (name === undefined) return '';
  if (isAscii(name) || raw) return `; ${kind}=${quote(name)}`;
  return kind === 'name' ? `; name="${encodedWord(name)}"` : `; filename*=${rfc2231(name)}`;
}

/** Renders a node to its header lines and body. */
export function render(node: Node): { headers: string[]; body: Buffer } {
  if (node.kind === 'message') {
    const headers = ['Content-Type: message/rfc822', 'Content-Transfer-Encoding: 7bit'];
    headers.push(`Content-Disposition: attachment${nameParams('filename', node.filename, false)}`);
    return { headers, body: node.message };
  }
  if (node.kind === 'multipart') {
    const declared = node.boundary === undefined ? '' : `; boundary=${quote(node.boundary)}`;
    const sep = node.writtenBoundary ?? node.boundary;
    if (sep === undefined) throw new Error('multipart needs a boundary to write its parts');
    const chunks: Buffer[] = [Buffer.from('This is a multi-part message in MIME format.\r\n')];
    for (const child of node.parts) {
      const r = render(child);
      chunks.push(Buffer.from(`\r\n--${sep}\r\n${r.headers.join('\r\n')}\r\n\r\n`), r.body);
    }
    chunks.push(Buffer.from(`\r\n--${sep}--\r\n`));
    return { headers: [`Content-Type: multipart/${node.subtype}${declared}${params(node.params)}`], body: Buffer.concat(chunks) };
  }
  const headers = [`Content-Type: ${node.type}${params(node.params)}${nameParams('name', node.filename, node.rawName)}`];
  headers.push(`Content-Transfer-Encoding: ${node.encoding}`);
  if (node.disposition) headers.push(`Content-Disposition: ${node.disposition}${nameParams('filename', node.filename, node.rawName)}`);
  for (const [k, v] of node.headers ?? []) headers.push(`${k}: ${v}`);
  const raw = textOf(node.body);
  let body: string | Buffer;
  if (node.encodedBody !== undefined) body = node.encodedBody;
  else if (node.encoding === 'base64') body = base64Lines(raw);
  else if (node.encoding === 'quoted-printable') body = quotedPrintable(raw.toString('utf8'));
  else body = raw;
  return { headers, body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body };
}

export interface Envelope {
  from: string;
  to: string;
  subject: string;
  /** RFC 5322 date; every corpus message uses a fixed one. */
  date: string;
  messageId: string;
  /** Headers written before the standard ones (Received, Return-Path …). */
  trace?: [string, string][];
  /** Headers written after the standard ones (List-Unsubscribe, X-Mailer …). */
  extra?: [string, string][];
  /** Write the Subject as given even when it is not ASCII (raw 8-bit header). */
  rawSubject?: boolean;
}

/** A whole message: header section then the rendered root node. */
export function message(env: Envelope, root: Node): Buffer {
  const r = render(root);
  const subject = env.rawSubject || isAscii(env.subject) ? env.subject : encodedWord(env.subject);
  const lines = [
    ...(env.trace ?? []).map(([k, v]) => `${k}: ${v}`),
    `From: ${env.from}`,
    `To: ${env.to}`,
    `Subject: ${subject}`,
    `Date: ${env.date}`,
    `Message-ID: ${env.messageId}`,
    'MIME-Version: 1.0',
    ...(env.extra ?? []).map(([k, v]) => `${k}: ${v}`),
    ...r.headers,
  ];
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8'), r.body]);
}
