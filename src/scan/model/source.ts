/**
 * Access to a part's decoded content, wherever it lives: a Buffer in memory or a temporary file on disk.
 * File typing and container parsing read through this so that neither needs the whole content in memory.
 *
 * Hostile input: the bytes are attacker-controlled, but the content handle (buffer or path) comes from our own
 * model builder. Reads are positional and clamped to the real size (from `stat`, never a declared size), so a
 * parser that computes a wild offset gets a short or empty buffer, not an exception or a huge allocation.
 * Limits: one read allocates at most the requested length, and callers keep their requests small (a sector, a
 * header, a capped stream prefix).
 */
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';

/** Decoded content of a part or member: bytes in memory, or a temporary file. */
export type Content = { kind: 'buffer'; data: Buffer } | { kind: 'file'; path: string };

/** Random access to content. Always `close()` it. */
export interface ByteSource {
  /** Real size in bytes. */
  readonly size: number;
  /** Up to `len` bytes from `pos`; fewer at the end, empty past it or for negative/NaN positions. */
  read(pos: number, len: number): Promise<Buffer>;
  close(): Promise<void>;
}

const EMPTY = Buffer.alloc(0);

function clamp(size: number, pos: number, len: number): [number, number] {
  if (!Number.isFinite(pos) || !Number.isFinite(len) || pos < 0 || len <= 0 || pos >= size) return [0, 0];
  return [pos, Math.min(len, size - pos)];
}

class BufferSource implements ByteSource {
  readonly size: number;
  private readonly data: Buffer;
  constructor(data: Buffer) {
    this.data = data;
    this.size = data.length;
  }
  async read(pos: number, len: number): Promise<Buffer> {
    const [p, n] = clamp(this.size, pos, len);
    return n === 0 ? EMPTY : this.data.subarray(p, p + n);
  }
  async close(): Promise<void> {}
}

class FileSource implements ByteSource {
  readonly size: number;
  private readonly fh: FileHandle;
  constructor(fh: FileHandle, size: number) {
    this.fh = fh;
    this.size = size;
  }
  async read(pos: number, len: number): Promise<Buffer> {
    const [p, n] = clamp(this.size, pos, len);
    if (n === 0) return EMPTY;
    const buf = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const { bytesRead } = await this.fh.read(buf, got, n - got, p + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === n ? buf : buf.subarray(0, got);
  }
  async close(): Promise<void> {
    await this.fh.close();
  }
}

export async function openSource(content: Content): Promise<ByteSource> {
  if (content.kind === 'buffer') return new BufferSource(content.data);
  const fh = await open(content.path, 'r');
  try {
    const st = await fh.stat();
    return new FileSource(fh, st.size);
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** A stream of content bytes in [start, end). */
export function contentStream(content: Content, start = 0, end?: number): Readable {
  if (content.kind === 'buffer') {
    const slice = content.data.subarray(start, end ?? content.data.length);
    // Hand the slice out in 64 KiB pieces so that consumers can stop early without a huge single chunk.
    return Readable.from(chunks(slice), { objectMode: false });
  }
  if (end !== undefined && end <= start) return Readable.from([], { objectMode: false });
  return createReadStream(content.path, { start, end: end === undefined ? undefined : end - 1, highWaterMark: 64 * 1024 });
}

function* chunks(buf: Buffer): Generator<Buffer> {
  for (let i = 0; i < buf.length; i += 64 * 1024) yield buf.subarray(i, Math.min(buf.length, i + 64 * 1024));
}
