/**
 * DKIM signing (RFC 6376 §5; rsa-sha256 per RFC 8301, ed25519-sha256 per RFC 8463), relaxed/relaxed, over the
 * exact bytes that go on the wire: the caller hands over the message as it will be sent (header edits applied)
 * and prepends the returned DKIM-Signature field.
 *
 * h=: the configured fields present, each instance bottom-up (RFC 6376 §5.4.2), plus one more entry for each
 * oversigned name, so that a field of that name added later breaks the signature; From is always signed and
 * oversigned. At most the last 50 occurrences of a name are signed (not oversigned then), so a header of
 * thousands of To fields cannot blow up h=. The field is folded at 76 columns (within h= after a colon, in b=
 * anywhere: FWS is allowed there).
 *
 * Streaming: for a message read from disk, the header section is buffered (at most 1 MiB, the bound of the header
 * editor in disposition/headers.ts, applied to the same prefix in the same way) and the body is only hashed as it
 * streams by; nothing of the body is kept. The key is chosen once the header is known: when there is none, reading
 * stops there.
 *
 * Hostile input: the message (header and body bytes from the sender). Field names and the From address are only
 * compared, never echoed into the signature; the domain and selector come from the key store (validated there).
 */
import { createHash, sign as cryptoSign, type KeyObject } from 'node:crypto';
import type { Readable } from 'node:stream';
import { domainToASCII } from 'node:url';
import addressparser from 'nodemailer/lib/addressparser';
import { RelaxedBodyHash, headerFields, relaxedBodyHash, relaxedHeader } from './canon.ts';
import type { DkimAlgorithm } from './keys.ts';

export interface SigningKey {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  /** The private key. */
  key: KeyObject;
}

export interface SignOptions {
  /** Header field names signed when present, in this order; From is always signed. */
  headers: readonly string[];
  /** Names listed once more than they occur; From always is. */
  oversign: readonly string[];
  /** Signing time, ms since the epoch (t=). */
  time: number;
  /** Seconds the signature stays valid (x= is t + expire); 0 = no x= tag. */
  expire: number;
}

const WIDTH = 76;
/** Occurrences of one field name signed at most (the last ones), so h= stays small whatever the header holds. */
const MAX_INSTANCES = 50;
/** The header editor's bound (disposition/headers.ts): beyond it a header section is not looked for. */
export const MAX_HEADER = 1024 * 1024;
const END = Buffer.from('\r\n\r\n');

/**
 * The DKIM-Signature field (with its CRLF) for a message whose header section is `header` (latin1, the fields as
 * sent, with or without the empty line) and whose relaxed body hash is `bodyHash`.
 */
export function signatureField(header: string, bodyHash: string, key: SigningKey, o: SignOptions): string {
  const fields = headerFields(header);
  const byName = new Map<string, string[]>();
  for (const f of fields) {
    if (!f.name) continue;
    const n = f.name.toLowerCase();
    const list = byName.get(n) ?? [];
    list.push(f.raw);
    byName.set(n, list);
  }
  const over = new Set(['from', ...o.oversign.map((n) => n.toLowerCase())]);
  const seen = new Set<string>();
  const h: string[] = [];
  let signed = '';
  for (const name of ['From', ...o.headers]) {
    const n = name.toLowerCase();
    if (seen.has(n) || n === 'dkim-signature') continue;
    seen.add(n);
    const instances = byName.get(n) ?? [];
    for (let i = instances.length - 1; i >= Math.max(0, instances.length - MAX_INSTANCES); i--) {
      h.push(name);
      signed += relaxedHeader(instances[i]);
    }
    // Past the cap, one more entry would name an instance that exists (and was not hashed).
    if (over.has(n) && instances.length <= MAX_INSTANCES) h.push(name);
  }

  const t = Math.floor(o.time / 1000);
  const lines = ['DKIM-Signature:'];
  const add = (text: string, joiner: string) => {
    const cur = lines[lines.length - 1];
    if (cur.length + joiner.length + text.length > WIDTH && cur.trim().length > 0) lines.push(` ${text}`);
    else lines[lines.length - 1] = cur + joiner + text;
  };
  for (const tag of ['v=1', `a=${key.algorithm}`, 'c=relaxed/relaxed', `d=${key.domain}`, `s=${key.selector}`, `t=${t}`]) add(`${tag};`, ' ');
  if (o.expire > 0) add(`x=${t + o.expire};`, ' ');
  h.forEach((name, i) => add(`${i === 0 ? 'h=' : ''}${name}${i === h.length - 1 ? ';' : ':'}`, i === 0 ? ' ' : ''));
  add(`bh=${bodyHash};`, ' ');
  lines.push(' b=');

  // RFC 6376 §3.7: the signature field itself, b= empty, canonicalised, without its final CRLF, comes last.
  const data = Buffer.from(signed + relaxedHeader(lines.join('\r\n')).slice(0, -2), 'latin1');
  const b = (key.algorithm === 'ed25519-sha256'
    ? cryptoSign(null, createHash('sha256').update(data).digest(), key.key) // RFC 8463 §3: Ed25519 over the SHA-256 hash
    : cryptoSign('sha256', data, key.key)).toString('base64');
  let at = WIDTH - lines[lines.length - 1].length;
  lines[lines.length - 1] += b.slice(0, at);
  for (; at < b.length; at += WIDTH - 1) lines.push(` ${b.slice(at, at + WIDTH - 1)}`);
  return `${lines.join('\r\n')}\r\n`;
}

/** The header section and body of a whole message (CRLF line ends). No empty line: all header, empty body. */
export function splitMessage(msg: Buffer): { header: string; body: Buffer } {
  if (msg[0] === 0x0d && msg[1] === 0x0a) return { header: '', body: msg.subarray(2) };
  const end = msg.indexOf(END);
  if (end < 0) return { header: msg.toString('latin1'), body: Buffer.alloc(0) };
  return { header: msg.subarray(0, end + 2).toString('latin1'), body: msg.subarray(end + 4) };
}

/** Signs a whole message held in memory. */
export function signBuffer(msg: Buffer, key: SigningKey, o: SignOptions): string {
  const { header, body } = splitMessage(msg);
  return signatureField(header, relaxedBodyHash(body), key, o);
}

export interface SignSource {
  /** The message as stored: bytes in memory, or a stream (destroyed when reading stops early). */
  source: Buffer | Readable;
  /**
   * The send path's header edits, applied to the whole message (a Buffer) or, for a stream, to the buffered
   * prefix that holds the header section, exactly as disposition/headers.ts's editor does. Absent: none.
   */
  edit?: (prefix: Buffer) => Buffer;
  /** The key for a message with this header section (latin1), or null not to sign it. */
  choose(header: string): SigningKey | null;
}

/**
 * Signs a message as it will be sent (`edit` applied): resolves with the DKIM-Signature field and the key used,
 * or null when `choose` finds no key (the stream is then read no further than its header section) or when the
 * header section is longer than MAX_HEADER.
 */
export async function signMessage(m: SignSource, o: SignOptions): Promise<{ field: string; key: SigningKey } | null> {
  if (Buffer.isBuffer(m.source)) {
    const { header, body } = splitMessage(m.edit ? m.edit(m.source) : m.source);
    const key = m.choose(header);
    return key ? { field: signatureField(header, relaxedBodyHash(body), key, o), key } : null;
  }
  let head: Buffer[] = [];
  let size = 0;
  let found: Started | null = null;
  // Leaving the loop early (return) destroys the stream, so an unsigned message is read no further.
  for await (const chunk of m.source as AsyncIterable<Buffer>) {
    if (found) { found.hash.update(chunk); continue; }
    head.push(chunk);
    size += chunk.length;
    // The same prefix as the header editor takes: up to the end of the header section, or MAX_HEADER bytes.
    const all = Buffer.concat(head, size);
    if (all.indexOf(END) < 0 && size < MAX_HEADER) continue;
    head = [];
    found = begin(all, m, true);
    if (!found) return null;
  }
  found ??= begin(Buffer.concat(head, size), m, false);
  return found ? { field: signatureField(found.header, found.hash.digest(), found.key, o), key: found.key } : null;
}

interface Started { header: string; key: SigningKey; hash: RelaxedBodyHash }

/**
 * Edits the prefix holding the header section, chooses the key, and starts the body hash with the rest. `partial`:
 * more of the message follows, so a prefix without the end of the header section is a header over the limit.
 */
function begin(prefix: Buffer, m: SignSource, partial: boolean): Started | null {
  const edited = m.edit ? m.edit(prefix) : prefix;
  if (partial && edited.indexOf(END) < 0 && !(edited[0] === 0x0d && edited[1] === 0x0a)) return null;
  const { header, body } = splitMessage(edited);
  const key = m.choose(header);
  return key ? { header, key, hash: new RelaxedBodyHash().update(body) } : null;
}

/**
 * The domain of the first address in the From field of a header section (A-labels, lowercase), or null when
 * there is no From field or no address with a domain in it.
 */
export function fromDomain(header: string): string | null {
  const field = headerFields(header).find((f) => f.name.toLowerCase() === 'from');
  if (!field) return null;
  let value = field.raw.slice(field.raw.indexOf(':') + 1).replace(/\r\n/g, '');
  // 8-bit bytes in an address (RFC 6532) are UTF-8.
  if (/[\x80-\xff]/.test(value)) value = Buffer.from(value, 'latin1').toString('utf8');
  for (const a of addressparser(value.slice(0, 8192), { flatten: true })) {
    const d = domainPart(a.address);
    if (d) return d;
  }
  return null;
}

/** The domain of an address (A-labels, lowercase, no trailing dot), or null. */
export function domainPart(address: string | undefined): string | null {
  const at = address?.lastIndexOf('@') ?? -1;
  if (!address || at < 0) return null;
  const d = address.slice(at + 1).replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  if (!d) return null;
  return (/^[\x21-\x7e]+$/.test(d) ? d : domainToASCII(d)) || null;
}
