/**
 * The personal Backup of end users (SPEC §5, §8; docs/backup.md "Personal Backup"): access `personal`, acting
 * only on the caller's own addresses (`req.principal.addresses`). List and search their items, one item, the
 * view, the download of items without threats, deliver to themselves (items without threats), delete their copy;
 * and their digest subscription, per address. What they may do is limited by `backup.personal` (preview,
 * delete, deliverToSelf; GET …/options tells the console which): a turned-off option answers 403.
 *
 * Isolation: every call goes through the service's personal methods, which read items through a query limited
 * to the caller's addresses; an id of someone else's item answers 404 exactly like an id that does not exist,
 * on every route. An account without addresses has an empty personal Backup.
 *
 * Hostile input: ids, query strings and bodies (bounded here and validated by the service: 400).
 */
import { z } from 'zod';
import type { RouteModule } from './index.ts';
import { ApiError } from '../errors.ts';
import { errors } from './schemas.ts';
import { need } from './problems.ts';
import { backupCall, backupService, emlHeaders } from './backup.ts';
import {
  backupSearchQuery, backupViewSchema, deliverResultSchema, idParams, itemWithHistorySchema, searchInput, searchPageSchema,
} from './backup-schemas.ts';
import type { Principal } from '../../accounts/principal.ts';

/** The caller's addresses; none → every item is "not found". */
function mine(p: Principal | null): string[] {
  return [...(p?.addresses ?? [])];
}

function noItem(id: string): ApiError {
  return new ApiError('not_found', `no Backup item ${id.slice(0, 40)}`);
}

const subscriptionSchema = z.object({
  addresses: z.array(z.object({ address: z.string(), subscribed: z.boolean() })).describe("the account's addresses and whether each gets the daily digest"),
});

const optionsSchema = z.object({
  preview: z.boolean().describe('you may view your items and download those without threats'),
  delete: z.boolean().describe('you may delete your copy of an item'),
  deliverToSelf: z.boolean().describe('you may deliver items without threats to yourself'),
});

export const personalBackupRoutes: RouteModule = (app, ctx) => {
  app.route({
    method: 'GET', url: '/api/v1/personal/backup/options',
    config: { access: 'personal' },
    schema: { tags: ['personal'], summary: 'What you may do in your personal Backup (setting backup.personal)', response: { 200: optionsSchema, ...errors() } },
    handler: async () => backupService(ctx).personalOptions(),
  });

  app.route({
    method: 'GET', url: '/api/v1/personal/backup',
    config: { access: 'personal' },
    schema: {
      tags: ['personal'], summary: 'Search your own Backup items (same filters and paging as the admin search)',
      querystring: backupSearchQuery, response: { 200: searchPageSchema, ...errors(400) },
    },
    handler: async (req) => {
      const a = mine(req.principal);
      if (!a.length) return { items: [], total: 0, nextCursor: null };
      return backupCall(() => backupService(ctx).searchPersonal(a, searchInput(req.query)), 'forbidden', 'query.', 'filter');
    },
  });

  app.route({
    method: 'GET', url: '/api/v1/personal/backup/:id',
    config: { access: 'personal' },
    schema: { tags: ['personal'], summary: 'One of your Backup items with its history', params: idParams, response: { 200: itemWithHistorySchema, ...errors(404) } },
    handler: async (req) => {
      const a = mine(req.principal);
      if (!a.length) throw noItem(req.params.id);
      return backupCall(() => backupService(ctx).getPersonal(a, req.params.id), 'forbidden');
    },
  });

  app.route({
    method: 'GET', url: '/api/v1/personal/backup/:id/view',
    config: { access: 'personal' },
    schema: {
      tags: ['personal'], summary: 'View one of your items (when backup.personal.preview is on)',
      params: idParams, response: { 200: backupViewSchema, ...errors(404) },
    },
    handler: async (req) => {
      const a = mine(req.principal);
      if (!a.length) throw noItem(req.params.id);
      return backupCall(() => backupService(ctx).viewPersonal(a, req.params.id), 'forbidden');
    },
  });

  app.route({
    method: 'GET', url: '/api/v1/personal/backup/:id/eml',
    config: { access: 'personal' },
    schema: {
      tags: ['personal'], summary: 'Download one of your items without threats (.eml; when backup.personal.preview is on)',
      params: idParams, response: { ...errors(404) },
    },
    handler: async (req, reply) => {
      const a = mine(req.principal);
      if (!a.length) throw noItem(req.params.id);
      const d = await backupCall(() => backupService(ctx).downloadPersonal(a, req.params.id), 'forbidden');
      await req.audit({ action: 'backup.personal_download', target: `backup:${req.params.id.toUpperCase()}` });
      d.stream.on('error', (err) => req.log.error({ err: err.message, backup: req.params.id }, 'backup download failed while streaming'));
      return reply.headers(emlHeaders(d.filename)).send(d.stream as never);
    },
  });

  app.route({
    method: 'POST', url: '/api/v1/personal/backup/:id/deliver',
    config: { access: 'personal' },
    schema: {
      tags: ['personal'], summary: 'Deliver one of your items without threats to yourself (when backup.personal.deliverToSelf is on)',
      params: idParams, response: { 200: deliverResultSchema, ...errors(404) },
    },
    handler: async (req) => {
      const a = mine(req.principal);
      if (!a.length) throw noItem(req.params.id);
      const r = await backupCall(() => backupService(ctx).deliverPersonal(a, req.params.id), 'forbidden');
      await req.audit({ action: 'backup.personal_deliver', target: `backup:${req.params.id.toUpperCase()}`, after: r });
      return r;
    },
  });

  app.route({
    method: 'DELETE', url: '/api/v1/personal/backup/:id',
    config: { access: 'personal' },
    schema: {
      tags: ['personal'], summary: 'Delete your copy of an item (when backup.personal.delete is on); the item goes when no recipient is left',
      params: idParams, response: { 204: z.undefined(), ...errors(404) },
    },
    handler: async (req, reply) => {
      const a = mine(req.principal);
      if (!a.length) throw noItem(req.params.id);
      const r = await backupCall(() => backupService(ctx).deletePersonal(a, req.params.id), 'forbidden');
      await req.audit({ action: 'backup.personal_delete', target: `backup:${req.params.id.toUpperCase()}`, after: r });
      return reply.code(204).send();
    },
  });

  app.route({
    method: 'GET', url: '/api/v1/personal/digest',
    config: { access: 'personal' },
    schema: { tags: ['personal'], summary: 'Your Backup digest subscription, per address', response: { 200: subscriptionSchema, ...errors() } },
    handler: async (req) => {
      const digest = need(ctx.backup, 'Backup').digest;
      const addresses = await Promise.all(mine(req.principal).map(async (address) => ({ address, subscribed: await digest.subscribed(address) })));
      return { addresses };
    },
  });

  app.route({
    method: 'PUT', url: '/api/v1/personal/digest',
    config: { access: 'personal' },
    schema: {
      tags: ['personal'], summary: 'Subscribe to or unsubscribe from the Backup digest (all your addresses, or one)',
      body: z.object({ subscribed: z.boolean(), address: z.string().max(320).optional().describe('one of your addresses; default all') }).strict(),
      response: { 200: subscriptionSchema, ...errors(400, 404) },
    },
    handler: async (req) => {
      const digest = need(ctx.backup, 'Backup').digest;
      const own = mine(req.principal);
      const pick = req.body.address === undefined ? own : own.filter((x) => x === req.body.address!.trim().toLowerCase());
      if (req.body.address !== undefined && !pick.length) throw new ApiError('not_found', 'that address is not one of yours');
      const before = await Promise.all(pick.map(async (address) => ({ address, subscribed: await digest.subscribed(address) })));
      for (const address of pick) await digest.setSubscribed(address, req.body.subscribed);
      if (pick.length) await req.audit({ action: req.body.subscribed ? 'backup.digest_subscribe' : 'backup.digest_unsubscribe', target: `account:${req.principal?.username}`, before, after: pick.map((address) => ({ address, subscribed: req.body.subscribed })) });
      const addresses = await Promise.all(own.map(async (address) => ({ address, subscribed: await digest.subscribed(address) })));
      return { addresses };
    },
  });
};
