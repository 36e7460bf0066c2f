/**
 * Multi-pattern matching of hex body signatures over a part's bytes, fed in chunks.
 *
 * How: every subpattern's anchor (hexsig.ts) goes into one Aho-Corasick automaton. An anchor hit places its
 * subpattern at a fixed position, which is verified byte by byte (wildcards, nibbles, alternatives). A verified
 * subpattern i+1 extends the chain of subpattern i when the gap between them fits; the first subpattern must
 * start where the signature's offset allows; the last one completes the signature. No regular expressions.
 *
 * Streaming: the caller keeps the last `historyBytes` bytes of the previous chunk in front of the new one, so a
 * subpattern that began there can be verified; a subpattern whose end lies beyond the data seen so far is held
 * back and verified once the next chunk arrives (or dropped at the end of the part). Memory per session is the
 * history window plus small per-signature chain lists (capped at CHAIN_CAP ends per subpattern; the oldest are
 * dropped first, which can only miss a match in pathological repetitive data).
 *
 * Offsets (checked on the first subpattern's start): anywhere, `n` (exactly), `n,m` (n..n+m), `EOF-n` and
 * `EOF-n,m` (the part size must be known). Targets: a signature may name true-type categories or labels
 * (types.ts); a part of another type is skipped; when the caller does not know the type every signature applies.
 */
import { buildAutomaton, type Automaton } from './automaton.ts';
import { chooseAnchor, subpatternLength, verifySubpattern, type Atom, type Gap, type ParsedSignature } from './hexsig.ts';

export type OffsetSpec =
  | { kind: 'any' }
  | { kind: 'bof'; at: number; shift: number }
  | { kind: 'eof'; back: number; shift: number };

export interface PatternInput {
  sig: ParsedSignature;
  offset: OffsetSpec;
  /** True-type categories or labels this signature applies to; null = any part. */
  target: string[] | null;
}

export interface PatternSetOptions {
  /** Longest anchor put into the automaton (longer runs are verified). Default 8. */
  maxAnchorBytes?: number;
  denseStateLimit?: number;
}

interface CompiledSub { atoms: Atom[]; len: number; anchorOffset: number; anchorLength: number }
interface CompiledPattern { subs: CompiledSub[]; gaps: Gap[]; lead: Gap; offset: OffsetSpec; target: string[] | null }
interface SubRef { pattern: number; sub: number }

/** Parses `*`, `n`, `n,m`, `EOF-n`, `EOF-n,m`; returns null for other (unsupported) forms such as `EP+n`. */
export function parseOffset(text: string): OffsetSpec | null {
  const t = text.trim();
  if (t === '*') return { kind: 'any' };
  const m = /^(EOF-)?(\d{1,10})(?:,(\d{1,10}))?$/i.exec(t);
  if (!m) return null;
  const n = Number(m[2]), shift = m[3] === undefined ? 0 : Number(m[3]);
  return m[1] ? { kind: 'eof', back: n, shift } : { kind: 'bof', at: n, shift };
}

export const CHAIN_CAP = 4096;

/** An immutable, compiled set of patterns; share it between concurrent sessions. */
export class PatternSet {
  readonly size: number;
  /** Longest subpattern: the history a streaming caller must keep between chunks. */
  readonly historyBytes: number;
  readonly automatonLayout: 'dense' | 'hybrid' | 'none';
  readonly automatonStates: number;
  /** @internal */ readonly automaton: Automaton | null;
  /** @internal */ readonly anchorRefs: SubRef[][];
  /** @internal */ readonly patterns: CompiledPattern[];

  /** Compiles `inputs`; throws UnsupportedSignature for one that cannot be anchored (validate first with compilePattern). */
  constructor(inputs: PatternInput[], opts: PatternSetOptions = {}) {
    const maxAnchor = Math.max(1, opts.maxAnchorBytes ?? 8);
    const anchorIds = new Map<string, number>();
    const anchorStrings: Uint8Array[] = [];
    this.anchorRefs = [];
    this.patterns = [];
    let history = 1;
    inputs.forEach((input, pi) => {
      const cp = compilePattern(input, maxAnchor);
      cp.anchors.forEach((anchor, si) => {
        for (const str of anchor.strings) {
          const key = Buffer.from(str).toString('latin1');
          let id = anchorIds.get(key);
          if (id === undefined) {
            id = anchorStrings.length;
            anchorIds.set(key, id);
            anchorStrings.push(str);
            this.anchorRefs.push([]);
          }
          this.anchorRefs[id].push({ pattern: pi, sub: si });
        }
      });
      for (const s of cp.pattern.subs) history = Math.max(history, s.len);
      this.patterns.push(cp.pattern);
    });
    this.automaton = anchorStrings.length > 0 ? buildAutomaton(anchorStrings, { denseStateLimit: opts.denseStateLimit }) : null;
    this.automatonLayout = this.automaton ? this.automaton.layout : 'none';
    this.automatonStates = this.automaton ? this.automaton.stateCount : 0;
    this.size = inputs.length;
    this.historyBytes = history;
  }

  session(ctx: SessionContext = {}): MatchSession {
    return new MatchSession(this, ctx);
  }
}

/** Compiles one pattern (throws UnsupportedSignature when a subpattern has no anchor). */
export function compilePattern(input: PatternInput, maxAnchor = 8) {
  const anchors = input.sig.subs.map((atoms) => chooseAnchor(atoms, maxAnchor));
  const subs: CompiledSub[] = input.sig.subs.map((atoms, i) => ({ atoms, len: subpatternLength(atoms), anchorOffset: anchors[i].offset, anchorLength: anchors[i].length }));
  return { anchors, pattern: { subs, gaps: input.sig.gaps, lead: input.sig.lead, offset: input.offset, target: input.target } as CompiledPattern };
}

export interface SessionContext {
  /** Total size of the part when known (needed for EOF offsets). */
  size?: number;
  /** The part's true type; signatures with a target apply only to matching parts. */
  type?: { category: string; label: string };
}

interface ChainList { ends: number[]; head: number }
interface Deferred { ref: SubRef; end: number }

/**
 * Matching state for one part. Feed the bytes in order with feed(); call finish() after the last chunk; read
 * `matched` (pattern indices in the order they completed).
 */
export class MatchSession {
  readonly matched: number[] = [];
  private readonly set: PatternSet;
  private readonly ctx: SessionContext;
  private state: number;
  private readonly done = new Set<number>();
  private readonly chains = new Map<number, ChainList[]>();
  private deferred: Deferred[] = [];
  private finished = false;
  private data: Uint8Array = new Uint8Array(0);
  private base = 0;

  constructor(set: PatternSet, ctx: SessionContext) {
    this.set = set;
    this.ctx = ctx;
    this.state = set.automaton ? set.automaton.start : 0;
  }

  /**
   * Feeds new bytes. `data` holds the window, data[0] being at absolute offset `base`; bytes before `newFrom`
   * are history already fed (at least PatternSet.historyBytes of it when available), data[newFrom..] are new.
   */
  feed(data: Uint8Array, base: number, newFrom: number): void {
    if (this.finished) throw new Error('session finished');
    const a = this.set.automaton;
    if (!a) return;
    this.data = data;
    this.base = base;
    const held = this.deferred;
    this.deferred = [];
    for (const d of held) this.tryRef(d.ref, d.end);
    this.state = a.scan(data, newFrom, data.length, this.state, this.onHit);
  }

  /** Ends the part: held-back subpatterns that would run past the end can no longer match. */
  finish(): void {
    if (this.finished) return;
    // Everything still held back needs bytes past the end of the part.
    this.deferred = [];
    this.finished = true;
    this.data = new Uint8Array(0);
    this.chains.clear();
  }

  private readonly onHit = (state: number, end: number): void => {
    const ids = this.set.automaton!.outputs(state);
    const absEnd = this.base + end;
    for (let k = 0; k < ids.length; k++) {
      const refs = this.set.anchorRefs[ids[k]];
      for (let r = 0; r < refs.length; r++) this.tryRef(refs[r], absEnd);
    }
  };

  /** An anchor of (pattern, sub) ended at absolute offset `anchorEnd`: verify and chain. */
  private tryRef(ref: SubRef, anchorEnd: number): void {
    if (this.done.has(ref.pattern)) return;
    const p = this.set.patterns[ref.pattern];
    if (p.target && this.ctx.type && !p.target.includes(this.ctx.type.category) && !p.target.includes(this.ctx.type.label)) return;
    const sub = p.subs[ref.sub];
    const start = anchorEnd - sub.anchorLength - sub.anchorOffset;
    if (start < 0) return;
    const idx = start - this.base;
    if (idx < 0) return; // outside the history window: cannot happen when the caller keeps historyBytes
    if (idx + sub.len > this.data.length) {
      this.deferred.push({ ref, end: anchorEnd });
      return;
    }
    if (!verifySubpattern(sub.atoms, this.data, idx)) return;
    this.chain(ref.pattern, p, ref.sub, start, start + sub.len);
  }

  private chain(pi: number, p: CompiledPattern, i: number, start: number, end: number): void {
    if (i === 0) {
      if (!this.offsetAllows(p, start)) return;
    } else {
      const list = this.chains.get(pi)?.[i - 1];
      if (!list) return;
      const gap = p.gaps[i - 1];
      // Ends arrive in increasing order and so do the starts of subpattern i: drop ends now too far back.
      if (gap.max !== Infinity) while (list.head < list.ends.length && list.ends[list.head] < start - gap.max) list.head++;
      if (list.head >= list.ends.length || list.ends[list.head] > start - gap.min) return;
    }
    if (i === p.subs.length - 1) {
      this.done.add(pi);
      this.matched.push(pi);
      this.chains.delete(pi);
      return;
    }
    let lists = this.chains.get(pi);
    if (!lists) { lists = p.gaps.map(() => ({ ends: [], head: 0 })); this.chains.set(pi, lists); }
    const list = lists[i];
    if (p.gaps[i].max === Infinity) {
      // With an unbounded gap only the earliest end matters.
      if (list.ends.length === 0) list.ends.push(end);
      return;
    }
    if (list.ends.length > list.head && list.ends[list.ends.length - 1] === end) return;
    list.ends.push(end);
    if (list.ends.length - list.head > CHAIN_CAP) list.head++;
    if (list.head > 1024 && list.head * 2 > list.ends.length) { list.ends = list.ends.slice(list.head); list.head = 0; }
  }

  private offsetAllows(p: CompiledPattern, start: number): boolean {
    const o = p.offset;
    if (o.kind === 'any') return true;
    let lo: number, hi: number;
    if (o.kind === 'bof') { lo = o.at; hi = o.at + o.shift; } else {
      if (this.ctx.size === undefined) return false;
      lo = this.ctx.size - o.back;
      hi = lo + o.shift;
    }
    return start >= lo + p.lead.min && start <= hi + p.lead.max;
  }
}
