/**
 * The `backup` section of the settings document (SPEC §5; docs/backup.md): whether originals are kept, the size
 * cap and retention, the view limit, what end users may do in their personal Backup, and the digest.
 *
 * Hostile input: the values come from imports, the API and the CLI; zod bounds every one of them (a time of day
 * is `HH:MM`, a console URL must be http(s), addresses are checked as addresses).
 */
import { z } from 'zod';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export const backupSettingsSchema = z.object({
  /** Keep originals when a firing block has `backup` on; off = nothing is stored (the index stays readable). */
  enabled: z.boolean().default(true),
  /** Bytes the stored contents may take in all; past it the oldest items are evicted first (SPEC §5: 7 GiB). */
  maxSize: z.number().int().min(1).default(7 * GiB),
  /** Days an item is kept; older ones are removed by the sweep. */
  retentionDays: z.number().int().min(1).max(3650).default(30),
  /** Seconds between sweeps (retention, cap, half-written contents). */
  sweepInterval: z.number().int().min(10).max(86_400).default(3600),
  /** Bytes of a message parsed for the view (headers, text, HTML, attachment list); the rest is not shown. */
  viewLimit: z.number().int().min(64 * 1024).max(256 * MiB).default(20 * MiB),
  /** What end users may do in their personal Backup besides listing their own items. */
  personal: z.object({
    preview: z.boolean().default(true),
    delete: z.boolean().default(true),
    /** Deliver to themselves, for items without threats (antivirus, links, antiphishing detections). */
    deliverToSelf: z.boolean().default(true),
  }).strict().prefault({}),
  digest: z.object({
    /** Daily digest of new items to each recipient address of a local domain. */
    enabled: z.boolean().default(true),
    /** Local time of day, HH:MM (24 h). */
    time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM').default('01:00'),
    /** Base URL of the web console for view/release links; null = http://<mta.hostname>:8080. */
    consoleUrl: z.string().trim().url().refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL').nullable().default(null),
    /** From address of digests; null = postmaster@<mta.hostname>. */
    from: z.string().trim().email().nullable().default(null),
    /** Items listed per digest at most (the rest are counted). */
    maxItems: z.number().int().min(1).max(1000).default(100),
    /** Days an unsubscribe link stays valid. */
    tokenDays: z.number().int().min(1).max(365).default(60),
  }).strict().prefault({}),
}).strict();

export type BackupSettings = z.infer<typeof backupSettingsSchema>;
