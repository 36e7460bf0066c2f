/**
 * Reading a zip's central directory (APPNOTE.TXT §4.3.12–16, incl. zip64 §4.3.14–15) for file typing: entry
 * names, flags and methods, and capped reads of small entries such as OOXML's `[Content_Types].xml` or ODF's
 * `mimetype`. Extraction of members is containers.ts's job (yauzl); this only answers "what kind of zip is it".
 *
 * Hostile input: the whole file. The end record is searched in the last 64 KiB + 22 bytes; the directory read is
 * capped (8 MiB, 100,000 entries) and a truncated directory returns what parsed. Data prepended to the archive
 * (self-extractor stubs, junk) is tolerated by trusting the directory's position relative to the end record.
 * Entry reads are capped on both sides (packed and unpacked bytes). Nothing throws for a property of the file.
 */
import { createInflateRaw, constants as zc } from 'node:zlib';
import type { ByteSource } from './source.ts';

const MAX_CD_BYTES = 8 * 1024 * 1024;
const MAX_ENTRIES = 100_000;

export interface ZipDirEntry {
  /** Name as stored; UTF-8 when flagged, else Latin-1 (enough for the ASCII names we look for). */
  name: string;
  flags: number;
  method: number;
  packedSize: number;
  size: number;
  /** Absolute position of the local header in the file. */
  localHeader: number;
}

export interface ZipDir {
  entries: ZipDirEntry[];
  /** Some entry has general-purpose bit 0 (traditional or strong encryption) set. */
  encrypted: boolean;
}

export interface ZipEnd {
  /** Entry count, directory size and offset as recorded (zip64 values when present). */
  count: number;
  cdSize: number;
  cdOffset: number;
  /** Bytes before the archive proper (self-extractor stub, junk): add to every recorded offset. */
  shift: number;
}

/** The end of central directory record (zip64-aware), or null when there is none in the last 64 KiB. */
export async function findZipEnd(src: ByteSource): Promise<ZipEnd | null> {
  const tailLen = Math.min(src.size, 65535 + 22);
  const tailStart = src.size - tailLen;
  const tail = await src.read(tailStart, tailLen);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail[i] === 0x50 && tail[i + 1] === 0x4b && tail[i + 2] === 5 && tail[i + 3] === 6 && i + 22 + tail.readUInt16LE(i + 20) <= tail.length) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return null;
  const eocdPos = tailStart + eocd;
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  let recordStart = eocdPos;
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = await src.read(eocdPos - 20, 20);
    if (loc.length === 20 && loc.readUInt32LE(0) === 0x07064b50) {
      const z64Pos = Number(loc.readBigUInt64LE(8));
      const z = await src.read(z64Pos, 56);
      if (z.length === 56 && z.readUInt32LE(0) === 0x06064b50) {
        count = Number(z.readBigUInt64LE(32));
        cdSize = Number(z.readBigUInt64LE(40));
        cdOffset = Number(z.readBigUInt64LE(48));
        recordStart = z64Pos;
      }
    }
  }
  // Prepended data shifts every offset by the same amount; the directory ends where the end record starts.
  return { count, cdSize, cdOffset, shift: Math.max(0, recordStart - cdSize - cdOffset) };
}

/** The central directory, or null when no end record is found. */
export async function readZipDir(src: ByteSource): Promise<ZipDir | null> {
  const end = await findZipEnd(src);
  if (!end) return null;
  const { count, cdSize, cdOffset, shift } = end;
  const cd = await src.read(cdOffset + shift, Math.min(cdSize, MAX_CD_BYTES));
  const entries: ZipDirEntry[] = [];
  let encrypted = false;
  let p = 0;
  while (p + 46 <= cd.length && entries.length < Math.min(count || MAX_ENTRIES, MAX_ENTRIES)) {
    if (cd.readUInt32LE(p) !== 0x02014b50) break;
    const flags = cd.readUInt16LE(p + 8);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    if (p + 46 + nameLen > cd.length) break;
    const nameBuf = cd.subarray(p + 46, p + 46 + nameLen);
    let packedSize = cd.readUInt32LE(p + 20);
    let size = cd.readUInt32LE(p + 24);
    let local = cd.readUInt32LE(p + 42);
    const extra = cd.subarray(p + 46 + nameLen, Math.min(cd.length, p + 46 + nameLen + extraLen));
    if (size === 0xffffffff || packedSize === 0xffffffff || local === 0xffffffff) {
      [size, packedSize, local] = zip64Fields(extra, size, packedSize, local);
    }
    if (flags & 1) encrypted = true;
    entries.push({
      name: nameBuf.toString(flags & 0x800 ? 'utf8' : 'latin1'),
      flags,
      method: cd.readUInt16LE(p + 10),
      packedSize,
      size,
      localHeader: local + shift,
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return { entries, encrypted };
}

function zip64Fields(extra: Buffer, size: number, packed: number, local: number): [number, number, number] {
  for (let i = 0; i + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(i);
    const len = extra.readUInt16LE(i + 2);
    if (id === 1) {
      let q = i + 4;
      const end = Math.min(extra.length, q + len);
      const next = () => {
        if (q + 8 > end) return undefined;
        const v = Number(extra.readBigUInt64LE(q));
        q += 8;
        return v;
      };
      if (size === 0xffffffff) size = next() ?? size;
      if (packed === 0xffffffff) packed = next() ?? packed;
      if (local === 0xffffffff) local = next() ?? local;
      break;
    }
    i += 4 + len;
  }
  return [size, packed, local];
}

/** The first local header's name, for zips whose directory is missing (truncated or streamed). */
export async function firstLocalName(src: ByteSource): Promise<string | null> {
  const h = await src.read(0, 30 + 1024);
  if (h.length < 30 || h.readUInt32LE(0) !== 0x04034b50) return null;
  const nameLen = h.readUInt16LE(26);
  if (30 + nameLen > h.length) return null;
  return h.subarray(30, 30 + nameLen).toString(h.readUInt16LE(6) & 0x800 ? 'utf8' : 'latin1');
}

/**
 * Up to `max` unpacked bytes of a small entry (stored or deflated, not encrypted), or null when unreadable.
 * A truncated or corrupt deflate stream yields what inflated (null if nothing did).
 */
export async function readZipEntry(src: ByteSource, e: ZipDirEntry, max: number): Promise<Buffer | null> {
  if (e.flags & 1 || (e.method !== 0 && e.method !== 8)) return null;
  const lh = await src.read(e.localHeader, 30);
  if (lh.length < 30 || lh.readUInt32LE(0) !== 0x04034b50) return null;
  const dataPos = e.localHeader + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
  const packed = await src.read(dataPos, Math.min(e.packedSize, max * 2 + 1024, 4 * 1024 * 1024));
  if (e.method === 0) return packed.subarray(0, max);
  return inflateCapped(packed, max);
}

/** Inflate raw deflate data up to `max` bytes; what inflated before an error or truncation is kept. */
function inflateCapped(data: Buffer, max: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const inf = createInflateRaw({ finishFlush: zc.Z_SYNC_FLUSH });
    const out: Buffer[] = [];
    let n = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      inf.destroy();
      resolve(n > 0 ? Buffer.concat(out).subarray(0, max) : null);
    };
    inf.on('data', (c: Buffer) => {
      out.push(c);
      n += c.length;
      if (n >= max) finish();
    });
    inf.on('end', finish);
    inf.on('error', finish);
    inf.end(data);
  });
}
