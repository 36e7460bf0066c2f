/**
 * Table types for Kysely. Times are milliseconds since the epoch (bigint columns, read back as numbers);
 * flags are integers 0/1 so the same SQL runs on SQLite and PostgreSQL.
 */
import type { Generated } from 'kysely';

export interface SettingsVersionTable {
  version: number;
  document: string;
  author: string;
  created_at: number;
}

/** Queue states: `queued` (waiting or being delivered), `held` (not delivered until released). */
export type QueueState = 'queued' | 'held';

export interface QueueMessageTable {
  id: string;
  node: string;
  sender: string;
  client_ip: string;
  helo: string;
  message_id: string | null;
  received_at: number;
  size: number;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  state: QueueState;
  is_bounce: number;
  expires_at: number;
  /** JSON of disposition's header edits (HeaderEdits), or null. */
  edits: string | null;
}

/** Recipient states: `pending` until a final answer; `delivered` (2xx) and `failed` (5xx or expired) are final. */
export type RecipientState = 'pending' | 'delivered' | 'failed';

export interface QueueRecipientTable {
  message_id: string;
  idx: number;
  address: string;
  state: RecipientState;
  attempts: number;
  last_response: string | null;
  updated_at: number;
}

export interface AccountTable {
  id: Generated<number>;
  username: string;
  password_hash: string;
  role: string;
  created_at: number;
  /** Columns of 0007_accounts (src/store/accounts-repo.ts): auth source (`local`; LDAP/OIDC later), flags 0/1,
   *  lockout state, times in ms (null = never). */
  source: Generated<string>;
  disabled: Generated<number>;
  must_change_password: Generated<number>;
  password_changed_at: number | null;
  failed_logins: Generated<number>;
  locked_until: number | null;
  last_login_at: number | null;
  updated_at: number | null;
}

/** Personal-mode addresses of an account (0007_accounts), lower-cased. */
export interface AccountAddressTable { account_id: number; address: string }

/** Custom roles (0007_accounts); `permissions` is a JSON array of permission names. */
export interface RoleTable { name: string; description: string; permissions: string; created_at: number; updated_at: number }

/** Console/API sessions (0007_accounts): `id_hash` is SHA-256 (hex) of the random id in the cookie. */
export interface SessionTable { id_hash: string; account_id: number; created_at: number; last_seen_at: number; expires_at: number; ip: string | null; user_agent: string | null }

/** API tokens (0007_accounts): `secret_hash` is SHA-256 (hex) of the secret shown once at creation. */
export interface ApiTokenTable {
  id: Generated<number>;
  account_id: number;
  name: string;
  secret_hash: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
}

/** Processing rules (SPEC §2). `senders`, `recipients` and `modules` hold JSON; `preset` names a preset rule. */
export interface RuleTable {
  id: Generated<number>;
  name: string;
  description: string;
  enabled: number;
  position: number;
  mode: string;
  senders: string;
  recipients: string;
  modules: string;
  preset: string | null;
  updated_at: number;
  /** JSON of the per-rule banner, disclaimer, BCC and header edits (0010_notifications), or null. */
  extras?: string | null;
}

/** Edited or custom notification templates (src/notifications/templates.ts); shipped ones have no row. */
export interface NotificationTemplateTable { id: string; subject: string; text: string; html: string | null; updated_at: number }

/** One row per message and rule group (SPEC §6); `recipients` and `modules` hold JSON. */
export interface TrafficEventTable {
  id: Generated<number>;
  time: number;
  node: string;
  queue_id: string;
  delivered_as: string | null;
  message_id: string | null;
  client_ip: string;
  helo: string;
  sender: string;
  recipients: string;
  subject: string;
  size: number;
  rule: string;
  action: string;
  backup: number;
  modules: string;
}

export interface PersonalListTable {
  id: Generated<number>;
  owner: string;
  kind: 'allow' | 'deny';
  pattern: string;
  created_at: number;
}

export interface AntispamReputationTable { key: string; spam: number; ham: number; updated_at: number }
export interface AntispamFingerprintTable { key: string; bucket: number; count: number }
export interface AntispamLearnedTable {
  id: Generated<number>;
  label: 'spam' | 'ham';
  source: string;
  digest: string;
  /** base64 of the classifier's Uint32Array feature vector. */
  features: string;
  created_at: number;
}

/**
 * DKIM keys (src/store/dkim-repo.ts): per domain and selector; `private_key` is PKCS#8 PEM (a secret),
 * `public_key` the DNS record's p= value; `enabled` = 1 for the key that signs the domain (at most one).
 */
export interface DkimKeyTable {
  domain: string;
  selector: string;
  algorithm: 'rsa-sha256' | 'ed25519-sha256';
  private_key: string;
  public_key: string;
  created_at: number;
  enabled: number;
}

/** Cluster-wide random keys (src/store/secrets-repo.ts); `value` is base64. */
export interface AppSecretTable { name: string; value: string; created_at: number }

/** Dashboard statistics (migration 0011_stats, src/store/stats-repo.ts): one count per level, bucket, node and key. */
export interface StatsCounterTable { level: 'minute' | 'hour' | 'day'; bucket: number; node: string; key: string; count: number }

/** Recipients of a traffic event, one row each (lowercased), for indexed recipient search (src/store/events-repo.ts). */
export interface TrafficEventRecipientTable { event_id: number; idx: number; address: string; domain: string }
/** Each module's status in a traffic event, for indexed module + status filters. */
export interface TrafficEventStatusTable { event_id: number; module: string; status: string }

/** System events (SPEC §6; src/store/system-events-repo.ts); `details` holds JSON or null. */
export interface SystemEventTable {
  id: Generated<number>;
  time: number;
  node: string;
  type: string;
  severity: string;
  message: string;
  details: string | null;
}

/** The audit trail (SPEC §6; src/store/audit-repo.ts); `before` / `after` hold JSON or null. */
export interface AuditEventTable {
  id: Generated<number>;
  time: number;
  actor: string;
  source: string;
  ip: string | null;
  action: string;
  target: string;
  before: string | null;
  after: string | null;
}

/** Backup (migration 0008_backup, src/store/backup-repo.ts): contents once per message, in chunks. */
export interface BackupContentTable { id: string; size: number; chunks: number; encrypted: number; key_id: string | null; complete: number; created_at: number }
/** `data` is the chunk's bytes (AES-256-GCM sealed when the content is encrypted): blob on SQLite, bytea on PostgreSQL. */
export interface BackupChunkTable { content_id: string; seq: number; data: Uint8Array }
/** One Backup item per message and rule group; `threats` and `modules` hold JSON; `*_lc` are lower-cased copies for search. */
export interface BackupItemTable {
  id: string;
  content_id: string;
  time: number;
  node: string;
  queue_id: string;
  delivered_as: string | null;
  message_id: string | null;
  client_ip: string;
  helo: string;
  sender: string;
  sender_lc: string;
  subject: string;
  subject_lc: string;
  size: number;
  rule: string;
  action: string;
  reason: string;
  threats: string;
  threats_lc: string;
  has_threat: number;
  modules: string;
  encrypted: number;
}
export interface BackupRecipientTable { item_id: string; address: string; time: number }
export interface BackupStatusTable { item_id: string; module: string; status: string; time: number }
export interface BackupHistoryTable { id: Generated<number>; item_id: string; time: number; actor: string; action: string; details: string }
export interface BackupDigestStateTable { address: string; last_digest_at: number; unsubscribed: number; token_version: number; updated_at: number }

export interface Database {
  backup_contents: BackupContentTable;
  backup_chunks: BackupChunkTable;
  backup_items: BackupItemTable;
  backup_recipients: BackupRecipientTable;
  backup_statuses: BackupStatusTable;
  backup_history: BackupHistoryTable;
  backup_digest_state: BackupDigestStateTable;
  traffic_event_recipients: TrafficEventRecipientTable;
  traffic_event_statuses: TrafficEventStatusTable;
  system_events: SystemEventTable;
  audit_events: AuditEventTable;
  settings_versions: SettingsVersionTable;
  queue_messages: QueueMessageTable;
  queue_recipients: QueueRecipientTable;
  accounts: AccountTable;
  rules: RuleTable;
  notification_templates: NotificationTemplateTable;
  traffic_events: TrafficEventTable;
  personal_lists: PersonalListTable;
  antispam_reputation: AntispamReputationTable;
  antispam_fingerprints: AntispamFingerprintTable;
  antispam_learned: AntispamLearnedTable;
  dkim_keys: DkimKeyTable;
  app_secrets: AppSecretTable;
  account_addresses: AccountAddressTable;
  roles: RoleTable;
  sessions: SessionTable;
  api_tokens: ApiTokenTable;
  stats_counters: StatsCounterTable;
}
