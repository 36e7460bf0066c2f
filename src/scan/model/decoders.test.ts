import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decoderFor } from './decoders.ts';

/** Decodes `input` in two chunks split at every position; all results must equal the one-chunk result. */
function everySplit(cte: string, input: string): string {
  const whole = (() => { const d = decoderFor(cte); return Buffer.concat([d.write(Buffer.from(input, 'latin1')), d.end()]).toString('latin1'); })();
  for (let i = 0; i <= input.length; i++) {
    const d = decoderFor(cte);
    const out = Buffer.concat([d.write(Buffer.from(input.slice(0, i), 'latin1')), d.write(Buffer.from(input.slice(i), 'latin1')), d.end()]);
    assert.equal(out.toString('latin1'), whole, `${cte} split at ${i}`);
  }
  return whole;
}

test('base64: chunk boundaries anywhere, junk skipped, padded blocks decoded one by one, short tail kept', () => {
  assert.equal(everySplit('base64', 'SGVs\r\nbG8g V29y\tbGQ='), 'Hello World');
  assert.equal(everySplit('base64', 'SGVsbG8=V29ybGQ='), 'HelloWorld');
  assert.equal(everySplit('base64', 'SG!V*s.bG8'), 'Hello');
  assert.equal(everySplit('base64', 'SGVsbG'), 'Hell');
  assert.equal(everySplit('base64', 'S'), '');
});

test('quoted-printable: chunk boundaries anywhere, soft breaks, stray "=" kept', () => {
  assert.equal(everySplit('quoted-printable', 'a=3Db=3d c=\r\nd=\ne =  \r\nf =XY =4 g=20\r\nend='), 'a=b= cde f =XY =4 g \r\nend');
  assert.equal(everySplit('quoted-printable', 'caf=C3=A9'), 'caf\xc3\xa9');
  assert.equal(everySplit('quoted-printable', 'tail=4'), 'tail=4');
});

test('7bit, 8bit, binary and unknown encodings pass bytes through', () => {
  for (const cte of ['', '7bit', '8bit', 'binary', 'x-unknown']) assert.equal(everySplit(cte, 'a=3D\r\n\xff'), 'a=3D\r\n\xff');
});
