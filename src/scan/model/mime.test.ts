import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { crc32, deflateRawSync } from 'node:zlib';
import type { MessageModel, Part } from '../types.ts';
import { buildModel, partsOf, type ModelOptions } from './mime.ts';

const ENV = { sender: 'a@example.test', recipients: ['b@example.test'], clientIp: '127.0.0.1', helo: 'client.test', authUser: null };
const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
const TMP = mkdtempSync(join(tmpdir(), 'moat-mime-test-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

const crlf = (...lines: string[]) => lines.join('\r\n');
const b64 = (b: Buffer | string, width = 76) => Buffer.from(b).toString('base64').replace(new RegExp(`.{${width}}`, 'g'), '$&\r\n');
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

async function model(msg: string | Buffer, opts: ModelOptions = {}): Promise<MessageModel> {
  return buildModel(Buffer.isBuffer(msg) ? msg : Buffer.from(msg, 'latin1'), ENV, { tempDir: TMP, ...opts });
}
function bytes(p: Part | undefined): Buffer {
  assert.ok(p?.content, `part ${p?.path} has content`);
  return p.content.kind === 'buffer' ? p.content.data : readFileSync(p.content.path);
}
const byName = (m: MessageModel, name: string) => m.parts.find((p) => p.name === name);

/** A tiny zip writer (deflate or store, no data descriptors). */
function zip(entries: { name: string; data: Buffer; store?: boolean }[]): Buffer {
  const locals: Buffer[] = [], centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const packed = e.store ? e.data : deflateRawSync(e.data);
    const method = e.store ? 0 : 8, crc = crc32(e.data);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0); lh.writeUInt16LE(20, 4); lh.writeUInt16LE(method, 8);
    lh.writeUInt32LE(crc, 14); lh.writeUInt32LE(packed.length, 18); lh.writeUInt32LE(e.data.length, 22); lh.writeUInt16LE(name.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0); ch.writeUInt16LE(20, 4); ch.writeUInt16LE(20, 6); ch.writeUInt16LE(method, 10);
    ch.writeUInt32LE(crc, 16); ch.writeUInt32LE(packed.length, 20); ch.writeUInt32LE(e.data.length, 24); ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    locals.push(lh, name, packed);
    centrals.push(ch, name);
    offset += 30 + name.length + packed.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(entries.length, 8); end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** A minimal PE image: MZ header pointing at a PE signature and a COFF header. */
function pe(): Buffer {
  const b = Buffer.alloc(512);
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(0x80, 0x3c);
  b.write('PE\0\0', 0x80, 'latin1');
  b.writeUInt16LE(0x14c, 0x84);
  b.writeUInt16LE(0x0102, 0x80 + 22);
  return b;
}

/** POSIX uuencode body lines (45 bytes per line). */
function uuencode(data: Buffer, name: string): string {
  const enc = (v: number) => String.fromCharCode(v === 0 ? 0x60 : v + 32);
  const out = [`begin 644 ${name}`];
  for (let i = 0; i < data.length; i += 45) {
    const chunk = data.subarray(i, i + 45);
    let line = enc(chunk.length);
    for (let j = 0; j < chunk.length; j += 3) {
      const [a, b = 0, c = 0] = chunk.subarray(j, j + 3);
      line += enc(a >> 2) + enc(((a & 3) << 4) | (b >> 4)) + enc(((b & 15) << 2) | (c >> 6)) + enc(c & 63);
    }
    out.push(line);
  }
  out.push('`', 'end');
  return out.join('\r\n');
}

test('a simple text message: headers, one leaf part, text, hashes, true type', async () => {
  const m = await model(crlf(
    'From: "Alice" <alice@example.test>', 'To: bob@example.test', 'Subject: Hello', 'Message-ID: <m1@example.test>', '',
    'Hi Bob,', 'see you.', ''));
  try {
    assert.equal(m.subject, 'Hello');
    assert.equal(m.from, '"Alice" <alice@example.test>');
    assert.equal(m.messageId, '<m1@example.test>');
    assert.deepEqual(m.headers.map((h) => h.name), ['from', 'to', 'subject', 'message-id']);
    assert.equal(m.parts.length, 1);
    const [p] = m.parts;
    assert.equal(p.path, '1');
    assert.equal(p.depth, 0);
    assert.equal(p.declaredType, 'text/plain');
    assert.equal(p.isLeaf, true);
    assert.equal(p.isAttachment, false);
    assert.equal(bytes(p).toString(), 'Hi Bob,\r\nsee you.\r\n');
    assert.equal(p.sha256, sha256('Hi Bob,\r\nsee you.\r\n'));
    assert.equal(p.trueType.category, 'text');
    assert.match(m.text, /^Hi Bob,\r\nsee you\./);
    assert.equal(m.html, '');
    assert.deepEqual(m.limits, []);
    assert.equal(m.size, Buffer.byteLength(crlf('From: "Alice" <alice@example.test>', 'To: bob@example.test', 'Subject: Hello', 'Message-ID: <m1@example.test>', '', 'Hi Bob,', 'see you.', '')));
  } finally { await m.dispose(); }
});

test('multipart/alternative with attachments: RFC 2047 and RFC 2231 names decoded, U+202E kept', async () => {
  const rtl = 'invoice\u202Etxt.exe';
  const rfc2231 = encodeURIComponent(rtl).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);
  const m = await model(crlf(
    'Subject: =?UTF-8?B?' + Buffer.from('Grüße ✓').toString('base64') + '?=', 'From: =?iso-8859-1?q?J=F6rg?= <j@example.test>',
    'Content-Type: multipart/mixed; boundary="outer"', '',
    'This is a MIME message.',
    '--outer',
    'Content-Type: multipart/alternative; boundary=inner', '',
    '--inner', 'Content-Type: text/plain; charset=iso-8859-1', 'Content-Transfer-Encoding: quoted-printable', '',
    'Sch=F6ne Gr=FC=DFe, a soft=', 'break.',
    '--inner', 'Content-Type: text/html; charset=utf-8', '',
    '<p>Sch\u00c3\u00b6ne <a href="https://example.test/x">link</a></p>',
    '--inner--',
    '--outer',
    'Content-Type: application/octet-stream; name="=?UTF-8?B?' + Buffer.from(rtl).toString('base64') + '?="',
    'Content-Disposition: attachment', 'Content-Transfer-Encoding: base64', '',
    b64('first'),
    '--outer',
    'Content-Type: application/pdf; name="report.exe"',
    `Content-Disposition: attachment; filename*0*=UTF-8''${rfc2231.slice(0, 12)}; filename*1*=${rfc2231.slice(12)}`,
    'Content-Transfer-Encoding: base64', '',
    b64('second'),
    '--outer--', ''));
  try {
    assert.equal(m.subject, 'Grüße ✓');
    assert.equal(m.from, 'Jörg <j@example.test>');
    assert.deepEqual(m.parts.map((p) => [p.path, p.declaredType, p.depth]), [
      ['1', 'multipart/mixed', 0], ['1.1', 'multipart/alternative', 1], ['1.1.1', 'text/plain', 2], ['1.1.2', 'text/html', 2],
      ['1.2', 'application/octet-stream', 1], ['1.3', 'application/pdf', 1]]);
    assert.deepEqual(m.parts.map((p) => p.parent), [undefined, '1', '1.1', '1.1', '1', '1']);
    const [a, b] = [m.parts[4], m.parts[5]];
    assert.equal(a.name, rtl);
    assert.ok(a.name?.includes('\u202E'));
    assert.equal(b.name, rtl, 'the RFC 2231 filename, continued and percent-encoded');
    assert.deepEqual(b.otherNames, ['report.exe'], 'the disagreeing Content-Type name is kept too');
    assert.equal(bytes(a).toString(), 'first');
    assert.equal(bytes(b).toString(), 'second');
    assert.deepEqual(m.parts.map((p) => p.isAttachment), [false, false, false, false, true, true]);
    assert.deepEqual(m.parts.map((p) => p.isLeaf), [false, false, true, true, true, true]);
    assert.equal(m.text, 'Schöne Grüße, a softbreak.');
    assert.match(m.html, /<p>Schöne <a href="https:\/\/example\.test\/x">link<\/a><\/p>/);
    assert.equal(m.parts[0].size, m.parts.slice(2).reduce((n, p) => n + p.size, 0));
    assert.deepEqual(partsOf(m).map((p) => p.path), ['1.1.1', '1.1.2', '1.2', '1.3']);
  } finally { await m.dispose(); }
});

test('base64 and quoted-printable are decoded, broken encodings best effort', async () => {
  const bin = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) & 255));
  const m = await model(crlf(
    'Content-Type: multipart/mixed; boundary=b', '',
    '--b', 'Content-Type: application/octet-stream', 'Content-Transfer-Encoding: BASE64 (comment)', '', b64(bin, 64),
    '--b', 'Content-Type: application/octet-stream', 'Content-Transfer-Encoding: base64', '', 'SGVs!!bG8g', 'V29y bGQ=', 'ISE=*.',
    '--b', 'Content-Type: text/plain', 'Content-Transfer-Encoding: quoted-printable', '',
    'a=3Db =3d c=', 'd =XY tail=20', 'end=',
    '--b--', ''));
  try {
    const [, p1, p2, p3] = m.parts;
    assert.deepEqual(bytes(p1), bin);
    assert.equal(bytes(p2).toString(), 'Hello World!!');
    assert.equal(bytes(p3).toString(), 'a=b = cd =XY tail \r\nend');
  } finally { await m.dispose(); }
});

test('an EICAR attachment has the right MD5 and SHA-256', async () => {
  const m = await model(crlf(
    'Content-Type: multipart/mixed; boundary=b', '',
    '--b', 'Content-Type: text/plain', '', 'see attached',
    '--b', 'Content-Type: application/octet-stream; name=eicar.com', 'Content-Transfer-Encoding: base64', '', b64(EICAR),
    '--b--', ''));
  try {
    const p = byName(m, 'eicar.com');
    assert.equal(p?.md5, '44d88612fea8a8f36de82e1278abb02f');
    assert.equal(p?.sha256, '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f');
    assert.equal(p?.size, 68);
  } finally { await m.dispose(); }
});

test('attached messages, plain and base64-encoded, are parsed and their attachments found', async () => {
  const inner = (n: string) => crlf(
    `Subject: inner ${n}`, 'Content-Type: multipart/mixed; boundary=in', '',
    '--in', 'Content-Type: text/plain', '', `inner body ${n}`,
    '--in', `Content-Type: application/octet-stream; name=${n}.com`, 'Content-Transfer-Encoding: base64', '', b64(EICAR),
    '--in--', '');
  const m = await model(crlf(
    'Subject: outer', 'Content-Type: multipart/mixed; boundary=out', '',
    '--out', 'Content-Type: text/plain', '', 'outer body',
    '--out', 'Content-Type: message/rfc822', '', inner('plain'),
    '--out', 'Content-Type: message/rfc822; name=fwd.eml', 'Content-Disposition: attachment', 'Content-Transfer-Encoding: base64', '', b64(inner('b64')),
    '--out--', ''));
  try {
    for (const [n, at] of [['plain', '1.2'], ['b64', '1.3']]) {
      const att = byName(m, `${n}.com`);
      assert.equal(att?.sha256, sha256(EICAR), n);
      assert.equal(att?.path, `${at}.1.2`);
      assert.equal(att?.depth, 3);
      const root = m.parts.find((p) => p.path === `${at}.1`);
      assert.equal(root?.origin, 'rfc822');
      assert.equal(root?.parent, at);
      assert.equal(root?.declaredType, 'multipart/mixed');
      const wrapper = m.parts.find((p) => p.path === at);
      assert.equal(wrapper?.declaredType, 'message/rfc822');
      assert.equal(wrapper?.isLeaf, true);
    }
    assert.equal(m.subject, 'outer');
    assert.equal(m.text, 'outer body', 'bodies of attached messages are not the message text');
    // depth-first order: each attached message's parts follow it
    const order = m.parts.map((p) => p.path);
    assert.deepEqual(order, ['1', '1.1', '1.2', '1.2.1', '1.2.1.1', '1.2.1.2', '1.3', '1.3.1', '1.3.1.1', '1.3.1.2']);
  } finally { await m.dispose(); }
});

test('a uuencoded block in a text body becomes a part', async () => {
  const payload = Buffer.concat([pe(), Buffer.from('tail bytes')]);
  const m = await model(crlf('Subject: uu', '', 'Here is the file:', '', uuencode(payload, 'setup.exe'), '', 'Regards', ''));
  try {
    const p = byName(m, 'setup.exe');
    assert.equal(p?.origin, 'uuencode');
    assert.equal(p?.path, '1/setup.exe');
    assert.equal(p?.parent, '1');
    assert.equal(p?.depth, 1);
    assert.deepEqual(bytes(p), payload);
    assert.equal(p?.trueType.category, 'executable');
  } finally { await m.dispose(); }
});

test('a large attachment goes to a temporary file that dispose() removes', async () => {
  const big = Buffer.alloc(5 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
  const m = await model(crlf(
    'Content-Type: multipart/mixed; boundary=b', '',
    '--b', 'Content-Type: application/octet-stream; name=big.bin', 'Content-Transfer-Encoding: base64', '', b64(big),
    '--b--', ''));
  const p = byName(m, 'big.bin');
  assert.equal(p?.content?.kind, 'file');
  const file = p.content.kind === 'file' ? p.content.path : '';
  assert.ok(file.startsWith(TMP));
  assert.equal(p.size, big.length);
  assert.equal(p.sha256, sha256(big));
  assert.deepEqual(readFileSync(file), big);
  await m.dispose();
  assert.equal(existsSync(file), false);
  assert.deepEqual(readdirSync(TMP).filter((d) => d.startsWith('moat-model-')), []);
  await m.dispose(); // twice is harmless
});

test('a base64 attachment on one single 6 MB line, streamed in 64 KiB chunks, is decoded', async () => {
  const data = Buffer.alloc(4.5 * 1024 * 1024, 'x');
  const msg = Buffer.from(crlf('Content-Type: application/octet-stream; name=x.bin', 'Content-Transfer-Encoding: base64', '', data.toString('base64'), ''));
  const chunks: Buffer[] = [];
  for (let i = 0; i < msg.length; i += 65536) chunks.push(msg.subarray(i, i + 65536));
  const m = await buildModel(Readable.from(chunks), ENV, { tempDir: TMP });
  try {
    assert.equal(m.parts[0].sha256, sha256(data));
    assert.equal(m.size, msg.length);
  } finally { await m.dispose(); }
});

function nested(depth: number, sibling = true): string {
  const lines: string[] = ['Content-Type: multipart/mixed; boundary="root"', '', '--root'];
  for (let i = 0; i < depth; i++) lines.push(`Content-Type: multipart/mixed; boundary="n${i}"`, '', `--n${i}`);
  lines.push('Content-Type: text/plain', '', 'deep down');
  for (let i = depth - 1; i >= 0; i--) lines.push(`--n${i}--`);
  if (sibling) lines.push('--root', 'Content-Type: application/octet-stream; name=eicar.com', '', EICAR);
  lines.push('--root--', '');
  return crlf(...lines);
}

for (const depth of [40, 5000]) {
  test(`absurd nesting (${depth} levels) stops descending with a depth LimitHit and still finds later parts`, async () => {
    const m = await model(nested(depth));
    try {
      const hit = m.limits.find((l) => l.limit === 'depth');
      assert.ok(hit, JSON.stringify(m.limits));
      assert.ok(m.parts.every((p) => p.depth <= 32));
      assert.equal(m.parts.filter((p) => p.declaredType === 'multipart/mixed').length, 33);
      assert.equal(m.parts.find((p) => p.declaredType === 'text/plain'), undefined, 'the part below the limit is not modelled');
      assert.equal(byName(m, 'eicar.com')?.sha256, sha256(EICAR));
    } finally { await m.dispose(); }
  });
}

test('a missing final boundary keeps every part', async () => {
  const m = await model(crlf(
    'Content-Type: multipart/mixed; boundary=b', '',
    '--b', 'Content-Type: text/plain', '', 'body',
    '--b', 'Content-Type: application/octet-stream; name=eicar.com', 'Content-Transfer-Encoding: base64', '', b64(EICAR), ''));
  try {
    assert.equal(m.text, 'body');
    assert.equal(byName(m, 'eicar.com')?.sha256, sha256(EICAR));
  } finally { await m.dispose(); }
});

test('a wrong boundary keeps the body as a text leaf and reports malformed', async () => {
  const m = await model(crlf(
    'Content-Type: multipart/mixed; boundary=expected', '',
    '--other', 'Content-Type: text/plain', '', 'hidden https://evil.example/x', '--other--', ''));
  try {
    assert.ok(m.limits.some((l) => l.limit === 'malformed' && l.part === '1'), JSON.stringify(m.limits));
    const leaf = m.parts.find((p) => p.path === '1.1');
    assert.equal(leaf?.declaredType, 'text/plain');
    assert.match(bytes(leaf).toString(), /hidden https:\/\/evil\.example\/x/);
  } finally { await m.dispose(); }
});

test('damaged headers: no colon, NUL, raw 8-bit UTF-8 and Latin-1 — best effort, no throw', async () => {
  const msg = Buffer.concat([
    Buffer.from('Subject: Gr\xc3\xbc\xc3\x9fe\r\nX-Latin: caf\xe9\r\nthis line has no colon\r\nX-Nul: a\0b\r\n', 'latin1'),
    Buffer.from('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n', 'latin1'),
    Buffer.from('Content-Type: application/octet-stream; name="r\xc3\xa9sum\xc3\xa9.pdf"\r\n\r\nxyz\r\n--b--\r\n', 'latin1'),
  ]);
  const m = await model(msg);
  try {
    assert.equal(m.subject, 'Grüße');
    assert.equal(m.headers.find((h) => h.name === 'x-latin')?.value, 'café');
    assert.equal(m.headers.find((h) => h.name === 'x-nul')?.value, 'a\0b');
    assert.ok(m.limits.some((l) => l.limit === 'malformed' && /colon/.test(l.detail)));
    assert.ok(byName(m, 'résumé.pdf'));
  } finally { await m.dispose(); }
});

test('raw 8-bit header bytes that are not UTF-8 are read in the charset the message declares for its text', async () => {
  const hi = Buffer.from('bec8b3e7c7cfbcbcbfe4', 'hex'); // "안녕하세요" in EUC-KR
  // Single part: the top Content-Type's charset.
  const single = await model(Buffer.concat([
    Buffer.from('From: "'), Buffer.from('c4e3bac3', 'hex'), Buffer.from('" <a@example.test>\r\nSubject: '), hi,
    Buffer.from('\r\nContent-Type: text/plain; charset=gb2312\r\n\r\n'), Buffer.from('c4e3bac3', 'hex'), Buffer.from('\r\n'),
  ]));
  try {
    assert.equal(single.headers.find((h) => h.name === 'from')?.value, '"你好" <a@example.test>');
    assert.match(single.text, /你好/);
  } finally { await single.dispose(); }
  // Multipart: the top part has no charset, the first text part's is used.
  const multi = await model(Buffer.concat([
    Buffer.from('Subject: '), hi, Buffer.from('\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n'),
    Buffer.from('Content-Type: text/plain; charset=EUC-KR\r\n\r\n'), hi, Buffer.from('\r\n--b--\r\n'),
  ]));
  try { assert.equal(multi.subject, '안녕하세요'); } finally { await multi.dispose(); }
  // KOI8-R declared, subject in it.
  const ru = await model(Buffer.concat([Buffer.from('Subject: '), Buffer.from('f0d2c9d7c5d4', 'hex'), Buffer.from('\r\nContent-Type: text/plain; charset=koi8-r\r\n\r\nx\r\n')]));
  try { assert.equal(ru.subject, 'Привет'); } finally { await ru.dispose(); }
  // Valid UTF-8 stays UTF-8 whatever is declared; an unknown or Latin charset falls back to Windows-1252.
  const utf8 = await model(Buffer.concat([Buffer.from('Subject: Grüße\r\nContent-Type: text/plain; charset=euc-kr\r\n\r\nx\r\n')]));
  try { assert.equal(utf8.subject, 'Grüße'); } finally { await utf8.dispose(); }
  const unknown = await model(Buffer.from('Subject: caf\xe9 \x80\r\nContent-Type: text/plain; charset=x-no-such-charset\r\n\r\nx\r\n', 'latin1'));
  try { assert.equal(unknown.subject, 'café €'); } finally { await unknown.dispose(); }
  // A declared charset that does not keep ASCII as ASCII is no hint: the subject's words stay readable.
  for (const cs of ['utf-16', 'iso-2022-kr', 'iso-2022-jp']) {
    const hidden = await model(Buffer.from(`Subject: \x1b$Bfree money \xe9\r\nContent-Type: text/plain; charset=${cs}\r\n\r\nx\r\n`, 'latin1'));
    try { assert.equal(hidden.subject, '\x1b$Bfree money é', cs); } finally { await hidden.dispose(); }
  }
});

test('a zip attachment is expanded: members are parts with paths, hashes and true types', async () => {
  const z = zip([{ name: 'docs/readme.txt', data: Buffer.from('hello from the zip\n') }, { name: 'docs/a.exe', data: pe() }, { name: 'eicar.com', data: Buffer.from(EICAR), store: true }]);
  const m = await model(crlf(
    'Content-Type: multipart/mixed; boundary=b', '',
    '--b', 'Content-Type: application/zip; name=files.zip', 'Content-Transfer-Encoding: base64', '', b64(z),
    '--b--', ''));
  try {
    const archive = byName(m, 'files.zip');
    assert.equal(archive?.trueType.category, 'archive');
    assert.equal(archive?.path, '1.1');
    const members = m.parts.filter((p) => p.parent === '1.1');
    assert.deepEqual(members.map((p) => [p.path, p.origin, p.depth]), [
      ['1.1/docs/readme.txt', 'archive', 2], ['1.1/docs/a.exe', 'archive', 2], ['1.1/eicar.com', 'archive', 2]]);
    assert.equal(bytes(members[0]).toString(), 'hello from the zip\n');
    assert.equal(members[1].trueType.category, 'executable');
    assert.equal(members[2].sha256, sha256(EICAR));
    assert.equal(members[2].md5, '44d88612fea8a8f36de82e1278abb02f');
    assert.ok(members.every((p) => p.isAttachment && p.isLeaf && p.declaredType === ''));
  } finally { await m.dispose(); }
});

test('a zip bomb stops at the unpack budget with an unpacked_bytes LimitHit', async () => {
  const z = zip([{ name: 'zeros.bin', data: Buffer.alloc(8 * 1024 * 1024) }]);
  const m = await model(crlf('Content-Type: application/zip; name=bomb.zip', 'Content-Transfer-Encoding: base64', '', b64(z), ''), { maxUnpackedBytes: 1024 * 1024 });
  try {
    assert.ok(m.limits.some((l) => l.limit === 'unpacked_bytes' && l.part === '1'), JSON.stringify(m.limits));
  } finally { await m.dispose(); }
});

test('true types come from content: a .txt attachment that is a PE is executable', async () => {
  const m = await model(crlf(
    'Content-Type: multipart/mixed; boundary=b', '',
    '--b', 'Content-Type: text/plain; name=readme.txt', 'Content-Disposition: attachment; filename=readme.txt', 'Content-Transfer-Encoding: base64', '', b64(pe()),
    '--b--', ''));
  try {
    const p = byName(m, 'readme.txt');
    assert.equal(p?.declaredType, 'text/plain');
    assert.equal(p?.trueType.category, 'executable');
    assert.equal(p?.trueType.label, 'pe');
    assert.equal(m.text, '', 'an attachment is not body text');
  } finally { await m.dispose(); }
});

test('the part limit stops adding parts with a parts LimitHit', async () => {
  const lines = ['Content-Type: multipart/mixed; boundary=b', ''];
  for (let i = 0; i < 10; i++) lines.push('--b', `Content-Type: application/octet-stream; name=f${i}.bin`, '', `data ${i}`);
  lines.push('--b--', '');
  const m = await model(crlf(...lines), { maxParts: 4 });
  try {
    assert.equal(m.parts.length, 4);
    assert.ok(m.limits.some((l) => l.limit === 'parts'));
  } finally { await m.dispose(); }
});

test('an aborted signal ends the build with a time LimitHit and a partial model', async () => {
  const ctl = new AbortController();
  const head = crlf('Subject: slow', 'Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: text/plain', '', 'first part', '');
  // The abort comes once far more than the stream buffers hold has been read, so the header was parsed by then.
  const filler = Buffer.from('filler line of the first part\r\n'.repeat(256));
  let reads = 0;
  const source = new Readable({
    read() {
      reads++;
      if (reads === 1) this.push(Buffer.from(head));
      else if (reads < 200) this.push(filler);
      else ctl.abort(new Error('deadline'));
    },
  });
  const m = await buildModel(source, ENV, { tempDir: TMP, signal: ctl.signal });
  try {
    assert.ok(m.limits.some((l) => l.limit === 'time'), JSON.stringify(m.limits));
    assert.equal(m.subject, 'slow');
    assert.deepEqual(m.parts.map((p) => p.path), ['1', '1.1']);
    assert.ok(m.parts[1].size > 0, 'the part being read keeps what it had');
  } finally { await m.dispose(); }
});

test('a stream in tiny chunks gives the same model as one Buffer', async () => {
  const msg = Buffer.from(crlf(
    'Subject: chunks', 'Content-Type: multipart/mixed; boundary=b', '',
    '--b', 'Content-Type: text/plain', 'Content-Transfer-Encoding: quoted-printable', '', 'caf=C3=A9 soft=', 'break',
    '--b', 'Content-Type: application/octet-stream; name=eicar.com', 'Content-Transfer-Encoding: base64', '', b64(EICAR, 20),
    '--b--', ''));
  const chunks: Buffer[] = [];
  for (let i = 0, n = 1; i < msg.length; i += n, n = (n % 7) + 1) chunks.push(msg.subarray(i, i + n));
  const a = await model(msg);
  const b = await buildModel(Readable.from(chunks), ENV, { tempDir: TMP });
  try {
    const view = (m: MessageModel) => m.parts.map((p) => [p.path, p.size, p.sha256]);
    assert.deepEqual(view(b), view(a));
    assert.equal(b.text, 'café softbreak');
    assert.equal(b.size, msg.length);
    assert.equal(byName(b, 'eicar.com')?.sha256, sha256(EICAR));
  } finally { await a.dispose(); await b.dispose(); }
});

test('small parts go to files once the in-memory total for the message is used up', async () => {
  const lines = ['Content-Type: multipart/mixed; boundary=b', ''];
  for (let i = 0; i < 3; i++) lines.push('--b', `Content-Type: application/octet-stream; name=f${i}.bin`, 'Content-Transfer-Encoding: base64', '', b64(Buffer.alloc(600 * 1024, i + 1)));
  lines.push('--b--', '');
  const m = await model(crlf(...lines), { maxInMemoryTotal: 1024 * 1024 });
  try {
    assert.deepEqual(['f0.bin', 'f1.bin', 'f2.bin'].map((n) => byName(m, n)?.content?.kind), ['buffer', 'file', 'file']);
    assert.deepEqual(bytes(byName(m, 'f2.bin')), Buffer.alloc(600 * 1024, 3));
  } finally { await m.dispose(); }
});

test('a text body at the depth limit reports no limit unless it holds a uuencoded file', async () => {
  const msg = (body: string) => crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: text/plain', '', body, '--b--', '');
  const plain = await model(msg('just text'), { maxDepth: 1 });
  const uu = await model(msg(uuencode(Buffer.from('x'), 'x.bin')), { maxDepth: 1 });
  try {
    assert.deepEqual(plain.limits, []);
    assert.deepEqual(uu.limits.map((l) => [l.limit, l.part]), [['depth', '1.1']]);
    assert.equal(uu.parts.length, 2);
  } finally { await plain.dispose(); await uu.dispose(); }
});
