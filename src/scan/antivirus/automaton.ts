/**
 * Aho-Corasick over bytes: finds every occurrence of a set of byte strings (the signature anchors) in one pass,
 * whatever their number, with the state carried from one chunk to the next so a string split across two chunks
 * is still found.
 *
 * Two layouts share one interface:
 * - dense: a full transition table (256 entries per state, pre-multiplied by 256 so a step is one load; states
 *   with outputs numbered last so "any output here?" is one comparison; four interleaved walks over long
 *   ranges). 1 KiB per state, so used up to `denseStateLimit` states (default 16,384 = 16 MiB);
 * - hybrid, beyond that: dense rows for the root and its children, goto edges plus failure links for the
 *   deeper states, so memory stays proportional to the strings for large databases.
 *
 * Input: anchors compiled from database files (bounded by the loader); scanned data is hostile but only read.
 */

export interface Automaton {
  /** Initial state (also the state to start each new part with). */
  readonly start: number;
  readonly stateCount: number;
  readonly layout: 'dense' | 'hybrid';
  /**
   * Runs over data[from, to) from `state`; for every position where at least one string ends, calls
   * onHit(state, end) with `end` the index just past the match. Returns the state after data[to - 1].
   */
  scan(data: Uint8Array, from: number, to: number, state: number, onHit: (state: number, end: number) => void): number;
  /** Ids of the strings that end in `state` (passed to onHit). */
  outputs(state: number): Int32Array;
}

export interface AutomatonOptions {
  /** Largest automaton built dense (default 16,384 states = 16 MiB); larger ones are hybrid. */
  denseStateLimit?: number;
  /** Hybrid layout: depth up to which states get dense rows (0 = root only, default 1). */
  hybridDenseDepth?: number;
}

/** Ranges shorter than this are walked in one lane. */
const LANE_MIN_BYTES = 4096;

interface Trie {
  /** Length of the longest string. */
  depth: number;
  children: Map<number, number>[];
  fail: Int32Array;
  out: number[][];
  order: number[];
}

function buildTrie(strings: Uint8Array[]): Trie {
  const children: Map<number, number>[] = [new Map()];
  const own: number[][] = [[]];
  let depth = 0;
  strings.forEach((s, id) => {
    if (s.length === 0) throw new Error('empty string in automaton');
    depth = Math.max(depth, s.length);
    let st = 0;
    for (const b of s) {
      let nx = children[st].get(b);
      if (nx === undefined) {
        nx = children.length;
        children.push(new Map());
        own.push([]);
        children[st].set(b, nx);
      }
      st = nx;
    }
    own[st].push(id);
  });
  // Breadth-first: failure links and merged outputs (a state's outputs include its failure state's).
  const fail = new Int32Array(children.length);
  const out: number[][] = own.map((o) => o.slice());
  const order: number[] = [0];
  for (let qi = 0; qi < order.length; qi++) {
    const st = order[qi];
    for (const [b, nx] of children[st]) {
      let f = fail[st];
      if (st === 0) f = 0;
      else {
        while (f !== 0 && !children[f].has(b)) f = fail[f];
        const g = children[f].get(b);
        f = g !== undefined ? g : 0;
      }
      fail[nx] = f;
      if (out[f].length > 0) out[nx] = out[nx].concat(out[f]);
      order.push(nx);
    }
  }
  return { depth, children, fail, out, order };
}

/** Renumbering that puts states with outputs last; returns [newId of old, first output state]. */
function renumber(out: number[][]): [Int32Array, number] {
  const map = new Int32Array(out.length);
  let next = 0;
  for (let s = 0; s < out.length; s++) if (out[s].length === 0) map[s] = next++;
  const firstOut = next;
  for (let s = 0; s < out.length; s++) if (out[s].length > 0) map[s] = next++;
  return [map, firstOut];
}

function packOutputs(out: number[][], map: Int32Array): Int32Array[] {
  const packed: Int32Array[] = new Array(out.length);
  for (let s = 0; s < out.length; s++) packed[map[s]] = Int32Array.from(out[s]);
  return packed;
}

class DenseAutomaton implements Automaton {
  readonly layout = 'dense';
  readonly start: number;
  readonly stateCount: number;
  private readonly depth: number;
  /** delta[s * 256 + byte] = next * 256 (state ids pre-multiplied). */
  private readonly delta: Int32Array;
  private readonly firstOut: number;
  private readonly outs: Int32Array[];

  constructor(t: Trie) {
    const n = t.children.length;
    const [map, firstOut] = renumber(t.out);
    const delta = new Int32Array(n * 256);
    // In BFS order a state's failure state is complete before it is filled in.
    for (const st of t.order) {
      const row = map[st] * 256;
      if (st === 0) delta.fill(map[0] * 256, row, row + 256);
      else delta.copyWithin(row, map[t.fail[st]] * 256, map[t.fail[st]] * 256 + 256);
      for (const [b, g] of t.children[st]) delta[row + b] = map[g] * 256;
    }
    this.delta = delta;
    this.firstOut = firstOut * 256;
    this.outs = packOutputs(t.out, map);
    this.start = map[0];
    this.stateCount = n;
    this.depth = t.depth;
  }

  scan(data: Uint8Array, from: number, to: number, state: number, onHit: (state: number, end: number) => void): number {
    if (to - from >= LANE_MIN_BYTES && to - from >= 64 * this.depth) return this.scanLanes(data, from, to, state, onHit);
    return this.scanOne(data, from, to, state, onHit);
  }

  private scanOne(data: Uint8Array, from: number, to: number, state: number, onHit: (state: number, end: number) => void): number {
    const delta = this.delta, firstOut = this.firstOut;
    let s = state * 256;
    for (let i = from; i < to; i++) {
      s = delta[s + data[i]];
      if (s >= firstOut) onHit(s >>> 8, i + 1);
    }
    return s >>> 8;
  }

  /**
   * The table walk is bound by the latency of one dependent load per byte, so four independent walks over
   * four quarters of the range run interleaved (the CPU overlaps their loads). Quarter j > 0 starts `depth`
   * bytes early from the root: after `depth` bytes an automaton's state no longer depends on where it started,
   * and its hits in those warm-up bytes belong to quarter j-1, which reaches that far. Hits are delivered in
   * position order, as from a single walk.
   */
  private scanLanes(data: Uint8Array, from: number, to: number, state: number, onHit: (state: number, end: number) => void): number {
    const delta = this.delta, firstOut = this.firstOut, w = this.depth;
    const q = Math.floor((to - from - w) / 4);
    const steps = q + w;
    const p0 = from, p1 = from + q, p2 = from + 2 * q, p3 = from + 3 * q;
    const root = this.start * 256;
    let s0 = state * 256, s1 = root, s2 = root, s3 = root;
    const hits: number[][] = [[], [], [], []];
    for (let k = 0; k < steps; k++) {
      s0 = delta[s0 + data[p0 + k]];
      s1 = delta[s1 + data[p1 + k]];
      s2 = delta[s2 + data[p2 + k]];
      s3 = delta[s3 + data[p3 + k]];
      if ((s0 | s1 | s2 | s3) >= firstOut) {
        if (s0 >= firstOut) hits[0].push(s0 >>> 8, p0 + k + 1);
        if (s1 >= firstOut && k >= w) hits[1].push(s1 >>> 8, p1 + k + 1);
        if (s2 >= firstOut && k >= w) hits[2].push(s2 >>> 8, p2 + k + 1);
        if (s3 >= firstOut && k >= w) hits[3].push(s3 >>> 8, p3 + k + 1);
      }
    }
    for (const lane of hits) for (let h = 0; h < lane.length; h += 2) onHit(lane[h], lane[h + 1]);
    return this.scanOne(data, p3 + steps, to, s3 >>> 8, onHit);
  }
  outputs(state: number): Int32Array { return this.outs[state]; }
}

/**
 * Dense rows for the root and its children (where scanning random-looking data spends nearly all its time:
 * 257 KiB at most, cache-resident), goto edges plus failure links for the deeper states, in compact arrays
 * that stay cache-friendly where 1 KiB rows would not. A failure link always leads to a shallower state, so a
 * miss in a deep state ends in a dense row after a few steps. State ids are breadth-first order.
 */
class HybridAutomaton implements Automaton {
  readonly layout = 'hybrid';
  readonly start = 0;
  readonly stateCount: number;
  private readonly denseRows: number;
  /** delta[s * 256 + byte] = next state, for s < denseRows. */
  private readonly delta: Int32Array;
  /** Edges of deep state s: edgeBytes/edgeTo[edgeStart[s] .. edgeStart[s + 1]). */
  private readonly edgeStart: Int32Array;
  private readonly edgeBytes: Uint8Array;
  private readonly edgeTo: Int32Array;
  private readonly fail: Int32Array;
  private readonly hasOut: Uint8Array;
  private readonly outs: Int32Array[];

  constructor(t: Trie, denseDepth: number) {
    const n = t.children.length;
    const id = new Int32Array(n);
    t.order.forEach((old, i) => { id[old] = i; });
    this.stateCount = n;
    // BFS order lists states by depth: dense rows for the root and (by default) its children only.
    let rows = 1;
    if (denseDepth >= 1) rows += t.children[0].size;
    if (denseDepth >= 2) for (const c of t.children[0].values()) rows += t.children[c].size;
    this.denseRows = rows;
    this.delta = new Int32Array(this.denseRows * 256);
    this.edgeStart = new Int32Array(n + 1);
    const edgeCount = t.children.reduce((c, m) => c + m.size, 0);
    this.edgeBytes = new Uint8Array(edgeCount);
    this.edgeTo = new Int32Array(edgeCount);
    this.fail = new Int32Array(n);
    this.hasOut = new Uint8Array(n);
    this.outs = new Array(n);
    let e = 0;
    for (let i = 0; i < n; i++) {
      const old = t.order[i];
      this.fail[i] = id[t.fail[old]];
      this.hasOut[i] = t.out[old].length > 0 ? 1 : 0;
      this.outs[i] = Int32Array.from(t.out[old]);
      this.edgeStart[i] = e;
      for (const [b, to] of t.children[old]) { this.edgeBytes[e] = b; this.edgeTo[e] = id[to]; e++; }
      if (i < this.denseRows) {
        // The failure state is shallower, so earlier in BFS order, so its row is complete.
        const row = i * 256, failRow = this.fail[i] * 256;
        if (i === 0) this.delta.fill(0, 0, 256); else this.delta.copyWithin(row, failRow, failRow + 256);
        for (const [b, g] of t.children[old]) this.delta[row + b] = id[g];
      }
    }
    this.edgeStart[n] = e;
  }

  scan(data: Uint8Array, from: number, to: number, state: number, onHit: (state: number, end: number) => void): number {
    const { delta, edgeStart, edgeBytes, edgeTo, fail, hasOut, denseRows } = this;
    let s = state;
    for (let i = from; i < to; i++) {
      const b = data[i];
      for (;;) {
        if (s < denseRows) { s = delta[s * 256 + b]; break; }
        let next = -1;
        for (let k = edgeStart[s], end = edgeStart[s + 1]; k < end; k++) {
          if (edgeBytes[k] === b) { next = edgeTo[k]; break; }
        }
        if (next >= 0) { s = next; break; }
        s = fail[s];
      }
      if (hasOut[s] !== 0) onHit(s, i + 1);
    }
    return s;
  }

  outputs(state: number): Int32Array { return this.outs[state]; }
}

/** Builds an automaton finding `strings` (non-empty); a string's id is its index. */
export function buildAutomaton(strings: Uint8Array[], opts: AutomatonOptions = {}): Automaton {
  const t = buildTrie(strings);
  const limit = opts.denseStateLimit ?? 16_384;
  return t.children.length <= limit ? new DenseAutomaton(t) : new HybridAutomaton(t, opts.hybridDenseDepth ?? 1);
}
