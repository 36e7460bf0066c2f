/**
 * Warning banner and disclaimer (SPEC §4; docs/rules.md): a streaming body rewrite with mailsplit, like
 * rewrite.ts. The banner goes at the top of the message's text body and HTML body (in HTML right after the
 * `<body>` tag), the disclaimer at their end (in HTML right before `</body>`). "The body" is the first
 * text/plain and the first text/html part that is not an attachment (so both halves of multipart/alternative);
 * attachments, attached messages and every other part pass through byte for byte.
 *
 * Encoding: the part is decoded (its Content-Transfer-Encoding, then its charset), changed, and encoded again:
 * base64 and quoted-printable stay as they were; 7bit/8bit parts stay so when the result still fits (else they
 * become quoted-printable); the text is written as UTF-8, and the charset parameter says so when it was
 * another one. A body larger than 8 MiB is left unchanged (logged by the caller through `onSkip`).
 *
 * Signed or encrypted messages (multipart/signed, multipart/encrypted, application/pkcs7-mime) are never
 * changed: any change would break the S/MIME or PGP signature. DKIM is not affected: Moat signs at send time,
 * after this rewrite (relay/queue.ts).
 *
 * Hostile input: the message (mailsplit, 1 MiB header cap). Banner and disclaimer texts come from validated
 * rules; in HTML parts a text given without HTML is HTML-escaped. RFCs 2045–2047, 3676 (flowed text is kept
 * valid: added lines carry no trailing spaces).
 */
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { Splitter, Joiner } from 'mailsplit';
import { decode as decodeCharset } from 'libmime/lib/charset.js';
import { escapeHtml } from '../notifications/macros.ts';

export interface BodyDecoration {
  banner?: { text: string; html?: string };
  disclaimer?: { text: string; html?: string };
}

interface MimeNode {
  type: 'node';
  root: boolean;
  parentNode?: MimeNode;
  multipart: string | false;
  contentType: string | false;
  charset: string | false;
  encoding: string | false;
  disposition: string | false;
  filename: string | false;
  getDecoder(): Transform;
  getEncoder(encoding?: string): Transform;
  setCharset(charset: string): void;
}

const MAX_BODY = 8 * 1024 * 1024;
const SEALED = /^(multipart\/(signed|encrypted)|application\/(x-)?pkcs7-mime)$/;

const crlf = (s: string) => s.replace(/\r?\n/g, '\r\n').split('\r\n').map((l) => l.replace(/[ \t]+$/, '')).join('\r\n');
const textToHtml = (s: string) => `<div>${escapeHtml(s).replace(/\r?\n/g, '<br>\r\n')}</div>`;

/** The changed text of a text/plain body. */
export function decorateText(body: string, d: BodyDecoration): string {
  let out = body;
  if (d.banner) out = `${crlf(d.banner.text.trim())}\r\n\r\n${out}`;
  // No line break after it: in a multipart the one before the next boundary belongs to the boundary.
  if (d.disclaimer) out = `${out}${out === '' || /\n$/.test(out) ? '' : '\r\n'}\r\n${crlf(d.disclaimer.text.trim())}`;
  return out;
}

/** The changed markup of a text/html body. */
export function decorateHtml(body: string, d: BodyDecoration): string {
  let out = body;
  if (d.banner) {
    const b = `\r\n${d.banner.html ?? textToHtml(d.banner.text.trim())}\r\n`;
    const m = /<body\b[^>]*>/i.exec(out);
    out = m ? out.slice(0, m.index + m[0].length) + b + out.slice(m.index + m[0].length) : b + out;
  }
  if (d.disclaimer) {
    const b = `\r\n${d.disclaimer.html ?? textToHtml(d.disclaimer.text.trim())}\r\n`;
    const i = out.search(/<\/body\s*>(?![\s\S]*<\/body\s*>)/i);
    out = i >= 0 ? out.slice(0, i) + b + out.slice(i) : out + b.replace(/\r\n$/, '');
  }
  return out;
}

function through(stream: Transform, input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
    stream.end(input);
  });
}

function sealedAncestor(node: MimeNode): boolean {
  for (let n: MimeNode | undefined = node; n; n = n.parentNode) if (n.contentType && SEALED.test(n.contentType)) return true;
  return false;
}

class Decorator extends Transform {
  private readonly d: BodyDecoration;
  private readonly onSkip: (why: string) => void;
  private done = { text: false, html: false };
  private current: { node: MimeNode; kind: 'text' | 'html'; chunks: Buffer[]; size: number } | null = null;
  private passing = false;

  constructor(d: BodyDecoration, onSkip: (why: string) => void) {
    super({ objectMode: true });
    this.d = d;
    this.onSkip = onSkip;
  }

  override _transform(obj: { type: string; value?: Buffer }, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.current && obj.type === 'body') {
      this.current.chunks.push(obj.value!);
      this.current.size += obj.value!.length;
      if (this.current.size > MAX_BODY) {
        this.onSkip(`body part larger than ${MAX_BODY} bytes`);
        this.push(this.current.node);
        for (const c of this.current.chunks) this.push({ type: 'body', value: c });
        this.current = null;
      }
      return cb();
    }
    const next = () => {
      if (obj.type === 'node') this.startNode(obj as unknown as MimeNode); else this.push(obj);
      cb();
    };
    if (this.current) { this.finishCurrent().then(next, (err: Error) => cb(err)); return; }
    next();
  }

  override _flush(cb: TransformCallback): void {
    if (!this.current) return cb();
    this.finishCurrent().then(() => cb(), (err: Error) => cb(err));
  }

  private startNode(node: MimeNode): void {
    if (node.root && node.contentType && SEALED.test(node.contentType)) { this.onSkip('signed or encrypted message'); this.passing = true; }
    const type = node.contentType || (node.root ? 'text/plain' : '');
    const kind = type === 'text/plain' ? 'text' : type === 'text/html' ? 'html' : null;
    if (this.passing || node.multipart || !kind || this.done[kind] || node.disposition === 'attachment' || node.filename || sealedAncestor(node)) {
      this.push(node);
      return;
    }
    this.done[kind] = true;
    this.current = { node, kind, chunks: [], size: 0 };
  }

  private async finishCurrent(): Promise<void> {
    const { node, kind, chunks } = this.current!;
    this.current = null;
    const raw = Buffer.concat(chunks);
    const decoded = await through(node.getDecoder(), raw);
    const charset = (node.charset || (kind === 'html' ? 'utf-8' : 'us-ascii')).toLowerCase();
    const text = decodeCharset(decoded, charset);
    const changed = kind === 'text' ? decorateText(text, this.d) : decorateHtml(text, this.d);
    const bytes = Buffer.from(changed, 'utf8');
    const ascii = !/[^\x00-\x7f]/.test(changed);
    if (!(charset === 'utf-8' || charset === 'utf8' || ((charset === 'us-ascii' || charset === 'ascii') && ascii))) node.setCharset('utf-8');
    const enc = (node.encoding || '7bit').toLowerCase();
    let encoder: Transform;
    if (enc === 'base64' || enc === 'quoted-printable') encoder = node.getEncoder();
    else if ((enc === '7bit' && !ascii) || changed.split(/\r?\n/).some((l) => Buffer.byteLength(l) > 998)) encoder = node.getEncoder('quoted-printable');
    else encoder = new PassThrough();
    let body = await through(encoder, bytes);
    // The line break before the next boundary belongs to the boundary: do not leave an encoder's final one.
    if (enc === 'base64') body = Buffer.from(body.toString('latin1').replace(/\r\n$/, ''), 'latin1');
    this.push(node);
    this.push({ type: 'body', value: body });
  }
}

/** Applies the decoration to a message stream; the result is the rewritten message's bytes. */
export function decorateBody(input: Readable, d: BodyDecoration, onSkip: (why: string) => void = () => {}): Readable {
  const splitter = new Splitter({ maxHeadSize: 1024 * 1024, ignoreEmbedded: true });
  const decorator = new Decorator(d, onSkip);
  const joiner = new Joiner();
  const fail = (err: Error) => joiner.destroy(err);
  input.on('error', fail);
  splitter.on('error', fail);
  decorator.on('error', fail);
  return input.pipe(splitter).pipe(decorator).pipe(joiner);
}
