/**
 * The event log's query vocabulary (SPEC §6): filters for the three kinds of event, keyset paging and the page
 * shape, with the zod schemas that validate them. Filters arrive from query strings (API), CLI options and JSON
 * bodies: hostile input. Everything is bounded (text fields ≤ 998 characters, limit 1..1000, cursors are decimal
 * ids); times are ms since the epoch or ISO 8601 strings; `from` is inclusive, `to` exclusive.
 */
import { z } from 'zod';
import { SYSTEM_EVENT_TYPES } from './types.ts';

export const EVENT_KINDS = ['traffic', 'system', 'audit'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** A time: ms since the epoch (number or digits) or an ISO 8601 date. */
const time = z.union([z.number(), z.string().trim().min(1).max(40)]).transform((v, ctx) => {
  const n = typeof v === 'number' ? v : /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    ctx.addIssue({ code: 'custom', message: 'expected a time (ms since the epoch or ISO 8601)' });
    return z.NEVER;
  }
  return n;
});
const text = z.string().trim().min(1).max(998);
const flag = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])]).transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');

const range = { from: time.optional(), to: time.optional() };

export const trafficFilterSchema = z.object({
  ...range,
  node: text.optional(),
  /** The queue id the message was received as, or the id of its copy queued for delivery. */
  queueId: text.optional(),
  messageId: text.optional(),
  clientIp: text.optional(),
  /** An address (case-insensitive, exact) or `@domain`. */
  sender: text.optional(),
  /** An address (case-insensitive, exact) or `@domain`: matches events with that recipient among theirs. */
  recipient: text.optional(),
  /** Substring of the subject, case-insensitive. */
  subject: text.optional(),
  rule: text.optional(),
  action: text.optional(),
  module: text.optional(),
  /** A module status; with `module`, that module's status, else any module's. */
  status: text.optional(),
  backup: flag.optional(),
}).strict();
export type TrafficFilter = z.output<typeof trafficFilterSchema>;

export const systemFilterSchema = z.object({
  ...range,
  type: z.enum(SYSTEM_EVENT_TYPES).optional(),
  severity: z.enum(['info', 'warning', 'error', 'critical']).optional(),
  node: text.optional(),
}).strict();
export type SystemFilter = z.output<typeof systemFilterSchema>;

export const auditFilterSchema = z.object({
  ...range,
  actor: text.optional(),
  source: z.enum(['api', 'cli', 'system']).optional(),
  action: text.optional(),
  target: text.optional(),
}).strict();
export type AuditFilter = z.output<typeof auditFilterSchema>;

export const pageSchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** The `nextCursor` of the previous page. */
  cursor: z.string().regex(/^\d{1,18}$/, 'not a cursor').optional(),
  /** Also count every match (an extra query). */
  total: flag.default(false),
}).strict();
export type Page = z.input<typeof pageSchema>;

export interface PageResult<T> {
  items: T[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
  /** Present when asked for (`total: true`). */
  total?: number;
}

/** Validates a page request (limit defaults to 100, at most 1,000). */
export function parsePage(p: Page = {}): { limit: number; cursor?: number; total: boolean } {
  const v = pageSchema.parse(p);
  return { limit: v.limit, cursor: v.cursor === undefined ? undefined : Number(v.cursor), total: v.total };
}

/** `items` fetched with limit + 1 rows: the extra row only says there is a next page. */
/**
 * Every row of a newest-first keyset query, in pages of `size` rows (for streamed exports): `rows(n, before)`
 * returns at most n rows with ids below `before`, newest first.
 */
export async function* keysetPages<T extends { id: number }>(rows: (n: number, before?: number) => Promise<T[]>, size = 1000, limit = Infinity): AsyncGenerator<T[]> {
  let cursor: number | undefined;
  let left = limit;
  while (left > 0) {
    const page = await rows(Math.min(size, left), cursor);
    if (!page.length) return;
    left -= page.length;
    yield page;
    if (page.length < size) return;
    cursor = page[page.length - 1].id;
  }
}

export function toPage<T extends { id: number }>(rows: T[], limit: number, total?: number): PageResult<T> {
  const items = rows.slice(0, limit);
  const next = rows.length > limit ? String(items[items.length - 1].id) : null;
  return total === undefined ? { items, nextCursor: next } : { items, nextCursor: next, total };
}

/** Escapes LIKE's wildcards (with `\` as the escape character). */
export function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
