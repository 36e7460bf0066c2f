/**
 * The streaming MIME walk: one pass of mailsplit's Splitter over a message (RFC 5322 + RFC 2045/2046), each
 * entity becoming a Part as its header block ends and each leaf body decoded (Content-Transfer-Encoding) into a
 * content sink as it streams. Attached messages are not entered here (`ignoreEmbedded`): the enrichment pass
 * walks their decoded content again, whatever their transfer encoding.
 * Hostile input: the whole message. What the walk does about it:
 * - absurd nesting: nodes deeper than maxDepth, and everything under them, are read past without parts;
 *   mailsplit's per-node part numbers (an array copying all its ancestors', quadratic in depth) are disabled;
 * - long lines: mailsplit re-concatenates an unfinished line on every chunk (quadratic); input is re-chunked at
 *   line ends so that only lines longer than 4 MiB ever reach it in pieces;
 * - too many nodes (mailsplit maxChildNodes = parts left) and header blocks over 1 MiB: the walk stops there,
 *   the model keeps what was read, with a 'parts' or 'malformed' LimitHit;
 * - a multipart whose boundary never shows up (wrong or missing boundary) keeps its text as one text/plain leaf;
 *   a multipart without a boundary parameter is read as a leaf; a missing final boundary just ends the parts;
 * - the deadline (signal) stops the walk; the part being read keeps what it had.
 */
import { createRequire } from 'node:module';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import libmime from 'libmime';
import { decode as decodeCharset } from 'libmime/lib/charset.js';
import type { MessageModel, Part } from '../types.ts';
import type { ModelContext, TreeNode } from './context.ts';
import { decoderFor, type Decoder } from './decoders.ts';
import { decodeFields, mimeHeaders, rawFields, type HeaderField, type RawHeaderLine } from './headers.ts';
import { ContentSink } from './sink.ts';

/** The parts of mailsplit's MimeNode the walk reads (mailsplit ships no types). */
interface MimeNode {
  type: 'node';
  parentNode: MimeNode | false;
  multipart: string | false;
  _boundary: Buffer | false;
  headers: { getList(): RawHeaderLine[] };
  getPartNr: () => unknown[];
}
interface BodyChunk { type: 'body' | 'data'; node: MimeNode; value: Buffer }
type SplitterItem = MimeNode | BodyChunk;
interface SplitterInstance extends Transform { node: MimeNode; newNode(parent?: MimeNode | false): void }

const require = createRequire(import.meta.url);
const { Splitter } = require('mailsplit') as { Splitter: new (config: Record<string, unknown>) => SplitterInstance };

const MAX_HEAD = 1024 * 1024;
const LINE_PIECE = 4 * 1024 * 1024;
const NO_PART_NUMBERS = (): unknown[] => [];
const MULTIPART_TYPE: Part['trueType'] = { category: 'other', label: 'multipart' };
const KNOWN_CTE = new Set(['', '7bit', '8bit', 'binary', 'base64', 'quoted-printable', 'x-uuencode', 'x-uue', 'uuencode']);

class ModelSplitter extends Splitter {
  override newNode(parent?: MimeNode | false): void {
    super.newNode(parent);
    this.node.getPartNr = NO_PART_NUMBERS;
  }
}

/** Passes bytes on in chunks that end at a line end (see the header), counting them. */
class LineRechunker extends Transform {
  bytes = 0;
  private held: Buffer[] = [];
  private heldLen = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    const lf = chunk.lastIndexOf(0x0a);
    if (lf === -1) {
      this.hold(chunk);
      if (this.heldLen >= LINE_PIECE) this.release();
    } else {
      this.hold(chunk.subarray(0, lf + 1));
      this.release();
      if (lf + 1 < chunk.length) this.hold(chunk.subarray(lf + 1));
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.heldLen) this.release();
    done();
  }

  private hold(b: Buffer): void { this.held.push(b); this.heldLen += b.length; }
  private release(): void {
    this.push(this.held.length === 1 ? this.held[0] : Buffer.concat(this.held));
    this.held = [];
    this.heldLen = 0;
  }
}

/** Text and HTML of the top-level message's inline bodies, each capped, and where each body went (MessageModel.bodies). */
export class TextCollector {
  text = '';
  html = '';
  readonly bodies: NonNullable<MessageModel['bodies']> = [];
  private readonly max: number;
  constructor(max: number) { this.max = max; }
  add(kind: 'text' | 'html', s: string, info: { path: string; charset: string; cte: string } = { path: '', charset: '', cte: '' }): void {
    const cur = this[kind];
    if (cur.length >= this.max || !s) return;
    const start = cur ? Math.min(cur.length + 1, this.max) : 0;
    this[kind] = (cur ? `${cur}\n${s}` : s).slice(0, this.max);
    this.bodies.push({ kind, path: info.path, charset: info.charset.toLowerCase(), cte: info.cte, start, end: this[kind].length });
  }
}

export interface WalkAt {
  /** The part the message hangs under (attached messages), if any. */
  parent?: TreeNode;
  depth: number;
  path: string;
  origin: Part['origin'];
  /** Collects inline text/html bodies (top-level message only). */
  text?: TextCollector;
}

export interface WalkResult { root: TreeNode | undefined; headers: HeaderField[]; rawHeaders: HeaderField[]; bytes: number }

interface Leaf { mn: MimeNode; node: TreeNode; sink: ContentSink; decoder: Decoder; text?: { kind: 'text' | 'html'; charset: string; cte: string; flowed: boolean; delSp: boolean } }
interface Container { node: TreeNode; children: number; preamble?: ContentSink }

function bodyText(head: Buffer, t: NonNullable<Leaf['text']>): string {
  let s: string;
  try { s = decodeCharset(head, t.charset || 'utf-8'); } catch { s = head.toString('utf8'); }
  return t.flowed ? libmime.decodeFlowed(s, t.delSp) : s;
}

/** Walks one message from `source`; never throws for content (limits and damage become LimitHits). */
export async function walkMime(source: NodeJS.ReadableStream, ctx: ModelContext, at: WalkAt): Promise<WalkResult> {
  const containers = new Map<MimeNode, Container>();
  let root: TreeNode | undefined;
  let rootLines: RawHeaderLine[] = [];
  /** The charset raw 8-bit header bytes are read in when not UTF-8: the top part's, else the first text part's. */
  let headerCharset = '';
  let rawHeaders: HeaderField[] = [];
  let leaf: Leaf | undefined;
  /** The last part made, where a walk that stops early stopped. */
  let last = at.parent?.part.path ?? at.path;

  const finishLeaf = async () => {
    const l = leaf;
    if (!l) return;
    leaf = undefined;
    await l.sink.write(l.decoder.end());
    const stored = await l.sink.finish();
    Object.assign(l.node.part, { size: stored.size, content: stored.content, md5: stored.md5, sha256: stored.sha256 });
    if (l.text) at.text?.add(l.text.kind, bodyText(stored.head, l.text), { path: l.node.part.path, charset: l.text.charset, cte: l.text.cte });
  };

  const onNode = async (mn: MimeNode) => {
    await finishLeaf();
    const up = mn.parentNode ? containers.get(mn.parentNode) : undefined;
    if (mn.parentNode && !up) return; // under a node that got no part: skipped with it
    if (up?.preamble) { await up.preamble.discard(); up.preamble = undefined; }
    const lines = mn.headers.getList();
    const parentPart = up?.node.part;
    const h = mimeHeaders(lines, parentPart?.declaredType === 'multipart/digest' ? 'message/rfc822' : 'text/plain');
    const path = up ? `${parentPart!.path}.${++up.children}` : at.path;
    if (!up) {
      rootLines = lines;
      headerCharset = h.charset;
      rawHeaders = rawFields(lines);
    }
    if (lines.some((l) => !l.key && l.line.trim())) ctx.hit('malformed', 'header line without a colon', path);
    if (!KNOWN_CTE.has(h.cte)) ctx.hit('malformed', `unknown Content-Transfer-Encoding "${h.cte.slice(0, 40)}"`, path);
    if (mn.multipart && !mn._boundary) ctx.hit('malformed', 'multipart without a boundary, read as one part', path);
    const container = !!mn.multipart && !!mn._boundary;
    const isAttachment = !container && (h.disposition === 'attachment' || h.name !== undefined || !h.type.startsWith('text/'));
    const part = ctx.newPart({
      path, depth: parentPart ? parentPart.depth + 1 : at.depth, origin: up ? 'mime' : at.origin, declaredType: h.type,
      ...(h.name !== undefined ? { name: h.name } : {}), ...(h.otherNames.length ? { otherNames: h.otherNames } : {}),
      size: 0, isLeaf: !container, isAttachment,
    }, parentPart?.path ?? at.parent?.part.path ?? path);
    if (!part) return;
    last = part.path;
    const node: TreeNode = { part, children: [] };
    if (up) up.node.children.push(node); else root = node;
    if (container) {
      part.trueType = { ...MULTIPART_TYPE };
      containers.set(mn, { node, children: 0 });
      return;
    }
    node.mime = { cte: h.cte };
    const kind = at.text && !isAttachment ? (h.type === 'text/plain' ? 'text' : h.type === 'text/html' ? 'html' : undefined) : undefined;
    if (kind && !headerCharset) headerCharset = h.charset;
    leaf = {
      mn, node, decoder: decoderFor(h.cte), sink: new ContentSink(ctx, kind ? ctx.limits.maxTextBytes : 0),
      ...(kind ? { text: { kind, charset: h.charset, cte: h.cte, flowed: h.flowed, delSp: h.delSp } } : {}),
    };
  };

  const onChunk = async (item: BodyChunk) => {
    if (leaf && item.node === leaf.mn) {
      await leaf.sink.write(leaf.decoder.write(item.value));
      return;
    }
    // Text before a multipart's first part: normally a preamble, thrown away at the first part; kept when
    // no part ever comes (a wrong or missing boundary), as that text is then the only content there is.
    const c = item.type === 'data' ? containers.get(item.node) : undefined;
    if (c && c.children === 0) {
      c.preamble ??= new ContentSink(ctx);
      await c.preamble.write(item.value);
    }
  };

  const rechunk = new LineRechunker();
  const splitter = new ModelSplitter({ ignoreEmbedded: true, maxChildNodes: Math.max(1, ctx.partsLeft), maxHeadSize: MAX_HEAD });
  try {
    await pipeline(source, rechunk, splitter, async (items: AsyncIterable<SplitterItem>) => {
      try {
        for await (const item of items) {
          if (item.type === 'node') await onNode(item);
          else await onChunk(item);
        }
      } finally {
        await finishLeaf();
      }
    }, { signal: ctx.signal });
  } catch (err) {
    if (!ctx.aborted) {
      const e = err as NodeJS.ErrnoException;
      if (e?.code !== 'EMAXLEN') {
        // Not the message's fault (source or disk): close what is open; the caller removes the directory.
        await Promise.allSettled([...containers.values()].map((c) => c.preamble?.discard()));
        throw err;
      }
      if (/child nodes/i.test(e.message)) ctx.hit('parts', `more than ${ctx.limits.maxParts} parts`, last);
      else ctx.hit('malformed', 'MIME header block larger than 1 MiB', last);
    }
  }

  for (const c of containers.values()) {
    if (c.children > 0) continue;
    const p = c.node.part;
    ctx.hit('malformed', 'multipart without parts (missing or wrong boundary)', p.path);
    if (!c.preamble) continue;
    const stored = await c.preamble.finish();
    const part = ctx.newPart({ path: `${p.path}.1`, depth: p.depth + 1, origin: 'mime', declaredType: 'text/plain', size: stored.size, isLeaf: true, isAttachment: false }, p.path);
    if (!part) continue;
    Object.assign(part, { content: stored.content, md5: stored.md5, sha256: stored.sha256 });
    c.node.children.push({ part, children: [], mime: { cte: '' } });
  }
  return { root, headers: decodeFields(rootLines, headerCharset).fields, rawHeaders, bytes: rechunk.bytes };
}
