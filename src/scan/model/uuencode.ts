/**
 * Finds uuencoded files in a text body (`begin <mode> <name>` … `end`, POSIX uuencode, and the `begin-base64` …
 * `====` form of `uuencode -m`) and decodes them into content sinks. Old clients (Outlook Express, many
 * newsreaders) still show such blocks as attachments, so malware travels in them.
 * Hostile input: the text. Broken blocks are decoded best effort: a missing `end` ends the file at the first
 * line that cannot be uuencoded data (or at the end of the text); short lines are padded with zero bits.
 * Limits: lines longer than 64 KiB are never held whole (they cannot be a begin line or uuencoded data); at most
 * `maxFiles` files are extracted, the caller is told when there were more.
 */
import { createReadStream } from 'node:fs';
import { decoderFor, type Decoder } from './decoders.ts';
import { headerText } from './headers.ts';
import { ContentSink, type Content, type SinkEnv, type Stored } from './sink.ts';

export interface UuFile { name: string; stored: Stored }

const MAX_LINE = 64 * 1024;
const BEGIN = /^begin(-base64)? +[0-7]{1,4} +(.*?)\s*$/;

/** Decodes one uuencoded line; null when the line cannot be uuencoded data. */
function uuLine(line: Buffer): Buffer | null {
  // Trailing blanks may have been stripped in transit; missing characters decode as zero bits, like a blank.
  let len = line.length;
  while (len > 0 && (line[len - 1] === 0x0d || line[len - 1] === 0x20)) len--;
  if (len === 0) return Buffer.alloc(0);
  for (let i = 0; i < len; i++) if (line[i] < 0x20 || line[i] > 0x60) return null;
  const n = (line[0] - 32) & 63;
  const out = Buffer.alloc(n);
  const ch = (i: number) => (i < len ? (line[i] - 32) & 63 : 0);
  for (let o = 0, i = 1; o < n; i += 4) {
    const a = ch(i), b = ch(i + 1), c = ch(i + 2), d = ch(i + 3);
    out[o++] = (a << 2) | (b >> 4);
    if (o < n) out[o++] = ((b & 15) << 4) | (c >> 2);
    if (o < n) out[o++] = ((c & 3) << 6) | d;
  }
  return out;
}

class Extractor {
  readonly files: UuFile[] = [];
  more = false;
  private readonly env: SinkEnv;
  private readonly maxFiles: number;
  private block: { name: string; sink: ContentSink | null; b64: Decoder | null } | undefined;
  private out: Buffer[] = [];

  constructor(env: SinkEnv, maxFiles: number) { this.env = env; this.maxFiles = maxFiles; }

  /** Handles one line (without its LF); returns true when a block just ended. */
  line(line: Buffer): boolean {
    const b = this.block;
    if (!b) {
      if (line.length > 6 && line[0] === 0x62 /* b */ && line.subarray(0, 5).toString('latin1') === 'begin') {
        const m = BEGIN.exec(line.toString('latin1'));
        if (!m) return false;
        const keep = this.files.length < this.maxFiles;
        if (!keep) this.more = true;
        this.block = { name: headerText(m[2]), sink: keep ? new ContentSink(this.env) : null, b64: m[1] ? decoderFor('base64') : null };
      }
      return false;
    }
    const text = line.length <= 6 ? line.toString('latin1').trimEnd() : '';
    if (b.b64) {
      if (text === '====') return true;
      this.emit(b.b64.write(line));
      return false;
    }
    if (text === 'end') return true;
    const data = uuLine(line);
    if (data === null) return true;
    this.emit(data);
    return false;
  }

  private emit(buf: Buffer): void {
    if (this.block?.sink && buf.length) this.out.push(buf);
  }

  async flush(): Promise<void> {
    const sink = this.block?.sink;
    if (sink && this.out.length) await sink.write(this.out.length === 1 ? this.out[0] : Buffer.concat(this.out));
    this.out = [];
  }

  async close(): Promise<void> {
    const b = this.block;
    if (!b) return;
    if (b.b64) this.emit(b.b64.end());
    await this.flush();
    this.block = undefined;
    if (b.sink) this.files.push({ name: b.name, stored: await b.sink.finish() });
  }
}

/** Every uuencoded file in `content`, decoded (at most `maxFiles`). */
export async function extractUuencoded(content: Content, env: SinkEnv, maxFiles: number): Promise<{ files: UuFile[]; more: boolean }> {
  if (content.kind === 'buffer' && !content.data.includes('begin')) return { files: [], more: false };
  const ex = new Extractor(env, maxFiles);
  let carry: Buffer[] = [];
  let carryLen = 0;
  let overlong = false;
  const chunks: AsyncIterable<Buffer> | Buffer[] = content.kind === 'buffer' ? [content.data] : createReadStream(content.path);
  for await (const chunk of chunks) {
    let start = 0;
    for (let lf = chunk.indexOf(0x0a); lf !== -1; lf = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, lf);
      start = lf + 1;
      if (overlong) { overlong = false; carry = []; carryLen = 0; continue; }
      const line = carryLen ? Buffer.concat([...carry, piece]) : piece;
      carry = [];
      carryLen = 0;
      if (ex.line(line)) await ex.close();
    }
    const rest = chunk.subarray(start);
    if (rest.length && !overlong) {
      carry.push(rest);
      carryLen += rest.length;
      if (carryLen > MAX_LINE) {
        // Too long for a begin line or uuencoded data: it ends any open block and is skipped to its LF.
        overlong = true;
        carry = [];
        carryLen = 0;
        await ex.close();
      }
    }
    await ex.flush();
  }
  if (carryLen && !overlong && ex.line(Buffer.concat(carry))) await ex.close();
  await ex.close();
  return { files: ex.files, more: ex.more };
}
