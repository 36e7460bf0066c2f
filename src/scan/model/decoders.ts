/**
 * Incremental Content-Transfer-Encoding decoders (RFC 2045 §6): base64, quoted-printable, and identity for
 * 7bit/8bit/binary and unknown encodings. Hostile input: the encoded body, fed in arbitrary chunks.
 * - Never throws; holds at most a few bytes between chunks (a partial base64 quantum, or a QP `=` escape and
 *   up to 80 blanks after it); the output is never larger than the input.
 * - base64: characters outside the alphabet are skipped (line breaks, spaces, junk); `=` ends the current
 *   quantum, so several padded blocks glued together decode each on its own; a dangling 2-3 character tail is
 *   decoded as far as it goes. Different clients disagree on broken base64; this keeps every byte it can.
 * - quoted-printable: `=XX` (either case), soft line breaks `=CRLF`, `=LF` and `=` followed by blanks up to the
 *   line end; a `=` that starts none of these is kept literally (RFC 2045 §6.7 note 1).
 */

export interface Decoder {
  write(chunk: Buffer): Buffer;
  /** Whatever the last chunk left pending. */
  end(): Buffer;
}

const EMPTY = Buffer.alloc(0);
const B64 = new Int8Array(256).fill(-1);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries()) B64[c.charCodeAt(0)] = i;
const EQ = 0x3d, CR = 0x0d, LF = 0x0a, SP = 0x20, TAB = 0x09;

class Base64Decoder implements Decoder {
  /** Sextets of the unfinished quantum, packed (first one highest), and how many there are. */
  private bits = 0;
  private n = 0;

  write(chunk: Buffer): Buffer {
    const out = Buffer.allocUnsafe(Math.ceil((chunk.length + this.n) * 3 / 4) + 3);
    let o = 0, bits = this.bits, n = this.n;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      const v = B64[c];
      if (v >= 0) {
        bits = (bits << 6) | v;
        if (++n === 4) {
          out[o] = bits >> 16;
          out[o + 1] = bits >> 8;
          out[o + 2] = bits;
          o += 3;
          bits = 0;
          n = 0;
        }
      } else if (c === EQ && n > 0) {
        o = partial(out, o, bits, n);
        bits = 0;
        n = 0;
      }
    }
    this.bits = bits;
    this.n = n;
    return out.subarray(0, o);
  }

  end(): Buffer {
    const out = Buffer.allocUnsafe(2);
    const o = partial(out, 0, this.bits, this.n);
    this.bits = 0;
    this.n = 0;
    return out.subarray(0, o);
  }
}

/** Decodes a short quantum (2 or 3 sextets → 1 or 2 bytes); a lone sextet carries no whole byte. */
function partial(out: Buffer, o: number, bits: number, n: number): number {
  if (n === 2) out[o++] = bits >> 4;
  else if (n === 3) { out[o++] = bits >> 10; out[o++] = bits >> 2; }
  return o;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

class QuotedPrintableDecoder implements Decoder {
  private carry: Buffer = EMPTY;

  write(chunk: Buffer): Buffer {
    const buf = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = EMPTY;
    const out = Buffer.allocUnsafe(buf.length);
    let o = 0;
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i];
      if (c !== EQ) { out[o++] = c; continue; }
      // Blanks between `=` and the line end still make a soft break; look ahead without leaving the chunk.
      let j = i + 1;
      while (j < buf.length && (buf[j] === SP || buf[j] === TAB) && j - i < 80) j++;
      if (j >= buf.length) { this.carry = Buffer.from(buf.subarray(i)); break; }
      if (buf[j] === LF) { i = j; continue; }
      if (buf[j] === CR) {
        if (j + 1 >= buf.length) { this.carry = Buffer.from(buf.subarray(i)); break; }
        i = buf[j + 1] === LF ? j + 1 : j;
        continue;
      }
      if (j === i + 1) {
        const hi = hexValue(buf[i + 1]);
        if (hi >= 0) {
          if (i + 2 >= buf.length) { this.carry = Buffer.from(buf.subarray(i)); break; }
          const lo = hexValue(buf[i + 2]);
          if (lo >= 0) { out[o++] = (hi << 4) | lo; i += 2; continue; }
        }
      }
      out[o++] = c; // a stray `=`: kept as it is
    }
    return out.subarray(0, o);
  }

  end(): Buffer {
    // A trailing `=` (+ blanks, + CR) is a soft break at the very end and yields nothing; `=X` is kept literally.
    const rest = this.carry;
    this.carry = EMPTY;
    return /^=[ \t\r]*$/.test(rest.toString('latin1')) ? EMPTY : rest;
  }
}

const IDENTITY: Decoder = { write: (chunk) => chunk, end: () => EMPTY };

/** A fresh decoder for a Content-Transfer-Encoding value (lowercased, without comments). */
export function decoderFor(cte: string): Decoder {
  switch (cte) {
    case 'base64': return new Base64Decoder();
    case 'quoted-printable': return new QuotedPrintableDecoder();
    default: return IDENTITY;
  }
}
