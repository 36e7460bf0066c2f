/**
 * Streaming message rewrite for disposition: subject tags, Moat's status headers, header removal, and
 * `delete_attachment` (each removed part is replaced, in place, by a short text/plain part naming what was
 * removed and why). Built on mailsplit's Splitter → (our transform) → Joiner, so the bytes of everything not
 * touched pass through unchanged and memory stays bounded whatever the message size.
 *
 * Parts are named by their MIME part number (`1`, `1.2`, … as IMAP numbers them, mailsplit's `partNr`), the
 * same numbering the message model uses. Only leaves are removed (an attached message counts as one leaf); a
 * caller that wants a whole branch gone names its leaves. Incoming `X-Moat-*` headers are always removed from the top-level header, so a sender
 * cannot forge our verdicts.
 *
 * Hostile input: the message itself (parsed by mailsplit with a 1 MiB header cap); tag and notice texts are
 * ours. RFCs: 5322 (header fields), 2045–2047 (MIME, encoded words for non-ASCII text).
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { Splitter, Joiner } from 'mailsplit';

export interface RewritePlan {
  /** Tags to put in front of the Subject, e.g. `[Spam]`; one already there is not added twice. */
  subjectTags: string[];
  /** Header fields to add at the top of the message, in order. */
  addHeaders: [string, string][];
  /** Header names to remove from the top-level header (case-insensitive), besides X-Moat-*. */
  removeHeaders: string[];
  /** MIME part number → the reason shown in the replacement text part. */
  removeParts: Map<string, { name: string; reason: string }>;
}

export function emptyPlan(): RewritePlan {
  return { subjectTags: [], addHeaders: [], removeHeaders: [], removeParts: new Map() };
}

export function planIsEmpty(p: RewritePlan): boolean {
  return !p.subjectTags.length && !p.addHeaders.length && !p.removeHeaders.length && !p.removeParts.size;
}

interface SplitNode {
  type: 'node';
  root: boolean;
  parentNode?: SplitNode;
  partNr: (number | string)[] | false;
  multipart: string | false;
  headers: { getFirst(k: string): string; remove(k: string): void; add(k: string, v: string, i?: number): void; update(k: string, v: string): void; hasHeader(k: string): boolean; getList?(): { key: string }[]; lines?: { key: string }[] };
  getHeaders(): Buffer;
}

/** Encodes a header value with RFC 2047 encoded words when it is not plain ASCII. */
function headerText(s: string): string {
  const clean = s.replace(/[\r\n]+/g, ' ');
  if (/^[\x20-\x7e]*$/.test(clean)) return clean;
  return `=?UTF-8?B?${Buffer.from(clean, 'utf8').toString('base64')}?=`;
}

function base64Lines(buf: Buffer): Buffer {
  // The line break before the next boundary belongs to the boundary, so the body does not end with one.
  return Buffer.from(buf.toString('base64').replace(/.{1,76}(?=.)/g, '$&\r\n'));
}

export function noticeText(name: string, reason: string): string {
  return `The attachment "${name.replace(/[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g, '?')}" was removed by the mail gateway (${reason}).\r\n`;
}

class Editor extends Transform {
  private readonly plan: RewritePlan;
  private skipping: SplitNode | null = null;

  constructor(plan: RewritePlan) {
    super({ objectMode: true });
    this.plan = plan;
  }

  private static partNumber(node: SplitNode): string {
    return Array.isArray(node.partNr) ? node.partNr.join('.') : '';
  }

  override _transform(obj: { type: string; value?: Buffer } & Partial<SplitNode>, _enc: BufferEncoding, cb: TransformCallback): void {
    if (obj.type === 'node') {
      const node = obj as SplitNode;
      this.skipping = null;
      if (node.root) this.editRoot(node);
      const removal = node.multipart ? undefined : this.plan.removeParts.get(Editor.partNumber(node));
      if (removal && !node.root) {
        this.replace(node, removal);
        this.skipping = node;
        return cb();
      }
      this.push(node);
      return cb();
    }
    // The body of a removed leaf is dropped; boundary 'data' after it belongs to the parent and passes.
    if (this.skipping && obj.type === 'body') return cb();
    this.push(obj);
    cb();
  }

  private editRoot(node: SplitNode): void {
    const h = node.headers;
    const lines = (h as unknown as { lines: { key: string }[] }).lines ?? [];
    const names = new Set(lines.map((l) => l.key.toLowerCase()));
    for (const name of names) if (name.startsWith('x-moat-')) h.remove(name);
    for (const name of this.plan.removeHeaders) h.remove(name.toLowerCase());
    if (this.plan.subjectTags.length) {
      const subject = h.getFirst('subject') ?? '';
      const missing = this.plan.subjectTags.filter((t) => !subject.includes(t));
      if (missing.length) {
        const value = `${missing.map(headerText).join(' ')}${subject ? ` ${subject}` : ''}`;
        if (h.hasHeader('subject')) h.update('Subject', value); else h.add('Subject', value);
      }
    }
    for (let i = this.plan.addHeaders.length - 1; i >= 0; i--) {
      const [k, v] = this.plan.addHeaders[i];
      h.add(k, headerText(v));
    }
  }

  private replace(node: SplitNode, removal: { name: string; reason: string }): void {
    const h = node.headers;
    for (const k of ['content-type', 'content-transfer-encoding', 'content-disposition', 'content-id', 'content-description']) h.remove(k);
    // add() puts a field at the top, so the fields go in reverse order.
    h.add('Content-Disposition', 'inline');
    h.add('Content-Transfer-Encoding', 'base64');
    h.add('Content-Type', 'text/plain; charset=utf-8');
    // A removed multipart branch no longer announces children; mailsplit regenerates the header from `headers`.
    this.push(node);
    this.push({ type: 'body', value: base64Lines(Buffer.from(noticeText(removal.name, removal.reason), 'utf8')) });
  }
}

/** Applies `plan` to a message stream; the result is a byte stream of the rewritten message. */
export function rewriteMessage(input: Readable, plan: RewritePlan): Readable {
  // Attached messages are leaves here: removing one removes it whole, and part numbers match the outer message.
  const splitter = new Splitter({ maxHeadSize: 1024 * 1024, ignoreEmbedded: true });
  const editor = new Editor(plan);
  const joiner = new Joiner();
  const fail = (err: Error) => joiner.destroy(err);
  input.on('error', fail);
  splitter.on('error', fail);
  editor.on('error', fail);
  return input.pipe(splitter).pipe(editor).pipe(joiner);
}
