/**
 * The event log over the API (SPEC §6; docs/events.md): for each kind of event — traffic, system and the audit
 * trail — a filtered list with keyset paging (`cursor` = the previous page's `nextCursor`, optional `total`),
 * one event by id, and a streamed export (`format=csv|json|ndjson`, the same filters, optional `limit`).
 * Access: `events.view` for lists and details (the audit trail too), `events.export` for exports.
 *
 * Exports are streamed from the store page by page (src/events/export.ts) straight into the response, so memory
 * stays constant whatever the number of rows; the answer names a file (`Content-Disposition: attachment`).
 *
 * Hostile input: every filter comes from the query string; the schemas of src/events/query.ts bound and check
 * each one (unknown parameters are refused), and a refused filter answers 400 with one field per problem.
 */
import { z } from 'zod';
import type { RouteModule } from './index.ts';
import { ApiError } from '../errors.ts';
import { errors } from './schemas.ts';
import { need, problemsError } from './problems.ts';
import { EventQueryError } from '../../events/service.ts';
import { auditFilterSchema, pageSchema, systemFilterSchema, trafficFilterSchema, type EventKind } from '../../events/query.ts';
import { CONTENT_TYPES, EXPORT_FORMATS, type ExportFormat } from '../../events/export.ts';
import { SYSTEM_EVENT_TYPES } from '../../events/types.ts';

const detection = z.object({ status: z.string(), name: z.string(), part: z.string().optional() });

const trafficEventSchema = z.object({
  id: z.number(), time: z.number(), node: z.string(), queueId: z.string(), deliveredAs: z.string().nullable(), messageId: z.string().nullable(),
  clientIp: z.string(), helo: z.string(), sender: z.string(), recipients: z.array(z.string()), subject: z.string(), size: z.number(),
  rule: z.string(), action: z.string(), backup: z.boolean(),
  modules: z.record(z.string(), z.object({ status: z.string(), reason: z.string().optional(), detections: z.array(detection).optional(), details: z.record(z.string(), z.unknown()).optional() })),
}).meta({ id: 'TrafficEvent' });

const systemEventSchema = z.object({
  id: z.number(), time: z.number(), node: z.string(), type: z.enum(SYSTEM_EVENT_TYPES), severity: z.enum(['info', 'warning', 'error', 'critical']),
  message: z.string(), details: z.record(z.string(), z.unknown()).nullable(),
}).meta({ id: 'SystemEvent' });

const auditEventSchema = z.object({
  id: z.number(), time: z.number(), actor: z.string(), source: z.enum(['api', 'cli', 'system']), ip: z.string().nullable(), action: z.string(), target: z.string(),
  before: z.unknown().optional(), after: z.unknown().optional(),
}).meta({ id: 'AuditEvent' });

const KINDS = {
  traffic: { filter: trafficFilterSchema, event: trafficEventSchema, what: 'traffic events (one per message and rule group)' },
  system: { filter: systemFilterSchema, event: systemEventSchema, what: 'system events' },
  audit: { filter: auditFilterSchema, event: auditEventSchema, what: 'the audit trail (every change, who made it, from where)' },
} as const;

const PAGE_KEYS = ['limit', 'cursor', 'total'] as const;
const idParams = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

function split(query: Record<string, unknown>, keys: readonly string[]): [Record<string, unknown>, Record<string, unknown>] {
  const a: Record<string, unknown> = {};
  const b: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(query)) if (v !== undefined) (keys.includes(k) ? b : a)[k] = v;
  return [a, b];
}

function queryError(err: unknown): unknown {
  return err instanceof EventQueryError ? problemsError(err.problems, 'query.') : err;
}

export const eventsRoutes: RouteModule = (app, ctx) => {
  const log = () => need(ctx.events, 'event log');

  for (const kind of Object.keys(KINDS) as EventKind[]) {
    const k = KINDS[kind];
    const listQuery = z.object({ ...k.filter.shape, ...pageSchema.shape }).strict();
    const exportQuery = z.object({
      ...k.filter.shape,
      format: z.enum(EXPORT_FORMATS).default('csv').describe('csv (RFC 4180), json (one array) or ndjson (one object a line)'),
      limit: z.coerce.number().int().min(1).max(10_000_000).optional().describe('at most this many rows (default: all)'),
    }).strict();

    app.route({
      method: 'GET', url: `/api/v1/events/${kind}`,
      config: { access: 'events.view' },
      schema: {
        tags: ['events'], summary: `List ${k.what}, newest first (filters, keyset paging)`,
        querystring: listQuery,
        response: { 200: z.object({ items: z.array(k.event), nextCursor: z.string().nullable(), total: z.number().optional() }), ...errors(400) },
      },
      handler: async (req) => {
        const [filter, page] = split(req.query as Record<string, unknown>, PAGE_KEYS);
        try {
          const l = log();
          return await (kind === 'traffic' ? l.listTraffic(filter, page) : kind === 'system' ? l.listSystem(filter, page) : l.listAudit(filter, page));
        } catch (err) { throw queryError(err); }
      },
    });

    app.route({
      method: 'GET', url: `/api/v1/events/${kind}/export`,
      config: { access: 'events.export' },
      schema: {
        tags: ['events'], summary: `Export ${k.what} as CSV, JSON or NDJSON (streamed; same filters as the list)`,
        querystring: exportQuery,
        response: { ...errors(400) },
      },
      handler: async (req, reply) => {
        const [filter, opts] = split(req.query as Record<string, unknown>, ['format', 'limit']);
        const format = opts.format as ExportFormat;
        let stream;
        try {
          stream = log().export(kind, format, filter, { limit: opts.limit as number | undefined });
        } catch (err) { throw queryError(err); }
        stream.on('error', (err) => req.log.error({ err: err.message, kind, format }, 'event export failed while streaming'));
        const stamp = new Date(ctx.clock.now()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
        await req.audit({ action: 'events.export', target: `events:${kind}`, after: { format, filter, limit: opts.limit ?? null } });
        return reply.headers({
          'content-type': CONTENT_TYPES[format],
          'content-disposition': `attachment; filename="moat-${kind}-events-${stamp}.${format}"`,
          'x-content-type-options': 'nosniff',
          'cache-control': 'no-store',
        }).send(stream as never);
      },
    });

    app.route({
      method: 'GET', url: `/api/v1/events/${kind}/:id`,
      config: { access: 'events.view' },
      schema: { tags: ['events'], summary: `One of the ${k.what} by id`, params: idParams, response: { 200: k.event, ...errors(404) } },
      handler: async (req) => {
        const l = log();
        const id = req.params.id;
        const e = await (kind === 'traffic' ? l.getTraffic(id) : kind === 'system' ? l.getSystem(id) : l.getAudit(id));
        if (!e) throw new ApiError('not_found', `no ${kind} event ${id}`);
        return e;
      },
    });
  }
};
