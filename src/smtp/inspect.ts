/**
 * The DATA filter between smtp-server and the spool. Hostile input: everything.
 * - Line endings: a bare LF or bare CR becomes CRLF (Postfix's `smtpd_forbid_bare_newline = normalize`), so the
 *   spooled message is canonical and a `<LF>.<LF>` smuggled inside DATA (smtp-server only ends DATA at
 *   `<CRLF>.<CRLF>`) is plain content; on relay it is dot-stuffed and can never end the next hop's DATA early.
 * - Size: counted after normalisation and enforced while streaming (the rest is read and discarded).
 * - Header section: capped (default 1 MiB) and scanned for the Message-ID and the number of Received headers
 *   (hop count limit 50, RFC 5321 §6.3 loop detection).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { Replies, SmtpError } from './errors.ts';

const CR = 0x0d, LF = 0x0a;
const CRLF = Buffer.from('\r\n');
const HEADER_KEEP = 64 * 1024;

export interface InspectLimits { maxBytes: number; maxHeaderBytes: number; maxHops: number }

export class DataInspector extends Transform {
  /** Bytes passed on (normalised). */
  bytes = 0;
  /** Set when a limit was hit; the output then stops, the input is still consumed. */
  error: SmtpError | undefined;
  messageId: string | null = null;
  hops = 0;
  private readonly limits: InspectLimits;
  private pendingCR = false;
  private inHeader = true;
  private headerBytes = 0;
  /** The last bytes seen, to find the blank line ending the header across chunk boundaries. */
  private tail = 0;
  private headerKept: Buffer[] = [];
  private headerKeptBytes = 0;

  constructor(limits: InspectLimits) {
    super();
    this.limits = limits;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.error) return cb();
    const out = this.normalise(chunk);
    if (this.inHeader) this.scanHeader(out);
    this.bytes += out.length;
    if (!this.error && this.limits.maxBytes > 0 && this.bytes > this.limits.maxBytes) this.error = Replies.messageTooBig();
    if (this.error) return cb();
    cb(null, out);
  }

  override _flush(cb: TransformCallback): void {
    if (this.pendingCR && !this.error) { this.bytes += 2; this.push(CRLF); }
    this.pendingCR = false;
    if (this.inHeader) this.finishHeader();
    cb();
  }

  /** Rewrites bare CR and bare LF to CRLF; returns the chunk itself when it needs no change. */
  private normalise(chunk: Buffer): Buffer {
    let clean = !this.pendingCR;
    if (clean) {
      for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) if (i === 0 || chunk[i - 1] !== CR) { clean = false; break; }
      if (clean) for (let i = chunk.indexOf(CR); i !== -1; i = chunk.indexOf(CR, i + 1)) {
        if (i === chunk.length - 1 || chunk[i + 1] !== LF) { clean = false; break; }
      }
      if (clean) return chunk;
    }
    const out = Buffer.allocUnsafe(chunk.length * 2 + 2);
    let o = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (this.pendingCR) {
        this.pendingCR = false;
        out[o++] = CR; out[o++] = LF;
        if (c === LF) continue;
      }
      if (c === CR) { this.pendingCR = true; continue; }
      if (c === LF) { out[o++] = CR; out[o++] = LF; continue; }
      out[o++] = c;
    }
    return out.subarray(0, o);
  }

  private scanHeader(buf: Buffer): void {
    let end = -1;
    // Header ends at the first CRLF CRLF; `tail` holds the previous chunk's last three bytes.
    for (let i = 0; i < buf.length; i++) {
      this.tail = ((this.tail << 8) | buf[i]) >>> 0;
      if (this.tail === 0x0d0a0d0a) { end = i + 1; break; }
    }
    // A message that starts with an empty line has no header at all.
    if (this.headerBytes === 0 && buf[0] === CR && buf[1] === LF) end = 0;
    const part = end === -1 ? buf : buf.subarray(0, end);
    this.headerBytes += part.length;
    if (this.headerKeptBytes < HEADER_KEEP) {
      const keep = part.subarray(0, HEADER_KEEP - this.headerKeptBytes);
      this.headerKept.push(Buffer.from(keep));
      this.headerKeptBytes += keep.length;
    }
    if (this.headerBytes > this.limits.maxHeaderBytes) this.error ??= Replies.headerTooBig();
    if (end !== -1) this.finishHeader();
  }

  private finishHeader(): void {
    this.inHeader = false;
    const text = Buffer.concat(this.headerKept).toString('latin1').replace(/\r\n[ \t]+/g, ' ');
    const m = /(?:^|\r\n)message-id:[ \t]*(<[^>\r\n]{1,500}>)/i.exec(text);
    this.messageId = m ? m[1] : null;
    this.hops = (text.match(/(?:^|\r\n)received:/gi) ?? []).length;
    if (this.hops > this.limits.maxHops) this.error ??= new SmtpError(554, '5.4.6', 'Too many hops (mail loop?)');
    this.headerKept = [];
  }
}
