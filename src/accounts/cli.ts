/**
 * `moat accounts|roles|tokens ...` (docs/cli.md, docs/accounts.md): the operator's side of the accounts core.
 * The commands work on the store named by the bootstrap config, whether or not a node runs, with the same rules
 * as the API (accounts/service.ts), except that the operator may give any role. Passwords are read from
 * standard input, never from arguments (they would show in `ps` and the shell history); a token's secret is
 * printed once.
 *
 * Hostile input: arguments and standard input (bounded, validated by the service).
 */
import type { Bootstrap } from '../config/bootstrap.ts';
import { SettingsService } from '../config/settings.ts';
import { SettingsRepo } from '../store/settings-repo.ts';
import { openStore } from '../store/db.ts';
import { systemClock } from '../platform/clock.ts';
import { silentLogger } from '../platform/logger.ts';
import { AccountsService, type AccountView } from './service.ts';
import { passwordProblem } from './passwords.ts';
import { MAX_TOKEN_DAYS } from './tokens.ts';

export interface AccountsCliContext {
  boot: Bootstrap;
  out(line: string): void;
  usage(message: string): Error;
}

export interface AccountsCliCommand {
  summary: string;
  usage: string;
  options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string; default?: string | boolean }>;
  run(values: Record<string, unknown>, positionals: string[], ctx: AccountsCliContext): Promise<void>;
}

async function withAccounts<T>(ctx: AccountsCliContext, fn: (svc: AccountsService) => Promise<T>): Promise<T> {
  const store = await openStore(ctx.boot.databaseUrl);
  try {
    const settings = await SettingsService.open(new SettingsRepo(store.db), ctx.boot.settingsSeed);
    const svc = new AccountsService({ db: store.db, settings: () => settings.snapshot().accounts, clock: systemClock, logger: silentLogger(), events: { system: async () => {} } });
    return await fn(svc);
  } finally {
    await store.close();
  }
}

/** The password on standard input (one trailing newline dropped), checked against the policy. */
async function readPassword(username: string, ctx: AccountsCliContext): Promise<string> {
  if (process.stdin.isTTY) throw ctx.usage('give the password on standard input, e.g. `printf %s "$PW" | moat accounts add NAME`');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of process.stdin) {
    size += (c as Buffer).length;
    if (size > 4096) throw new Error('password must be at most 1024 characters');
    chunks.push(c as Buffer);
  }
  const pw = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  const problem = passwordProblem(username, pw);
  if (problem) throw new Error(problem);
  return pw;
}

function iso(t: number | null): string { return t === null ? '-' : new Date(t).toISOString(); }

function accountLine(a: AccountView): string {
  const status = [a.disabled ? 'disabled' : '', a.locked ? 'locked' : '', a.mustChangePassword ? 'must-change-password' : ''].filter(Boolean).join(',') || 'active';
  return [a.username, a.role, iso(a.createdAt), status, `last-login=${iso(a.lastLoginAt)}`, a.addresses.length ? a.addresses.join(',') : '-'].join('\t');
}

function oneName(positionals: string[], count: number, what: string, ctx: AccountsCliContext): string[] {
  if (positionals.length !== count) throw ctx.usage(`expected ${what}`);
  return positionals;
}

export const accountsCommands: Record<string, AccountsCliCommand> = {
  'accounts add': {
    summary: 'create a local account (password on stdin); role personal by default (SMTP AUTH, personal mode)',
    usage: 'moat accounts add NAME [--role ROLE] [--address ADDR]... [--config FILE] < password',
    options: { role: { type: 'string', default: 'personal' }, address: { type: 'string', multiple: true } },
    async run(values, positionals, ctx) {
      if (positionals.length !== 1 || !/^[A-Za-z0-9._@+-]{1,128}$/.test(positionals[0])) throw ctx.usage('expected one account NAME (letters, digits, . _ @ + -)');
      const password = await readPassword(positionals[0], ctx);
      await withAccounts(ctx, async (svc) => {
        if (await svc.accounts.find(positionals[0])) throw new Error(`account ${positionals[0]} exists`);
        await svc.create(null, { username: positionals[0], role: String(values.role), password, addresses: (values.address as string[] | undefined) ?? [], mustChangePassword: false });
        ctx.out(`account ${positionals[0].toLowerCase()} created`);
      });
    },
  },
  'accounts passwd': {
    summary: "set an account's password (read from stdin)",
    usage: 'moat accounts passwd NAME [--must-change] [--config FILE] < password',
    options: { 'must-change': { type: 'boolean', default: false } },
    async run(values, positionals, ctx) {
      const [name] = oneName(positionals, 1, 'one account NAME', ctx);
      const password = await readPassword(name, ctx);
      await withAccounts(ctx, async (svc) => {
        await svc.resetPassword(null, name, { password, mustChange: values['must-change'] === true });
        ctx.out('password changed');
      });
    },
  },
  'accounts list': {
    summary: 'list accounts: name, role, created, status (active, disabled, locked, must-change-password), last sign-in, addresses',
    usage: 'moat accounts list [--config FILE]',
    options: {},
    async run(_values, _positionals, ctx) {
      await withAccounts(ctx, async (svc) => { for (const a of await svc.accounts.list()) ctx.out(accountLine(svc.view(a))); });
    },
  },
  'accounts delete': {
    summary: 'delete an account (not admin); its sessions and API tokens end',
    usage: 'moat accounts delete NAME [--config FILE]',
    options: {},
    async run(_values, positionals, ctx) {
      const [name] = oneName(positionals, 1, 'one account NAME', ctx);
      await withAccounts(ctx, async (svc) => { await svc.remove(null, name); ctx.out('account deleted'); });
    },
  },
  'accounts unlock': {
    summary: 'unlock an account locked after failed sign-ins',
    usage: 'moat accounts unlock NAME [--config FILE]',
    options: {},
    async run(_values, positionals, ctx) {
      const [name] = oneName(positionals, 1, 'one account NAME', ctx);
      await withAccounts(ctx, async (svc) => { await svc.unlock(null, name); ctx.out(`account ${name.toLowerCase()} unlocked`); });
    },
  },
  'accounts role': {
    summary: "change an account's role (admin stays superuser)",
    usage: 'moat accounts role NAME ROLE [--config FILE]',
    options: {},
    async run(_values, positionals, ctx) {
      const [name, role] = oneName(positionals, 2, 'account NAME and ROLE', ctx);
      await withAccounts(ctx, async (svc) => { const r = await svc.update(null, name, { role }); ctx.out(`account ${r.after.username} now has role ${r.after.role}`); });
    },
  },
  'roles list': {
    summary: 'list roles (fixed and custom) with their permissions',
    usage: 'moat roles list [--config FILE]',
    options: {},
    async run(_values, _positionals, ctx) {
      await withAccounts(ctx, async (svc) => {
        for (const r of await svc.roles.list()) ctx.out([r.name, r.fixed ? 'fixed' : 'custom', r.permissions.join(',') || '-', r.description].join('\t'));
      });
    },
  },
  'roles add': {
    summary: 'create a custom role from permissions (see `moat roles list` for superuser\'s full list)',
    usage: 'moat roles add NAME PERMISSION... [--description TEXT] [--config FILE]',
    options: { description: { type: 'string' } },
    async run(values, positionals, ctx) {
      if (positionals.length < 1) throw ctx.usage('expected NAME and PERMISSION...');
      await withAccounts(ctx, async (svc) => {
        const r = await svc.roles.create({ name: positionals[0], description: (values.description as string | undefined) ?? '', permissions: positionals.slice(1) });
        ctx.out(`role ${r.name} created: ${r.permissions.join(',') || '(no permission)'}`);
      });
    },
  },
  'roles delete': {
    summary: 'delete a custom role no account holds',
    usage: 'moat roles delete NAME [--config FILE]',
    options: {},
    async run(_values, positionals, ctx) {
      const [name] = oneName(positionals, 1, 'one role NAME', ctx);
      await withAccounts(ctx, async (svc) => { await svc.roles.remove(name); ctx.out(`role ${name.toLowerCase()} deleted`); });
    },
  },
  'tokens create': {
    summary: 'create an API token for an account; prints the secret once',
    usage: `moat tokens create ACCOUNT NAME [--expires DAYS (1-${MAX_TOKEN_DAYS})] [--config FILE]`,
    options: { expires: { type: 'string' } },
    async run(values, positionals, ctx) {
      const [account, name] = oneName(positionals, 2, 'ACCOUNT and token NAME', ctx);
      const days = values.expires === undefined ? null : Number(values.expires);
      if (days !== null && (!Number.isInteger(days) || days < 1 || days > MAX_TOKEN_DAYS)) throw ctx.usage(`--expires takes whole days from 1 to ${MAX_TOKEN_DAYS}`);
      await withAccounts(ctx, async (svc) => {
        const a = await svc.get(account);
        const r = await svc.tokens.create(a.id, name, days);
        ctx.out(`token ${r.token.id} "${r.token.name}" for ${a.username}${r.token.expiresAt ? `, expires ${iso(r.token.expiresAt)}` : ''}; the secret (shown only now):`);
        ctx.out(r.secret);
      });
    },
  },
  'tokens list': {
    summary: 'list API tokens (all, or one account\'s): id, account, name, created, expires, last used',
    usage: 'moat tokens list [ACCOUNT] [--config FILE]',
    options: {},
    async run(_values, positionals, ctx) {
      if (positionals.length > 1) throw ctx.usage('expected at most one ACCOUNT');
      await withAccounts(ctx, async (svc) => {
        const list = positionals[0] ? await svc.tokens.list((await svc.get(positionals[0])).id) : await svc.tokens.list();
        for (const t of list) ctx.out([t.id, t.username, t.name, iso(t.createdAt), `expires=${iso(t.expiresAt)}`, `last-used=${iso(t.lastUsedAt)}`].join('\t'));
      });
    },
  },
  'tokens revoke': {
    summary: 'revoke an API token by id',
    usage: 'moat tokens revoke ID [--config FILE]',
    options: {},
    async run(_values, positionals, ctx) {
      const [id] = oneName(positionals, 1, 'one token ID', ctx);
      if (!/^\d{1,10}$/.test(id)) throw ctx.usage('expected a token ID (a number, see `moat tokens list`)');
      await withAccounts(ctx, async (svc) => {
        if (!(await svc.tokens.revoke(Number(id)))) throw new Error(`no token ${id}`);
        ctx.out(`token ${id} revoked`);
      });
    },
  },
};
