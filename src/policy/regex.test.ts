/**
 * The linear-time regex engine behind `re:` criteria: agrees with JavaScript's RegExp (case-insensitive search)
 * on a corpus of patterns and addresses, refuses what cannot run in linear time with a reason, and stays fast on
 * the patterns that make V8's backtracking engine take seconds or forever.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRegex, RegexError, MAX_INPUT, MAX_PROGRAM } from './regex.ts';

const PATTERNS = [
  'example\\.com$', '^info@', '^[a-z0-9._%+-]+@example\\.(com|org)$', '@(mail|smtp)\\d*\\.', '^.+@.+\\..{2,}$', 'a.c', '^$',
  '^(?:bob|alice)\\+[a-z]+@', '\\bsales\\b', '\\Bales', 'x{2}', 'x{2,}', 'x{1,3}y', '[^@]+@[^@]+', '\\w+@\\W', '\\s', '\\S+',
  '\\d{3}', '\\D', '[\\d-]+@', '[a\\-z]', '[-a]', '[a-]', '^[A-Z]+@', 'É', '[à-ÿ]', 'colou?r', 'a*?b', 'a+?', '(?<user>[a-z]+)@',
  '\\.', '\\x41', '\\u0041', '\\t', '[]', '[^]', 'a|', '|b', '(a|b|)c', 'a{0}b', '(ab){2}', '((a)|b)+$', '^a*$', '.*', '\\@',
  'a{', 'a{,2}', '}', ']', '\\cJ', '(?:)', '[.]', '[\\b]', '^\\d+\\.\\d+\\.\\d+\\.\\d+$',
];
const INPUTS = [
  '', 'info@example.com', 'INFO@EXAMPLE.COM', 'bob+news@example.org', 'Alice+x@mail.example.net', 'mailer-daemon@smtp12.example.com',
  'sales@example.com', 'wholesales@example.com', 'xx', 'xxxy', 'a.c', 'abc', 'aXc', 'a\nc', 'colour', 'color', 'aab', 'ab',
  '123-45@x', 'éa@x', 'Émile@x', 'a b', 'ABAB', 'ba', 'bb', 'a{', 'a{,2}', '}', ']', 'x\ny', '10.1.2.3', 'A', 'a\tb',
];

test('agrees with JavaScript RegExp (flag i) on a corpus of patterns and inputs', () => {
  let compared = 0;
  for (const p of PATTERNS) {
    const ours = compileRegex(p);
    const native = new RegExp(p, 'i');
    for (const s of INPUTS) {
      assert.equal(ours.test(s), native.test(s), `/${p}/i on ${JSON.stringify(s)}`);
      compared++;
    }
  }
  assert.equal(compared, PATTERNS.length * INPUTS.length);
});

test('agrees with RegExp on random patterns over a small alphabet (differential)', () => {
  let seed = 12345;
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const atoms = ['a', 'b', 'A', '.', '[ab]', '[^a]', '(a|b)', '(?:ab|a)', '\\w', '^', '$', '\\b'];
  const quants = ['', '', '*', '+', '?', '{1,2}', '{2}', '*?'];
  for (let k = 0; k < 400; k++) {
    let p = '';
    const len = 1 + rnd(5);
    for (let i = 0; i < len; i++) {
      const a = atoms[rnd(atoms.length)];
      p += a + (a === '^' || a === '$' || a === '\\b' ? '' : quants[rnd(quants.length)]);
    }
    const ours = compileRegex(p);
    const native = new RegExp(p, 'i');
    for (let j = 0; j < 8; j++) {
      const s = Array.from({ length: rnd(7) }, () => 'abAB c'[rnd(6)]).join('');
      assert.equal(ours.test(s), native.test(s), `/${p}/i on ${JSON.stringify(s)}`);
    }
  }
});

test('is case-insensitive both ways, also in classes and negated classes', () => {
  assert.ok(compileRegex('^bob@EXAMPLE\\.com$').test('BOB@example.COM'));
  assert.ok(compileRegex('[A-Z]').test('q'));
  assert.ok(compileRegex('[a-z]').test('Q'));
  assert.equal(compileRegex('^[^a-z]+$').test('ABC'), false);
  assert.ok(compileRegex('ÉCOLE').test('école@example.fr'));
});

test('searches anywhere unless anchored; $ is the very end (no multiline)', () => {
  assert.ok(compileRegex('example').test('a@example.com'));
  assert.equal(compileRegex('^example').test('a@example.com'), false);
  assert.equal(compileRegex('com$').test('a@example.com\n'), false);
});

test('refuses backreferences and lookaround, with the reason', () => {
  const refusal = (p: string) => { try { compileRegex(p); return ''; } catch (err) { assert.ok(err instanceof RegexError); return err.message; } };
  assert.match(refusal('(a)\\1'), /backreferences \(\\1\) are not supported/);
  assert.match(refusal('(?<x>a)\\k<x>'), /backreferences/);
  assert.match(refusal('foo(?=bar)'), /lookahead and lookbehind/);
  assert.match(refusal('(?!bar)foo'), /lookahead and lookbehind/);
  assert.match(refusal('(?<=@)evil'), /lookahead and lookbehind/);
  assert.match(refusal('(?<!@)evil'), /lookahead and lookbehind/);
  assert.match(refusal('\\q'), /unsupported escape \\q/);
  assert.match(refusal(''), /empty regular expression/);
  assert.match(refusal('x'.repeat(1001)), /longer than 1000 characters/);
  assert.match(refusal('a{1001}'), /repetition counts above 1000/);
  assert.match(refusal('(a{1000}){1000}'), new RegExp(`too complex \\(over ${MAX_PROGRAM} steps`));
});

test('syntax errors come back as JavaScript reports them, without the pattern echoed', () => {
  for (const [p, why] of [['(a', /Unterminated group/], ['a**', /Nothing to repeat/], ['[b-a]', /Range out of order/], ['*a', /Nothing to repeat/]] as const) {
    assert.throws(() => compileRegex(p), (err: Error) => err instanceof RegexError && why.test(err.message) && !err.message.includes('Invalid regular expression'), p);
  }
});

test('catastrophic patterns run in linear time (V8 would take seconds or hang)', () => {
  const cases: [string, string][] = [
    ['(a+)+b', 'a'.repeat(MAX_INPUT)],
    ['(a|aa)*b', 'a'.repeat(MAX_INPUT)],
    ['.*.*.*.*.*x', 'a'.repeat(MAX_INPUT)],
    ['^(\\w+\\.?)*@example\\.com$', `${'a'.repeat(900)}!`],
    ['(.*a){20}', 'a'.repeat(19) + 'b'.repeat(1000)],
  ];
  for (const [p, s] of cases) {
    const re = compileRegex(p);
    const t0 = performance.now();
    assert.equal(re.test(s), false, p);
    const ms = performance.now() - t0;
    assert.ok(ms < 1500, `${p} took ${ms.toFixed(0)} ms`);
  }
});

test(`only the first ${MAX_INPUT} characters of the input are looked at`, () => {
  const re = compileRegex('x');
  assert.equal(re.test(`${'a'.repeat(MAX_INPUT)}x`), false);
  assert.equal(re.test(`${'a'.repeat(MAX_INPUT - 1)}x`), true);
  assert.equal(compileRegex('^a+$').test('a'.repeat(5000)), true, '$ is the end of what was looked at');
});

test('source is kept; a compiled pattern is reusable', () => {
  const re = compileRegex('^a');
  assert.equal(re.source, '^a');
  assert.equal(re.test('ab'), true);
  assert.equal(re.test('ba'), false);
  assert.equal(re.test('ab'), true);
});
