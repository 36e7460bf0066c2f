/**
 * Dashboard statistics over the API (SPEC §6; docs/monitoring.md): totals over a period (by action, per-module
 * statuses and detections, the same per node), a series over time (one point per step, zeros included), and the
 * nodes that have statistics. Access: stats.view.
 *
 * Hostile input: the query string. Times are ms since the epoch or ISO 8601 (default period: the last 24
 * hours); step in ms; node ≤ 255 characters. The monitor's statsQuerySchema checks the rest (from < to, at most
 * 10 years, at most 1,000 points); a refused query answers 400.
 */
import { z } from 'zod';
import type { RouteModule } from './index.ts';
import { errors } from './schemas.ts';
import { need, validated } from './problems.ts';
import type { StatsQuery } from '../../monitor/dashboard.ts';

const time = z.string().trim().min(1).max(40).transform((s, c) => {
  const n = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  if (!Number.isSafeInteger(n) || n < 0) { c.addIssue({ code: 'custom', message: 'expected a time (ms since the epoch or ISO 8601)' }); return z.NEVER; }
  return n;
});

const periodQuery = {
  from: time.optional().describe('start (inclusive), ms since the epoch or ISO 8601; default 24 hours ago'),
  to: time.optional().describe('end (exclusive); default now'),
  node: z.string().min(1).max(255).optional().describe('only this node; default all'),
  level: z.enum(['minute', 'hour', 'day']).optional().describe('bucket level; default chosen from the period'),
};

const counts = {
  messages: z.number(),
  bytes: z.number(),
  actions: z.record(z.string(), z.number()).describe('skip, delete_attachment, reject, delete'),
  modules: z.record(z.string(), z.record(z.string(), z.number())).describe('per module, every status'),
};
const countsSchema = z.object(counts);

const totalsSchema = z.object({
  from: z.number(), to: z.number(), level: z.string(), node: z.string().nullable(), ...counts,
  detections: z.record(z.string(), z.object({ detections: z.number(), errors: z.number(), notScanned: z.number(), total: z.number(), statuses: z.record(z.string(), z.number()) })),
  byNode: z.record(z.string(), countsSchema),
}).meta({ id: 'StatsTotals' });

const seriesSchema = z.object({
  from: z.number(), to: z.number(), level: z.string(), step: z.number(), node: z.string().nullable(),
  points: z.array(z.object({ time: z.number(), ...counts })),
}).meta({ id: 'StatsSeries' });

function statsQuery(q: { from?: number; to?: number; node?: string; level?: StatsQuery['level']; step?: number }, now: number): StatsQuery {
  return { from: q.from ?? Math.max(0, (q.to ?? now) - 86_400_000), ...(q.to !== undefined ? { to: q.to } : {}), ...(q.node ? { node: q.node } : {}), ...(q.level ? { level: q.level } : {}), ...(q.step ? { step: q.step } : {}) };
}

export const statsRoutes: RouteModule = (app, ctx) => {
  const stats = () => need(ctx.monitor, 'monitor').stats;

  app.route({
    method: 'GET', url: '/api/v1/stats/totals',
    config: { access: 'stats.view' },
    schema: {
      tags: ['stats'], summary: 'Totals over a period: messages, bytes, actions, per-module statuses and detections, per node',
      querystring: z.object(periodQuery).strict(), response: { 200: totalsSchema, ...errors(400) },
    },
    handler: async (req) => validated(() => stats().totals(statsQuery(req.query, ctx.clock.now())), 'query.'),
  });

  app.route({
    method: 'GET', url: '/api/v1/stats/series',
    config: { access: 'stats.view' },
    schema: {
      tags: ['stats'], summary: 'The same counts as a series over the period (oldest first, every step present)',
      querystring: z.object({ ...periodQuery, step: z.coerce.number().int().min(1).optional().describe('ms between points (whole buckets; widened to at most 1,000 points)') }).strict(),
      response: { 200: seriesSchema, ...errors(400) },
    },
    handler: async (req) => validated(() => stats().series(statsQuery(req.query, ctx.clock.now())), 'query.'),
  });

  app.route({
    method: 'GET', url: '/api/v1/stats/nodes',
    config: { access: 'stats.view' },
    schema: {
      tags: ['stats'], summary: 'Nodes with statistics in the last `days` days (for the node filter)',
      querystring: z.object({ days: z.coerce.number().int().min(1).max(3660).default(90) }).strict(),
      response: { 200: z.object({ items: z.array(z.string()) }), ...errors(400) },
    },
    handler: async (req) => ({ items: await stats().nodes(req.query.days) }),
  });
};
