/**
 * Who is making a request: the account, its role's permissions, its personal addresses and how it signed in
 * (session cookie or API token). Built fresh for every request from the store, so a role change, a disabled
 * account or a revoked token takes effect on the next request on every node.
 */
import type { Permission } from './permissions.ts';
import type { Account } from '../store/accounts-repo.ts';
import type { RoleInfo } from './roles.ts';

export interface Principal {
  accountId: number;
  username: string;
  role: string;
  permissions: ReadonlySet<Permission>;
  /** Role `personal`: end-user mode. */
  personal: boolean;
  /** Mail addresses the account acts for in personal routes (lower-case). */
  addresses: readonly string[];
  /** Auth source of the account (`local`; `ldap`/`oidc` later). */
  source: string;
  via: 'session' | 'token';
  /** SHA-256 of the session id (sessions only). */
  sessionHash?: string;
  /** The session's CSRF token (sessions only). */
  csrfToken?: string;
  tokenId?: number;
  /** The password must be changed before anything else (initial password, reset by an admin, or expired). */
  mustChangePassword: boolean;
}

/** True when the account's password has to be changed now. `expiryDays` 0 = passwords never expire. */
export function passwordChangeDue(a: Account, now: number, expiryDays: number): boolean {
  if (a.mustChangePassword) return true;
  return a.source === 'local' && expiryDays > 0 && now >= a.passwordChangedAt + expiryDays * 86_400_000;
}

export function buildPrincipal(a: Account, role: RoleInfo, via: Principal['via'], extra: { now: number; expiryDays: number; sessionHash?: string; csrfToken?: string; tokenId?: number }): Principal {
  return {
    accountId: a.id, username: a.username, role: role.name, permissions: new Set(role.permissions), personal: role.personal,
    addresses: a.addresses, source: a.source, via, sessionHash: extra.sessionHash, csrfToken: extra.csrfToken, tokenId: extra.tokenId,
    mustChangePassword: passwordChangeDue(a, extra.now, extra.expiryDays),
  };
}
