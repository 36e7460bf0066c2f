/**
 * The brand list of the anti-phishing module (data/antiphishing/brands.txt, format documented at the top of that
 * file and in docs/antiphishing.md): per brand its display names, the keywords looked for inside other domains,
 * and the registrable domains it really owns.
 *
 * Input: an administrator's file (trusted, but checked): a bad line is reported with its number and the whole
 * file is refused (a half-read list would silently weaken protection). Limits: 2,000 brands, 200 domains and 50
 * names or keywords per brand, 200 characters per name.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { getDomain } from 'tldts';
import { foldWords } from './confusables.ts';

export const DEFAULT_BRANDS_PATH = fileURLToPath(new URL('../../../data/antiphishing/brands.txt', import.meta.url));

export interface BrandName {
  /** As written in the file (for evidence). */
  text: string;
  /** Folded words (confusables.ts foldWords), e.g. `bank of america`. */
  words: string;
  /** A common word or first name: counts only next to service words. */
  generic: boolean;
}

export interface BrandKeyword {
  /** Lowercase letters and digits, hyphens removed. */
  word: string;
  /** Only as a whole label or hyphen-separated token. */
  tokenOnly: boolean;
}

export interface Brand {
  /** The first name, for evidence. */
  name: string;
  names: BrandName[];
  keywords: BrandKeyword[];
  /** Registrable domains, lowercase ASCII. */
  domains: string[];
}

export class BrandsError extends Error {}

const LIMITS = { brands: 2000, perBrand: 200, names: 50, nameChars: 200 } as const;

/** Parses the brands file text; throws BrandsError naming the line for anything malformed. */
export function parseBrands(text: string, source = 'brands'): Brand[] {
  const out: Brand[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line || line.startsWith('#')) continue;
    const where = `${source}:${i + 1}`;
    const fields = line.split('|').map((f) => f.trim());
    if (fields.length !== 3) throw new BrandsError(`${where}: expected "names | keywords | domains"`);
    const [namesField, keywordsField, domainsField] = fields;
    if (out.length >= LIMITS.brands) throw new BrandsError(`${where}: more than ${LIMITS.brands} brands`);

    const names: BrandName[] = [];
    for (const raw of namesField.split(',').map((n) => n.trim()).filter(Boolean)) {
      const generic = raw.startsWith('=');
      const textName = generic ? raw.slice(1).trim() : raw;
      if (!textName || textName.length > LIMITS.nameChars) throw new BrandsError(`${where}: bad name ${JSON.stringify(raw)}`);
      const words = foldWords(textName);
      if (!words) throw new BrandsError(`${where}: name ${JSON.stringify(raw)} has no letters`);
      names.push({ text: textName, words, generic });
    }
    if (!names.length || names.length > LIMITS.names) throw new BrandsError(`${where}: 1 to ${LIMITS.names} names expected`);

    const keywords: BrandKeyword[] = [];
    if (keywordsField !== '-') {
      for (const raw of keywordsField.split(/\s+/).filter(Boolean)) {
        const tokenOnly = raw.startsWith('=');
        const word = (tokenOnly ? raw.slice(1) : raw).toLowerCase().replace(/-/g, '');
        if (!/^[a-z0-9]{2,63}$/.test(word)) throw new BrandsError(`${where}: bad keyword ${JSON.stringify(raw)}`);
        if (!tokenOnly && word.length < 5) throw new BrandsError(`${where}: keyword ${JSON.stringify(raw)} is shorter than 5 letters; write it =${word}`);
        keywords.push({ word, tokenOnly });
      }
      if (keywords.length > LIMITS.names) throw new BrandsError(`${where}: more than ${LIMITS.names} keywords`);
    }

    const domains: string[] = [];
    for (const raw of domainsField.split(/\s+/).filter(Boolean)) {
      const d = raw.toLowerCase().replace(/\.$/, '');
      if (getDomain(d) !== d) throw new BrandsError(`${where}: ${JSON.stringify(raw)} is not a registrable domain`);
      if (!domains.includes(d)) domains.push(d);
    }
    if (!domains.length || domains.length > LIMITS.perBrand) throw new BrandsError(`${where}: 1 to ${LIMITS.perBrand} domains expected`);
    out.push({ name: names[0].text, names, keywords, domains });
  }
  return out;
}

export async function loadBrands(path: string = DEFAULT_BRANDS_PATH): Promise<Brand[]> {
  return parseBrands(await readFile(path, 'utf8'), path);
}
