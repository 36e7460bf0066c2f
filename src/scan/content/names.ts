/**
 * Attachment names for the content filter (SPEC §3.5): how a hostile file name is reduced to the names a
 * recipient's system would act on, and how name masks are matched against them.
 *
 * Input is hostile: a declared MIME file name (already RFC 2047/2231 decoded by the model), a uuencode or TNEF
 * name, or an archive member path. Tricks that must not evade a mask such as `*.exe`:
 * - case (`A.EXE`), compatibility forms (full-width `ａ．ｅｘｅ`; NFKC normalisation) and dot lookalikes that
 *   NFKC leaves alone (`。`, `܂`, `ꓸ` …; mapped to `.` — over-blocking is the safe side);
 * - invisible format characters (Unicode category Cf: bidi controls, zero-width spaces, BOM, soft hyphen) and
 *   control characters, removed before matching; bidi controls (U+202A–202E, U+2066–2069, U+200E/F, U+061C)
 *   are also reported on their own, since a legitimate name never needs them;
 * - Windows name rules: trailing dots and spaces are dropped (`a.exe.`, `a.exe `), an NTFS stream suffix
 *   names the file before it (`a.exe:Zone.Identifier`, `a.exe::$DATA`), a drive prefix the file after it
 *   (`C:a.exe`); a NUL ends the name for some readers (`a.exe\0.txt`);
 * - paths (`dir/a.exe`, `dir\a.exe`): masks without a separator are matched against the base name only;
 * - double extensions (`invoice.pdf.exe`, also with padding `invoice.pdf      .exe`): the last extension is
 *   the real one, so `*.exe` matches; doubleExtension() also names the decoy pattern (`*.pdf.exe`).
 *
 * Masks: `*` any run of characters, `?` one character, everything else literal; case-insensitive, NFKC
 * normalised like names. Matching is a linear-space wildcard walk (O(name × mask) at worst), never a RegExp
 * built from configuration, so a hostile name cannot trigger catastrophic backtracking.
 */

/** Bidirectional formatting controls: LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI, LRM, RLM, ALM. */
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/u;

/** Format (Cf) and control (Cc) characters: invisible in a name, removed before matching. */
const INVISIBLE = /[\p{Cf}\p{Cc}]/gu;

/** Characters that look like a full stop and survive NFKC (ideographic, Armenian, Syriac, Lisu, Vai, …). */
const DOT_LOOKALIKES = /[\u3002\u06D4\u0701\u0702\u2E3C\uA4F8\uA60E\u1362\u2E33\u00B7\u2219\u22C5\u30FB]/gu;

const TRAILING_DOTS_AND_SPACES = /[.\s]+$/u;

/**
 * Extensions a decoy may hide (the last extension of a double extension is judged dangerous when it is here).
 * Windows-executable or auto-mounting types: programs, scripts, shortcuts, installers, disk images.
 */
const DANGEROUS_EXTENSIONS = new Set([
  'exe', 'scr', 'com', 'pif', 'bat', 'cmd', 'js', 'jse', 'vbs', 'vbe', 'wsf', 'wsh', 'ws', 'hta', 'lnk', 'msi',
  'msp', 'mst', 'jar', 'ps1', 'psm1', 'cpl', 'reg', 'dll', 'sct', 'msc', 'chm', 'hlp', 'inf', 'scf', 'url',
  'application', 'appref-ms', 'gadget', 'xll', 'iso', 'img', 'vhd', 'vhdx', 'appx', 'msix',
]);

/** Extensions that make a believable decoy in front of a dangerous one (documents, media, archives, web). */
const DECOY_EXTENSIONS = new Set([
  'pdf', 'doc', 'docx', 'docm', 'xls', 'xlsx', 'xlsm', 'ppt', 'pptx', 'rtf', 'odt', 'ods', 'odp', 'txt', 'csv',
  'jpg', 'jpeg', 'png', 'gif', 'bmp', 'tif', 'tiff', 'webp', 'heic', 'svg', 'mp3', 'mp4', 'wav', 'avi', 'mov',
  'mkv', 'zip', 'rar', '7z', 'htm', 'html', 'xml', 'eml', 'msg', 'ics', 'vcf',
]);

/** What the content filter judges about one name. */
export interface NameView {
  /** Normalised base names a reader could act on (first = the plain reading); empty when there is none. */
  candidates: string[];
  /** Normalised full path (separators `/`), for masks that contain a separator. */
  path: string;
  /** The raw name contains a bidi control (after NFKC). */
  hasBidi: boolean;
}

function clean(s: string): string {
  return s.replace(INVISIBLE, '').replace(TRAILING_DOTS_AND_SPACES, '').trim().toLowerCase();
}

/** Reduces a hostile name to the lower-case names that masks are matched against. */
export function viewName(raw: string): NameView {
  const nfkc = raw.normalize('NFKC').replace(DOT_LOOKALIKES, '.');
  const hasBidi = BIDI_CONTROLS.test(nfkc);
  const readings = [nfkc];
  const nul = nfkc.indexOf('\0');
  if (nul >= 0) readings.push(nfkc.slice(0, nul));

  const candidates = new Set<string>();
  let path = '';
  for (const reading of readings) {
    const full = reading.replace(INVISIBLE, '').replace(/\\/g, '/');
    if (reading === nfkc) path = full.split('/').map(clean).join('/');
    const base = full.slice(full.lastIndexOf('/') + 1);
    const colon = base.indexOf(':');
    // `a.exe:stream` is a stream of a.exe; `C:a.exe` is a.exe on drive C. Keep every reading.
    const names = colon < 0 ? [base] : [base, base.slice(0, colon), base.slice(base.lastIndexOf(':') + 1)];
    for (const name of names) {
      const c = clean(name);
      if (c !== '') candidates.add(c);
    }
  }
  return { candidates: [...candidates], path, hasBidi };
}

/**
 * The decoy pattern of a double extension whose last extension is dangerous, e.g. `*.pdf.exe` for
 * `invoice.pdf.exe` or `invoice.pdf     .exe`; undefined otherwise. Takes a candidate from viewName().
 */
export function doubleExtension(candidate: string): string | undefined {
  const segments = candidate.split('.');
  if (segments.length < 3) return undefined;
  const last = segments[segments.length - 1].trim();
  const decoy = segments[segments.length - 2].trim();
  if (!DANGEROUS_EXTENSIONS.has(last) || !DECOY_EXTENSIONS.has(decoy)) return undefined;
  return `*.${decoy}.${last}`;
}

/** A name mask ready for matching. */
export interface NameMask {
  /** The mask as configured, for detection names (`banned_name:<source>`). */
  source: string;
  /** Code points of the normalised mask. */
  pattern: string[];
  /** The mask contains a path separator: matched against the whole path rather than the base name. */
  pathMask: boolean;
}

/** Compiles a configured mask; undefined for a blank one. */
export function compileMask(source: string): NameMask | undefined {
  const normalised = source.normalize('NFKC').replace(INVISIBLE, '').replace(/\\/g, '/').trim().toLowerCase();
  if (normalised === '') return undefined;
  return { source, pattern: [...normalised], pathMask: normalised.includes('/') };
}

/** Wildcard match of a whole string: `*` any run, `?` one code point. Backtracks only to the last `*`. */
export function wildcardMatch(pattern: readonly string[], text: string): boolean {
  const s = [...text];
  let p = 0;
  let i = 0;
  let star = -1;
  let resume = 0;
  while (i < s.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = i;
    } else if (p < pattern.length && (pattern[p] === '?' || pattern[p] === s[i])) {
      p++;
      i++;
    } else if (star >= 0) {
      p = star + 1;
      i = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Whether a mask matches a name (any of its candidates, or its path for a path mask). */
export function maskMatches(mask: NameMask, view: NameView): boolean {
  if (mask.pathMask) return view.path !== '' && wildcardMatch(mask.pattern, view.path);
  return view.candidates.some((c) => wildcardMatch(mask.pattern, c));
}
