/**
 * zod schemas of the Backup routes (admin and personal): the item, its history, the view, a search page, and
 * the search query string. The query string is hostile: it is bounded here (strings, numbers coerced) and the
 * Backup service validates it again with its own schemas (src/backup/types.ts), whose failures answer 400.
 */
import { z } from 'zod';
import type { BackupFilter, BackupSearchInput } from '../../backup/types.ts';

const moduleStatus = z.object({
  status: z.string(),
  reason: z.string().optional(),
  detections: z.array(z.object({ status: z.string(), name: z.string(), part: z.string().optional() })).optional(),
});

export const backupItemSchema = z.object({
  id: z.string(),
  time: z.number().describe('ms since the epoch'),
  node: z.string(),
  queueId: z.string().describe('queue id the message was received under'),
  deliveredAs: z.string().nullable().describe('queue id of the copy queued for delivery, if any'),
  messageId: z.string().nullable(),
  clientIp: z.string(),
  helo: z.string(),
  sender: z.string(),
  recipients: z.array(z.string()),
  subject: z.string(),
  size: z.number(),
  rule: z.string(),
  action: z.string(),
  reason: z.string().describe('why it was kept: module:status of the firing blocks'),
  threats: z.array(z.string()),
  hasThreat: z.boolean(),
  modules: z.record(z.string(), moduleStatus),
  encrypted: z.boolean(),
}).meta({ id: 'BackupItem' });

export const historySchema = z.object({
  time: z.number(),
  actor: z.string().describe('api:<account>, cli:<user>, personal:<address> or system'),
  action: z.string().describe('stored, viewed, downloaded, delivered, deleted, recipient_removed, …'),
  details: z.record(z.string(), z.unknown()),
}).meta({ id: 'BackupHistoryEntry' });

export const itemWithHistorySchema = z.object({ item: backupItemSchema, history: z.array(historySchema) });

export const backupViewSchema = z.object({
  item: backupItemSchema,
  headers: z.array(z.object({ name: z.string(), value: z.string() })),
  text: z.string().nullable(),
  html: z.string().nullable().describe('sanitised: no script, no remote content, inert links; show it in a sandboxed iframe'),
  attachments: z.array(z.object({ filename: z.string().nullable(), mimeType: z.string(), size: z.number(), inline: z.boolean(), contentId: z.string().nullable() })),
  truncated: z.boolean().describe('only the first backup.viewLimit bytes were parsed'),
  parsedBytes: z.number(),
  remoteContentBlocked: z.number(),
}).meta({ id: 'BackupView' });

export const searchPageSchema = z.object({
  items: z.array(backupItemSchema),
  total: z.number().nullable().describe('matches in all (null with count=false)'),
  nextCursor: z.string().nullable().describe('pass as cursor for the next page; null on the last page'),
});

export const deliverResultSchema = z.object({ queueIds: z.array(z.string()), recipients: z.array(z.string()) });

const q = (max: number) => z.string().max(max).optional();

/** Filters of a Backup search (all optional, AND). */
export const backupFilterQuery = {
  module: q(20).describe('antivirus, links, antispam, antiphishing, content, auth, sandbox (with status)'),
  status: q(40).describe("a module status, e.g. infected (needs module)"),
  sender: q(320).describe('envelope sender, exact or a mask with *'),
  recipient: q(320).describe('a recipient, exact or a mask with *'),
  clientIp: q(64),
  subject: q(200).describe('substring, case-insensitive'),
  from: q(40).describe('received at or after (ISO 8601 or ms since the epoch)'),
  to: q(40).describe('received before (ISO 8601 or ms since the epoch)'),
  rule: q(200),
  action: q(20).describe('skip, delete_attachment, reject, delete'),
  threat: q(200).describe('substring of a threat name'),
  queueId: q(16).describe('received-as or delivered-as queue id'),
  messageId: q(998),
};

const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const backupSearchQuery = z.object({
  ...backupFilterQuery,
  limit: z.coerce.number().int().min(1).max(1000).optional().describe('items per page (default 50)'),
  offset: z.coerce.number().int().min(0).max(1_000_000).optional(),
  cursor: z.string().max(40).optional().describe('nextCursor of the previous page (keyset paging)'),
  count: flag.optional().describe('count the matches (default true)'),
  order: z.enum(['newest', 'oldest']).optional().describe('by the time received: newest first (default) or oldest first; a cursor pages on in the same order'),
}).strict();

/** The query string as the service's search input (the service validates it). */
export function searchInput(query: z.output<typeof backupSearchQuery>): BackupSearchInput {
  const { limit, offset, cursor, count, order, ...rest } = query;
  const filter = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as BackupFilter;
  return { filter, ...(limit !== undefined ? { limit } : {}), ...(offset !== undefined ? { offset } : {}), ...(cursor !== undefined ? { cursor } : {}), ...(count !== undefined ? { count } : {}), ...(order !== undefined ? { order } : {}) };
}

export const idParams = z.object({ id: z.string().min(1).max(64) });
