/**
 * Streaming `delete_attachment` for disposition: each removed part is replaced, in place, by a short text/plain
 * part naming what was removed and why. Built on mailsplit's Splitter → (our transform) → Joiner, so the bytes
 * of everything not touched pass through unchanged and memory stays bounded whatever the message size. Header
 * edits (tags, status headers) are headers.ts's job and compose with this stream.
 *
 * Parts are named by their MIME part number (`1`, `1.2`, … as IMAP numbers them, mailsplit's `partNr`). Only
 * leaves are removed (an attached message counts as one leaf); the root of a single-part message is not.
 *
 * Hostile input: the message itself (parsed by mailsplit with a 1 MiB header cap); notice texts are ours.
 * RFCs: 2045–2046 (MIME structure and encodings).
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { Splitter, Joiner } from 'mailsplit';

/** MIME part number → what the replacement text part says was removed and why. */
export type Removals = Map<string, { name: string; reason: string }>;

interface SplitNode {
  type: 'node';
  root: boolean;
  parentNode?: SplitNode;
  partNr: (number | string)[] | false;
  multipart: string | false;
  headers: { getFirst(k: string): string; remove(k: string): void; add(k: string, v: string, i?: number): void; update(k: string, v: string): void; hasHeader(k: string): boolean; getList?(): { key: string }[]; lines?: { key: string }[] };
  getHeaders(): Buffer;
}

function base64Lines(buf: Buffer): Buffer {
  // The line break before the next boundary belongs to the boundary, so the body does not end with one.
  return Buffer.from(buf.toString('base64').replace(/.{1,76}(?=.)/g, '$&\r\n'));
}

export function noticeText(name: string, reason: string): string {
  return `The attachment "${name.replace(/[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g, '?')}" was removed by the mail gateway (${reason}).\r\n`;
}

class Editor extends Transform {
  private readonly removals: Removals;
  private skipping: SplitNode | null = null;

  constructor(removals: Removals) {
    super({ objectMode: true });
    this.removals = removals;
  }

  private static partNumber(node: SplitNode): string {
    return Array.isArray(node.partNr) ? node.partNr.join('.') : '';
  }

  override _transform(obj: { type: string; value?: Buffer } & Partial<SplitNode>, _enc: BufferEncoding, cb: TransformCallback): void {
    if (obj.type === 'node') {
      const node = obj as SplitNode;
      this.skipping = null;
      const removal = node.multipart ? undefined : this.removals.get(Editor.partNumber(node));
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

/** Applies the removals to a message stream; the result is a byte stream of the rewritten message. */
export function removeParts(input: Readable, removals: Removals): Readable {
  // Attached messages are leaves here: removing one removes it whole, and part numbers match the outer message.
  const splitter = new Splitter({ maxHeadSize: 1024 * 1024, ignoreEmbedded: true });
  const editor = new Editor(removals);
  const joiner = new Joiner();
  const fail = (err: Error) => joiner.destroy(err);
  input.on('error', fail);
  splitter.on('error', fail);
  editor.on('error', fail);
  return input.pipe(splitter).pipe(editor).pipe(joiner);
}
