/**
 * `GET /metrics`: this node's Prometheus metrics in the text exposition format (docs/monitoring.md), for a
 * Prometheus scraper. Outside /api/v1 (the path scrapers expect) but authorised like an API route: access
 * `stats.view`, normally an API token sent as `Authorization: Bearer moat_…` (access.ts checks every route that
 * declares `config.access`, wherever it lives). 401 without credentials, 403 without the permission.
 *
 * Hostile input: none beyond the credentials (no parameters are read).
 */
import type { RouteModule } from './index.ts';
import { errors } from './schemas.ts';
import { need } from './problems.ts';

export const METRICS_PATH = '/metrics';

export const metricsRoutes: RouteModule = (app, ctx) => {
  app.route({
    method: 'GET', url: METRICS_PATH,
    config: { access: 'stats.view' },
    schema: {
      tags: ['stats'], summary: "This node's Prometheus metrics (text exposition format; scrape with an API token)",
      response: { ...errors() },
    },
    handler: async (_req, reply) => {
      const m = await need(ctx.monitor, 'monitor').metrics();
      return reply.code(200).headers({ 'content-type': m.contentType, 'cache-control': 'no-store' }).send(m.body as never);
    },
  });
};
