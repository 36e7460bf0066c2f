/**
 * The Backup's public types (SPEC §5): items as the index holds them, search filters and paging (zod schemas the
 * API reuses, so the REST layer and the CLI validate the same way), history entries, view results, and the sink
 * the scanning intake keeps originals through.
 *
 * Hostile input: every filter value comes from an API query string or a CLI argument; the schemas bound lengths,
 * shapes and numbers. Addresses are compared lower-cased.
 */
import type { TrafficEvent } from '../disposition/intake.ts';
import { z } from 'zod';
import type { Readable } from 'node:stream';
import type { Envelope } from '../spool/spool.ts';
import type { Verdict } from '../policy/index.ts';
import type { Finding } from '../scan/types.ts';

/** Statuses that count as a threat for the personal Backup (no preview-release of such items). */
export const THREAT_STATUSES: Record<string, readonly string[]> = {
  antivirus: ['infected', 'probably_infected', 'riskware'],
  links: ['malicious', 'adware', 'riskware'],
  antiphishing: ['phishing'],
};

/** A module's outcome as the traffic event records it, without the engine details. */
export type ModuleStatus = Omit<TrafficEvent['modules'][string], 'details'>;

export interface BackupItem {
  id: string;
  time: number;
  node: string;
  /** Queue id the message was received under. */
  queueId: string;
  /** Queue id of the copy queued for delivery (for this rule group), when one was. */
  deliveredAs: string | null;
  messageId: string | null;
  clientIp: string;
  helo: string;
  sender: string;
  /** This rule group's recipients still holding the item (personal deletes remove their own). */
  recipients: string[];
  subject: string;
  size: number;
  rule: string;
  action: string;
  /** Why it was kept: the firing blocks with backup on, `module:status` joined by `, `. */
  reason: string;
  threats: string[];
  /** An antivirus, links or antiphishing detection (see THREAT_STATUSES). */
  hasThreat: boolean;
  /** Every module's status (SPEC §6 shape: not run = `not_scanned`, reason `disabled`). */
  modules: Record<string, ModuleStatus>;
  encrypted: boolean;
}

export interface HistoryEntry {
  time: number;
  /** `cli:<user>`, `api:<account>`, `personal:<address>`, `system`. */
  actor: string;
  /** `stored`, `delivered`, `downloaded`, `viewed`, `deleted`, `recipient_removed`, `evicted`, `expired`. */
  action: string;
  details: Record<string, unknown>;
}

const text = (max: number) => z.string().trim().min(1).max(max);
const time = z.union([z.number().int().min(0), z.string().trim().min(1).transform((s, ctx) => {
  const n = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  if (!Number.isFinite(n)) { ctx.addIssue({ code: 'custom', message: 'expected a date (ISO 8601) or ms since the epoch' }); return z.NEVER; }
  return n;
})]);

/** Search filters; every field optional, all given fields must match (AND). */
export const backupFilterSchema = z.object({
  /** Module name; with `status`, items whose module reported that status. */
  module: z.enum(['antivirus', 'links', 'antispam', 'antiphishing', 'content', 'auth', 'sandbox']).optional(),
  status: z.string().trim().regex(/^[a-z_]{1,40}$/, 'a status name such as infected').optional(),
  /** Envelope sender: exact address, or a mask with `*` (case-insensitive). */
  sender: text(320).optional(),
  /** A recipient: exact address, or a mask with `*` (case-insensitive). */
  recipient: text(320).optional(),
  clientIp: text(64).optional(),
  /** Substring of the subject, case-insensitive. */
  subject: text(200).optional(),
  /** Received at or after / before (ms since the epoch or ISO 8601). */
  from: time.optional(),
  to: time.optional(),
  rule: text(200).optional(),
  action: z.enum(['skip', 'delete_attachment', 'reject', 'delete']).optional(),
  /** Substring of a threat name, case-insensitive. */
  threat: text(200).optional(),
  /** Received-as or delivered-as queue id. */
  queueId: z.string().trim().regex(/^[0-9A-Za-z]{16}$/, 'a queue id').optional(),
  messageId: text(998).optional(),
}).strict().refine((f) => !f.status || !!f.module, { message: 'status needs module', path: ['status'] });

export type BackupFilter = z.input<typeof backupFilterSchema>;

export const backupSearchSchema = z.object({
  filter: backupFilterSchema.prefault({}),
  limit: z.number().int().min(1).max(1000).default(50),
  /** Offset paging; or `cursor` (from a previous page's nextCursor) for keyset paging. */
  offset: z.number().int().min(0).max(1_000_000).default(0),
  cursor: z.string().regex(/^\d{1,16}:[0-9A-Za-z]{16}$/, 'a cursor from a previous page').optional(),
  /** Newest first (default) or oldest first, by the time received; a cursor pages on in the same order. */
  order: z.enum(['newest', 'oldest']).default('newest'),
  /** Count the matches (total); off saves a query when paging on. */
  count: z.boolean().default(true),
}).strict();

export type BackupSearchInput = z.input<typeof backupSearchSchema>;

export interface BackupSearchResult {
  items: BackupItem[];
  /** Items matching the filter in all (null when count was off). */
  total: number | null;
  /** Keyset cursor of the next page, null on the last page. */
  nextCursor: string | null;
}

export interface BackupAttachment { filename: string | null; mimeType: string; size: number; inline: boolean; contentId: string | null }

export interface BackupView {
  item: BackupItem;
  headers: { name: string; value: string }[];
  text: string | null;
  /** Sanitised: no script, no active content, no remote content, links inert (see view.ts). */
  html: string | null;
  attachments: BackupAttachment[];
  /** Only the first `viewLimit` bytes were parsed (the message is larger): what is shown may be incomplete. */
  truncated: boolean;
  /** Bytes parsed for the view. */
  parsedBytes: number;
  /** Remote images or stylesheets replaced by a placeholder. */
  remoteContentBlocked: number;
}

/** A message's original as the scanning intake hands it over (the bytes still in spool/received/). */
export interface BackupKeepInput {
  envelope: Envelope;
  size: number;
  open(): Readable | NodeJS.ReadableStream;
}

/** One rule group's record of a kept message. */
export interface BackupGroupInput {
  recipients: string[];
  /** The verdict with the action actually carried out (a late reject is a delete). */
  verdict: Verdict;
  findings: Finding[];
  deliveredAs: string | null;
  messageId: string | null;
  subject: string;
}

export interface BackupKeeping {
  /** Records one rule group's item; never throws (failures are logged and recorded as a system event). */
  item(g: BackupGroupInput): Promise<void>;
}

/**
 * What disposition keeps originals through. `keep` reads the message once, while its file is still in
 * spool/received/ (before it is queued or removed); it never throws and resolves null when the content could not
 * be stored (logged, system event `backup.write_failed`): the mail flow goes on unchanged either way.
 */
export interface BackupSink {
  keep(m: BackupKeepInput): Promise<BackupKeeping | null>;
}

export class BackupNotFoundError extends Error {
  constructor(id: string) { super(`no Backup item ${id}`); }
}

export class BackupForbiddenError extends Error {}
