/**
 * Regular expressions for `re:` rule criteria, matched in linear time.
 *
 * Hostile input: the address comes from the SMTP client; the pattern from an administrator, an import file or
 * the API. V8's backtracking engine takes exponential time on `(a+)+b` and polynomial time on `.*.*.*x` (over a
 * second for a 256-character address), so a rule criterion could stall mail processing. Patterns here are
 * therefore compiled once into a small program and run as a Thompson NFA (a Pike VM): time is O(input × program),
 * whatever the pattern. Limits: patterns of at most MAX_PATTERN characters, programs of at most MAX_PROGRAM
 * instructions, repetition counts up to MAX_REPEAT, and only the first MAX_INPUT characters of the input are
 * looked at (RFC 5321 §4.5.3.1.3 caps a whole address at 256 octets).
 *
 * Syntax: JavaScript's (a pattern must also compile as a JavaScript RegExp), always case-insensitive, searched
 * anywhere in the input unless anchored with `^`/`$`. Supported: literals, `.`, classes `[...]`/`[^...]` with
 * ranges, `\d \D \w \W \s \S`, `\b \B`, `^ $`, groups `(...)`, `(?:...)`, `(?<name>...)`, alternation `|`,
 * quantifiers `* + ? {n} {n,} {n,m}` (lazy forms accepted; for a yes/no match they mean the same), escapes
 * `\t \n \r \f \v \0 \xHH \uHHHH \cX` and escaped punctuation. Refused, with a reason: backreferences and
 * lookaround (they cannot run in linear time). Matching works on Unicode code points.
 */

export const MAX_PATTERN = 1000;
export const MAX_PROGRAM = 5000;
export const MAX_REPEAT = 1000;
export const MAX_INPUT = 1024;

export class RegexError extends Error {}

export interface SafeRegex {
  readonly source: string;
  /** True when the pattern matches somewhere in `input` (case-insensitive). */
  test(input: string): boolean;
}

type Pred = (cp: number) => boolean;
type Node =
  | { t: 'char'; m: Pred }
  | { t: 'seq'; items: Node[] }
  | { t: 'alt'; alts: Node[] }
  | { t: 'rep'; node: Node; min: number; max: number }
  | { t: 'assert'; k: '^' | '$' | 'b' | 'B' };

// ---- case folding (per code point, so pattern and input fold the same way) ----

/** Lower-case of one code point when that is one code point (so lengths never change), else the code point. */
export function fold(cp: number): number {
  if (cp < 128) return cp >= 65 && cp <= 90 ? cp + 32 : cp;
  const s = String.fromCodePoint(cp).toLowerCase();
  const f = s.codePointAt(0)!;
  return s.length === String.fromCodePoint(f).length ? f : cp;
}

function upper(cp: number): number {
  if (cp < 128) return cp >= 97 && cp <= 122 ? cp - 32 : cp;
  const s = String.fromCodePoint(cp).toUpperCase();
  const u = s.codePointAt(0)!;
  return s.length === String.fromCodePoint(u).length ? u : cp;
}

// ---- character sets ----

const isDigit: Pred = (c) => c >= 48 && c <= 57;
const isWord: Pred = (c) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const SPACES = new Set([9, 10, 11, 12, 13, 32, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff]);
const isSpace: Pred = (c) => SPACES.has(c) || (c >= 0x2000 && c <= 0x200a);
const isLineEnd: Pred = (c) => c === 10 || c === 13 || c === 0x2028 || c === 0x2029;
const not = (p: Pred): Pred => (c) => !p(c);

/** A set test that is case-insensitive for input already folded to lower case. */
function caseless(p: Pred, negate: boolean): Pred {
  return (c) => {
    let hit = p(c);
    if (!hit) { const u = upper(c); hit = u !== c && p(u); }
    return hit !== negate;
  };
}

// ---- parser ----

class Parser {
  private readonly p: number[];
  private i = 0;
  constructor(source: string) { this.p = Array.from(source, (ch) => ch.codePointAt(0)!); }

  private fail(why: string): never { throw new RegexError(why); }
  private peek(off = 0): number | undefined { return this.p[this.i + off]; }
  private eat(ch: string): boolean {
    if (this.p[this.i] === ch.codePointAt(0)) { this.i++; return true; }
    return false;
  }

  parse(): Node {
    const n = this.alt();
    if (this.i < this.p.length) this.fail('unmatched ")"');
    return n;
  }

  private alt(): Node {
    const alts = [this.seq()];
    while (this.eat('|')) alts.push(this.seq());
    return alts.length === 1 ? alts[0] : { t: 'alt', alts };
  }

  private seq(): Node {
    const items: Node[] = [];
    while (this.i < this.p.length && this.peek() !== 0x7c /* | */ && this.peek() !== 0x29 /* ) */) {
      const atom = this.atom();
      const q = this.quantifier();
      if (q) {
        if (atom.t === 'assert') this.fail('nothing to repeat');
        items.push({ t: 'rep', node: atom, ...q });
      } else {
        items.push(atom);
      }
    }
    return items.length === 1 ? items[0] : { t: 'seq', items };
  }

  /** `{n}`, `{n,}` or `{n,m}` at the current position, without consuming it; undefined when not one. */
  private braces(): { min: number; max: number; len: number } | undefined {
    const rest = String.fromCodePoint(...this.p.slice(this.i, this.i + 24));
    const m = /^\{(\d+)(,(\d*))?\}/.exec(rest);
    if (!m) return undefined;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    return { min, max, len: m[0].length };
  }

  private quantifier(): { min: number; max: number } | undefined {
    let q: { min: number; max: number } | undefined;
    const c = this.peek();
    if (c === 0x2a /* * */) { this.i++; q = { min: 0, max: Infinity }; }
    else if (c === 0x2b /* + */) { this.i++; q = { min: 1, max: Infinity }; }
    else if (c === 0x3f /* ? */) { this.i++; q = { min: 0, max: 1 }; }
    else if (c === 0x7b /* { */) {
      const b = this.braces();
      if (b) {
        this.i += b.len;
        if (b.max < b.min) this.fail('numbers out of order in {} quantifier');
        if (b.min > MAX_REPEAT || (b.max !== Infinity && b.max > MAX_REPEAT)) this.fail(`repetition counts above ${MAX_REPEAT} are not supported`);
        q = { min: b.min, max: b.max };
      }
    }
    if (q) {
      this.eat('?'); // lazy: the same for a yes/no match
      const n = this.peek();
      if (n === 0x2a || n === 0x2b || n === 0x3f || (n === 0x7b && this.braces())) this.fail('nothing to repeat');
    }
    return q;
  }

  private atom(): Node {
    const c = this.p[this.i++];
    switch (c) {
      case 0x5e: return { t: 'assert', k: '^' };
      case 0x24: return { t: 'assert', k: '$' };
      case 0x2e: return { t: 'char', m: not(isLineEnd) };
      case 0x28: return this.group();
      case 0x5b: return this.klass();
      case 0x5c: return this.escape();
      case 0x2a: case 0x2b: case 0x3f: return this.fail('nothing to repeat');
      case 0x7b:
        this.i--;
        if (this.braces()) this.fail('nothing to repeat');
        this.i++;
        return literal(c);
      default: return literal(c);
    }
  }

  private group(): Node {
    if (this.eat('?')) {
      if (this.eat(':')) { /* non-capturing */ }
      else if (this.peek() === 0x3c /* < */ && this.peek(1) !== 0x3d && this.peek(1) !== 0x21) {
        this.i++;
        while (this.i < this.p.length && this.peek() !== 0x3e /* > */) this.i++;
        if (!this.eat('>')) this.fail('unterminated group name');
      } else if (this.peek() === 0x3d || this.peek() === 0x21 || this.peek() === 0x3c) {
        this.fail('lookahead and lookbehind ((?=, (?!, (?<=, (?<!) are not supported');
      } else {
        this.fail('unsupported group (?…); use (…) or (?:…)');
      }
    }
    const inner = this.alt();
    if (!this.eat(')')) this.fail('unterminated group');
    return inner;
  }

  /** One escape after `\` outside a class. */
  private escape(): Node {
    const c = this.p[this.i];
    if (c === undefined) this.fail('\\ at end of pattern');
    if (c === 0x62 /* b */) { this.i++; return { t: 'assert', k: 'b' }; }
    if (c === 0x42 /* B */) { this.i++; return { t: 'assert', k: 'B' }; }
    const e = this.escapeValue(false);
    return typeof e === 'number' ? literal(e) : { t: 'char', m: caseless(e, false) };
  }

  /** A class escape (a predicate) or a single code point. */
  private escapeValue(inClass: boolean): Pred | number {
    const c = this.p[this.i++];
    const ch = String.fromCodePoint(c);
    switch (ch) {
      case 'd': return isDigit;
      case 'D': return not(isDigit);
      case 'w': return isWord;
      case 'W': return not(isWord);
      case 's': return isSpace;
      case 'S': return not(isSpace);
      case 't': return 9;
      case 'n': return 10;
      case 'v': return 11;
      case 'f': return 12;
      case 'r': return 13;
      case 'b': if (inClass) return 8; break;
      case '0': if (!(this.peek() !== undefined && isDigit(this.peek()!))) return 0; break;
      case 'x': {
        const h = String.fromCodePoint(...this.p.slice(this.i, this.i + 2));
        if (/^[0-9a-f]{2}$/i.test(h)) { this.i += 2; return parseInt(h, 16); }
        return c;
      }
      case 'u': {
        const h = String.fromCodePoint(...this.p.slice(this.i, this.i + 4));
        if (/^[0-9a-f]{4}$/i.test(h)) { this.i += 4; return parseInt(h, 16); }
        return c;
      }
      case 'c': {
        const l = this.peek();
        if (l !== undefined && ((l >= 65 && l <= 90) || (l >= 97 && l <= 122))) { this.i++; return l % 32; }
        break;
      }
      case 'k': this.fail('backreferences (\\k<name>) are not supported');
    }
    if (isDigit(c)) this.fail(`backreferences (\\${ch}) are not supported`);
    if (isWord(c)) this.fail(`unsupported escape \\${ch}`);
    return c;
  }

  private klass(): Node {
    const negate = this.eat('^');
    const ranges: [number, number][] = [];
    const preds: Pred[] = [];
    const item = (): Pred | number => {
      const c = this.p[this.i++];
      if (c === 0x5c /* \ */) {
        if (this.i >= this.p.length) this.fail('\\ at end of pattern');
        if (this.peek() === 0x42 /* B */) this.fail('unsupported escape \\B in a class');
        return this.escapeValue(true);
      }
      return c;
    };
    for (;;) {
      if (this.i >= this.p.length) this.fail('unterminated character class');
      if (this.eat(']')) break;
      const a = item();
      if (this.peek() === 0x2d /* - */ && this.peek(1) !== undefined && this.peek(1) !== 0x5d /* ] */) {
        this.i++;
        const b = item();
        if (typeof a === 'number' && typeof b === 'number') {
          if (b < a) this.fail('range out of order in character class');
          ranges.push([a, b]);
          continue;
        }
        // `[\d-x]`: JavaScript (without the u flag) reads the dash literally.
        for (const x of [a, 0x2d, b]) if (typeof x === 'number') ranges.push([x, x]); else preds.push(x);
        continue;
      }
      if (typeof a === 'number') ranges.push([a, a]); else preds.push(a);
    }
    const inSet: Pred = (c) => ranges.some(([lo, hi]) => c >= lo && c <= hi) || preds.some((p) => p(c));
    return { t: 'char', m: caseless(inSet, negate) };
  }
}

function literal(cp: number): Node {
  const f = fold(cp);
  return { t: 'char', m: (c) => c === f };
}

// ---- compiler: Node → program ----

const CHAR = 0;
const SPLIT = 1;
const JMP = 2;
const ASSERT = 3;
const MATCH = 4;

interface Inst { op: number; m?: Pred; x?: number; y?: number; k?: '^' | '$' | 'b' | 'B' }

function compileNode(root: Node): Inst[] {
  const prog: Inst[] = [];
  const push = (i: Inst) => {
    if (prog.length >= MAX_PROGRAM) throw new RegexError(`pattern too complex (over ${MAX_PROGRAM} steps once repetitions are expanded)`);
    prog.push(i);
    return prog.length - 1;
  };
  const emit = (n: Node): void => {
    switch (n.t) {
      case 'char': push({ op: CHAR, m: n.m }); return;
      case 'assert': push({ op: ASSERT, k: n.k }); return;
      case 'seq': for (const x of n.items) emit(x); return;
      case 'alt': {
        const jumps: number[] = [];
        n.alts.forEach((a, idx) => {
          if (idx < n.alts.length - 1) {
            const split = push({ op: SPLIT });
            prog[split].x = prog.length;
            emit(a);
            jumps.push(push({ op: JMP }));
            prog[split].y = prog.length;
          } else {
            emit(a);
          }
        });
        for (const j of jumps) prog[j].x = prog.length;
        return;
      }
      case 'rep': {
        for (let k = 0; k < n.min; k++) emit(n.node);
        if (n.max === Infinity) {
          const split = push({ op: SPLIT });
          prog[split].x = prog.length;
          emit(n.node);
          push({ op: JMP, x: split });
          prog[split].y = prog.length;
        } else {
          const splits: number[] = [];
          for (let k = n.min; k < n.max; k++) {
            const split = push({ op: SPLIT });
            prog[split].x = prog.length;
            splits.push(split);
            emit(n.node);
          }
          for (const s of splits) prog[s].y = prog.length;
        }
        return;
      }
    }
  };
  emit(root);
  push({ op: MATCH });
  return prog;
}

// ---- the Pike VM ----

function run(prog: Inst[], input: string): boolean {
  const s: number[] = [];
  for (const ch of input) {
    if (s.length >= MAX_INPUT) break;
    s.push(fold(ch.codePointAt(0)!));
  }
  const n = s.length;
  const mark = new Int32Array(prog.length);
  let gen = 0;
  let clist = new Int32Array(prog.length);
  let nlist = new Int32Array(prog.length);
  let ccount = 0;
  let ncount = 0;
  const stack = new Int32Array(prog.length * 2 + 2);
  const wordAt = (i: number) => i >= 0 && i < n && isWord(s[i]);

  /** Adds the thread at `pc` and everything reachable from it without reading a character. */
  const add = (list: Int32Array, count: number, pc0: number, pos: number): number => {
    let sp = 0;
    stack[sp++] = pc0;
    while (sp > 0) {
      const pc = stack[--sp];
      if (mark[pc] === gen) continue;
      mark[pc] = gen;
      const inst = prog[pc];
      switch (inst.op) {
        case CHAR: list[count++] = pc; break;
        case MATCH: return -1;
        case JMP: stack[sp++] = inst.x!; break;
        case SPLIT: stack[sp++] = inst.y!; stack[sp++] = inst.x!; break;
        case ASSERT: {
          const k = inst.k;
          const ok = k === '^' ? pos === 0 : k === '$' ? pos === n : (wordAt(pos - 1) !== wordAt(pos)) === (k === 'b');
          if (ok) stack[sp++] = pc + 1;
          break;
        }
      }
    }
    return count;
  };

  gen++;
  ccount = add(clist, 0, 0, 0);
  if (ccount < 0) return true;
  for (let pos = 0; pos < n; pos++) {
    const c = s[pos];
    gen++;
    ncount = 0;
    for (let t = 0; t < ccount; t++) {
      const pc = clist[t];
      if (prog[pc].m!(c)) {
        ncount = add(nlist, ncount, pc + 1, pos + 1);
        if (ncount < 0) return true;
      }
    }
    // Unanchored search: a new attempt starts at every position.
    ncount = add(nlist, ncount, 0, pos + 1);
    if (ncount < 0) return true;
    [clist, nlist] = [nlist, clist];
    ccount = ncount;
  }
  return false;
}

/** Compiles `source`; throws RegexError with a reason an administrator can act on. */
export function compileRegex(source: string): SafeRegex {
  if (!source.length) throw new RegexError('empty regular expression');
  if (source.length > MAX_PATTERN) throw new RegexError(`regular expression longer than ${MAX_PATTERN} characters`);
  try {
    new RegExp(source, 'i'); // syntax check only: never executed
  } catch (err) {
    throw new RegexError((err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, ''));
  }
  const prog = compileNode(new Parser(source).parse());
  return { source, test: (input: string) => run(prog, input) };
}
