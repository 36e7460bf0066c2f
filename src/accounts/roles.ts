/**
 * Roles (SPEC §8): the fixed `superuser`, `viewer` and `personal` (permissions.ts) and custom roles stored in
 * the store (a name, a description, a subset of PERMISSIONS). An account has one role; resolving it gives the
 * permission set every request is checked against.
 *
 * Hostile input: role names and permission lists from the API and the CLI; unknown permissions are refused by
 * name. Names: 1–64 of a-z 0-9 . _ -, lower-cased; the fixed names and `user` (the pre-0007 role of SMTP AUTH
 * accounts, read as `personal`) are reserved. A role that an account holds cannot be deleted (409).
 */
import { FIXED_ROLES, PERMISSIONS, fixedRolePermissions, isPermission, type FixedRole, type Permission } from './permissions.ts';
import { AccountsError } from './errors.ts';
import type { RolesRepo } from '../store/roles-repo.ts';

export interface RoleInfo {
  name: string;
  description: string;
  fixed: boolean;
  /** True for `personal`: the end-user mode, acting only on the account's own addresses. */
  personal: boolean;
  permissions: Permission[];
}

const FIXED_DESCRIPTIONS: Record<FixedRole, string> = {
  superuser: 'Every permission',
  viewer: 'Every view permission, no change',
  personal: 'End user: own Backup, own lists, own digest; no administrative permission',
};

export const ROLE_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const RESERVED = new Set<string>([...FIXED_ROLES, 'user']);

export function isFixedRole(name: string): name is FixedRole {
  return (FIXED_ROLES as readonly string[]).includes(name);
}

function fixedInfo(name: FixedRole): RoleInfo {
  return { name, description: FIXED_DESCRIPTIONS[name], fixed: true, personal: name === 'personal', permissions: PERMISSIONS.filter((p) => fixedRolePermissions(name).has(p)) };
}

export function checkPermissions(list: readonly string[]): Permission[] {
  const bad = list.filter((p) => !isPermission(p));
  if (bad.length) throw new AccountsError('validation_failed', `unknown permission${bad.length > 1 ? 's' : ''}: ${bad.slice(0, 5).join(', ')}`, 'permissions');
  return PERMISSIONS.filter((p) => list.includes(p));
}

export class RoleService {
  private readonly repo: RolesRepo;
  constructor(repo: RolesRepo) { this.repo = repo; }

  /** The role's permissions; an unknown role (e.g. a custom role deleted in a race) grants nothing. */
  async resolve(name: string): Promise<RoleInfo> {
    if (name === 'user') return { ...fixedInfo('personal'), name: 'personal' };
    if (isFixedRole(name)) return fixedInfo(name);
    const r = await this.repo.get(name);
    if (!r) return { name, description: '', fixed: false, personal: false, permissions: [] };
    return { name: r.name, description: r.description, fixed: false, personal: false, permissions: PERMISSIONS.filter((p) => r.permissions.includes(p)) };
  }

  /** The role if it exists (fixed or stored), else undefined. */
  async find(name: string): Promise<RoleInfo | undefined> {
    const n = name.toLowerCase();
    if (isFixedRole(n)) return fixedInfo(n);
    if (n === 'user') return undefined;
    const r = await this.repo.get(n);
    return r && { name: r.name, description: r.description, fixed: false, personal: false, permissions: PERMISSIONS.filter((p) => r.permissions.includes(p)) };
  }

  async list(): Promise<RoleInfo[]> {
    const custom = await this.repo.list();
    return [...FIXED_ROLES.map(fixedInfo), ...custom.map((r) => ({ name: r.name, description: r.description, fixed: false, personal: false, permissions: PERMISSIONS.filter((p) => r.permissions.includes(p)) }))];
  }

  async create(input: { name: string; description?: string; permissions: readonly string[] }): Promise<RoleInfo> {
    const name = input.name.trim().toLowerCase();
    if (!ROLE_NAME_RE.test(name)) throw new AccountsError('validation_failed', 'role name: 1-64 of a-z 0-9 . _ - (starting with a letter or digit)', 'name');
    if (RESERVED.has(name)) throw new AccountsError('conflict', `role ${name} is a fixed role`);
    const permissions = checkPermissions(input.permissions);
    if (!(await this.repo.create({ name, description: input.description ?? '', permissions }))) throw new AccountsError('conflict', `role ${name} exists`);
    return (await this.find(name))!;
  }

  async update(name: string, changes: { description?: string; permissions?: readonly string[] }): Promise<{ before: RoleInfo; after: RoleInfo }> {
    const n = name.toLowerCase();
    if (RESERVED.has(n)) throw new AccountsError('conflict', `role ${n} is a fixed role and cannot be changed`);
    const before = await this.find(n);
    if (!before) throw new AccountsError('not_found', `no role ${name}`);
    const permissions = changes.permissions ? checkPermissions(changes.permissions) : undefined;
    await this.repo.update(n, { description: changes.description, permissions });
    return { before, after: (await this.find(n))! };
  }

  async remove(name: string): Promise<RoleInfo> {
    const n = name.toLowerCase();
    if (RESERVED.has(n)) throw new AccountsError('conflict', `role ${n} is a fixed role and cannot be deleted`);
    const before = await this.find(n);
    if (!before) throw new AccountsError('not_found', `no role ${name}`);
    const r = await this.repo.removeUnused(n);
    if (r === 'in_use') throw new AccountsError('conflict', `role ${n} is held by at least one account; give those accounts another role first`);
    if (r === 'missing') throw new AccountsError('not_found', `no role ${name}`);
    return before;
  }
}
