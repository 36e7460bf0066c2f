/**
 * Bootstrap configuration: only what a node needs before it can reach the store — its name, data directory,
 * database URL, listen addresses and log level — plus an optional `settings:` seed applied on the very first
 * start. Read from `moat.yaml` (or `--config FILE`, or `MOAT_CONFIG`), then overridden by environment variables:
 * MOAT_NODE_NAME, MOAT_DATA_DIR, MOAT_DATABASE_URL, MOAT_SMTP_LISTEN, MOAT_SUBMISSION_LISTEN,
 * MOAT_SUBMISSIONS_LISTEN, MOAT_HTTP_LISTEN
 * (`host:port`), MOAT_LOG_LEVEL, MOAT_BACKUP_KEY, MOAT_SCAN_THREADS. Everything else lives in the settings
 * document in the store.
 *
 * `scanThreads` (MOAT_SCAN_THREADS): worker threads that scan mail for this node; by default one fewer than the
 * machine's cores (at least one), because the SMTP thread needs a core of its own: measured on 2 cores, one scan
 * thread relays scanned mail about 10 % faster than two (fewer thread wake-ups and less contention; also with
 * 100 KiB messages). A machine property, so per node and not in the shared settings.
 *
 * `backupKey` (MOAT_BACKUP_KEY): 32 random bytes in base64 (e.g. `openssl rand -base64 32`) that encrypt the
 * Backup's message contents at rest (AES-256-GCM, src/backup/crypto.ts). A secret: never logged; every node of a
 * cluster needs the same key to read the shared Backup. Absent: new Backup contents are stored unencrypted.
 *
 * `adminPassword` (MOAT_ADMIN_PASSWORD): the password of the built-in `admin` account when it is created (first
 * start); no forced change then. Absent: a strong password is generated and printed once on stderr, to be
 * changed at first sign-in (docs/accounts.md). Never logged; ignored once the account exists.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { resolve, dirname, isAbsolute } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { formatIssues } from './settings-schema.ts';

export interface ListenAddress { host: string; port: number }

export function parseListen(value: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 0 || port > 65535) throw new Error(`invalid listen address "${value}" (expected host:port)`);
  return { host: m[1] ?? m[2], port };
}

const listen = z.string().refine((s) => { try { parseListen(s); return true; } catch { return false; } }, 'expected host:port');

const bootstrapSchema = z.object({
  node: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, dot, dash, underscore').optional(),
  dataDir: z.string().min(1).default('./var'),
  databaseUrl: z.string().min(1).optional(),
  listen: z.object({
    smtp: listen.default('127.0.0.1:2525'),
    /** Submission listener (AUTH allowed, authenticated clients may relay); off when absent. */
    submission: listen.nullable().default(null),
    /** Submission over implicit TLS (RFC 8314, usually port 465); off when absent. */
    submissions: listen.nullable().default(null),
    http: listen.default('127.0.0.1:8080'),
  }).strict().prefault({}),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Backup encryption key at rest: 32 bytes, base64. */
  backupKey: z.string().trim().refine((k) => /^[A-Za-z0-9+/]{43}=$/.test(k) && Buffer.from(k, 'base64').length === 32,
    'must be 32 bytes in base64 (openssl rand -base64 32)').optional(),
  /** Password of the built-in admin account at its creation (first start). */
  adminPassword: z.string().min(12, 'must be at least 12 characters').max(1024).refine((p) => p.toLowerCase() !== 'admin', 'must not be the user name').optional(),
  /** Scan worker threads of this node (default: cores − 1, at least 1). */
  scanThreads: z.coerce.number().int().min(1).max(256).optional(),
  /** Settings applied when the store has none yet (first start). */
  settings: z.unknown().optional(),
}).strict();

export interface Bootstrap {
  node: string;
  dataDir: string;
  databaseUrl: string;
  listen: { smtp: ListenAddress; submission: ListenAddress | null; submissions: ListenAddress | null; http: ListenAddress };
  logLevel: string;
  settingsSeed: unknown;
  /** Backup encryption key (32 bytes) or null: contents stored unencrypted. */
  backupKey: Buffer | null;
  /** Password for the built-in admin account when it is first created, or null (generated and printed once). */
  adminPassword?: string | null;
  /** Scan worker threads for the SMTP path. */
  scanThreads: number;
  /** The file read, if any. */
  configFile: string | null;
}

export class ConfigError extends Error {}

/** Finds and reads the bootstrap file; `explicit` (from --config) must exist, the default `./moat.yaml` may not. */
export function loadBootstrap(explicit?: string, env: NodeJS.ProcessEnv = process.env): Bootstrap {
  const file = explicit ?? env.MOAT_CONFIG ?? (existsSync('moat.yaml') ? 'moat.yaml' : null);
  let raw: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try { text = readFileSync(file, 'utf8'); } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    try { raw = (YAML.parse(text) ?? {}) as Record<string, unknown>; } catch (err) {
      throw new ConfigError(`config file ${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`config file ${file} must be a YAML mapping`);
  }
  const merged: Record<string, unknown> = { ...raw, listen: { ...(raw.listen as object ?? {}) } };
  const l = merged.listen as Record<string, unknown>;
  if (env.MOAT_NODE_NAME) merged.node = env.MOAT_NODE_NAME;
  if (env.MOAT_DATA_DIR) merged.dataDir = env.MOAT_DATA_DIR;
  if (env.MOAT_DATABASE_URL) merged.databaseUrl = env.MOAT_DATABASE_URL;
  if (env.MOAT_SMTP_LISTEN) l.smtp = env.MOAT_SMTP_LISTEN;
  if (env.MOAT_SUBMISSION_LISTEN) l.submission = env.MOAT_SUBMISSION_LISTEN;
  if (env.MOAT_SUBMISSIONS_LISTEN) l.submissions = env.MOAT_SUBMISSIONS_LISTEN;
  if (env.MOAT_HTTP_LISTEN) l.http = env.MOAT_HTTP_LISTEN;
  if (env.MOAT_LOG_LEVEL) merged.logLevel = env.MOAT_LOG_LEVEL;
  if (env.MOAT_BACKUP_KEY) merged.backupKey = env.MOAT_BACKUP_KEY;
  if (env.MOAT_ADMIN_PASSWORD) merged.adminPassword = env.MOAT_ADMIN_PASSWORD;
  if (env.MOAT_SCAN_THREADS) merged.scanThreads = env.MOAT_SCAN_THREADS;
  const parsed = bootstrapSchema.safeParse(merged);
  if (!parsed.success) throw new ConfigError(`invalid bootstrap configuration${file ? ` in ${file}` : ''}: ${formatIssues(parsed.error).join('; ')}`);
  const c = parsed.data;
  // A relative data directory in a config file is relative to that file; from the environment, to the cwd.
  const base = file && !env.MOAT_DATA_DIR ? dirname(resolve(file)) : process.cwd();
  const dataDir = isAbsolute(c.dataDir) ? c.dataDir : resolve(base, c.dataDir);
  return {
    node: c.node ?? (hostname().split('.')[0].replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'moat'),
    dataDir,
    databaseUrl: c.databaseUrl ?? `sqlite:${resolve(dataDir, 'moat.db')}`,
    listen: {
      smtp: parseListen(c.listen.smtp),
      submission: c.listen.submission ? parseListen(c.listen.submission) : null,
      submissions: c.listen.submissions ? parseListen(c.listen.submissions) : null,
      http: parseListen(c.listen.http),
    },
    logLevel: c.logLevel,
    settingsSeed: c.settings,
    backupKey: c.backupKey ? Buffer.from(c.backupKey, 'base64') : null,
    adminPassword: c.adminPassword ?? null,
    scanThreads: c.scanThreads ?? Math.max(1, availableParallelism() - 1),
    configFile: file ? resolve(file) : null,
  };
}
