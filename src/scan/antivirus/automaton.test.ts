// Aho-Corasick layouts (dense with interleaved lanes, hybrid) against indexOf, across chunk boundaries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAutomaton, type Automaton } from './automaton.ts';
import { rng } from './test-rng.ts';


function naive(strings: Uint8Array[], data: Uint8Array): string[] {
  const out: string[] = [];
  const hay = Buffer.from(data);
  strings.forEach((s, id) => {
    for (let i = hay.indexOf(s); i >= 0; i = hay.indexOf(s, i + 1)) out.push(`${id}@${i + s.length}`);
  });
  return out.sort();
}

/** Dense, hybrid with dense rows for the root only, and hybrid with dense rows down to depth 2. */
function layouts(strings: Uint8Array[]): [string, Automaton][] {
  const all: [string, Automaton][] = [
    ['dense', buildAutomaton(strings, { denseStateLimit: 1 << 20 })],
    ['hybrid0', buildAutomaton(strings, { denseStateLimit: 0, hybridDenseDepth: 0 })],
    ['hybrid2', buildAutomaton(strings, { denseStateLimit: 0, hybridDenseDepth: 2 })],
  ];
  assert.deepEqual(all.map(([, a]) => a.layout), ['dense', 'hybrid', 'hybrid']);
  return all;
}

function run(a: Automaton, data: Uint8Array, chunk: number): string[] {
  const out: string[] = [];
  let st = a.start;
  let last = 0;
  for (let from = 0; from < data.length; from += chunk) {
    const to = Math.min(data.length, from + chunk);
    st = a.scan(data, from, to, st, (s, end) => {
      if (end <= last) assert.fail(`hit at ${end} after one at ${last}: not in position order`);
      last = end;
      for (const id of a.outputs(s)) out.push(`${id}@${end}`);
    });
  }
  return out.sort();
}

test('dense and hybrid automata find exactly what indexOf finds, in order, for many overlapping strings and any chunking', () => {
  const r = rng(7);
  for (let round = 0; round < 4; round++) {
    // A 3-letter alphabet makes prefixes, suffixes and overlaps common.
    const strings: Uint8Array[] = [];
    const n = 50 + round * 40;
    for (let i = 0; i < n; i++) strings.push(Uint8Array.from({ length: 1 + Math.floor(r() * 6) }, () => 0x61 + Math.floor(r() * 3)));
    // Ranges of 4 KiB and more are walked in four interleaved lanes: cover both paths and their seams.
    const data = Uint8Array.from({ length: 3000 + round * 2500 }, () => 0x61 + Math.floor(r() * 3));
    const want = naive(strings, data);
    assert.ok(want.length > 1000);
    for (const [name, a] of layouts(strings)) {
      for (const chunk of [1, 7, 4099, data.length]) {
        assert.deepEqual(run(a, data, chunk), want, `${name} round ${round} chunk ${chunk}`);
      }
    }
  }
});

test('full byte range, including 0x00 and 0xff', () => {
  const strings = [Uint8Array.from([0, 0, 0]), Uint8Array.from([0xff, 0]), Uint8Array.from([0x80, 0xff, 0, 0])];
  const data = Uint8Array.from([1, 0, 0, 0, 0, 0x80, 0xff, 0, 0, 0xff]);
  const want = naive(strings, data);
  for (const [name, a] of layouts(strings)) assert.deepEqual(run(a, data, 3), want, name);
  assert.deepEqual(want, ['0@4', '0@5', '1@8', '2@9']);
});

test('the layout follows the state limit', () => {
  const strings = [Buffer.from('abcdef'), Buffer.from('xyz')];
  assert.equal(buildAutomaton(strings).layout, 'dense');
  assert.equal(buildAutomaton(strings, { denseStateLimit: 5 }).layout, 'hybrid');
});
