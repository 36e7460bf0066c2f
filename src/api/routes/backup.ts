/**
 * The administrators' Backup (SPEC §5; docs/backup.md): search with every filter of the service, one item with
 * its history, the view (headers, text, sanitised HTML as JSON data for a sandboxed iframe, attachments), the
 * original as a download (.eml, streamed), deliver (to the original recipients or to `to`), delete one, delete in
 * bulk (by ids or by filter). Access: backup.view / backup.download / backup.deliver / backup.delete. Every view,
 * download, delivery and deletion is written to the item's history as `api:<account>`; downloads, deliveries
 * and deletions are also audited (target `backup:<id>`).
 *
 * Hostile input: ids, query strings and bodies (bounded here, validated again by the Backup service: 400), and
 * the message itself (the download is served as an attachment with `nosniff` and a `sandbox` CSP, its file name
 * is the item id, which is [0-9A-Z]{16}).
 */
import { z } from 'zod';
import type { RouteModule } from './index.ts';
import type { ApiContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { errors } from './schemas.ts';
import { need, validated } from './problems.ts';
import { BackupForbiddenError, BackupNotFoundError, backupFilterSchema } from '../../backup/types.ts';
import {
  backupSearchQuery, backupViewSchema, deliverResultSchema, idParams, itemWithHistorySchema, searchInput, searchPageSchema,
} from './backup-schemas.ts';

/** Runs a Backup service call: not found → 404, refused → `refused` (409 for administrators), ZodError → 400. */
export async function backupCall<T>(fn: () => Promise<T>, refused: 'conflict' | 'forbidden' = 'conflict', prefix = '', drop?: string): Promise<T> {
  try { return await validated(fn, prefix, drop); } catch (err) {
    if (err instanceof BackupNotFoundError) throw new ApiError('not_found', err.message);
    if (err instanceof BackupForbiddenError) throw new ApiError(refused, err.message);
    throw err;
  }
}

export const backupService = (ctx: ApiContext) => need(ctx.backup, 'Backup').service;

/** Strict headers of an .eml download: never rendered by the browser as anything but a file. */
export function emlHeaders(filename: string): Record<string, string> {
  const safe = filename.replace(/[^0-9A-Za-z._-]/g, '_').slice(0, 100) || 'message.eml';
  return {
    'content-type': 'message/rfc822',
    'content-disposition': `attachment; filename="${safe}"`,
    'x-content-type-options': 'nosniff',
    'content-security-policy': 'sandbox',
    'cache-control': 'no-store',
  };
}

const bulkBody = z.object({
  ids: z.array(z.string().max(64)).min(1).max(1000).optional().describe('item ids (unknown ones are skipped)'),
  filter: z.record(z.string(), z.unknown()).optional().describe('every item matching these search filters (as GET /api/v1/backup)'),
  all: z.boolean().optional().describe('with an empty filter: delete the whole Backup'),
}).strict().refine((b) => (b.ids === undefined) !== (b.filter === undefined), { message: 'give either ids or filter', path: ['ids'] });

export const backupRoutes: RouteModule = (app, ctx) => {
  const actor = (p: { username: string } | null) => `api:${p?.username ?? 'anonymous'}`;

  app.route({
    method: 'GET', url: '/api/v1/backup',
    config: { access: 'backup.view' },
    schema: {
      tags: ['backup'], summary: 'Search the Backup (newest first; filters combine with AND; offset or cursor paging; total)',
      querystring: backupSearchQuery, response: { 200: searchPageSchema, ...errors(400) },
    },
    handler: async (req) => backupCall(() => backupService(ctx).search(searchInput(req.query)), 'conflict', 'query.', 'filter'),
  });

  app.route({
    method: 'GET', url: '/api/v1/backup/:id',
    config: { access: 'backup.view' },
    schema: { tags: ['backup'], summary: 'One Backup item (index) with its history', params: idParams, response: { 200: itemWithHistorySchema, ...errors(404) } },
    handler: async (req) => backupCall(() => backupService(ctx).get(req.params.id)),
  });

  app.route({
    method: 'GET', url: '/api/v1/backup/:id/view',
    config: { access: 'backup.view' },
    schema: {
      tags: ['backup'], summary: 'View an item: headers, plain text, sanitised HTML (for a sandboxed iframe), attachment list',
      params: idParams, response: { 200: backupViewSchema, ...errors(404) },
    },
    handler: async (req) => backupCall(() => backupService(ctx).view(req.params.id, actor(req.principal))),
  });

  app.route({
    method: 'GET', url: '/api/v1/backup/:id/eml',
    config: { access: 'backup.download' },
    schema: {
      tags: ['backup'], summary: 'Download the original message (.eml, message/rfc822, streamed)',
      params: idParams, response: { ...errors(404) },
    },
    handler: async (req, reply) => {
      const d = await backupCall(() => backupService(ctx).download(req.params.id, actor(req.principal)));
      await req.audit({ action: 'backup.download', target: `backup:${req.params.id.toUpperCase()}` });
      d.stream.on('error', (err) => req.log.error({ err: err.message, backup: req.params.id }, 'backup download failed while streaming'));
      return reply.headers(emlHeaders(d.filename)).send(d.stream as never);
    },
  });

  app.route({
    method: 'POST', url: '/api/v1/backup/:id/deliver',
    config: { access: 'backup.deliver' },
    schema: {
      tags: ['backup'], summary: 'Deliver (release) the original, not scanned again, to its recipients or to `to`',
      params: idParams,
      body: z.object({ to: z.array(z.string().max(320)).min(1).max(100).optional().describe('default: the original recipients') }).strict().optional(),
      response: { 200: deliverResultSchema, ...errors(400, 404, 409) },
    },
    handler: async (req) => {
      const r = await backupCall(() => backupService(ctx).deliver(req.params.id, { to: req.body?.to, actor: actor(req.principal) }), 'conflict', '', undefined);
      await req.audit({ action: 'backup.deliver', target: `backup:${req.params.id.toUpperCase()}`, after: r });
      return r;
    },
  });

  app.route({
    method: 'DELETE', url: '/api/v1/backup/:id',
    config: { access: 'backup.delete' },
    schema: { tags: ['backup'], summary: 'Delete one item', params: idParams, response: { 204: z.undefined(), ...errors(404) } },
    handler: async (req, reply) => {
      const svc = backupService(ctx);
      const { item } = await backupCall(() => svc.get(req.params.id));
      if (!(await svc.delete([item.id], actor(req.principal)))) throw new ApiError('not_found', `no Backup item ${item.id}`);
      await req.audit({ action: 'backup.delete', target: `backup:${item.id}`, before: { sender: item.sender, recipients: item.recipients, subject: item.subject, queueId: item.queueId } });
      return reply.code(204).send();
    },
  });

  app.route({
    method: 'POST', url: '/api/v1/backup/delete',
    config: { access: 'backup.delete' },
    schema: {
      tags: ['backup'], summary: 'Delete items in bulk: by ids, or every item matching a filter (the whole Backup needs all: true)',
      body: bulkBody, response: { 200: z.object({ deleted: z.number().int() }), ...errors(400) },
    },
    handler: async (req) => {
      const svc = backupService(ctx);
      const who = actor(req.principal);
      if (req.body.ids) {
        const ids = [...new Set(req.body.ids.map((i) => i.toUpperCase()))];
        const existing = (await Promise.all(ids.map((id) => svc.get(id).then((g) => g.item.id, () => null)))).filter((x): x is string => x !== null);
        const deleted = existing.length ? await svc.delete(existing, who) : 0;
        for (const id of existing) await req.audit({ action: 'backup.delete', target: `backup:${id}`, after: { bulk: true } });
        return { deleted };
      }
      const filter = await backupCall(async () => backupFilterSchema.parse(req.body.filter), 'conflict', 'filter.');
      if (!req.body.all && !Object.values(filter).some((v) => v !== undefined)) {
        throw new ApiError('validation_failed', 'an empty filter would delete the whole Backup: give a filter or all: true', [{ path: 'all', message: 'required for an empty filter' }]);
      }
      const deleted = await backupCall(() => svc.deleteWhere(req.body.filter as never, who, { all: req.body.all }), 'conflict', 'filter.');
      await req.audit({ action: 'backup.delete_bulk', target: 'backup:filter', after: { filter: req.body.filter, all: req.body.all ?? false, deleted } });
      return { deleted };
    },
  });
};
