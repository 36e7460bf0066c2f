/**
 * File samples for the test corpus, each small but structurally real so that content-based typing (and a
 * human with the usual tools) sees what it claims to be: the EICAR test file, a PE32 program that only
 * returns, an ISO 9660 image, a PNG, a PDF, Word documents with and without a VBA project, an Excel 97 (OLE)
 * workbook with a VBA project, and a TNEF (winmail.dat) carrying a file. Nothing here is harmful: the macros
 * show a message box, the program returns 0.
 *
 * Formats: Microsoft PE/COFF; ECMA-119 (ISO 9660); PNG (RFC 2083); PDF 1.4; ECMA-376 (OOXML); MS-CFB via the
 * `cfb` package; MS-OVBA (VBA project: dir stream, compression); MS-XLS (BIFF8 BOF/EOF); MS-OXTNEF.
 */
import { crc32, deflateSync } from 'node:zlib';
import CFB from 'cfb';
import { zip, type ZipEntry } from './lib.ts';

/** The EICAR anti-virus test file (68 bytes), assembled so this source file itself is not detected. */
export const EICAR = Buffer.from(['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS', '-TEST-FILE!$H+H*'].join(''), 'latin1');

/** A minimal valid PE32 (i386, GUI) program: one .text section whose entry point is `xor eax, eax; ret`. */
export function peProgram(): Buffer {
  const pe = Buffer.alloc(0x400);
  // DOS header and the usual "cannot be run in DOS mode" program.
  pe.write('MZ', 0, 'latin1');
  pe.writeUInt16LE(0x90, 2);
  pe.writeUInt16LE(3, 4);
  pe.writeUInt16LE(4, 8);
  pe.writeUInt16LE(0xffff, 12);
  pe.writeUInt16LE(0xb8, 16);
  pe.writeUInt16LE(0x40, 24);
  pe.writeUInt32LE(0x80, 0x3c);
  Buffer.from([0x0e, 0x1f, 0xba, 0x0e, 0x00, 0xb4, 0x09, 0xcd, 0x21, 0xb8, 0x01, 0x4c, 0xcd, 0x21]).copy(pe, 0x40);
  pe.write('This program cannot be run in DOS mode.\r\r\n$', 0x4e, 'latin1');
  // PE signature and COFF header.
  let o = 0x80;
  pe.write('PE\0\0', o, 'latin1');
  pe.writeUInt16LE(0x014c, o + 4); // i386
  pe.writeUInt16LE(1, o + 6); // sections
  pe.writeUInt32LE(0x65e19f18, o + 8); // 2024-03-01
  pe.writeUInt16LE(0xe0, o + 20); // optional header size
  pe.writeUInt16LE(0x0102, o + 22); // executable image, 32-bit
  // Optional header (PE32).
  o += 24;
  pe.writeUInt16LE(0x10b, o);
  pe.writeUInt8(14, o + 2);
  pe.writeUInt32LE(0x200, o + 4); // size of code
  pe.writeUInt32LE(0x1000, o + 16); // entry point
  pe.writeUInt32LE(0x1000, o + 20); // base of code
  pe.writeUInt32LE(0x2000, o + 24); // base of data
  pe.writeUInt32LE(0x400000, o + 28); // image base
  pe.writeUInt32LE(0x1000, o + 32); // section alignment
  pe.writeUInt32LE(0x200, o + 36); // file alignment
  pe.writeUInt16LE(6, o + 40); // OS version 6.0
  pe.writeUInt16LE(6, o + 48); // subsystem version 6.0
  pe.writeUInt32LE(0x2000, o + 56); // size of image
  pe.writeUInt32LE(0x200, o + 60); // size of headers
  pe.writeUInt16LE(2, o + 68); // Windows GUI
  pe.writeUInt16LE(0x8100, o + 70); // NX compatible, terminal-server aware
  pe.writeUInt32LE(0x100000, o + 72);
  pe.writeUInt32LE(0x1000, o + 76);
  pe.writeUInt32LE(0x100000, o + 80);
  pe.writeUInt32LE(0x1000, o + 84);
  pe.writeUInt32LE(16, o + 92); // data directories (all empty)
  // Section table.
  o += 0xe0;
  pe.write('.text', o, 'latin1');
  pe.writeUInt32LE(3, o + 8); // virtual size
  pe.writeUInt32LE(0x1000, o + 12);
  pe.writeUInt32LE(0x200, o + 16); // raw size
  pe.writeUInt32LE(0x200, o + 20); // raw pointer
  pe.writeUInt32LE(0x60000020, o + 36); // code, execute, read
  Buffer.from([0x31, 0xc0, 0xc3]).copy(pe, 0x200);
  return pe;
}

const SECTOR = 2048;

function bothEndian32(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(n, 0);
  b.writeUInt32BE(n, 4);
  return b;
}

function bothEndian16(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16LE(n, 0);
  b.writeUInt16BE(n, 2);
  return b;
}

function isoDirRecord(extent: number, length: number, id: Buffer, directory: boolean): Buffer {
  const len = 33 + id.length + (id.length % 2 === 0 ? 1 : 0);
  const r = Buffer.alloc(len);
  r[0] = len;
  bothEndian32(extent).copy(r, 2);
  bothEndian32(length).copy(r, 10);
  Buffer.from([124, 3, 1, 9, 30, 0, 0]).copy(r, 18); // 2024-03-01 09:30:00 UTC
  r[25] = directory ? 2 : 0;
  bothEndian16(1).copy(r, 28);
  r[32] = id.length;
  id.copy(r, 33);
  return r;
}

/** An ISO 9660 image (ECMA-119) holding one file, README.TXT: what a "backup" disk image lure looks like. */
export function isoImage(text: string): Buffer {
  const content = Buffer.from(text, 'latin1');
  const sectors = 22;
  const img = Buffer.alloc(sectors * SECTOR);
  const pad = (s: string, n: number) => Buffer.from(s.padEnd(n, ' '), 'latin1');
  const date = Buffer.concat([Buffer.from('2024030109300000', 'latin1'), Buffer.from([0])]);
  const noDate = Buffer.concat([Buffer.from('0'.repeat(16), 'latin1'), Buffer.from([0])]);
  // Primary volume descriptor (sector 16).
  const pvd = img.subarray(16 * SECTOR, 17 * SECTOR);
  pvd[0] = 1;
  pvd.write('CD001', 1, 'latin1');
  pvd[6] = 1;
  pad('', 32).copy(pvd, 8);
  pad('BACKUP_2024_03', 32).copy(pvd, 40);
  bothEndian32(sectors).copy(pvd, 80);
  bothEndian16(1).copy(pvd, 120);
  bothEndian16(1).copy(pvd, 124);
  bothEndian16(SECTOR).copy(pvd, 128);
  bothEndian32(10).copy(pvd, 132); // path table size
  pvd.writeUInt32LE(18, 140);
  pvd.writeUInt32BE(19, 148);
  isoDirRecord(20, SECTOR, Buffer.from([0]), true).copy(pvd, 156);
  for (const [at, n] of [[190, 128], [318, 128], [446, 128], [574, 128], [702, 37], [739, 37], [776, 37]] as const) pad('', n).copy(pvd, at);
  date.copy(pvd, 813);
  date.copy(pvd, 830);
  noDate.copy(pvd, 847);
  date.copy(pvd, 864);
  pvd[881] = 1;
  // Set terminator (sector 17).
  const term = img.subarray(17 * SECTOR);
  term[0] = 255;
  term.write('CD001', 1, 'latin1');
  term[6] = 1;
  // Path tables (sectors 18 little-endian, 19 big-endian): the root only.
  const lpt = img.subarray(18 * SECTOR);
  lpt[0] = 1;
  lpt.writeUInt32LE(20, 2);
  lpt.writeUInt16LE(1, 6);
  const mpt = img.subarray(19 * SECTOR);
  mpt[0] = 1;
  mpt.writeUInt32BE(20, 2);
  mpt.writeUInt16BE(1, 6);
  // Root directory (sector 20): ".", "..", README.TXT;1 at sector 21.
  Buffer.concat([
    isoDirRecord(20, SECTOR, Buffer.from([0]), true),
    isoDirRecord(20, SECTOR, Buffer.from([1]), true),
    isoDirRecord(21, content.length, Buffer.from('README.TXT;1', 'latin1'), false),
  ]).copy(img, 20 * SECTOR);
  content.copy(img, 21 * SECTOR);
  return img;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
  return Buffer.concat([head, data, crc]);
}

/** A 32×32 RGB PNG with a diagonal gradient. */
export function png(): Buffer {
  const size = 32;
  const rows: Buffer[] = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 3);
    for (let x = 0; x < size; x++) row.set([x * 8, y * 8, 160], 1 + x * 3);
    rows.push(row);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.concat(rows), { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A one-page PDF 1.4 showing `lines` in Helvetica, with a correct cross-reference table. */
export function pdf(lines: string[]): Buffer {
  const text = lines.map((l, i) => `BT /F1 14 Tf 72 ${770 - i * 22} Td (${l.replace(/[\\()]/g, '\\$&')}) Tj ET`).join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${Buffer.byteLength(text, 'latin1')} >>\nstream\n${text}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    '<< /Producer (Moat test corpus) /CreationDate (D:20240301093000Z) >>',
  ];
  let out = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) out += `${String(off).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/* ---- VBA projects (MS-OVBA) ---- */

/**
 * MS-OVBA §2.4.1 "compression" using literal tokens only: a valid CompressedContainer that any conforming
 * decompressor reads back. One chunk, so the input must stay below 3,600 bytes (plenty for these macros).
 */
function ovbaCompress(data: Buffer): Buffer {
  if (data.length > 3600) throw new Error('ovbaCompress: input too large for one literal chunk');
  const tokens: Buffer[] = [];
  for (let i = 0; i < data.length; i += 8) tokens.push(Buffer.from([0]), data.subarray(i, i + 8));
  const body = Buffer.concat(tokens);
  const header = Buffer.alloc(2);
  header.writeUInt16LE(0xb000 | (body.length + 2 - 3)); // compressed, signature 0b011, size - 3
  return Buffer.concat([Buffer.from([1]), header, body]);
}

function record(id: number, data: Buffer): Buffer {
  const head = Buffer.alloc(6);
  head.writeUInt16LE(id, 0);
  head.writeUInt32LE(data.length, 2);
  return Buffer.concat([head, data]);
}

const le16 = (n: number) => { const b = Buffer.alloc(2); b.writeUInt16LE(n); return b; };
const le32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n >>> 0); return b; };

interface VbaModule { name: string; document: boolean; source: string }

/** The `dir` stream (MS-OVBA §2.3.4.2), uncompressed. */
function dirStream(modules: VbaModule[]): Buffer {
  const mbcs = (s: string) => Buffer.from(s, 'latin1');
  const utf16 = (s: string) => Buffer.from(s, 'utf16le');
  const parts = [
    record(0x0001, le32(1)), // SysKind: 32-bit Windows
    record(0x0002, le32(0x409)), // LCID
    record(0x0014, le32(0x409)), // LCID invoke
    record(0x0003, le16(1252)), // code page
    record(0x0004, mbcs('VBAProject')),
    record(0x0005, Buffer.alloc(0)), record(0x0040, Buffer.alloc(0)), // doc string (+ unicode)
    record(0x0006, Buffer.alloc(0)), record(0x003d, Buffer.alloc(0)), // help file (+ second path)
    record(0x0007, le32(0)), // help context
    record(0x0008, le32(0)), // lib flags
    Buffer.concat([le16(0x0009), le32(4), le32(1), le16(0)]), // version: the Size field is 4, 6 bytes follow
    record(0x000c, Buffer.alloc(0)), record(0x003c, Buffer.alloc(0)), // constants (+ unicode)
    record(0x000f, le16(modules.length)),
    record(0x0013, le16(0xffff)), // project cookie
  ];
  for (const m of modules) {
    parts.push(
      record(0x0019, mbcs(m.name)),
      record(0x0047, utf16(m.name)),
      record(0x001a, mbcs(m.name)), record(0x0032, utf16(m.name)), // stream name (+ unicode)
      record(0x001c, Buffer.alloc(0)), record(0x0048, Buffer.alloc(0)), // doc string (+ unicode)
      record(0x0031, le32(0)), // source offset in the module stream: no performance cache
      record(0x001e, le32(0)), // help context
      record(0x002c, le16(0xffff)), // cookie
      record(m.document ? 0x0022 : 0x0021, Buffer.alloc(0)), // document/class or procedural module
      record(0x002b, Buffer.alloc(0)), // module terminator
    );
  }
  parts.push(record(0x0010, Buffer.alloc(0))); // dir terminator
  return Buffer.concat(parts);
}

/** Adds a VBA project under `prefix` ('' for a vbaProject.bin, '_VBA_PROJECT_CUR/' for Excel 97). */
function addVbaProject(cfb: CFB.CFB$Container, prefix: string, modules: VbaModule[]): void {
  const add = (path: string, data: Buffer) => CFB.utils.cfb_add(cfb, `/${prefix}${path}`, data);
  add('VBA/_VBA_PROJECT', Buffer.from([0xcc, 0x61, 0xff, 0xff, 0x00, 0x00, 0x00]));
  add('VBA/dir', ovbaCompress(dirStream(modules)));
  for (const m of modules) add(`VBA/${m.name}`, ovbaCompress(Buffer.from(m.source.replace(/\n/g, '\r\n'), 'latin1')));
  const project = [
    'ID="{9E394C0B-697E-4AEE-9FA6-446F51FB30DC}"',
    ...modules.map((m) => (m.document ? `Document=${m.name}/&H00000000` : `Module=${m.name}`)),
    'Name="VBAProject"',
    'HelpContextID="0"',
    'VersionCompatible32="393222000"',
    '',
    '[Host Extender Info]',
    '&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000',
    '',
    '[Workspace]',
    ...modules.map((m) => `${m.name}=0, 0, 0, 0, C`),
    '',
  ].join('\r\n');
  add('PROJECT', Buffer.from(project, 'latin1'));
  add('PROJECTwm', Buffer.concat([
    ...modules.flatMap((m) => [Buffer.from(`${m.name}\0`, 'latin1'), Buffer.from(`${m.name}\0`, 'utf16le')]),
    Buffer.alloc(2),
  ]));
}

function newCfb(): CFB.CFB$Container {
  const cfb = CFB.utils.cfb_new();
  CFB.utils.cfb_del(cfb, '/\u0001Sh33tJ5'); // the library's placeholder stream
  return cfb;
}

function writeCfb(cfb: CFB.CFB$Container): Buffer {
  return Buffer.from(CFB.write(cfb, { type: 'buffer' }) as Uint8Array);
}

const MACRO_NOTE = 'Moat test corpus: a harmless macro that only shows this message.';

/** word/vbaProject.bin of a macro-enabled Word document. */
export function wordVbaProject(): Buffer {
  const cfb = newCfb();
  addVbaProject(cfb, '', [
    { name: 'ThisDocument', document: true, source: 'Attribute VB_Name = "ThisDocument"\nAttribute VB_Base = "1Normal.ThisDocument"\nAttribute VB_GlobalNameSpace = False\nAttribute VB_Creatable = False\nAttribute VB_PredeclaredId = True\nAttribute VB_Exposed = True\n' },
    { name: 'Module1', document: false, source: `Attribute VB_Name = "Module1"\nSub AutoOpen()\n    MsgBox "${MACRO_NOTE}"\nEnd Sub\n` },
  ]);
  return writeCfb(cfb);
}

const W_NS = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main';
const REL_NS = 'http://schemas.openxmlformats.org/package/2006/relationships';
const XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n';

/** A Word document (.docx, or .docm with `vbaProject`) with one paragraph per line. */
export function wordDocument(lines: string[], vbaProject?: Buffer): Buffer {
  const main = vbaProject
    ? 'application/vnd.ms-word.document.macroEnabled.main+xml'
    : 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml';
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const contentTypes = `${XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">`
    + '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    + '<Default Extension="xml" ContentType="application/xml"/>'
    + (vbaProject ? '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>' : '')
    + `<Override PartName="/word/document.xml" ContentType="${main}"/>`
    + '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    + '</Types>';
  const rels = `${XML_HEAD}<Relationships xmlns="${REL_NS}">`
    + '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
    + '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
    + '</Relationships>';
  const core = `${XML_HEAD}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">`
    + '<dc:creator>Moat test corpus</dc:creator>'
    + '<dcterms:created xsi:type="dcterms:W3CDTF">2024-03-01T09:30:00Z</dcterms:created>'
    + '</cp:coreProperties>';
  const document = `${XML_HEAD}<w:document xmlns:w="${W_NS}"><w:body>`
    + lines.map((l) => `<w:p><w:r><w:t xml:space="preserve">${esc(l)}</w:t></w:r></w:p>`).join('')
    + '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/></w:sectPr></w:body></w:document>';
  const entries: ZipEntry[] = [
    { name: '[Content_Types].xml', data: Buffer.from(contentTypes) },
    { name: '_rels/.rels', data: Buffer.from(rels) },
    { name: 'docProps/core.xml', data: Buffer.from(core) },
    { name: 'word/document.xml', data: Buffer.from(document) },
  ];
  if (vbaProject) {
    const docRels = `${XML_HEAD}<Relationships xmlns="${REL_NS}">`
      + '<Relationship Id="rId1" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/>'
      + '</Relationships>';
    entries.push({ name: 'word/_rels/document.xml.rels', data: Buffer.from(docRels) }, { name: 'word/vbaProject.bin', data: vbaProject });
  }
  return zip(entries);
}

/** BIFF8 record. */
function biff(type: number, data: Buffer): Buffer {
  return Buffer.concat([le16(type), le16(data.length), data]);
}

/** An Excel 97–2003 workbook (OLE compound file: Workbook stream + _VBA_PROJECT_CUR) with an Auto_Open macro. */
export function excelWithMacro(): Buffer {
  const cfb = newCfb();
  const bof = Buffer.concat([le16(0x0600), le16(0x0005), le16(0x2775), le16(0x07cd), le32(0), le32(0x06)]);
  const codepage = le16(1200);
  CFB.utils.cfb_add(cfb, '/Workbook', Buffer.concat([biff(0x0809, bof), biff(0x0042, codepage), biff(0x000a, Buffer.alloc(0))]));
  addVbaProject(cfb, '_VBA_PROJECT_CUR/', [
    { name: 'ThisWorkbook', document: true, source: 'Attribute VB_Name = "ThisWorkbook"\nAttribute VB_Base = "0{00020819-0000-0000-C000-000000000046}"\nAttribute VB_GlobalNameSpace = False\nAttribute VB_Creatable = False\nAttribute VB_PredeclaredId = True\nAttribute VB_Exposed = True\n' },
    { name: 'Module1', document: false, source: `Attribute VB_Name = "Module1"\nSub Auto_Open()\n    MsgBox "${MACRO_NOTE}"\nEnd Sub\n` },
  ]);
  return writeCfb(cfb);
}

/* ---- TNEF (MS-OXTNEF) ---- */

function tnefAttribute(level: 1 | 2, id: number, data: Buffer): Buffer {
  let sum = 0;
  for (const b of data) sum = (sum + b) & 0xffff;
  return Buffer.concat([Buffer.from([level]), le32(id), le32(data.length), data, le16(sum)]);
}

/** A MAPI PT_STRING8 or PT_LONG property for attAttachment. */
function mapiProp(id: number, value: string | number): Buffer {
  if (typeof value === 'number') return Buffer.concat([le16(0x0003), le16(id), le32(value)]);
  const s = Buffer.from(`${value}\0`, 'latin1');
  const padded = Buffer.concat([s, Buffer.alloc((4 - (s.length % 4)) % 4)]);
  return Buffer.concat([le16(0x001e), le16(id), le32(1), le32(s.length), padded]);
}

/** A winmail.dat as Outlook sends it: message class, subject and body, and one attached file. */
export function tnef(subject: string, body: string, file: { name: string; data: Buffer }): Buffer {
  const ext = file.name.slice(file.name.lastIndexOf('.'));
  const props = Buffer.concat([le32(3), mapiProp(0x3707, file.name), mapiProp(0x3703, ext), mapiProp(0x3705, 1)]);
  const rend = Buffer.concat([le16(1), le32(0xffffffff), le16(0), le16(0), le32(0)]);
  return Buffer.concat([
    le32(0x223e9f78), le16(0x0001),
    tnefAttribute(1, 0x00089006, le32(0x00010000)), // attTnefVersion
    tnefAttribute(1, 0x00069007, Buffer.concat([le32(1252), le32(0)])), // attOemCodepage
    tnefAttribute(1, 0x00078008, Buffer.from('IPM.Microsoft Mail.Note\0', 'latin1')), // attMessageClass
    tnefAttribute(1, 0x00018004, Buffer.from(`${subject}\0`, 'latin1')), // attSubject
    tnefAttribute(1, 0x0002800c, Buffer.from(body, 'latin1')), // attBody
    tnefAttribute(2, 0x00069002, rend), // attAttachRendData: starts the attachment
    tnefAttribute(2, 0x00018010, Buffer.from(`${file.name}\0`, 'latin1')), // attAttachTitle
    tnefAttribute(2, 0x0006800f, file.data), // attAttachData
    tnefAttribute(2, 0x00069005, props), // attAttachment: MAPI properties incl. PR_ATTACH_LONG_FILENAME
  ]);
}
