/**
 * The list of route files of the REST API, registered by buildApi (app.ts) in this order.
 *
 * How to add a route (see docs/api.md, "Adding a route"):
 * 1. Write `src/api/routes/<area>.ts` exporting `const <area>Routes: RouteModule = (app, ctx) => { ... }`.
 * 2. In it, declare each route with `app.route({ method, url: '/api/v1/<area>/…', config: { access: '<area>.view' },
 *    schema: { tags: ['<area>'], summary, params/querystring/body: zod schemas, response: { 200: zod } }, handler })`.
 *    `config.access` is required under /api/v1 ('public' | 'authenticated' | 'personal' | a permission from
 *    accounts/permissions.ts); without it the node refuses to start. Access is checked before the body is read.
 * 3. In handlers: `req.principal` is the caller; throw `new ApiError('not_found' | 'conflict' | …, message)`
 *    for an error answer; call `await req.audit({ action: '<area>.<verb>', target: '<kind>:<id>', before, after })`
 *    after every change (no secrets in before/after). Personal routes act only on `req.principal.addresses`.
 * 4. Add the module to ROUTES below, the service it needs to ApiContext (context.ts) and node.ts, and one row
 *    per operation to the table in test/api/authz-matrix.test.ts (that test fails for an operation without a row).
 */
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiContext } from '../context.ts';
import { authRoutes } from './auth.ts';
import { accountsRoutes } from './accounts.ts';
import { rolesRoutes } from './roles.ts';
import { tokensRoutes } from './tokens.ts';
import { healthRoutes } from './health.ts';
// Record routes: Backup (admin, personal, digest unsubscribe), events, notification templates, stats, /metrics.
import { backupRoutes } from './backup.ts';
import { personalBackupRoutes } from './personal-backup.ts';
import { digestRoutes } from './digest.ts';
import { eventsRoutes } from './events.ts';
import { notificationsRoutes } from './notifications.ts';
import { statsRoutes } from './stats.ts';
import { metricsRoutes } from './metrics.ts';
// Configuration routes: settings (export/import), domains and routing, TLS certificate, DKIM keys, rules, lists, queue.
import { settingsRoutes } from './settings.ts';
import { domainsRoutes } from './domains.ts';
import { tlsRoutes } from './tls.ts';
import { dkimRoutes } from './dkim.ts';
import { rulesRoutes } from './rules.ts';
import { listsRoutes } from './lists.ts';
import { queueRoutes } from './queue.ts';

export type ApiApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;
export type RouteModule = (app: ApiApp, ctx: ApiContext) => void;

export const ROUTES: readonly RouteModule[] = [
  authRoutes,
  accountsRoutes,
  rolesRoutes,
  tokensRoutes,
  healthRoutes,
  backupRoutes,
  personalBackupRoutes,
  digestRoutes,
  eventsRoutes,
  notificationsRoutes,
  statsRoutes,
  metricsRoutes,
  settingsRoutes,
  domainsRoutes,
  tlsRoutes,
  dkimRoutes,
  rulesRoutes,
  listsRoutes,
  queueRoutes,
];
