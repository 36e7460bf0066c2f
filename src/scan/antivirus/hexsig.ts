/**
 * Hex body signatures: the byte-pattern syntax of ClamAV `.ndb` files, which Moat's own `.sigs` files share.
 * A signature is parsed into fixed-length *subpatterns* separated by *gaps*; each subpattern gets an *anchor*,
 * a run of literal bytes (or a small set of equal-length literal alternatives) that the Aho-Corasick automaton
 * looks for. Everything else in the subpattern is verified around an anchor hit (see matcher.ts).
 *
 * Syntax (case-insensitive hex, no spaces):
 *   `4d5a`      literal bytes              `??`   any byte          `4?` / `?d`  high / low nibble fixed
 *   `*`         any number of bytes         `{n}`  exactly n bytes   `{-n}` 0..n   `{n-}` n or more   `{n-m}`
 *   `(aa|bbcc)` alternatives of one length (nibble wildcards allowed inside)    `!(aa|bb)` none of these
 * Unsupported (valid ClamAV syntax this engine does not implement): `(B)`, `(L)`, `(W)` boundary markers,
 * `[n-m]` byte ranges and alternatives of different lengths. They raise UnsupportedSignature, so loaders skip
 * the one signature and count it; anything else that does not parse raises MalformedSignature.
 *
 * Hostile input: database files come from update bundles and administrators. Limits: 64 KiB per subpattern,
 * 64 alternatives per group, 1,000 subpatterns per signature, gaps up to 2^31 bytes.
 */

/** Literal bytes with a per-byte mask (0xff exact, 0xf0 / 0x0f nibble, 0x00 any byte). */
export interface ByteRun { kind: 'bytes'; value: Uint8Array; mask: Uint8Array }
/** One of `options` (all `len` bytes long) at this place, or none of them when `negate`. */
export interface AltGroup { kind: 'alt'; len: number; negate: boolean; options: { value: Uint8Array; mask: Uint8Array }[] }
export type Atom = ByteRun | AltGroup;

/** Bytes skipped between two subpatterns: at least `min`, at most `max` (Infinity for `*` and `{n-}`). */
export interface Gap { min: number; max: number }

export interface ParsedSignature {
  /** Fixed-length subpatterns, in order. */
  subs: Atom[][];
  /** gaps[i] lies between subs[i] and subs[i + 1]. */
  gaps: Gap[];
  /** Bytes a leading wildcard puts between the signature's offset and its first subpattern. */
  lead: Gap;
}

/** Where the automaton looks for a subpattern: `strings` (equal length) start `offset` bytes into it. */
export interface Anchor { offset: number; length: number; strings: Uint8Array[] }

export class MalformedSignature extends Error {}
export class UnsupportedSignature extends Error {}

export const MAX_SUBPATTERN_BYTES = 64 * 1024;
const MAX_ALTERNATIVES = 64;
const MAX_SUBPATTERNS = 1000;
const MAX_GAP = 2 ** 31;
/** Alternatives expanded into anchors at most this many ways. */
const MAX_ANCHOR_STRINGS = 16;

type Item = Atom | { kind: 'gap'; min: number; max: number };

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Parses two characters (`4d`, `??`, `4?`, `?d`) into [value, mask], or throws. */
function parseHexByte(s: string, i: number): [number, number] {
  if (i + 1 >= s.length) throw new MalformedSignature(`odd number of hex digits at ${i}`);
  const a = s.charCodeAt(i), b = s.charCodeAt(i + 1);
  const hi = a === 0x3f ? -2 : hexVal(a), lo = b === 0x3f ? -2 : hexVal(b);
  if (hi === -1 || lo === -1) throw new MalformedSignature(`bad hex byte '${s.slice(i, i + 2)}' at ${i}`);
  const value = (hi < 0 ? 0 : hi << 4) | (lo < 0 ? 0 : lo);
  const mask = (hi < 0 ? 0 : 0xf0) | (lo < 0 ? 0 : 0x0f);
  return [value, mask];
}

function parseNumber(s: string, what: string): number {
  if (!/^\d{1,10}$/.test(s)) throw new MalformedSignature(`bad ${what} '${s}'`);
  const n = Number(s);
  if (n > MAX_GAP) throw new UnsupportedSignature(`${what} ${n} too large`);
  return n;
}

function parseBraces(body: string): { min: number; max: number } {
  const m = /^(\d*)(-?)(\d*)$/.exec(body);
  if (!m || (m[1] === '' && m[3] === '')) throw new MalformedSignature(`bad gap '{${body}}'`);
  if (m[2] === '') return { min: parseNumber(m[1], 'gap'), max: parseNumber(m[1], 'gap') };
  const min = m[1] === '' ? 0 : parseNumber(m[1], 'gap');
  const max = m[3] === '' ? Infinity : parseNumber(m[3], 'gap');
  if (max < min) throw new MalformedSignature(`gap '{${body}}' has max < min`);
  return { min, max };
}

function tokenize(s: string): Item[] {
  const items: Item[] = [];
  let run: { value: number[]; mask: number[] } | null = null;
  const flush = () => {
    if (run) items.push({ kind: 'bytes', value: Uint8Array.from(run.value), mask: Uint8Array.from(run.mask) });
    run = null;
  };
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === '*') { flush(); items.push({ kind: 'gap', min: 0, max: Infinity }); i++; continue; }
    if (c === '{') {
      const end = s.indexOf('}', i);
      if (end < 0) throw new MalformedSignature(`unclosed '{' at ${i}`);
      flush();
      items.push({ kind: 'gap', ...parseBraces(s.slice(i + 1, end)) });
      i = end + 1;
      continue;
    }
    if (c === '[') throw new UnsupportedSignature('byte ranges [n-m] are not supported');
    if (c === '(' || (c === '!' && s[i + 1] === '(')) {
      const negate = c === '!';
      const open = negate ? i + 1 : i;
      const end = s.indexOf(')', open);
      if (end < 0) throw new MalformedSignature(`unclosed '(' at ${open}`);
      const body = s.slice(open + 1, end);
      if (/^[BLW]$/.test(body)) throw new UnsupportedSignature(`boundary marker (${body}) is not supported`);
      const alts = body.split('|');
      if (alts.length > MAX_ALTERNATIVES) throw new UnsupportedSignature(`more than ${MAX_ALTERNATIVES} alternatives`);
      const options = alts.map((a) => {
        if (a.length === 0 || a.length % 2 !== 0) throw new MalformedSignature(`bad alternative '${a}'`);
        const value = new Uint8Array(a.length / 2), mask = new Uint8Array(a.length / 2);
        for (let k = 0; k < a.length; k += 2) [value[k / 2], mask[k / 2]] = parseHexByte(a, k);
        return { value, mask };
      });
      const len = options[0].value.length;
      if (options.some((o) => o.value.length !== len)) throw new UnsupportedSignature('alternatives of different lengths are not supported');
      flush();
      // Drop duplicate options, so one position never yields two identical anchor hits.
      const seen = new Set<string>();
      const unique = options.filter((o) => { const k = Buffer.from(o.value).toString('hex') + Buffer.from(o.mask).toString('hex'); return !seen.has(k) && !!seen.add(k); });
      items.push({ kind: 'alt', len, negate, options: unique });
      i = end + 1;
      continue;
    }
    const [value, mask] = parseHexByte(s, i);
    run ??= { value: [], mask: [] };
    run.value.push(value);
    run.mask.push(mask);
    i += 2;
  }
  flush();
  return items;
}

const atomLength = (a: Atom) => (a.kind === 'bytes' ? a.value.length : a.len);
const isAnyByteRun = (a: Atom) => a.kind === 'bytes' && a.mask.every((m) => m === 0);

/** Parses a hex signature into subpatterns and gaps. Throws MalformedSignature or UnsupportedSignature. */
export function parseHexSignature(text: string): ParsedSignature {
  const s = text.trim();
  if (s === '') throw new MalformedSignature('empty signature');
  const items = tokenize(s);
  // Split into subpatterns at gaps; a subpattern made only of `??` is a gap of its length.
  const subs: Atom[][] = [];
  const gaps: Gap[] = [];
  let lead: Gap = { min: 0, max: 0 };
  let pendingGap: Gap | null = null;
  let cur: Atom[] = [];
  const addGap = (g: Gap) => { pendingGap = pendingGap ? { min: pendingGap.min + g.min, max: pendingGap.max + g.max } : { min: g.min, max: g.max }; };
  const closeSub = () => {
    if (cur.length === 0) return;
    if (cur.every(isAnyByteRun)) {
      const n = cur.reduce((t, a) => t + atomLength(a), 0);
      addGap({ min: n, max: n });
    } else {
      if (subs.length === 0) lead = pendingGap ?? lead;
      else gaps.push(pendingGap ?? { min: 0, max: 0 });
      subs.push(cur);
      pendingGap = null;
    }
    cur = [];
  };
  for (const it of items) {
    if (it.kind === 'gap') { closeSub(); addGap(it); } else cur.push(it);
  }
  closeSub();
  // A trailing gap asks for nothing that can be checked; it is dropped.
  if (subs.length === 0) throw new UnsupportedSignature('signature has no fixed bytes');
  if (subs.length > MAX_SUBPATTERNS) throw new UnsupportedSignature(`more than ${MAX_SUBPATTERNS} subpatterns`);
  for (const sub of subs) {
    if (sub.reduce((t, a) => t + atomLength(a), 0) > MAX_SUBPATTERN_BYTES) throw new UnsupportedSignature(`subpattern longer than ${MAX_SUBPATTERN_BYTES} bytes`);
  }
  return { subs, gaps, lead };
}

export function subpatternLength(sub: Atom[]): number {
  return sub.reduce((t, a) => t + atomLength(a), 0);
}

/** Score of a candidate window: distinct byte values, so `00000000` loses to `4d5a9000`. */
function windowScore(bytes: number[], from: number, len: number): number {
  const seen = new Set<number>();
  for (let k = from; k < from + len; k++) seen.add(bytes[k]);
  return seen.size;
}

/**
 * Chooses the anchor of one subpattern: the best window (at most `maxLength` bytes) of exact bytes, or, when an
 * alternative group gives a longer one, that group (each literal option plus its exact neighbours).
 * Throws UnsupportedSignature when the subpattern has no exact byte at all.
 */
export function chooseAnchor(sub: Atom[], maxLength: number): Anchor {
  // Flatten into positions: an exact byte value, -1 for a masked byte, or an alt group index marker.
  const flat: number[] = [];
  const altAt = new Map<number, AltGroup>();
  for (const a of sub) {
    if (a.kind === 'bytes') {
      for (let k = 0; k < a.value.length; k++) flat.push(a.mask[k] === 0xff ? a.value[k] : -1);
    } else {
      altAt.set(flat.length, a);
      for (let k = 0; k < a.len; k++) flat.push(-2);
    }
  }
  let best: Anchor | null = null;
  let bestScore = 0;
  // (a) windows in runs of exact bytes
  for (let i = 0; i < flat.length;) {
    if (flat[i] < 0) { i++; continue; }
    let j = i;
    while (j < flat.length && flat[j] >= 0) j++;
    const len = Math.min(j - i, maxLength);
    let from = i, score = -1;
    for (let k = i; k + len <= j; k++) {
      const sc = windowScore(flat, k, len);
      if (sc > score) { score = sc; from = k; }
      if (score === len) break;
    }
    const total = len * 2 + score;
    if (total > bestScore) { bestScore = total; best = { offset: from, length: len, strings: [Uint8Array.from(flat.slice(from, from + len))] }; }
    i = j;
  }
  // (b) literal alternative groups with their exact neighbours
  for (const [pos, alt] of altAt) {
    if (alt.negate || alt.options.length > MAX_ANCHOR_STRINGS || alt.options.some((o) => o.mask.some((m) => m !== 0xff))) continue;
    if (alt.len > maxLength) continue;
    let left = pos, right = pos + alt.len;
    while (left > 0 && flat[left - 1] >= 0 && right - left < maxLength) left--;
    while (right < flat.length && flat[right] >= 0 && right - left < maxLength) right++;
    const len = right - left;
    const total = len * 2 - 1;
    if (total > bestScore) {
      bestScore = total;
      best = {
        offset: left, length: len,
        strings: alt.options.map((o) => Uint8Array.from([...flat.slice(left, pos), ...o.value, ...flat.slice(pos + alt.len, right)])),
      };
    }
  }
  if (!best) throw new UnsupportedSignature('a subpattern has no exact bytes to anchor on');
  return best;
}

/** True when `sub` matches `data` starting at index `at` (the caller has checked the bounds). */
export function verifySubpattern(sub: Atom[], data: Uint8Array, at: number): boolean {
  let p = at;
  for (const a of sub) {
    if (a.kind === 'bytes') {
      const { value, mask } = a;
      for (let k = 0; k < value.length; k++) {
        if ((data[p + k] & mask[k]) !== value[k]) return false;
      }
      p += value.length;
    } else {
      let any = false;
      for (const o of a.options) {
        let ok = true;
        for (let k = 0; k < a.len; k++) {
          if ((data[p + k] & o.mask[k]) !== o.value[k]) { ok = false; break; }
        }
        if (ok) { any = true; break; }
      }
      if (any === a.negate) return false;
      p += a.len;
    }
  }
  return true;
}
