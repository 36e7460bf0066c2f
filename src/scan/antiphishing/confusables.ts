/**
 * Confusable skeletons for domain labels and display names (anti-phishing, SPEC §3.4): two strings that a reader
 * cannot tell apart get the same skeleton. Modelled on the idea of Unicode TS #39 "skeleton", with a small table
 * of our own covering what phishing actually uses: Cyrillic, Greek, Armenian and Latin look-alike letters (IPA,
 * small capitals, letters with strokes and hooks), folded to ASCII Latin; compatibility forms (fullwidth,
 * mathematical letters) go through NFKC, accents through NFD with the marks dropped.
 *
 * The skeleton is for comparison only (never shown). It lowercases first, so Cyrillic capitals that look like
 * Latin capitals (В Н М Т К) are mapped through their lowercase forms. ASCII look-alikes (digits for letters,
 * `rn` for `m`) are NOT part of the skeleton: they are ordinary characters that honest names use, and
 * lookalike.ts judges them separately and more carefully.
 *
 * Hostile input: any string. Work is linear and bounded by `MAX_CHARS`; nothing here throws.
 */

/** Longest input looked at (longer strings are cut; a domain is at most 253 characters). */
const MAX_CHARS = 1024;

/** Look-alike letter → ASCII letter(s). Lowercase keys only (the input is lowercased first). */
const TABLE: ReadonlyMap<string, string> = new Map(Object.entries({
  // Cyrillic
  'а': 'a', 'б': 'b', 'в': 'b', 'с': 'c', 'ԁ': 'd', 'е': 'e', 'ҽ': 'e', 'ё': 'e', 'һ': 'h', 'н': 'h', 'і': 'i', 'ї': 'i',
  'ј': 'j', 'к': 'k', 'ӏ': 'l', 'м': 'm', 'п': 'n', 'о': 'o', 'ө': 'o', 'р': 'p', 'ԛ': 'q', 'г': 'r', 'ѕ': 's', 'т': 't',
  'у': 'y', 'ү': 'y', 'х': 'x', 'ҳ': 'x', 'ԝ': 'w', 'ѡ': 'w', 'ь': 'b', 'ъ': 'b', 'ѵ': 'v', 'ԍ': 'g', 'ɡ': 'g',
  // Greek
  'α': 'a', 'β': 'b', 'ε': 'e', 'ζ': 'z', 'η': 'n', 'ι': 'i', 'ί': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ό': 'o',
  'ρ': 'p', 'τ': 't', 'υ': 'u', 'ύ': 'u', 'χ': 'x', 'ϲ': 'c', 'ϳ': 'j', 'ω': 'w', 'ɑ': 'a',
  // Armenian
  'օ': 'o', 'ս': 'u', 'ց': 'g', 'հ': 'h', 'ո': 'n', 'ռ': 'n', 'զ': 'q', 'ք': 'p', 'ա': 'w',
  // Latin: IPA, small capitals, strokes, hooks, dotless letters
  'ı': 'i', 'ɩ': 'i', 'ɪ': 'i', 'ȷ': 'j', 'ʟ': 'l', 'ł': 'l', 'ŀ': 'l', 'ƚ': 'l', 'ɫ': 'l', 'ɭ': 'l', 'ɴ': 'n',
  'ɲ': 'n', 'ŋ': 'n', 'ʀ': 'r', 'ɽ': 'r', 'ꜱ': 's', 'ʂ': 's', 'ȿ': 's', 'ᴏ': 'o', 'ø': 'o', 'ɵ': 'o', 'ᴄ': 'c',
  'ƈ': 'c', 'ᴅ': 'd', 'đ': 'd', 'ɗ': 'd', 'ɖ': 'd', 'ᴇ': 'e', 'ɇ': 'e', 'ƅ': 'b', 'ɓ': 'b', 'ƀ': 'b', 'ħ': 'h',
  'ɦ': 'h', 'ŧ': 't', 'ƭ': 't', 'ƶ': 'z', 'ȥ': 'z', 'ɀ': 'z', 'ɠ': 'g', 'ǥ': 'g', 'ƙ': 'k', 'ɱ': 'm', 'ƥ': 'p',
  'ʠ': 'q', 'ʋ': 'v', 'ⱳ': 'w', 'ƴ': 'y', 'ɏ': 'y', 'ᴜ': 'u', 'ᴠ': 'v', 'ᴡ': 'w', 'ᴢ': 'z', 'ᴋ': 'k', 'ᴍ': 'm',
  'ᴘ': 'p', 'ᴛ': 't', 'ʏ': 'y', 'ʜ': 'h', 'ʙ': 'b', 'ɢ': 'g', 'ᴊ': 'j', 'ᴀ': 'a', 'ꞵ': 'b', 'ǀ': 'l',
}));

const MARKS = /\p{Mn}/gu;

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * The skeleton of a string: lowercase ASCII where a look-alike letter was, other characters kept as they are
 * (lowercased, accents dropped). ASCII input is only lowercased.
 */
export function skeleton(input: string): string {
  const s = input.length > MAX_CHARS ? input.slice(0, MAX_CHARS) : input;
  if (isAscii(s)) return s.toLowerCase();
  const t = s.normalize('NFKC').toLowerCase().normalize('NFD').replace(MARKS, '');
  let out = '';
  for (const ch of t) out += TABLE.get(ch) ?? ch;
  return out;
}

export type Script = 'latin' | 'cyrillic' | 'greek' | 'armenian' | 'other';

/** The script of one letter (code point) among those that matter for look-alikes; digits and '-' are none. */
export function scriptOf(cp: number): Script | null {
  if ((cp >= 0x61 && cp <= 0x7a) || (cp >= 0x41 && cp <= 0x5a)) return 'latin';
  if (cp < 0x80) return null;
  if ((cp >= 0xc0 && cp <= 0x24f && cp !== 0xd7 && cp !== 0xf7) || (cp >= 0x250 && cp <= 0x2af) || (cp >= 0x1d00 && cp <= 0x1d7f)
    || (cp >= 0x1e00 && cp <= 0x1eff) || (cp >= 0xa720 && cp <= 0xa7ff) || (cp >= 0x2c60 && cp <= 0x2c7f)) return 'latin';
  if ((cp >= 0x400 && cp <= 0x52f) || (cp >= 0x1c80 && cp <= 0x1c8f) || (cp >= 0x2de0 && cp <= 0x2dff) || (cp >= 0xa640 && cp <= 0xa69f)) return 'cyrillic';
  if ((cp >= 0x370 && cp <= 0x3ff) || (cp >= 0x1f00 && cp <= 0x1fff)) return 'greek';
  if (cp >= 0x530 && cp <= 0x58f) return 'armenian';
  if (cp >= 0x300 && cp <= 0x36f) return null; // combining marks belong to their base letter
  return 'other';
}

/**
 * Scripts of the letters of a label, when it mixes Latin with Cyrillic, Greek or Armenian (or two of those):
 * browsers show such labels as punycode because the mix is a classic spoofing trick. Null when not mixed.
 */
export function mixedScripts(label: string): Script[] | null {
  if (isAscii(label)) return null;
  const seen = new Set<Script>();
  let n = 0;
  for (const ch of label) {
    if (++n > MAX_CHARS) break;
    const s = scriptOf(ch.codePointAt(0)!);
    if (s && s !== 'other') seen.add(s);
  }
  return seen.size >= 2 ? [...seen].sort() : null;
}

/** True when the string has a non-ASCII character that the skeleton turns into an ASCII letter. */
export function hasConfusable(s: string): boolean {
  if (isAscii(s)) return false;
  const t = s.slice(0, MAX_CHARS).normalize('NFKC').toLowerCase().normalize('NFD').replace(MARKS, '');
  for (const ch of t) if (ch.charCodeAt(0) > 0x7f && TABLE.has(ch)) return true;
  return t !== s.slice(0, MAX_CHARS).toLowerCase() && isAscii(t);
}

/**
 * A display name or person name folded for word comparison: the skeleton, with every run of characters other
 * than letters, digits and `&` turned into one space, trimmed. `Jоhn  SMITH, Jr.` → `john smith jr`.
 */
export function foldWords(input: string): string {
  const s = skeleton(input);
  let out = '';
  let space = true;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    const word = (cp >= 0x61 && cp <= 0x7a) || (cp >= 0x30 && cp <= 0x39) || cp === 0x26 || (cp > 0x7f && /\p{L}|\p{N}/u.test(ch));
    if (word) { out += ch; space = false; } else if (!space) { out += ' '; space = true; }
  }
  return out.trimEnd();
}

export { isAscii };
