/**
 * Look-alike domains (anti-phishing, SPEC §3.4): is a host name dressed up as one of the protected domains (the
 * local domains, extra protected domains, and the brands of data/antiphishing/brands.txt)?
 *
 * Kinds of look-alike, strongest first:
 *   homoglyph    the registrable label reads like a protected one through look-alike letters (Cyrillic `а` for
 *                `a`, punycode `xn--pypal-4ve.com`), digits for letters (`paypa1`, `micr0soft`) or a capital I
 *                for l (`paypaI` → `paypai`); or a brand spelled with look-alike letters inside another domain;
 *   brand_lure   a brand keyword, or a brand's whole domain (`paypal.com.evil.example`), inside another domain
 *                together with account words (`secure-paypal-login.example`, `paypal.account-verify.example`);
 *   typo         Damerau-Levenshtein (optimal string alignment) distance 1 from a protected label of 5+
 *                characters, 2 from one of 9+ (`paypall`, `micosoft`); `rn` for `m`, `vv` for `w`, `cl` for `d`;
 *                a local or protected domain's name under another suffix (`example.co` for `example.com`).
 *                Brand domains are typo targets only when their label is one of the brand's keywords
 *                (`paypal.com`, not `windows.net`: one letter from a word is mostly another word);
 *   brand        a brand keyword inside another domain, without account words (`paypal.zendesk.example`);
 *   mixed_script a label mixing Latin with Cyrillic, Greek or Armenian letters.
 * Registrable domains come from tldts (ICANN section). A host under a domain the brand or the site really owns
 * is never a look-alike, and a brand's own domains never count against another brand's; neither do the big
 * free-mail providers (`mail.com` is one edit from `gmail.com` and is nobody's impostor).
 *
 * Hostile input: host names from links and headers. Each host is cut to 253 characters and 20 labels; the
 * distance check only compares labels of similar length, with a bounded dynamic programme. Results are cached
 * per guard (at most CACHE_MAX hosts, then the cache starts over). Nothing here throws.
 */
import { domainToASCII, domainToUnicode } from 'node:url';
import { parse } from 'tldts';
import type { Brand } from './brands.ts';
import { hasConfusable, isAscii, mixedScripts, skeleton } from './confusables.ts';
import { FREEMAIL_DOMAINS, LURE_SUBSTRINGS, LURE_TOKENS } from './lists.ts';

export type LookalikeKind = 'homoglyph' | 'brand_lure' | 'typo' | 'brand' | 'mixed_script';

/** Who a protected domain belongs to. */
export interface Owner {
  id: number;
  /** Brand name, `local domains`, or the protected domain itself. */
  name: string;
  kind: 'local' | 'protected' | 'brand';
  brand?: Brand;
}

export interface LookalikeHit {
  kind: LookalikeKind;
  /** The registrable domain of the host (ASCII, punycode). */
  domain: string;
  /** The same as the reader sees it (Unicode), when it differs. */
  shown?: string;
  /** What it imitates: a protected domain, or a brand keyword. */
  target: string;
  owner: Owner | null;
  /** How, in a few words. */
  how: string;
}

export const KIND_ORDER: readonly LookalikeKind[] = ['homoglyph', 'brand_lure', 'typo', 'brand', 'mixed_script'];

interface Target { label: string; domain: string; owner: Owner }
interface Keyword { word: string; tokenOnly: boolean; owner: Owner }

const CACHE_MAX = 20_000;
/** Digits standing in for letters. */
const DIGIT_FOR: Readonly<Record<string, string>> = { 0: 'o', 1: 'li', 3: 'e', 4: 'a', 5: 's', 6: 'b', 7: 't', 8: 'b', 9: 'g' };
/** ASCII letter pairs that read as one letter in most fonts. */
const ASCII_PAIRS: readonly [string, string][] = [['rn', 'm'], ['vv', 'w'], ['cl', 'd']];

/** A host or domain as lowercase ASCII (IDNA), without a trailing dot; null when it is not a valid name. */
export function toAsciiHost(s: string): string | null {
  let t = s.trim();
  if (!t || t.length > 253 * 4) return null;
  if (t.endsWith('.')) t = t.slice(0, -1);
  const a = isAscii(t) ? t.toLowerCase() : domainToASCII(t);
  if (!a || a.length > 253 || !/^[a-z0-9._-]+$/.test(a) || a.startsWith('.') || a.includes('..')) return null;
  return a;
}

function toUnicodeLabel(label: string): string {
  if (!label.startsWith('xn--')) return label;
  const u = domainToUnicode(label);
  return u || label;
}

/** The registrable domain (ICANN section) of an ASCII host, or null for IPs, single labels and bare suffixes. */
export function registrable(asciiHost: string): string | null {
  if (/^[0-9.]+$/.test(asciiHost) || asciiHost.includes(':')) return null;
  return parse(asciiHost).domain ?? null;
}

const MAX_LABEL = 63;
const rows = [new Int32Array(MAX_LABEL + 2), new Int32Array(MAX_LABEL + 2), new Int32Array(MAX_LABEL + 2)];
const bag = new Int32Array(129);

/** A lower bound of the edit distance from the letters alone (characters one has and the other lacks). */
function bagDistance(a: string, b: string): number {
  for (let i = 0; i < a.length; i++) bag[Math.min(a.charCodeAt(i), 128)]++;
  for (let i = 0; i < b.length; i++) bag[Math.min(b.charCodeAt(i), 128)]--;
  let pos = 0;
  let neg = 0;
  const settle = (c: number) => {
    const v = bag[c];
    if (v > 0) pos += v; else if (v < 0) neg -= v;
    bag[c] = 0;
  };
  for (let i = 0; i < a.length; i++) settle(Math.min(a.charCodeAt(i), 128));
  for (let i = 0; i < b.length; i++) settle(Math.min(b.charCodeAt(i), 128));
  return Math.max(pos, neg);
}

/**
 * Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions), or max + 1 as soon as
 * it is certain to exceed `max`. Strings longer than 63 characters are never close to anything.
 */
export function editDistance(a: string, b: string, max: number): number {
  if (a === b) return 0;
  if (Math.abs(a.length - b.length) > max || a.length > MAX_LABEL || b.length > MAX_LABEL) return max + 1;
  if (bagDistance(a, b) > max) return max + 1;
  const n = b.length;
  let [prev2, prev, cur] = rows;
  for (let j = 0; j <= n; j++) { prev[j] = j; prev2[j] = 0; }
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    const ai = a.charCodeAt(i - 1);
    for (let j = 1; j <= n; j++) {
      const bj = b.charCodeAt(j - 1);
      let v = prev[j - 1] + (ai === bj ? 0 : 1);
      if (prev[j] + 1 < v) v = prev[j] + 1;
      if (cur[j - 1] + 1 < v) v = cur[j - 1] + 1;
      if (i > 1 && j > 1 && ai === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === bj && prev2[j - 2] + 1 < v) v = prev2[j - 2] + 1;
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n];
}

/** How `cand` spells `target` with digits in place of some letters (at least one), or null when it does not. */
function digitSpelling(cand: string, target: string): string | null {
  if (cand.length !== target.length) return null;
  let used: string | null = null;
  for (let i = 0; i < cand.length; i++) {
    const c = cand[i];
    const t = target[i];
    if (c === t) continue;
    const may = DIGIT_FOR[c];
    if (!may || !may.includes(t)) return null;
    used ??= `${c} for ${t}`;
  }
  return used;
}

export interface GuardInput {
  localDomains?: readonly string[];
  protectedDomains?: readonly string[];
  brands?: readonly Brand[];
}

export class DomainGuard {
  /** Registrable domain → its owner. */
  readonly owners = new Map<string, Owner>();
  private readonly bySkeleton = new Map<string, Target[]>();
  /** Typing-error targets by label length: local and protected labels, brand labels that are brand keywords. */
  private readonly byLength = new Map<number, Target[]>();
  private readonly allByLength = new Map<number, Target[]>();
  /** Whole-token keywords by word; substring keywords by their first two characters, in file order. */
  private readonly tokenKeywords = new Map<string, Keyword>();
  private readonly substringKeywords = new Map<string, Keyword[]>();
  private keywordCount = 0;
  private readonly cache = new Map<string, LookalikeHit | null>();

  constructor(input: GuardInput) {
    let id = 0;
    const local: Owner = { id: id++, name: 'local domains', kind: 'local' };
    const add = (raw: string, owner: Owner) => {
      const ascii = toAsciiHost(raw);
      const d = ascii && registrable(ascii);
      if (!d || this.owners.has(d)) return;
      this.owners.set(d, owner);
      const label = skeleton(toUnicodeLabel(parse(d).domainWithoutSuffix ?? ''));
      if (label.length < 3) return;
      const t: Target = { label, domain: d, owner };
      const s = this.bySkeleton.get(label);
      if (s) s.push(t); else this.bySkeleton.set(label, [t]);
      // A brand's domains under other words (windows.net, office.com, live.com) are its own, but a typing error
      // away from such a word is usually just another word (lindows, officer): only keyword labels are typo
      // targets. Look-alike letters and digits are judged against every label.
      const all = this.allByLength.get(label.length);
      if (all) all.push(t); else this.allByLength.set(label.length, [t]);
      if (owner.kind !== 'brand' || owner.brand?.keywords.some((k) => k.word === label)) {
        const l = this.byLength.get(label.length);
        if (l) l.push(t); else this.byLength.set(label.length, [t]);
      }
      // A local or protected domain's own long name is looked for inside other domains, like a brand keyword.
      if (owner.kind !== 'brand' && label.length >= 6 && /^[a-z0-9-]+$/.test(label)) {
        this.addKeyword({ word: label.replace(/-/g, ''), tokenOnly: false, owner });
      }
    };
    for (const d of input.localDomains ?? []) add(d, local);
    for (const d of input.protectedDomains ?? []) {
      const ascii = toAsciiHost(d);
      add(d, { id: id++, name: (ascii && registrable(ascii)) || d, kind: 'protected' });
    }
    for (const b of input.brands ?? []) {
      const owner: Owner = { id: id++, name: b.name, kind: 'brand', brand: b };
      for (const d of b.domains) add(d, owner);
      for (const k of b.keywords) this.addKeyword({ word: k.word, tokenOnly: k.tokenOnly, owner });
    }
  }

  private addKeyword(k: Keyword): void {
    const order = this.keywordCount++;
    const entry = { ...k, order };
    if (k.tokenOnly) { if (!this.tokenKeywords.has(k.word)) this.tokenKeywords.set(k.word, entry); return; }
    const key = k.word.slice(0, 2);
    const list = this.substringKeywords.get(key);
    if (list) list.push(entry); else this.substringKeywords.set(key, [entry]);
  }

  /** Keywords found in the host's tokens and labels (hyphens removed), in file order. */
  private findKeywords(tokens: readonly string[], compact: readonly string[]): Keyword[] {
    const found = new Map<Keyword, number>();
    for (const t of tokens) {
      const k = this.tokenKeywords.get(t);
      if (k) found.set(k, (k as Keyword & { order: number }).order);
    }
    for (const c of compact) {
      for (let i = 0; i + 1 < c.length; i++) {
        const list = this.substringKeywords.get(c.slice(i, i + 2));
        if (!list) continue;
        for (const k of list) if (c.startsWith(k.word, i)) found.set(k, (k as Keyword & { order: number }).order);
      }
    }
    return [...found.entries()].sort((a, b) => a[1] - b[1]).map(([k]) => k);
  }

  /** The owner of a host's registrable domain, if it is protected. */
  ownerOf(host: string): Owner | undefined {
    const a = toAsciiHost(host);
    const d = a && registrable(a);
    return d ? this.owners.get(d) : undefined;
  }

  /** Judges one host name (ASCII or Unicode); null when it imitates nothing. */
  check(host: string): LookalikeHit | null {
    const ascii = toAsciiHost(host);
    if (!ascii) return null;
    const cached = this.cache.get(ascii);
    if (cached !== undefined) return cached;
    let hit: LookalikeHit | null = null;
    try { hit = this.judge(ascii); } catch { hit = null; }
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(ascii, hit);
    return hit;
  }

  private judge(ascii: string): LookalikeHit | null {
    const p = parse(ascii);
    const domain = p.domain;
    if (!domain || p.isIp || !p.publicSuffix || this.owners.has(domain) || FREEMAIL_DOMAINS.has(domain)) return null;
    const hits: LookalikeHit[] = [];
    const labelU = toUnicodeLabel(p.domainWithoutSuffix ?? '');
    const shownDomain = `${labelU}.${p.publicSuffix}`;
    const shown = shownDomain !== domain ? shownDomain : undefined;
    const mk = (kind: LookalikeKind, target: string, owner: Owner | null, how: string): LookalikeHit => ({ kind, domain, ...(shown ? { shown } : {}), target, owner, how });
    const sk = skeleton(labelU);
    const nonAscii = !isAscii(labelU);

    // 1. The registrable label against protected labels: same skeleton, digits for letters, small edits.
    const same = this.bySkeleton.get(sk);
    if (same) {
      const t = same[0];
      if (nonAscii) hits.push(mk('homoglyph', t.domain, t.owner, hasConfusable(labelU) ? 'look-alike letters' : 'look-alike characters'));
      else {
        const own = same.find((x) => x.owner.kind !== 'brand');
        if (own) hits.push(mk('typo', own.domain, own.owner, `same name under .${p.publicSuffix}`));
      }
    }
    if (!hits.length && sk.length >= 4 && /[0-9]/.test(sk)) {
      for (const t of this.allByLength.get(sk.length) ?? []) {
        const how = digitSpelling(sk, t.label);
        if (how) { hits.push(mk('homoglyph', t.domain, t.owner, how)); break; }
      }
    }
    if (!hits.length) {
      let best: { t: Target; d: number; how: string } | null = null;
      const consider = (cand: string, viaHow: string | null) => {
        for (let len = cand.length - 2; len <= cand.length + 2; len++) {
          for (const t of this.byLength.get(len) ?? []) {
            const k = t.label.length >= 9 ? 2 : t.label.length >= 5 ? 1 : 0;
            if (k === 0) continue;
            const d = viaHow ? (cand === t.label ? 0 : k + 1) : editDistance(cand, t.label, k);
            if (d > k || (d === 0 && !viaHow) || (best && best.d <= d)) continue;
            best = { t, d, how: viaHow ?? `edit distance ${d}` };
          }
        }
      };
      if (sk.length >= 4) {
        consider(sk, null);
        for (const [pair, letter] of ASCII_PAIRS) if (sk.includes(pair)) consider(sk.replaceAll(pair, letter), `${pair} for ${letter}`);
      }
      if (best) {
        const b = best as { t: Target; d: number; how: string };
        hits.push(mk(nonAscii ? 'homoglyph' : 'typo', b.t.domain, b.t.owner, nonAscii ? `look-alike letters, ${b.how}` : b.how));
      }
    }

    // 2. Brand keywords and whole protected domains inside the host's other labels.
    const rest = ascii.slice(0, ascii.length - p.publicSuffix.length - 1);
    const labels = rest.split('.').slice(-20).map(toUnicodeLabel);
    // The bare name of the registrable domain is never "a brand inside another domain": `slack.net` or
    // `cisco.com.au` is someone's own name under a suffix the brand does not use.
    const bareName = skeleton(labelU);
    const skLabels = labels.map(skeleton);
    const tokens = skLabels.flatMap((l) => l.split('-')).filter(Boolean);
    const rawTokens = new Set(labels.flatMap((l) => l.toLowerCase().split('-')).filter(Boolean));
    const compact = skLabels.map((l) => l.replace(/-/g, ''));
    const rawCompact = labels.map((l) => l.toLowerCase().replace(/-/g, ''));
    let brandHit: { owner: Owner; target: string; confusable: boolean; embedded: boolean } | null = null;
    const registrableIndex = labels.length - 1;
    for (let i = 0; i < tokens.length && !brandHit; i++) {
      for (let w = 2; w <= 3 && i + w <= tokens.length; w++) {
        const joined = tokens.slice(i, i + w).join('.');
        const owner = this.owners.get(joined);
        if (owner && joined !== domain) {
          const confusable = !tokens.slice(i, i + w).every((t) => rawTokens.has(t));
          brandHit = { owner, target: joined, confusable, embedded: true };
          break;
        }
      }
    }
    if (!brandHit) {
      // The first keyword found, unless another one is spelled with look-alike letters (that one says more).
      for (const k of this.findKeywords(tokens, compact)) {
        if (k.word === bareName.replace(/-/g, '')) {
          const sub = skLabels.slice(0, registrableIndex);
          const inSub = k.tokenOnly ? sub.some((l) => l.split('-').includes(k.word)) : sub.some((l) => l.replace(/-/g, '').includes(k.word));
          if (!inSub) continue;
        }
        const raw = k.tokenOnly ? rawTokens.has(k.word) : rawCompact.some((c) => c.includes(k.word));
        if (!raw) { brandHit = { owner: k.owner, target: k.word, confusable: true, embedded: false }; break; }
        brandHit ??= { owner: k.owner, target: k.word, confusable: false, embedded: false };
      }
    }
    if (brandHit) {
      const lure = brandHit.embedded || tokens.some((t) => LURE_TOKENS.has(t)) || compact.some((c) => LURE_SUBSTRINGS.some((s) => c.includes(s) && !brandHit.target.includes(s)));
      const what = brandHit.embedded ? `${brandHit.target} inside another domain` : `brand keyword ${brandHit.target}`;
      if (brandHit.confusable) hits.push(mk('homoglyph', brandHit.target, brandHit.owner, `${what}, look-alike letters`));
      else hits.push(mk(lure ? 'brand_lure' : 'brand', brandHit.target, brandHit.owner, lure && !brandHit.embedded ? `${what} with account words` : what));
    }

    // 3. Mixed scripts in any label.
    if (!hits.length) {
      for (const l of labels.concat(labelU)) {
        const mixed = mixedScripts(l);
        if (mixed) { hits.push(mk('mixed_script', l, null, `label mixes ${mixed.join(' and ')} letters`)); break; }
      }
    }
    if (!hits.length) return null;
    hits.sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind));
    return hits[0];
  }
}
