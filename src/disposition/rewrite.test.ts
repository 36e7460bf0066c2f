import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { rewriteMessage, emptyPlan } from './rewrite.ts';

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

async function run(plan = emptyPlan(), input = MSG): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of rewriteMessage(Readable.from([Buffer.from(input)]), plan)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

test('an empty plan changes nothing but removes forged X-Moat-* headers', async () => {
  const out = await run();
  assert.equal(out, MSG.replace('X-Moat-Antivirus: clean\r\n', ''));
});

test('subject tags are prepended once; status headers are added on top', async () => {
  const plan = emptyPlan();
  plan.subjectTags = ['[Infected]'];
  plan.addHeaders = [['X-Moat-Antivirus', 'infected (Eicar-Test-Signature)'], ['X-Moat-Action', 'delete_attachment']];
  const out = await run(plan);
  assert.match(out, /^X-Moat-Antivirus: infected \(Eicar-Test-Signature\)\r\nX-Moat-Action: delete_attachment\r\n/);
  assert.match(out, /\r\nSubject: \[Infected\] Quarterly report\r\n/);
  // Already tagged: not tagged twice.
  const again = await run(plan, out);
  assert.equal((again.match(/\[Infected\]/g) ?? []).length, 1);
});

test('delete_attachment replaces the part with a notice and keeps every other byte', async () => {
  const plan = emptyPlan();
  plan.removeParts.set('2', { name: 'evil.exe', reason: 'antivirus: infected, Eicar-Test-Signature' });
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

test('a non-ASCII tag or header value is RFC 2047 encoded', async () => {
  const plan = emptyPlan();
  plan.subjectTags = ['[Спам]'];
  const out = await run(plan);
  assert.match(out, /\r\nSubject: =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?= Quarterly report\r\n/);
});
