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
}

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

export interface Database {
  settings_versions: SettingsVersionTable;
  queue_messages: QueueMessageTable;
  queue_recipients: QueueRecipientTable;
  accounts: AccountTable;
  rules: RuleTable;
  traffic_events: TrafficEventTable;
  personal_lists: PersonalListTable;
  antispam_reputation: AntispamReputationTable;
  antispam_fingerprints: AntispamFingerprintTable;
  antispam_learned: AntispamLearnedTable;
  dkim_keys: DkimKeyTable;
  app_secrets: AppSecretTable;
}
