/**
 * `moat backup ...` (docs/cli.md): list with filters, show, deliver, export, delete, digest --now. The commands
 * work on the store named by the bootstrap config, whether or not the node runs. A delivery (or a digest) is
 * written to this node's spool and queue (QueueManager with no delivery slots: it only queues); the running node
 * sends it within a poll interval, or at its next start.
 *
 * Hostile input: arguments; filters go through the same zod schema as the API (types.ts). Exported bytes go to
 * standard output only when it is not a terminal (`> file.eml`), or to --output FILE.
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { pino } from 'pino';
import type { Bootstrap } from '../config/bootstrap.ts';
import { SettingsService } from '../config/settings.ts';
import { SettingsRepo } from '../store/settings-repo.ts';
import { openStore } from '../store/db.ts';
import { QueueRepo } from '../store/queue-repo.ts';
import { Spool } from '../spool/spool.ts';
import { QueueManager } from '../relay/queue.ts';
import { systemResolver } from '../platform/resolver.ts';
import { systemClock } from '../platform/clock.ts';
import { startBackup, type NodeBackup } from './node.ts';
import type { BackupFilter, BackupItem } from './types.ts';

export interface BackupCliContext {
  boot: Bootstrap;
  actor: string;
  out(line: string): void;
  usage(message: string): Error;
}

export interface BackupCliCommand {
  summary: string;
  usage: string;
  options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string; default?: string | boolean }>;
  run(values: Record<string, unknown>, positionals: string[], ctx: BackupCliContext): Promise<void>;
}

async function withBackup<T>(ctx: BackupCliContext, fn: (b: NodeBackup) => Promise<T>): Promise<T> {
  const store = await openStore(ctx.boot.databaseUrl);
  try {
    const settings = await SettingsService.open(new SettingsRepo(store.db), ctx.boot.settingsSeed);
    const logger = pino({ level: 'silent' });
    // maxActive 0: this QueueManager queues (spool file + row) and never delivers; the node does.
    const queue = new QueueManager({ node: ctx.boot.node, settings, repo: new QueueRepo(store.db), spool: new Spool(ctx.boot.dataDir), resolver: systemResolver(), logger, clock: systemClock, maxActive: 0 });
    const b = startBackup({ store, settings, node: ctx.boot.node, key: ctx.boot.backupKey, queue, logger, timers: false });
    try { return await fn(b); } finally { b.stop(); }
  } finally {
    await store.close();
  }
}

function line(i: BackupItem): string {
  const statuses = Object.entries(i.modules).filter(([, v]) => !['clean', 'not_scanned'].includes(v.status)).map(([m, v]) => `${m}=${v.status}`).join(',');
  return [i.id, new Date(i.time).toISOString(), String(i.size).padStart(9), i.action, `rule="${i.rule}"`, `<${i.sender}>`, `rcpts=${i.recipients.join(',')}`,
    statuses || '-', `"${i.subject.slice(0, 80).replace(/[\x00-\x1f"]/g, ' ')}"`].join(' ');
}

const ID_RE = /^[0-9A-Za-z]{16}$/;
function ids(positionals: string[], ctx: BackupCliContext, one = false): string[] {
  if (!positionals.length || (one && positionals.length !== 1)) throw ctx.usage(one ? 'expected one Backup item ID' : 'expected Backup item IDs');
  for (const p of positionals) if (!ID_RE.test(p)) throw ctx.usage(`not a Backup item id: ${p}`);
  return positionals.map((p) => p.toUpperCase());
}

const filterOptions = {
  sender: { type: 'string' }, recipient: { type: 'string' }, subject: { type: 'string' }, module: { type: 'string' }, status: { type: 'string' },
  'client-ip': { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, rule: { type: 'string' }, action: { type: 'string' },
  threat: { type: 'string' }, 'queue-id': { type: 'string' },
} as const;

function filterOf(v: Record<string, unknown>): BackupFilter {
  const f: Record<string, unknown> = {
    sender: v.sender, recipient: v.recipient, subject: v.subject, module: v.module, status: v.status, clientIp: v['client-ip'],
    from: v.since, to: v.until, rule: v.rule, action: v.action, threat: v.threat, queueId: v['queue-id'],
  };
  for (const k of Object.keys(f)) if (f[k] === undefined) delete f[k];
  return f as BackupFilter;
}

export const backupCommands: Record<string, BackupCliCommand> = {
  'backup list': {
    summary: 'list Backup (quarantine) items, newest first, with filters',
    usage: 'moat backup list [--sender ADDR|MASK] [--recipient ADDR|MASK] [--subject TEXT] [--module M --status S] [--client-ip IP]\n' +
      '                   [--since ISO] [--until ISO] [--rule NAME] [--action A] [--threat TEXT] [--queue-id ID] [--limit N] [--offset N] [--json] [--config FILE]',
    options: { ...filterOptions, limit: { type: 'string', default: '50' }, offset: { type: 'string', default: '0' }, json: { type: 'boolean', default: false } },
    async run(v, _p, ctx) {
      const limit = Number(v.limit);
      const offset = Number(v.offset);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw ctx.usage('--limit must be 1..1000');
      if (!Number.isInteger(offset) || offset < 0) throw ctx.usage('--offset must be a non-negative integer');
      await withBackup(ctx, async (b) => {
        const r = await b.service.search({ filter: filterOf(v), limit, offset });
        if (v.json) { ctx.out(JSON.stringify(r)); return; }
        for (const i of r.items) ctx.out(line(i));
        ctx.out(`${r.items.length} of ${r.total} item(s)`);
      });
    },
  },
  'backup show': {
    summary: 'show one Backup item: index fields, history, headers, text and attachments',
    usage: 'moat backup show ID [--json] [--config FILE]',
    options: { json: { type: 'boolean', default: false } },
    async run(v, p, ctx) {
      const [id] = ids(p, ctx, true);
      await withBackup(ctx, async (b) => {
        const { item, history } = await b.service.get(id);
        const view = await b.service.view(id, ctx.actor).catch((err: Error) => ({ error: err.message }));
        if (v.json) { ctx.out(JSON.stringify({ item, history, view: 'error' in view ? view : { ...view, item: undefined, html: undefined } })); return; }
        ctx.out(JSON.stringify(item, null, 2));
        ctx.out('history:');
        for (const h of history) ctx.out(`  ${new Date(h.time).toISOString()} ${h.actor} ${h.action} ${JSON.stringify(h.details)}`);
        if ('error' in view) { ctx.out(`view: ${view.error}`); return; }
        ctx.out('attachments:');
        for (const a of view.attachments) ctx.out(`  ${a.filename ?? '(no name)'} ${a.mimeType} ${a.size}`);
        ctx.out(`text${view.truncated ? ' (message larger than the view limit: truncated)' : ''}:`);
        ctx.out((view.text ?? '').slice(0, 4000));
      });
    },
  },
  'backup deliver': {
    summary: 'deliver a Backup item (not scanned again) to its original recipients or to --to addresses',
    usage: 'moat backup deliver ID [--to ADDR]... [--config FILE]',
    options: { to: { type: 'string', multiple: true } },
    async run(v, p, ctx) {
      const [id] = ids(p, ctx, true);
      await withBackup(ctx, async (b) => {
        const r = await b.service.deliver(id, { to: v.to as string[] | undefined, actor: ctx.actor });
        ctx.out(`queued as ${r.queueIds.join(' ')} for ${r.recipients.join(', ')}`);
      });
    },
  },
  'backup export': {
    summary: 'write the original message (.eml) of a Backup item to standard output or --output FILE',
    usage: 'moat backup export ID [--output FILE] [--config FILE]   e.g. moat backup export ID > message.eml',
    options: { output: { type: 'string', short: 'o' } },
    async run(v, p, ctx) {
      const [id] = ids(p, ctx, true);
      if (!v.output && process.stdout.isTTY) throw ctx.usage('redirect standard output to a file, or give --output FILE');
      await withBackup(ctx, async (b) => {
        const d = await b.service.download(id, ctx.actor);
        if (v.output) await pipeline(d.stream, createWriteStream(v.output as string, { flags: 'wx', mode: 0o600 }));
        else await pipeline(d.stream, process.stdout, { end: false });
      });
    },
  },
  'backup delete': {
    summary: 'delete Backup items by id, or every item matching filters (--filter)',
    usage: 'moat backup delete ID... [--config FILE]\n       moat backup delete --filter [filters of backup list] [--all] [--config FILE]',
    options: { ...filterOptions, filter: { type: 'boolean', default: false }, all: { type: 'boolean', default: false } },
    async run(v, p, ctx) {
      await withBackup(ctx, async (b) => {
        if (v.filter) {
          if (p.length) throw ctx.usage('give IDs or --filter, not both');
          const n = await b.service.deleteWhere(filterOf(v), ctx.actor, { all: v.all === true });
          ctx.out(`deleted ${n} item(s)`);
          return;
        }
        const list = ids(p, ctx);
        const n = await b.service.delete(list, ctx.actor);
        ctx.out(`deleted ${n} of ${list.length} item(s)`);
        if (n < list.length) throw new Error(`${list.length - n} item(s) not found`);
      });
    },
  },
  'backup digest': {
    summary: 'send the Backup digests now (normally daily at backup.digest.time)',
    usage: 'moat backup digest --now [--config FILE]',
    options: { now: { type: 'boolean', default: false } },
    async run(v, _p, ctx) {
      if (!v.now) throw ctx.usage('give --now (the node sends digests on its own at backup.digest.time)');
      await withBackup(ctx, async (b) => {
        const r = await b.digest.run();
        for (const s of r.sent) ctx.out(`sent to ${s.address}: ${s.items} item(s), queued as ${s.queueId}`);
        for (const f of r.failed) ctx.out(`failed for ${f.address}: ${f.error}`);
        ctx.out(`${r.sent.length} digest(s) sent, ${r.failed.length} failed, ${r.skipped} address(es) outside the local domains skipped`);
        if (r.failed.length) throw new Error(`${r.failed.length} digest(s) failed`);
      });
    },
  },
};
