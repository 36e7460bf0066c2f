/**
 * Relaxed canonicalisation (RFC 6376 §3.4.2, §3.4.4): the RFC's own example, edge cases (empty body, missing
 * final line end, white-space-only lines, empty lines at the end, 8-bit bytes), bare CR and bare LF treated as the
 * line ends the SMTP client makes of them, the same hash whatever the chunking, and agreement with mailauth's
 * independent body hasher on generated bodies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { RelaxedBodyHash, headerFields, relaxedBodyHash, relaxedHeader } from '../../src/dkim/canon.ts';

const require = createRequire(import.meta.url);
const { dkimBody } = require('mailauth/lib/dkim/body') as { dkimBody: (canon: string, algo: string, max: boolean) => { update(b: Buffer): void; digest(enc: string): string } };

const sha = (s: string) => createHash('sha256').update(Buffer.from(s, 'latin1')).digest('base64');
const mailauthHash = (b: Buffer) => { const h = dkimBody('relaxed', 'sha256', false); h.update(b); return h.digest('base64'); };

test('RFC 6376 §3.4.5 example: header and body', () => {
  const section = 'A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n';
  assert.deepEqual(headerFields(section).map((f) => relaxedHeader(f.raw)), ['a:X\r\n', 'b:Y Z\r\n']);
  assert.equal(relaxedBodyHash(Buffer.from(' C \r\nD \t E\r\n\r\n\r\n')), sha(' C\r\nD E\r\n'));
});

test('body edge cases', () => {
  const cases: [string, string][] = [
    ['', ''],
    ['\r\n', ''],
    ['\r\n\r\n\r\n', ''],
    [' \t \r\n\t\r\n', ''],
    ['x', 'x\r\n'],
    ['x  \t', 'x\r\n'],
    ['a\r\n\r\n\r\nb\r\n\r\n', 'a\r\n\r\n\r\nb\r\n'],
    ['a\r\n  \r\nb', 'a\r\n\r\nb\r\n'],
    ['\tlead', ' lead\r\n'],
    ['a\nb\rc\r', 'a\r\nb\r\nc\r\n'], // bare LF / CR: line ends on the wire
    ['\xe4\xa0x \xa0', '\xe4\xa0x \xa0\r\n'], // 8-bit bytes (0xA0 too) are content, not white space
  ];
  for (const [input, canonical] of cases) {
    const h = new RelaxedBodyHash().update(Buffer.from(input, 'latin1'));
    assert.equal(h.digest(), sha(canonical), JSON.stringify(input));
    assert.equal(h.length, canonical.length, `length of ${JSON.stringify(input)}`);
  }
});

test('header fields: unfolding, white space, 8-bit bytes kept, name case', () => {
  assert.equal(relaxedHeader('SUBJECT:  a \t b\r\n  c\t\r\n'), 'subject:a b c\r\n');
  assert.equal(relaxedHeader('Subject:\xa0x\xa0\r\n'), 'subject:\xa0x\xa0\r\n');
  assert.equal(relaxedHeader('X-Empty:\r\n'), 'x-empty:\r\n');
  const fields = headerFields('From: a\r\n\tb\r\nno colon here\r\nTo : c\r\n\r\nBody: not a field\r\n');
  assert.deepEqual(fields.map((f) => f.name), ['From', '', 'To']);
});

test('the same hash for every chunking; many empty lines counted, not kept', () => {
  const run = 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3';
  const body = Buffer.from(`line one  \r\n\r\n\r\n\t tabbed\r\nbare\nCR\rend  \r\n${run}\r\n${run} ${run}\t\r\n\r\n`, 'latin1');
  const whole = relaxedBodyHash(body);
  for (let size = 1; size <= body.length; size++) {
    const h = new RelaxedBodyHash();
    for (let i = 0; i < body.length; i += size) h.update(body.subarray(i, i + size));
    assert.equal(h.digest(), whole, `chunks of ${size}`);
  }
  const empties = Buffer.alloc(3_000_000, '\r\n');
  const h = new RelaxedBodyHash().update(Buffer.from('a\r\n')).update(empties).update(Buffer.from('b'));
  assert.equal(h.digest(), sha(`a\r\n${'\r\n'.repeat(1_500_000)}b\r\n`));
});

test('agrees with mailauth on generated bodies (CRLF line ends)', () => {
  // A small deterministic generator: lines of words, runs of SP/HTAB, empty and blank lines, 8-bit bytes.
  let seed = 12345;
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
  const pieces = ['a', 'word', ' ', '  ', '\t', ' \t ', '\xe9', '\xa0', '.', '--', '=20', 'Zm9vYmFyYmF6cXV4cXV1eHF1dXpxdXV6enp6enp6enp6enp6enp6'];
  for (let round = 0; round < 300; round++) {
    const lines: string[] = [];
    for (let l = rnd(12); l >= 0; l--) {
      let line = '';
      for (let p = rnd(8); p > 0; p--) line += pieces[rnd(pieces.length)];
      lines.push(line);
    }
    const body = Buffer.from(lines.join('\r\n') + (rnd(2) ? '\r\n' : ''), 'latin1');
    assert.equal(relaxedBodyHash(body), mailauthHash(body), JSON.stringify(body.toString('latin1')));
  }
});
