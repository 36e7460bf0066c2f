/**
 * Container expansion, one level: the members of a zip, gzip, tar or TNEF stream (own code and yauzl,
 * tar-stream, node:zlib), and of 7z, RAR, CAB, ISO, bzip2 and xz through the external `7z` program
 * (sevenzip.ts). The caller identifies each member (filetype.ts) and calls expand() again for nested containers,
 * passing the same `budget` object so that all levels of one message share one unpacked-bytes total.
 *
 * Hostile input: the container and every name, size, flag and offset in it. Declared sizes are never trusted:
 * collect() (member.ts) counts the bytes a decompressor really produces, stops a member past the shared budget or
 * past the per-entry ratio, and spills members over `maxMemberInMemory` to randomly named temporary files, so a
 * zip bomb ends in ContainerLimitError('unpacked_bytes') with flat memory. Member names are labels only (path
 * traversal names are kept verbatim; yauzl's name validation, which would reject the whole zip, is bypassed).
 * Encrypted zip entries (general-purpose bit 0) are listed with `encrypted: true` and empty content; nothing is
 * decrypted. Zip entries with an unsupported method or corrupt data become members with `error` set and the
 * other entries are still read (an early bad entry must not hide the rest).
 *
 * Errors: ContainerLimitError with limit `members`, `unpacked_bytes`, `time` (signal aborted) or `malformed` (not
 * a readable container at all), carrying the members completed so far in `partial`. Failures of our own
 * temporary storage (ENOSPC, EACCES, a missing content file) are re-thrown unchanged.
 * Without the `7z` program, 7z/rar/cab/iso/bzip2/xz throw ContainerLimitError('unsupported') (see sevenZipAvailable()).
 */
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { extract as tarExtract } from 'tar-stream';
import * as yauzl from 'yauzl';
import type { ContainerKind } from './filetype.ts';
import { collect, ContainerLimitError, EMPTY_CONTENT, ExpandContext, errorText, type Budget, type ByteStream, type ExpandLimits, type Member } from './member.ts';
import { expandWith7z } from './sevenzip.ts';
import { contentStream, openSource, type ByteSource, type Content } from './source.ts';
import { parseTnef } from './tnef.ts';
import { findZipEnd } from './zipdir.ts';

export { ContainerLimitError, DEFAULT_MAX_RATIO, type Budget, type ContainerLimit, type ExpandLimits, type Member } from './member.ts';
export { sevenZipAvailable } from './sevenzip.ts';

/**
 * Members of a container, one level (the caller recurses). Counts unpacked bytes against `limits` through
 * `budget` (share one object across nested levels). Never buffers more than maxMemberInMemory per member; bigger
 * ones go to temporary files in tempDir. Throws ContainerLimitError when a limit is hit (zip bomb, too many
 * members, aborted) or the container is unreadable.
 */
export async function expand(content: Content, kind: ContainerKind | undefined, limits: ExpandLimits, budget: Budget = { unpacked: 0 }): Promise<Member[]> {
  const ctx = new ExpandContext(limits, budget);
  try {
    ctx.checkAbort();
    switch (kind) {
      case 'zip':
        await expandZip(ctx, content);
        break;
      case 'gzip':
        await expandGzip(ctx, content);
        break;
      case 'tar':
        await expandTar(ctx, content);
        break;
      case 'tnef':
        await expandTnef(ctx, content);
        break;
      case '7z':
      case 'rar':
      case 'cab':
      case 'iso':
        await expandWith7z(ctx, content, false);
        break;
      case 'bzip2':
      case 'xz':
        await expandWith7z(ctx, content, true);
        break;
      default:
        return [];
    }
  } catch (err) {
    if (isSystemError(err)) throw err;
    throw ctx.wrap(err, kind ?? 'container');
  }
  return ctx.members;
}

function isSystemError(err: unknown): boolean {
  return typeof (err as { syscall?: unknown })?.syscall === 'string';
}

// ---------------------------------------------------------------------------------------------- zip

/** yauzl reads through this: positional reads on our source, shifted past any prepended bytes. */
class SourceReader extends yauzl.RandomAccessReader {
  private readonly src: ByteSource;
  private readonly shift: number;
  constructor(src: ByteSource, shift: number) {
    super();
    this.src = src;
    this.shift = shift;
    this.on('error', () => {});
  }
  override _readStreamForRange(start: number, end: number): Readable {
    return contentStreamFromSource(this.src, start + this.shift, end + this.shift);
  }
  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null) => void): void {
    this.src.read(position + this.shift, length).then(
      (b) => {
        b.copy(buffer, offset);
        (callback as (err: Error | null, n: number) => void)(null, b.length);
      },
      (err: Error) => callback(err),
    );
  }
}

function contentStreamFromSource(src: ByteSource, start: number, end: number): Readable {
  async function* gen() {
    for (let pos = start; pos < end; ) {
      const b = await src.read(pos, Math.min(64 * 1024, end - pos));
      if (b.length === 0) return;
      pos += b.length;
      yield b;
    }
  }
  return Readable.from(gen(), { objectMode: false });
}

class EntryReader {
  private readonly zip: yauzl.ZipFile;
  private error: Error | undefined;
  constructor(zip: yauzl.ZipFile) {
    this.zip = zip;
    zip.on('error', (err: Error) => {
      this.error ??= err;
    });
  }
  next(): Promise<yauzl.Entry | null> {
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      const done = () => {
        this.zip.off('entry', onEntry);
        this.zip.off('end', onEnd);
        this.zip.off('error', onError);
      };
      const onEntry = (e: yauzl.Entry) => {
        done();
        resolve(e);
      };
      const onEnd = () => {
        done();
        resolve(null);
      };
      const onError = (err: Error) => {
        done();
        reject(err);
      };
      this.zip.on('entry', onEntry);
      this.zip.on('end', onEnd);
      this.zip.on('error', onError);
      this.zip.readEntry();
    });
  }
  open(entry: yauzl.Entry): Promise<Readable> {
    return new Promise((resolve, reject) => this.zip.openReadStream(entry, (err, stream) => (err ? reject(err) : resolve(stream))));
  }
}

async function expandZip(ctx: ExpandContext, content: Content): Promise<void> {
  const src = await openSource(content);
  let zip: yauzl.ZipFile | undefined;
  try {
    const end = await findZipEnd(src);
    if (!end) throw new ContainerLimitError('malformed', 'zip: no end of central directory record');
    const reader = new SourceReader(src, end.shift);
    zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
      yauzl.fromRandomAccessReader(reader, src.size - end.shift, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: false }, (err, z) =>
        err ? reject(err) : resolve(z),
      ),
    );
    const entries = new EntryReader(zip);
    const maxEntries = ctx.limits.maxMembers * 4 + 1000;
    for (let seen = 0; ; seen++) {
      ctx.checkAbort();
      const entry = await entries.next();
      if (!entry) break;
      if (seen >= maxEntries) throw new ContainerLimitError('members', `more than ${maxEntries} zip entries`);
      const name = entryName(entry);
      if (name.endsWith('/') && entry.uncompressedSize === 0) continue;
      ctx.reserve();
      if (entry.generalPurposeBitFlag & 1) {
        ctx.add({ name, content: EMPTY_CONTENT, size: entry.uncompressedSize, encrypted: true });
        continue;
      }
      if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
        ctx.add({ name, content: EMPTY_CONTENT, size: 0, encrypted: false, error: `unsupported compression method ${entry.compressionMethod}` });
        continue;
      }
      let stream: Readable;
      try {
        stream = await entries.open(entry);
      } catch (err) {
        ctx.add({ name, content: EMPTY_CONTENT, size: 0, encrypted: false, error: errorText(err) });
        continue;
      }
      const got = await collect(ctx, stream, entry.compressedSize);
      ctx.add({ name, content: got.content, size: got.size, encrypted: false, ...(got.error ? { error: got.error } : {}) });
    }
  } finally {
    zip?.close();
    await src.close();
  }
}

/** The entry name as stored: UTF-8 when flagged or given in the Info-ZIP Unicode Path field, else CP437. */
function entryName(entry: yauzl.Entry): string {
  const raw = entry.fileName as unknown as Buffer;
  try {
    return yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, raw, entry.extraFields, true);
  } catch {
    return raw.toString('latin1');
  }
}

// ---------------------------------------------------------------------------------------------- gzip

/** FNAME from an RFC 1952 header (ISO 8859-1, zero-terminated), or '' when absent or unreadable. */
export function gzipName(h: Buffer): string {
  if (h.length < 10 || h[0] !== 0x1f || h[1] !== 0x8b) return '';
  const flags = h[3];
  if ((flags & 0x08) === 0) return '';
  let p = 10;
  if (flags & 0x04) {
    if (p + 2 > h.length) return '';
    p += 2 + h.readUInt16LE(p);
  }
  const end = h.indexOf(0, p);
  if (p >= h.length || end < 0) return '';
  return h.subarray(p, end).toString('latin1');
}

async function expandGzip(ctx: ExpandContext, content: Content): Promise<void> {
  const src = await openSource(content);
  let head: Buffer;
  let size: number;
  try {
    head = await src.read(0, 64 * 1024 + 16);
    size = src.size;
  } finally {
    await src.close();
  }
  if (head.length < 18 || head[0] !== 0x1f || head[1] !== 0x8b) throw new ContainerLimitError('malformed', 'gzip: bad header');
  ctx.reserve();
  const input = contentStream(content);
  const gunzip = createGunzip();
  input.on('error', (err) => gunzip.destroy(err));
  gunzip.on('close', () => input.destroy());
  input.pipe(gunzip);
  const got = await collect(ctx, gunzip, size);
  if (got.size === 0 && got.error) throw new ContainerLimitError('malformed', `gzip: ${got.error}`);
  ctx.add({ name: gzipName(head), content: got.content, size: got.size, encrypted: false, ...(got.error ? { error: got.error } : {}) });
}

// ---------------------------------------------------------------------------------------------- tar

async function expandTar(ctx: ExpandContext, content: Content): Promise<void> {
  const input = contentStream(content);
  const ex = tarExtract({ allowUnknownFormat: true } as Parameters<typeof tarExtract>[0]);
  input.on('error', (err) => ex.destroy(err));
  input.pipe(ex);
  const maxEntries = ctx.limits.maxMembers * 4 + 1000;
  let seen = 0;
  try {
    for await (const entry of ex) {
      ctx.checkAbort();
      if (++seen > maxEntries) throw new ContainerLimitError('members', `more than ${maxEntries} tar entries`);
      const h = entry.header;
      if (h.type !== 'file' && h.type !== 'contiguous-file') {
        entry.resume();
        continue;
      }
      ctx.reserve();
      const got = await collect(ctx, entry as unknown as ByteStream);
      if (got.error) throw new ContainerLimitError('malformed', `tar: ${got.error}`);
      ctx.add({ name: h.name, content: got.content, size: got.size, encrypted: false });
    }
  } finally {
    input.destroy();
    ex.destroy();
  }
}

// ---------------------------------------------------------------------------------------------- TNEF

async function expandTnef(ctx: ExpandContext, content: Content): Promise<void> {
  const src = await openSource(content);
  let parsed;
  try {
    parsed = await parseTnef(src, ctx.limits.maxMembers + 1);
  } finally {
    await src.close();
  }
  if (parsed.attachments.length === 0 && parsed.error) throw new ContainerLimitError('malformed', `tnef: ${parsed.error}`);
  for (const a of parsed.attachments) {
    ctx.reserve();
    if (a.start === undefined || a.length === undefined) {
      ctx.add({ name: a.name, content: EMPTY_CONTENT, size: 0, encrypted: false });
      continue;
    }
    const got = await collect(ctx, contentStream(content, a.start, a.start + a.length));
    const error = got.error ?? (a.truncated ? 'truncated' : undefined);
    ctx.add({ name: a.name, content: got.content, size: got.size, encrypted: false, ...(error ? { error } : {}) });
  }
}
