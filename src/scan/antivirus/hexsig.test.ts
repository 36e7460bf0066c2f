// Hex signature syntax: subpatterns, gaps, wildcards, alternatives, malformed vs unsupported, anchor choice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseAnchor, MalformedSignature, parseHexSignature, UnsupportedSignature, verifySubpattern, type ByteRun } from './hexsig.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('literal bytes, nibble and any-byte wildcards form one subpattern', () => {
  const s = parseHexSignature('4D5a??4????f');
  assert.equal(s.subs.length, 1);
  const run = s.subs[0][0] as ByteRun;
  assert.equal(hex(run.value), '4d5a0040000f');
  assert.equal(hex(run.mask), 'ffff00f0000f');
  assert.ok(verifySubpattern(s.subs[0], Buffer.from('4d5a7741ff0f', 'hex'), 0));
  assert.ok(verifySubpattern(s.subs[0], Buffer.from('4d5a004f003f', 'hex'), 0));
  assert.ok(!verifySubpattern(s.subs[0], Buffer.from('4d5a0051000f', 'hex'), 0));
  assert.ok(!verifySubpattern(s.subs[0], Buffer.from('4d5a0040000e', 'hex'), 0));
});

test('gaps split subpatterns: *, {n}, {-n}, {n-}, {n-m}; consecutive gaps add up', () => {
  const s = parseHexSignature('aabb*ccdd{3}eeff{-4}1122{5-}3344{2-7}5566{1}{2}7788');
  assert.equal(s.subs.length, 7);
  assert.deepEqual(s.gaps, [
    { min: 0, max: Infinity }, { min: 3, max: 3 }, { min: 0, max: 4 }, { min: 5, max: Infinity }, { min: 2, max: 7 }, { min: 3, max: 3 },
  ]);
});

test('a subpattern of only ?? becomes part of the gap; leading gaps shift the offset; trailing ones are dropped', () => {
  const s = parseHexSignature('{2-3}aabb{1}????*ccdd{4}');
  assert.equal(s.subs.length, 2);
  assert.deepEqual(s.lead, { min: 2, max: 3 });
  assert.deepEqual(s.gaps, [{ min: 3, max: Infinity }]);
});

test('alternatives and negated alternatives', () => {
  const s = parseHexSignature('aa(bb|cc|bb)dd!(01|02)ee');
  const d = (h: string) => Buffer.from(h, 'hex');
  assert.ok(verifySubpattern(s.subs[0], d('aabbdd03ee'), 0));
  assert.ok(verifySubpattern(s.subs[0], d('aaccdd00ee'), 0));
  assert.ok(!verifySubpattern(s.subs[0], d('aaeedd00ee'), 0));
  assert.ok(!verifySubpattern(s.subs[0], d('aabbdd02ee'), 0));
  const alt = s.subs[0].find((a) => a.kind === 'alt' && !a.negate);
  assert.equal(alt && alt.kind === 'alt' ? alt.options.length : 0, 2, 'duplicate option removed');
});

test('malformed and unsupported syntax are told apart', () => {
  for (const bad of ['', 'abc', 'zz', 'aa{', 'aa{x}', 'aa{5-2}bb', 'aa(bb', 'aa(|bb)', 'aa(b)']) {
    assert.throws(() => parseHexSignature(bad), MalformedSignature, bad);
  }
  for (const unsup of ['aa(B)bb', '(L)aabb', 'aabb[1-2]cc', 'aa(bb|cccc)', '????*????', '4?5?6?']) {
    assert.throws(() => { const s = parseHexSignature(unsup); s.subs.forEach((sub) => chooseAnchor(sub, 8)); }, UnsupportedSignature, unsup);
  }
});

test('anchor: the most varied window of exact bytes, capped in length', () => {
  const s = parseHexSignature('0000000000??4d5a9000030000000400');
  const a = chooseAnchor(s.subs[0], 4);
  assert.equal(a.length, 4);
  assert.equal(a.offset, 6);
  assert.equal(hex(a.strings[0]), '4d5a9000');
});

test('anchor: an alternative group with its neighbours when no better literal run exists', () => {
  const s = parseHexSignature('41??(4243|4445)46??47');
  const a = chooseAnchor(s.subs[0], 8);
  assert.equal(a.offset, 2);
  assert.deepEqual(a.strings.map(hex).sort(), ['424346', '444546']);
});
