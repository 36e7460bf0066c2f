/**
 * A minimal reader for OLE2 compound files ([MS-CFB]: legacy Office documents, MSI packages, Outlook .msg):
 * the directory (names, types, CLSIDs, tree paths) and capped reads of single streams. It exists so that file
 * typing can look for VBA storages, encryption streams and the MSI CLSID in a compound file of any size, reading
 * only the header, the FAT, the directory and the few streams it asks for, positionally, from memory or disk.
 * (The `cfb` package needs the whole file in memory; the tests use it to build fixtures and cross-check.)
 *
 * Hostile input: every field. Sector numbers are checked against the real file size, every chain walk is bounded
 * by the number of sectors in the file (a FAT loop ends the chain), the FAT and directory sizes are capped, the
 * directory tree walk keeps a visited set, and a header that does not parse returns null. Nothing here throws for
 * a property of the file; I/O errors propagate.
 */
import type { ByteSource } from './source.ts';

export const OLE_MAGIC = Buffer.from('d0cf11e0a1b11ae1', 'hex');

const MAXREGSECT = 0xfffffffa;
const NOSTREAM = 0xffffffff;
/** At most this many directory entries are read (real documents have tens to a few thousand). */
const MAX_DIR_ENTRIES = 65536;

export interface OleEntry {
  name: string;
  /** Path from the root storage, `/`-separated (e.g. `Macros/VBA/dir`); the bare name for orphaned entries. */
  path: string;
  type: 'storage' | 'stream' | 'root';
  size: number;
  start: number;
  clsid: Buffer;
}

export interface OleFile {
  /** CLSID of the root storage (16 bytes, on-disk order). */
  rootClsid: Buffer;
  entries: OleEntry[];
  /** Set when a chain was cut short (loop, bad sector) or the directory was truncated. */
  damaged: boolean;
  /** The first `max` bytes of a stream (fewer if the chain ends early). */
  readStream(entry: OleEntry, max: number): Promise<Buffer>;
}

export async function readOle(src: ByteSource): Promise<OleFile | null> {
  const h = await src.read(0, 512);
  if (h.length < 512 || !h.subarray(0, 8).equals(OLE_MAGIC)) return null;
  const shift = h.readUInt16LE(0x1e);
  const miniShift = h.readUInt16LE(0x20);
  if ((shift !== 9 && shift !== 12) || miniShift !== 6) return null;
  const sectorSize = 1 << shift;
  const perSector = sectorSize / 4;
  const sectorCount = Math.max(0, Math.ceil((src.size - sectorSize) / sectorSize));
  if (sectorCount === 0) return null;
  let damaged = false;

  const sectorPos = (n: number) => (n + 1) * sectorSize;
  const validSector = (n: number) => n < sectorCount;

  // FAT sector list: 109 in the header, the rest in the DIFAT chain.
  const fatSectorsWanted = Math.min(h.readUInt32LE(0x2c), Math.ceil(sectorCount / perSector) + 1);
  const fatSectors: number[] = [];
  for (let i = 0; i < 109 && fatSectors.length < fatSectorsWanted; i++) {
    const s = h.readUInt32LE(0x4c + i * 4);
    if (s > MAXREGSECT) break;
    fatSectors.push(s);
  }
  let difat = h.readUInt32LE(0x44);
  for (let hops = 0; fatSectors.length < fatSectorsWanted && difat <= MAXREGSECT; hops++) {
    if (!validSector(difat) || hops > sectorCount) {
      damaged = true;
      break;
    }
    const d = await src.read(sectorPos(difat), sectorSize);
    if (d.length < sectorSize) {
      damaged = true;
      break;
    }
    for (let i = 0; i < perSector - 1 && fatSectors.length < fatSectorsWanted; i++) {
      const s = d.readUInt32LE(i * 4);
      if (s <= MAXREGSECT) fatSectors.push(s);
    }
    difat = d.readUInt32LE(sectorSize - 4);
  }

  // The FAT itself, limited to entries that address sectors inside the file.
  const fat = new Uint32Array(Math.min(sectorCount, fatSectors.length * perSector)).fill(NOSTREAM);
  for (let i = 0; i < fatSectors.length; i++) {
    if (!validSector(fatSectors[i])) {
      damaged = true;
      continue;
    }
    const d = await src.read(sectorPos(fatSectors[i]), sectorSize);
    for (let j = 0; j < perSector && i * perSector + j < fat.length && (j + 1) * 4 <= d.length; j++) {
      fat[i * perSector + j] = d.readUInt32LE(j * 4);
    }
  }

  /** Sector numbers of a chain, stopping at its end, a bad sector, a loop or `maxSectors`. */
  const chain = (start: number, maxSectors: number, table: Uint32Array, limit: number): number[] => {
    const out: number[] = [];
    const seen = new Set<number>();
    let s = start;
    while (s <= MAXREGSECT && out.length < maxSectors) {
      if (s >= limit || seen.has(s)) {
        damaged = true;
        break;
      }
      seen.add(s);
      out.push(s);
      s = s < table.length ? table[s] : NOSTREAM;
    }
    return out;
  };

  // Directory.
  const dirChain = chain(h.readUInt32LE(0x30), Math.ceil((MAX_DIR_ENTRIES * 128) / sectorSize), fat, sectorCount);
  const raw: { name: string; type: number; left: number; right: number; child: number; clsid: Buffer; start: number; size: number }[] = [];
  const major = h.readUInt16LE(0x1a);
  for (const s of dirChain) {
    const d = await src.read(sectorPos(s), sectorSize);
    for (let off = 0; off + 128 <= d.length; off += 128) {
      const e = d.subarray(off, off + 128);
      const nameLen = Math.min(e.readUInt16LE(0x40), 64);
      const name = e.subarray(0, Math.max(0, nameLen - 2)).toString('utf16le');
      const low = e.readUInt32LE(0x78);
      const high = major === 4 ? e.readUInt32LE(0x7c) : 0;
      raw.push({
        name,
        type: e[0x42],
        left: e.readUInt32LE(0x44),
        right: e.readUInt32LE(0x48),
        child: e.readUInt32LE(0x4c),
        clsid: Buffer.from(e.subarray(0x50, 0x60)),
        start: e.readUInt32LE(0x74),
        size: high < 0x200000 ? high * 0x100000000 + low : Number.MAX_SAFE_INTEGER,
      });
    }
  }
  if (raw.length === 0 || raw[0].type !== 5) return null;

  // Tree paths: each storage's children form a binary tree through left/right; walk it with a visited set.
  const paths = new Map<number, string>();
  const visited = new Set<number>();
  const stack: { id: number; prefix: string }[] = [];
  const pushSiblings = (first: number, prefix: string) => {
    const todo = [first];
    while (todo.length > 0) {
      const id = todo.pop() as number;
      if (id >= raw.length || visited.has(id)) continue;
      visited.add(id);
      const e = raw[id];
      const path = prefix ? `${prefix}/${e.name}` : e.name;
      paths.set(id, path);
      todo.push(e.left, e.right);
      if (e.type === 1) stack.push({ id, prefix: path });
    }
  };
  visited.add(0);
  pushSiblings(raw[0].child, '');
  while (stack.length > 0) {
    const { id, prefix } = stack.pop() as { id: number; prefix: string };
    pushSiblings(raw[id].child, prefix);
  }

  const entries: OleEntry[] = [];
  raw.forEach((e, i) => {
    if (e.type !== 1 && e.type !== 2 && e.type !== 5) return;
    entries.push({
      name: e.name,
      path: i === 0 ? '' : (paths.get(i) ?? e.name),
      type: e.type === 1 ? 'storage' : e.type === 2 ? 'stream' : 'root',
      size: e.size,
      start: e.start,
      clsid: e.clsid,
    });
  });

  // Mini stream support, loaded on first use.
  const cutoff = h.readUInt32LE(0x38) || 4096;
  let mini: { fat: Uint32Array; rootChain: number[] } | undefined;
  const loadMini = async () => {
    if (mini) return mini;
    const miniFatChain = chain(h.readUInt32LE(0x3c), Math.min(h.readUInt32LE(0x40), sectorCount), fat, sectorCount);
    const rootChain = chain(raw[0].start, sectorCount, fat, sectorCount);
    const miniCount = (rootChain.length * sectorSize) / 64;
    const mf = new Uint32Array(Math.min(miniCount, miniFatChain.length * perSector)).fill(NOSTREAM);
    for (let i = 0; i < miniFatChain.length; i++) {
      const d = await src.read(sectorPos(miniFatChain[i]), sectorSize);
      for (let j = 0; j < perSector && i * perSector + j < mf.length && (j + 1) * 4 <= d.length; j++) mf[i * perSector + j] = d.readUInt32LE(j * 4);
    }
    mini = { fat: mf, rootChain };
    return mini;
  };

  const readStream = async (entry: OleEntry, max: number): Promise<Buffer> => {
    const want = Math.max(0, Math.min(max, entry.size));
    if (want === 0) return Buffer.alloc(0);
    const parts: Buffer[] = [];
    let got = 0;
    if (entry.type !== 'root' && entry.size < cutoff) {
      const m = await loadMini();
      const miniPerSector = sectorSize / 64;
      for (const ms of chain(entry.start, Math.ceil(want / 64), m.fat, m.fat.length)) {
        const container = m.rootChain[Math.floor(ms / miniPerSector)];
        if (container === undefined) break;
        const d = await src.read(sectorPos(container) + (ms % miniPerSector) * 64, Math.min(64, want - got));
        parts.push(d);
        got += d.length;
        if (d.length === 0 || got >= want) break;
      }
    } else {
      for (const s of chain(entry.start, Math.ceil(want / sectorSize), fat, sectorCount)) {
        const d = await src.read(sectorPos(s), Math.min(sectorSize, want - got));
        parts.push(d);
        got += d.length;
        if (d.length === 0 || got >= want) break;
      }
    }
    return Buffer.concat(parts);
  };

  return { rootClsid: raw[0].clsid, entries, get damaged() { return damaged; }, readStream };
}
