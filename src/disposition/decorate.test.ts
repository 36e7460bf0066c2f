/**
 * Banner and disclaimer on real MIME (nodemailer's composer and hand-written parts): the text and HTML bodies
 * get them, decoded correctly afterwards whatever the transfer encoding (base64, quoted-printable, 8bit) and
 * charset (UTF-8, ISO-8859-1); attachments untouched; signed messages not changed at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import MailComposer from 'nodemailer/lib/mail-composer';
import type Mail from 'nodemailer/lib/mailer';
import PostalMime from 'postal-mime';
import { decorateBody, decorateHtml, decorateText, type BodyDecoration } from './decorate.ts';

const D: BodyDecoration = { banner: { text: 'CAUTION: this message came from outside <ext>.' }, disclaimer: { text: 'Confidential – for the addressee only.' } };

async function compose(o: Mail.Options): Promise<Buffer> {
  const mc = new MailComposer({ from: 'a@example.com', to: 'b@example.org', subject: 'hello', ...o });
  return new Promise((r, j) => mc.compile().build((e, b) => (e ? j(e) : r(b))));
}
async function run(raw: Buffer, d: BodyDecoration = D): Promise<{ out: Buffer; skipped: string[] }> {
  const skipped: string[] = [];
  const chunks: Buffer[] = [];
  // Small chunks: the transform must not depend on how the input is cut.
  const pieces = Array.from({ length: Math.ceil(raw.length / 7) }, (_, i) => raw.subarray(i * 7, i * 7 + 7));
  for await (const c of decorateBody(Readable.from(pieces), d, (w) => skipped.push(w))) chunks.push(c as Buffer);
  return { out: Buffer.concat(chunks), skipped };
}
const parse = (b: Buffer) => PostalMime.parse(b);

test('text helpers: banner first, disclaimer last; HTML after <body> and before </body>, text escaped', () => {
  assert.equal(decorateText('Hi\r\n', D), 'CAUTION: this message came from outside <ext>.\r\n\r\nHi\r\n\r\nConfidential – for the addressee only.');
  const h = decorateHtml('<html><body class="x"><p>Hi</p></body></html>', D);
  assert.match(h, /^<html><body class="x">\r\n<div>CAUTION: this message came from outside &lt;ext&gt;\.<\/div>\r\n<p>Hi<\/p>\r\n<div>Confidential – for the addressee only\.<\/div>\r\n<\/body><\/html>$/);
  assert.equal(decorateHtml('<b>x</b>', { banner: { text: 't', html: '<i>B</i>' } }), '\r\n<i>B</i>\r\n<b>x</b>');
});

test('multipart/alternative in base64 with an attachment: both bodies decorated, attachment unchanged', async () => {
  const raw = await compose({ text: 'Grüße aus Köln\nZeile 2\n', html: '<html><body><p>Grüße</p></body></html>', textEncoding: 'base64',
    attachments: [{ filename: 'notes.txt', content: 'attached text must not change\n' }] });
  const { out } = await run(raw);
  const m = await parse(out);
  assert.equal(m.text, 'CAUTION: this message came from outside <ext>.\r\n\r\nGrüße aus Köln\nZeile 2\n\r\nConfidential – for the addressee only.');
  assert.match(m.html!, /<body>\r\n<div>CAUTION: this message came from outside &lt;ext&gt;\.<\/div>\r\n<p>Grüße<\/p>/);
  assert.match(m.html!, /<div>Confidential – for the addressee only\.<\/div>\r\n<\/body>/);
  assert.equal(m.attachments.length, 1);
  assert.equal(Buffer.from(m.attachments[0].content as ArrayBuffer).toString(), 'attached text must not change\n');
  assert.match(out.toString('latin1'), /Content-Transfer-Encoding: base64/);
});

test('quoted-printable stays quoted-printable and decodes correctly', async () => {
  const raw = await compose({ text: `${'A long line with an umlaut ä '.repeat(6)}\nend\n`, textEncoding: 'quoted-printable' });
  const { out } = await run(raw);
  assert.match(out.toString('latin1'), /Content-Transfer-Encoding: quoted-printable/);
  assert.ok(out.toString('latin1').split('\r\n').every((l) => l.length <= 78), 'QP lines stay short');
  const m = await parse(out);
  // QP hard line breaks come back as the parser's line ends (LF).
  assert.equal(m.text!.replace(/\r\n/g, '\n'), `CAUTION: this message came from outside <ext>.\n\n${'A long line with an umlaut ä '.repeat(6)}\nend\n\nConfidential – for the addressee only.\n`);
});

test('an 8bit ISO-8859-1 single-part message becomes 8bit UTF-8 (charset updated), text intact', async () => {
  const body = Buffer.from('Gr\xfc\xdfe, caf\xe9\r\n', 'latin1');
  const raw = Buffer.concat([Buffer.from('From: a@example.com\r\nTo: b@example.org\r\nSubject: latin\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'), body]);
  const { out } = await run(raw);
  const head = out.toString('latin1').split('\r\n\r\n')[0];
  assert.match(head, /charset=utf-8/i);
  assert.match(head, /Content-Transfer-Encoding: 8bit/i);
  const m = await parse(out);
  assert.equal(m.text!.replace(/\r\n/g, '\n'), 'CAUTION: this message came from outside <ext>.\n\nGrüße, café\n\nConfidential – for the addressee only.\n');
});

test('7bit text that gets non-ASCII becomes quoted-printable UTF-8', async () => {
  const raw = Buffer.from('From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\nHello\r\n');
  const { out } = await run(raw);
  const head = out.toString('latin1').split('\r\n\r\n')[0];
  assert.match(head, /charset=utf-8/i);
  assert.match(head, /Content-Transfer-Encoding: quoted-printable/i);
  assert.ok(!/[^\x00-\x7f]/.test(out.toString('latin1')), 'only ASCII on the wire');
  assert.match((await parse(out)).text!, /Confidential – for the addressee only\./);
});

test('plain ASCII 7bit text with an ASCII banner stays 7bit', async () => {
  const raw = Buffer.from('From: a@example.com\r\nSubject: x\r\n\r\nHello\r\n');
  const { out } = await run(raw, { banner: { text: 'External mail' } });
  assert.equal(out.toString(), 'From: a@example.com\r\nSubject: x\r\n\r\nExternal mail\r\n\r\nHello\r\n');
});

test('signed messages (multipart/signed, application/pkcs7-mime) pass byte for byte', async () => {
  const signed = Buffer.from('From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="b1"\r\n\r\n'
    + '--b1\r\nContent-Type: text/plain\r\n\r\nsigned text\r\n--b1\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--b1--\r\n');
  const a = await run(signed);
  assert.equal(a.out.toString('latin1'), signed.toString('latin1'));
  assert.deepEqual(a.skipped, ['signed or encrypted message']);
  const enc = Buffer.from('From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n');
  assert.equal((await run(enc)).out.toString('latin1'), enc.toString('latin1'));
});

test('text attachments and a second text part are not decorated', async () => {
  const raw = await compose({ text: 'body\n', attachments: [{ filename: 'a.txt', content: 'file\n', contentType: 'text/plain' }, { content: 'second inline\n', contentType: 'text/plain', contentDisposition: 'inline' }] });
  const m = await parse((await run(raw)).out);
  assert.match(m.text!, /^CAUTION/);
  assert.equal(m.attachments.filter((x) => Buffer.from(x.content as ArrayBuffer).toString().includes('CAUTION')).length, 0);
});
