/**
 * The accounts core (SPEC §8), one object per node shared by the API, the CLI and SMTP AUTH: sign-in with
 * lockout, sessions, API tokens, principals, the built-in admin and account management with its rules.
 *
 * Rules enforced here (so the API and the CLI cannot differ):
 * - `admin` (role superuser) cannot be deleted, demoted or disabled.
 * - Passwords: at least 12 characters, not the user name (passwords.ts); set by an administrator (create,
 *   reset) they must be changed at the next sign-in unless the caller says otherwise.
 * - An API caller can only give roles whose permissions it holds itself, and only manage accounts whose role's
 *   permissions it holds (a custom role with `accounts.edit` cannot make a superuser or reset one's password).
 *   Nobody deletes or disables their own account.
 * - Disabling, deleting, a role change or a password reset ends the account's sessions.
 *
 * Hostile input: every string from the API/CLI; names, addresses and roles are checked here.
 */
import { hashPassword, verifyPassword, generatePassword, passwordProblem } from './passwords.ts';
import { RoleService, type RoleInfo } from './roles.ts';
import { SessionService, sha256Hex } from './sessions.ts';
import { TokenService } from './tokens.ts';
import { authenticate, LoginRateLimiter, recordEvent } from './login.ts';
import { buildPrincipal, type Principal } from './principal.ts';
import { AccountsError } from './errors.ts';
import { AccountsRepo, type Account } from '../store/accounts-repo.ts';
import { RolesRepo } from '../store/roles-repo.ts';
import { SessionsRepo } from '../store/sessions-repo.ts';
import { TokensRepo } from '../store/tokens-repo.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import type { SystemEventSink } from '../events/types.ts';
import type { Logger } from '../platform/logger.ts';
import type { Clock } from '../platform/clock.ts';
import type { AccountsSettings } from './settings.ts';
import type { Permission } from './permissions.ts';

export const ADMIN = 'admin';
export const USERNAME_RE = /^[a-z0-9._@+-]{1,128}$/i;
const ADDRESS_RE = /^[^\s@<>"(),;:\\[\]]{1,64}@[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)+$/i;
export const MAX_ADDRESSES = 100;

/** An account as the API and CLI show it: no hash, ever. */
export interface AccountView {
  username: string;
  role: string;
  source: string;
  disabled: boolean;
  locked: boolean;
  lockedUntil: number | null;
  mustChangePassword: boolean;
  passwordChangedAt: number;
  lastLoginAt: number | null;
  createdAt: number;
  addresses: string[];
}

/** Who acts: an API principal (checked against its permissions) or null for the CLI (the operator). */
export type Actor = Pick<Principal, 'username' | 'permissions'> | null;

export interface AccountsServiceDeps {
  db: Kysely<Database>;
  settings: () => AccountsSettings;
  clock: Clock;
  logger: Logger;
  events: SystemEventSink;
}

export function normaliseAddresses(list: readonly string[]): string[] {
  if (list.length > MAX_ADDRESSES) throw new AccountsError('validation_failed', `at most ${MAX_ADDRESSES} addresses`, 'addresses');
  const out = new Set<string>();
  for (const [i, raw] of list.entries()) {
    const a = raw.trim().toLowerCase();
    if (a.length > 320 || !ADDRESS_RE.test(a)) throw new AccountsError('validation_failed', `not a mail address: ${JSON.stringify(raw.slice(0, 80))}`, `addresses.${i}`);
    out.add(a);
  }
  return [...out];
}

export class AccountsService {
  readonly accounts: AccountsRepo;
  readonly roles: RoleService;
  readonly sessions: SessionService;
  readonly tokens: TokenService;
  readonly limiter = new LoginRateLimiter();
  private readonly deps: AccountsServiceDeps;

  constructor(deps: AccountsServiceDeps) {
    this.deps = deps;
    const now = () => deps.clock.now();
    this.accounts = new AccountsRepo(deps.db);
    this.roles = new RoleService(new RolesRepo(deps.db));
    this.sessions = new SessionService(new SessionsRepo(deps.db), deps.settings, now);
    this.tokens = new TokenService(new TokensRepo(deps.db), now);
  }

  private now(): number { return this.deps.clock.now(); }

  view(a: Account): AccountView {
    return {
      username: a.username, role: a.role === 'user' ? 'personal' : a.role, source: a.source, disabled: a.disabled,
      locked: a.lockedUntil !== null && a.lockedUntil > this.now(), lockedUntil: a.lockedUntil !== null && a.lockedUntil > this.now() ? a.lockedUntil : null,
      mustChangePassword: a.mustChangePassword, passwordChangedAt: a.passwordChangedAt, lastLoginAt: a.lastLoginAt, createdAt: a.createdAt, addresses: a.addresses,
    };
  }

  /**
   * Creates the built-in admin when it does not exist (first start; several nodes at once are fine). With
   * `password` (bootstrap adminPassword) it is used as is; without, a strong one is generated, handed to `show`
   * once and must be changed at first sign-in. Costs one scrypt hash, only when the account is created.
   */
  async ensureAdmin(password: string | null | undefined, show: (line: string) => void): Promise<'exists' | 'created'> {
    if (await this.accounts.find(ADMIN)) return 'exists';
    const pw = password ?? generatePassword();
    const created = await this.accounts.createIfMissing({ username: ADMIN, passwordHash: await hashPassword(pw), role: 'superuser', mustChangePassword: !password }, this.now());
    if (!created) return 'exists';
    if (!password) {
      show(`Moat: created the built-in account "admin" with the password\n\n    ${pw}\n\nIt is shown only this once; sign in and change it (it must be changed at the first sign-in).`);
    }
    this.deps.logger.info({ generated: !password }, 'built-in admin account created');
    return 'created';
  }

  // ---- sign-in, sessions, tokens ----------------------------------------------------------------------------

  /** SMTP AUTH: the account name for a right password of an enabled, unlocked local account (any role). */
  async checkSmtp(username: string, password: string, ip: string | null): Promise<string | null> {
    const a = await authenticate(this.loginDeps(), username, password, { ip, channel: 'smtp' });
    return a ? a.username : null;
  }

  private loginDeps() {
    return { accounts: this.accounts, settings: this.deps.settings, now: () => this.now(), events: this.deps.events, logger: this.deps.logger };
  }

  /** false when the client IP made too many sign-in attempts this minute. */
  loginAllowed(ip: string): boolean {
    return this.limiter.allow(ip, this.now(), this.deps.settings().loginRatePerMinute);
  }

  /** Signs in; null for any failure (one answer for all reasons). */
  async login(username: string, password: string, meta: { ip: string | null; userAgent: string | null }): Promise<{ sessionId: string; principal: Principal } | null> {
    const a = await authenticate(this.loginDeps(), username, password, { ip: meta.ip, channel: 'api' });
    if (!a) return null;
    const s = await this.sessions.create(a.id, meta);
    const principal = buildPrincipal(a, await this.roles.resolve(a.role), 'session', { now: this.now(), expiryDays: this.deps.settings().passwordExpiryDays, sessionHash: sha256Hex(s.id), csrfToken: s.csrfToken });
    return { sessionId: s.id, principal };
  }

  async principalFromSession(cookie: string | undefined): Promise<Principal | null> {
    const s = await this.sessions.check(cookie);
    if (!s) return null;
    const a = await this.accounts.findById(s.accountId);
    if (!a || a.disabled) { await this.sessions.end(s.idHash); return null; }
    return buildPrincipal(a, await this.roles.resolve(a.role), 'session', { now: this.now(), expiryDays: this.deps.settings().passwordExpiryDays, sessionHash: s.idHash, csrfToken: s.csrfToken });
  }

  async principalFromToken(secret: string | undefined): Promise<Principal | null> {
    const t = await this.tokens.check(secret);
    if (!t) return null;
    const a = await this.accounts.findById(t.accountId);
    if (!a || a.disabled) return null;
    return buildPrincipal(a, await this.roles.resolve(a.role), 'token', { now: this.now(), expiryDays: this.deps.settings().passwordExpiryDays, tokenId: t.id });
  }

  /** The signed-in user's own change: needs the current password; ends the account's other sessions. */
  async changeOwnPassword(p: Principal, current: string, next: string): Promise<void> {
    const a = await this.accounts.findById(p.accountId);
    if (!a) throw new AccountsError('not_found', 'no such account');
    if (a.source !== 'local') throw new AccountsError('conflict', 'the password of this account is managed by its directory');
    if (!(await verifyPassword(current.slice(0, 1024), a.passwordHash))) throw new AccountsError('validation_failed', 'the current password is not right', 'currentPassword');
    const problem = passwordProblem(a.username, next);
    if (problem) throw new AccountsError('validation_failed', problem, 'newPassword');
    if (await verifyPassword(next, a.passwordHash)) throw new AccountsError('validation_failed', 'the new password must differ from the current one', 'newPassword');
    await this.accounts.setPassword(a.username, await hashPassword(next), { now: this.now() });
    await this.sessions.endAll(a.id, p.sessionHash);
  }

  // ---- management (API with an actor, CLI with null) ---------------------------------------------------------

  private async requireRole(name: string): Promise<RoleInfo> {
    const r = await this.roles.find(name);
    if (!r) throw new AccountsError('validation_failed', `no role ${name}`, 'role');
    return r;
  }

  private guard(actor: Actor, role: RoleInfo, what: string): void {
    if (!actor) return;
    const missing = role.permissions.filter((p: Permission) => !actor.permissions.has(p));
    if (missing.length) throw new AccountsError('forbidden', `${what}: role ${role.name} has permissions you do not hold (${missing.slice(0, 3).join(', ')})`);
  }

  async get(username: string): Promise<Account> {
    const a = await this.accounts.find(username);
    if (!a) throw new AccountsError('not_found', `no account ${username}`);
    return a;
  }

  /** Creates a local account. Without a password, one is generated and returned (shown once). */
  async create(actor: Actor, input: { username: string; role: string; password?: string; addresses?: string[]; disabled?: boolean; mustChangePassword?: boolean }): Promise<{ account: Account; generatedPassword?: string }> {
    const username = input.username.trim().toLowerCase();
    if (!USERNAME_RE.test(username)) throw new AccountsError('validation_failed', 'user name: 1-128 of letters, digits and . _ @ + -', 'username');
    const role = await this.requireRole(input.role.toLowerCase());
    this.guard(actor, role, 'cannot give this role');
    const addresses = normaliseAddresses(input.addresses ?? []);
    const password = input.password ?? generatePassword();
    const problem = passwordProblem(username, password);
    if (problem) throw new AccountsError('validation_failed', problem, 'password');
    if (await this.accounts.find(username)) throw new AccountsError('conflict', `account ${username} exists`);
    const mustChange = input.mustChangePassword ?? (actor !== null || !input.password);
    try {
      await this.accounts.create({ username, passwordHash: await hashPassword(password), role: role.name, addresses, disabled: input.disabled ?? false, mustChangePassword: mustChange }, this.now());
    } catch (err) {
      if (await this.accounts.find(username)) throw new AccountsError('conflict', `account ${username} exists`);
      throw err;
    }
    return { account: (await this.accounts.find(username))!, generatedPassword: input.password ? undefined : password };
  }

  async update(actor: Actor, username: string, changes: { role?: string; disabled?: boolean; addresses?: string[] }): Promise<{ before: Account; after: Account }> {
    const before = await this.get(username);
    this.guard(actor, await this.roles.resolve(before.role), 'cannot change this account');
    let role: RoleInfo | undefined;
    if (changes.role !== undefined) {
      role = await this.requireRole(changes.role.toLowerCase());
      this.guard(actor, role, 'cannot give this role');
      if (before.username === ADMIN && role.name !== 'superuser') throw new AccountsError('conflict', 'the built-in admin account keeps the superuser role');
    }
    if (changes.disabled === true) {
      if (before.username === ADMIN) throw new AccountsError('conflict', 'the built-in admin account cannot be disabled');
      if (actor && actor.username === before.username) throw new AccountsError('conflict', 'you cannot disable your own account');
    }
    const addresses = changes.addresses ? normaliseAddresses(changes.addresses) : undefined;
    await this.accounts.update(before.username, { role: role?.name, disabled: changes.disabled, addresses }, this.now());
    const after = (await this.accounts.find(before.username))!;
    if ((role && role.name !== before.role) || (changes.disabled && !before.disabled)) await this.sessions.endAll(after.id);
    return { before, after };
  }

  async remove(actor: Actor, username: string): Promise<Account> {
    const a = await this.get(username);
    if (a.username === ADMIN) throw new AccountsError('conflict', 'the built-in admin account cannot be deleted');
    if (actor && actor.username === a.username) throw new AccountsError('conflict', 'you cannot delete your own account');
    this.guard(actor, await this.roles.resolve(a.role), 'cannot delete this account');
    await this.accounts.remove(a.username);
    return a;
  }

  async unlock(actor: Actor, username: string): Promise<Account> {
    const a = await this.get(username);
    this.guard(actor, await this.roles.resolve(a.role), 'cannot unlock this account');
    await this.accounts.unlock(a.username, this.now());
    return (await this.accounts.find(a.username))!;
  }

  /** An administrator sets (or generates) a password; by default it must be changed at the next sign-in. */
  async resetPassword(actor: Actor, username: string, opts: { password?: string; mustChange?: boolean } = {}): Promise<{ generatedPassword?: string }> {
    const a = await this.get(username);
    this.guard(actor, await this.roles.resolve(a.role), 'cannot reset this password');
    if (a.source !== 'local') throw new AccountsError('conflict', 'the password of this account is managed by its directory');
    const password = opts.password ?? generatePassword();
    const problem = passwordProblem(a.username, password);
    if (problem) throw new AccountsError('validation_failed', problem, 'password');
    await this.accounts.setPassword(a.username, await hashPassword(password), { mustChange: opts.mustChange ?? true, now: this.now() });
    await this.accounts.unlock(a.username, this.now());
    await this.sessions.endAll(a.id);
    return { generatedPassword: opts.password ? undefined : password };
  }

  /** Records a system event the same way sign-ins do (never throws). */
  event(e: Parameters<SystemEventSink['system']>[0]): void { recordEvent(this.deps, e); }
}

