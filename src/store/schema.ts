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

export interface Database {
  settings_versions: SettingsVersionTable;
  queue_messages: QueueMessageTable;
  queue_recipients: QueueRecipientTable;
  accounts: AccountTable;
}
