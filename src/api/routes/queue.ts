/**
 * The delivery queue over the API (SPEC §1 queue management; docs/mail-flow.md): list with filters and paging,
 * one message with its recipients (state, attempts, last reply), a summary of counts, retry now, hold, release,
 * delete (one, or in bulk by ids), and pausing / resuming sending or receiving.
 *
 * The queue index is shared by the nodes of a cluster; retry, hold and release act through it (the message's own
 * node picks them up within its poll interval; this node's deliveries start at once). Delete removes the spool
 * file too, so it works only for this node's messages (409 for another node's: delete it there). No bounce is sent
 * for a deleted message. Pause/resume set `mta.paused.*` in the settings, as `moat queue pause` does: they apply to
 * every node sharing the settings.
 *
 * Access: queue.view / queue.edit. Hostile input: ids (queue id syntax, ≤ 1000 per bulk request), filters
 * (bounded substrings, LIKE wildcards escaped by queue-repo.ts), paging.
 */
import { z } from 'zod';
import type { RouteModule } from './index.ts';
import { QueueRepo, type QueuedMessage } from '../../store/queue-repo.ts';
import { QUEUE_ID_RE } from '../../platform/ids.ts';
import { ApiError } from '../errors.ts';
import { errors } from './schemas.ts';
import { changeSettings } from './settings-write.ts';
import type { ApiContext } from '../context.ts';

const recipientSchema = z.object({
  idx: z.number().int(), address: z.string(), state: z.enum(['pending', 'delivered', 'failed']), attempts: z.number().int(),
  lastResponse: z.string().nullable(),
}).meta({ id: 'QueuedRecipient' });

const messageSchema = z.object({
  id: z.string(), node: z.string(), sender: z.string(), clientIp: z.string(), helo: z.string(), messageId: z.string().nullable(),
  receivedAt: z.number(), size: z.number(), attempts: z.number().int(), nextAttemptAt: z.number(), lastError: z.string().nullable(),
  state: z.enum(['queued', 'held']), isBounce: z.boolean(), expiresAt: z.number(), recipients: z.array(recipientSchema),
}).meta({ id: 'QueuedMessage' });

const queueId = z.string().trim().toUpperCase().regex(QUEUE_ID_RE, 'not a queue id (16 characters)');
const idParams = z.object({ id: queueId });
const direction = z.enum(['sending', 'receiving']).default('sending');
const pausedSchema = z.object({ sending: z.boolean(), receiving: z.boolean() });

function view(m: QueuedMessage): z.infer<typeof messageSchema> {
  const { edits: _edits, ...rest } = m;
  return rest;
}

type Verb = 'retry' | 'hold' | 'release' | 'delete';

export const queueRoutes: RouteModule = (app, ctx) => {
  const repo = new QueueRepo(ctx.db);
  const control = (): NonNullable<ApiContext['queue']> => {
    if (!ctx.queue) throw new Error('no queue in the API context');
    return ctx.queue;
  };

  /** One action on one message: true when done, false when there is no such message; 409 when it cannot be. */
  const act = async (verb: Verb, id: string): Promise<QueuedMessage | undefined> => {
    const m = await repo.get(id);
    if (!m) return undefined;
    const now = ctx.clock.now();
    switch (verb) {
      case 'retry':
        if (m.state === 'held') throw new ApiError('conflict', `${id} is held: release it (it is then delivered at once)`);
        if (!(await repo.retryNow(m.node, now, id))) return undefined;
        break;
      case 'hold':
        if (!(await repo.setState(m.node, id, 'held', now))) return undefined;
        break;
      case 'release':
        if (!(await repo.setState(m.node, id, 'queued', now))) return undefined;
        break;
      case 'delete':
        if (m.node !== ctx.node) throw new ApiError('conflict', `${id} is queued on node ${m.node}: delete it there (its spool file is on that node)`);
        // The row first: a delivery in progress then finds it gone and records nothing; the file after.
        if (!(await repo.remove(id))) return undefined;
        await control().spool.remove(id);
        break;
    }
    if ((verb === 'retry' || verb === 'release') && m.node === ctx.node) control().kick();
    return m;
  };

  app.route({
    method: 'GET', url: '/api/v1/queue',
    config: { access: 'queue.view' },
    schema: {
      tags: ['queue'], summary: 'Queued messages, oldest first, with filters (all nodes unless `node` is given)',
      querystring: z.object({
        state: z.enum(['queued', 'held']).optional(),
        sender: z.string().max(320).optional().describe('substring of the envelope sender, any case'),
        recipient: z.string().max(320).optional().describe('substring of any recipient, any case'),
        node: z.string().min(1).max(128).optional(),
        id: queueId.optional(),
        error: z.string().max(200).optional().describe('substring of the last error'),
        minAttempts: z.coerce.number().int().min(0).optional(),
        receivedAfter: z.coerce.number().int().min(0).optional().describe('ms since the epoch'),
        receivedBefore: z.coerce.number().int().min(0).optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
        offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
      }).strict(),
      response: { 200: z.object({ items: z.array(messageSchema), limit: z.number().int(), offset: z.number().int() }), ...errors(400) },
    },
    handler: async (req) => {
      const q = req.query;
      const items = await repo.list({
        node: q.node, id: q.id, state: q.state, sender: q.sender || undefined, recipient: q.recipient || undefined, error: q.error || undefined,
        minAttempts: q.minAttempts, receivedAfter: q.receivedAfter, receivedBefore: q.receivedBefore, limit: q.limit, offset: q.offset,
      });
      return { items: items.map(view), limit: q.limit, offset: q.offset };
    },
  });

  app.route({
    method: 'GET', url: '/api/v1/queue/summary',
    config: { access: 'queue.view' },
    schema: {
      tags: ['queue'], summary: 'Counts per node: messages queued and held, bounces, deferred (tried at least once), pending recipients; and whether sending/receiving are paused',
      response: {
        200: z.object({
          nodes: z.array(z.object({ node: z.string(), queued: z.number().int(), held: z.number().int(), bounces: z.number().int(), deferred: z.number().int(), pendingRecipients: z.number().int(), oldestReceivedAt: z.number().nullable() })),
          total: z.number().int(), paused: pausedSchema,
        }),
        ...errors(),
      },
    },
    handler: async () => {
      const rows = await ctx.db.selectFrom('queue_messages')
        .select((eb) => ['node', 'state', 'is_bounce', eb.fn.countAll().as('n'), eb.fn.min('received_at').as('oldest'),
          eb.fn.sum(eb.case().when('attempts', '>', 0).then(1).else(0).end()).as('deferred')])
        .groupBy(['node', 'state', 'is_bounce']).execute();
      const pending = await ctx.db.selectFrom('queue_recipients').innerJoin('queue_messages', 'queue_messages.id', 'queue_recipients.message_id')
        .select((eb) => ['queue_messages.node as node', eb.fn.countAll().as('n')]).where('queue_recipients.state', '=', 'pending')
        .groupBy('queue_messages.node').execute();
      const nodes = new Map<string, { node: string; queued: number; held: number; bounces: number; deferred: number; pendingRecipients: number; oldestReceivedAt: number | null }>();
      const of = (node: string) => nodes.get(node) ?? nodes.set(node, { node, queued: 0, held: 0, bounces: 0, deferred: 0, pendingRecipients: 0, oldestReceivedAt: null }).get(node)!;
      for (const r of rows) {
        const s = of(r.node);
        const n = Number(r.n);
        if (r.state === 'held') s.held += n; else s.queued += n;
        if (Number(r.is_bounce) === 1) s.bounces += n;
        s.deferred += Number(r.deferred ?? 0);
        const oldest = r.oldest == null ? null : Number(r.oldest);
        if (oldest !== null && (s.oldestReceivedAt === null || oldest < s.oldestReceivedAt)) s.oldestReceivedAt = oldest;
      }
      for (const p of pending) of(p.node).pendingRecipients = Number(p.n);
      const list = [...nodes.values()].sort((a, b) => a.node.localeCompare(b.node));
      const paused = ctx.settings.snapshot().mta.paused;
      return { nodes: list, total: list.reduce((t, s) => t + s.queued + s.held, 0), paused: { sending: paused.sending, receiving: paused.receiving } };
    },
  });

  app.route({
    method: 'GET', url: '/api/v1/queue/:id',
    config: { access: 'queue.view' },
    schema: { tags: ['queue'], summary: 'One queued message with its recipients (state, attempts, last reply)', params: idParams, response: { 200: messageSchema, ...errors(400, 404) } },
    handler: async (req) => {
      const m = await repo.get(req.params.id);
      if (!m) throw new ApiError('not_found', `no queued message ${req.params.id}`);
      return view(m);
    },
  });

  for (const verb of ['retry', 'hold', 'release'] as const) {
    app.route({
      method: 'POST', url: `/api/v1/queue/:id/${verb}`,
      config: { access: 'queue.edit' },
      schema: {
        tags: ['queue'],
        summary: verb === 'retry' ? 'Deliver now (not a held message: 409)' : verb === 'hold' ? 'Keep the message in the queue without delivering it' : 'Release a held message for delivery now',
        params: idParams, response: { 200: messageSchema, ...errors(400, 404, 409) },
      },
      handler: async (req) => {
        const before = await act(verb, req.params.id);
        if (!before) throw new ApiError('not_found', `no queued message ${req.params.id}`);
        await req.audit({ action: `queue.${verb}`, target: `queue:${req.params.id}`, before: { state: before.state }, ...(verb === 'retry' ? {} : { after: { state: verb === 'hold' ? 'held' : 'queued' } }) });
        const after = await repo.get(req.params.id);
        // Delivered (and forgotten) between the action and this read: answer the message as it was.
        return view(after ?? before);
      },
    });
  }

  app.route({
    method: 'DELETE', url: '/api/v1/queue/:id',
    config: { access: 'queue.edit' },
    schema: { tags: ['queue'], summary: "Delete a message of this node's queue (no bounce is sent)", params: idParams, response: { 204: z.undefined(), ...errors(400, 404, 409) } },
    handler: async (req, reply) => {
      const gone = await act('delete', req.params.id);
      if (!gone) throw new ApiError('not_found', `no queued message ${req.params.id}`);
      await req.audit({ action: 'queue.delete', target: `queue:${gone.id}`, before: { sender: gone.sender, recipients: gone.recipients.map((r) => r.address), size: gone.size } });
      return reply.code(204).send();
    },
  });

  app.route({
    method: 'POST', url: '/api/v1/queue/bulk',
    config: { access: 'queue.edit' },
    schema: {
      tags: ['queue'], summary: 'Retry, hold, release or delete many messages by id; answers what was done and what was not',
      body: z.object({ action: z.enum(['retry', 'hold', 'release', 'delete']), ids: z.array(queueId).min(1).max(1000) }).strict(),
      response: { 200: z.object({ done: z.array(z.string()), notFound: z.array(z.string()), refused: z.array(z.object({ id: z.string(), reason: z.string() })) }), ...errors(400) },
    },
    handler: async (req) => {
      const { action, ids } = req.body;
      const done: string[] = [], notFound: string[] = [], refused: { id: string; reason: string }[] = [];
      for (const id of [...new Set(ids)]) {
        try {
          if (await act(action, id)) done.push(id); else notFound.push(id);
        } catch (err) {
          if (!(err instanceof ApiError) || err.code !== 'conflict') throw err;
          refused.push({ id, reason: err.message });
        }
      }
      if (done.length) await req.audit({ action: `queue.${action}`, target: `queue:${done.length === 1 ? done[0] : `${done.length} messages`}`, after: { ids: done } });
      return { done, notFound, refused };
    },
  });

  for (const verb of ['pause', 'resume'] as const) {
    app.route({
      method: 'POST', url: `/api/v1/queue/${verb}`,
      config: { access: 'queue.edit' },
      schema: {
        tags: ['queue'],
        summary: verb === 'pause' ? 'Pause sending (no delivery starts) or receiving (new SMTP sessions get 421), on every node sharing the settings' : 'Resume sending or receiving',
        body: z.object({ direction }).strict().nullish().describe('{ "direction": "sending" | "receiving" }; no body = sending'),
        response: { 200: z.object({ version: z.number().int(), paused: pausedSchema }), ...errors(400, 409) },
      },
      handler: async (req) => {
        const d = req.body?.direction ?? 'sending';
        const r = await changeSettings(ctx, req, {
          action: `queue.${verb}`, target: `queue:${d}`,
          build: (s) => { s.mta.paused[d] = verb === 'pause'; return s; },
        });
        if (verb === 'resume' && d === 'sending') control().kick();
        return { version: r.version, paused: { sending: r.after.mta.paused.sending, receiving: r.after.mta.paused.receiving } };
      },
    });
  }
};
