/**
 * The `moat` command (started by src/main.ts, which turns on the compile cache first). `moat start` runs a node
 * in the foreground; the other subcommands work on the store named by the same bootstrap config (settings, rules,
 * queue, accounts), so they work whether or not the node runs, and a running node picks their changes up within
 * a second. Errors: one clear line on stderr, exit status 1 (2 for usage errors).
 */
import './platform/threadpool.ts';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import YAML from 'yaml';
import { loadBootstrap, ConfigError, type Bootstrap } from './config/bootstrap.ts';
import { SettingsService, SettingsValidationError, diffSettings, formatChange, getPath, setPath, validateSettings } from './config/settings.ts';
import { openStore, type Store } from './store/db.ts';
import type { ModuleName } from './scan/types.ts';
import { SettingsRepo } from './store/settings-repo.ts';
import { QueueRepo, type QueueFilter, type QueuedMessage } from './store/queue-repo.ts';
import { AntispamRepo } from './store/antispam-repo.ts';
import { DkimRepo, type DkimKeyInfo } from './store/dkim-repo.ts';
import { DkimKeyError, MAX_KEY_FILE, generateKey, importKey, normaliseDomain, normaliseSelector, publicKeyBits, txtRecord } from './dkim/keys.ts';
import { RulesRepo, RuleNotFoundError, ruleToDoc, type MoveTarget, type RuleChange, type StoredRule } from './store/rules-repo.ts';
import { RuleValidationError } from './policy/schema.ts';
import { MODES } from './policy/types.ts';
import { Spool } from './spool/spool.ts';
import { QUEUE_ID_RE } from './platform/ids.ts';
import { eventsCommands, isMutating, noteSettingsChanges, recordCliAudit } from './events/cli.ts';
import { backupCommands } from './backup/cli.ts';
import { accountsCommands } from './accounts/cli.ts';

class UsageError extends Error {}

interface Command {
  summary: string;
  usage: string;
  options?: ParseArgsConfig['options'];
  /** Whether the command changes something (it is then audited, src/events/cli.ts). Default: from the command's
   *  last word (set, add, update, delete, move, enable, …: see MUTATING_VERBS); set it when that guess is wrong. */
  mutates?: boolean;
  run(args: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] }): Promise<void>;
}

const configOption = { config: { type: 'string', short: 'c' } } as const;

/** Options shared by `rules add` and `rules update`. */
const ruleOptions = {
  name: { type: 'string' }, mode: { type: 'string' }, sender: { type: 'string', multiple: true }, recipient: { type: 'string', multiple: true },
  description: { type: 'string' }, 'from-file': { type: 'string' },
} as const;

function out(s: string): void { process.stdout.write(s.endsWith('\n') ? s : `${s}\n`); }

async function withStore<T>(values: Record<string, unknown>, fn: (store: Store, boot: Bootstrap) => Promise<T>): Promise<T> {
  const boot = loadBootstrap(values.config as string | undefined);
  const store = await openStore(boot.databaseUrl);
  try { return await fn(store, boot); } finally { await store.close(); }
}

async function withSettings<T>(values: Record<string, unknown>, fn: (svc: SettingsService, boot: Bootstrap, store: Store) => Promise<T>): Promise<T> {
  return withStore(values, async (store, boot) => fn(await SettingsService.open(new SettingsRepo(store.db), boot.settingsSeed), boot, store));
}

/** `RECIPIENT allow|deny PATTERN...` of `moat lists add|delete`. */
function listArgs(positionals: string[]): [string, 'allow' | 'deny', string[]] {
  const [owner, kind, ...patterns] = positionals;
  if (!owner || (kind !== 'allow' && kind !== 'deny') || !patterns.length) throw new UsageError('expected RECIPIENT allow|deny PATTERN...');
  return [owner, kind, patterns];
}

function who(): string {
  return `cli:${process.env.SUDO_USER ?? process.env.USER ?? 'unknown'}`;
}

function parseValue(text: string): unknown {
  try { return YAML.parse(text); } catch { return text; }
}

function queueLine(m: QueuedMessage): string {
  const pend = m.recipients.filter((r) => r.state === 'pending').length;
  return [m.id, new Date(m.receivedAt).toISOString(), String(m.size).padStart(9), `${m.state}${m.isBounce ? '/bounce' : ''}`,
    `attempts=${m.attempts}`, `next=${new Date(m.nextAttemptAt).toISOString()}`, `<${m.sender}>`, `rcpts=${m.recipients.length}/pending=${pend}`,
    m.lastError ? `last="${m.lastError.slice(0, 120)}"` : ''].join(' ').trimEnd();
}

/** `moat accounts|roles|tokens ...` (src/accounts/cli.ts), with this file's bootstrap, output and usage errors. */
const accountsCli: Record<string, Command> = Object.fromEntries(Object.entries(accountsCommands).map(([name, c]) => [name, {
  summary: c.summary, usage: c.usage, options: { ...configOption, ...c.options } as ParseArgsConfig['options'],
  run: ({ values, positionals }) => c.run(values, positionals, { boot: loadBootstrap(values.config as string | undefined), out, usage: (m: string) => new UsageError(m) }),
} satisfies Command]));

/** `moat backup ...` (src/backup/cli.ts), with this file's bootstrap, output and usage errors. */
const backupCli: Record<string, Command> = Object.fromEntries(Object.entries(backupCommands).map(([name, c]) => [name, {
  summary: c.summary, usage: c.usage, options: { ...configOption, ...c.options } as ParseArgsConfig['options'],
  run: ({ values, positionals }) => c.run(values, positionals, { boot: loadBootstrap(values.config as string | undefined), actor: who(), out, usage: (m: string) => new UsageError(m) }),
} satisfies Command]));

const commands: Record<string, Command> = {
  ...backupCli,
  start: {
    summary: 'run a Moat node in the foreground (SMTP, delivery, HTTP); SIGTERM/SIGINT stop it cleanly',
    usage: 'moat start [--config FILE]',
    options: configOption,
    async run({ values }) {
      const { startNode } = await import('./node.ts');
      const boot = loadBootstrap(values.config as string | undefined);
      const node = await startNode(boot);
      let stopping: Promise<void> | undefined;
      const stop = (sig: string) => {
        if (stopping) return;
        node.logger.info({ signal: sig }, 'signal received');
        stopping = node.stop().then(() => process.exit(0), (err) => { node.logger.error({ err }, 'error while stopping'); process.exit(1); });
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      await new Promise(() => {});
    },
  },
  'settings export': {
    summary: 'print the settings document (YAML by default)',
    usage: 'moat settings export [--format yaml|json] [--output FILE] [--config FILE]',
    options: { ...configOption, format: { type: 'string', default: 'yaml' }, output: { type: 'string', short: 'o' } },
    async run({ values }) {
      if (values.format !== 'yaml' && values.format !== 'json') throw new UsageError('--format must be yaml or json');
      await withSettings(values, async (svc, _boot, store) => {
        const rules = (await new RulesRepo(store.db).list()).map(ruleToDoc);
        const doc = { format: 'moat-settings/1', settingsVersion: svc.version, exportedAt: new Date().toISOString(), settings: svc.snapshot(), rules };
        const text = values.format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : YAML.stringify(doc);
        if (values.output) writeFileSync(values.output as string, text); else out(text);
      });
    },
  },
  'settings import': {
    summary: 'replace the settings (and the rules, when the document has `rules:`) with a document (YAML or JSON), or only the groups named by --only; --dry-run prints the differences',
    usage: 'moat settings import FILE [--only PATH[,PATH...]] [--dry-run] [--config FILE]   e.g. --only mta.domains,mta.relayHost or --only rules',
    options: { ...configOption, 'dry-run': { type: 'boolean', default: false }, only: { type: 'string' } },
    async run({ values, positionals }) {
      if (positionals.length !== 1) throw new UsageError('expected one FILE');
      const file = positionals[0];
      let doc: unknown;
      try { doc = YAML.parse(readFileSync(file, 'utf8')); } catch (err) {
        throw new Error(`cannot read ${file}: ${((err as NodeJS.ErrnoException).code ?? (err as Error).message).split('\n')[0]}`);
      }
      // An exported document (`format`, `settings`, `rules`) or a bare settings document.
      const envelope = !!doc && typeof doc === 'object' && !Array.isArray(doc) && ['format', 'settings', 'rules'].some((k) => k in doc);
      const body = envelope ? (doc as { settings?: unknown }).settings : doc;
      const rulesBody = envelope ? (doc as { rules?: unknown }).rules : undefined;
      // An empty file (or an empty `settings:`) validated as `{}`, i.e. all defaults, and wiped every setting.
      if (body == null && rulesBody === undefined) throw new Error(`${file} holds no settings document`);
      const only = values.only === undefined ? null : String(values.only).split(',').map((p) => p.trim()).filter(Boolean);
      if (only && !only.length) throw new UsageError('--only needs at least one settings path');
      const settingsPaths = only?.filter((p) => p !== 'rules');
      const withRules = only ? only.includes('rules') : rulesBody !== undefined;
      const withSettingsDoc = only ? settingsPaths!.length > 0 : body != null;
      if (withRules && rulesBody === undefined) throw new Error(`${file} has no rules`);
      const dry = values['dry-run'] === true;
      await withSettings(values, async (svc, _boot, store) => {
        let next: ReturnType<typeof validateSettings> | undefined;
        if (withSettingsDoc) {
          let merged: unknown = body;
          if (settingsPaths) {
            // Chosen groups only: each named path is taken from the file, everything else stays as it is.
            merged = svc.snapshot();
            for (const p of settingsPaths) {
              const v = getPath(body, p);
              if (v === undefined) throw new Error(`${file} has no ${p}`);
              merged = setPath(merged, p, v);
            }
          }
          next = validateSettings(merged);
        }
        const rules = new RulesRepo(store.db);
        // Both parts are validated before either is written.
        const rulePlan = withRules ? await rules.planImport(rulesBody) : [];
        const changes = next ? (dry ? diffSettings(svc.snapshot(), next) : await svc.replace(next, who())) : [];
        if (!dry) noteSettingsChanges(changes);
        for (const c of changes) out(`${dry ? 'would change' : 'changed'} ${formatChange(c)}`);
        const ruleChanges = withRules && !dry ? await rules.importRules(rulesBody) : rulePlan;
        for (const c of ruleChanges) out(formatRuleChange(c, dry));
        const total = changes.length + ruleChanges.length;
        if (!total) out('no changes');
        else if (dry) out(`${total} change(s); nothing written (dry run)`);
        else {
          if (changes.length) out(`settings version ${svc.version}`);
          if (ruleChanges.length) out(`${ruleChanges.length} rule change(s)`);
        }
      });
    },
  },
  'settings get': {
    summary: 'print one setting (JSON)',
    usage: 'moat settings get PATH [--config FILE]   e.g. moat settings get mta.hostname',
    options: configOption,
    async run({ values, positionals }) {
      if (positionals.length !== 1) throw new UsageError('expected one PATH');
      await withSettings(values, async (svc) => {
        const v = svc.get(positionals[0]);
        if (v === undefined) throw new Error(`no such setting: ${positionals[0]}`);
        out(JSON.stringify(v, null, typeof v === 'object' ? 2 : undefined));
      });
    },
  },
  'settings set': {
    summary: 'change one setting; VALUE is YAML/JSON (numbers, true/false, [lists], {objects}) or a plain string',
    usage: "moat settings set PATH VALUE [--config FILE]   e.g. moat settings set mta.trustedNetworks '[10.0.0.0/8]'",
    options: configOption,
    async run({ values, positionals }) {
      if (positionals.length !== 2) throw new UsageError('expected PATH and VALUE');
      await withSettings(values, async (svc) => {
        const parsed = parseValue(positionals[1]);
        let changes;
        try {
          changes = await svc.set(positionals[0], parsed, who());
        } catch (err) {
          // `settings set mta.banner 2025` means the text "2025": when the YAML reading of VALUE is refused, the
          // plain text is tried before giving up (and the first error is the one reported).
          if (!(err instanceof SettingsValidationError) || typeof parsed === 'string') throw err;
          changes = await svc.set(positionals[0], positionals[1], who()).catch(() => { throw err; });
        }
        noteSettingsChanges(changes, `settings:${positionals[0]}`);
        for (const c of changes) out(`changed ${formatChange(c)}`);
        out(changes.length ? `settings version ${svc.version}` : 'no changes');
      });
    },
  },
  'settings history': {
    summary: 'list the stored settings versions',
    usage: 'moat settings history [--config FILE]',
    options: configOption,
    async run({ values }) {
      await withStore(values, async (store) => {
        for (const h of await new SettingsRepo(store.db).history()) out(`${h.version}\t${new Date(h.createdAt).toISOString()}\t${h.author}`);
      });
    },
  },
  'queue list': {
    summary: "list this node's queue, with filters",
    usage: 'moat queue list [--id ID] [--sender TEXT] [--recipient TEXT] [--state queued|held] [--since ISO] [--until ISO]\n' +
      '                  [--min-size BYTES] [--max-size BYTES] [--min-attempts N] [--error TEXT] [--limit N] [--json] [--config FILE]',
    options: {
      ...configOption, id: { type: 'string' }, sender: { type: 'string' }, recipient: { type: 'string' }, state: { type: 'string' },
      since: { type: 'string' }, until: { type: 'string' }, 'min-size': { type: 'string' }, 'max-size': { type: 'string' },
      'min-attempts': { type: 'string' }, error: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean', default: false },
    },
    async run({ values }) {
      const num = (k: string) => {
        if (values[k] === undefined) return undefined;
        const n = Number(values[k]);
        if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${k} must be a non-negative number`);
        return n;
      };
      const date = (k: string) => {
        if (values[k] === undefined) return undefined;
        const t = Date.parse(values[k] as string);
        if (Number.isNaN(t)) throw new UsageError(`--${k} must be a date (ISO 8601)`);
        return t;
      };
      if (values.state !== undefined && values.state !== 'queued' && values.state !== 'held') throw new UsageError('--state must be queued or held');
      await withStore(values, async (store, boot) => {
        const f: QueueFilter = {
          node: boot.node, id: values.id as string | undefined, sender: values.sender as string | undefined,
          recipient: values.recipient as string | undefined, state: values.state as 'queued' | 'held' | undefined,
          receivedAfter: date('since'), receivedBefore: date('until'), minSize: num('min-size'), maxSize: num('max-size'),
          minAttempts: num('min-attempts'), error: values.error as string | undefined, limit: num('limit') ?? 1000,
        };
        const list = await new QueueRepo(store.db).list(f);
        if (values.json) out(JSON.stringify(list, null, 2));
        else { for (const m of list) out(queueLine(m)); out(`${list.length} message(s)`); }
      });
    },
  },
  'queue show': {
    summary: 'show one queued message with its recipients (JSON)',
    usage: 'moat queue show ID [--config FILE]',
    options: configOption,
    async run({ values, positionals }) {
      if (positionals.length !== 1) throw new UsageError('expected one queue ID');
      await withStore(values, async (store) => {
        const m = await new QueueRepo(store.db).get(positionals[0].toUpperCase());
        if (!m) throw new Error(`no queued message ${positionals[0]}`);
        out(JSON.stringify(m, null, 2));
      });
    },
  },
  'queue retry': {
    summary: 'deliver now: one message, or every queued message with --all',
    usage: 'moat queue retry ID|--all [--config FILE]',
    options: { ...configOption, all: { type: 'boolean', default: false } },
    async run({ values, positionals }) {
      const id = oneIdOrAll(values, positionals);
      await withStore(values, async (store, boot) => {
        const n = await new QueueRepo(store.db).retryNow(boot.node, Date.now(), id);
        if (id && !n) throw new Error(`no queued message ${id}`);
        out(`${n} message(s) scheduled for immediate delivery`);
      });
    },
  },
  'queue delete': {
    summary: 'delete one message, or the whole queue with --all (no bounce is sent)',
    usage: 'moat queue delete ID|--all [--config FILE]',
    options: { ...configOption, all: { type: 'boolean', default: false } },
    async run({ values, positionals }) {
      const id = oneIdOrAll(values, positionals);
      await withStore(values, async (store, boot) => {
        const repo = new QueueRepo(store.db);
        const spool = new Spool(boot.dataDir);
        // Only this node's entries: another node's spool files are not here, and it would queue them again.
        const ids = id ? ((await repo.get(id))?.node === boot.node ? [id] : []) : await repo.ids(boot.node);
        let n = 0;
        for (const x of ids) {
          const existed = await repo.remove(x);
          await spool.remove(x);
          if (existed) n++;
        }
        if (id && !n) throw new Error(`no queued message ${id}`);
        out(`${n} message(s) deleted`);
      });
    },
  },
  'queue hold': {
    summary: 'keep a message in the queue without delivering it until released',
    usage: 'moat queue hold ID [--config FILE]',
    options: configOption,
    async run({ values, positionals }) { await setHeld(values, positionals, 'held'); },
  },
  'queue release': {
    summary: 'release a held message for delivery now',
    usage: 'moat queue release ID [--config FILE]',
    options: configOption,
    async run({ values, positionals }) { await setHeld(values, positionals, 'queued'); },
  },
  'queue pause': {
    summary: 'pause sending (deliveries) or receiving (new SMTP sessions get 421) cluster-wide',
    usage: 'moat queue pause sending|receiving [--config FILE]',
    options: configOption,
    async run({ values, positionals }) { await setPaused(values, positionals, true); },
  },
  'queue resume': {
    summary: 'resume sending or receiving',
    usage: 'moat queue resume sending|receiving [--config FILE]',
    options: configOption,
    async run({ values, positionals }) { await setPaused(values, positionals, false); },
  },
  // moat accounts|roles|tokens ... (src/accounts/cli.ts; docs/accounts.md).
  ...accountsCli,
  'dkim keygen': {
    summary: 'create a DKIM signing key for a domain and selector; prints the DNS TXT record to publish',
    usage: 'moat dkim keygen DOMAIN SELECTOR [--type rsa|ed25519] [--bits 2048] [--use] [--config FILE]\n\n' +
      '  The key is stored but signs nothing until `moat dkim use DOMAIN SELECTOR` (publish the record first), or\n' +
      '  at once with --use. RSA keys have 1024 to 8192 bits (default and recommended 2048).',
    options: { ...configOption, type: { type: 'string', default: 'rsa' }, bits: { type: 'string' }, use: { type: 'boolean', default: false } },
    async run({ values, positionals }) {
      const [domain, selector] = dkimNames(positionals, 2, 'DOMAIN SELECTOR');
      if (values.type !== 'rsa' && values.type !== 'ed25519') throw new UsageError('--type must be rsa or ed25519');
      if (values.bits !== undefined && (values.type !== 'rsa' || !/^\d{1,5}$/.test(String(values.bits)))) {
        throw new UsageError(values.type === 'rsa' ? '--bits must be a number of bits, e.g. 2048' : '--bits is for RSA keys only');
      }
      await withStore(values, async (store) => {
        const repo = new DkimRepo(store.db);
        // Refused before the (slow) key generation when the selector is taken.
        if (await repo.get(domain, selector)) throw new Error(`${domain} already has a key with selector ${selector} (delete it first, or choose another selector)`);
        const key = await generateKey(values.type as 'rsa' | 'ed25519', values.bits === undefined ? 2048 : Number(values.bits));
        const info = await repo.add({ domain, selector, ...key, enabled: values.use === true });
        dkimCreated('created', info, key.bits);
      });
    },
  },
  'dkim import': {
    summary: 'store an existing DKIM private key (PEM: PKCS#1 or PKCS#8; RSA of at least 1024 bits, or Ed25519)',
    usage: 'moat dkim import DOMAIN SELECTOR FILE [--use] [--config FILE]\n\n' +
      '  Prints the DNS TXT record of the key (already published, if the key was in use elsewhere). The key signs\n' +
      '  nothing until `moat dkim use DOMAIN SELECTOR`, or at once with --use.',
    options: { ...configOption, use: { type: 'boolean', default: false } },
    async run({ values, positionals }) {
      const [domain, selector, file] = dkimNames(positionals, 3, 'DOMAIN SELECTOR FILE');
      let text: Buffer;
      try {
        if (statSync(file).size > MAX_KEY_FILE) throw new Error(`too large for a key file (more than ${MAX_KEY_FILE / 1024} KiB)`);
        text = readFileSync(file);
      } catch (err) {
        throw new Error(`cannot read ${file}: ${((err as NodeJS.ErrnoException).code ?? (err as Error).message).split('\n')[0]}`);
      }
      let key;
      try { key = importKey(text); } catch (err) { throw new Error(`${file}: ${(err as Error).message}`); }
      await withStore(values, async (store) => {
        const info = await new DkimRepo(store.db).add({ domain, selector, ...key, enabled: values.use === true });
        dkimCreated('imported', info, key.bits);
      });
    },
  },
  'dkim list': {
    summary: 'list DKIM keys: domain, selector, algorithm, bits, created, and which key signs each domain',
    usage: 'moat dkim list [DOMAIN] [--json] [--config FILE]',
    options: { ...configOption, json: { type: 'boolean', default: false } },
    async run({ values, positionals }) {
      if (positionals.length > 1) throw new UsageError('expected at most one DOMAIN');
      const [domain] = positionals.length ? dkimNames(positionals, 1, 'DOMAIN') : [undefined];
      await withStore(values, async (store) => {
        const keys = (await new DkimRepo(store.db).list(domain)).map((k) => ({
          domain: k.domain, selector: k.selector, algorithm: k.algorithm, bits: publicKeyBits(k.algorithm, k.publicKey),
          created: new Date(k.createdAt).toISOString(), signing: k.enabled,
        }));
        if (values.json) { out(JSON.stringify(keys, null, 2)); return; }
        for (const k of keys) out([k.domain, k.selector, k.algorithm, String(k.bits), k.created, k.signing ? 'signing' : '-'].join('\t'));
      });
    },
  },
  'dkim show': {
    summary: "print the DNS TXT records of a domain's DKIM keys (zone-file lines), the signing key first",
    usage: 'moat dkim show DOMAIN [SELECTOR] [--config FILE]',
    options: configOption,
    async run({ values, positionals }) {
      if (positionals.length < 1 || positionals.length > 2) throw new UsageError('expected DOMAIN [SELECTOR]');
      const [domain, selector] = dkimNames(positionals, positionals.length, 'DOMAIN [SELECTOR]');
      await withStore(values, async (store) => {
        const keys = (await new DkimRepo(store.db).list(domain)).filter((k) => selector === undefined || k.selector === selector)
          .sort((a, b) => Number(b.enabled) - Number(a.enabled));
        if (!keys.length) throw new Error(selector === undefined ? `${domain} has no DKIM key` : `${domain} has no key with selector ${selector}`);
        for (const k of keys) {
          out(`; ${k.domain} selector ${k.selector}: ${k.algorithm}, ${publicKeyBits(k.algorithm, k.publicKey)} bits, ${k.enabled ? 'signing' : 'not signing'}, created ${new Date(k.createdAt).toISOString()}`);
          out(txtRecord(k.domain, k.selector, k.algorithm, k.publicKey).zoneLine);
        }
      });
    },
  },
  'dkim use': {
    summary: "make a key the domain's signing key (rotation: keygen a new selector, publish it, then use it)",
    usage: 'moat dkim use DOMAIN SELECTOR [--config FILE]',
    options: configOption,
    async run({ values, positionals }) {
      const [domain, selector] = dkimNames(positionals, 2, 'DOMAIN SELECTOR');
      await withStore(values, async (store) => {
        const before = await new DkimRepo(store.db).use(domain, selector);
        out(before === selector ? `${domain} is already signed with selector ${selector}`
          : `${domain} is now signed with selector ${selector}${before ? ` (was ${before})` : ''}`);
      });
    },
  },
  'dkim disable': {
    summary: "stop signing a domain's mail (its keys are kept; moat dkim use signs again)",
    usage: 'moat dkim disable DOMAIN [--config FILE]',
    options: configOption,
    async run({ values, positionals }) {
      const [domain] = dkimNames(positionals, 1, 'DOMAIN');
      await withStore(values, async (store) => {
        const before = await new DkimRepo(store.db).disable(domain);
        out(before ? `${domain} is no longer signed (was selector ${before})` : `${domain} was not signed`);
      });
    },
  },
  'dkim delete': {
    summary: "delete a DKIM key (the domain's signing key only with --force)",
    usage: 'moat dkim delete DOMAIN SELECTOR [--force] [--config FILE]',
    options: { ...configOption, force: { type: 'boolean', default: false } },
    async run({ values, positionals }) {
      const [domain, selector] = dkimNames(positionals, 2, 'DOMAIN SELECTOR');
      await withStore(values, async (store) => {
        const repo = new DkimRepo(store.db);
        const key = (await repo.list(domain)).find((k) => k.selector === selector);
        if (!key) throw new Error(`${domain} has no key with selector ${selector}`);
        if (key.enabled && values.force !== true) throw new Error(`${domain}/${selector} signs ${domain}'s mail: switch to another selector first (moat dkim use), or give --force to stop signing`);
        await repo.remove(domain, selector);
        out(`deleted DKIM key ${domain}/${selector}${key.enabled ? `; ${domain} is no longer signed` : ''}`);
      });
    },
  },
  'dkim export': {
    summary: 'print the PRIVATE key of a DKIM key (PKCS#8 PEM), e.g. to move it to another system',
    usage: 'moat dkim export DOMAIN SELECTOR [--config FILE]   (the output is a secret: keep it out of logs and tickets)',
    options: configOption,
    async run({ values, positionals }) {
      const [domain, selector] = dkimNames(positionals, 2, 'DOMAIN SELECTOR');
      await withStore(values, async (store) => {
        const key = await new DkimRepo(store.db).get(domain, selector);
        if (!key) throw new Error(`${domain} has no key with selector ${selector}`);
        process.stdout.write(key.privateKeyPem);
      });
    },
  },
  'lists add': {
    summary: "add sender masks to a recipient's personal allowlist or denylist (SPEC §4)",
    usage: 'moat lists add RECIPIENT allow|deny PATTERN... [--config FILE]\n\n' +
      '  PATTERN: a sender mask (*@example.com, news-?@shop.test), re:REGEX, or a client IP or CIDR. At most 500\n' +
      '  entries per recipient. allow: anti-spam status `trusted` (anti-spam skipped, other modules still run);\n' +
      '  deny: `denylisted`. When both match a sender, allow wins.',
    options: configOption,
    async run({ values, positionals }) {
      const [owner, kind, patterns] = listArgs(positionals);
      await withStore(values, async (store) => {
        const repo = new AntispamRepo(store.db);
        for (const p of patterns) {
          const e = await repo.addListEntry(owner, kind, p);
          out(`${e.owner}\t${e.kind}\t${e.pattern}`);
        }
      });
    },
  },
  'lists delete': {
    summary: "remove sender masks from a recipient's personal list",
    usage: 'moat lists delete RECIPIENT allow|deny PATTERN... [--config FILE]',
    options: configOption,
    async run({ values, positionals }) {
      const [owner, kind, patterns] = listArgs(positionals);
      await withStore(values, async (store) => {
        const repo = new AntispamRepo(store.db);
        const missing = [];
        for (const p of patterns) if (!(await repo.removeListEntry(owner, kind, p))) missing.push(p);
        if (missing.length) throw new Error(`not in ${owner.toLowerCase()}'s ${kind} list: ${missing.join(' ')}`);
        out(`${patterns.length} entr${patterns.length === 1 ? 'y' : 'ies'} removed`);
      });
    },
  },
  'lists show': {
    summary: 'show personal lists (of one recipient, or all)',
    usage: 'moat lists show [RECIPIENT] [--json] [--config FILE]',
    options: { ...configOption, json: { type: 'boolean', default: false } },
    async run({ values, positionals }) {
      if (positionals.length > 1) throw new UsageError('expected at most one RECIPIENT');
      await withStore(values, async (store) => {
        const entries = await new AntispamRepo(store.db).listEntries(positionals[0]);
        if (values.json) { out(JSON.stringify(entries.map(({ owner, kind, pattern, createdAt }) => ({ owner, kind, pattern, created: new Date(createdAt).toISOString() })))); return; }
        for (const e of entries) out(`${e.owner}\t${e.kind}\t${e.pattern}`);
      });
    },
  },
  learn: {
    summary: "teach the anti-spam classifier: messages are spam or ham (cluster-wide, every node applies it)",
    usage: 'moat learn spam|ham FILE|DIR... [--config FILE]\n\n' +
      '  Each message is learned once (a second time is reported as a duplicate). Guards against poisoning:\n' +
      '  scan.antispam.learning.perSourceDaily messages per user and day, and over 7 days neither class may\n' +
      '  outgrow the other by more than maxClassRatio times (plus slack): learn some of both.\n' +
      '  Exit 0 when every message was learned or was a duplicate; 1 when one was refused or unreadable.',
    options: configOption,
    async run({ values, positionals }) {
      const [label, ...inputs] = positionals;
      if ((label !== 'spam' && label !== 'ham') || !inputs.length) throw new UsageError('expected spam|ham FILE|DIR...');
      const { learnFiles } = await import('./scan/antispam/learn.ts');
      await withSettings(values, async (svc, _boot, store) => {
        const failed = await learnFiles(new AntispamRepo(store.db), svc.snapshot(), label, inputs, who(), { out, warn: (l) => process.stderr.write(`${l}\n`) });
        if (failed) throw new Error(`${failed} message(s) not learned`);
      });
    },
  },
  'rules list': {
    summary: 'list the processing rules in the order they are tried (Default last)',
    usage: 'moat rules list [--json] [--config FILE]',
    options: { ...configOption, json: { type: 'boolean', default: false } },
    async run({ values }) {
      await withStore(values, async (store) => {
        const list = await new RulesRepo(store.db).list();
        if (values.json) out(JSON.stringify(list, null, 2));
        else { for (const l of rulesTable(list)) out(l); out(`${list.length} rule(s)`); }
      });
    },
  },
  'rules show': {
    summary: 'show one rule in full (YAML, the format --from-file reads; --json for JSON)',
    usage: 'moat rules show ID|NAME [--json] [--config FILE]',
    options: { ...configOption, json: { type: 'boolean', default: false } },
    async run({ values, positionals }) {
      const ref = oneRuleRef(positionals);
      await withStore(values, async (store) => {
        const r = await new RulesRepo(store.db).get(ref);
        if (!r) throw new RuleNotFoundError(ref);
        if (values.json) { out(JSON.stringify(r, null, 2)); return; }
        const { id, position, updatedAt, ...rest } = r;
        const doc = ruleToDoc(rest as StoredRule);
        out(YAML.stringify({ id, position, ...doc, updatedAt: new Date(updatedAt).toISOString() }));
      });
    },
  },
  'rules add': {
    summary: 'add a rule, last above Default (settings not given start as the shipped Default rule has them)',
    usage: 'moat rules add --name NAME [--mode scan|skip|reject|delete] [--sender S]... [--recipient R]... [--description TEXT]\n' +
      '                 [--disabled] [--from-file RULE.yaml] [--config FILE]   e.g. --sender \'*@partner.example\' --sender 192.0.2.0/24',
    options: { ...configOption, ...ruleOptions, disabled: { type: 'boolean', default: false } },
    async run({ values, positionals }) {
      if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])} (the name goes with --name)`);
      const input = ruleInput(values);
      if (values.disabled) input.enabled = false;
      if (typeof input.name !== 'string' || !input.name.trim()) throw new UsageError('give the rule a --name (or a name: in --from-file)');
      await withStore(values, async (store) => {
        const r = await new RulesRepo(store.db).create(input);
        out(`added ${ruleLabel(r)} at position ${r.position}${r.enabled ? '' : ' (disabled)'}`);
      });
    },
  },
  'rules update': {
    summary: 'change a rule: the options (and the fields in --from-file) replace those of the rule; the rest stays',
    usage: 'moat rules update ID|NAME [--name NAME] [--mode MODE] [--sender S]... [--any-sender] [--recipient R]... [--any-recipient]\n' +
      '                    [--description TEXT] [--from-file RULE.yaml] [--config FILE]',
    options: { ...configOption, ...ruleOptions, 'any-sender': { type: 'boolean', default: false }, 'any-recipient': { type: 'boolean', default: false } },
    async run({ values, positionals }) {
      const ref = oneRuleRef(positionals);
      if (values['any-sender'] && values.sender) throw new UsageError('--sender and --any-sender exclude each other');
      if (values['any-recipient'] && values.recipient) throw new UsageError('--recipient and --any-recipient exclude each other');
      const input = ruleInput(values);
      if (values['any-sender']) input.senders = [];
      if (values['any-recipient']) input.recipients = [];
      if (!Object.keys(input).length) throw new UsageError('nothing to change: give options or --from-file');
      await withStore(values, async (store) => {
        const { before, after, changed } = await new RulesRepo(store.db).update(ref, input);
        if (!changed) { out('no changes'); return; }
        for (const c of diffSettings(ruleToDoc(before), ruleToDoc(after))) out(`changed ${formatChange(c)}`);
        out(`updated ${ruleLabel(after)}`);
      });
    },
  },
  'rules delete': {
    summary: 'delete a rule (the presets AllowList, DenyList and Default cannot be deleted)',
    usage: 'moat rules delete ID|NAME [--config FILE]',
    options: configOption,
    async run({ values, positionals }) {
      const ref = oneRuleRef(positionals);
      await withStore(values, async (store) => { out(`deleted ${ruleLabel(await new RulesRepo(store.db).remove(ref))}`); });
    },
  },
  'rules move': {
    summary: 'move a rule to a position (1 = tried first) or above / below another rule; Default stays last',
    usage: 'moat rules move ID|NAME --to N | --above ID|NAME | --below ID|NAME [--config FILE]',
    options: { ...configOption, to: { type: 'string' }, above: { type: 'string' }, below: { type: 'string' } },
    async run({ values, positionals }) {
      const ref = oneRuleRef(positionals);
      const given = (['to', 'above', 'below'] as const).filter((k) => values[k] !== undefined);
      if (given.length !== 1) throw new UsageError('give exactly one of --to, --above, --below');
      let target: MoveTarget;
      if (given[0] === 'to') {
        if (!/^\d+$/.test(String(values.to)) || Number(values.to) < 1) throw new UsageError('--to must be a position (1, 2, …)');
        target = { to: Number(values.to) };
      } else {
        target = given[0] === 'above' ? { above: String(values.above) } : { below: String(values.below) };
      }
      await withStore(values, async (store) => {
        const r = await new RulesRepo(store.db).move(ref, target);
        out(`moved ${ruleLabel(r)} to position ${r.position}`);
      });
    },
  },
  'rules enable': {
    summary: 'enable a rule',
    usage: 'moat rules enable ID|NAME [--config FILE]',
    options: configOption,
    async run({ values, positionals }) { await setRuleEnabled(values, positionals, true); },
  },
  'rules disable': {
    summary: 'disable a rule (it is skipped when rules are tried; Default cannot be disabled)',
    usage: 'moat rules disable ID|NAME [--config FILE]',
    options: configOption,
    async run({ values, positionals }) { await setRuleEnabled(values, positionals, false); },
  },
  scan: {
    summary: 'scan messages offline with the rules in force (in this process: no SMTP, no queue); one line per message',
    usage: 'moat scan [--json] [--all-modules | --modules LIST] [--from ADDR] [--to ADDR]... [--ip IP] [--helo NAME] [--config FILE] FILE|DIR|- ...\n\n' +
      '  FILE one message (a leading mbox "From " line is skipped); DIR every regular file in it (not recursive, by\n' +
      '  name); - standard input.\n' +
      '  Prints per message: FILE ACTION rule=RULE and the statuses that are not clean; with --json one JSON line\n' +
      '  {"file","action","rule","modules":{MODULE:{"status",...}}} listing all six modules ("groups" too when the\n' +
      '  recipients fall under different rules; the top-level fields are those of the first recipient\'s rule).\n' +
      '  Envelope defaults, per message: --from = its Return-Path, else its From address, else <> (null sender);\n' +
      '  --to = its To and Cc addresses, else postmaster@localhost; --ip 127.0.0.1; --helo localhost.\n' +
      '  --all-modules: run every module whatever the rule enables, content with the default criteria, and decide\n' +
      '  with the Default rule\'s blocks as if every module were enabled (reported as rule Default).\n' +
      '  --modules LIST: the same with only the listed modules (comma-separated, e.g. antivirus,content,antispam);\n' +
      '  the others are reported not_scanned (disabled).\n' +
      '  Rules and settings come from the store of the config; without one, the shipped rules and the config\'s settings.\n' +
      '  Exit 0 when every message was scanned (threats are no error); 1 when an input could not be read or scanned.',
    options: {
      ...configOption, json: { type: 'boolean', default: false }, 'all-modules': { type: 'boolean', default: false }, modules: { type: 'string' },
      from: { type: 'string' }, to: { type: 'string', multiple: true }, ip: { type: 'string' }, helo: { type: 'string' },
    },
    async run({ values, positionals }) {
      const { scanCommand, ScanUsageError } = await import('./scan/cli.ts');
      const opts = {
        inputs: positionals, json: values.json === true, allModules: values['all-modules'] === true,
        ...(values.modules !== undefined ? { modules: String(values.modules).split(',').map((m) => m.trim()).filter(Boolean) as ModuleName[] } : {}), from: values.from as string | undefined,
        to: (values.to as string[] | undefined) ?? [], ip: values.ip as string | undefined, helo: values.helo as string | undefined,
      };
      try {
        await scanCommand(opts, loadBootstrap(values.config as string | undefined), { out, warn: (l) => process.stderr.write(`${l}\n`), stdin: process.stdin });
      } catch (err) {
        if (err instanceof ScanUsageError) throw new UsageError(err.message);
        throw err;
      }
    },
  },
  // moat events traffic|system|audit (src/events/cli.ts; docs/events.md).
  ...eventsCommands<Command>({ usageError: (m) => new UsageError(m), withStore, out, configOption, make: (c) => c as Command }),
};

function oneIdOrAll(values: Record<string, unknown>, positionals: string[]): string | undefined {
  if (values.all && positionals.length === 0) return undefined;
  if (!values.all && positionals.length === 1) {
    const id = positionals[0].toUpperCase();
    if (!QUEUE_ID_RE.test(id)) throw new UsageError(`not a queue id: ${positionals[0]}`);
    return id;
  }
  throw new UsageError('expected one queue ID or --all');
}

async function setHeld(values: Record<string, unknown>, positionals: string[], state: 'held' | 'queued'): Promise<void> {
  const id = oneIdOrAll({}, positionals)!;
  await withStore(values, async (store, boot) => {
    if (!(await new QueueRepo(store.db).setState(boot.node, id, state, Date.now()))) throw new Error(`no queued message ${id}`);
    out(`${id} ${state === 'held' ? 'held' : 'released'}`);
  });
}

async function setPaused(values: Record<string, unknown>, positionals: string[], paused: boolean): Promise<void> {
  const what = positionals[0];
  if (positionals.length !== 1 || (what !== 'sending' && what !== 'receiving')) throw new UsageError('expected sending or receiving');
  await withSettings(values, async (svc) => {
    await svc.set(`mta.paused.${what}`, paused, who());
    out(`${what} ${paused ? 'paused' : 'resumed'}`);
  });
}

/** DOMAIN and SELECTOR checked and normalised (lowercase, A-labels); other positionals (FILE) as given. */
function dkimNames(positionals: string[], count: number, what: string): string[] {
  if (positionals.length !== count) throw new UsageError(`expected ${what}`);
  try {
    // DOMAIN first, then SELECTOR; what follows (FILE) as given.
    return positionals.map((p, i) => (i === 0 ? normaliseDomain(p) : i === 1 ? normaliseSelector(p) : p));
  } catch (err) {
    if (err instanceof DkimKeyError) throw new UsageError(err.message);
    throw err;
  }
}

/** After keygen / import: what was stored, whether it signs, and the record to publish (last, one line). */
function dkimCreated(verb: string, k: DkimKeyInfo, bits: number): void {
  out(`${verb} DKIM key ${k.domain}/${k.selector} (${k.algorithm}, ${bits} bits)`);
  out(k.enabled ? `${k.domain} is now signed with it: publish this record in DNS before mail goes out`
    : `not signing yet: publish this record in DNS, then run: moat dkim use ${k.domain} ${k.selector}`);
  out(txtRecord(k.domain, k.selector, k.algorithm, k.publicKey).zoneLine);
}

function ruleLabel(r: { id: number; name: string }): string {
  return `rule ${r.id} ${JSON.stringify(r.name)}`;
}

function oneRuleRef(positionals: string[]): string {
  if (positionals.length !== 1 || !positionals[0].trim()) throw new UsageError('expected one rule ID or NAME');
  return positionals[0].trim();
}

/** The rule input of `rules add` / `rules update`: the --from-file document, then the options over it. */
function ruleInput(values: Record<string, unknown>): Record<string, unknown> {
  let input: Record<string, unknown> = {};
  const file = values['from-file'] as string | undefined;
  if (file !== undefined) {
    let doc: unknown;
    try { doc = YAML.parse(readFileSync(file, 'utf8')); } catch (err) {
      throw new Error(`cannot read ${file}: ${((err as NodeJS.ErrnoException).code ?? (err as Error).message).split('\n')[0]}`);
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${file} holds no rule (expected a YAML or JSON mapping such as the output of moat rules show)`);
    input = doc as Record<string, unknown>;
  }
  if (values.mode !== undefined && !(MODES as readonly string[]).includes(values.mode as string)) throw new UsageError(`--mode must be one of ${MODES.join(', ')}`);
  if (values.name !== undefined) input.name = values.name;
  if (values.mode !== undefined) input.mode = values.mode;
  if (values.description !== undefined) input.description = values.description;
  if (values.sender !== undefined) input.senders = values.sender;
  if (values.recipient !== undefined) input.recipients = values.recipient;
  return input;
}

async function setRuleEnabled(values: Record<string, unknown>, positionals: string[], enabled: boolean): Promise<void> {
  const ref = oneRuleRef(positionals);
  await withStore(values, async (store) => {
    const { rule, changed } = await new RulesRepo(store.db).setEnabled(ref, enabled);
    out(changed ? `${enabled ? 'enabled' : 'disabled'} ${ruleLabel(rule)}` : `${ruleLabel(rule)} is already ${enabled ? 'enabled' : 'disabled'}`);
  });
}

/** `rules list` as an aligned table. */
function rulesTable(list: StoredRule[]): string[] {
  const any = (xs: string[]) => (xs.length ? xs.join(', ') : '(any)');
  const clip = (text: string) => (text.length > 40 ? `${text.slice(0, 39)}…` : text);
  const rows = [['POS', 'ID', 'NAME', 'STATE', 'MODE', 'SENDERS', 'RECIPIENTS'],
    ...list.map((r) => [String(r.position), String(r.id), r.name, r.enabled ? 'enabled' : 'disabled', r.mode, clip(any(r.senders)), clip(any(r.recipients))])];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) => row.map((c, i) => (i < 2 ? c.padStart(widths[i]) : i === row.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd());
}

function formatRuleChange(c: RuleChange, dry: boolean): string {
  const verb = (done: string, would: string) => (dry ? `would ${would}` : done);
  const show = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v));
  switch (c.kind) {
    case 'add': return `${verb('added', 'add')} rule ${JSON.stringify(c.rule)}`;
    case 'delete': return `${verb('deleted', 'delete')} rule ${JSON.stringify(c.rule)}`;
    case 'change': return `${verb('changed', 'change')} rule ${JSON.stringify(c.rule)}: ${c.path}: ${show(c.before)} -> ${show(c.after)}`;
    case 'order': return `${verb('changed', 'change')} rule order: ${show(c.before)} -> ${show(c.after)}`;
  }
}


function help(): string {
  const groups = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(18)} ${c.summary}`);
  return ['Moat, the mail security gateway.', '', 'Usage: moat <command> [options]   (moat <command> --help for its options)', '', 'Commands:', ...groups, '',
    'Bootstrap config: --config FILE, else $MOAT_CONFIG, else ./moat.yaml if present; environment overrides:',
    '  MOAT_DATA_DIR MOAT_DATABASE_URL MOAT_SMTP_LISTEN MOAT_SUBMISSION_LISTEN MOAT_SUBMISSIONS_LISTEN MOAT_HTTP_LISTEN\n  MOAT_NODE_NAME MOAT_LOG_LEVEL'].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  if (!argv.length || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') { out(help()); return argv.length ? 0 : 2; }
  if (argv[0] === '--version') { const { VERSION } = await import('./node.ts'); out(VERSION); return 0; }
  const two = `${argv[0]} ${argv[1] ?? ''}`;
  const name = commands[two] ? two : commands[argv[0]] ? argv[0] : undefined;
  if (!name) {
    const group = Object.keys(commands).filter((k) => k.startsWith(`${argv[0]} `));
    process.stderr.write(group.length ? `moat ${argv[0]}: expected one of: ${group.map((g) => g.split(' ')[1]).join(', ')}\n` : `moat: unknown command "${argv[0]}" (see moat --help)\n`);
    return 2;
  }
  const cmd = commands[name];
  const rest = argv.slice(name.split(' ').length);
  try {
    // parseArgs takes `-1` for an unknown option; a negative number is a VALUE (`moat settings set
    // mta.maxRecipients -1` must reach validation, which names the path and the reason), so shield it.
    const shielded = rest.map((a) => (/^-\d/.test(a) ? `\0${a}` : a));
    const parsed = parseArgs({ args: shielded, options: { ...cmd.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    const unshield = (a: string) => (a.startsWith('\0') ? a.slice(1) : a);
    parsed.positionals = parsed.positionals.map(unshield);
    const values = parsed.values as Record<string, unknown>;
    for (const [k, v] of Object.entries(values)) if (typeof v === 'string') values[k] = unshield(v);
    if (parsed.values.help) { out(`${cmd.summary}\n\nUsage: ${cmd.usage}`); return 0; }
    await cmd.run(parsed as never);
    // The audit trail (docs/events.md): one entry per successful command that changes something.
    if (isMutating(name, cmd.mutates)) await recordCliAudit(name, parsed as never, (l) => process.stderr.write(`${l}\n`));
    return 0;
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`moat ${name}: ${(err as Error).message}\nUsage: ${cmd.usage}\n`);
      return 2;
    }
    if (err instanceof SettingsValidationError) {
      // One problem (e.g. an unknown path) is one line; several are listed one per line.
      process.stderr.write(err.problems.length === 1 ? `moat ${name}: settings refused, nothing changed: ${err.problems[0]}\n`
        : `moat ${name}: settings refused, nothing changed:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`);
      return 1;
    }
    if (err instanceof RuleValidationError) {
      const what = name === 'settings import' ? 'rules refused' : 'rule refused';
      process.stderr.write(err.problems.length === 1 ? `moat ${name}: ${what}, nothing changed: ${err.problems[0]}\n`
        : `moat ${name}: ${what}, nothing changed:\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`);
      return 1;
    }
    const msg = err instanceof ConfigError ? err.message : (err as Error).message ?? String(err);
    process.stderr.write(`moat ${name}: ${msg.split('\n')[0]}\n`);
    return 1;
  }
}

if (import.meta.main) run();

/** Runs the command line of this process and sets its exit code (`moat start` keeps running). */
export function run(): void {
  main(process.argv.slice(2)).then((code) => { if (process.argv[2] !== 'start' || code !== 0) process.exitCode = code; });
}
