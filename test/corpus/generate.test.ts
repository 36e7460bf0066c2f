/**
 * The corpus generator: the committed files are exactly what generate.ts writes (so nobody edits an .eml by
 * hand and the generator stays deterministic), expected.json speaks SPEC statuses, the corpus stays small, and
 * the samples are what they claim to be for independent readers (yauzl for zips, cfb for OLE, file-type).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, gunzipSync } from 'node:zlib';
import yauzl from 'yauzl';
import CFB from 'cfb';
import { fileTypeFromBuffer } from 'file-type';
import { STATUSES } from '../../src/scan/types.ts';
import { CASES, CORPUS_DIR, EML_DIR, generateCorpus, zipBomb } from './generate.ts';
import { gzip, uuencode, zip } from './lib.ts';
import { EICAR, excelWithMacro, isoImage, pdf, peProgram, png, tnef, wordDocument, wordVbaProject } from './samples.ts';

interface Member { name: string; encrypted: boolean; compressedSize: number; uncompressedSize: number; data?: Buffer }

/** Lists a zip with yauzl; reads (and so checks) every unencrypted member up to `readLimit` bytes. */
function readZip(buf: Buffer, readLimit = 1 << 20): Promise<Member[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true }, (err, zf) => {
      if (err) return reject(err);
      const out: Member[] = [];
      zf.on('error', reject);
      zf.on('end', () => resolve(out));
      zf.on('entry', (e: yauzl.Entry) => {
        const m: Member = { name: e.fileName, encrypted: e.isEncrypted(), compressedSize: e.compressedSize, uncompressedSize: e.uncompressedSize };
        out.push(m);
        if (m.encrypted || e.uncompressedSize > readLimit) return zf.readEntry();
        zf.openReadStream(e, (err2, rs) => {
          if (err2) return reject(err2);
          const chunks: Buffer[] = [];
          rs.on('data', (c: Buffer) => chunks.push(c));
          rs.on('error', reject);
          rs.on('end', () => {
            m.data = Buffer.concat(chunks);
            zf.readEntry();
          });
        });
      });
      zf.readEntry();
    });
  });
}

describe('generated corpus', () => {
  test('the committed corpus is what the generator writes, and a second run gives the same bytes', () => {
    const first = generateCorpus();
    const second = generateCorpus();
    for (const [rel, data] of first) {
      assert.ok(data.equals(second.get(rel) as Buffer), `${rel} differs between two runs`);
      assert.ok(data.equals(readFileSync(join(CORPUS_DIR, rel))), `${rel} is stale: run node_modules/.bin/node test/corpus/generate.ts`);
    }
    const onDisk = readdirSync(EML_DIR).map((f) => `eml/${f}`);
    assert.deepEqual(onDisk.sort(), [...first.keys()].filter((k) => k.startsWith('eml/')).sort());
  });

  test('expected.json has every case, with SPEC statuses for antivirus and content', () => {
    const expected = JSON.parse(readFileSync(join(CORPUS_DIR, 'expected.json'), 'utf8')) as Record<string, Record<string, string>>;
    assert.deepEqual(Object.keys(expected), CASES.map((c) => c.file));
    for (const [file, statuses] of Object.entries(expected)) {
      assert.deepEqual(Object.keys(statuses), ['antivirus', 'content'], file);
      assert.ok((STATUSES.antivirus as readonly string[]).includes(statuses.antivirus), `${file} antivirus ${statuses.antivirus}`);
      assert.ok((STATUSES.content as readonly string[]).includes(statuses.content), `${file} content ${statuses.content}`);
    }
  });

  test('README.md describes every case with its expected statuses', () => {
    const rows = new Map<string, string[]>();
    for (const m of readFileSync(join(CORPUS_DIR, 'README.md'), 'utf8').matchAll(/^\| `([^`]+\.eml)` \| (\w+) \| (\w+) \|/gm)) rows.set(m[1], [m[2], m[3]]);
    assert.deepEqual([...rows.keys()].sort(), CASES.map((c) => c.file).sort());
    for (const c of CASES) assert.deepEqual(rows.get(c.file), [c.expected.antivirus, c.expected.content], c.file);
  });

  test('the corpus stays small enough to commit', () => {
    const sizes = readdirSync(EML_DIR).map((f) => statSync(join(EML_DIR, f)).size);
    assert.ok(sizes.reduce((a, b) => a + b, 0) < 512 * 1024, 'whole corpus under 512 KB');
    assert.ok(Math.max(...sizes) < 128 * 1024, 'every message under 128 KB');
  });

  test('every message uses CRLF line ends and has the fixed date', () => {
    for (const c of CASES) {
      const eml = readFileSync(join(EML_DIR, c.file));
      const head = eml.subarray(0, eml.indexOf('\r\n\r\n')).toString('utf8');
      assert.match(head, /^Date: Fri, 01 Mar 2024 09:30:00 \+0000$/m, c.file);
      assert.equal(/(?<!\r)\n/.test(eml.toString('latin1')), false, `${c.file} has a bare LF`);
    }
  });
});

describe('container writers', () => {
  test('zip: members read back by yauzl with their names, data and CRC', async () => {
    const data = Buffer.from('hello zip\r\n'.repeat(20));
    const members = await readZip(zip([{ name: 'a.txt', data }, { name: 'dir/b.bin', data: Buffer.from([1, 2, 3]), method: 'store' }, { name: 'Übersicht.txt', data }]));
    assert.deepEqual(members.map((m) => m.name), ['a.txt', 'dir/b.bin', 'Übersicht.txt']);
    assert.ok(members[0].data?.equals(data));
    assert.ok(members[0].compressedSize < data.length, 'deflated');
    assert.deepEqual([...members[1].data ?? []], [1, 2, 3]);
    assert.equal(crc32(members[2].data ?? Buffer.alloc(0)), crc32(data));
  });

  test('zip: a password-protected member has flag bit 0 and no plaintext', async () => {
    const secret = Buffer.from('Invoice 2024-0117: EUR 1,280.00');
    const buf = zip([{ name: 'invoice.pdf', data: secret, method: 'store', password: '0117' }]);
    const [m] = await readZip(buf);
    assert.equal(m.encrypted, true);
    assert.equal(m.compressedSize, secret.length + 12, 'stored, behind the 12-byte encryption header');
    assert.equal(buf.indexOf(secret), -1);
  });

  test('zip bomb: small on disk, 64 GiB when every level is unpacked', async () => {
    const bomb = zipBomb();
    assert.ok(bomb.length < 32 * 1024, `${bomb.length} bytes`);
    let level = bomb;
    let multiplier = 1;
    for (let depth = 0; depth < 3; depth++) {
      const members = await readZip(level);
      assert.equal(members.length, 16);
      assert.ok(members.every((m) => m.data?.equals(members[0].data as Buffer)), 'identical members');
      multiplier *= 16;
      level = members[0].data as Buffer;
    }
    const bottom = await readZip(level, 0);
    assert.equal(bottom.length, 16);
    const total = multiplier * bottom.reduce((a, m) => a + m.uncompressedSize, 0);
    assert.equal(total, 64 * 1024 ** 3);
  });

  test('gzip keeps the file name and round-trips', () => {
    const gz = gzip(EICAR, 'eicar.txt');
    assert.ok(gunzipSync(gz).equals(EICAR));
    assert.equal(gz.subarray(10, 19).toString('latin1'), 'eicar.txt');
  });

  test('uuencode round-trips', () => {
    const text = uuencode(EICAR, 'eicar.txt');
    const lines = text.split('\r\n');
    assert.equal(lines[0], 'begin 644 eicar.txt');
    const bytes: number[] = [];
    for (const line of lines.slice(1)) {
      if (line === '`' || line === 'end' || line === '') break;
      const n = (line.charCodeAt(0) - 32) & 63;
      const v = [...line.slice(1)].map((ch) => (ch.charCodeAt(0) - 32) & 63);
      for (let i = 0; i < v.length; i += 4) bytes.push((v[i] << 2) | (v[i + 1] >> 4), ((v[i + 1] << 4) | (v[i + 2] >> 2)) & 255, ((v[i + 2] << 6) | v[i + 3]) & 255);
      bytes.length -= v.length / 4 * 3 - n;
    }
    assert.ok(Buffer.from(bytes).equals(EICAR));
  });
});

describe('samples are what they claim to be', () => {
  test('EICAR is the 68-byte test file', () => {
    assert.equal(EICAR.length, 68);
    assert.match(EICAR.toString('latin1'), /^X5O!P%@AP\[4\\PZX54\(P\^\)7CC\)7\}\$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!\$H\+H\*$/);
  });

  test('file-type agrees on the PE, PNG, PDF, Word and Excel samples', async () => {
    assert.equal((await fileTypeFromBuffer(peProgram()))?.ext, 'exe');
    assert.equal((await fileTypeFromBuffer(png()))?.ext, 'png');
    assert.equal((await fileTypeFromBuffer(pdf(['x'])))?.ext, 'pdf');
    assert.equal((await fileTypeFromBuffer(wordDocument(['x'])))?.ext, 'docx');
    assert.equal((await fileTypeFromBuffer(wordDocument(['x'], wordVbaProject())))?.ext, 'docm');
    assert.equal((await fileTypeFromBuffer(excelWithMacro()))?.ext, 'cfb');
  });

  test('the PE has its headers where the loader looks', () => {
    const pe = peProgram();
    const at = pe.readUInt32LE(0x3c);
    assert.equal(pe.subarray(at, at + 4).toString('latin1'), 'PE\0\0');
    assert.equal(pe.readUInt16LE(at + 24), 0x10b, 'PE32 optional header');
  });

  test('the ISO has a primary volume descriptor and a terminator', () => {
    const iso = isoImage('x');
    assert.equal(iso.subarray(0x8000, 0x8006).toString('latin1'), '\x01CD001');
    assert.equal(iso.subarray(0x8800, 0x8806).toString('latin1'), '\xffCD001');
    assert.ok(iso.includes('README.TXT;1'));
  });

  test('the OLE samples hold VBA projects where Office keeps them', () => {
    const xls = CFB.read(excelWithMacro(), { type: 'buffer' });
    for (const path of ['/Workbook', '/_VBA_PROJECT_CUR/VBA/dir', '/_VBA_PROJECT_CUR/VBA/Module1', '/_VBA_PROJECT_CUR/PROJECT']) {
      assert.ok(CFB.find(xls, path), path);
    }
    const vba = CFB.read(wordVbaProject(), { type: 'buffer' });
    for (const path of ['/VBA/dir', '/VBA/_VBA_PROJECT', '/VBA/ThisDocument', '/PROJECT']) assert.ok(CFB.find(vba, path), path);
  });

  test('the docm carries word/vbaProject.bin and the macro-enabled content type', async () => {
    const members = await readZip(wordDocument(['x'], wordVbaProject()));
    assert.ok(members.some((m) => m.name === 'word/vbaProject.bin'));
    assert.match(members.find((m) => m.name === '[Content_Types].xml')?.data?.toString() ?? '', /macroEnabled\.main\+xml/);
  });

  test('the TNEF carries its file with a valid attribute checksum', () => {
    const data = Buffer.from('payload');
    const t = tnef('s', 'b', { name: 'setup.exe', data });
    assert.equal(t.readUInt32LE(0), 0x223e9f78);
    const at = t.indexOf(data);
    assert.equal(t.readUInt32LE(at - 4), data.length);
    assert.equal(t.readUInt32LE(at - 8), 0x0006800f, 'attAttachData');
    assert.equal(t.readUInt16LE(at + data.length), [...data].reduce((a, b) => a + b, 0));
  });
});
