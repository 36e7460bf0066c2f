/**
 * Custom roles in the store (SPEC §8): a name, a description and a subset of the permissions of
 * accounts/permissions.ts. The fixed roles (superuser, viewer, personal) are not stored; accounts/roles.ts
 * refuses their names. Names are lower-case.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface StoredRole { name: string; description: string; permissions: string[]; createdAt: number; updatedAt: number }

export class RolesRepo {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) { this.db = db; }

  private static fromRow(r: Database['roles']): StoredRole {
    let permissions: string[] = [];
    try { const p = JSON.parse(r.permissions) as unknown; if (Array.isArray(p)) permissions = p.filter((x): x is string => typeof x === 'string'); } catch { /* corrupt: no permission */ }
    return { name: r.name, description: r.description, permissions, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at) };
  }

  async list(): Promise<StoredRole[]> {
    return (await this.db.selectFrom('roles').selectAll().orderBy('name').execute()).map(RolesRepo.fromRow);
  }

  async get(name: string): Promise<StoredRole | undefined> {
    const r = await this.db.selectFrom('roles').selectAll().where('name', '=', name.toLowerCase()).executeTakeFirst();
    return r && RolesRepo.fromRow(r);
  }

  /** false when a role of that name exists. */
  async create(role: { name: string; description: string; permissions: string[] }, now = Date.now()): Promise<boolean> {
    const r = await this.db.insertInto('roles').values({ name: role.name.toLowerCase(), description: role.description, permissions: JSON.stringify(role.permissions), created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('name').doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async update(name: string, changes: { description?: string; permissions?: string[] }, now = Date.now()): Promise<boolean> {
    const set: Record<string, unknown> = { updated_at: now };
    if (changes.description !== undefined) set.description = changes.description;
    if (changes.permissions !== undefined) set.permissions = JSON.stringify(changes.permissions);
    const r = await this.db.updateTable('roles').set(set).where('name', '=', name.toLowerCase()).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Deletes the role unless an account holds it (checked in the same transaction). */
  async removeUnused(name: string): Promise<'deleted' | 'missing' | 'in_use'> {
    return this.db.transaction().execute(async (tx) => {
      const inUse = await tx.selectFrom('accounts').select('id').where('role', '=', name.toLowerCase()).limit(1).executeTakeFirst();
      if (inUse) return 'in_use';
      const r = await tx.deleteFrom('roles').where('name', '=', name.toLowerCase()).executeTakeFirst();
      return Number(r.numDeletedRows) > 0 ? 'deleted' : 'missing';
    });
  }
}
