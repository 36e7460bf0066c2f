/**
 * Container writers for the test corpus: a small zip writer (stored or deflated entries, optional traditional
 * PKWARE "ZipCrypto" encryption), gzip with a file name, uuencode and base64 line wrapping. Node built-ins only
 * (zlib.deflateRawSync, zlib.crc32); deterministic: fixed timestamps, no randomness, so the same input always
 * gives the same bytes.
 *
 * Formats: PKWARE APPNOTE 6.3.10 (local headers, central directory, end record; general-purpose flag bit 0 =
 * encrypted, bit 11 = UTF-8 name; §6.1 traditional encryption), RFC 1952 (gzip, FNAME), POSIX uuencode.
 * No zip64: every entry and archive here is far below 4 GiB (the zip bomb gets its size from nesting).
 */
import { crc32, deflateRawSync } from 'node:zlib';

/** 2024-03-01 09:30:00, the corpus's one timestamp. */
export const CORPUS_TIME = new Date(Date.UTC(2024, 2, 1, 9, 30, 0));
const DOS_TIME = (9 << 11) | (30 << 5);
const DOS_DATE = ((2024 - 1980) << 9) | (3 << 5) | 1;

export interface ZipEntry {
  /** Member path as stored (forward slashes by convention; a backslash is kept as written). */
  name: string;
  data: Uint8Array;
  /** Default `deflate`. */
  method?: 'store' | 'deflate';
  /** Encrypt with traditional PKWARE encryption under this password (flag bit 0). */
  password?: string;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

/** CRC-32 table for the byte-wise key updates of traditional encryption (the zlib polynomial, no inversion). */
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** Traditional PKWARE encryption (APPNOTE §6.1) of `plain`, with its 12-byte header in front. */
export function zipCrypto(plain: Uint8Array, password: string, crc: number): Buffer {
  const keys = [0x12345678, 0x23456789, 0x34567890];
  const update = (byte: number): void => {
    keys[0] = (CRC_TABLE[(keys[0] ^ byte) & 0xff] ^ (keys[0] >>> 8)) >>> 0;
    keys[1] = (Math.imul((keys[1] + (keys[0] & 0xff)) >>> 0, 134775813) + 1) >>> 0;
    keys[2] = (CRC_TABLE[(keys[2] ^ (keys[1] >>> 24)) & 0xff] ^ (keys[2] >>> 8)) >>> 0;
  };
  const streamByte = (): number => {
    const t = (keys[2] | 2) & 0xffff;
    return (Math.imul(t, t ^ 1) >>> 8) & 0xff;
  };
  for (const c of Buffer.from(password, 'latin1')) update(c);
  // The header is random in real archives; fixed here. Its last byte is the CRC's high byte (password check).
  const header = Buffer.from([0x4d, 0x6f, 0x61, 0x74, 0x2d, 0x63, 0x6f, 0x72, 0x70, 0x75, 0x73, crc >>> 24]);
  const input = Buffer.concat([header, plain]);
  const out = Buffer.alloc(input.length);
  for (let i = 0; i < input.length; i++) {
    out[i] = input[i] ^ streamByte();
    update(input[i]);
  }
  return out;
}

/** A zip archive of `entries`, in order. */
export function zip(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const method = e.method === 'store' ? 0 : 8;
    const crc = crc32(e.data);
    let payload: Buffer = method === 8 ? deflateRawSync(e.data, { level: 9 }) : Buffer.from(e.data);
    let flags = /[^\x20-\x7e]/.test(e.name) ? 0x0800 : 0;
    if (e.password !== undefined) {
      payload = zipCrypto(payload, e.password, crc);
      flags |= 0x0001;
    }
    const common = Buffer.concat([
      u16(20), u16(flags), u16(method), u16(DOS_TIME), u16(DOS_DATE), u32(crc), u32(payload.length), u32(e.data.length),
      u16(name.length), u16(0),
    ]);
    const local = Buffer.concat([u32(0x04034b50), common, name, payload]);
    centrals.push(Buffer.concat([u32(0x02014b50), u16(20), common, u16(0), u16(0), u16(0), u32(0), u32(offset), name]));
    locals.push(local);
    offset += local.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.concat([
    u32(0x06054b50), u16(0), u16(0), u16(entries.length), u16(entries.length), u32(directory.length), u32(offset), u16(0),
  ]);
  return Buffer.concat([...locals, directory, end]);
}

/** A gzip member (RFC 1952) carrying the original file name and the corpus timestamp. */
export function gzip(data: Uint8Array, name: string): Buffer {
  const header = Buffer.concat([
    Buffer.from([0x1f, 0x8b, 8, 0x08]), u32(CORPUS_TIME.getTime() / 1000), Buffer.from([2, 3]), Buffer.from(`${name}\0`, 'latin1'),
  ]);
  return Buffer.concat([header, deflateRawSync(data, { level: 9 }), u32(crc32(data)), u32(data.length)]);
}

/** POSIX uuencode (backquote for zero), `begin 644 <name>` … `end`, CRLF lines. */
export function uuencode(data: Uint8Array, name: string): string {
  const enc = (v: number) => (v === 0 ? '`' : String.fromCharCode(32 + v));
  const lines = [`begin 644 ${name}`];
  for (let i = 0; i < data.length; i += 45) {
    const chunk = data.subarray(i, i + 45);
    let line = enc(chunk.length);
    for (let j = 0; j < chunk.length; j += 3) {
      const [a, b = 0, c = 0] = chunk.subarray(j, j + 3);
      line += enc(a >> 2) + enc(((a << 4) | (b >> 4)) & 63) + enc(((b << 2) | (c >> 6)) & 63) + enc(c & 63);
    }
    lines.push(line);
  }
  lines.push('`', 'end');
  return `${lines.join('\r\n')}\r\n`;
}

/** Base64 in CRLF-terminated lines of 76 characters (RFC 2045 §6.8). */
export function base64Lines(data: Uint8Array): string {
  const s = Buffer.from(data).toString('base64');
  return `${s.replace(/.{1,76}/g, '$&\r\n')}`;
}
