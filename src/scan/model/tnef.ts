/**
 * TNEF ([MS-OXTNEF], Outlook's `winmail.dat` / application/ms-tnef): finds the attachments it carries.
 *
 * A TNEF stream is the signature 0x223E9F78, a 2-byte key, then attributes: level (1 = message, 2 = attachment),
 * attribute id (uint32: type << 16 | id), length (uint32), data, 2-byte checksum. Per attachment we use
 * attAttachRendData (0x00069002, starts a new attachment), attAttachTitle (0x00018010, short name),
 * attAttachData (0x0006800F, the bytes) and attAttachment (0x00069005, MAPI properties: PR_ATTACH_LONG_FILENAME
 * 0x3707, PR_ATTACH_FILENAME 0x3704, PR_DISPLAY_NAME 0x3001, PR_ATTACH_DATA_BIN/OBJ 0x3701 — the latter is how
 * an attached message travels: a 16-byte interface id, then a nested TNEF stream, which the caller expands again).
 * The message body (attBody, PR_RTF_COMPRESSED) is not extracted.
 *
 * Hostile input: every length. Attributes are read positionally and never loaded whole (attachment data is only
 * located, as an offset and length); a length past the end marks the attachment truncated and ends parsing;
 * property counts and string lengths are capped; checksums are ignored (Outlook's own are sometimes wrong).
 */
import type { ByteSource } from './source.ts';

export const TNEF_SIGNATURE = 0x223e9f78;

const ATT_RENDDATA = 0x00069002;
const ATT_TITLE = 0x00018010;
const ATT_DATA = 0x0006800f;
const ATT_ATTACHMENT = 0x00069005;

const MAX_ATTRIBUTES = 100_000;
const MAX_PROPS = 10_000;
const MAX_NAME_BYTES = 2048;

export interface TnefAttachment {
  name: string;
  /** Where the attachment's bytes are in the TNEF content (absent: the attachment has no data). */
  start?: number;
  length?: number;
  /** The data runs past the end of the content; `length` was cut to what exists. */
  truncated?: boolean;
}

export interface TnefResult {
  attachments: TnefAttachment[];
  /** Set when parsing stopped at something that is not valid TNEF. */
  error?: string;
}

interface Draft {
  title?: string;
  longName?: string;
  fileName?: string;
  displayName?: string;
  data?: { start: number; length: number; truncated: boolean };
  mapiData?: { start: number; length: number; truncated: boolean };
}

export async function parseTnef(src: ByteSource, maxAttachments: number): Promise<TnefResult> {
  const sig = await src.read(0, 6);
  if (sig.length < 6 || sig.readUInt32LE(0) !== TNEF_SIGNATURE) return { attachments: [], error: 'no TNEF signature' };
  const attachments: TnefAttachment[] = [];
  let draft: Draft | undefined;
  const finish = () => {
    if (!draft) return;
    const d = draft;
    draft = undefined;
    const data = d.data ?? d.mapiData;
    if (!data && d.title === undefined && d.longName === undefined && d.fileName === undefined) return;
    attachments.push({
      name: d.longName ?? d.title ?? d.fileName ?? d.displayName ?? '',
      ...(data ? { start: data.start, length: data.length } : {}),
      ...(data?.truncated ? { truncated: true } : {}),
    });
  };

  let p = 6;
  let error: string | undefined;
  for (let n = 0; p < src.size && n < MAX_ATTRIBUTES; n++) {
    const h = await src.read(p, 9);
    if (h.length < 9) {
      error = 'truncated attribute header';
      break;
    }
    const level = h[0];
    const id = h.readUInt32LE(1);
    const len = h.readUInt32LE(5);
    if (level !== 1 && level !== 2) {
      error = `bad attribute level ${level}`;
      break;
    }
    const start = p + 9;
    const avail = Math.max(0, Math.min(len, src.size - start));
    const truncated = avail < len;
    if (level === 2) {
      if (id === ATT_RENDDATA) {
        finish();
        if (attachments.length >= maxAttachments) break;
        draft = {};
      } else if (id === ATT_TITLE) {
        (draft ??= {}).title = decode8(await src.read(start, Math.min(avail, MAX_NAME_BYTES)));
      } else if (id === ATT_DATA) {
        (draft ??= {}).data = { start, length: avail, truncated };
      } else if (id === ATT_ATTACHMENT) {
        await readProps(src, start, avail, (draft ??= {}));
      }
    }
    if (truncated) {
      error = 'attribute runs past the end';
      break;
    }
    p = start + len + 2;
  }
  finish();
  return error === undefined ? { attachments } : { attachments, error };
}

const FIXED_SIZE: Record<number, number> = {
  0x0001: 4, // PT_NULL
  0x0002: 4, // PT_SHORT, padded
  0x0003: 4, // PT_LONG
  0x0004: 4, // PT_FLOAT
  0x0005: 8, // PT_DOUBLE
  0x0006: 8, // PT_CURRENCY
  0x0007: 8, // PT_APPTIME
  0x000a: 4, // PT_ERROR
  0x000b: 4, // PT_BOOLEAN
  0x0014: 8, // PT_I8
  0x0040: 8, // PT_SYSTIME
  0x0048: 16, // PT_CLSID
};
const PT_STRING8 = 0x001e;
const PT_UNICODE = 0x001f;
const PT_BINARY = 0x0102;
const PT_OBJECT = 0x000d;

/** MAPI properties of attAttachment; stops quietly at anything it cannot follow. */
async function readProps(src: ByteSource, start: number, len: number, draft: Draft): Promise<void> {
  const end = start + len;
  let q = start;
  const u32 = async (): Promise<number | undefined> => {
    if (q + 4 > end) return undefined;
    const b = await src.read(q, 4);
    q += 4;
    return b.length === 4 ? b.readUInt32LE(0) : undefined;
  };
  const count = await u32();
  if (count === undefined) return;
  for (let i = 0; i < Math.min(count, MAX_PROPS); i++) {
    const tag = await u32();
    if (tag === undefined) return;
    const type = tag & 0xffff;
    const pid = tag >>> 16;
    if (pid >= 0x8000) {
      q += 16; // property set GUID
      const kind = await u32();
      if (kind === undefined) return;
      if (kind === 0) q += 4;
      else {
        const nameLen = await u32();
        if (nameLen === undefined) return;
        q += pad4(nameLen);
      }
    }
    const multi = (type & 0x1000) !== 0;
    const base = type & 0x0fff;
    const fixed = FIXED_SIZE[base];
    if (fixed !== undefined) {
      const n = multi ? await u32() : 1;
      if (n === undefined) return;
      q += n * fixed;
      continue;
    }
    if (base !== PT_STRING8 && base !== PT_UNICODE && base !== PT_BINARY && base !== PT_OBJECT) return;
    const n = await u32();
    if (n === undefined || n > MAX_PROPS) return;
    for (let j = 0; j < n; j++) {
      const size = await u32();
      if (size === undefined) return;
      const valueStart = q;
      const avail = Math.max(0, Math.min(size, end - valueStart));
      if (j === 0 && !multi) {
        if (base === PT_STRING8 || base === PT_UNICODE) {
          const raw = await src.read(valueStart, Math.min(avail, MAX_NAME_BYTES));
          const text = base === PT_UNICODE ? decode16(raw) : decode8(raw);
          if (pid === 0x3707) draft.longName = text;
          else if (pid === 0x3704) draft.fileName = text;
          else if (pid === 0x3001) draft.displayName = text;
        } else if (pid === 0x3701) {
          // PT_OBJECT data starts with the 16-byte interface id of the object.
          const skip = base === PT_OBJECT ? Math.min(16, avail) : 0;
          draft.mapiData = { start: valueStart + skip, length: avail - skip, truncated: avail < size };
        }
      }
      q = valueStart + pad4(size);
      if (q > end) return;
    }
  }
}

function pad4(n: number): number {
  return n + ((4 - (n % 4)) % 4);
}

function cutNul(s: string): string {
  const i = s.indexOf('\0');
  return i < 0 ? s : s.slice(0, i);
}

/** 8-bit strings: UTF-8 when valid, else Latin-1 (the real code page is rarely worth the trouble for a name). */
function decode8(b: Buffer): string {
  try {
    return cutNul(new TextDecoder('utf-8', { fatal: true }).decode(b));
  } catch {
    return cutNul(b.toString('latin1'));
  }
}

function decode16(b: Buffer): string {
  return cutNul(b.subarray(0, b.length - (b.length % 2)).toString('utf16le'));
}
