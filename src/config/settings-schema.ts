/**
 * The settings document: everything an administrator can change at run time, shared by every node of a cluster.
 * Validated with zod; every field has the default of SPEC §1, so `{}` is a complete, working configuration
 * (a relay for nobody: no local domains, trusted loopback only).
 *
 * Hostile input: documents come from imports, the API and the CLI. Validation refuses them whole with the path
 * and reason of each problem; a refused document never replaces the one in force.
 */
import { hostname as osHostname } from 'node:os';
import { createSecureContext } from 'node:tls';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { dnsblConfigSchema } from '../scan/antispam/dnsbl.ts';
import { linksBlocklistsSchema } from '../scan/links/dns.ts';
import { sourceSchema as linkSourceSchema } from '../scan/links/scanner.ts';
import { dkimSettingsSchema } from '../dkim/settings.ts';
import { eventsSettingsSchema, siemSettingsSchema } from '../events/settings.ts';
import { accountsSettingsSchema } from '../accounts/settings.ts';
import { notificationsSettingsSchema } from '../notifications/settings.ts';
import { backupSettingsSchema } from '../backup/settings.ts';

const DOMAIN_RE = /^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*\.?$/i;
// Brackets may hold an IP literal or a host name (Postfix's `[host]`: no MX lookup), not only hex digits.
const HOSTPORT_RE = /^(\[[0-9a-z:.-]+\]|[a-z0-9.-]+)(:\d{1,5})?$/i;

export const domainName = z.string().trim().toLowerCase().regex(DOMAIN_RE, 'not a valid domain name');

/** `host[:port]` or `[ip-or-host][:port]`; brackets mean "no MX lookup", as in Postfix's transport maps. */
export const hostPort = z.string().trim().regex(HOSTPORT_RE, 'expected host[:port]').refine((s) => {
  const m = /:(\d+)$/.exec(s.replace(/^\[[^\]]*\]/, ''));
  return !m || (Number(m[1]) >= 1 && Number(m[1]) <= 65535);
}, 'port must be 1..65535');

export const cidr = z.string().trim().refine((s) => {
  // IPv4 must be dotted-quad decimal: ipaddr.js also takes `10` (= 0.0.0.10), `127.1` and octal `010.0.0.1`
  // (= 8.0.0.1), so `10/8` used to pass and silently mean 0.0.0.0/8.
  const addr = s.split('/')[0];
  if (!addr.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(addr)) return false;
  try {
    if (s.includes('/')) ipaddr.parseCIDR(s); else ipaddr.parse(s);
    return true;
  } catch { return false; }
}, 'not a valid IP address or CIDR range');

const seconds = z.number().int().min(0);

export const tlsOutbound = z.enum(['none', 'may', 'require', 'verify']);

export const settingsSchema = z.object({
  mta: z.object({
    hostname: domainName.default(() => osHostname().toLowerCase()),
    /** Text added to the greeting: `220 <hostname> ESMTP <banner>`; empty by default. */
    banner: z.string().max(200).refine((s) => !/[\r\n]/.test(s), 'must be one line').default(''),
    domains: z.array(z.object({
      name: domainName,
      local: z.boolean().default(true),
      route: hostPort.nullable().default(null),
    }).strict()).default([]).refine((ds) => new Set(ds.map((d) => d.name)).size === ds.length, 'domain names must be unique'),
    relayHost: hostPort.nullable().default(null),
    trustedNetworks: z.array(cidr).default(['127.0.0.0/8', '::1/128']),
    messageSizeLimit: z.number().int().min(0).default(20 * 1024 * 1024),
    maxRecipients: z.number().int().min(1).max(100_000).default(1000),
    limits: z.object({
      /** Simultaneous connections from one client IP. */
      connectionsPerClient: z.number().int().min(1).default(50),
      /** New connections per minute from one client IP; 0 = off. */
      connectionRatePerClient: z.number().int().min(0).default(0),
      /** Messages per minute from one client IP; 0 = off. */
      messageRatePerClient: z.number().int().min(0).default(0),
      /** Simultaneous connections in total; beyond it new clients get 421 4.7.0 and try later. */
      maxConnections: z.number().int().min(1).default(2000),
      /** Milliseconds to wait before greeting a client outside the trusted networks; a client that talks first
       *  gets 421 (early-talker detection, like Postfix's postscreen greet pause). 0 = greet at once. */
      greetPause: z.number().int().min(0).max(30_000).default(0),
      /** Idle time allowed between commands, seconds. */
      commandTimeout: z.number().int().min(1).default(30),
      /** Idle time allowed while receiving the message data, seconds. */
      dataTimeout: z.number().int().min(1).default(300),
    }).strict().prefault({}),
    queue: z.object({
      /** Seconds a message may stay undelivered before it bounces (DSN to the sender). */
      lifetime: seconds.default(3 * 86400),
      /** The same for bounces themselves; an expired bounce is dropped, never bounced. */
      bounceLifetime: seconds.default(86400),
      /** First retry delay, seconds; each further retry doubles it up to retryMax. */
      retryInitial: z.number().int().min(1).default(300),
      retryMax: z.number().int().min(1).default(3600),
      /** Simultaneous outgoing connections per destination (next hop). */
      destinationConcurrency: z.number().int().min(1).default(20),
      /** Seconds to wait for a next hop to connect and greet; later replies may take up to max(this, 60 s). */
      connectTimeout: z.number().int().min(1).default(30),
    }).strict().prefault({}),
    paused: z.object({
      sending: z.boolean().default(false),
      receiving: z.boolean().default(false),
    }).strict().prefault({}),
    tls: z.object({
      inbound: z.enum(['none', 'may', 'require']).default('may'),
      clientCertificate: z.enum(['ignore', 'request', 'require']).default('ignore'),
      outbound: tlsOutbound.default('may'),
      perDomain: z.array(z.object({ domain: domainName, outbound: tlsOutbound }).strict()).default([]),
      /** PEM certificate chain and key for STARTTLS; null = the self-signed pair generated on first start. */
      certificate: z.object({ cert: z.string().min(1), key: z.string().min(1) }).strict()
        .refine((c) => { try { createSecureContext({ cert: c.cert, key: c.key }); return true; } catch { return false; } },
          'not a usable PEM certificate chain and matching private key')
        .nullable().default(null),
    }).strict().prefault({}),
    recipientVerification: z.object({
      /** off | static (the list below) | callout (ask the domain's next hop with RCPT TO). Never for trusted clients. */
      method: z.enum(['off', 'static', 'callout']).default('off'),
      /** Addresses that exist, or `@domain` for a whole domain, for method `static`. */
      staticList: z.array(z.string().trim().toLowerCase()).default([]),
      /** Seconds a callout answer is remembered: positive (exists) and negative (unknown). */
      calloutPositiveTtl: seconds.default(86400),
      calloutNegativeTtl: seconds.default(3600),
      calloutTimeout: z.number().int().min(1).default(30),
      /** Refuse relayed recipients (non-local domains, from trusted or authenticated clients) whose domain has
       *  neither MX nor A/AAAA, instead of queueing mail that can only bounce. */
      rejectUnresolvableDomain: z.boolean().default(false),
    }).strict().prefault({}),
    /** Require STARTTLS before AUTH on the submission listener (plain AUTH over cleartext is refused). */
    authRequireTls: z.boolean().default(true),
  }).strict().prefault({}),
  /** Scanning (SPEC §2–§3): which modules run on a message is the processing rules' business; these are the
   *  engines' and the pipeline's settings. */
  scan: z.object({
    /** Off: messages are relayed without scanning or rules (a pure relay). */
    enabled: z.boolean().default(true),
    /** Seconds to wait for the verdict while the client waits after DATA; past it the message is accepted and
     *  finished after queueing (a `reject` then becomes `delete`). */
    inlineBudget: z.number().int().min(1).max(600).default(60),
    /** Seconds a message may be scanned in all (SPEC §3.1: 180). */
    maxScanTime: z.number().int().min(1).max(3600).default(180),
    /** Add X-Moat-* status headers to delivered mail. */
    statusHeaders: z.boolean().default(true),
    /** DNS servers (`ip` or `ip:port`) for the scan modules' lookups (blocklists, PTR, SPF/DKIM/DMARC); empty =
     *  the system resolver. A module's own `dnsServers`, when set, takes precedence. */
    dnsServers: z.array(z.string().trim().min(1)).default([]),
    /** Link scanning (docs/links.md). */
    links: z.object({
      /** URL/domain database files and directories, or {path, format, category, list}; empty = the shipped
       *  data/links/. Also the phishing database of anti-phishing. */
      databases: z.array(linkSourceSchema).default([]),
      /** Seconds between checks of the database files for changes. */
      reloadCheck: z.number().int().min(1).max(3600).default(10),
      /** Categories that give the module its status; the others are reported in details only. */
      categories: z.array(z.enum(['malicious', 'adware', 'riskware'])).min(1).default(['malicious']),
      /** DNS URI blocklists (docs/links.md). */
      blocklists: linksBlocklistsSchema.prefault({}),
      /** Seconds the module may take per message (SPEC §3.2: 30). */
      timeout: z.number().int().min(1).max(600).default(30),
    }).strict().prefault({}),
    /** Anti-phishing (docs/antiphishing.md). */
    antiphishing: z.object({
      /** Score from which a message is `phishing`. */
      threshold: z.number().min(1).max(1000).default(10),
      /** People whose names must not come from outside addresses: name and their real addresses. */
      protectedPeople: z.array(z.object({ name: z.string().trim().min(1).max(200), addresses: z.array(z.string().trim().toLowerCase().max(320)).default([]) }).strict()).default([]),
      /** Domains to protect from look-alikes besides the local domains and the shipped brands. */
      protectedDomains: z.array(domainName).default([]),
      /** Another brands file instead of the shipped data/antiphishing/brands.txt; null = shipped. */
      brandsFile: z.string().min(1).nullable().default(null),
      /** Weight overrides per signal id (0 turns a signal off). */
      weights: z.record(z.string(), z.number().min(0).max(100)).default({}),
    }).strict().prefault({}),
    /** Sender authentication (SPF, DKIM, DMARC, ARC). */
    auth: z.object({
      /** Seconds one DNS query may take; past it the method's result is `temperror`. */
      dnsTimeout: z.number().int().min(1).max(60).default(10),
      /** Edge gateways in front of Moat (CIDRs): mail they pass on is judged by the first Received hop outside
       *  them. Empty: the SMTP client is the sender's server (Moat at the edge). */
      trustedRelays: z.array(cidr).default([]),
      /** The authserv-id of the Authentication-Results header; null = mta.hostname. */
      authservId: domainName.nullable().default(null),
    }).strict().prefault({}),
    antivirus: z.object({
      builtin: z.boolean().default(true),
      /** Built-in engine database files or directories (.sigs, .hdb, .hsb, .ndb); empty = the shipped data/antivirus/.
       *  Running nodes notice added, removed or changed files (see reloadCheck) and reload; the old database stays
       *  in force if the new one does not load. */
      databases: z.array(z.string().min(1)).default([]),
      /** Seconds between checks of the database files for changes. */
      reloadCheck: z.number().int().min(1).max(3600).default(10),
      /** clamd over a unix socket or TCP; null = not used. */
      clamav: z.object({
        socket: z.string().min(1).optional(),
        host: z.string().min(1).optional(),
        port: z.number().int().min(1).max(65535).optional(),
        timeout: z.number().int().min(1).default(30),
        /** Largest part sent to clamd, in MiB; keep it at or below clamd's StreamMaxLength (ClamAV's default is
         *  100 MB; Debian's clamd.conf sets 25M). A larger part is an engine error (status `error`). */
        maxStreamSize: z.number().int().min(1).max(4095).default(25),
      }).strict().refine((c) => !!c.socket || !!c.port, 'give socket or port').nullable().default(null),
    }).strict().prefault({}),
    antispam: z.object({
      /** Rating 0–100 at which a message is `probable_spam` and `spam` (SPEC §3.3). */
      thresholds: z.object({
        probableSpam: z.number().int().min(1).max(100).default(50),
        spam: z.number().int().min(1).max(100).default(80),
      }).strict().prefault({}).refine((t) => t.probableSpam <= t.spam, 'probableSpam must not be above spam'),
      /** MB: larger messages are not scanned (`not_scanned`, reason `size_limit`). */
      maxSize: z.number().int().min(1).max(4096).default(50),
      /** Each header on its own toggle (added when the status headers are on, `scan.statusHeaders`). */
      headers: z.object({
        score: z.boolean().default(true),
        status: z.boolean().default(true),
        signals: z.boolean().default(true),
        /** X-MS-Exchange-Organization-SCL for Exchange / Microsoft 365 behind Moat. */
        scl: z.boolean().default(true),
      }).strict().prefault({}),
      /** DNS servers for blocklist and PTR lookups (`ip` or `ip:port`); empty = scan.dnsServers. */
      dnsServers: z.array(z.string().trim().min(1)).default([]),
      /** DNS and URI blocklists (docs/antispam-dns.md); none are queried unless listed. */
      blocklists: dnsblConfigSchema.prefault({}),
      /** Reverse DNS and HELO sanity checks on the client. */
      ptrChecks: z.boolean().default(true),
      /** Bulk: the same body fingerprint for at least `recipients` recipients within `window` hours. */
      bulk: z.object({
        recipients: z.number().int().min(2).default(20),
        window: z.number().int().min(1).max(168).default(24),
      }).strict().prefault({}),
      /** Sender IP, network and domain reputation from the cluster's own verdicts. */
      reputation: z.boolean().default(true),
      /** Guards on learning (moat learn, feedback): per source and day; class balance over 7 days. */
      learning: z.object({
        perSourceDaily: z.number().int().min(1).default(500),
        maxClassRatio: z.number().min(1).default(3),
        slack: z.number().int().min(0).default(50),
      }).strict().prefault({}),
      /** An Rspamd worker to ask as one more signal (HTTP /checkv2), or null. */
      rspamd: z.object({
        url: z.string().url(),
        timeout: z.number().int().min(1).default(15),
        password: z.string().optional(),
      }).strict().nullable().default(null),
      /** A spamd (SpamAssassin) to ask as one more signal, or null. */
      spamassassin: z.object({
        socket: z.string().min(1).optional(),
        host: z.string().min(1).optional(),
        port: z.number().int().min(1).max(65535).optional(),
        timeout: z.number().int().min(1).default(30),
        user: z.string().optional(),
      }).strict().refine((c) => !!c.socket || !!c.port, 'give socket or port').nullable().default(null),
    }).strict().prefault({}),
    limits: z.object({
      maxDepth: z.number().int().min(1).max(100).default(32),
      maxMembers: z.number().int().min(1).default(10_000),
      /** Bytes unpacked from archives per message; beyond it the antivirus status is `error` (zip bombs). */
      maxUnpackedBytes: z.number().int().min(1).default(128 * 1024 * 1024),
    }).strict().prefault({}),
  }).strict().prefault({}),
  /** DKIM signing of outgoing mail (src/dkim/settings.ts; docs/dkim.md). */
  dkim: dkimSettingsSchema.prefault({}),
  /** Event log retention (src/events/settings.ts; docs/events.md). */
  events: eventsSettingsSchema.prefault({}),
  /** SIEM forwarding: syslog + CEF (src/events/settings.ts; docs/siem.md). */
  siem: siemSettingsSchema.prefault({}),
  /** Rule and system notifications (src/notifications/settings.ts; docs/notifications.md). */
  notifications: notificationsSettingsSchema.prefault({}),
  /** Backup (quarantine): storage, cap, retention, personal Backup, digest (src/backup/settings.ts; docs/backup.md). */
  backup: backupSettingsSchema.prefault({}),
  /** Accounts: lockout, password expiry, sessions (src/accounts/settings.ts; docs/accounts.md). */
  accounts: accountsSettingsSchema.prefault({}),
}).strict();

export type Settings = z.infer<typeof settingsSchema>;

export function defaultSettings(): Settings {
  return settingsSchema.parse({});
}

/** One line per problem: `mta.maxRecipients: Too small: expected number to be >=1`. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(document)'}: ${i.message}`);
}
