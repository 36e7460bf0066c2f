/**
 * Versioned settings documents. Every change writes a whole new version (never an update in place), so nodes
 * detect a change by the version number and an administrator can see and restore history. Two writers racing
 * for the same version: the second insert fails on the primary key and is told to retry on the new base.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface SettingsVersion {
  version: number;
  document: unknown;
  author: string;
  createdAt: number;
}

export class SettingsConflictError extends Error {
  constructor(expected: number) {
    super(`settings changed concurrently (expected version ${expected}); reload and try again`);
  }
}

export class SettingsRepo {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) { this.db = db; }

  async latestVersion(): Promise<number> {
    const row = await this.db.selectFrom('settings_versions').select((eb) => eb.fn.max('version').as('v')).executeTakeFirst();
    return Number(row?.v ?? 0);
  }

  async latest(): Promise<SettingsVersion | undefined> {
    const row = await this.db.selectFrom('settings_versions').selectAll().orderBy('version', 'desc').limit(1).executeTakeFirst();
    return row && { version: row.version, document: JSON.parse(row.document), author: row.author, createdAt: row.created_at };
  }

  async get(version: number): Promise<SettingsVersion | undefined> {
    const row = await this.db.selectFrom('settings_versions').selectAll().where('version', '=', version).executeTakeFirst();
    return row && { version: row.version, document: JSON.parse(row.document), author: row.author, createdAt: row.created_at };
  }

  async history(limit = 50): Promise<Omit<SettingsVersion, 'document'>[]> {
    const rows = await this.db.selectFrom('settings_versions').select(['version', 'author', 'created_at'])
      .orderBy('version', 'desc').limit(limit).execute();
    return rows.map((r) => ({ version: r.version, author: r.author, createdAt: r.created_at }));
  }

  /** Stores `document` as version `base + 1`; throws SettingsConflictError when someone else wrote it first. */
  async save(document: unknown, author: string, base: number, now = Date.now()): Promise<number> {
    const version = base + 1;
    try {
      await this.db.insertInto('settings_versions')
        .values({ version, document: JSON.stringify(document), author, created_at: now })
        .execute();
    } catch (err) {
      if (await this.latestVersion() !== base) throw new SettingsConflictError(base);
      throw err;
    }
    return version;
  }
}
