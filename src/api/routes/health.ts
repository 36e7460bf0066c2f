/**
 * GET /api/v1/health: the node's health for signed-in users (the same data as the public /healthz that load
 * balancers use).
 */
import { z } from 'zod';
import type { RouteModule } from './index.ts';
import { errors } from './schemas.ts';

export const healthRoutes: RouteModule = (app, ctx) => {
  app.route({
    method: 'GET', url: '/api/v1/health',
    config: { access: 'authenticated' },
    schema: { tags: ['system'], summary: "This node's health", response: { 200: z.object({ ok: z.boolean() }).passthrough(), ...errors() } },
    handler: async () => ctx.health.health(),
  });
};
