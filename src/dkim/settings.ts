/**
 * The `dkim` section of the settings document (src/config/settings-schema.ts): whether outgoing mail is signed
 * when its domain has a key, which header fields the signature covers, which are oversigned, and the signature
 * lifetime. The keys themselves live in the store (moat dkim …), not in the settings.
 *
 * Hostile input: documents come from imports, the API and the CLI; header names must be RFC 5322 field names,
 * and From is always signed (RFC 6376 §5.4 requires it), whatever the list says.
 */
import { z } from 'zod';

/** Signed when present, in this order (RFC 6376 §5.4.1's recommendations, plus MIME and list fields). */
export const DEFAULT_SIGNED_HEADERS: readonly string[] = Object.freeze([
  'From', 'Reply-To', 'Subject', 'Date', 'To', 'Cc', 'Message-ID', 'In-Reply-To', 'References', 'Sender',
  'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding', 'Content-ID', 'Content-Description', 'Content-Disposition',
  'List-Id', 'List-Help', 'List-Unsubscribe', 'List-Unsubscribe-Post', 'List-Subscribe', 'List-Post', 'List-Owner', 'List-Archive',
  'Resent-Date', 'Resent-From', 'Resent-Sender', 'Resent-To', 'Resent-Cc', 'Resent-Message-ID',
]);

/** Listed once more than they occur: a field of that name added after signing breaks the signature. */
export const DEFAULT_OVERSIGNED: readonly string[] = Object.freeze(['From', 'Reply-To', 'Subject']);

// RFC 5322 ftext without ';', which would end the h= tag of the signature.
const fieldName = z.string().trim().regex(/^[!-9<-~]{1,76}$/, 'not a header field name');

export const dkimSettingsSchema = z.object({
  /** Sign outgoing mail (authenticated senders, trusted networks) whose domain has a signing key. */
  enabled: z.boolean().default(true),
  /** Header fields to sign when present, in order; From is always signed. */
  headers: z.array(fieldName).min(1).max(100).default([...DEFAULT_SIGNED_HEADERS]),
  /** Header fields signed once more than they occur (From always is). */
  oversign: z.array(fieldName).max(100).default([...DEFAULT_OVERSIGNED]),
  /** Seconds a signature stays valid (the x= tag); 0 = no expiry. At least an hour when set. */
  expire: z.number().int().min(0).max(10 * 366 * 86400).refine((n) => n === 0 || n >= 3600, 'use 0 (no expiry) or at least 3600 seconds').default(0),
}).strict();

export type DkimSettings = z.infer<typeof dkimSettingsSchema>;
