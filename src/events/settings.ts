/**
 * The `events` and `siem` sections of the settings document (src/config/settings-schema.ts; docs/events.md,
 * docs/siem.md).
 *  - `events.retention.<kind>`: `days` (rows older are deleted; 0 = keep by age forever) and `maxRows` (the oldest
 *    rows beyond it are deleted; 0 = no limit). Defaults: traffic 90 days / 10,000,000 rows, system and audit
 *    365 days / 1,000,000 rows. Enforced hourly and at start by src/events/retention.ts.
 *  - `siem`: forwarding to syslog receivers (RFC 5424 messages with CEF payloads) over UDP (RFC 5426), TCP
 *    (RFC 6587 octet counting) or TLS (RFC 5425). Each target chooses which kinds it gets.
 * Hostile input: documents come from imports, the API and the CLI; host names, ports, PEM blocks and sizes are
 * checked here, and a target's TLS material is validated again when the connection is made.
 */
import { z } from 'zod';

const retention = (days: number, maxRows: number) => z.object({
  days: z.number().int().min(0).max(36_500).default(days),
  maxRows: z.number().int().min(0).default(maxRows),
}).strict().prefault({});

export const eventsSettingsSchema = z.object({
  retention: z.object({
    traffic: retention(90, 10_000_000),
    system: retention(365, 1_000_000),
    audit: retention(365, 1_000_000),
  }).strict().prefault({}),
}).strict();
export type EventsSettings = z.infer<typeof eventsSettingsSchema>;

export const SYSLOG_FACILITIES = ['kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp',
  'ntp', 'audit', 'alert', 'clock', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7'] as const;

const pem = z.string().trim().max(100_000).refine((s) => /-----BEGIN [A-Z0-9 ]+-----/.test(s), 'expected a PEM block');
const host = z.string().trim().min(1).max(253).regex(/^[a-z0-9.:_-]+$/i, 'expected a host name or IP address');

export const siemTargetSchema = z.object({
  /** A label for logs and counters (defaults to host:port). */
  name: z.string().trim().min(1).max(64).regex(/^[\w.:-]+$/, 'letters, digits and . _ : - only').optional(),
  host,
  /** Defaults: 514 for udp and tcp, 6514 for tls (RFC 5425). */
  port: z.number().int().min(1).max(65535).optional(),
  transport: z.enum(['udp', 'tcp', 'tls']).default('udp'),
  facility: z.enum(SYSLOG_FACILITIES).default('local0'),
  kinds: z.array(z.enum(['traffic', 'system', 'audit'])).min(1).default(['traffic', 'system', 'audit']),
  /** Bytes per message; longer messages are cut. Default 2048 for udp (one datagram each; RFC 5426 asks every
   *  receiver to take 2048), 8192 for tcp and tls (RFC 5425 §4.3.1's SHOULD). */
  maxMessageSize: z.number().int().min(480).max(65_000).optional(),
  /** Messages waiting per target; beyond it new ones are dropped and counted. */
  queueSize: z.number().int().min(1).max(1_000_000).default(10_000),
  tls: z.object({
    /** PEM CA certificate(s) that sign the receiver's certificate; default: the system's CAs. */
    ca: pem.nullable().default(null),
    /** Verify the receiver's certificate and name (off only for tests and closed networks). */
    verify: z.boolean().default(true),
    /** Name checked against the certificate; default the host. */
    serverName: z.string().trim().min(1).max(253).nullable().default(null),
    /** Client certificate and key (PEM) for receivers that require one. */
    cert: pem.nullable().default(null),
    key: pem.nullable().default(null),
  }).strict().refine((t) => !t.cert === !t.key, 'give both cert and key, or neither').prefault({}),
}).strict();
export type SiemTarget = z.infer<typeof siemTargetSchema>;

export const siemSettingsSchema = z.object({
  enabled: z.boolean().default(false),
  targets: z.array(siemTargetSchema).max(16).default([]),
}).strict();
export type SiemSettings = z.infer<typeof siemSettingsSchema>;
