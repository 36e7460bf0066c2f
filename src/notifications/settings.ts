/**
 * The `notifications` settings section (SPEC §4; docs/notifications.md): the From address of notifications,
 * the admin list, and the system (health) notifications' timing.
 *
 * Hostile input: documents from imports, the API and the CLI; addresses are checked (local@domain, one line).
 * Defaults: From `postmaster@<mta.hostname>` (null here), no admins (admin notifications and system
 * notifications then go nowhere: logged), a problem mailed at most every 15 minutes, a reminder every 24 hours,
 * clamd probed every 60 seconds when it is configured.
 */
import { z } from 'zod';
import { addressSchema } from '../policy/schema.ts';

export const notificationsSettingsSchema = z.object({
  /** From of every notification (and envelope sender of notifications to admins, recipients and BCC copies);
   *  null = postmaster@<mta.hostname>. */
  from: addressSchema.nullable().default(null),
  /** Display name in the From field. */
  fromName: z.string().trim().max(100).refine((s) => !/[\u0000-\u001f\u007f"\\]/.test(s), 'one line, no quotes or backslashes').default('Mail gateway'),
  /** The admin list: audience `admins` of rule notifications, and system notifications. */
  admins: z.array(addressSchema).max(100).default([]),
  system: z.object({
    /** Mail the admins about health problems (SPEC §4). */
    enabled: z.boolean().default(true),
    /** At most one mail per problem in this many minutes (starts and ends within it are collapsed). */
    minInterval: z.number().int().min(1).max(1440).default(15),
    /** A reminder while a problem lasts, every this many hours. */
    reminder: z.number().int().min(1).max(168).default(24),
    /** Seconds between checks that clamd (scan.antivirus.clamav) answers. */
    clamdCheck: z.number().int().min(5).max(3600).default(60),
  }).strict().prefault({}),
}).strict();

export type NotificationsSettings = z.infer<typeof notificationsSettingsSchema>;

/** The From address in force. */
export function fromAddress(n: NotificationsSettings, hostname: string): string {
  return n.from ?? `postmaster@${hostname}`;
}
