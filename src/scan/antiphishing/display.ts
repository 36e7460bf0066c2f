/**
 * Display-name impersonation (anti-phishing, SPEC §3.4, BEC): the From display name claims someone the address
 * is not.
 *
 *   protected person  every word of a protected person's name (words of 2+ letters; "John Q. Smith" needs
 *                     john and smith) is in the display name, in any order ("Smith, John"), look-alike letters
 *                     and accents folded; and the address is none of theirs and outside the local domains.
 *                     A one-word name must be the whole display name. A shared first name alone is nothing.
 *                     Mailing-list rewriting ("Jane Doe <jane@example.com> via List", the person's real
 *                     address in the display name, sent from a non-free-mail list domain) is not counted.
 *   brand name        a brand's name as whole words ("PayPal Service") while the address is not the brand's
 *                     (a free-mail address never is, even at the brand's own free-mail service). Names marked
 *                     generic in the brand list ("Apple", "Chase") count only when every other word of the
 *                     display name is a service word ("Apple Support"), so "Chase Miller" is just a person.
 *   protected domain  the display name shows a protected domain (a local domain, an extra protected domain, a
 *                     brand's domain: "support@paypal.com" <x@elsewhere>) while the address is elsewhere; not
 *                     counted for mailing-list rewriting ("Jane Doe <jane@example.com> via List").
 * Domain-looking words of the display name are also handed back, for the look-alike check.
 *
 * Hostile input: the decoded display name. It is cut to 256 characters, at most 16 domain-looking words are
 * taken, and every lookup is by word (a hash), so the work does not grow with the number of protected people.
 */
import type { Brand, BrandName } from './brands.ts';
import { foldWords } from './confusables.ts';
import { registrable, toAsciiHost, type DomainGuard, type Owner } from './lookalike.ts';
import { SERVICE_WORDS } from './lists.ts';

export interface ProtectedPerson { name: string; addresses: readonly string[] }

interface PersonEntry { name: string; words: string[]; addresses: Set<string> }

export class PeopleIndex {
  private readonly byWord = new Map<string, PersonEntry[]>();
  readonly size: number;

  constructor(people: readonly ProtectedPerson[]) {
    let n = 0;
    for (const p of people) {
      const words = [...new Set(foldWords(p.name).split(' ').filter((w) => w.length >= 2))];
      if (!words.length) continue;
      const entry: PersonEntry = { name: p.name, words, addresses: new Set(p.addresses.map((a) => a.trim().toLowerCase()).filter(Boolean)) };
      // Indexed under its rarest-looking word: the longest (a surname more often than not).
      const key = words.reduce((a, b) => (b.length > a.length ? b : a));
      const list = this.byWord.get(key);
      if (list) list.push(entry); else this.byWord.set(key, [entry]);
      n++;
    }
    this.size = n;
  }

  /** Protected people whose whole name is in the display name. */
  match(display: string): PersonEntry[] {
    const words = foldWords(display).split(' ').filter(Boolean);
    const set = new Set(words);
    const out: PersonEntry[] = [];
    for (const w of set) {
      for (const e of this.byWord.get(w) ?? []) {
        if (e.words.every((x) => set.has(x)) && (e.words.length > 1 || set.size === 1)) out.push(e);
      }
    }
    return out;
  }
}

export interface BrandIndexEntry { brand: Brand; name: BrandName; words: string[] }

export class BrandNameIndex {
  private readonly byFirst = new Map<string, BrandIndexEntry[]>();

  constructor(brands: readonly Brand[]) {
    for (const brand of brands) {
      for (const name of brand.names) {
        const words = name.words.split(' ');
        const list = this.byFirst.get(words[0]);
        const e = { brand, name, words };
        if (list) list.push(e); else this.byFirst.set(words[0], [e]);
      }
    }
  }

  /** Brands named in the display name (generic names only among service words). */
  match(display: string): BrandIndexEntry[] {
    const words = foldWords(display).split(' ').filter(Boolean);
    const out: BrandIndexEntry[] = [];
    for (let i = 0; i < words.length && i < 64; i++) {
      for (const e of this.byFirst.get(words[i]) ?? []) {
        if (out.some((o) => o.brand === e.brand)) continue;
        if (!e.words.every((w, k) => words[i + k] === w)) continue;
        if (e.name.generic) {
          const others = words.filter((_, k) => k < i || k >= i + e.words.length);
          if (!others.every((w) => SERVICE_WORDS.has(w) || /^\d+$/.test(w))) continue;
        }
        out.push(e);
      }
    }
    return out;
  }
}

const DOMAIN_WORD = /[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,62})(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,62}))+/gu;

/** Domain-looking words of a display name (`paypal.com`, `support@paypal.com` → `paypal.com`), ASCII hosts. */
export function displayDomains(display: string): string[] {
  const out: string[] = [];
  const s = display.length > 256 ? display.slice(0, 256) : display;
  DOMAIN_WORD.lastIndex = 0;
  for (let m = DOMAIN_WORD.exec(s); m && out.length < 16; m = DOMAIN_WORD.exec(s)) {
    const host = toAsciiHost(m[0]);
    if (host && registrable(host) && !out.includes(host)) out.push(host);
  }
  DOMAIN_WORD.lastIndex = 0;
  return out;
}

/** The display name with its domain-looking words (and addresses) removed, for the brand-name check. */
export function withoutDomains(display: string): string {
  const s = display.length > 256 ? display.slice(0, 256) : display;
  return s.replace(/[^\s<>"'()@]{0,64}@/g, ' ').replace(DOMAIN_WORD, ' ');
}

export interface DisplayFinding {
  id: 'PROTECTED_PERSON_IMPERSONATION' | 'DISPLAY_NAME_BRAND' | 'DISPLAY_NAME_PROTECTED_DOMAIN';
  evidence: string;
  /** The person, brand or domain claimed. */
  label: string;
}

export interface DisplayInput {
  display: string;
  /** The From address, lowercased. */
  address: string;
  /** Registrable domain of the From address (null when there is none). */
  domain: string | null;
  /** True when the From domain is (under) a local domain. */
  local: boolean;
  /** True when the From domain is a free-mail provider. */
  freemail: boolean;
}

/** Display-name findings for one From field. */
export function displayFindings(input: DisplayInput, people: PeopleIndex, brands: BrandNameIndex, guard: DomainGuard): DisplayFinding[] {
  const out: DisplayFinding[] = [];
  const display = input.display.length > 256 ? input.display.slice(0, 256) : input.display;
  if (!display.trim()) return out;
  const fromOwner: Owner | undefined = input.domain ? guard.owners.get(input.domain) : undefined;

  const viaList = /\bvia\b/i.test(display);
  if (people.size && !input.local) {
    const lower = display.toLowerCase();
    for (const p of people.match(display)) {
      if (p.addresses.has(input.address)) continue;
      // A mailing list that rewrites From ("Jane Doe <jane@example.com> via List" <list@lists.example.org>)
      // names the person's real address; a free-mail sender doing so is not a list.
      if (viaList && !input.freemail && [...p.addresses].some((a) => lower.includes(a))) continue;
      out.push({ id: 'PROTECTED_PERSON_IMPERSONATION', evidence: `${p.name} from ${input.address || '(no address)'}`, label: p.name });
      break;
    }
  }

  const owned = (o: Owner | undefined) => o !== undefined && o === fromOwner && !input.freemail;
  for (const e of brands.match(withoutDomains(display))) {
    if (owned(guard.owners.get(e.brand.domains[0]))) continue;
    out.push({ id: 'DISPLAY_NAME_BRAND', evidence: `${e.name.text} from ${input.domain ?? '(no domain)'}`, label: e.name.text });
    break;
  }

  if (!viaList) {
    for (const host of displayDomains(display)) {
      const d = registrable(host);
      const o = d ? guard.owners.get(d) : undefined;
      if (!o || owned(o) || (o.kind === 'local' && input.local)) continue;
      out.push({ id: 'DISPLAY_NAME_PROTECTED_DOMAIN', evidence: `${d} from ${input.domain ?? '(no domain)'}`, label: d! });
      break;
    }
  }
  return out;
}
