/**
 * Permissions and the fixed roles (SPEC §8). A custom role is a name plus a subset of PERMISSIONS. Every API
 * route names the one permission it needs (or is personal-mode, or public); the authorisation matrix test in
 * test/api/ calls every route with every role.
 *
 * `superuser` holds every permission; `viewer` every `*.view`; `personal` is the end-user mode (SPEC §8): no
 * administrative permission at all, only the personal routes (own Backup, own lists, own digest subscription).
 */
export const PERMISSIONS = [
  'settings.view', 'settings.edit',
  'rules.view', 'rules.edit',
  'lists.view', 'lists.edit',
  'backup.view', 'backup.deliver', 'backup.download', 'backup.delete',
  'events.view', 'events.export',
  'queue.view', 'queue.edit',
  'nodes.view', 'nodes.edit',
  'accounts.view', 'accounts.edit',
  'stats.view',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const FIXED_ROLES = ['superuser', 'viewer', 'personal'] as const;
export type FixedRole = (typeof FIXED_ROLES)[number];

export function fixedRolePermissions(role: FixedRole): ReadonlySet<Permission> {
  switch (role) {
    case 'superuser': return new Set(PERMISSIONS);
    case 'viewer': return new Set(PERMISSIONS.filter((p) => p.endsWith('.view')));
    case 'personal': return new Set();
  }
}

export function isPermission(s: string): s is Permission {
  return (PERMISSIONS as readonly string[]).includes(s);
}
