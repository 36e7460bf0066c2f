/**
 * Schema migrations, in order. Each one runs once per database (Kysely's Migrator keeps a lock and a table of
 * what ran), so every node of a cluster may start at the same time. Only portable column types are used.
 */
import { type ColumnDefinitionBuilder, type Kysely, type Migration, Migrator, sql } from 'kysely';
import { eventsMigration } from './events-migration.ts';
import { accountsMigration } from './accounts-migration.ts';

// Built per dialect: the Migrator hands `up()` its own transaction-bound Kysely instance, so looking the dialect
// up by that object (as before) always fell back to 'sqlite' and PostgreSQL got `accounts.id integer` without a
// sequence (every account insert failed with a NOT NULL violation).
const migrationsFor = (dialect: 'sqlite' | 'postgres'): Record<string, Migration> => ({
  '0001_foundation': {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('settings_versions')
        .addColumn('version', 'integer', (c) => c.primaryKey())
        .addColumn('document', 'text', (c) => c.notNull())
        .addColumn('author', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createTable('queue_messages')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('node', 'text', (c) => c.notNull())
        .addColumn('sender', 'text', (c) => c.notNull())
        .addColumn('client_ip', 'text', (c) => c.notNull())
        .addColumn('helo', 'text', (c) => c.notNull())
        .addColumn('message_id', 'text')
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('is_bounce', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('queue_messages_due').on('queue_messages').columns(['node', 'state', 'next_attempt_at']).execute();
      await db.schema.createTable('queue_recipients')
        .addColumn('message_id', 'text', (c) => c.notNull().references('queue_messages.id').onDelete('cascade'))
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_response', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('queue_recipients_pk', ['message_id', 'idx'])
        .execute();
      await db.schema.createIndex('queue_recipients_address').on('queue_recipients').column('address').execute();
      await db.schema.createTable('accounts')
        // SQLite's INTEGER PRIMARY KEY numbers rows by itself; PostgreSQL needs serial.
        .addColumn('id', dialect === 'postgres' ? 'serial' : 'integer', (c) => c.primaryKey())
        .addColumn('username', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  // Processing rules (SPEC §2; src/store/rules-repo.ts). Criteria and module settings are JSON text; ids are
  // never reused (AUTOINCREMENT on SQLite, a sequence on PostgreSQL) because events name rules by id. Names are
  // unique whatever their case; at most one row per preset.
  '0002_rules': {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('rules')
        .addColumn('id', dialect === 'postgres' ? 'serial' : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('senders', 'text', (c) => c.notNull())
        .addColumn('recipients', 'text', (c) => c.notNull())
        .addColumn('modules', 'text', (c) => c.notNull())
        .addColumn('preset', 'text', (c) => c.unique())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('rules_name_ci').on('rules').unique().expression(sql`lower(name)`).execute();
      await db.schema.createIndex('rules_position').on('rules').column('position').execute();
    },
  },
  '0003_traffic_events': {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('traffic_events')
        .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) => c.primaryKey())
        .addColumn('time', 'bigint', (c) => c.notNull())
        .addColumn('node', 'text', (c) => c.notNull())
        .addColumn('queue_id', 'text', (c) => c.notNull())
        .addColumn('delivered_as', 'text')
        .addColumn('message_id', 'text')
        .addColumn('client_ip', 'text', (c) => c.notNull())
        .addColumn('helo', 'text', (c) => c.notNull())
        .addColumn('sender', 'text', (c) => c.notNull())
        .addColumn('recipients', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('rule', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('backup', 'integer', (c) => c.notNull())
        .addColumn('modules', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('traffic_events_time').on('traffic_events').column('time').execute();
      await db.schema.createIndex('traffic_events_queue_id').on('traffic_events').column('queue_id').execute();
      // Header edits decided by disposition (tags, status headers), applied as the message is sent.
      await db.schema.alterTable('queue_messages').addColumn('edits', 'text').execute();
    },
  },
  '0004_antispam': {
    async up(db: Kysely<unknown>) {
      const serial = (c: ColumnDefinitionBuilder) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement());
      // SPEC §4 personal lists: per recipient (owner), sender masks; kind allow | deny.
      await db.schema.createTable('personal_lists')
        .addColumn('id', dialect === 'postgres' ? 'serial' : 'integer', serial)
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('pattern', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('personal_lists_entry', ['owner', 'kind', 'pattern'])
        .execute();
      // Verdict counts per client IP, network and sender domain (keys from antispam/reputation.ts).
      await db.schema.createTable('antispam_reputation')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('spam', 'bigint', (c) => c.notNull())
        .addColumn('ham', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      // Recipients per body fingerprint key and hour (bulk detection across the cluster).
      await db.schema.createTable('antispam_fingerprints')
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('bucket', 'bigint', (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('antispam_fingerprints_pk', ['key', 'bucket'])
        .execute();
      await db.schema.createIndex('antispam_fingerprints_bucket').on('antispam_fingerprints').column('bucket').execute();
      // Examples learned in production (moat learn, feedback): the classifier's features, applied by every node.
      await db.schema.createTable('antispam_learned')
        .addColumn('id', dialect === 'postgres' ? 'serial' : 'integer', serial)
        .addColumn('label', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull().unique())
        .addColumn('features', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('antispam_learned_source').on('antispam_learned').columns(['source', 'created_at']).execute();
    },
  },
  // DKIM signing keys (src/store/dkim-repo.ts): one row per domain and selector; `enabled` marks the key that
  // signs the domain's mail, at most one per domain (a partial unique index, which both dialects support).
  '0005_dkim_keys': {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('dkim_keys')
        .addColumn('domain', 'text', (c) => c.notNull())
        .addColumn('selector', 'text', (c) => c.notNull())
        .addColumn('algorithm', 'text', (c) => c.notNull())
        .addColumn('private_key', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('dkim_keys_pk', ['domain', 'selector'])
        .execute();
      await db.schema.createIndex('dkim_keys_signing').on('dkim_keys').column('domain').unique().where(sql.ref('enabled'), '=', 1).execute();
    },
  },
  // Cluster-wide random keys (src/store/secrets-repo.ts): session and link-token signing.
  '0006_secrets': {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('app_secrets')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  // Dashboard statistics (src/store/stats-repo.ts, src/monitor/): counts per time bucket (`level` minute | hour |
  // day, `bucket` = its start in ms, UTC), node and counter key (`messages`, `bytes`, `action:<a>`,
  // `module:<m>:<status>`); written with INSERT … ON CONFLICT DO UPDATE count = count + excluded.count.
  '0011_stats': {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('stats_counters')
        .addColumn('level', 'text', (c) => c.notNull())
        .addColumn('bucket', 'bigint', (c) => c.notNull())
        .addColumn('node', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('stats_counters_pk', ['level', 'bucket', 'node', 'key'])
        .execute();
    },
  },
  // Backup (quarantine; SPEC §5; src/store/backup-repo.ts, src/backup/): message contents stored once per message
  // in chunks (any node serves any item), one item per message and rule group, its recipients and module statuses
  // in tables of their own (recipient search, personal isolation and the module+status filter use their indexes;
  // `time` is copied there so each answers newest-first from one index), history of actions, digest state.
  '0008_backup': {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('backup_contents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('chunks', 'integer', (c) => c.notNull())
        .addColumn('encrypted', 'integer', (c) => c.notNull())
        .addColumn('key_id', 'text')
        .addColumn('complete', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('backup_contents_created').on('backup_contents').column('created_at').execute();
      await db.schema.createTable('backup_chunks')
        .addColumn('content_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('data', dialect === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
        .addPrimaryKeyConstraint('backup_chunks_pk', ['content_id', 'seq'])
        .execute();
      await db.schema.createTable('backup_items')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('content_id', 'text', (c) => c.notNull())
        .addColumn('time', 'bigint', (c) => c.notNull())
        .addColumn('node', 'text', (c) => c.notNull())
        .addColumn('queue_id', 'text', (c) => c.notNull())
        .addColumn('delivered_as', 'text')
        .addColumn('message_id', 'text')
        .addColumn('client_ip', 'text', (c) => c.notNull())
        .addColumn('helo', 'text', (c) => c.notNull())
        .addColumn('sender', 'text', (c) => c.notNull())
        .addColumn('sender_lc', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('subject_lc', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('rule', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('threats', 'text', (c) => c.notNull())
        .addColumn('threats_lc', 'text', (c) => c.notNull())
        .addColumn('has_threat', 'integer', (c) => c.notNull())
        .addColumn('modules', 'text', (c) => c.notNull())
        .addColumn('encrypted', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('backup_items_time').on('backup_items').columns(['time', 'id']).execute();
      await db.schema.createIndex('backup_items_sender').on('backup_items').columns(['sender_lc', 'time']).execute();
      // Subject substring search scans this narrow index instead of the wide rows (counts in a third of the time).
      await db.schema.createIndex('backup_items_subject').on('backup_items').columns(['subject_lc', 'time']).execute();
      await db.schema.createIndex('backup_items_content').on('backup_items').column('content_id').execute();
      await db.schema.createIndex('backup_items_queue_id').on('backup_items').column('queue_id').execute();
      await db.schema.createTable('backup_recipients')
        .addColumn('item_id', 'text', (c) => c.notNull())
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('time', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('backup_recipients_pk', ['item_id', 'address'])
        .execute();
      await db.schema.createIndex('backup_recipients_address').on('backup_recipients').columns(['address', 'time']).execute();
      await db.schema.createTable('backup_statuses')
        .addColumn('item_id', 'text', (c) => c.notNull())
        .addColumn('module', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('time', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('backup_statuses_pk', ['item_id', 'module'])
        .execute();
      await db.schema.createIndex('backup_statuses_status').on('backup_statuses').columns(['module', 'status', 'time']).execute();
      await db.schema.createTable('backup_history')
        .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('item_id', 'text', (c) => c.notNull())
        .addColumn('time', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('backup_history_item').on('backup_history').columns(['item_id', 'id']).execute();
      await db.schema.createIndex('backup_history_time').on('backup_history').column('time').execute();
      await db.schema.createTable('backup_digest_state')
        .addColumn('address', 'text', (c) => c.primaryKey())
        .addColumn('last_digest_at', 'bigint', (c) => c.notNull())
        .addColumn('unsubscribed', 'integer', (c) => c.notNull())
        .addColumn('token_version', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  // The event log (SPEC §6): recipient and status child tables of traffic events, system events, the audit trail
  // and their indexes (src/store/events-migration.ts).
  '0009_events': eventsMigration(dialect),
  // Notifications (src/notifications/): edited and custom templates (shipped ones live in the code; a row
  // overrides one, deleting it resets it), and the rules' per-rule banner, disclaimer, BCC and header edits
  // (JSON, null when none is set).
  '0010_notifications': {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('notification_templates')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('html', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.alterTable('rules').addColumn('extras', 'text').execute();
    },
  },
  // Accounts, roles, sessions, API tokens (SPEC §8; src/store/accounts-migration.ts).
  '0007_accounts': accountsMigration(dialect),
});

/** Names of all migrations, in order (db.ts checks whether any is pending before it takes a write lock). */
export const migrationNames: readonly string[] = Object.keys(migrationsFor('sqlite')).sort();

/** `disableTransactions`: the caller already holds a transaction (SQLite: BEGIN IMMEDIATE, see db.ts). */
export async function migrate(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres', opts: { disableTransactions?: boolean } = {}): Promise<void> {
  const migrations = migrationsFor(dialect);
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations }, disableTransactions: opts.disableTransactions });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`);
  }
}
