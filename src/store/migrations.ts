/**
 * Schema migrations, in order. Each one runs once per database (Kysely's Migrator keeps a lock and a table of
 * what ran), so every node of a cluster may start at the same time. Only portable column types are used.
 */
import { type Kysely, type Migration, Migrator } from 'kysely';

const migrations: Record<string, Migration> = {
  '0001_foundation': {
    async up(db: Kysely<unknown>) {
      const dialect = dialectOf(db);
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
};

const dialects = new WeakMap<object, 'sqlite' | 'postgres'>();
function dialectOf(db: Kysely<unknown>): 'sqlite' | 'postgres' { return dialects.get(db) ?? 'sqlite'; }

export async function migrate(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  dialects.set(db, dialect);
  return migrateToLatest(db);
}

async function migrateToLatest(db: Kysely<unknown>): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`);
  }
}
