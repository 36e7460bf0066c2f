/**
 * Header edits applied to a message on its way out: subject tags, Moat's status headers, removal of header
 * fields (and always of incoming `X-Moat-*` fields, so a sender cannot forge our verdicts). Only the header
 * section is touched: it is buffered (at most 1 MiB, the limit SMTP already enforced) and everything after it
 * streams through unchanged, so applying the edits at delivery costs no second copy of the message on disk.
 *
 * Our fields go right after the first `Received` field (Moat's own trace line) or at the top. Non-ASCII tag or
 * header text is RFC 2047 encoded. Work is done on latin1 strings so 8-bit header bytes pass unchanged.
 *
 * Authentication-Results (RFC 8601 §5): incoming fields whose authserv-id is ours (`removeAuthResultsFor`) are
 * removed, so a sender cannot forge our verdicts for the mail store; the authserv-id is read as RFC 8601 §2.2
 * says (after any comments, a token or a quoted string, case-insensitive, a trailing dot ignored). An added
 * Authentication-Results field is folded before each `; ` and any added field longer than 998 characters at
 * its last spaces (RFC 5322 §2.1.1); folding only inserts CRLF before existing spaces, so values are unchanged.
 */
import { Transform, type TransformCallback } from 'node:stream';

export interface HeaderEdits {
  /** Tags to put in front of the Subject, e.g. `[Spam]`; one already there is not added twice. */
  subjectTags: string[];
  /** Fields to add, in order. */
  addHeaders: [string, string][];
  /** Field names to remove (case-insensitive), besides X-Moat-*. */
  removeHeaders: string[];
  /** Authentication-Results fields to remove: those whose authserv-id is one of these (case-insensitive). */
  removeAuthResultsFor?: string[];
}

export function noEdits(e: HeaderEdits | null | undefined): boolean {
  return !e || (!e.subjectTags.length && !e.addHeaders.length && !e.removeHeaders.length && !e.removeAuthResultsFor?.length);
}

const TSPECIAL_OR_SPACE = /[()<>@,;:\\"/[\]?=\s\x00-\x1f\x7f]/;

/**
 * The authserv-id of an Authentication-Results value (RFC 8601 §2.2: after optional CFWS, a token or a quoted
 * string), lowercased without a trailing dot; null when there is none. Bounded: reads at most 4096 characters.
 */
export function authservIdOf(value: string): string | null {
  const s = value.slice(0, 4096).replace(/\r\n/g, '');
  let i = 0;
  // Leading CFWS: white space and (nested) comments with quoted pairs.
  for (;;) {
    while (i < s.length && /\s/.test(s[i])) i++;
    if (s[i] !== '(') break;
    let depth = 0;
    for (; i < s.length; i++) {
      if (s[i] === '\\') { i++; continue; }
      if (s[i] === '(') depth++;
      else if (s[i] === ')' && --depth === 0) { i++; break; }
    }
    if (depth > 0) return null;
  }
  let id = '';
  if (s[i] === '"') {
    let closed = false;
    for (i++; i < s.length; i++) {
      if (s[i] === '\\') { id += s[++i] ?? ''; continue; }
      if (s[i] === '"') { closed = true; break; }
      id += s[i];
    }
    if (!closed) return null;
  } else {
    while (i < s.length && !TSPECIAL_OR_SPACE.test(s[i])) id += s[i++];
  }
  id = id.trim().toLowerCase().replace(/\.$/, '');
  return id || null;
}

/** Folds one added field line (without CRLF): see the header. Only inserts CRLF before existing spaces. */
function foldField(line: string, atSemicolons: boolean): string {
  const out = atSemicolons ? line.replace(/; (?=[^ \t])/g, ';\r\n ') : line;
  if (out.split('\r\n').every((l) => l.length <= 998)) return out;
  const lines: string[] = [];
  for (let rest of out.split('\r\n')) {
    while (rest.length > 998) {
      const cut = rest.lastIndexOf(' ', 997);
      if (cut <= 1 || !/[^ \t]/.test(rest.slice(cut))) break;
      lines.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    lines.push(rest);
  }
  return lines.join('\r\n');
}

/** RFC 2047 B-encoding of a header text when it is not plain printable ASCII (result is latin1-safe ASCII). */
export function headerText(s: string): string {
  const clean = s.replace(/[\r\n]+/g, ' ');
  if (/^[\x20-\x7e]*$/.test(clean)) return clean;
  return `=?UTF-8?B?${Buffer.from(clean, 'utf8').toString('base64')}?=`;
}

/** Splits a header section (latin1, ending with the blank line or not) into unfolded-aware fields. */
function fields(header: string): string[] {
  const out: string[] = [];
  for (const line of header.split(/(?<=\r\n)/)) {
    if ((line[0] === ' ' || line[0] === '\t') && out.length) out[out.length - 1] += line;
    else out.push(line);
  }
  return out;
}

function nameOf(field: string): string {
  const i = field.indexOf(':');
  return i > 0 ? field.slice(0, i).trim().toLowerCase() : '';
}

/** Applies the edits to a header section (latin1 string, with or without its final blank line). */
export function editHeaderSection(header: string, e: HeaderEdits): string {
  const remove = new Set(e.removeHeaders.map((h) => h.toLowerCase()));
  const ours = new Set((e.removeAuthResultsFor ?? []).map((h) => h.trim().toLowerCase().replace(/\.$/, '')).filter(Boolean));
  const forged = (f: string) => {
    if (!ours.size || nameOf(f) !== 'authentication-results') return false;
    const id = authservIdOf(f.slice(f.indexOf(':') + 1));
    return id !== null && ours.has(id);
  };
  const list = fields(header);
  const blank = list.length && list[list.length - 1] === '\r\n' ? list.pop()! : '';
  let kept = list.filter((f) => { const n = nameOf(f); return !n.startsWith('x-moat-') && !remove.has(n) && !forged(f); });
  if (e.subjectTags.length) {
    const i = kept.findIndex((f) => nameOf(f) === 'subject');
    const current = i >= 0 ? kept[i].slice(kept[i].indexOf(':') + 1).replace(/\r\n$/, '').trim() : '';
    const missing = e.subjectTags.filter((t) => !current.includes(headerText(t)));
    if (missing.length) {
      const value = `Subject: ${missing.map(headerText).join(' ')}${current ? ` ${current}` : ''}\r\n`;
      if (i >= 0) kept[i] = value; else kept.push(value);
    }
  }
  const added = e.addHeaders.map(([k, v]) => `${foldField(`${k}: ${headerText(v)}`, k.toLowerCase() === 'authentication-results')}\r\n`);
  const at = kept.length && nameOf(kept[0]) === 'received' ? 1 : 0;
  kept = [...kept.slice(0, at), ...added, ...kept.slice(at)];
  return kept.join('') + blank;
}

/** The edits applied to a whole message in memory. */
export function editMessage(msg: Buffer, e: HeaderEdits): Buffer {
  const end = msg.indexOf('\r\n\r\n');
  const cut = end < 0 ? msg.length : end + 2;
  return Buffer.concat([Buffer.from(editHeaderSection(msg.subarray(0, cut).toString('latin1'), e), 'latin1'), msg.subarray(cut)]);
}

const MAX_HEADER = 1024 * 1024;

/** A stream that applies the edits to the header section and passes the body through. */
export function headerEditor(e: HeaderEdits): Transform {
  let head: Buffer[] = [];
  let size = 0;
  let done = false;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      if (done) return cb(null, chunk);
      head.push(chunk);
      size += chunk.length;
      const all = Buffer.concat(head, size);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0 && size < MAX_HEADER) return cb();
      done = true;
      head = [];
      cb(null, editMessage(all, e));
    },
    flush(cb: TransformCallback) {
      if (!done && size) this.push(editMessage(Buffer.concat(head, size), e));
      cb();
    },
  });
}
