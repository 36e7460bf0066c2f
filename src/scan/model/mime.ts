/**
 * Builds the MessageModel (types.ts) every scanner reads: the message is parsed once, streaming (walk.ts), then
 * each leaf is typed by content and opened (enrich.ts: archives, attached messages, uuencoded files).
 * Hostile input: the whole message, from any sender. `buildModel` never throws because of what the message
 * contains: damage is parsed best effort and reported as a 'malformed' LimitHit; limits reached become
 * LimitHits ('depth', 'parts', 'members', 'unpacked_bytes') and the deadline ('time') returns the model built so
 * far. It rejects only for local failures (the source stream, the temporary directory), after cleaning up.
 * RFCs: 5322 (message), 2045-2047 (MIME, encoded-words), 2231 (parameter continuations and charsets),
 * 6532 (UTF-8 headers), 2046 §5.1.5 (digest defaults), 3676 (format=flowed text).
 * Memory: decoded parts up to maxPartInMemory stay in memory while the message's total stays under
 * maxInMemoryTotal; the rest goes to files in a private directory under tempDir, removed by `dispose()`.
 */
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import type { Envelope, MessageModel, Part } from '../types.ts';
import { ModelContext, type TreeNode } from './context.ts';
import { enrich } from './enrich.ts';
import { TextCollector, walkMime } from './walk.ts';

export interface ModelLimits {
  /** Deepest nesting level that still gets parts (MIME levels, archives, attached messages all count). */
  maxDepth: number;
  /** Parts per message, all kinds together. */
  maxParts: number;
  /** Members per archive. */
  maxMembers: number;
  /** Bytes unpacked from all archives of the message together (zip bombs). */
  maxUnpackedBytes: number;
  /** Decoded parts up to this size stay in memory; larger ones go to temporary files. */
  maxPartInMemory: number;
  /** Decoded bytes of all parts of one message kept in memory; past it, parts go to temporary files. */
  maxInMemoryTotal: number;
  /** Cap on `text` and on `html` (characters), and on the bytes read of each body for them. */
  maxTextBytes: number;
  /** Where the message's private temporary directory is created. */
  tempDir: string;
  /** The `7z` program for 7z/rar/cab/iso/bzip2/xz: a path, '' for none, absent to look it up on PATH. */
  sevenZip?: string;
}

const MiB = 1024 * 1024;

export const DEFAULT_MODEL_LIMITS: Readonly<ModelLimits> = Object.freeze({
  maxDepth: 32,
  maxParts: 10_000,
  maxMembers: 10_000,
  maxUnpackedBytes: 128 * MiB,
  maxPartInMemory: 1 * MiB,
  maxInMemoryTotal: 32 * MiB,
  maxTextBytes: 1 * MiB,
  tempDir: tmpdir(),
});

export type ModelOptions = Partial<ModelLimits> & { signal?: AbortSignal };

/**
 * Parses `source` (the raw message) into a MessageModel. The caller must call `dispose()` once done.
 * Parts are listed root first, depth-first; the root is `1`, MIME children `1.1`, `1.2`, ….
 */
export async function buildModel(source: NodeJS.ReadableStream | Buffer, envelope: Envelope, opts: ModelOptions = {}): Promise<MessageModel> {
  const { signal, ...given } = opts;
  const set = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<ModelLimits>;
  const limits: ModelLimits = { ...DEFAULT_MODEL_LIMITS, ...set };
  const ctx = new ModelContext(limits, signal ?? new AbortController().signal);
  const text = new TextCollector(limits.maxTextBytes);
  try {
    const walked = await walkMime(Buffer.isBuffer(source) ? Readable.from([source]) : source, ctx, { depth: 0, path: '1', origin: 'mime', text });
    if (walked.root) await enrich(walked.root, ctx);
    const first = (name: string) => walked.headers.find((h) => h.name === name)?.value;
    return {
      envelope,
      size: walked.bytes,
      headers: walked.headers,
      subject: first('subject') ?? '',
      from: first('from') ?? '',
      messageId: first('message-id')?.trim() || null,
      text: text.text,
      html: text.html,
      bodies: text.bodies,
      rawHeaders: walked.rawHeaders,
      parts: flatten(walked.root),
      limits: ctx.hits,
      dispose: () => ctx.temp.dispose(),
    };
  } catch (err) {
    await ctx.temp.dispose().catch(() => undefined);
    throw err;
  }
}

/** Root first, depth-first; sets `parent`, and the size of a multipart as the sum of its parts. */
function flatten(root: TreeNode | undefined): Part[] {
  const out: Part[] = [];
  const visit = (n: TreeNode, parent: string | undefined): number => {
    if (parent !== undefined) n.part.parent = parent;
    out.push(n.part);
    let sum = 0;
    for (const c of n.children) sum += visit(c, n.part.path);
    if (!n.part.isLeaf) n.part.size = sum;
    return n.part.size;
  };
  if (root) visit(root, undefined);
  return out;
}

/** The parts matching `pred`; by default the leaves (parts that carry content). */
export function partsOf(model: MessageModel, pred: (p: Part) => boolean = (p) => p.isLeaf): Part[] {
  return model.parts.filter(pred);
}
