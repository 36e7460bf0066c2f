/**
 * Where decoded part content goes: hashed (MD5, SHA-256) while it streams, kept as a Buffer while it is small
 * and the message's in-memory total allows, otherwise written to a file in the message's private temporary
 * directory (mkdtemp, mode 0700; files 0600). Hostile input: the bytes, of any size. Limits: per-part in-memory
 * size and a per-message in-memory total (both from ModelLimits); disk use is bounded by the caller (message
 * size, container unpack budget). Everything under the directory is removed by `TempStore.dispose()`.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Content } from './source.ts';

export type { Content };

/** The message's private temporary directory, created on first use. */
export class TempStore {
  private readonly base: string;
  private made: Promise<string> | undefined;
  private files = 0;
  private disposed = false;

  constructor(base: string) { this.base = base; }

  dir(): Promise<string> {
    if (this.disposed) return Promise.reject(new Error('temporary store already disposed'));
    this.made ??= mkdtemp(join(this.base, 'moat-model-'));
    return this.made;
  }

  async newFile(): Promise<{ path: string; fh: FileHandle }> {
    const path = join(await this.dir(), `p${++this.files}`);
    return { path, fh: await open(path, 'wx', 0o600) };
  }

  /** Removes the directory and everything in it; safe to call more than once. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const made = this.made;
    this.made = undefined;
    if (!made) return;
    const dir = await made.catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

/** Bytes of decoded content the model may keep in memory, shared by all parts of one message. */
export class MemoryBudget {
  readonly total: number;
  used = 0;
  constructor(total: number) { this.total = total; }
  take(n: number): boolean {
    if (this.used + n > this.total) return false;
    this.used += n;
    return true;
  }
  give(n: number): void { this.used = Math.max(0, this.used - n); }
}

export interface SinkEnv { temp: TempStore; maxPartInMemory: number; memory: MemoryBudget }

export interface Stored { content: Content; size: number; md5: string; sha256: string; head: Buffer }

const FLUSH_AT = 256 * 1024;

/** Receives one part's decoded bytes in order; `finish()` or `discard()` ends it. */
export class ContentSink {
  size = 0;
  private readonly env: SinkEnv;
  private readonly md5: Hash = createHash('md5');
  private readonly sha256: Hash = createHash('sha256');
  private chunks: Buffer[] = [];
  private pending = 0;
  private file: { path: string; fh: FileHandle } | undefined;
  private readonly headMax: number;
  private head: Buffer[] = [];
  private headLen = 0;

  /** `keepHead`: also keep the first bytes apart (text bodies), whatever happens to the rest. */
  constructor(env: SinkEnv, keepHead = 0) {
    this.env = env;
    this.headMax = keepHead;
  }

  async write(buf: Buffer): Promise<void> {
    if (!buf.length) return;
    this.md5.update(buf);
    this.sha256.update(buf);
    this.size += buf.length;
    if (this.headLen < this.headMax) {
      const h = buf.subarray(0, this.headMax - this.headLen);
      this.head.push(h);
      this.headLen += h.length;
    }
    if (!this.file && (this.size > this.env.maxPartInMemory || !this.env.memory.take(buf.length))) {
      this.env.memory.give(this.pending);
      this.file = await this.env.temp.newFile();
    }
    this.chunks.push(buf);
    this.pending += buf.length;
    if (this.file && this.pending >= FLUSH_AT) await this.flush();
  }

  async finish(): Promise<Stored> {
    let content: Content;
    if (this.file) {
      await this.flush();
      await this.file.fh.close();
      content = { kind: 'file', path: this.file.path };
    } else {
      // A lone chunk may be a slice of a much larger input chunk: copy it so the model holds only its bytes.
      content = { kind: 'buffer', data: this.chunks.length === 1 ? Buffer.from(this.chunks[0]) : Buffer.concat(this.chunks) };
    }
    this.chunks = [];
    return { content, size: this.size, md5: this.md5.digest('hex'), sha256: this.sha256.digest('hex'), head: Buffer.concat(this.head) };
  }

  /** Drops what was written (the file, if any, goes with the directory or now). */
  async discard(): Promise<void> {
    if (this.file) {
      await this.file.fh.close().catch(() => undefined);
      await rm(this.file.path, { force: true });
    } else {
      this.env.memory.give(this.pending);
    }
    this.chunks = [];
    this.head = [];
  }

  private async flush(): Promise<void> {
    if (!this.file || !this.chunks.length) return;
    const data = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.chunks = [];
    this.pending = 0;
    await writeAll(this.file.fh, data);
  }
}

/** FileHandle.write may write less than asked; loop until all of it is written. */
async function writeAll(fh: FileHandle, data: Buffer): Promise<void> {
  for (let off = 0; off < data.length;) off += (await fh.write(data, off, data.length - off)).bytesWritten;
}

/** MD5 and SHA-256 of content produced elsewhere (archive members), streamed for files. */
export async function hashContent(content: Content): Promise<{ md5: string; sha256: string }> {
  const md5 = createHash('md5'), sha256 = createHash('sha256');
  if (content.kind === 'buffer') {
    md5.update(content.data);
    sha256.update(content.data);
  } else {
    for await (const chunk of createReadStream(content.path)) {
      md5.update(chunk as Buffer);
      sha256.update(chunk as Buffer);
    }
  }
  return { md5: md5.digest('hex'), sha256: sha256.digest('hex') };
}

/** Moves an in-memory content to a temporary file (used when members would exceed the memory total). */
export async function spill(content: Content, temp: TempStore): Promise<Content> {
  if (content.kind === 'file') return content;
  const { path, fh } = await temp.newFile();
  try { await writeAll(fh, content.data); } finally { await fh.close(); }
  return { kind: 'file', path };
}
