/**
 * The event log on the command line: `moat events traffic|system|audit [filters] [--format text|csv|json|ndjson]
 * [--limit N] [--id ID]`, and the audit of the CLI itself: after a command that changes something succeeds, the
 * dispatcher of src/moat.ts calls `recordCliAudit`, which stores one audit entry (actor `cli:<OS user>`, source
 * `cli`, ip null, action = the command with dots, e.g. `rules.update`, target, before/after when the command noted
 * them with `noteAudit`, else the arguments and options it was given, secrets redacted).
 *
 * Hostile input: options are validated by the event log's zod schemas (src/events/query.ts); exports are streamed
 * to stdout with backpressure (src/events/export.ts).
 */
import { userInfo } from 'node:os';
import { pipeline } from 'node:stream/promises';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import { loadBootstrap } from '../config/bootstrap.ts';
import { openStore } from '../store/db.ts';
import { AuditRepo } from '../store/audit-repo.ts';
import { EventLog, EventQueryError } from './service.ts';
import { EXPORT_FORMATS, type ExportFormat } from './export.ts';
import type { EventKind } from './query.ts';
import { redactPath, redactSecrets } from './redact.ts';
import { pino } from 'pino';

/** Verbs of commands that change something (the last word of the command name); `mutates` on an entry overrides. */
export const MUTATING_VERBS: ReadonlySet<string> = new Set([
  'set', 'import', 'add', 'update', 'delete', 'remove', 'move', 'enable', 'disable', 'keygen', 'use', 'passwd', 'retry', 'hold', 'release',
  'pause', 'resume', 'learn', 'deliver', 'create', 'rotate', 'revoke', 'reset', 'unlock', 'lock', 'restore', 'purge', 'join', 'leave', 'role',
]);

export function isMutating(command: string, explicit?: boolean): boolean {
  if (explicit !== undefined) return explicit;
  const words = command.split(' ');
  return MUTATING_VERBS.has(words[words.length - 1]);
}

/** What a command tells the audit about its change (optional; without it the arguments are recorded). */
export interface AuditNote { target?: string; before?: unknown; after?: unknown }
let pending: AuditNote | undefined;

export function noteAudit(n: AuditNote): void { pending = { ...pending, ...n }; }

/** For `settings set` / `settings import`: the changes as before/after maps, secret paths redacted. */
export function noteSettingsChanges(changes: readonly { path: string; before: unknown; after: unknown }[], target = 'settings'): void {
  if (!changes.length) return;
  noteAudit({
    target,
    before: Object.fromEntries(changes.map((c) => [c.path, redactPath(c.path, c.before)])),
    after: Object.fromEntries(changes.map((c) => [c.path, redactPath(c.path, c.after)])),
  });
}

export function cliActor(env: NodeJS.ProcessEnv = process.env): string {
  let name = env.SUDO_USER || env.USER || env.LOGNAME;
  if (!name) { try { name = userInfo().username; } catch { name = 'unknown'; } }
  return `cli:${name}`;
}

/**
 * Records the audit entry of a mutating command that succeeded. Never throws: a failure is one warning line on
 * stderr (the change itself is done).
 */
export async function recordCliAudit(command: string, args: { values: Record<string, unknown>; positionals: string[] }, warn: (line: string) => void): Promise<void> {
  const note = pending;
  pending = undefined;
  if (args.values['dry-run'] === true) return;
  const [group] = command.split(' ');
  const { config: _config, help: _help, ...options } = args.values;
  // `settings set PATH VALUE`: VALUE may be a secret, so only the path names the target.
  const named = command === 'settings set' ? args.positionals.slice(0, 1) : args.positionals.slice(0, 2);
  const target = note?.target ?? (named.length ? `${group}:${named.join('/')}` : options.all ? `${group}:all` : group);
  const entry = {
    actor: cliActor(), source: 'cli' as const, ip: null, action: command.replace(/ /g, '.'), target: target.slice(0, 998),
    before: note?.before, after: note ? note.after : redactSecrets({ arguments: command === 'settings set' ? args.positionals.slice(0, 1) : args.positionals.slice(0, 20), options }),
    time: Date.now(),
  };
  try {
    const boot = loadBootstrap(args.values.config as string | undefined);
    const store = await openStore(boot.databaseUrl);
    try { await new AuditRepo(store.db).insert({ ...entry, before: redactSecrets(entry.before), after: redactSecrets(entry.after) }); } finally { await store.close(); }
  } catch (err) {
    warn(`moat ${command}: done, but the audit entry could not be recorded: ${(err as Error).message.split('\n')[0]}`);
  }
}

const filterOptions = {
  from: { type: 'string' }, to: { type: 'string' }, node: { type: 'string' }, limit: { type: 'string' }, format: { type: 'string', default: 'text' },
  id: { type: 'string' },
} as const;
const OPTIONS = {
  traffic: { ...filterOptions, 'queue-id': { type: 'string' }, 'message-id': { type: 'string' }, 'client-ip': { type: 'string' }, sender: { type: 'string' },
    recipient: { type: 'string' }, subject: { type: 'string' }, rule: { type: 'string' }, action: { type: 'string' }, module: { type: 'string' },
    status: { type: 'string' }, backup: { type: 'string' } },
  system: { ...filterOptions, type: { type: 'string' }, severity: { type: 'string' } },
  audit: { ...filterOptions, actor: { type: 'string' }, source: { type: 'string' }, action: { type: 'string' }, target: { type: 'string' } },
} as const;

const camel = (k: string) => k.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

function line(kind: EventKind, e: Record<string, unknown>): string {
  const t = new Date(e.time as number).toISOString();
  if (kind === 'traffic') {
    const mods = Object.entries(e.modules as Record<string, { status: string }>).filter(([, m]) => m.status !== 'clean' && m.status !== 'not_scanned').map(([k, m]) => `${k}=${m.status}`);
    return [e.id, t, e.node, e.queueId, e.action, `rule=${JSON.stringify(e.rule)}`, `<${e.sender as string}>`, `rcpts=${(e.recipients as string[]).length}`,
      ...mods, `subject=${JSON.stringify(e.subject)}`].join(' ');
  }
  if (kind === 'system') return [e.id, t, e.node, e.severity, e.type, JSON.stringify(e.message)].join(' ');
  return [e.id, t, e.actor, e.source, e.ip ?? '-', e.action, e.target].join(' ');
}

export interface EventsCliDeps<C> {
  usageError: (message: string) => Error;
  withStore: <T>(values: Record<string, unknown>, fn: (store: { db: Kysely<Database> }, boot: { node: string }) => Promise<T>) => Promise<T>;
  out: (s: string) => void;
  configOption: object;
  /** The command shape of moat.ts (kept generic so this module does not import it). */
  make: (c: { summary: string; usage: string; options: object; run: (a: { values: Record<string, unknown>; positionals: string[] }) => Promise<void> }) => C;
}

export function eventsCommands<C>(d: EventsCliDeps<C>): Record<string, C> {
  const out: Record<string, C> = {};
  for (const kind of ['traffic', 'system', 'audit'] as const) {
    const opts = OPTIONS[kind];
    const names = Object.keys(opts).filter((k) => !['limit', 'format', 'id'].includes(k)).map((k) => `--${k} X`).join(' ');
    out[`events ${kind}`] = d.make({
      summary: `list or export ${kind} events (newest first), with filters`,
      usage: `moat events ${kind} [${names}] [--format text|csv|json|ndjson] [--limit N] [--id ID] [--config FILE]\n` +
        '  Times: ISO 8601 or ms since the epoch (--from inclusive, --to exclusive). text: one line per event (default limit 100);\n' +
        '  csv/json/ndjson: the export format of docs/events.md (all matches unless --limit). --id ID: one event as JSON.',
      options: { ...d.configOption, ...opts },
      async run({ values, positionals }) {
        if (positionals.length) throw d.usageError('unexpected arguments (filters are options, e.g. --sender a@b.example)');
        const format = values.format as string;
        if (format !== 'text' && !(EXPORT_FORMATS as readonly string[]).includes(format)) throw d.usageError('--format must be text, csv, json or ndjson');
        let limit: number | undefined;
        if (values.limit !== undefined) {
          if (!/^\d{1,9}$/.test(String(values.limit)) || Number(values.limit) < 1) throw d.usageError('--limit must be a positive number');
          limit = Number(values.limit);
        }
        const filter: Record<string, unknown> = {};
        for (const k of Object.keys(opts)) if (!['limit', 'format', 'id'].includes(k) && values[k] !== undefined) filter[camel(k)] = values[k];
        await d.withStore(values, async (store, boot) => {
          const log = new EventLog({ db: store.db, node: boot.node, logger: pino({ level: 'silent' }) });
          try {
            if (values.id !== undefined) {
              const id = /^\d{1,18}$/.test(String(values.id)) ? Number(values.id) : NaN;
              const e = kind === 'traffic' ? await log.getTraffic(id) : kind === 'system' ? await log.getSystem(id) : await log.getAudit(id);
              if (!e) throw new Error(`no ${kind} event ${values.id}`);
              d.out(JSON.stringify(e, null, 2));
              return;
            }
            if (format === 'text') {
              let n = 0;
              const stream = log.export(kind, 'ndjson', filter, { limit: limit ?? 100 });
              let buf = '';
              for await (const chunk of stream) {
                buf += String(chunk);
                const lines = buf.split('\n');
                buf = lines.pop()!;
                for (const l of lines) { d.out(line(kind, JSON.parse(l))); n++; }
              }
              d.out(`${n} event(s)`);
              return;
            }
            await pipeline(log.export(kind, format as ExportFormat, filter, { limit }), process.stdout, { end: false });
          } catch (err) {
            if (err instanceof EventQueryError) throw d.usageError(err.problems.map((p) => `--${p.replace(/^([a-zA-Z]+)/, (m) => m.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`))}`).join('; '));
            throw err;
          }
        });
      },
    });
  }
  return out;
}
