/**
 * Test fixtures for filetype/containers tests, built in code so that no binary sample files are needed: a tiny
 * zip writer (APPNOTE local headers + central directory, deflate via node:zlib, CRC-32 via zlib.crc32) that can
 * also write lying or broken entries, a TNEF writer, OLE compound files via the `cfb` package, and hand-made
 * executable headers. Test-only; not imported by production code.
 */
import CFB from 'cfb';
import { crc32, deflateRawSync, createDeflateRaw } from 'node:zlib';

export interface ZipSpec {
  name: string | Buffer;
  data?: Buffer | string;
  /** 0 = stored, 8 = deflate (default), anything else is written as stored bytes with that method number. */
  method?: number;
  /** Set general-purpose bit 0 (the data is written as is: we never need it to decrypt). */
  encrypted?: boolean;
  /** Use these bytes as the compressed data instead of compressing `data`. */
  raw?: Buffer;
  /** Declared uncompressed size (default: the real one). */
  size?: number;
  /** UTF-8 name flag (bit 11). */
  utf8?: boolean;
}

export function makeZip(specs: ZipSpec[], opts: { prefix?: Buffer; comment?: string } = {}): Buffer {
  const prefix = opts.prefix ?? Buffer.alloc(0);
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const s of specs) {
    const name = typeof s.name === 'string' ? Buffer.from(s.name, 'utf8') : s.name;
    const data = typeof s.data === 'string' ? Buffer.from(s.data) : (s.data ?? Buffer.alloc(0));
    const method = s.method ?? 8;
    const packed = s.raw ?? (method === 8 ? deflateRawSync(data) : data);
    const flags = (s.encrypted ? 1 : 0) | (s.utf8 ? 0x800 : 0);
    const crc = crc32(data);
    const size = s.size ?? data.length;
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(flags, 6);
    lh.writeUInt16LE(method, 8);
    lh.writeUInt16LE(0, 10);
    lh.writeUInt16LE(0x21, 12);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(packed.length, 18);
    lh.writeUInt32LE(size, 22);
    lh.writeUInt16LE(name.length, 26);
    lh.writeUInt16LE(0, 28);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(flags, 8);
    ch.writeUInt16LE(method, 10);
    ch.writeUInt16LE(0, 12);
    ch.writeUInt16LE(0x21, 14);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(packed.length, 20);
    ch.writeUInt32LE(size, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    locals.push(lh, name, packed);
    centrals.push(ch, name);
    offset += 30 + name.length + packed.length;
  }
  const cd = Buffer.concat(centrals);
  const comment = Buffer.from(opts.comment ?? '');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(specs.length, 8);
  end.writeUInt16LE(specs.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(comment.length, 20);
  return Buffer.concat([prefix, ...locals, cd, end, comment]);
}

/** Raw deflate of `n` zero bytes, produced in 1 MiB steps so the test never holds `n` bytes. */
export async function deflatedZeros(n: number): Promise<Buffer> {
  const d = createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  d.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => {
    d.on('end', resolve);
    d.on('error', reject);
  });
  const chunk = Buffer.alloc(1024 * 1024);
  for (let left = n; left > 0; left -= chunk.length) {
    const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
    if (!d.write(piece)) await new Promise((r) => d.once('drain', r));
  }
  d.end();
  await done;
  return Buffer.concat(out);
}

export function ooxmlContentTypes(main: string, extra = ''): string {
  return (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
    '<Default Extension="xml" ContentType="application/xml"/>' +
    `<Override PartName="/word/document.xml" ContentType="${main}"/>${extra}</Types>`
  );
}

/** An OLE compound file with the given streams (paths like `Macros/VBA/dir`); `clsid` = root CLSID as on disk (hex). */
export function makeOle(streams: Record<string, Buffer | string>, clsid?: string): Buffer {
  const c = CFB.utils.cfb_new(clsid ? { CLSID: clsid } : undefined);
  for (const [path, data] of Object.entries(streams)) CFB.utils.cfb_add(c, path, typeof data === 'string' ? Buffer.from(data) : data);
  return Buffer.from(CFB.write(c, { type: 'buffer' }) as Uint8Array);
}

/** A BIFF8 workbook globals substream: BOF, optional FILEPASS, one BOUNDSHEET per sheet type, EOF. */
export function biffWorkbook(sheetTypes: number[], opts: { filepass?: boolean; filler?: number } = {}): Buffer {
  const rec = (type: number, data: Buffer) => {
    const h = Buffer.alloc(4);
    h.writeUInt16LE(type, 0);
    h.writeUInt16LE(data.length, 2);
    return Buffer.concat([h, data]);
  };
  const parts = [rec(0x0809, Buffer.from([0x00, 0x06, 0x05, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))];
  if (opts.filepass) parts.push(rec(0x002f, Buffer.alloc(54)));
  // Filler records (WRITEACCESS-like, 0x005C) push the BOUNDSHEETs further into the stream.
  for (let left = opts.filler ?? 0; left > 0; left -= 8000) parts.push(rec(0x005c, Buffer.alloc(Math.min(8000, left), 0x20)));
  sheetTypes.forEach((dt, i) => {
    const name = Buffer.from(`Sheet${i + 1}`, 'latin1');
    const d = Buffer.alloc(8 + name.length);
    d.writeUInt32LE(0, 0);
    d[4] = 0; // visible
    d[5] = dt;
    d[6] = name.length;
    d[7] = 0; // compressed (8-bit) characters
    name.copy(d, 8);
    parts.push(rec(0x0085, d));
  });
  parts.push(rec(0x000a, Buffer.alloc(0)));
  return Buffer.concat(parts);
}

/** A PE image header: MZ stub, `PE\0\0`, COFF header with the given characteristics, a PE32 optional header magic. */
export function peHeader(characteristics: number, lfanew = 0x80): Buffer {
  const b = Buffer.alloc(lfanew + 0x100);
  b.write('MZ', 0, 'latin1');
  b.writeUInt16LE(0x90, 2);
  b.writeUInt32LE(lfanew, 0x3c);
  b.write('This program cannot be run in DOS mode.', 0x4e, 'latin1');
  b.write('PE\0\0', lfanew, 'latin1');
  b.writeUInt16LE(0x14c, lfanew + 4); // i386
  b.writeUInt16LE(1, lfanew + 6); // one section
  b.writeUInt16LE(0xe0, lfanew + 20); // size of optional header
  b.writeUInt16LE(characteristics, lfanew + 22);
  b.writeUInt16LE(0x10b, lfanew + 24);
  return b;
}

// ---------------------------------------------------------------------------------------------- TNEF

export interface TnefSpec {
  title?: string;
  data?: Buffer;
  longName?: string;
  /** Put the data in PR_ATTACH_DATA_OBJ (with a 16-byte IID) instead of attAttachData. */
  asObject?: boolean;
}

function tnefAttr(level: number, id: number, data: Buffer, declaredLength?: number): Buffer {
  const h = Buffer.alloc(9);
  h[0] = level;
  h.writeUInt32LE(id, 1);
  h.writeUInt32LE(declaredLength ?? data.length, 5);
  let sum = 0;
  for (const b of data) sum = (sum + b) & 0xffff;
  const c = Buffer.alloc(2);
  c.writeUInt16LE(sum, 0);
  return Buffer.concat([h, data, c]);
}

function pad4(b: Buffer): Buffer {
  return b.length % 4 === 0 ? b : Buffer.concat([b, Buffer.alloc(4 - (b.length % 4))]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

/** MAPI property block for attAttachment: a PT_LONG first (to exercise skipping), then the variable ones. */
function mapiProps(spec: TnefSpec): Buffer {
  const props: Buffer[] = [];
  // PR_ATTACH_METHOD (0x3705, PT_LONG) = 1
  props.push(u32((0x3705 << 16) | 0x0003), u32(1));
  // A named property (PT_BOOLEAN) to exercise the GUID + name skipping.
  props.push(u32((0x8001 << 16) | 0x000b), Buffer.alloc(16, 0xab), u32(1), u32(6), pad4(Buffer.from('x\0y\0\0\0')), u32(1));
  if (spec.longName !== undefined) {
    const s = Buffer.from(`${spec.longName}\0`, 'utf16le');
    props.push(u32((0x3707 << 16) | 0x001f), u32(1), u32(s.length), pad4(s));
  }
  if (spec.asObject && spec.data) {
    const v = Buffer.concat([Buffer.alloc(16, 0x11), spec.data]);
    props.push(u32((0x3701 << 16) | 0x000d), u32(1), u32(v.length), pad4(v));
  }
  const count = 2 + (spec.longName !== undefined ? 1 : 0) + (spec.asObject && spec.data ? 1 : 0);
  return Buffer.concat([u32(count), ...props]);
}

export function makeTnef(specs: TnefSpec[], opts: { truncateLast?: number } = {}): Buffer {
  const parts: Buffer[] = [u32(0x223e9f78), Buffer.from([0x01, 0x00])];
  parts.push(tnefAttr(1, 0x00089006, Buffer.from([0x00, 0x00, 0x01, 0x00]))); // attTnefVersion (message level)
  parts.push(tnefAttr(1, 0x00078008, Buffer.from('IPM.Microsoft Mail.Note\0'))); // attMessageClass
  for (const s of specs) {
    parts.push(tnefAttr(2, 0x00069002, Buffer.alloc(14))); // attAttachRendData
    if (s.title !== undefined) parts.push(tnefAttr(2, 0x00018010, Buffer.from(`${s.title}\0`, 'latin1')));
    if (s.data && !s.asObject) parts.push(tnefAttr(2, 0x0006800f, s.data));
    parts.push(tnefAttr(2, 0x00069005, mapiProps(s)));
  }
  const out = Buffer.concat(parts);
  if (opts.truncateLast) return out.subarray(0, out.length - opts.truncateLast);
  return out;
}

/** An attAttachData attribute whose declared length runs far past the end of the stream. */
export function tnefWithLyingLength(): Buffer {
  const head = [u32(0x223e9f78), Buffer.from([0x01, 0x00]), tnefAttr(2, 0x00069002, Buffer.alloc(14)), tnefAttr(2, 0x00018010, Buffer.from('big.bin\0'))];
  const h = Buffer.alloc(9);
  h[0] = 2;
  h.writeUInt32LE(0x0006800f, 1);
  h.writeUInt32LE(0xfffffff0, 5);
  return Buffer.concat([...head, h, Buffer.from('only these bytes')]);
}
