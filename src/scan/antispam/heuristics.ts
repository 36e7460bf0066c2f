/**
 * Heuristic rules of the anti-spam module (SPEC §3.3 "heuristic rules on headers, body and structure"): rules are
 * data (data/antispam/rules.yaml, format in its header comment and in docs/antispam-rules.md), loaded and
 * validated once (`loadRules`), compiled into closures, and evaluated on a MessageModel (`evaluateRules`), each
 * rule that fires giving one Signal (types.ts) with its weight and short evidence.
 *
 * Test kinds: header presence or pattern (decoded value, its addresses, display names or the raw value), body
 * text pattern, HTML source pattern, URL pattern, URL host lists, named built-in checks implemented here (dates,
 * Message-ID, HTML tricks, URL tricks, address inconsistencies, charsets…), and `all` / `any` / `not`.
 *
 * Hostile input: every byte of the message (the rules file is trusted but may be wrong: a bad file is refused as a
 * whole, with the rule named). Nothing here throws for a property of the message: a check that fails is treated as
 * not firing. Limits (LIMITS below): patterns run over at most the first 64 Ki characters of the body text and
 * of the HTML source and the first 2 Ki characters of each header field (first 50 fields of a name); the HTML
 * scanner, URL list (200), address lists (1000) and every loop are bounded.
 * Patterns from the data must be cheap on hostile text whatever it is (V8's regex engine backtracks): no
 * backreferences, no lookaround, no unbounded repetition (`*`, `+`, `{n,}`: write `{0,20}`), bounds ≤ 64, no
 * repetition of a group that itself repeats or has alternatives, and at most 256 ways to match at one place
 * (alternatives add, repetitions in sequence multiply). The body text has its whitespace collapsed, so phrases
 * need no `\s` repetition. Worst case measured (scripts/antispam-rule-stats.ts --adversarial): ~1.6 ms for the
 * slowest shipped pattern over 64 Ki characters made to hurt it; a typical 3–8 KB message takes ~0.1 ms for all
 * rules. A literal prefilter skips a pattern when the text has none of the words any match must contain; for body
 * patterns of many phrases, a word-start prefilter (`wordStarts`) skips it when no word of the text begins like one.
 * RFCs: 5322 (fields, dates, msg-id, addresses), 2045/2047 (charsets, transfer encodings, encoded-words),
 * 3986 / WHATWG URL (links).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse as parseTld } from 'tldts';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { MessageModel } from '../types.ts';
import type { Signal } from './types.ts';

/** The rules shipped with Moat. */
export const DEFAULT_RULES_PATH = fileURLToPath(new URL('../../../data/antispam/rules.yaml', import.meta.url));

export const LIMITS = Object.freeze({
  /** Characters of body text (plain text, or visible text of the HTML) that patterns and checks look at. */
  bodyChars: 64 * 1024,
  /** Characters of HTML source scanned (patterns, hidden text, links). */
  htmlChars: 64 * 1024,
  /** Characters of one header field value tested, and fields of one name. */
  headerChars: 2048,
  headerFields: 50,
  /** URLs taken from one message, addresses from one field. */
  urls: 200,
  addresses: 1000,
  /** Pattern source length, largest repetition bound, and product of repetition choices of one pattern. */
  patternChars: 500,
  repeatMax: 64,
  patternCost: 256,
  /** Evidence length in a Signal's detail. */
  detailChars: 80,
});

/** One compiled rule. */
export interface HeuristicRule {
  readonly id: string;
  readonly description: string;
  readonly weight: number;
  /** The author's weight, when `weight` was fitted to a corpus (scripts/rule-weights.ts); informational. */
  readonly prior?: number;
  /** The rule's own upper bound for its fitted weight (scripts/rule-weights.ts: the lower of it and the fit's cap applies); not used when rating. */
  readonly cap?: number;
  /** Evidence when the rule fires ('' if none to show), null when it does not. Never throws. */
  readonly test: (ctx: EvalContext) => string | null;
}

export interface HeuristicRules {
  /** Where the rules came from (file path or a name given to parseRules). */
  readonly source: string;
  readonly rules: readonly HeuristicRule[];
  readonly lists: ReadonlyMap<string, ReadonlySet<string>>;
}

export interface EvaluateOptions {
  /**
   * The time the message was received, for the date checks. Default: the date of the topmost Received field
   * (Moat's own, prepended before scanning; or the last hop's for a stored message); without either, the checks
   * of the Date's age do not fire.
   */
  now?: Date;
}

export class RulesError extends Error {}

// ---------------------------------------------------------------------------------------------------------------
// Patterns

/** A pattern from the data, compiled, with literals one of which the text must contain to match (a cheap prefilter). */
export interface Pattern {
  readonly re: RegExp;
  /** The text matches only if it contains one of these (lowercased when `fold`); null when there are none worth checking. */
  readonly literals: readonly string[] | null;
  /** Compare `literals` with the lowercased text. */
  readonly fold: boolean;
  /**
   * Second prefilter, for patterns without usable literals: bit positions (wordStartBit) of word prefixes one of
   * which starts a word of the text wherever the pattern matches (see `wordStarts`); null when unknown.
   */
  readonly starts: Uint32Array | null;
}

const QUANT = /^\{(\d{1,5})(?:(,)(\d{0,5}))?\}/;
const MAX_LITERALS = 16;
const MAX_PREFILTER = 4;

/** One of these strings must be in the text (null: nothing known). */
type Need = string[] | null;

/** The most selective requirement of a sequence (all must hold, so any one can be checked): longest shortest string. */
function bestNeed(needs: Need[]): Need {
  let best: Need = null;
  let score = 0;
  for (const n of needs) {
    if (!n || n.length === 0 || n.length > MAX_LITERALS) continue;
    const shortest = Math.min(...n.map((x) => x.length));
    if (shortest < 3) continue;
    const sc = shortest * 100 - n.length;
    if (sc > score) { score = sc; best = n; }
  }
  return best;
}

/**
 * Checks that a pattern is safe to run on hostile text (see the header) and finds literals the text must contain
 * for it to match. Throws an Error with the reason. `src` is the source between the slashes, `flags` the letters after.
 */
export function checkPattern(src: string, flags: string): { literals: string[] | null } {
  if (src.length > LIMITS.patternChars) throw new Error(`pattern longer than ${LIMITS.patternChars} characters`);
  if (!/^[imsu]*$/.test(flags) || new Set(flags).size !== flags.length) throw new Error(`flags "${flags}": only i, m, s, u, each once`);
  /**
   * An open group. `sum` and `cur` count the paths a backtracking engine may try from one start position:
   * alternatives add up (`sum` of the finished ones), items of a sequence multiply (`cur`, the current one).
   * `run` is the literal text being read, `needs` what the current alternative requires, `alts` what each
   * finished alternative requires.
   */
  interface Frame { repeats: boolean; alternates: boolean; sum: number; cur: number; run: string; needs: Need[]; alts: Need[] }
  const frame = (): Frame => ({ repeats: false, alternates: false, sum: 0, cur: 1, run: '', needs: [], alts: [] });
  const stack: Frame[] = [frame()];
  const endRun = (f: Frame) => { if (f.run) f.needs.push([f.run]); f.run = ''; };
  /** What a finished group requires: one of its alternatives' requirements, so all of them must be known. */
  const groupNeed = (f: Frame): Need => {
    endRun(f);
    const alts = [...f.alts, bestNeed(f.needs)];
    if (alts.some((a) => a === null)) return null;
    const all = [...new Set(alts.flat() as string[])];
    return all.length <= MAX_LITERALS ? all : null;
  };
  /** What a quantifier would apply to. */
  let last: { kind: 'char' | 'class' | 'group'; frame?: Frame } | null = null;
  const tooMany = () => new Error(`too many ways to match (over ${LIMITS.patternCost}): lower the bounds`);
  let i = 0;
  while (i < src.length) {
    const ch = src[i];
    const top = stack[stack.length - 1];
    if (ch === '\\') {
      const n = src[i + 1];
      if (n === undefined) throw new Error('pattern ends with a backslash');
      if (/[1-9]/.test(n) || (n === 'k' && src[i + 2] === '<')) throw new Error(`backreference at ${i}: not allowed`);
      if (n === 'b' || n === 'B') { last = null; endRun(top); i += 2; continue; }
      let len = 2;
      if (n === 'x') len = 4;
      else if (n === 'u') len = src[i + 2] === '{' ? Math.max(3, src.indexOf('}', i) - i + 1) : 6;
      else if (n === 'c') len = 3;
      else if ((n === 'p' || n === 'P') && src[i + 2] === '{') len = Math.max(3, src.indexOf('}', i) - i + 1);
      const literalChar = !/[A-Za-z0-9]/.test(n);
      if (literalChar) top.run += n; else endRun(top);
      last = { kind: literalChar ? 'char' : 'class' };
      i += len;
      continue;
    }
    if (ch === '[') {
      let j = i + 1;
      if (src[j] === '^') j++;
      if (src[j] === ']') j++;
      while (j < src.length && src[j] !== ']') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) throw new Error(`unterminated character class at ${i}`);
      endRun(top);
      last = { kind: 'class' };
      i = j + 1;
      continue;
    }
    if (ch === '(') {
      if (src[i + 1] === '?') {
        const kind = src.slice(i + 2, i + 4);
        if (kind[0] === '=' || kind[0] === '!' || kind === '<=' || kind === '<!') throw new Error(`lookaround at ${i}: not allowed`);
        if (kind[0] !== ':' && kind[0] !== '<') throw new Error(`group syntax "(?${kind[0] ?? ''}" at ${i}: not supported`);
      }
      endRun(top);
      stack.push(frame());
      last = null;
      if (src[i + 1] !== '?') i += 1;
      else if (src[i + 2] === ':') i += 3;
      else {
        const close = src.indexOf('>', i);
        if (close === -1) throw new Error(`unterminated group name at ${i}`);
        i = close + 1;
      }
      continue;
    }
    if (ch === ')') {
      if (stack.length === 1) throw new Error(`unbalanced ")" at ${i}`);
      const group = stack.pop()!;
      const parent = stack[stack.length - 1];
      parent.repeats ||= group.repeats;
      parent.alternates ||= group.alternates;
      parent.cur *= group.sum + group.cur;
      if (parent.cur > LIMITS.patternCost) throw tooMany();
      parent.needs.push(groupNeed(group));
      last = { kind: 'group', frame: group };
      i += 1;
      continue;
    }
    if (ch === '|') {
      top.alternates = true;
      top.sum += top.cur;
      top.cur = 1;
      endRun(top);
      top.alts.push(bestNeed(top.needs));
      top.needs = [];
      last = null;
      i += 1;
      continue;
    }
    let min = -1, max = -1, qlen = 0;
    if (ch === '*' || ch === '+') throw new Error(`unbounded repetition "${ch}" at ${i}: write a bound, e.g. {0,20} or {1,20}`);
    if (ch === '?') { min = 0; max = 1; qlen = 1; }
    else if (ch === '{') {
      const q = QUANT.exec(src.slice(i, i + 14));
      if (q) {
        min = Number(q[1]);
        if (q[2] && q[3] === '') throw new Error(`unbounded repetition "${q[0]}" at ${i}: write an upper bound`);
        max = q[2] ? Number(q[3]) : min;
        qlen = q[0].length;
        if (max < min) throw new Error(`repetition "${q[0]}" at ${i}: bounds out of order`);
      }
    }
    if (qlen) {
      if (!last) throw new Error(`nothing to repeat at ${i}`);
      if (max > LIMITS.repeatMax) throw new Error(`repetition bound ${max} at ${i}: at most ${LIMITS.repeatMax}`);
      if (last.kind === 'group' && max > 1 && (last.frame!.repeats || last.frame!.alternates)) {
        throw new Error(`repeated group at ${i} contains a repetition or alternatives: not allowed (nested repetition)`);
      }
      top.cur *= max - min + 1;
      if (top.cur > LIMITS.patternCost) throw tooMany();
      if (max > min) top.repeats = true; // an exact count ({3}) gives the engine no choice to backtrack over
      // The repeated item is not a fixed string any more: a char leaves the run, an optional group its requirement.
      if (last.kind === 'char') top.run = top.run.slice(0, -1);
      else if (last.kind === 'group' && min === 0) top.needs.pop();
      endRun(top);
      last = null;
      i += qlen;
      if (src[i] === '?') i += 1;
      continue;
    }
    if (ch === '.') { endRun(top); last = { kind: 'class' }; i += 1; continue; }
    if (ch === '^' || ch === '$') { endRun(top); last = null; i += 1; continue; }
    top.run += ch;
    last = { kind: 'char' };
    i += 1;
  }
  if (stack.length !== 1) throw new Error('unbalanced "("');
  if (stack[0].sum + stack[0].cur > LIMITS.patternCost) throw tooMany();
  return { literals: groupNeed(stack[0]) };
}

/** Compiles `/source/flags` from the data (see checkPattern). Throws an Error with the reason. */
export function compilePattern(text: string): Pattern {
  const m = /^\/([\s\S]*)\/([a-z]*)$/.exec(text);
  if (!m) throw new Error(`pattern must be written /source/flags, got ${JSON.stringify(text.slice(0, 40))}`);
  const [, src, flags] = m;
  const { literals } = checkPattern(src, flags);
  let re: RegExp;
  try { re = new RegExp(src, flags); } catch (err) { throw new Error((err as Error).message, { cause: err }); }
  const fold = flags.includes('i');
  // Case-insensitive literals are only used when plain ASCII without the u flag, where lowercasing the text is
  // exactly as permissive as the regex's case folding (no Kelvin sign or long s folding into ASCII).
  // Past a few literals, searching for each costs more than the regex itself (measured with V8 on mail bodies).
  const usable = literals !== null && literals.length <= MAX_PREFILTER
    && (!fold || (!flags.includes('u') && literals.every((l) => /^[\x20-\x7e]+$/.test(l))));
  const starts = usable ? null : wordStarts(src, flags);
  return { re, literals: usable ? (fold ? literals.map((l) => l.toLowerCase()) : literals) : null, fold, starts: starts && Uint32Array.from(new Set(starts.map(wordStartBit))) };
}

// Word-start prefilter. Most body patterns are `\b(?:phrase|phrase|…)` with more phrases than literal searches
// pay for; each phrase contains a word with a known beginning. The text's word starts (their first 2, 3, 4, 6
// and 8 characters, ASCII-lowercased) are hashed into a 2^17-bit set once per message (`wordStartBits`); a
// pattern none of whose prefixes is in the set cannot match and is not run. Hash collisions only let a pattern
// run. Four characters were too few: "stri", "abso" or "keep" begin words of most mail; "strict" does not.

const WORD_START_BITS = 17;
const MIN_START = 2;
const MAX_START = 8;
/** RECORDED[n]: prefixes of n characters are in the set (2, 3, 4, 6, 8). */
const RECORDED = [false, false, true, true, true, false, true, false, true];

/** The key of a word that begins with `run` (its longest recorded prefix), or null when it is too short. */
function startKey(run: string): string | null {
  let n = Math.min(run.length, MAX_START);
  while (n >= MIN_START && !RECORDED[n]) n--;
  return n >= MIN_START ? run.slice(0, n).toLowerCase() : null;
}

function isAsciiWordChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

/** Hash step of a word prefix (ASCII-lowercased character codes); wordStartBit and wordStartBits agree on it. */
function startStep(h: number, c: number): number {
  return Math.imul(h ^ (c >= 0x41 && c <= 0x5a ? c | 0x20 : c), 0x01000193);
}

function startBit(h: number, len: number): number {
  let x = Math.imul(h ^ len, 0x85ebca6b);
  x ^= x >>> 15;
  return (x >>> 0) & ((1 << WORD_START_BITS) - 1);
}

/** The bit of one word prefix (2, 3, 4, 6 or 8 ASCII word characters). */
export function wordStartBit(prefix: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < prefix.length; i++) h = startStep(h, prefix.charCodeAt(i));
  return startBit(h, prefix.length);
}

/**
 * The set of word prefixes of a text: for every position that starts a word in the sense of a non-Unicode
 * regular expression's `\b` (an ASCII word character not preceded by one), its first 2, 3, 4, 6 and 8
 * characters while they are word characters, ASCII-lowercased, as bits of a 2^17-bit set. Linear in the text.
 */
export function wordStartBits(text: string): Uint32Array {
  const bits = new Uint32Array(1 << (WORD_START_BITS - 5));
  let prevWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const w = isAsciiWordChar(c);
    if (w && !prevWord) {
      let h = startStep(0x811c9dc5, c);
      for (let k = 1; k < MAX_START && i + k < text.length; k++) {
        const d = text.charCodeAt(i + k);
        if (!isAsciiWordChar(d)) break;
        h = startStep(h, d);
        if (RECORDED[k + 1]) {
          const b = startBit(h, k + 1);
          bits[b >>> 5] |= 1 << (b & 31);
        }
      }
    }
    prevWord = w;
  }
  return bits;
}

/** Index after the character class that opens at `open` (a '['), or -1. */
function classEnd(src: string, open: number): number {
  let i = open + 1;
  if (src[i] === '^') i++;
  if (src[i] === ']') i++;
  while (i < src.length && src[i] !== ']') i += src[i] === '\\' ? 2 : 1;
  return i < src.length ? i + 1 : -1;
}

/** Index after the group that opens at `open` (a '('), or -1. Escapes and character classes are skipped. */
function groupEnd(src: string, open: number): number {
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') i++;
    else if (c === '[') {
      const end = classEnd(src, i);
      if (end < 0) return -1;
      i = end - 1;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  return -1;
}

/** The top-level alternatives of a pattern source. */
function alternatives(src: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') i++;
    else if (c === '(' || c === '[') {
      const end = c === '(' ? groupEnd(src, i) : classEnd(src, i);
      if (end < 0) return [src];
      i = end - 1;
    } else if (c === '|') {
      out.push(src.slice(start, i));
      start = i + 1;
    }
  }
  out.push(src.slice(start));
  return out;
}

/**
 * How little a prefix narrows: word prefixes that begin many words of ordinary mail, and any prefix shorter than
 * four characters, make a poor key. Only used to choose among the keys a pattern offers; correctness does not
 * depend on it.
 */
const COMMON_STARTS = new Set(['the', 'you', 'your', 'and', 'for', 'this', 'that', 'with', 'are', 'our', 'not', 'have', 'will',
  'from', 'all', 'can', 'now', 'get', 'free', 'more', 'one', 'just', 'only', 'has', 'was', 'who', 'what', 'when', 'here',
  'they', 'them', 'there', 'then', 'than', 'been', 'were', 'which', 'would', 'about', 'some', 'make', 'time', 'also',
  'into', 'new', 'out', 'any', 'per', 'how', 'may', 'but', 'its', 'his', 'her', 'she', 'him', 'off', 'own', 'very',
  'of', 'to', 'in', 'is', 'it', 'on', 'at', 'be', 'by', 'or', 'as', 'an', 'we', 'my', 'me', 'do', 'if', 'no', 'so', 'up',
  'us', 'am', 'need', 'got', 'keep', 'want', 'take', 'give', 'help', 'name', 'please', 'thanks', 'mail', 'email', 'list']
  .map((w) => startKey(w)));

/** A rough chance that a word start of ordinary mail begins with this key (for choosing keys only). */
function startCost(key: string): number {
  return COMMON_STARTS.has(key) ? 0.9 : key.length === 2 ? 0.6 : key.length === 3 ? 0.3 : key.length === 4 ? 0.1 : 0.03;
}

/** Whether every alternative of a group's inside ends with a space or `\s` (so what follows starts a word). */
function endsWithSeparator(inner: string): boolean {
  return alternatives(inner).every((a) => (a.endsWith(' ') && !a.endsWith('\\ ')) || (a.endsWith('\\s') && !a.endsWith('\\\\s')));
}

/** The quantifier that follows position `i` of `src` (or ''), and the index after it. */
function quantifierAt(src: string, i: number): { q: string; end: number } {
  const c = src[i];
  let q = '';
  if (c === '?' || c === '*' || c === '+') q = c;
  else if (c === '{') q = /^\{\d{1,3}(?:,\d{0,3})?\}/.exec(src.slice(i, i + 12))?.[0] ?? '';
  if (!q) return { q, end: i };
  // A lazy quantifier's `?` belongs to it.
  return { q, end: i + q.length + (src[i + q.length] === '?' ? 1 : 0) };
}

/** Whether a quantifier lets its atom match at least once (none, `+`, `{m}`, `{m,n}` with m ≥ 1). */
function atLeastOnce(q: string): boolean {
  return q === '' || q === '+' || (q.startsWith('{') && !q.startsWith('{0'));
}

/**
 * Whether an atom (one character, escape or class) matches only characters that are not ASCII word characters: a space or other
 * literal punctuation, `\s`, `\W`, an escaped punctuation character, or a class of only such characters.
 */
function nonWordAtom(atom: string): boolean {
  if (atom === '\\s' || atom === '\\W') return true;
  if (atom.length === 2 && atom[0] === '\\') return /[^A-Za-z0-9_]/.test(atom[1]);
  if (atom.length === 1) return !isAsciiWordChar(atom.charCodeAt(0)) && !'.^$|()[]{}'.includes(atom);
  if (atom.startsWith('[') && !atom.startsWith('[^')) {
    const body = atom.slice(1, -1);
    for (let k = 0; k < body.length; k++) {
      if (body[k] === '\\') { if (body[k + 1] !== 's' && !/[^A-Za-z0-9_]/.test(body[k + 1] ?? 'a')) return false; k++; continue; }
      if (isAsciiWordChar(body.charCodeAt(k))) return false;
    }
    return body.length > 0;
  }
  return false;
}

/**
 * Word prefixes (`startKey`, lowercase) one of which begins a word of any text the pattern matches: for each
 * top-level alternative, one set of keys that any match of it must produce, the cheapest (`startCost`) of:
 *   - the first word: the alternative starts with `\b` (or sits in a group that follows a boundary) and a literal
 *     run of at least two word characters, or with a non-optional `(?:…)` group whose alternatives all give keys;
 *   - a later word: a literal run at the alternative's top level right after a mandatory non-word atom (a space,
 *     `\s`, `\W`, punctuation, or a class of those, not optional), or a non-optional `(?:…)` group in that place
 *     whose alternatives all give keys.
 * A quantified last character of a run does not count. Null when an alternative offers no key, or the pattern is
 * case-sensitive or has the u or m flag (Unicode case folding reaches beyond ASCII).
 */
export function wordStarts(src: string, flags: string, afterBoundary = false): string[] | null {
  if (!flags.includes('i') || flags.includes('u') || flags.includes('m')) return null;
  const keys = new Set<string>();
  for (const alt of alternatives(src)) {
    const best = altStarts(alt, flags, afterBoundary);
    if (!best) return null;
    for (const k of best) keys.add(k);
  }
  return [...keys];
}

/** The cheapest key set of one alternative (see wordStarts), or null. */
function altStarts(alt: string, flags: string, afterBoundary: boolean): string[] | null {
  let best: string[] | null = null;
  let bestCost = Infinity;
  const offer = (ks: string[] | null) => {
    if (!ks || !ks.length) return;
    const cost = ks.reduce((sum, k) => sum + startCost(k), 0);
    if (cost < bestCost) { best = ks; bestCost = cost; }
  };
  // `bounded`: the next atom starts a word of the text if it is a word character.
  let bounded = afterBoundary;
  let i = 0;
  while (i < alt.length) {
    const c = alt[i];
    if (alt.startsWith('\\b', i)) { bounded = true; i += 2; continue; }
    if (c === '(') {
      const end = groupEnd(alt, i);
      if (end < 0) return best;
      const { q, end: after } = quantifierAt(alt, end);
      const group = alt.startsWith('(?:', i);
      if (atLeastOnce(q) && group) offer(wordStarts(alt.slice(i + 3, end - 1), flags, bounded));
      // After a group whose every alternative ends with a separator, a word starts: always when the group must
      // match, and also when it may be skipped if a word would start there anyway. `(?:total )?` keeps the
      // boundary; a repeated group (`*`, `+`, `{m,n}`) is treated the same, since each repetition ends likewise.
      bounded = group && endsWithSeparator(alt.slice(i + 3, end - 1)) && (atLeastOnce(q) || bounded);
      i = after;
      continue;
    }
    if (isAsciiWordChar(alt.charCodeAt(i))) {
      let j = i;
      while (j < alt.length && isAsciiWordChar(alt.charCodeAt(j))) j++;
      const { q, end: after } = quantifierAt(alt, j);
      const runEnd = q ? j - 1 : j;
      const key = bounded ? startKey(alt.slice(i, runEnd)) : null;
      if (key) offer([key]);
      bounded = false;
      i = after;
      continue;
    }
    // Any other atom: a class, an escape or a literal character, then its quantifier.
    let atomEnd = i + 1;
    if (c === '[') { atomEnd = classEnd(alt, i); if (atomEnd < 0) return best; }
    else if (c === '\\') atomEnd = i + 2;
    const { q, end: after } = quantifierAt(alt, atomEnd);
    const atom = alt.slice(i, atomEnd);
    // Mandatory punctuation makes a word start; optional punctuation after one keeps it.
    bounded = nonWordAtom(atom) && (atLeastOnce(q) || bounded);
    i = after;
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------------------
// The data format

interface TestSpec {
  header?: string; match?: string; exists?: boolean;
  body?: string; html?: string; uri?: string; uri_host?: string | string[];
  check?: string; min?: number; max?: number;
  all?: TestSpec[]; any?: TestSpec[]; not?: TestSpec;
}

const testFields = {
  header: z.string().regex(/^[A-Za-z0-9-]{1,76}(?::(?:addr|name|raw))?$/, 'a field name, optionally with :addr, :name or :raw').optional(),
  match: z.string().optional(),
  exists: z.boolean().optional(),
  body: z.string().optional(),
  html: z.string().optional(),
  uri: z.string().optional(),
  uri_host: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(10_000)]).optional(),
  check: z.string().optional(),
  min: z.number().min(0).max(1_000_000).optional(),
  max: z.number().min(0).max(1_000_000).optional(),
  all: z.array(z.lazy((): z.ZodType<TestSpec> => TestSchema)).min(1).max(50).optional(),
  any: z.array(z.lazy((): z.ZodType<TestSpec> => TestSchema)).min(1).max(50).optional(),
  not: z.lazy((): z.ZodType<TestSpec> => TestSchema).optional(),
};
const TestSchema: z.ZodType<TestSpec> = z.strictObject(testFields);
const RuleSchema = z.strictObject({
  id: z.string().regex(/^[A-Z][A-Z0-9_]{1,63}$/, 'upper snake case, 2 to 64 characters'),
  description: z.string().trim().min(1).max(200),
  weight: z.number().min(-100).max(100),
  prior: z.number().min(-100).max(100).optional(),
  cap: z.number().positive().max(100).optional(),
  ...testFields,
});
const FileSchema = z.strictObject({
  version: z.literal(1).optional(),
  lists: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/), z.array(z.string().min(1).max(253)).max(100_000)).optional(),
  rules: z.array(z.unknown()).max(10_000),
});

const KINDS = ['header', 'body', 'html', 'uri', 'uri_host', 'check', 'all', 'any', 'not'] as const;

function zodText(err: z.ZodError): string {
  const i = err.issues[0];
  return `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`;
}

/** Loads, validates and compiles a rules file (default: the shipped one). A bad file throws RulesError naming the rule. */
export async function loadRules(path: string = DEFAULT_RULES_PATH): Promise<HeuristicRules> {
  let text: string;
  try { text = await readFile(path, 'utf8'); } catch (err) { throw new RulesError(`${path}: ${(err as Error).message}`); }
  return parseRules(text, path);
}

/** Validates and compiles rules from YAML text; `source` names it in errors. */
export function parseRules(text: string, source = 'rules'): HeuristicRules {
  let doc: unknown;
  try { doc = parseYaml(text, { maxAliasCount: 100 }); } catch (err) { throw new RulesError(`${source}: not valid YAML: ${(err as Error).message}`); }
  const file = FileSchema.safeParse(doc);
  if (!file.success) throw new RulesError(`${source}: ${zodText(file.error)}`);
  const lists = new Map<string, ReadonlySet<string>>();
  for (const [name, items] of Object.entries(file.data.lists ?? {})) lists.set(name, new Set(items.map((s) => s.trim().toLowerCase().replace(/\.$/, ''))));
  const rules: HeuristicRule[] = [];
  const seen = new Set<string>();
  file.data.rules.forEach((raw, index) => {
    const id = raw && typeof raw === 'object' && typeof (raw as { id?: unknown }).id === 'string' ? (raw as { id: string }).id : `#${index + 1}`;
    const fail = (msg: string): never => { throw new RulesError(`${source}: rule ${id}: ${msg}`); };
    const r = RuleSchema.safeParse(raw);
    if (!r.success) fail(zodText(r.error));
    const spec = r.data!;
    if (seen.has(spec.id)) fail('duplicate id');
    seen.add(spec.id);
    if (spec.cap !== undefined) {
      // A cap bounds the fit of a positive rule from above; the weights it bounds must already be within it.
      const author = spec.prior ?? spec.weight;
      if (author < 0 || spec.weight < 0) fail('cap: only a positive rule can have a cap');
      if (spec.weight > spec.cap) fail(`weight ${spec.weight} is above its cap ${spec.cap}`);
      if (author > spec.cap) fail(`prior ${author} is above its cap ${spec.cap}`);
    }
    let test: HeuristicRule['test'];
    try { test = compileTest(spec, lists); } catch (err) { return fail((err as Error).message); }
    if (spec.weight !== 0) rules.push(Object.freeze({ id: spec.id, description: spec.description, weight: spec.weight, ...(spec.prior !== undefined ? { prior: spec.prior } : {}), ...(spec.cap !== undefined ? { cap: spec.cap } : {}), test: test! }));
  });
  return Object.freeze({ source, rules: Object.freeze(rules), lists });
}

type Test = (c: EvalContext) => string | null;

function compileTest(spec: TestSpec, lists: ReadonlyMap<string, ReadonlySet<string>>): Test {
  const kinds = KINDS.filter((k) => spec[k] !== undefined);
  if (kinds.length !== 1) throw new Error(kinds.length ? `one test per rule or sub-test, found ${kinds.join(' and ')}` : `no test: give one of ${KINDS.join(', ')}`);
  const kind = kinds[0];
  const only = (allowed: string[]) => {
    for (const k of ['match', 'exists', 'min', 'max'] as const) if (spec[k] !== undefined && !allowed.includes(k)) throw new Error(`"${k}" does not go with "${kind}"`);
  };
  const pat = (s: string, what: string) => { try { return compilePattern(s); } catch (err) { throw new Error(`${what}: ${(err as Error).message}`); } };
  switch (kind) {
    case 'header': {
      only(['match', 'exists']);
      if ((spec.match === undefined) === (spec.exists === undefined)) throw new Error('header test needs exactly one of "match" or "exists"');
      const [name, view = 'value'] = spec.header!.toLowerCase().split(':') as [string, HeaderView?];
      const label = spec.header!.split(':')[0];
      if (spec.exists !== undefined) {
        const want = spec.exists;
        return (c) => (c.headerValues(name, 'value').length > 0) === want ? (want ? `${label} present` : `${label} absent`) : null;
      }
      const p = pat(spec.match!, 'match');
      return (c) => {
        for (const v of c.headerValues(name, view)) {
          const m = p.re.exec(v);
          if (m) return `${label}: ${m[0]}`;
        }
        return null;
      };
    }
    case 'body': { only([]); const p = pat(spec.body!, 'body'); return (c) => c.matchText(p, 'body'); }
    case 'html': { only([]); const p = pat(spec.html!, 'html'); return (c) => c.matchText(p, 'html'); }
    case 'uri': {
      only([]);
      const p = pat(spec.uri!, 'uri');
      return (c) => {
        for (const u of c.urls()) if (p.re.test(u.href)) return u.href;
        return null;
      };
    }
    case 'uri_host': {
      only([]);
      let set: ReadonlySet<string>;
      if (typeof spec.uri_host === 'string') {
        const l = lists.get(spec.uri_host);
        if (!l) throw new Error(`uri_host: no list "${spec.uri_host}" in lists`);
        set = l;
      } else set = new Set(spec.uri_host!.map((s) => s.trim().toLowerCase()));
      return (c) => {
        for (const u of c.urls()) if (u.host && hostInSet(u.host, set)) return u.host;
        return null;
      };
    }
    case 'check': {
      const def = Object.hasOwn(CHECKS, spec.check!) ? CHECKS[spec.check!] : undefined;
      if (!def) throw new Error(`unknown check "${spec.check}" (known: ${Object.keys(CHECKS).join(', ')})`);
      only(def.param ? [def.param] : []);
      for (const l of def.lists ?? []) if (!lists.has(l)) throw new Error(`check ${spec.check} needs the list "${l}" in lists`);
      const n = def.param ? (spec[def.param] ?? def.default!) : 0;
      const fn = def.fn;
      return (c) => fn(c, n);
    }
    case 'all': {
      only([]);
      const subs = spec.all!.map((s, i) => { try { return compileTest(s, lists); } catch (err) { throw new Error(`all[${i}]: ${(err as Error).message}`); } });
      return (c) => {
        const ev: string[] = [];
        for (const t of subs) { const e = t(c); if (e === null) return null; if (e) ev.push(e); }
        return ev.join('; ');
      };
    }
    case 'any': {
      only([]);
      const subs = spec.any!.map((s, i) => { try { return compileTest(s, lists); } catch (err) { throw new Error(`any[${i}]: ${(err as Error).message}`); } });
      return (c) => {
        for (const t of subs) { const e = t(c); if (e !== null) return e; }
        return null;
      };
    }
    case 'not': {
      only([]);
      let sub: Test;
      try { sub = compileTest(spec.not!, lists); } catch (err) { throw new Error(`not: ${(err as Error).message}`); }
      return (c) => (sub(c) === null ? '' : null);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation

/** Evaluates every rule on the model: one Signal per rule that fired. Never throws for the message's content. */
export function evaluateRules(rules: HeuristicRules, model: MessageModel, opts: EvaluateOptions = {}): Signal[] {
  const ctx = new EvalContext(model, rules.lists, opts.now);
  const out: Signal[] = [];
  for (const r of rules.rules) {
    let ev: string | null;
    try { ev = r.test(ctx); } catch { ev = null; }
    if (ev === null) continue;
    const s: Signal = { id: r.id, weight: r.weight, description: r.description };
    const d = cleanDetail(ev);
    if (d) s.detail = d;
    out.push(s);
  }
  return out;
}

function cleanDetail(s: string): string {
  const t = s.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/g, '\u00b7').replace(/\s+/g, ' ').trim();
  return t.length > LIMITS.detailChars ? `${t.slice(0, LIMITS.detailChars - 1)}…` : t;
}

type HeaderView = 'value' | 'addr' | 'name' | 'raw';

export interface Address { name: string; addr: string; domain: string }
export interface Link { href: string; text: string }
export interface Url { href: string; host: string; port: string; userinfo: boolean; ip: boolean }
interface HtmlFacts {
  text: string;
  /** Letters in text hidden by display:none / visibility:hidden, and by camouflage (colour = background, tiny or transparent font). */
  concealed: number;
  camouflaged: number;
  links: Link[];
  /** Other URL-bearing attributes: img/iframe/embed src, form action, background. */
  srcs: string[];
  images: number;
}

/** What the rules look at, computed once per message and only when a rule asks for it. */
export class EvalContext {
  readonly model: MessageModel;
  readonly lists: ReadonlyMap<string, ReadonlySet<string>>;
  private readonly givenNow: number | undefined;
  private fields?: Map<string, string[]>;
  private rawFields?: Map<string, string[]>;
  private views = new Map<string, string[]>();
  private cache = new Map<string, unknown>();

  constructor(model: MessageModel, lists: ReadonlyMap<string, ReadonlySet<string>>, now?: Date) {
    this.model = model;
    this.lists = lists;
    this.givenNow = now && Number.isFinite(now.getTime()) ? now.getTime() : undefined;
  }

  private memo<T>(key: string, make: () => T): T {
    if (this.cache.has(key)) return this.cache.get(key) as T;
    let v: T;
    try { v = make(); } catch { v = undefined as T; }
    this.cache.set(key, v);
    return v;
  }

  list(name: string): ReadonlySet<string> { return this.lists.get(name) ?? EMPTY_SET; }

  /** Values of a field (lowercase name), decoded, unfolded, trimmed, capped; or its addresses, names or raw values. */
  headerValues(name: string, view: HeaderView = 'value'): string[] {
    if (view === 'raw') {
      this.rawFields ??= groupFields(this.model.rawHeaders ?? []);
      return this.rawFields.get(name) ?? [];
    }
    this.fields ??= groupFields(this.model.headers);
    const values = this.fields.get(name) ?? [];
    if (view === 'value') return values;
    const key = `${name}:${view}`;
    let v = this.views.get(key);
    if (!v) {
      const addrs = values.flatMap((x) => parseAddresses(x));
      v = view === 'addr' ? addrs.map((a) => a.addr).filter(Boolean) : addrs.map((a) => a.name).filter(Boolean);
      this.views.set(key, v);
    }
    return v;
  }

  first(name: string): string | undefined { return this.headerValues(name)[0]; }

  addresses(name: string): Address[] {
    return this.memo(`addrs:${name}`, () => this.headerValues(name).flatMap((v) => parseAddresses(v)).slice(0, LIMITS.addresses)) ?? [];
  }

  from(): Address | undefined { return this.addresses('from')[0]; }

  /**
   * Reference time for the date checks (see EvaluateOptions.now): the given time, else the date of the topmost
   * Received field; null when there is neither (a stored message never relayed: its age is unknown).
   */
  now(): number | null {
    if (this.givenNow !== undefined) return this.givenNow;
    return this.memo('now', () => {
      const top = this.first('received');
      return top ? parseDate(top.slice(top.lastIndexOf(';') + 1)) : null;
    }) ?? null;
  }

  /** True when there is HTML with something in it. */
  hasHtml(): boolean { return this.memo('hasHtml', () => /\S/.test(this.model.html.slice(0, LIMITS.htmlChars))) ?? false; }

  html(): HtmlFacts {
    return this.memo('html', () => scanHtml(this.model.html.slice(0, LIMITS.htmlChars))) ?? EMPTY_HTML;
  }

  /** Plain text bodies, capped, whitespace kept. */
  plain(): string { return this.model.text.length > LIMITS.bodyChars ? this.model.text.slice(0, LIMITS.bodyChars) : this.model.text; }

  /**
   * The text the reader sees, whitespace collapsed: the text/plain bodies, with the HTML's visible text when
   * there is no plain text or the HTML says much more (a decoy text part).
   */
  body(): string {
    return this.memo('body', () => {
      const plain = collapse(this.plain());
      if (!this.hasHtml()) return plain;
      const html = this.html().text;
      if (!plain) return html;
      if (html.length > 2 * plain.length + 200) return `${plain} ${html}`.slice(0, LIMITS.bodyChars);
      return plain;
    }) ?? '';
  }

  htmlSource(): string { return this.model.html.length > LIMITS.htmlChars ? this.model.html.slice(0, LIMITS.htmlChars) : this.model.html; }

  /** Runs a pattern over the body text or HTML source, behind the literal prefilter. */
  matchText(p: Pattern, where: 'body' | 'html'): string | null {
    const text = where === 'body' ? this.body() : this.htmlSource();
    if (p.literals !== null) {
      const hay = p.fold ? this.memo(`lower:${where}`, () => text.toLowerCase()) ?? '' : text;
      let found = false;
      for (const l of p.literals) if (hay.includes(l)) { found = true; break; }
      if (!found) return null;
    } else if (p.starts !== null && where === 'body') {
      const bits = this.memo('starts:body', () => wordStartBits(text));
      if (bits) {
        let found = false;
        for (const b of p.starts) if (bits[b >>> 5] & (1 << (b & 31))) { found = true; break; }
        if (!found) return null;
      }
    }
    const m = p.re.exec(text);
    return m ? m[0] : null;
  }

  /** Words (two letters or more) of the visible text, counted up to `cap`. */
  words(cap: number): number {
    const t = this.body();
    WORD_RE.lastIndex = 0;
    let n = 0;
    while (n < cap && WORD_RE.exec(t)) n++;
    WORD_RE.lastIndex = 0;
    return n;
  }

  /** http(s) URLs of the message: HTML links and sources, then URLs written in the plain text. */
  urls(): Url[] {
    return this.memo('urls', () => {
      const seen = new Set<string>();
      const out: Url[] = [];
      const add = (s: string) => {
        if (out.length >= LIMITS.urls || seen.size >= 4 * LIMITS.urls) return;
        const t = s.trim().slice(0, 2048);
        if (!t || seen.has(t)) return;
        seen.add(t);
        const u = parseUrl(t);
        if (u) out.push(u);
      };
      const h = this.hasHtml() ? this.html() : undefined;
      if (h) { for (const l of h.links) add(l.href); for (const s of h.srcs) add(s); }
      const text = this.plain();
      const re = /\b(?:https?:\/\/|www\.)[^\s<>"'`{}|\\^]{1,2000}/gi;
      for (let m = re.exec(text); m && out.length < LIMITS.urls; m = re.exec(text)) add(m[0].replace(/[.,;:!?)\]]{1,10}$/, ''));
      return out;
    }) ?? [];
  }
}

const EMPTY_SET: ReadonlySet<string> = new Set();
/** A word of two letters or more (a long word counts once per 64 letters). */
const WORD_RE = /\p{L}{2,64}/gu;
const EMPTY_HTML: HtmlFacts = { text: '', concealed: 0, camouflaged: 0, links: [], srcs: [], images: 0 };

function groupFields(fields: readonly { name: string; value: string }[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  let n = 0;
  for (const f of fields) {
    if (++n > 2000) break;
    let a = m.get(f.name);
    if (!a) m.set(f.name, (a = []));
    if (a.length < LIMITS.headerFields) a.push(f.value.slice(0, LIMITS.headerChars).trim());
  }
  return m;
}

function collapse(s: string): string { return s.replace(/\s+/g, ' ').trim(); }

const NOT_LETTER = /[^\p{L}]/gu;

function skipWord(t: string, i: number): number {
  NOT_LETTER.lastIndex = i;
  const m = NOT_LETTER.exec(t);
  NOT_LETTER.lastIndex = 0;
  return m ? m.index : t.length;
}

// ---------------------------------------------------------------------------------------------------------------
// Addresses, dates, URLs

/** The addresses of an address-list field (RFC 5322 §3.4, leniently): display name, address, lowercased domain. */
export function parseAddresses(value: string): Address[] {
  const out: Address[] = [];
  const s = value.slice(0, 8 * LIMITS.headerChars);
  let start = 0, quote = false, angle = 0, paren = 0;
  const push = (item: string) => {
    let t = item.trim();
    const group = /^[^"<>@,]{0,200}:(?!\/)/.exec(t); // "undisclosed-recipients:" group prefix
    if (group && !t.slice(0, group[0].length).includes('<')) t = t.slice(group[0].length).trim();
    t = t.replace(/;$/, '').trim();
    if (!t) return;
    let name = '', addr: string;
    const lt = t.lastIndexOf('<');
    const gt = t.indexOf('>', lt + 1);
    if (lt !== -1 && gt !== -1) { addr = t.slice(lt + 1, gt); name = t.slice(0, lt); }
    else {
      const open = t.indexOf('('), close = open === -1 ? -1 : t.indexOf(')', open);
      if (close !== -1) { name = t.slice(open + 1, close); addr = t.slice(0, open) + t.slice(close + 1); } else addr = t;
    }
    addr = addr.trim().replace(/^mailto:/i, '');
    name = name.trim().replace(/^"(.*)"$/s, '$1').replace(/\\(.)/g, '$1').trim();
    if (addr && !addr.includes('@')) { if (!name) name = addr; addr = ''; }
    const at = addr.lastIndexOf('@');
    let domain = at === -1 ? '' : addr.slice(at + 1, at + 256).toLowerCase();
    let end = domain.length;
    while (end > 0 && '].> \t'.includes(domain[end - 1])) end--;
    domain = domain.slice(domain.startsWith('[') ? 1 : 0, end);
    out.push({ name, addr, domain });
  };
  for (let i = 0; i < s.length && out.length < LIMITS.addresses; i++) {
    const ch = s[i];
    if (ch === '\\') { i++; continue; }
    if (quote) { if (ch === '"') quote = false; continue; }
    if (ch === '"') quote = true;
    else if (ch === '(') paren++;
    else if (ch === ')') paren = Math.max(0, paren - 1);
    else if (ch === '<') angle++;
    else if (ch === '>') angle = Math.max(0, angle - 1);
    else if (ch === ',' && !angle && !paren) { push(s.slice(start, i)); start = i + 1; }
  }
  if (out.length < LIMITS.addresses) push(s.slice(start));
  return out;
}

const MONTHS = new Map(Object.entries({ jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11 }));
const ZONES = new Map(Object.entries({ ut: 0, utc: 0, gmt: 0, z: 0, edt: -4, est: -5, cdt: -5, cst: -6, mdt: -6, mst: -7, pdt: -7, pst: -8 }));
const DATE_RE = /^\s{0,4}(?:[A-Za-z]{2,9},?\s{0,4})?(\d{1,2})[\s-]{1,4}([A-Za-z]{3})[a-z]{0,6}\.?[\s-]{1,4}(\d{2,4})\s{1,4}(\d{1,2}):(\d{2})(?::(\d{2}))?\s{0,4}([+-]\d{4}|[A-Za-z]{1,5}\b)?/;

/** An RFC 5322 date-time (with the obsolete forms: 2-digit years, zone names), as epoch ms; null when it is not one. */
export function parseDate(value: string): number | null {
  const m = DATE_RE.exec(value.slice(0, 200));
  if (!m) return null;
  const [, d, mon, y, hh, mm, ss, zone] = m;
  const month = MONTHS.get(mon.toLowerCase());
  if (month === undefined) return null;
  let year = Number(y);
  if (y.length === 2) year += year < 50 ? 2000 : 1900;
  else if (y.length === 3) year += 1900;
  const day = Number(d), h = Number(hh), mi = Number(mm), s = ss ? Number(ss) : 0;
  if (day < 1 || day > 31 || h > 23 || mi > 59 || s > 60) return null;
  let offMin = 0;
  if (zone && /^[+-]/.test(zone)) {
    const z = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5));
    offMin = zone[0] === '-' ? -z : z;
  } else if (zone) offMin = (ZONES.get(zone.toLowerCase()) ?? 0) * 60;
  return Date.UTC(year, month, day, h, mi, s) - offMin * 60_000;
}

/** An http(s) URL as a browser reads it (WHATWG), or null. `www.` without a scheme is read as http. */
export function parseUrl(s: string): Url | null {
  let t = s;
  if (/^www\./i.test(t)) t = `http://${t}`;
  if (!/^https?:/i.test(t)) return null;
  // Plain host names (the common case) need no full parse; anything else goes through WHATWG URL, which reads
  // hosts the way browsers do (numeric forms such as http://3232235777/, percent-encoding, user info).
  const fast = /^https?:\/\/([A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,10}\.[A-Za-z][A-Za-z0-9-]{0,62})\.?(?::([0-9]{1,5}))?(?=[/?#]|$)/.exec(t);
  if (fast) {
    const port = fast[2] === undefined || (fast[2] === '80' && /^http:/i.test(t)) || (fast[2] === '443' && /^https:/i.test(t)) ? '' : String(Number(fast[2]));
    return { href: t.slice(0, 300), host: fast[1].toLowerCase(), port, userinfo: false, ip: false };
  }
  let u: URL;
  try { u = new URL(t); } catch { return null; }
  const host = u.hostname.toLowerCase();
  const ip = /^\d{1,3}(?:\.\d{1,3}){3}$/.test(host) || host.startsWith('[');
  return { href: t.slice(0, 300), host, port: u.port, userinfo: u.username !== '' || u.password !== '', ip };
}

function hostInSet(host: string, set: ReadonlySet<string>): boolean {
  let h = host.replace(/\.$/, '');
  for (let i = 0; i < 20 && h; i++) {
    if (set.has(h)) return true;
    const dot = h.indexOf('.');
    if (dot === -1) return false;
    h = h.slice(dot + 1);
  }
  return false;
}

/** Registrable domain of a host name under a known public suffix, else null (single labels, unknown TLDs, IPs). */
function orgDomain(host: string): string | null {
  if (!host) return null;
  const p = parseTld(host.toLowerCase());
  return p.isIcann && !p.isIp && p.domain ? p.domain : null;
}

function privateIp(host: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\./.exec(host);
  if (!m) return /^\[(?:::1|f[cd]|fe80)/i.test(host);
  const a = Number(m[1]), b = Number(m[2]);
  return a === 10 || a === 127 || a === 0 || (a === 192 && b === 168) || (a === 172 && b >= 16 && b <= 31) || (a === 169 && b === 254);
}

// ---------------------------------------------------------------------------------------------------------------
// HTML

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source', 'track', 'wbr', 'basefont', 'frame', 'keygen']);
const BLOCK = new Set(['br', 'p', 'div', 'tr', 'td', 'th', 'li', 'ul', 'ol', 'table', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'hr', 'center', 'pre', 'title', 'dt', 'dd']);
const RAW_TEXT = new Set(['script', 'style', 'title', 'textarea', 'xmp']);
// Lookup tables are Maps: a message naming "constructor" or "__proto__" must not reach Object.prototype.
const ENTITIES = new Map(Object.entries({
  nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", copy: '©', reg: '®', trade: '™', euro: '€', pound: '£',
  shy: '\u00ad', zwnj: '\u200c', zwj: '\u200d', ensp: ' ', emsp: ' ', thinsp: ' ', hellip: '…', mdash: '—', ndash: '–',
  laquo: '«', raquo: '»', lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', bull: '•', middot: '·',
}));
const NAMED_COLORS = new Map(Object.entries({ white: 'ffffff', black: '000000', red: 'ff0000', green: '008000', blue: '0000ff', yellow: 'ffff00', gray: '808080', grey: '808080', silver: 'c0c0c0', navy: '000080' }));

function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z]{2,8});?/g, (all, e: string) => {
    if (e[0] !== '#') return ENTITIES.get(e.toLowerCase()) ?? all;
    const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return cp > 0 && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff) ? String.fromCodePoint(cp) : '\ufffd';
  });
}

function color(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const t = v.slice(0, 40).trim().toLowerCase().replace(/\s{0,8}!important$/, '');
  const named = NAMED_COLORS.get(t);
  if (named) return named;
  if (t === 'transparent') return 'transparent';
  const m = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/.exec(t);
  if (!m) return undefined;
  return m[1].length === 3 ? m[1].replace(/./g, '$&$&') : m[1];
}

function nearColor(a: string, b: string): boolean {
  if (a === 'transparent') return true;
  if (b === 'transparent') return false;
  for (let i = 0; i < 6; i += 2) if (Math.abs(parseInt(a.slice(i, i + 2), 16) - parseInt(b.slice(i, i + 2), 16)) > 12) return false;
  return true;
}

type StyleProp = 'display' | 'visibility' | 'opacity' | 'color' | 'background-color' | 'background' | 'font-size';
const STYLE_RE = /(?:^|[;\s])(display|visibility|opacity|color|background-color|background|font-size)\s{0,8}:\s{0,8}([^;]{0,80})/gi;

/** The properties of an inline style that matter here (first occurrence of each; at most 50 declarations read). */
function styleProps(style: string): Partial<Record<StyleProp, string>> {
  const out: Partial<Record<StyleProp, string>> = {};
  STYLE_RE.lastIndex = 0;
  let k = 0;
  for (let m = STYLE_RE.exec(style); m && k < 50; m = STYLE_RE.exec(style), k++) {
    const prop = m[1].toLowerCase() as StyleProp;
    if (out[prop] === undefined) out[prop] = m[2].trim();
  }
  STYLE_RE.lastIndex = 0;
  return out;
}

function tinyFont(v: string | undefined): boolean {
  if (v === undefined) return false;
  const m = /^(\d{0,4}(?:\.\d{1,4})?)\s{0,4}(px|pt|em|rem|%)?/i.exec(v);
  if (!m || m[1] === '') return false;
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  if (unit === 'em' || unit === 'rem') return n < 0.2;
  if (unit === '%') return n < 20;
  return n <= 1;
}

const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);
const isAlpha = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isAlnum = (c: number) => isAlpha(c) || (c >= 48 && c <= 57);

/** Letter classes of UTF-16 code units, learnt on first sight: 0 not yet known, 1 upper, 2 lower, 3 other letter, 4 no letter. */
const LETTER_CLASS = new Uint8Array(65536);
const UPPER_RE = /^\p{Lu}/u;
const LOWER_RE = /^\p{Ll}/u;
const LETTER_RE = /^\p{L}/u;

function letterClass(ch: string): number {
  return UPPER_RE.test(ch) ? 1 : LOWER_RE.test(ch) ? 2 : LETTER_RE.test(ch) ? 3 : 4;
}

/** Capital, small and all letters of a string (Unicode general categories Lu, Ll, L). */
export function countLetters(s: string): { upper: number; lower: number; letters: number } {
  let upper = 0, lower = 0, other = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let k: number;
    if (c < 128) k = c >= 65 && c <= 90 ? 1 : c >= 97 && c <= 122 ? 2 : 4;
    else if (c >= 0xd800 && c <= 0xdbff) { k = letterClass(String.fromCodePoint(s.codePointAt(i)!)); i++; }
    else if (c >= 0xdc00 && c <= 0xdfff) continue;
    else {
      k = LETTER_CLASS[c];
      if (k === 0) LETTER_CLASS[c] = k = letterClass(String.fromCharCode(c));
    }
    if (k === 1) upper++; else if (k === 2) lower++; else if (k === 3) other++;
  }
  return { upper, lower, letters: upper + lower + other };
}

interface Frame { name: string; concealed: boolean; camouflaged: boolean; bg: string }

/** One bounded pass over HTML: visible text, hidden text counts, links and other URLs (see HtmlFacts). */
export function scanHtml(html: string): HtmlFacts {
  const facts: HtmlFacts = { text: '', concealed: 0, camouflaged: 0, links: [], srcs: [], images: 0 };
  const parts: string[] = [];
  let textLen = 0;
  const stack: Frame[] = [{ name: '#root', concealed: false, camouflaged: false, bg: 'ffffff' }];
  /** The open <a>: its href and the visible text seen inside it so far (capped). */
  let anchor: { href: string; text: string } | null = null;
  const closeAnchor = () => {
    if (anchor && facts.links.length < LIMITS.urls) facts.links.push({ href: anchor.href, text: collapse(anchor.text) });
    anchor = null;
  };
  const addSrc = (v: string | undefined) => { if (v && facts.srcs.length < LIMITS.urls) facts.srcs.push(v); };
  const n = html.length;
  const emit = (raw: string) => {
    const top = stack[stack.length - 1];
    const s = decodeEntities(raw);
    if (top.concealed || top.camouflaged) {
      const k = countLetters(s).letters;
      if (top.camouflaged) facts.camouflaged += k; else facts.concealed += k;
      return;
    }
    if (textLen < LIMITS.bodyChars) { parts.push(s); textLen += s.length; }
    if (anchor && anchor.text.length < 300) anchor.text += s.slice(0, 300);
  };
  let i = 0;
  let tags = 0;
  while (i < n && tags < 20_000) {
    const lt = html.indexOf('<', i);
    const end = lt === -1 ? n : lt;
    if (end > i) emit(html.slice(i, end));
    if (lt === -1) break;
    tags++;
    const c1 = html.charCodeAt(lt + 1);
    if (c1 === 33 /* ! */ && html.startsWith('<!--', lt)) { const c = html.indexOf('-->', lt + 4); i = c === -1 ? n : c + 3; continue; }
    if (c1 === 33 || c1 === 63 /* ? */) { const c = html.indexOf('>', lt); i = c === -1 ? n : c + 1; continue; }
    let j = lt + 1;
    const closing = c1 === 47; /* / */
    if (closing) j++;
    const nameStart = j;
    if (!isAlpha(html.charCodeAt(j))) { emit('<'); i = lt + 1; continue; }
    while (j < n && j - nameStart < 32 && (isAlnum(html.charCodeAt(j)) || html.charCodeAt(j) === 45 || html.charCodeAt(j) === 58)) j++;
    const name = html.slice(nameStart, j).toLowerCase();
    // Attributes; quoted values may hold '>'.
    const attrs = new Map<string, string>();
    let count = 0;
    let selfClose = false;
    while (j < n) {
      const c = html.charCodeAt(j);
      if (c === 62 /* > */) { j++; break; }
      if (c === 47) { selfClose = html.charCodeAt(j + 1) === 62; j++; continue; }
      if (isSpace(c) || c === 61 /* stray = */) { j++; continue; }
      const an = j;
      while (j < n && j - an < 60) {
        const d = html.charCodeAt(j);
        if (isSpace(d) || d === 61 || d === 62 || d === 47) break;
        j++;
      }
      const key = html.slice(an, j).toLowerCase();
      while (j < n && isSpace(html.charCodeAt(j))) j++;
      let value = '';
      if (html.charCodeAt(j) === 61) {
        j++;
        while (j < n && isSpace(html.charCodeAt(j))) j++;
        const q = html[j];
        if (q === '"' || q === "'") {
          const e = html.indexOf(q, j + 1);
          const stop = e === -1 ? n : e;
          value = html.slice(j + 1, Math.min(stop, j + 1 + 4096));
          j = stop + 1;
        } else {
          const vs = j;
          while (j < n && j - vs < 4096 && !isSpace(html.charCodeAt(j)) && html.charCodeAt(j) !== 62) j++;
          value = html.slice(vs, j);
        }
      }
      if (++count <= 60 && !attrs.has(key)) attrs.set(key, value.includes('&') ? decodeEntities(value) : value);
    }
    i = Math.min(j, n);
    if (closing) {
      if (name === 'a') closeAnchor();
      for (let k = stack.length - 1; k > 0 && k >= stack.length - 32; k--) {
        if (stack[k].name === name) { stack.length = k; break; }
      }
      if (BLOCK.has(name)) emit(' ');
      continue;
    }
    if (BLOCK.has(name)) emit(' ');
    if (RAW_TEXT.has(name) && !selfClose) {
      const close = `</${name}`;
      let stop = i;
      // The closing tag in any letter case: search the lowercase copy of a bounded window at a time.
      for (;;) {
        const w = html.slice(stop, stop + 8192).toLowerCase();
        const at = w.indexOf(close);
        if (at !== -1) { stop += at; break; }
        if (stop + 8192 >= n) { stop = n; break; }
        stop += 8192 - close.length;
      }
      if (name === 'title' || name === 'textarea') emit(html.slice(i, stop));
      i = stop;
      continue;
    }
    if (name === 'img') { facts.images++; addSrc(attrs.get('src')); }
    if (count) {
      addSrc(attrs.get('background'));
      addSrc(attrs.get('action'));
      if (name === 'iframe' || name === 'embed' || name === 'frame') addSrc(attrs.get('src'));
    }
    const href = attrs.get('href');
    if (name === 'a' && href !== undefined) {
      closeAnchor();
      anchor = { href, text: '' };
    } else if (name === 'area' && href && facts.links.length < LIMITS.urls) facts.links.push({ href, text: '' });
    if (VOID.has(name) || selfClose) continue;
    // The element's own look: hidden, camouflaged (colour of its background, tiny, transparent), background.
    const top = stack[stack.length - 1];
    let concealed = top.concealed, camouflaged = top.camouflaged, bg = top.bg;
    if (count) {
      const style = attrs.get('style');
      const st = style ? styleProps(style) : {};
      if (/^none\b/i.test(st.display ?? '') || /^hidden\b/i.test(st.visibility ?? '') || attrs.has('hidden')) concealed = true;
      bg = color(attrs.get('bgcolor')) ?? color(st['background-color']) ?? color(st.background?.split(/\s/)[0]) ?? top.bg;
      const fg = color(attrs.get('color')) ?? color(st.color);
      if ((fg !== undefined && nearColor(fg, bg)) || tinyFont(st['font-size']) || (st.opacity !== undefined && Number(st.opacity) < 0.1)) camouflaged = true;
    }
    if (stack.length < 256) stack.push({ name, concealed, camouflaged, bg });
  }
  closeAnchor();
  facts.text = collapse(parts.join('')).slice(0, LIMITS.bodyChars);
  return facts;
}

// ---------------------------------------------------------------------------------------------------------------
// Built-in checks

interface CheckDef {
  fn: (c: EvalContext, n: number) => string | null;
  /** The numeric parameter the check takes (`min` or `max` in the rule) and its default. */
  param?: 'min' | 'max';
  default?: number;
  /** Lists the check reads (they must exist in the file). */
  lists?: string[];
}

const HOUR = 3_600_000;
const ZERO_WIDTH = /(?<=\p{sc=Latin})[\u00ad\u034f\u180e\u200b-\u200d\u2060\ufeff]{1,8}(?=\p{sc=Latin})/gu;
const ZERO_WIDTH_ANY = /[\u00ad\u034f\u180e\u200b-\u200d\u2060\ufeff]/;
const CYRILLIC_GREEK = /[\u0370-\u03ff\u0400-\u052f\u1f00-\u1fff]/;
const MIXED = /\p{sc=Latin}[\p{sc=Cyrillic}\p{sc=Greek}]|[\p{sc=Cyrillic}\p{sc=Greek}]\p{sc=Latin}/gu;

function count(re: RegExp, s: string, cap: number): number {
  re.lastIndex = 0;
  let k = 0;
  while (k < cap && re.exec(s)) k++;
  re.lastIndex = 0;
  return k;
}

function wordAt(s: string, i: number): string {
  let a = i, b = i;
  while (a > 0 && i - a < 30 && /[\p{L}\p{M}\u00ad\u200b-\u200d\u2060\ufeff]/u.test(s[a - 1])) a--;
  while (b < s.length && b - i < 30 && /[\p{L}\p{M}\u00ad\u200b-\u200d\u2060\ufeff]/u.test(s[b])) b++;
  return s.slice(a, b);
}

type Ranges = readonly (readonly [number, number])[];
const HAN: Ranges = [[0x3400, 0x4dbf], [0x4e00, 0x9fff], [0xf900, 0xfaff]];
const SCRIPT_OF_CHARSET: [RegExp, Ranges, string][] = [
  [/^(?:koi8|windows-1251|cp1251|iso-8859-5|ibm866|cp866|x-mac-cyrillic)/, [[0x0400, 0x052f]], 'Cyrillic'],
  [/^(?:gb2312|gbk|gb18030|big5|hz-gb|euc-cn|x-gbk|cp936)/, HAN, 'Chinese'],
  [/^(?:shift[_-]?jis|sjis|euc-jp|iso-2022-jp|cp932|windows-31j)/, [...HAN, [0x3040, 0x30ff], [0xff66, 0xff9f]], 'Japanese'],
  [/^(?:euc-kr|ks_c_5601|iso-2022-kr|cp949)/, [...HAN, [0x1100, 0x11ff], [0x3130, 0x318f], [0xac00, 0xd7af]], 'Korean'],
  [/^(?:iso-8859-7|windows-1253|cp1253)/, [[0x0370, 0x03ff], [0x1f00, 0x1fff]], 'Greek'],
  [/^(?:iso-8859-8|windows-1255|cp1255)/, [[0x0590, 0x05ff]], 'Hebrew'],
  [/^(?:iso-8859-6|windows-1256|cp1256)/, [[0x0600, 0x06ff], [0x0750, 0x077f]], 'Arabic'],
  [/^(?:tis-620|windows-874|iso-8859-11|cp874)/, [[0x0e00, 0x0e7f]], 'Thai'],
];

/** The script a charset is made for (as Unicode blocks), when it is made for one (Latin charsets say nothing). */
function charsetScript(charset: string): [Ranges, string] | undefined {
  const cs = charset.toLowerCase();
  for (const [name, ranges, label] of SCRIPT_OF_CHARSET) if (name.test(cs)) return [ranges, label];
  return undefined;
}

/** True when text of at least `minLetters` letters has (almost) none of the script. */
function lacksScript(text: string, script: Ranges, minLetters: number): boolean {
  const sample = text.slice(0, 4096);
  const letters = countLetters(sample).letters;
  if (letters < minLetters) return false;
  let inScript = 0;
  for (let i = 0; i < sample.length; i++) {
    const c = sample.charCodeAt(i);
    if (c < 0x370) continue;
    for (const [lo, hi] of script) if (c >= lo && c <= hi) { inScript++; break; }
  }
  return inScript < letters * 0.05;
}

/** True when `text` (lowercase) names `domain` or a host under it: `gmail.com` in "by mail.gmail.com (…)". */
function mentionsDomain(text: string, domain: string): boolean {
  let from = 0;
  for (let k = 0; k < 20; k++) {
    const at = text.indexOf(domain, from);
    if (at === -1) return false;
    const before = at === 0 ? 32 : text.charCodeAt(at - 1);
    const after = text.charCodeAt(at + domain.length);
    if (!(isAlnum(before) || before === 45) && !(isAlnum(after) || after === 45 || (after === 46 && isAlnum(text.charCodeAt(at + domain.length + 1))))) return true;
    from = at + 1;
  }
  return false;
}

function registrable(domain: string): string { return orgDomain(domain) ?? domain; }

function sameOrg(a: string, b: string): boolean { return !!a && !!b && registrable(a) === registrable(b); }

const CHECKS: Record<string, CheckDef> = {
  html_only: {
    fn: (c) => (c.hasHtml() && !/\S/.test(c.plain()) ? 'text/html without text/plain' : null),
  },
  image_only: {
    param: 'max', default: 20,
    fn: (c, max) => {
      const h = c.hasHtml() ? c.html() : undefined;
      if (!h || h.images === 0) return null;
      const w = c.words(max + 1);
      return w <= max ? `${h.images} image(s), ${w} word(s)` : null;
    },
  },
  invisible_text: {
    param: 'min', default: 30,
    fn: (c, min) => {
      if (!c.hasHtml()) return null;
      const h = c.html();
      // Up to 200 letters hidden with display:none are allowed: the inbox preview line of many newsletters.
      const score = h.camouflaged + Math.max(0, h.concealed - 200);
      return score >= min ? `${h.camouflaged} letters camouflaged, ${h.concealed} hidden` : null;
    },
  },
  zero_width_chars: {
    param: 'min', default: 3,
    fn: (c, min) => {
      for (const v of [c.model.subject, c.from()?.name ?? '']) {
        ZERO_WIDTH.lastIndex = 0;
        const m = ZERO_WIDTH.exec(v.slice(0, LIMITS.headerChars));
        ZERO_WIDTH.lastIndex = 0;
        if (m) return `in header: ${wordAt(v, m.index)}`;
      }
      const body = c.body();
      if (!ZERO_WIDTH_ANY.test(body)) return null;
      const k = count(ZERO_WIDTH, body, min);
      return k >= min ? `${k}+ inside words` : null;
    },
  },
  mixed_scripts_in_word: {
    param: 'min', default: 2,
    fn: (c, min) => {
      for (const v of [c.model.subject, c.from()?.name ?? '']) {
        MIXED.lastIndex = 0;
        const m = MIXED.exec(v.slice(0, LIMITS.headerChars));
        MIXED.lastIndex = 0;
        if (m) return `in header: ${wordAt(v, m.index)}`;
      }
      const body = c.body();
      if (!CYRILLIC_GREEK.test(body)) return null;
      MIXED.lastIndex = 0;
      let k = 0, first = '';
      for (let m = MIXED.exec(body); m && k < min; m = MIXED.exec(body)) {
        if (!first) first = wordAt(body, m.index);
        k++;
        MIXED.lastIndex = skipWord(body, MIXED.lastIndex);
      }
      MIXED.lastIndex = 0;
      return k >= min ? first : null;
    },
  },
  from_display_name_has_other_address: {
    fn: (c) => {
      const f = c.from();
      if (!f || !f.domain || !f.name.includes('@') || / via /i.test(f.name)) return null;
      const m = /[^\s<>"'()@,;:]{1,64}@([A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8})/.exec(f.name);
      if (!m || sameOrg(m[1].toLowerCase(), f.domain)) return null;
      return `"${m[0]}" <${f.addr}>`;
    },
  },
  date_missing: { fn: (c) => (c.first('date') === undefined ? '' : null) },
  date_malformed: {
    fn: (c) => { const d = c.first('date'); return d !== undefined && parseDate(d) === null ? `Date: ${d}` : null; },
  },
  date_in_future: {
    param: 'min', default: 24,
    fn: (c, hours) => {
      const d = c.first('date');
      const t = d === undefined ? null : parseDate(d);
      const now = c.now();
      return t !== null && now !== null && t - now > hours * HOUR ? `Date: ${d}` : null;
    },
  },
  date_far_past: {
    param: 'min', default: 7,
    fn: (c, days) => {
      const d = c.first('date');
      const t = d === undefined ? null : parseDate(d);
      const now = c.now();
      return t !== null && now !== null && now - t > days * 24 * HOUR ? `Date: ${d}` : null;
    },
  },
  message_id_missing: { fn: (c) => (c.first('message-id') === undefined ? '' : null) },
  message_id_malformed: {
    fn: (c) => {
      const v = c.first('message-id');
      return v !== undefined && !/^<[^<>\s@]{1,250}@[^<>\s@]{1,250}>/.test(v) ? `Message-ID: ${v}` : null;
    },
  },
  subject_all_caps: {
    param: 'min', default: 10,
    fn: (c, min) => {
      const s = c.model.subject.slice(0, 500).replace(/^(?:\s{0,4}(?:re|fwd?|aw|wg|sv|tr)\s{0,2}:){1,10}/i, '');
      const { upper, lower } = countLetters(s);
      if (upper < min || lower > upper * 0.05 || count(WORD_RE, s, 3) < 2) return null;
      return s.trim();
    },
  },
  excessive_exclamation: {
    param: 'min', default: 3,
    fn: (c, min) => { const k = count(/!/g, c.model.subject.slice(0, 500), min); return k >= min ? c.model.subject.trim() : null; },
  },
  charset_mismatch: {
    fn: (c) => {
      for (const b of c.model.bodies ?? []) {
        const sc = charsetScript(b.charset);
        if (!sc) continue;
        const text = b.kind === 'text' ? c.model.text.slice(b.start, Math.min(b.end, b.start + 16384)) : c.html().text;
        if (lacksScript(text, sc[0], 40)) return `body declared ${b.charset}, no ${sc[1]} text`;
      }
      const raw = c.headerValues('subject', 'raw')[0];
      const cs = raw ? /=\?([^?\s*]{1,40})(?:\*[^?\s]{0,20})?\?[bq]\?/i.exec(raw) : null;
      const sc = cs ? charsetScript(cs[1]) : undefined;
      if (sc && lacksScript(c.model.subject, sc[0], 6)) return `Subject declared ${cs![1]}, no ${sc[1]} text`;
      return null;
    },
  },
  base64_text_body: {
    fn: (c) => {
      for (const b of c.model.bodies ?? []) {
        if (b.cte !== 'base64') continue;
        const t = (b.kind === 'text' ? c.model.text : c.model.html).slice(b.start, Math.min(b.end, b.start + LIMITS.bodyChars));
              if (t.length >= 100 && !/[^\x09\x0a\x0d\x20-\x7e]/.test(t)) return `${b.kind === 'text' ? 'text/plain' : 'text/html'} ASCII in base64`;
      }
      return null;
    },
  },
  url_ip_literal: {
    fn: (c) => { for (const u of c.urls()) if (u.ip && !privateIp(u.host)) return u.href; return null; },
  },
  url_userinfo: {
    fn: (c) => { for (const u of c.urls()) if (u.userinfo) return u.href; return null; },
  },
  url_nonstandard_port: {
    fn: (c) => { for (const u of c.urls()) if (u.port && u.port !== '80' && u.port !== '443') return u.href; return null; },
  },
  url_text_href_mismatch: {
    fn: (c) => {
      if (!c.hasHtml()) return null;
      for (const l of c.html().links) {
        // Only link text that is itself a web address: "www.bank.example" or "https://bank.example/login".
        const m = /^(?:https?:\/\/|(?=www\.))((?:[a-z0-9-]{1,63}\.){1,8}[a-z]{2,24})\.?(?:[/:?#][^\s]{0,200})?$/i.exec(l.text.slice(0, 300));
        if (!m) continue;
        const shown = orgDomain(m[1]);
        const target = parseUrl(l.href);
        const real = target ? orgDomain(target.host) ?? target.host : null;
        if (shown && real && shown !== real) return `shows ${m[1].toLowerCase()}, goes to ${target!.host}`;
      }
      return null;
    },
  },
  many_recipients_in_to: {
    param: 'min', default: 10,
    fn: (c, min) => { const k = c.addresses('to').filter((a) => a.addr).length; return k >= min ? `${k} addresses in To` : null; },
  },
  sorted_recipients: {
    param: 'min', default: 5,
    fn: (c, min) => {
      const a = [...c.addresses('to'), ...c.addresses('cc')].map((x) => x.addr.toLowerCase()).filter(Boolean);
      if (a.length < min) return null;
      for (let i = 1; i < a.length; i++) if (a[i - 1] > a[i]) return null;
      return `${a.length} addresses in alphabetical order`;
    },
  },
  from_replyto_domain_mismatch: {
    fn: (c) => {
      const f = c.from(), r = c.addresses('reply-to')[0];
      return f?.domain && r?.domain && !sameOrg(f.domain, r.domain) ? `From ${f.domain}, Reply-To ${r.domain}` : null;
    },
  },
  reply_to_freemail: {
    lists: ['freemail'],
    fn: (c) => {
      const f = c.from(), r = c.addresses('reply-to')[0];
      if (!f?.domain || !r?.domain || sameOrg(f.domain, r.domain) || !c.list('freemail').has(r.domain)) return null;
      return `From ${f.domain}, Reply-To ${r.domain}`;
    },
  },
  from_returnpath_domain_mismatch: {
    fn: (c) => {
      const f = c.from();
      const sender = c.model.envelope.sender;
      const rp = c.addresses('return-path')[0]?.domain || (sender.includes('@') ? sender.slice(sender.lastIndexOf('@') + 1).toLowerCase() : '');
      if (!f?.domain || !rp) return null;
      return sameOrg(f.domain, rp) ? null : `From ${f.domain}, return path ${rp}`;
    },
  },
  freemail_msgid_mismatch: {
    lists: ['freemail'],
    fn: (c) => {
      const f = c.from();
      const free = c.list('freemail');
      if (!f?.domain || !free.has(f.domain)) return null;
      const id = c.first('message-id');
      const host = id ? /@([^>\s]{1,255})>/.exec(id)?.[1]?.toLowerCase() : undefined;
      const org = host ? orgDomain(host) : null;
      if (!org || sameOrg(org, f.domain) || free.has(org) || c.list('freemail_infrastructure').has(org)) return null;
      return `From ${f.domain}, Message-ID host ${host}`;
    },
  },
  freemail_not_relayed: {
    lists: ['freemail_signed', 'freemail_infrastructure'],
    fn: (c) => {
      const f = c.from();
      if (!f?.domain || !c.list('freemail_signed').has(f.domain)) return null;
      const org = registrable(f.domain);
      const infra = c.list('freemail_infrastructure');
      for (const sig of c.headerValues('dkim-signature')) {
        const d = /(?:^|;)\s{0,4}d\s{0,4}=\s{0,4}([^;\s]{1,253})/i.exec(sig)?.[1]?.toLowerCase();
        if (d && sameOrg(d, org)) return null;
      }
      for (const r of c.headerValues('received')) {
        const v = r.toLowerCase();
        if (mentionsDomain(v, org)) return null;
        for (const d of infra) if (mentionsDomain(v, d)) return null;
      }
      return `From ${f.domain}, not relayed by it`;
    },
  },
  mime_malformed: {
    fn: (c) => { const h = c.model.limits.find((l) => l.limit === 'malformed'); return h ? h.detail : null; },
  },
  raw_8bit_header: {
    fn: (c) => {
      for (const name of ['subject', 'from', 'to']) {
        for (const v of c.headerValues(name, 'raw')) {
                  if (!/[\x80-\xff]/.test(v)) continue;
          try { new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(v, 'latin1')); } catch { return `${name}: unencoded 8-bit bytes`; }
        }
      }
      return null;
    },
  },
  subject_encoded_ascii: {
    fn: (c) => {
      const raw = c.headerValues('subject', 'raw')[0];
      if (!raw || !/=\?[^?\s]{1,40}\?[bq]\?/i.test(raw)) return null;
      const s = c.model.subject;
      return s.length >= 3 && /^[\x20-\x7e]+$/.test(s) ? `Subject: ${raw}` : null;
    },
  },
  body_shouting: {
    param: 'min', default: 50,
    fn: (c, pct) => {
      const { upper, lower } = countLetters(c.body().slice(0, 8192));
      if (upper + lower < 200) return null;
      const p = Math.round((100 * upper) / (upper + lower));
      return p >= pct ? `${p}% capitals` : null;
    },
  },
  quoted_reply: {
    param: 'min', default: 3,
    fn: (c, min) => { const k = count(/^[ \t]{0,3}>/gm, c.plain(), min); return k >= min ? `${k}+ quoted lines` : null; },
  },
};

/** Names of the built-in checks (for documentation and tests). */
export const CHECK_NAMES: readonly string[] = Object.freeze(Object.keys(CHECKS));
