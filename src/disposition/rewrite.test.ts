import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { removeParts, type Removals } from './rewrite.ts';
import { editMessage } from './headers.ts';

const MSG = [
  'From: a@example.test',
  'To: b@example.test',
  'Subject: Quarterly report',
  'X-Moat-Antivirus: clean',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="BOUND"',
  '',
  'preamble',
  '--BOUND',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'See attached.',
  '--BOUND',
  'Content-Type: application/octet-stream; name="evil.exe"',
  'Content-Disposition: attachment; filename="evil.exe"',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('MZ this is not really a program').toString('base64'),
  '--BOUND',
  'Content-Type: text/plain; name="notes.txt"',
  'Content-Disposition: attachment; filename="notes.txt"',
  '',
  'keep me',
  '--BOUND--',
  '',
].join('\r\n');

async function run(removals: Removals = new Map(), input = MSG): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of removeParts(Readable.from([Buffer.from(input)]), removals)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const edit = (input: string, e: Partial<Parameters<typeof editMessage>[1]>) =>
  editMessage(Buffer.from(input, 'latin1'), { subjectTags: [], addHeaders: [], removeHeaders: [], ...e }).toString('latin1');

test('no removals: the message passes byte for byte', async () => {
  assert.equal(await run(), MSG);
});

test('header edits: forged X-Moat-* removed, tags prepended once, status headers after our Received line', () => {
  assert.equal(edit(MSG, {}), MSG.replace('X-Moat-Antivirus: clean\r\n', ''));
  const withTrace = `Received: from x by gw\r\n\tfor <b@example.test>; date\r\n${MSG}`;
  const out = edit(withTrace, { subjectTags: ['[Infected]'], addHeaders: [['X-Moat-Antivirus', 'infected (Eicar-Test-Signature)'], ['X-Moat-Action', 'delete_attachment']] });
  assert.match(out, /^Received: from x by gw\r\n\tfor <b@example\.test>; date\r\nX-Moat-Antivirus: infected \(Eicar-Test-Signature\)\r\nX-Moat-Action: delete_attachment\r\nFrom: /);
  assert.match(out, /\r\nSubject: \[Infected\] Quarterly report\r\n/);
  assert.equal((edit(out, { subjectTags: ['[Infected]'] }).match(/\[Infected\]/g) ?? []).length, 1, 'not tagged twice');
  // The body is untouched.
  assert.ok(out.endsWith(MSG.slice(MSG.indexOf('\r\n\r\n'))));
});

test('delete_attachment replaces the part with a notice and keeps every other byte', async () => {
  const plan: Removals = new Map([['2', { name: 'evil.exe', reason: 'antivirus: infected, Eicar-Test-Signature' }]]);
  const out = await run(plan);
  assert.doesNotMatch(out, /evil\.exe"/);
  assert.doesNotMatch(out, new RegExp(Buffer.from('MZ this is not really a program').toString('base64')));
  const notice = /Content-Type: text\/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: inline\r\n\r\n([A-Za-z0-9+/=\r\n]+)\r\n--BOUND/.exec(out);
  assert.ok(notice, out);
  assert.match(Buffer.from(notice[1], 'base64').toString(), /The attachment "evil\.exe" was removed by the mail gateway \(antivirus: infected, Eicar-Test-Signature\)/);
  // Untouched parts are byte-identical, and the structure is intact.
  assert.match(out, /--BOUND\r\nContent-Type: text\/plain; name="notes.txt"\r\nContent-Disposition: attachment; filename="notes.txt"\r\n\r\nkeep me\r\n--BOUND--\r\n$/);
  assert.match(out, /\r\n\r\nSee attached\.\r\n--BOUND\r\n/);
});

test('a non-ASCII tag is RFC 2047 encoded', () => {
  assert.match(edit(MSG, { subjectTags: ['[Спам]'] }), /\r\nSubject: =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?= Quarterly report\r\n/);
});
