/**
 * True file type from content (SPEC §3.5): a category from TYPE_CATEGORIES, a short label (`pe`, `docm`, `zip`,
 * `svg`, ...), and for documents and archives whether they are encrypted or carry macros, and which expander
 * (containers.ts) opens them. Names and declared MIME types are never consulted.
 *
 * Order of checks (first match wins), security-relevant types first so that a polyglot is typed by what a
 * victim's system would do with it: executables (PE/MZ, ELF, Mach-O incl. fat, Java class, DEX, WebAssembly,
 * LNK, CHM), OLE compound files (MSI → executable; doc/xls/ppt with VBA storages or Excel 4.0 macro sheets →
 * `office_macro`; encryption), zips (OOXML docx/docm..., ODF, jar, apk, msix, plain zip), other archives, PDF
 * (`%PDF-` in the first KiB), RTF, fixed-magic images/media/disk images/databases, then text (markup, messages,
 * scripts, plain), weak magics, `file-type` for the long tail, and finally a zip found by its end record (junk
 * prepended to a zip). Anything else is `other`.
 *
 * Decisions: a jar (zip with META-INF/MANIFEST.MF), an apk and an msix/appx package are `executable` (one click
 * runs them) and can be expanded as zips; OOXML/ODF documents are not expanded (container unset); TNEF
 * (winmail.dat) is category `message`, label `tnef`, container `tnef` — dispatch on `container`, not on
 * category; label `rfc822` is an RFC 5322 message, `msg` an Outlook .msg (OLE); SVG is `image` (label `svg`) even
 * though it may carry script; CHM and LNK are `executable`; an OLE file that is not a known document is `other`
 * (`office_macro` if it holds VBA).
 *
 * Hostile input: all of it. Reads are bounded: a 64 KiB head, a 64 KiB tail, the zip directory (≤ 8 MiB), the
 * OLE directory and a ≤ 1 MiB prefix of one or two streams, and for PDF a scan for `/Encrypt` (whole file up to
 * 64 MiB, else the first and last 8 MiB). Parse failures of a sub-format fall back to the magic's plain label;
 * only I/O errors (e.g. a missing temporary file) reject.
 */
import { fileTypeFromBuffer } from 'file-type';
import type { TypeCategory } from '../types.ts';
import { classifyText, decodeText } from './textkind.ts';
import { OLE_MAGIC, readOle, type OleEntry } from './ole.ts';
import { openSource, type ByteSource, type Content } from './source.ts';
import { firstLocalName, readZipDir, readZipEntry, type ZipDirEntry } from './zipdir.ts';

export type { Content } from './source.ts';

/** Which expander opens it (containers.ts). `bzip2`, `xz`, `cab` and `iso` extend the original list; all need `7z`. */
export type ContainerKind = 'zip' | 'gzip' | 'tar' | '7z' | 'rar' | 'tnef' | 'bzip2' | 'xz' | 'cab' | 'iso';

export interface Identified {
  category: TypeCategory;
  label: string;
  /** Password-protected document or archive (for archives: some entry, or the whole listing). */
  encrypted?: boolean;
  /** VBA project, macro-enabled OOXML, Excel 4.0 macro sheet or ODF Basic/script library present. */
  hasMacros?: boolean;
  container?: ContainerKind;
}

const HEAD = 64 * 1024;
const TAIL = 64 * 1024;

/**
 * True type from CONTENT (never from the name). May read the whole content for OLE/OOXML macro and encryption
 * checks and the PDF encryption check. `size` is accepted for symmetry; the real size is taken from the content.
 */
export async function identify(content: Content, _size: number): Promise<Identified> {
  const src = await openSource(content);
  try {
    return await identifySource(src);
  } finally {
    await src.close();
  }
}

/** Whether `h` holds `bytes` (a latin1 string or byte values) at `off`; compared in place (called dozens of times per part). */
const at = (h: Buffer, off: number, bytes: string | number[]) => {
  const n = bytes.length;
  if (h.length < off + n) return false;
  if (typeof bytes === 'string') {
    for (let i = 0; i < n; i++) if (h[off + i] !== (bytes.charCodeAt(i) & 0xff)) return false;
  } else {
    for (let i = 0; i < n; i++) if (h[off + i] !== bytes[i]) return false;
  }
  return true;
};

async function identifySource(src: ByteSource): Promise<Identified> {
  if (src.size === 0) return { category: 'other', label: 'empty' };
  const head = await src.read(0, HEAD);
  const tail = src.size > HEAD ? await src.read(src.size - TAIL, TAIL) : head;

  const exe = await executable(src, head);
  if (exe) return exe;
  if (at(head, 0, OLE_MAGIC.toString('latin1'))) return safely(() => oleType(src), { category: 'other', label: 'ole' });
  if (at(head, 0, 'PK\x03\x04') || at(head, 0, 'PK\x05\x06') || at(head, 0, 'PK\x07\x08PK\x03\x04')) {
    return safely(() => zipType(src), { category: 'archive', label: 'zip', container: 'zip' });
  }
  const arc = await archive(src, head);
  if (arc) return arc;
  if (head.subarray(0, 1024).includes('%PDF-')) return { category: 'pdf', label: 'pdf', ...((await pdfEncrypted(src)) ? { encrypted: true } : {}) };
  if (at(head, 0, '{\\rt')) return { category: 'office', label: 'rtf' };
  const fixed = strongMagic(head, tail, src.size);
  if (fixed) return fixed;

  const text = decodeText(head, head.length === src.size);
  if (text !== null) {
    const kind = classifyText(text);
    return { category: kind.category, label: kind.label };
  }

  const weak = weakMagic(head);
  if (weak) return weak;
  const ft = await safely(() => fileTypeFromBuffer(head), undefined);
  if (ft) return fromFileType(ft.ext, ft.mime);
  // A zip with something prepended (an archiver opens it by its end record).
  const dir = await safely(() => readZipDir(src), null);
  if (dir && dir.entries.length > 0) return safely(() => zipType(src), { category: 'archive', label: 'zip', container: 'zip' });
  return { category: 'other', label: 'unknown' };
}

async function safely<T>(f: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (isIoError(err)) throw err;
    return fallback;
  }
}

function isIoError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) && code !== 'ERR_BUFFER_OUT_OF_BOUNDS';
}

// ---------------------------------------------------------------------------------------------- executables

async function executable(src: ByteSource, h: Buffer): Promise<Identified | undefined> {
  if (at(h, 0, 'MZ')) {
    if (h.length >= 0x40) {
      const lfanew = h.readUInt32LE(0x3c);
      const nt = lfanew + 26 <= h.length ? h.subarray(lfanew, lfanew + 26) : await src.read(lfanew, 26);
      if (at(nt, 0, 'PE\0\0') && nt.length >= 24) {
        const characteristics = nt.readUInt16LE(22);
        return { category: 'executable', label: characteristics & 0x2000 ? 'dll' : 'pe' };
      }
      if (at(nt, 0, 'NE') || at(nt, 0, 'LE') || at(nt, 0, 'LX')) return { category: 'executable', label: 'mz' };
    }
    // An MZ header without a newer header: a DOS program, unless it is text that happens to start with "MZ".
    if (h.subarray(0, 64).includes(0)) return { category: 'executable', label: 'mz' };
    return undefined;
  }
  if (at(h, 0, '\x7fELF') && (h[4] === 1 || h[4] === 2)) return { category: 'executable', label: 'elf' };
  if (h.length >= 8) {
    const m = h.readUInt32BE(0);
    if (m === 0xfeedface || m === 0xfeedfacf || m === 0xcefaedfe || m === 0xcffaedfe || m === 0xcafebabf || m === 0xbebafeca) {
      return { category: 'executable', label: 'macho' };
    }
    if (m === 0xcafebabe) {
      // Shared by Mach-O fat binaries (architecture count, small) and Java classes (version, major >= 45).
      const n = h.readUInt32BE(4);
      if (n > 0 && n < 20) return { category: 'executable', label: 'macho' };
      if (h.readUInt16BE(6) >= 45) return { category: 'executable', label: 'java_class' };
    }
  }
  if (at(h, 0, 'dex\n') && h[7] === 0) return { category: 'executable', label: 'dex' };
  if (at(h, 0, '\0asm') && h.length >= 8 && h.readUInt32LE(4) === 1) return { category: 'executable', label: 'wasm' };
  if (at(h, 0, [0x4c, 0, 0, 0, 0x01, 0x14, 0x02, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46])) return { category: 'executable', label: 'lnk' };
  if (at(h, 0, 'ITSF') && h.length >= 8 && h.readUInt32LE(4) === 3) return { category: 'executable', label: 'chm' };
  return undefined;
}

// ---------------------------------------------------------------------------------------------- OLE

const MSI_CLSIDS: Record<string, string> = {
  '84100c0000000000c000000000000046': 'msi',
  '86100c0000000000c000000000000046': 'msp',
  '82100c0000000000c000000000000046': 'mst',
};

async function oleType(src: ByteSource): Promise<Identified> {
  const ole = await readOle(src);
  if (!ole) return { category: 'other', label: 'ole' };
  const find = (name: string) => ole.entries.find((e) => e.type === 'stream' && e.name.toLowerCase() === name);
  const msi = MSI_CLSIDS[ole.rootClsid.toString('hex')];
  if (msi) return { category: 'executable', label: msi };
  // MSI table streams have names encoded into the U+3800–U+4840 range; `_Tables` etc. start with U+4840.
  if (ole.entries.some((e) => e.name.charCodeAt(0) === 0x4840)) return { category: 'executable', label: 'msi' };
  if (find('encryptioninfo') && find('encryptedpackage')) return { category: 'office', label: 'encrypted_ooxml', encrypted: true };

  let hasMacros = ole.entries.some(isVbaEntry);
  let encrypted = false;
  let label: string;
  const word = find('worddocument');
  const book = find('workbook') ?? find('book');
  const ppt = find('powerpoint document');
  if (word) {
    label = 'doc';
    const fib = await ole.readStream(word, 16);
    if (fib.length >= 12 && (fib.readUInt16LE(0) === 0xa5ec || fib.readUInt16LE(0) === 0xa5dc)) encrypted = (fib.readUInt16LE(0x0a) & 0x0100) !== 0;
  } else if (book) {
    label = 'xls';
    const biff = scanBiffGlobals(await ole.readStream(book, 1024 * 1024));
    encrypted = biff.encrypted;
    hasMacros ||= biff.macroSheet;
  } else if (ppt) {
    label = 'ppt';
    encrypted = find('encryptedsummary') !== undefined;
  } else if (ole.entries.some((e) => e.name.toLowerCase().startsWith('__substg1.0_'))) {
    return { category: 'message', label: 'msg' };
  } else if (find('visiodocument')) {
    label = 'vsd';
  } else if (ole.entries.some((e) => e.type === 'storage' && e.name.toLowerCase() === 'quill')) {
    label = 'pub';
  } else {
    return hasMacros ? { category: 'office_macro', label: 'ole', hasMacros: true } : { category: 'other', label: 'ole' };
  }
  return {
    category: hasMacros ? 'office_macro' : 'office',
    label,
    ...(hasMacros ? { hasMacros: true } : {}),
    ...(encrypted ? { encrypted: true } : {}),
  };
}

/** A VBA project: Word's `Macros`, Excel's `_VBA_PROJECT_CUR`, any `VBA` storage, or its `_VBA_PROJECT`/`dir`. */
function isVbaEntry(e: OleEntry): boolean {
  const n = e.name.toLowerCase();
  if (e.type === 'storage') return n === 'macros' || n === '_vba_project_cur' || n === 'vba';
  if (e.type === 'stream') return n === '_vba_project' || (n === 'dir' && e.path.toLowerCase().endsWith('vba/dir'));
  return false;
}

/**
 * The workbook globals substream of a BIFF5/8 Workbook stream: FILEPASS (0x002F) means encrypted; a BOUNDSHEET
 * (0x0085) whose sheet type is 1 is an Excel 4.0 (XLM) macro sheet.
 */
function scanBiffGlobals(buf: Buffer): { encrypted: boolean; macroSheet: boolean } {
  let encrypted = false;
  let macroSheet = false;
  for (let p = 0, n = 0; p + 4 <= buf.length && n < 100_000; n++) {
    const type = buf.readUInt16LE(p);
    const len = buf.readUInt16LE(p + 2);
    if (type === 0x002f) encrypted = true;
    else if (type === 0x0085 && len >= 6 && p + 10 <= buf.length && !encrypted && buf[p + 9] === 0x01) macroSheet = true;
    else if (type === 0x000a) break;
    p += 4 + len;
  }
  return { encrypted, macroSheet };
}

// ---------------------------------------------------------------------------------------------- zip family

async function zipType(src: ByteSource): Promise<Identified> {
  const dir = await readZipDir(src);
  const entries: ZipDirEntry[] = dir?.entries ?? [];
  const names = dir ? entries.map((e) => e.name.toLowerCase()) : [((await firstLocalName(src)) ?? '').toLowerCase()];
  const has = (n: string) => names.includes(n);
  const enc = dir?.encrypted ? { encrypted: true } : {};
  const entry = (n: string) => entries.find((e) => e.name.toLowerCase() === n);

  if (has('appxmanifest.xml') || has('appxmetadata/appxbundlemanifest.xml')) return { category: 'executable', label: 'msix', container: 'zip', ...enc };
  const ctEntry = entry('[content_types].xml');
  if (ctEntry || (!dir && has('[content_types].xml'))) {
    const ct = ctEntry ? ((await readZipEntry(src, ctEntry, 256 * 1024))?.toString('latin1').toLowerCase() ?? '') : '';
    return { ...ooxml(ct, names), ...enc };
  }
  const mt = entry('mimetype');
  if (mt) {
    const mime = ((await readZipEntry(src, mt, 256)) ?? Buffer.alloc(0)).toString('latin1').trim();
    if (mime === 'application/epub+zip') return { category: 'other', label: 'epub', ...enc };
    const odf = /^application\/vnd\.oasis\.opendocument\.([a-z-]+)/.exec(mime)?.[1];
    if (odf !== undefined) {
      const label = { text: 'odt', spreadsheet: 'ods', presentation: 'odp', graphics: 'odg' }[odf.replace(/-template$/, '')] ?? 'odf';
      // StarBasic modules live in Basic/<library>/<module>.xml; Scripts/ holds Python/JavaScript/BeanShell macros.
      const macros = names.some((n) => (n.startsWith('basic/') && /^basic\/[^/]+\/(?!script-l[bc]\.xml$)[^/]+\.xml$/.test(n)) || (n.startsWith('scripts/') && !n.endsWith('/')));
      return { category: macros ? 'office_macro' : 'office', label, ...(macros ? { hasMacros: true } : {}), ...enc };
    }
  }
  if (has('androidmanifest.xml') && has('classes.dex')) return { category: 'executable', label: 'apk', container: 'zip', ...enc };
  if (has('meta-inf/manifest.mf')) return { category: 'executable', label: 'jar', container: 'zip', ...enc };
  return { category: 'archive', label: 'zip', container: 'zip', ...enc };
}

function ooxml(ct: string, names: string[]): Identified {
  const prefix = (p: string) => names.some((n) => n.startsWith(p));
  let family: 'doc' | 'xls' | 'ppt' | 'vsd' | undefined;
  if (ct.includes('wordprocessingml') || ct.includes('vnd.ms-word.')) family = 'doc';
  else if (ct.includes('spreadsheetml') || ct.includes('vnd.ms-excel.')) family = 'xls';
  else if (ct.includes('presentationml') || ct.includes('vnd.ms-powerpoint.')) family = 'ppt';
  else if (ct.includes('vnd.ms-visio.')) family = 'vsd';
  else if (prefix('word/')) family = 'doc';
  else if (prefix('xl/')) family = 'xls';
  else if (prefix('ppt/')) family = 'ppt';
  else if (prefix('visio/')) family = 'vsd';
  if (family === undefined && (ct.includes('ms-package.xps') || ct.includes('oxps') || names.some((n) => n.endsWith('.fdseq')))) {
    return { category: 'other', label: 'xps' };
  }
  const hasMacros =
    ct.includes('macroenabled') ||
    ct.includes('vnd.ms-office.vbaproject') ||
    ct.includes('vnd.ms-excel.macrosheet') ||
    ct.includes('vnd.ms-excel.intlmacrosheet') ||
    names.some((n) => n.endsWith('vbaproject.bin') || n.startsWith('xl/macrosheets/'));
  let label: string;
  if (family === 'xls' && names.includes('xl/workbook.bin')) label = 'xlsb';
  else label = family === undefined ? 'ooxml' : `${family}${hasMacros ? 'm' : 'x'}`;
  return hasMacros ? { category: 'office_macro', label, hasMacros: true } : { category: 'office', label };
}

// ---------------------------------------------------------------------------------------------- other archives

async function archive(src: ByteSource, h: Buffer): Promise<Identified | undefined> {
  if (at(h, 0, [0x1f, 0x8b, 0x08])) return { category: 'archive', label: 'gzip', container: 'gzip' };
  if (at(h, 0, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])) {
    return { category: 'archive', label: '7z', container: '7z', ...((await sevenZipHeaderEncrypted(src, h)) ? { encrypted: true } : {}) };
  }
  if (at(h, 0, 'Rar!\x1a\x07\x01\x00')) return { category: 'archive', label: 'rar', container: 'rar', ...(rar5HeaderEncrypted(h) ? { encrypted: true } : {}) };
  if (at(h, 0, 'Rar!\x1a\x07\x00')) {
    // RAR 4: the main header (type 0x73) follows the marker; flag 0x0080 = block headers encrypted.
    const encrypted = h.length >= 12 && h[9] === 0x73 && (h.readUInt16LE(10) & 0x0080) !== 0;
    return { category: 'archive', label: 'rar', container: 'rar', ...(encrypted ? { encrypted: true } : {}) };
  }
  if (at(h, 0, 'BZh') && h[3] >= 0x31 && h[3] <= 0x39 && (at(h, 4, [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]) || at(h, 4, [0x17, 0x72, 0x45, 0x38, 0x50, 0x90]))) {
    return { category: 'archive', label: 'bzip2', container: 'bzip2' };
  }
  if (at(h, 0, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return { category: 'archive', label: 'xz', container: 'xz' };
  if (at(h, 0, 'MSCF\0\0\0\0')) return { category: 'archive', label: 'cab', container: 'cab' };
  if (at(h, 0, [0x78, 0x9f, 0x3e, 0x22])) return { category: 'message', label: 'tnef', container: 'tnef' };
  if (at(h, 257, 'ustar')) return { category: 'archive', label: 'tar', container: 'tar' };
  if (at(h, 0, [0x28, 0xb5, 0x2f, 0xfd])) return { category: 'archive', label: 'zstd' };
  if (at(h, 0, 'LZIP')) return { category: 'archive', label: 'lzip' };
  if (at(h, 0, '!<arch>\n')) return { category: 'archive', label: at(h, 8, 'debian-binary') ? 'deb' : 'ar' };
  if (at(h, 0, [0xed, 0xab, 0xee, 0xdb])) return { category: 'archive', label: 'rpm' };
  if (at(h, 0, '070707') || at(h, 0, '070701') || at(h, 0, '070702')) return { category: 'archive', label: 'cpio' };
  if (at(h, 0, 'ISc(')) return { category: 'archive', label: 'cab' };
  return undefined;
}

/** 7z with encrypted headers: the next header is an encoded header (0x17) whose coder is 7zAES (06 F1 07 01). */
async function sevenZipHeaderEncrypted(src: ByteSource, h: Buffer): Promise<boolean> {
  if (h.length < 32) return false;
  const offset = Number(h.readBigUInt64LE(12));
  const size = Number(h.readBigUInt64LE(20));
  if (!Number.isSafeInteger(offset) || size <= 0 || size > 1024 * 1024) return false;
  const next = await src.read(32 + offset, Math.min(size, 4096));
  return next[0] === 0x17 && next.includes(Buffer.from([0x06, 0xf1, 0x07, 0x01]));
}

/** RAR 5: the first header after the signature is an archive encryption header (type 4). */
function rar5HeaderEncrypted(h: Buffer): boolean {
  let p = 12; // signature (8) + header CRC32 (4)
  const vint = (): number | undefined => {
    let v = 0;
    for (let shift = 0; shift < 35 && p < h.length; shift += 7) {
      const b = h[p++];
      v += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return v;
    }
    return undefined;
  };
  if (vint() === undefined) return false;
  return vint() === 4;
}

// ---------------------------------------------------------------------------------------------- PDF

/** `/Encrypt` in a trailer or cross-reference stream dictionary (never compressed, so a byte search finds it). */
async function pdfEncrypted(src: ByteSource): Promise<boolean> {
  const needle = Buffer.from('/Encrypt');
  const CHUNK = 1024 * 1024;
  const ranges: [number, number][] = src.size <= 64 * 1024 * 1024 ? [[0, src.size]] : [[0, 8 * CHUNK], [src.size - 8 * CHUNK, src.size]];
  for (const [from, to] of ranges) {
    for (let pos = from; pos < to; pos += CHUNK) {
      const buf = await src.read(pos, Math.min(CHUNK + needle.length, to - pos));
      if (buf.includes(needle)) return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------- fixed magics

function strongMagic(h: Buffer, tail: Buffer, size: number): Identified | undefined {
  const image = (label: string): Identified => ({ category: 'image', label });
  const media = (label: string): Identified => ({ category: 'media', label });
  const disk = (label: string, container?: 'iso'): Identified => ({ category: 'disk_image', label, ...(container ? { container } : {}) });
  if (at(h, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return image('png');
  if (at(h, 0, [0xff, 0xd8, 0xff])) return image('jpeg');
  if (at(h, 0, 'GIF87a') || at(h, 0, 'GIF89a')) return image('gif');
  if (at(h, 0, 'II*\0') || at(h, 0, 'MM\0*') || at(h, 0, 'II+\0')) return image('tiff');
  if (at(h, 0, '8BPS')) return image('psd');
  if (at(h, 0, 'RIFF') && h.length >= 12) {
    const form = h.subarray(8, 12).toString('latin1');
    if (form === 'WEBP') return image('webp');
    if (form === 'WAVE') return media('wav');
    if (form === 'AVI ') return media('avi');
  }
  if (at(h, 4, 'ftyp')) {
    const brand = h.subarray(8, 12).toString('latin1');
    if (brand === 'avif' || brand === 'avis') return image('avif');
    if (['heic', 'heix', 'hevc', 'hevx', 'mif1', 'msf1'].includes(brand)) return image('heic');
    if (brand === 'qt  ') return media('mov');
    if (brand.startsWith('M4A') || brand.startsWith('M4B')) return media('m4a');
    if (brand.startsWith('3g')) return media('3gp');
    return media('mp4');
  }
  if (at(h, 0, 'OggS')) return media('ogg');
  if (at(h, 0, [0x1a, 0x45, 0xdf, 0xa3])) return media(h.subarray(0, 64).includes('webm') ? 'webm' : 'mkv');
  if (at(h, 0, 'fLaC')) return media('flac');
  if (at(h, 0, 'ID3')) return media('mp3');
  if (at(h, 0, 'MThd')) return media('midi');
  if (at(h, 0, [0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11])) return media('asf');
  if (at(h, 0, 'FLV\x01')) return media('flv');
  if (at(h, 0, [0, 0, 1, 0xba]) || at(h, 0, [0, 0, 1, 0xb3])) return media('mpeg');
  if (at(h, 0, 'FORM') && (at(h, 8, 'AIFF') || at(h, 8, 'AIFC'))) return media('aiff');
  for (const off of [0x8001, 0x8801, 0x9001]) if (at(h, off, 'CD001')) return disk('iso', 'iso');
  if (at(h, 0x8001, 'BEA01') || at(h, 0x8001, 'NSR02') || at(h, 0x8001, 'NSR03')) return disk('udf', 'iso');
  if (at(h, 0, 'vhdxfile')) return disk('vhdx');
  if (at(h, 0, 'conectix') || (size >= 512 && at(tail, tail.length - 512, 'conectix')) || (size >= 511 && at(tail, tail.length - 511, 'conectix'))) return disk('vhd');
  if (size >= 512 && at(tail, tail.length - 512, 'koly')) return disk('dmg');
  if (at(h, 0, 'KDMV') || at(h, 0, '# Disk DescriptorFile')) return disk('vmdk');
  if (at(h, 0, 'QFI\xfb')) return disk('qcow2');
  if (h.length >= 0x44 && h.readUInt32LE(0x40) === 0xbeda107f) return disk('vdi');
  if (at(h, 0, 'SQLite format 3\0')) return { category: 'database', label: 'sqlite' };
  if (at(h, 4, 'Standard Jet DB')) return { category: 'database', label: 'mdb' };
  if (at(h, 4, 'Standard ACE DB')) return { category: 'database', label: 'accdb' };
  if (at(h, 0, [0xe4, 0x52, 0x5c, 0x7b, 0x8c, 0xd8, 0xa7, 0x4d, 0xae, 0xb1, 0x53, 0x78, 0xd0, 0x29, 0x96, 0xd3])) return { category: 'office', label: 'one' };
  return undefined;
}

/** Magics short enough to occur in text; checked only once the content is known not to be text. */
function weakMagic(h: Buffer): Identified | undefined {
  if (at(h, 0, 'BM') && h.length >= 18 && [12, 40, 52, 56, 64, 108, 124].includes(h.readUInt32LE(14))) return { category: 'image', label: 'bmp' };
  if ((at(h, 0, [0, 0, 1, 0]) || at(h, 0, [0, 0, 2, 0])) && h.length >= 22) {
    const count = h.readUInt16LE(4);
    if (count > 0 && count < 256 && h[9] === 0) return { category: 'image', label: h[2] === 1 ? 'ico' : 'cur' };
  }
  if (h.length >= 4 && h[0] === 0xff && (h[1] & 0xe0) === 0xe0) {
    const version = (h[1] >> 3) & 3;
    const layer = (h[1] >> 1) & 3;
    const bitrate = h[2] >> 4;
    const rate = (h[2] >> 2) & 3;
    if (layer === 0 && version !== 1 && (h[1] & 0xf6) === 0xf0) return { category: 'media', label: 'aac' };
    if (version !== 1 && layer !== 0 && bitrate !== 0 && bitrate !== 15 && rate !== 3) return { category: 'media', label: 'mp3' };
  }
  return undefined;
}

const FT_ARCHIVES = new Set(['zip', 'tar', 'rar', 'gz', 'bz2', '7z', 'xz', 'zst', 'lz', 'lzh', 'arj', 'cab', 'cpio', 'ar', 'deb', 'rpm', 'Z', 'lzma', 'ace', 'alz', 'arc', 'zoo', 'sit', 'sitx', 'squashfs', 'lz4']);
const FT_EXECUTABLES = new Set(['exe', 'elf', 'macho', 'class', 'dex', 'wasm', 'lnk', 'msi', 'chm', 'xpi', 'crx', 'apk']);
const FT_DISKS = new Set(['iso', 'dmg', 'vhd', 'vhdx', 'vmdk', 'qcow2', 'vdi']);

function fromFileType(ext: string, mime: string): Identified {
  if (FT_EXECUTABLES.has(ext)) return { category: 'executable', label: ext };
  if (FT_ARCHIVES.has(ext)) return { category: 'archive', label: ext };
  if (FT_DISKS.has(ext)) return { category: 'disk_image', label: ext };
  if (mime.startsWith('image/')) return { category: 'image', label: ext };
  if (mime.startsWith('audio/') || mime.startsWith('video/')) return { category: 'media', label: ext };
  if (ext === 'pdf') return { category: 'pdf', label: 'pdf' };
  if (ext === 'sqlite' || ext === 'mdb' || ext === 'accdb') return { category: 'database', label: ext };
  if (ext === 'eml') return { category: 'message', label: 'rfc822' };
  if (['doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx', 'rtf', 'odt', 'ods', 'odp', 'one'].includes(ext)) return { category: 'office', label: ext };
  return { category: 'other', label: ext };
}
