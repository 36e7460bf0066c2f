/**
 * Cluster-wide secrets kept in the store: random keys generated on first use and shared by every node (session
 * signing, digest/unsubscribe link tokens). A secret is never logged or returned by the API. Two nodes that ask
 * for a missing secret at the same time both end up with the one that was inserted first.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export class SecretsRepo {
  private readonly db: Kysely<Database>;
  private readonly cache = new Map<string, Buffer>();
  constructor(db: Kysely<Database>) { this.db = db; }

  /** The named 32-byte secret, created on first use. */
  async get(name: string): Promise<Buffer> {
    const hit = this.cache.get(name);
    if (hit) return hit;
    const read = async () => (await this.db.selectFrom('app_secrets').select('value').where('name', '=', name).executeTakeFirst())?.value;
    let value = await read();
    if (!value) {
      await this.db.insertInto('app_secrets').values({ name, value: randomBytes(32).toString('base64'), created_at: Date.now() })
        .onConflict((oc) => oc.column('name').doNothing()).execute();
      value = await read();
    }
    if (!value) throw new Error(`secret ${name} could not be created`);
    const key = Buffer.from(value, 'base64');
    this.cache.set(name, key);
    return key;
  }
}
