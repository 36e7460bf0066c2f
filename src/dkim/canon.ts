/**
 * DKIM "relaxed" canonicalisation (RFC 6376 §3.4.2 header, §3.4.4 body) and the header-section reader the signer
 * uses. The body hash is computed while the body streams by: no copy of the body is kept, so a message of any
 * size costs memory of one chunk.
 *
 * Line ends: the SMTP client (nodemailer's DATA stream) writes a bare CR or a bare LF as CRLF, so the receiver
 * sees a line end there; the body canonicaliser does the same, so the hash is that of the bytes the next hop
 * receives. Spooled messages are normalised to CRLF on receipt anyway (smtp/inspect.ts).
 *
 * Hostile input: header and body bytes come from senders. Work is linear in the input; runs of empty lines are
 * counted, not buffered (a body of a million empty lines costs a counter, then 2 MB of hashing if content follows).
 */
import { createHash, type Hash } from 'node:crypto';

const SP = 0x20, TAB = 0x09, CR = 0x0d, LF = 0x0a;
const CRLFS = Buffer.from('\r\n'.repeat(4096), 'latin1');

/** SHA-256 over the relaxed canonical form of a body, fed in chunks of any size. */
export class RelaxedBodyHash {
  private readonly hash: Hash = createHash('sha256');
  /** White space seen on this line and not yet written (written as one SP before the next content). */
  private wsp = false;
  /** The current line has content (anything but white space). */
  private content = false;
  /** Empty lines seen and not yet written: written when content follows, dropped at the end of the body. */
  private blank = 0;
  /** The previous byte was a CR (a line end whatever follows). */
  private cr = false;
  /** Canonical bytes hashed so far. */
  length = 0;

  update(chunk: Uint8Array): this {
    // Output is at most twice the input (a bare CR or LF becomes CRLF); pending empty lines are hashed directly.
    const out = Buffer.allocUnsafe(chunk.length * 2 + 2);
    let o = 0;
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const c = chunk[i];
      if (this.cr) {
        this.cr = false;
        o = this.lineEnd(out, o);
        if (c === LF) continue;
      }
      if (c === CR) { this.cr = true; continue; }
      if (c === LF) { o = this.lineEnd(out, o); continue; }
      if (c === SP || c === TAB) { this.wsp = true; continue; }
      if (!this.content) {
        if (this.blank) o = this.flushBlank(out, o);
        this.content = true;
      }
      if (this.wsp) { out[o++] = SP; this.wsp = false; }
      // The run of content bytes that starts here is copied as it is (base64 lines are one run each).
      let j = i + 1;
      while (j < n) {
        const d = chunk[j];
        if (d <= SP && (d === SP || d === TAB || d === CR || d === LF)) break;
        j++;
      }
      if (j - i < 32) { for (let k = i; k < j; k++) out[o++] = chunk[k]; } else { out.set(chunk.subarray(i, j), o); o += j - i; }
      i = j - 1;
    }
    if (o) { this.hash.update(out.subarray(0, o)); this.length += o; }
    return this;
  }

  /** The base64 body hash (`bh=`). A body that is empty after canonicalisation hashes the empty string. */
  digest(): string {
    const out = Buffer.allocUnsafe(4);
    let o = 0;
    if (this.cr) { this.cr = false; o = this.lineEnd(out, o); }
    // A last line without its line end gets one; trailing white space and empty lines at the end are dropped.
    if (this.content) { out[o++] = CR; out[o++] = LF; this.content = false; }
    if (o) { this.hash.update(out.subarray(0, o)); this.length += o; }
    return this.hash.digest('base64');
  }

  private lineEnd(out: Buffer, o: number): number {
    this.wsp = false; // white space at the end of a line is removed
    if (!this.content) { this.blank++; return o; }
    out[o++] = CR;
    out[o++] = LF;
    this.content = false;
    return o;
  }

  private flushBlank(out: Buffer, o: number): number {
    if (o) { this.hash.update(out.subarray(0, o)); this.length += o; }
    for (let n = this.blank; n > 0; n -= CRLFS.length / 2) {
      const part = CRLFS.subarray(0, Math.min(n, CRLFS.length / 2) * 2);
      this.hash.update(part);
      this.length += part.length;
    }
    this.blank = 0;
    return 0;
  }
}

/** The relaxed body hash of a whole body. */
export function relaxedBodyHash(body: Uint8Array): string {
  return new RelaxedBodyHash().update(body).digest();
}

/** One header field as written: its name (as written, trimmed) and the raw field (latin1, folding kept). */
export interface HeaderField { name: string; raw: string }

/**
 * Splits a header section (latin1; with or without its empty line) into fields. A line starting with SP or HTAB
 * continues the field before it; a line without a colon is kept with an empty name (it can never be signed).
 */
export function headerFields(section: string): HeaderField[] {
  const out: HeaderField[] = [];
  for (const line of section.split(/(?<=\r\n)/)) {
    if (line === '\r\n' || line === '') break;
    if ((line[0] === ' ' || line[0] === '\t') && out.length) { out[out.length - 1].raw += line; continue; }
    const colon = line.indexOf(':');
    out.push({ name: colon > 0 ? line.slice(0, colon).replace(/^[ \t]+|[ \t]+$/g, '') : '', raw: line });
  }
  return out;
}

/**
 * A field in relaxed canonical form (RFC 6376 §3.4.2): name lowercased, continuation lines unfolded, runs of
 * white space made one SP, white space around the colon and at the end removed; ends with CRLF.
 */
export function relaxedHeader(raw: string): string {
  const colon = raw.indexOf(':');
  const name = raw.slice(0, colon).replace(/[ \t]+$/, '').toLowerCase();
  // Not String.trim(): in a latin1 string the byte 0xA0 of 8-bit text is U+00A0, which trim() would remove.
  const value = raw.slice(colon + 1).replace(/\r\n/g, '').replace(/[\r\n]/g, '').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '');
  return `${name}:${value}\r\n`;
}
