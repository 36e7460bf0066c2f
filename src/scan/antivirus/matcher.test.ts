// Signature matching against a regular-expression oracle, fed in chunks of every size; offsets and targets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHexSignature } from './hexsig.ts';
import { parseOffset, PatternSet, type OffsetSpec, type PatternInput } from './matcher.ts';
import { rng } from './test-rng.ts';


/** Feeds `data` in chunks of `chunk` bytes keeping the history the set asks for, as signatures.ts does. */
function matchChunked(set: PatternSet, data: Uint8Array, chunk: number, ctx: { type?: { category: string; label: string } } = {}): number[] {
  const sess = set.session({ size: data.length, ...ctx });
  const hist = set.historyBytes;
  for (let pos = 0; pos < data.length; pos += chunk) {
    const keep = Math.min(hist, pos);
    const end = Math.min(data.length, pos + chunk);
    // A copy, so a session that kept a reference to old bytes would be caught reading the wrong window.
    sess.feed(Uint8Array.from(data.subarray(pos - keep, end)), pos - keep, keep);
  }
  sess.finish();
  return sess.matched.slice().sort((a, b) => a - b);
}

/** A random signature as hex text and as an equivalent regular expression (the test oracle). */
function randomSignature(r: () => number, alphabet: number[]): { hex: string; re: RegExp } {
  const pick = () => alphabet[Math.floor(r() * alphabet.length)];
  const hx = (b: number) => b.toString(16).padStart(2, '0');
  const rx = (b: number) => `\\x${hx(b)}`;
  let hex = '', re = '';
  const lit = (n: number) => { for (let i = 0; i < n; i++) { const b = pick(); hex += hx(b); re += rx(b); } };
  const extra = () => {
    const k = r();
    if (k < 0.25) { const n = 1 + Math.floor(r() * 2); hex += '??'.repeat(n); re += `[\\s\\S]{${n}}`; } else if (k < 0.4) {
      const b = pick();
      hex += `?${hx(b)[1]}`;
      re += `[${Array.from({ length: 16 }, (_, i) => rx((i << 4) | (b & 0x0f))).join('')}]`;
    } else if (k < 0.6) {
      const opts = [pick(), pick(), pick()].map((b) => [b, pick()]);
      hex += `(${opts.map((o) => o.map(hx).join('')).join('|')})`;
      re += `(?:${opts.map((o) => o.map(rx).join('')).join('|')})`;
    } else if (k < 0.7) {
      const opts = [pick(), pick()];
      hex += `!(${opts.map(hx).join('|')})`;
      re += `(?!${opts.map(rx).join('|')})[\\s\\S]`;
    } else lit(1);
  };
  const subs = 1 + Math.floor(r() * 3);
  let unbounded = 0;
  for (let s = 0; s < subs; s++) {
    if (s > 0) {
      const k = r();
      if (k < 0.25 && unbounded < 1) { unbounded++; hex += '*'; re += '[\\s\\S]*'; } else if (k < 0.5) {
        const n = Math.floor(r() * 6); hex += `{${n}}`; re += `[\\s\\S]{${n}}`;
      } else if (k < 0.75) {
        const a = Math.floor(r() * 4), b = a + Math.floor(r() * 12); hex += `{${a}-${b}}`; re += `[\\s\\S]{${a},${b}}`;
      } else {
        const n = Math.floor(r() * 8); hex += `{-${n}}`; re += `[\\s\\S]{0,${n}}`;
      }
    }
    if (r() < 0.5) extra();
    lit(2 + Math.floor(r() * 2));
    if (r() < 0.5) extra();
  }
  return { hex, re: new RegExp(re) };
}

test('random signatures with wildcards, nibbles, alternatives and gaps match exactly what a regex oracle finds, for any chunking', () => {
  const r = rng(42);
  const alphabet = [0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x51, 0x00];
  for (let round = 0; round < 4; round++) {
    const sigs = Array.from({ length: 400 }, () => randomSignature(r, alphabet));
    const set = new PatternSet(sigs.map((s): PatternInput => ({ sig: parseHexSignature(s.hex), offset: { kind: 'any' }, target: null })), { maxAnchorBytes: 3 });
    const data = Uint8Array.from({ length: 1500 }, () => alphabet[Math.floor(r() * alphabet.length)]);
    const text = Buffer.from(data).toString('latin1');
    const want = sigs.map((s, i) => (s.re.test(text) ? i : -1)).filter((i) => i >= 0);
    assert.ok(want.length > 40 && want.length < 360, `round ${round}: a useful mix of hits and misses (${want.length})`);
    for (const chunk of [1, 2, 7, 64, data.length]) {
      const got = matchChunked(set, data, chunk);
      const diff = [...want.filter((i) => !got.includes(i)), ...got.filter((i) => !want.includes(i))];
      assert.deepEqual(got, want, `round ${round} chunk ${chunk}: ${diff.slice(0, 3).map((i) => sigs[i].hex).join(' ')}`);
    }
  }
});

test('a signature split across two chunks, and a long gap spanning many chunks', () => {
  const set = new PatternSet([
    { sig: parseHexSignature(Buffer.from('SPLIT-ACROSS').toString('hex')), offset: { kind: 'any' }, target: null },
    { sig: parseHexSignature(`${Buffer.from('HEAD').toString('hex')}{900-1100}${Buffer.from('TAIL').toString('hex')}`), offset: { kind: 'any' }, target: null },
  ]);
  const data = Buffer.alloc(3000, 0x2e);
  data.write('SPLIT-ACROSS', 1020, 'latin1');
  data.write('HEAD', 1500, 'latin1');
  data.write('TAIL', 1500 + 4 + 1000, 'latin1');
  for (const chunk of [1024, 1026, 1500, 3, 1]) assert.deepEqual(matchChunked(set, data, chunk), [0, 1], `chunk ${chunk}`);
  data.write('....', 2504, 'latin1');
  data.write('TAIL', 1500 + 4 + 1101, 'latin1');
  assert.deepEqual(matchChunked(set, data, 64), [0], 'gap too long');
});

test('offsets: exact, shifted, EOF-relative, and a leading gap', () => {
  const off = (s: string) => parseOffset(s) as OffsetSpec;
  const h = (s: string) => Buffer.from(s).toString('hex');
  const inputs: PatternInput[] = [
    { sig: parseHexSignature(h('MZ')), offset: off('0'), target: null },
    { sig: parseHexSignature(h('abc')), offset: off('4'), target: null },
    { sig: parseHexSignature(h('abc')), offset: off('2,3'), target: null },
    { sig: parseHexSignature(h('END')), offset: off('EOF-3'), target: null },
    { sig: parseHexSignature(h('END')), offset: off('EOF-10,8'), target: null },
    { sig: parseHexSignature(`{2-4}${h('abc')}`), offset: off('0'), target: null },
    { sig: parseHexSignature(h('abc')), offset: off('3'), target: null },
  ];
  const set = new PatternSet(inputs);
  const data = Buffer.from('MZ..abc...xEND');
  assert.deepEqual(matchChunked(set, data, 3), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(matchChunked(set, Buffer.from('.MZabc.END.'), 2), [2, 4, 5, 6]);
  assert.equal(parseOffset('EP+10'), null);
  assert.equal(parseOffset('SL+2'), null);
  // Without a known size, EOF offsets cannot match.
  const s = set.session({});
  s.feed(data, 0, 0);
  s.finish();
  assert.ok(!s.matched.includes(3));
});

test('targets restrict a signature to parts of a category or label; an unknown type lets every signature apply', () => {
  const sig = parseHexSignature(Buffer.from('payload').toString('hex'));
  const set = new PatternSet([
    { sig, offset: { kind: 'any' }, target: ['executable'] },
    { sig, offset: { kind: 'any' }, target: ['docm', 'pdf'] },
    { sig, offset: { kind: 'any' }, target: null },
  ]);
  const data = Buffer.from('..payload..');
  assert.deepEqual(matchChunked(set, data, 4, { type: { category: 'executable', label: 'pe' } }), [0, 2]);
  assert.deepEqual(matchChunked(set, data, 4, { type: { category: 'office_macro', label: 'docm' } }), [1, 2]);
  assert.deepEqual(matchChunked(set, data, 4, { type: { category: 'text', label: 'txt' } }), [2]);
  assert.deepEqual(matchChunked(set, data, 4), [0, 1, 2]);
});

test('subpatterns must come in order, and a repeated anchor does not match itself', () => {
  const h = (s: string) => Buffer.from(s).toString('hex');
  const set = new PatternSet([
    { sig: parseHexSignature(`${h('one')}*${h('two')}`), offset: { kind: 'any' }, target: null },
    { sig: parseHexSignature(`${h('dup')}{0-5}${h('dup')}`), offset: { kind: 'any' }, target: null },
  ]);
  assert.deepEqual(matchChunked(set, Buffer.from('two...one...dup'), 2), []);
  assert.deepEqual(matchChunked(set, Buffer.from('one.two..dup..dup'), 2), [0, 1]);
});

test('the hybrid automaton layout gives the same results', () => {
  const r = rng(9);
  const alphabet = [0x61, 0x62, 0x63, 0x64];
  const sigs = Array.from({ length: 200 }, () => randomSignature(r, alphabet));
  const inputs = sigs.map((s): PatternInput => ({ sig: parseHexSignature(s.hex), offset: { kind: 'any' }, target: null }));
  const dense = new PatternSet(inputs);
  const hybrid = new PatternSet(inputs, { denseStateLimit: 0 });
  assert.equal(dense.automatonLayout, 'dense');
  assert.equal(hybrid.automatonLayout, 'hybrid');
  const data = Uint8Array.from({ length: 2000 }, () => alphabet[Math.floor(r() * alphabet.length)]);
  assert.deepEqual(matchChunked(hybrid, data, 33), matchChunked(dense, data, 33));
  assert.ok(matchChunked(dense, data, 33).length > 10);
});
