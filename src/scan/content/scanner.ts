/**
 * Content filtering (SPEC §3.5, module `content`): message size, attachment true type and attachment name masks.
 * Pure over the message model: no I/O, no clock; the same model and options always give the same Finding.
 *
 * Statuses, worst first: `size_exceeded` > `banned_type` > `banned_name` > `clean`. Every hit is a detection
 * naming the criterion (`size_exceeded:1024KB`, `banned_type:executable`, `banned_name:*.exe`,
 * `banned_name:bidi_control`, `banned_name:double_extension:*.pdf.exe`) and, for parts, the part path.
 *
 * What is judged (input is hostile; names and declared types are the sender's word, true types the model's):
 * - size: the raw message size against `maxSizeKB` (1 KB = 1024 bytes; null = no limit);
 * - every attachment-like node: attachments, named parts, archive members, uuencoded and TNEF files, attached
 *   messages, and unnamed leaves that are not text bodies (a PE declared `text/plain` inline is judged).
 *   Not judged: multipart containers and text bodies (unnamed, inline, declared text/*, content text-like:
 *   see BODY_CATEGORIES), so "not listed" mode never bans the body and a body quoting a script is no attachment;
 * - archive members (and anything below one, e.g. a message inside a zip) only when `lookInsideArchives`;
 *   the archive itself is always judged;
 * - type: the model's true type; an `office` document with `hasMacros` counts as `office_macro`. In `listed`
 *   mode the listed categories are banned, in `not_listed` mode every category that is not listed;
 * - names (see names.ts for the evasions handled), the declared name and any otherNames (a filename and a
 *   Content-Type name that disagree; clients differ in which they show): each configured mask, plus two tricks
 *   reported whenever name masks are configured at all: a bidi control in the name, and a decoy double
 *   extension in front of a dangerous one. An empty `bannedNames` turns name checks off. Each criterion is
 *   listed once per part, however many of its names match.
 * Limits the model hit (depth, bombs) are the antivirus module's to report (`error`); content judges the parts
 * the model holds. At most 100 detections are listed (the status still counts them all).
 */
import type { Detection, Finding, MessageModel, Part, Scanner, TypeCategory } from '../types.ts';
import { TYPE_CATEGORIES } from '../types.ts';
import { compileMask, doubleExtension, maskMatches, viewName, type NameMask } from './names.ts';

export interface ContentOptions {
  /** Largest accepted message in KB (1024 bytes); null = no size criterion. */
  maxSizeKB: number | null;
  /** True-type categories the criterion lists. */
  bannedTypes: readonly TypeCategory[];
  /** `listed`: the listed categories are banned; `not_listed`: everything not listed is banned. */
  typeMode: 'listed' | 'not_listed';
  /** Name masks (`*`, `?`), case-insensitive; empty = no name criterion. */
  bannedNames: readonly string[];
  /** Judge archive members too. */
  lookInsideArchives: boolean;
}

export const DEFAULT_CONTENT_OPTIONS: Readonly<ContentOptions> = Object.freeze({
  maxSizeKB: null,
  bannedTypes: Object.freeze(['executable', 'script', 'disk_image'] as const),
  typeMode: 'listed',
  bannedNames: Object.freeze([
    '*.exe', '*.scr', '*.com', '*.pif', '*.bat', '*.cmd', '*.js', '*.jse', '*.vbs', '*.vbe', '*.wsf', '*.hta',
    '*.lnk', '*.iso', '*.img', '*.vhd',
  ]),
  lookInsideArchives: true,
});

/** Statuses in order of severity, worst first. */
const SEVERITY = ['size_exceeded', 'banned_type', 'banned_name'] as const;
type ContentStatus = (typeof SEVERITY)[number];
const RANK: Record<string, number> = Object.fromEntries(SEVERITY.map((s, i) => [s, i]));

const MAX_LISTED_DETECTIONS = 100;

/**
 * True types a message body may have and stay a body: text a client displays rather than runs (a body that
 * reads like a script, e.g. a pasted PowerShell snippet, is still a body). A body whose content is binary
 * (a PE declared text/plain) is judged like an attachment.
 */
const BODY_CATEGORIES: ReadonlySet<TypeCategory> = new Set(['text', 'html', 'script', 'message', 'other']);

/** Options merged over the defaults and checked; throws a TypeError for a bad setting (never for a message). */
export function contentOptions(partial: Partial<ContentOptions> = {}): ContentOptions {
  const o: ContentOptions = { ...DEFAULT_CONTENT_OPTIONS, ...partial };
  if (o.maxSizeKB !== null && !(Number.isFinite(o.maxSizeKB) && o.maxSizeKB >= 0)) {
    throw new TypeError(`content: maxSizeKB must be null or a non-negative number, got ${String(o.maxSizeKB)}`);
  }
  for (const t of o.bannedTypes) {
    if (!(TYPE_CATEGORIES as readonly string[]).includes(t)) throw new TypeError(`content: unknown type category ${JSON.stringify(t)}`);
  }
  if (o.typeMode !== 'listed' && o.typeMode !== 'not_listed') throw new TypeError(`content: unknown typeMode ${JSON.stringify(o.typeMode)}`);
  return { ...o, bannedTypes: [...o.bannedTypes], bannedNames: [...o.bannedNames] };
}

/** The category a part is judged by: its true type, with macro-carrying Office documents as office_macro. */
function effectiveCategory(part: Part): TypeCategory {
  return part.trueType.category === 'office' && part.hasMacros ? 'office_macro' : part.trueType.category;
}

/** A text or HTML body of the message or of an attached message: unnamed, inline, declared text. */
function isBody(part: Part): boolean {
  return !part.isAttachment && !part.name && !part.otherNames?.length && (part.origin === 'mime' || part.origin === 'rfc822')
    && (part.declaredType === '' || part.declaredType.startsWith('text/')) && BODY_CATEGORIES.has(part.trueType.category);
}

function isAttachmentLike(part: Part): boolean {
  if (part.declaredType.startsWith('multipart/')) return false;
  if (isBody(part)) return false;
  return part.isLeaf || part.isAttachment || Boolean(part.name);
}

/** Paths of parts that are archive members or lie below one. */
function insideArchives(parts: readonly Part[]): Set<string> {
  const byPath = new Map(parts.map((p) => [p.path, p]));
  const inside = new Set<string>();
  for (const part of parts) {
    const seen = new Set<string>();
    for (let p: Part | undefined = part; p && !seen.has(p.path); p = p.parent === undefined ? undefined : byPath.get(p.parent)) {
      seen.add(p.path);
      if (p.origin === 'archive') {
        inside.add(part.path);
        break;
      }
    }
  }
  return inside;
}

export class ContentScanner implements Scanner {
  readonly module = 'content' as const;
  readonly options: Readonly<ContentOptions>;
  readonly #masks: NameMask[];
  readonly #types: ReadonlySet<TypeCategory>;

  constructor(options: Partial<ContentOptions> = {}) {
    this.options = contentOptions(options);
    this.#masks = this.options.bannedNames.map(compileMask).filter((m): m is NameMask => m !== undefined);
    this.#types = new Set(this.options.bannedTypes);
  }

  async scan(model: MessageModel, signal: AbortSignal): Promise<Finding> {
    signal.throwIfAborted();
    return this.check(model);
  }

  /** The synchronous, pure check behind scan(). */
  check(model: MessageModel): Finding {
    const detections: Detection[] = [];
    const hit = (status: ContentStatus, name: string, part?: string): void => {
      detections.push({ status, name, engine: 'content', ...(part === undefined ? {} : { part }) });
    };

    const { maxSizeKB, typeMode, lookInsideArchives } = this.options;
    if (maxSizeKB !== null && model.size > maxSizeKB * 1024) hit('size_exceeded', `size_exceeded:${maxSizeKB}KB`);

    const skip = lookInsideArchives ? new Set<string>() : insideArchives(model.parts);
    let judged = 0;
    for (const part of model.parts) {
      if (skip.has(part.path) || !isAttachmentLike(part)) continue;
      judged++;
      const category = effectiveCategory(part);
      // listed: banned when listed; not_listed: banned when not listed.
      if (this.#types.has(category) === (typeMode === 'listed')) hit('banned_type', `banned_type:${category}`, part.path);
      if (this.#masks.length > 0) this.#judgeNames(part, hit);
    }

    const status = SEVERITY.find((s) => detections.some((d) => d.status === s)) ?? 'clean';
    detections.sort((a, b) => RANK[a.status] - RANK[b.status]);
    const details: Record<string, unknown> = { partsJudged: judged, size: model.size };
    if (detections.length > MAX_LISTED_DETECTIONS) details.detectionsOmitted = detections.length - MAX_LISTED_DETECTIONS;
    return { module: 'content', status, detections: detections.slice(0, MAX_LISTED_DETECTIONS), details };
  }

  /** Name checks over every name the part declares (filename and Content-Type name may disagree). */
  #judgeNames(part: Part, hit: (status: ContentStatus, name: string, part: string) => void): void {
    const views = [part.name, ...(part.otherNames ?? [])].filter((n): n is string => Boolean(n)).map(viewName);
    if (views.length === 0) return;
    const found = new Set<string>();
    for (const mask of this.#masks) {
      if (views.some((v) => maskMatches(mask, v))) found.add(`banned_name:${mask.source}`);
    }
    if (views.some((v) => v.hasBidi)) found.add('banned_name:bidi_control');
    for (const v of views) {
      for (const decoy of v.candidates.map(doubleExtension)) if (decoy) found.add(`banned_name:double_extension:${decoy}`);
    }
    for (const name of found) hit('banned_name', name, part.path);
  }

  async close(): Promise<void> {}
}

/** One-shot convenience: the content Finding for a model under the given options (defaults otherwise). */
export function scanContent(model: MessageModel, options: Partial<ContentOptions> = {}): Finding {
  return new ContentScanner(options).check(model);
}
