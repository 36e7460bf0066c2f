/**
 * The view of a kept message for the console: headers, plain text, sanitised HTML and the attachment list,
 * parsed with postal-mime from at most `viewLimit` bytes (the result says when the message was larger).
 *
 * Hostile input: the whole message. The HTML is run through sanitize-html with a short allow-list:
 *   - no script, style, iframe, object, embed, form, input, link, meta, base, svg (dropped with their content
 *     where they have any); no event handlers and no `style` attributes (so no CSS `url()`), no `background`;
 *   - links are made inert: `<a>` keeps its text and, for http(s)/mailto targets, shows the target in `title`;
 *     `href` is never emitted, so no `javascript:` or `data:` link survives;
 *   - no remote content: an `<img>` is kept only when it names an inline image part of this message (`cid:`),
 *     which is then embedded as a `data:` URL of a raster type (png, jpeg, gif, webp; never svg) up to 2 MiB;
 *     any other image loses its source and shows the placeholder `[image blocked]` (its alt text); counted in
 *     `remoteContentBlocked`.
 * Header and text values are returned as text; the caller escapes them when it renders them.
 */
import PostalMime, { type Attachment } from 'postal-mime';
import sanitizeHtml from 'sanitize-html';
import type { BackupAttachment } from './types.ts';

const INLINE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
const MAX_INLINE = 2 * 1024 * 1024;
const MAX_HEADERS = 500;

export interface ParsedView {
  headers: { name: string; value: string }[];
  text: string | null;
  html: string | null;
  attachments: BackupAttachment[];
  remoteContentBlocked: number;
}

function bytesOf(a: Attachment): Buffer {
  const c = a.content;
  if (typeof c === 'string') return Buffer.from(c, a.encoding === 'base64' ? 'base64' : 'utf8');
  if (c instanceof ArrayBuffer) return Buffer.from(c);
  return Buffer.from(c.buffer, c.byteOffset, c.byteLength);
}

const cidOf = (id: string | undefined) => (id ?? '').replace(/^<|>$/g, '').trim().toLowerCase();

/** Sanitises message HTML for display (see the header comment); `inline` maps content ids to data: URLs. */
export function sanitizeMessageHtml(html: string, inline: Map<string, string> = new Map()): { html: string; blocked: number } {
  let blocked = (html.match(/url\(\s*['"]?\s*(?:https?:)?\/\//gi) ?? []).length + (html.match(/<link\b[^>]*stylesheet/gi) ?? []).length;
  const out = sanitizeHtml(html, {
    allowedTags: [...sanitizeHtml.defaults.allowedTags.filter((t) => t !== 'a'), 'a', 'img', 'font', 'center'],
    allowedAttributes: {
      a: ['title'],
      img: ['src', 'alt', 'width', 'height', 'title'],
      td: ['colspan', 'rowspan', 'align', 'valign', 'width'],
      th: ['colspan', 'rowspan', 'align', 'valign', 'width'],
      table: ['width', 'cellpadding', 'cellspacing', 'border'],
      font: ['color', 'size'],
      '*': ['dir', 'lang', 'align'],
    },
    allowedSchemes: [],
    allowedSchemesByTag: { img: ['data'] },
    allowProtocolRelative: false,
    allowVulnerableTags: false,
    nonTextTags: ['script', 'style', 'textarea', 'option', 'noscript', 'title', 'head', 'svg', 'math', 'template', 'iframe', 'object'],
    transformTags: {
      a: (_tag, attribs) => {
        const href = (attribs.href ?? '').trim();
        const attribs2: Record<string, string> = /^(https?:|mailto:)/i.test(href) ? { title: href.slice(0, 2000) } : {};
        return { tagName: 'a', attribs: attribs2 };
      },
      img: (_tag, attribs) => {
        const src = (attribs.src ?? '').trim();
        const data = /^cid:/i.test(src) ? inline.get(cidOf(src.slice(4))) : undefined;
        if (!data) {
          blocked++;
          // An image without a source: the browser shows the placeholder text, and loads nothing.
          return { tagName: 'img', attribs: { alt: '[image blocked]' } };
        }
        const keep: Record<string, string> = { src: data };
        for (const k of ['alt', 'width', 'height', 'title']) if (attribs[k]) keep[k] = attribs[k];
        return { tagName: 'img', attribs: keep };
      },
    },
  });
  return { html: out, blocked };
}

/** Parses message bytes for the view. */
export async function parseForView(raw: Buffer): Promise<ParsedView> {
  const email = await PostalMime.parse(raw, { attachmentEncoding: 'arraybuffer', maxNestingDepth: 64 });
  const inline = new Map<string, string>();
  const attachments: BackupAttachment[] = [];
  for (const a of email.attachments) {
    const bytes = bytesOf(a);
    const cid = cidOf(a.contentId);
    if (cid && INLINE_TYPES.has(a.mimeType.toLowerCase()) && bytes.length <= MAX_INLINE) inline.set(cid, `data:${a.mimeType.toLowerCase()};base64,${bytes.toString('base64')}`);
    attachments.push({ filename: a.filename ?? null, mimeType: a.mimeType, size: bytes.length, inline: a.disposition === 'inline' || !!a.related, contentId: cid || null });
  }
  let html: string | null = null;
  let blocked = 0;
  if (email.html) ({ html, blocked } = sanitizeMessageHtml(email.html, inline));
  return {
    headers: email.headers.slice(0, MAX_HEADERS).map((h) => ({ name: h.originalKey ?? h.key, value: h.value })),
    text: email.text ?? null,
    html,
    attachments,
    remoteContentBlocked: blocked,
  };
}
