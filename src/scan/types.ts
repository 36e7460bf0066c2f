/**
 * The scanning contract (DESIGN.md habits 1, 3, 6): the message model every scanner reads, the findings they
 * report, and the Scanner interface. Scanners report and never choose actions; policy/ decides.
 *
 * Status strings are exact SPEC §3 vocabulary and appear in the API, CLI JSON, events and headers.
 */

import { MODULES, STATUSES } from '../vocabulary.ts';

export { MODULES, STATUSES };
export type ModuleName = (typeof MODULES)[number];

export type ModuleStatus<M extends ModuleName = ModuleName> = (typeof STATUSES)[M][number];

/** Why a module did not scan (SPEC §3). */
export type NotScannedReason = 'disabled' | 'size_limit' | 'nesting_limit' | 'allowlist' | 'personal_allowlist' | 'timeout' | 'engine_unavailable' | 'license';

/** True-type categories (SPEC §3.5), detected from content, never from names or declared types. */
export const TYPE_CATEGORIES = ['archive', 'executable', 'script', 'office', 'office_macro', 'pdf', 'image', 'media', 'disk_image', 'database', 'text', 'html', 'message', 'other'] as const;
export type TypeCategory = (typeof TYPE_CATEGORIES)[number];

/** One thing a scanner found, tied to the part it was found in when there is one. */
export interface Detection {
  /** Stable status this detection contributes, e.g. `infected`. */
  status: string;
  /** Threat or rule name, e.g. `Eicar-Test-Signature`, `banned_name:*.exe`. */
  name: string;
  /** Which engine or check said so, e.g. `builtin`, `clamav`, `content`. */
  engine?: string;
  /** Path of the part (see Part.path), when the detection is about one part. */
  part?: string;
}

/** A module's report on one message. `status` is the worst of its detections (module-specific order). */
export interface Finding {
  module: ModuleName;
  status: string;
  reason?: NotScannedReason;
  detections: Detection[];
  /** Free-form, JSON-serialisable details (score, engine versions, limits hit). */
  details?: Record<string, unknown>;
  /** Milliseconds spent. */
  ms?: number;
}

/**
 * One node of the message tree: a MIME part, an attachment, an archive member or an attached message.
 * `path` is unique in the message, e.g. `1.2` for MIME parts and `1.2/docs/a.exe` for archive members.
 */
export interface Part {
  path: string;
  /** Parent path, undefined for the root. */
  parent?: string;
  /** Nesting depth (root = 0; every MIME level, archive or attached message adds 1). */
  depth: number;
  /** How this part was reached. */
  origin: 'mime' | 'archive' | 'rfc822' | 'uuencode' | 'tnef';
  /** Declared Content-Type (lowercased, without parameters), or '' for archive members. */
  declaredType: string;
  /** Declared file name (Content-Disposition filename / Content-Type name / member name), RFC 2047/2231 decoded. */
  name?: string;
  /**
   * Other names the MIME part declares when its Content-Disposition filename and Content-Type name disagree
   * (clients differ in which one they show), decoded like `name`. Absent when there is none.
   */
  otherNames?: string[];
  /** True type from content: a category and a short specific label (e.g. `pe`, `zip`, `docm`, `pdf`). */
  trueType: { category: TypeCategory; label: string };
  /** Decoded size in bytes. */
  size: number;
  /** True for leaves that carry content (attachments, bodies, archive members). */
  isLeaf: boolean;
  isAttachment: boolean;
  /** Set when an archive entry or document is password-protected. */
  encrypted?: boolean;
  /** Set for Office documents that contain macros (VBA project / vbaProject.bin / XLM). */
  hasMacros?: boolean;
  /** Decoded content: bytes in memory (small parts) or a temporary file (large ones). Absent for containers. */
  content?: { kind: 'buffer'; data: Buffer } | { kind: 'file'; path: string };
  md5?: string;
  sha256?: string;
}

/** A limit reached while building the model; each becomes a finding of the modules that care (never a crash). */
export interface LimitHit { limit: 'depth' | 'members' | 'unpacked_bytes' | 'time' | 'parts' | 'malformed' | 'unsupported'; part?: string; detail: string }

export interface Envelope {
  sender: string;
  recipients: string[];
  clientIp: string;
  helo: string;
  authUser: string | null;
}

export interface MessageModel {
  envelope: Envelope;
  /** Size of the raw message in bytes. */
  size: number;
  /** Decoded header fields of the top-level message, lowercased names, in order. */
  headers: { name: string; value: string }[];
  subject: string;
  from: string;
  messageId: string | null;
  /** Text of text/plain bodies, and text/html bodies, each capped. */
  text: string;
  html: string;
  /**
   * Optional (anti-spam heuristics): the inline bodies behind `text` and `html`, in order: where each one's
   * decoded text lies in `text` or `html` (`[start, end)`, within the cap), its declared charset (lowercased, ''
   * when none) and Content-Transfer-Encoding (lowercased, '' when none).
   */
  bodies?: { kind: 'text' | 'html'; path: string; charset: string; cte: string; start: number; end: number }[];
  /**
   * Optional (anti-spam heuristics): the top-level header fields as received, same order as `headers`: unfolded,
   * encoded-words not decoded, 8-bit bytes as one Latin-1 character each.
   */
  rawHeaders?: { name: string; value: string }[];
  /** Every node of the tree, root first, depth-first. */
  parts: Part[];
  /** Reads the whole raw message again (external engines that want the original bytes); set by the pipeline. */
  raw?: () => Promise<Buffer>;
  /** Per-message data the caller looked up for the scanners, by module (e.g. anti-spam reputation counts). */
  context?: Record<string, unknown>;
  limits: LimitHit[];
  /** Removes temporary files. Always called, once, after scanning. */
  dispose(): Promise<void>;
}

/**
 * A scanner (one SPEC module). Contract:
 * - `scan` is called once per message per rule group that enables the module, possibly concurrently for
 *   different messages; it must not modify the model;
 * - it must honour `signal` (abort = deadline passed) and should return promptly after it fires;
 * - it returns a Finding and never throws for a property of the message; a throw or a missed deadline is
 *   turned into status `error` by the runner;
 * - `close()` is always called once when the scanner is retired (settings change, shutdown).
 */
export interface Scanner {
  readonly module: ModuleName;
  scan(model: MessageModel, signal: AbortSignal): Promise<Finding>;
  close(): Promise<void>;
}
