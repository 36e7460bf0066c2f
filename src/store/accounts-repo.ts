/**
 * Local accounts in the store (SPEC §8): name, password hash (scrypt, accounts/passwords.ts; never a clear
 * password), role, auth source, disabled flag, forced password change, lockout state, last sign-in and the
 * personal-mode addresses. Names and addresses are kept lower-case and matched whatever their case.
 *
 * The policy (who may do what, password rules, lockout thresholds) lives in src/accounts/; this file only reads
 * and writes rows. `recordFailure` increments the failure count in one statement, so concurrent failed sign-ins
 * on several nodes are all counted.
 */
import { type Kysely, type Selectable, sql } from 'kysely';
import type { AccountTable, Database } from './schema.ts';

export interface Account {
  id: number;
  username: string;
  passwordHash: string;
  role: string;
  createdAt: number;
  /** Where the account signs in: `local` (password here); `ldap` and `oidc` come later. */
  source: string;
  disabled: boolean;
  mustChangePassword: boolean;
  /** When the password was last set (ms), for expiry. */
  passwordChangedAt: number;
  failedLogins: number;
  /** Locked until this time (ms), or null. */
  lockedUntil: number | null;
  lastLoginAt: number | null;
  addresses: string[];
}

export interface NewAccount {
  username: string;
  passwordHash: string;
  role: string;
  source?: string;
  disabled?: boolean;
  mustChangePassword?: boolean;
  addresses?: string[];
}

export interface AccountChanges {
  role?: string;
  disabled?: boolean;
  addresses?: string[];
  mustChangePassword?: boolean;
}

type Row = Selectable<AccountTable>;

function fromRow(r: Row, addresses: string[]): Account {
  return {
    id: Number(r.id), username: r.username, passwordHash: r.password_hash, role: r.role, createdAt: Number(r.created_at),
    source: r.source ?? 'local', disabled: Number(r.disabled) === 1, mustChangePassword: Number(r.must_change_password) === 1,
    passwordChangedAt: Number(r.password_changed_at ?? r.created_at), failedLogins: Number(r.failed_logins ?? 0),
    lockedUntil: r.locked_until == null ? null : Number(r.locked_until), lastLoginAt: r.last_login_at == null ? null : Number(r.last_login_at),
    addresses,
  };
}

export class AccountsRepo {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) { this.db = db; }

  private async addressesOf(ids: number[]): Promise<Map<number, string[]>> {
    const map = new Map<number, string[]>();
    if (!ids.length) return map;
    const rows = await this.db.selectFrom('account_addresses').select(['account_id', 'address']).where('account_id', 'in', ids).orderBy('address').execute();
    for (const r of rows) {
      const list = map.get(Number(r.account_id)) ?? [];
      list.push(r.address);
      map.set(Number(r.account_id), list);
    }
    return map;
  }

  async find(username: string): Promise<Account | undefined> {
    const r = await this.db.selectFrom('accounts').selectAll().where('username', '=', username.toLowerCase()).executeTakeFirst();
    if (!r) return undefined;
    return fromRow(r, (await this.addressesOf([r.id])).get(r.id) ?? []);
  }

  async findById(id: number): Promise<Account | undefined> {
    const r = await this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) return undefined;
    return fromRow(r, (await this.addressesOf([r.id])).get(r.id) ?? []);
  }

  async list(): Promise<Account[]> {
    const rows = await this.db.selectFrom('accounts').selectAll().orderBy('username').execute();
    const addrs = await this.addressesOf(rows.map((r) => r.id));
    return rows.map((r) => fromRow(r, addrs.get(r.id) ?? []));
  }

  /** How many accounts have this role. */
  async countWithRole(role: string): Promise<number> {
    const r = await this.db.selectFrom('accounts').select((eb) => eb.fn.countAll().as('n')).where('role', '=', role).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Creates an account (the first form is the one SMTP-AUTH-era callers use). Throws on a duplicate name. */
  async create(username: string, passwordHash: string, role: string, now?: number): Promise<void>;
  async create(account: NewAccount, now?: number): Promise<void>;
  async create(a: string | NewAccount, b?: string | number, role?: string, now?: number): Promise<void> {
    const acct: NewAccount = typeof a === 'string' ? { username: a, passwordHash: b as string, role: role! } : a;
    const at = (typeof a === 'string' ? now : (b as number | undefined)) ?? Date.now();
    await this.db.transaction().execute(async (tx) => {
      const row = await tx.insertInto('accounts').values({
        username: acct.username.toLowerCase(), password_hash: acct.passwordHash, role: acct.role, created_at: at,
        source: acct.source ?? 'local', disabled: acct.disabled ? 1 : 0, must_change_password: acct.mustChangePassword ? 1 : 0,
        password_changed_at: at, locked_until: null, last_login_at: null, updated_at: at,
      }).returning('id').executeTakeFirstOrThrow();
      await this.writeAddresses(tx, Number(row.id), acct.addresses ?? []);
    });
  }

  /** Inserts the account unless one with that name exists; true when inserted (first start on several nodes). */
  async createIfMissing(account: NewAccount, now = Date.now()): Promise<boolean> {
    const r = await this.db.insertInto('accounts').values({
      username: account.username.toLowerCase(), password_hash: account.passwordHash, role: account.role, created_at: now,
      source: account.source ?? 'local', disabled: 0, must_change_password: account.mustChangePassword ? 1 : 0,
      password_changed_at: now, locked_until: null, last_login_at: null, updated_at: now,
    }).onConflict((oc) => oc.column('username').doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  private async writeAddresses(tx: Kysely<Database>, id: number, addresses: string[]): Promise<void> {
    await tx.deleteFrom('account_addresses').where('account_id', '=', id).execute();
    const uniq = [...new Set(addresses.map((x) => x.toLowerCase()))];
    if (uniq.length) await tx.insertInto('account_addresses').values(uniq.map((address) => ({ account_id: id, address }))).execute();
  }

  /** Sets a new password hash; `mustChange` marks it as one the owner has to replace at next sign-in. */
  async setPassword(username: string, passwordHash: string, opts: { mustChange?: boolean; now?: number } = {}): Promise<boolean> {
    const now = opts.now ?? Date.now();
    const r = await this.db.updateTable('accounts')
      .set({ password_hash: passwordHash, password_changed_at: now, must_change_password: opts.mustChange ? 1 : 0, updated_at: now })
      .where('username', '=', username.toLowerCase()).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async update(username: string, changes: AccountChanges, now = Date.now()): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const row = await tx.selectFrom('accounts').select('id').where('username', '=', username.toLowerCase()).executeTakeFirst();
      if (!row) return false;
      const set: Record<string, unknown> = { updated_at: now };
      if (changes.role !== undefined) set.role = changes.role;
      if (changes.disabled !== undefined) set.disabled = changes.disabled ? 1 : 0;
      if (changes.mustChangePassword !== undefined) set.must_change_password = changes.mustChangePassword ? 1 : 0;
      await tx.updateTable('accounts').set(set).where('id', '=', row.id).execute();
      if (changes.addresses) await this.writeAddresses(tx, row.id, changes.addresses);
      return true;
    });
  }

  /** Counts one failed sign-in; returns the new count. */
  async recordFailure(id: number): Promise<number> {
    const r = await this.db.updateTable('accounts').set({ failed_logins: sql`failed_logins + 1` }).where('id', '=', id).returning('failed_logins').executeTakeFirst();
    return Number(r?.failed_logins ?? 0);
  }

  async lock(id: number, until: number): Promise<void> {
    await this.db.updateTable('accounts').set({ locked_until: until, failed_logins: 0 }).where('id', '=', id).execute();
  }

  async unlock(username: string, now = Date.now()): Promise<boolean> {
    const r = await this.db.updateTable('accounts').set({ locked_until: null, failed_logins: 0, updated_at: now }).where('username', '=', username.toLowerCase()).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async recordLogin(id: number, now: number): Promise<void> {
    await this.db.updateTable('accounts').set({ failed_logins: 0, locked_until: null, last_login_at: now }).where('id', '=', id).execute();
  }

  async remove(username: string): Promise<boolean> {
    const r = await this.db.deleteFrom('accounts').where('username', '=', username.toLowerCase()).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
