import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { DataInspector } from './inspect.ts';

async function run(chunks: (string | Buffer)[], limits = { maxBytes: 0, maxHeaderBytes: 1 << 20, maxHops: 50 }) {
  const insp = new DataInspector(limits);
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks.map((c) => Buffer.from(c))), insp, new Writable({ write(c, _e, cb) { out.push(c); cb(); } }));
  return { insp, text: Buffer.concat(out).toString('latin1') };
}

test('bare LF and bare CR become CRLF, also across chunk boundaries', async () => {
  const { text } = await run(['a\nb\rc\r', '\nd\r', 'e\r\n\n.\nMAIL FROM:<x>\r']);
  assert.equal(text, 'a\r\nb\r\nc\r\nd\r\ne\r\n\r\n.\r\nMAIL FROM:<x>\r\n');
  assert.doesNotMatch(text.replace(/\r\n/g, ''), /[\r\n]/);
});

test('a clean chunk passes through unchanged (no copy needed)', async () => {
  const { text, insp } = await run(['Subject: x\r\n\r\nbody\r\n']);
  assert.equal(text, 'Subject: x\r\n\r\nbody\r\n');
  assert.equal(insp.bytes, text.length);
});

test('Message-ID is taken from the header, folded or not, and not from the body', async () => {
  const a = await run(['From: a@b\r\nMessage-ID:\r\n <abc@x.test>\r\n\r\nMessage-ID: <body@x>\r\n']);
  assert.equal(a.insp.messageId, '<abc@x.test>');
  const b = await run(['From: a@b\r\n\r\nMessage-ID: <body@x>\r\n']);
  assert.equal(b.insp.messageId, null);
});

test('size limit stops the output and reports 552 5.3.4', async () => {
  const { insp, text } = await run(['x'.repeat(600), 'y'.repeat(600)], { maxBytes: 1000, maxHeaderBytes: 1 << 20, maxHops: 50 });
  assert.equal(insp.error?.responseCode, 552);
  assert.equal(insp.error?.enhanced, '5.3.4');
  assert.ok(text.length <= 1000);
});

test('more than maxHops Received headers is a loop: 554 5.4.6', async () => {
  const hdr = Array.from({ length: 4 }, (_, i) => `Received: from h${i}\r\n`).join('');
  assert.equal((await run([hdr + '\r\nbody'], { maxBytes: 0, maxHeaderBytes: 1 << 20, maxHops: 3 })).insp.error?.enhanced, '5.4.6');
  assert.equal((await run([hdr + '\r\nbody'], { maxBytes: 0, maxHeaderBytes: 1 << 20, maxHops: 4 })).insp.error, undefined);
});

test('header section over the cap is refused; the header ends at the first empty line', async () => {
  const big = `X-Big: ${'a'.repeat(3000)}\r\n`;
  assert.equal((await run([big, '\r\nbody'], { maxBytes: 0, maxHeaderBytes: 2000, maxHops: 50 })).insp.error?.publicText, 'Message header size exceeds limit');
  assert.equal((await run(['A: b\r\n\r\n', big], { maxBytes: 0, maxHeaderBytes: 2000, maxHops: 50 })).insp.error, undefined);
});
