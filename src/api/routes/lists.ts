/**
 * Personal allow/deny lists (SPEC §4; docs/antispam.md): per recipient address, sender masks (`*`, `?`), `re:`
 * regexes, IPs and CIDRs; allowlist → anti-spam `trusted`, denylist → `denylisted`. At most 500 entries per owner
 * (antispam-repo.ts; beyond → 400).
 *
 * Admin side (lists.view / lists.edit): any owner, filters and paging. Personal side (access `personal`): ONLY the
 * caller's own addresses (`req.principal.addresses`); another owner is answered 404 exactly as a missing entry is,
 * so nothing tells whether it exists.
 *
 * Hostile input: owners (addresses, ≤ 320), patterns (checked by the rules' criterion parser), filters and paging
 * (bounded), entry ids.
 */
import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import type { RouteModule } from './index.ts';
import { AntispamRepo, ListError, MAX_LIST_ENTRIES, type ListEntry } from '../../store/antispam-repo.ts';
import { criterionProblem } from '../../policy/match.ts';
import { ApiError } from '../errors.ts';
import { errors } from './schemas.ts';
import type { ApiContext } from '../context.ts';

const entrySchema = z.object({
  id: z.number().int(),
  owner: z.string().describe('the recipient address the entry applies to'),
  kind: z.enum(['allow', 'deny']),
  pattern: z.string().describe('sender mask (*, ?), re:REGEX, IP or CIDR'),
  createdAt: z.number(),
}).meta({ id: 'ListEntry' });

const owner = z.string().trim().toLowerCase().min(3).max(320).regex(/^[^\s@]+@[^\s@]+$/, 'expected an address (local@domain)');
const patterns = z.array(z.string().trim().min(1).max(1000)).min(1).max(MAX_LIST_ENTRIES);
const idParams = z.object({ id: z.coerce.number().int().positive() });
const paging = {
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
};
const page = z.object({ items: z.array(entrySchema), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });

interface Filter { owners?: readonly string[]; kind?: 'allow' | 'deny'; pattern?: string; limit: number; offset: number }

/** A page of entries (owner, kind, pattern order) and the total matching. */
async function query(ctx: ApiContext, f: Filter): Promise<z.infer<typeof page>> {
  if (f.owners && !f.owners.length) return { items: [], total: 0, limit: f.limit, offset: f.offset };
  let q = ctx.db.selectFrom('personal_lists');
  if (f.owners) q = q.where('owner', 'in', [...f.owners]);
  if (f.kind) q = q.where('kind', '=', f.kind);
  if (f.pattern) q = q.where('pattern', '=', f.pattern);
  const { n } = await q.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  const rows = await q.selectAll().orderBy('owner').orderBy('kind').orderBy('pattern').limit(f.limit).offset(f.offset).execute();
  return { items: rows.map(toEntry), total: Number(n), limit: f.limit, offset: f.offset };
}

function toEntry(r: { id: number; owner: string; kind: string; pattern: string; created_at: number }): ListEntry {
  return { id: Number(r.id), owner: r.owner, kind: r.kind as ListEntry['kind'], pattern: r.pattern, createdAt: Number(r.created_at) };
}

async function entry(ctx: ApiContext, id: number): Promise<ListEntry | undefined> {
  const r = await ctx.db.selectFrom('personal_lists').selectAll().where('id', '=', id).executeTakeFirst();
  return r && toEntry(r);
}

/**
 * Adds every pattern (one entry each; an existing one is returned as is). Everything is checked first, so a
 * refused request adds nothing: a bad pattern is a 400 naming it, more than 500 entries for the owner a 400 too.
 */
async function addAll(ctx: ApiContext, repo: AntispamRepo, o: string, kind: 'allow' | 'deny', list: readonly string[], now: number): Promise<ListEntry[]> {
  const fields = list.flatMap((p, i) => {
    const problem = criterionProblem(p.trim(), 'sender');
    return problem ? [{ path: `patterns.${i}`, message: `${JSON.stringify(p.slice(0, 200))}: ${problem}` }] : [];
  });
  if (fields.length) throw new ApiError('validation_failed', `invalid sender pattern: ${fields.slice(0, 5).map((f) => `${f.path}: ${f.message}`).join('; ')}`, fields);
  const existing = await ctx.db.selectFrom('personal_lists').select(['kind', 'pattern']).where('owner', '=', o).execute();
  const have = new Set(existing.map((e) => `${e.kind} ${e.pattern}`));
  const fresh = new Set(list.map((p) => p.trim()).filter((p) => !have.has(`${kind} ${p}`)));
  if (existing.length + fresh.size > MAX_LIST_ENTRIES) {
    const message = `${o} has ${existing.length} list entries; ${fresh.size} more would pass the limit of ${MAX_LIST_ENTRIES}`;
    throw new ApiError('validation_failed', message, [{ path: 'patterns', message }]);
  }
  const out: ListEntry[] = [];
  for (const p of list) {
    try { out.push(await repo.addListEntry(o, kind, p, now)); } catch (err) {
      // Only a concurrent addition can get here (the limit reached meanwhile); what was added stays and is said.
      if (err instanceof ListError) throw new ApiError('validation_failed', `${err.message}${out.length ? ` (${out.length} added before)` : ''}`, [{ path: 'patterns', message: err.message }]);
      throw err;
    }
  }
  return out;
}

const ownAddresses = (req: FastifyRequest): string[] => [...(req.principal?.addresses ?? [])].map((a) => a.toLowerCase());

export const listsRoutes: RouteModule = (app, ctx) => {
  const repo = new AntispamRepo(ctx.db);

  // ---- admin side ----

  app.route({
    method: 'GET', url: '/api/v1/lists',
    config: { access: 'lists.view' },
    schema: {
      tags: ['lists'], summary: 'Personal list entries of every owner, with filters and paging',
      querystring: z.object({ owner: owner.optional(), kind: z.enum(['allow', 'deny']).optional(), pattern: z.string().max(1000).optional(), ...paging }).strict(),
      response: { 200: page, ...errors(400) },
    },
    handler: async (req) => {
      const q = req.query;
      return query(ctx, { owners: q.owner ? [q.owner] : undefined, kind: q.kind, pattern: q.pattern?.trim() || undefined, limit: q.limit, offset: q.offset });
    },
  });

  app.route({
    method: 'POST', url: '/api/v1/lists',
    config: { access: 'lists.edit' },
    schema: {
      tags: ['lists'], summary: `Add entries to an owner's allowlist or denylist (at most ${MAX_LIST_ENTRIES} entries per owner)`,
      body: z.object({ owner, kind: z.enum(['allow', 'deny']), patterns }).strict(),
      response: { 201: z.object({ items: z.array(entrySchema) }), ...errors(400) },
    },
    handler: async (req, reply) => {
      const b = req.body;
      const items = await addAll(ctx, repo, b.owner, b.kind, b.patterns, ctx.clock.now());
      await req.audit({ action: 'lists.add', target: `list:${b.owner}/${b.kind}`, after: { patterns: items.map((e) => e.pattern) } });
      return reply.code(201).send({ items });
    },
  });

  app.route({
    method: 'DELETE', url: '/api/v1/lists/:id',
    config: { access: 'lists.edit' },
    schema: { tags: ['lists'], summary: 'Remove one entry', params: idParams, response: { 204: z.undefined(), ...errors(400, 404) } },
    handler: async (req, reply) => {
      const e = await entry(ctx, req.params.id);
      if (!e || !(await repo.removeListEntry(e.owner, e.kind, e.pattern))) throw new ApiError('not_found', `no list entry ${req.params.id}`);
      await req.audit({ action: 'lists.delete', target: `list:${e.owner}/${e.kind}`, before: { pattern: e.pattern } });
      return reply.code(204).send();
    },
  });

  // ---- personal side: the caller's own addresses only ----

  app.route({
    method: 'GET', url: '/api/v1/personal/lists',
    config: { access: 'personal' },
    schema: {
      tags: ['lists'], summary: "The caller's own list entries (all own addresses, or one of them)",
      querystring: z.object({ owner: owner.optional(), kind: z.enum(['allow', 'deny']).optional(), ...paging }).strict(),
      response: { 200: page.extend({ addresses: z.array(z.string()).describe('the addresses the caller may manage') }), ...errors(400, 404) },
    },
    handler: async (req) => {
      const mine = ownAddresses(req);
      const q = req.query;
      if (q.owner && !mine.includes(q.owner)) throw new ApiError('not_found', 'no such list');
      return { ...(await query(ctx, { owners: q.owner ? [q.owner] : mine, kind: q.kind, limit: q.limit, offset: q.offset })), addresses: mine };
    },
  });

  app.route({
    method: 'POST', url: '/api/v1/personal/lists',
    config: { access: 'personal' },
    schema: {
      tags: ['lists'], summary: "Add entries to one of the caller's own lists (owner may be left out when the caller has one address)",
      body: z.object({ owner: owner.optional(), kind: z.enum(['allow', 'deny']), patterns }).strict(),
      response: { 201: z.object({ items: z.array(entrySchema) }), ...errors(400, 404) },
    },
    handler: async (req, reply) => {
      const mine = ownAddresses(req);
      const b = req.body;
      const o = b.owner ?? (mine.length === 1 ? mine[0] : undefined);
      if (!o) throw new ApiError('validation_failed', mine.length ? 'owner: name one of your addresses' : 'your account has no mail address to keep lists for', [{ path: 'owner', message: 'required' }]);
      if (!mine.includes(o)) throw new ApiError('not_found', 'no such list');
      const items = await addAll(ctx, repo, o, b.kind, b.patterns, ctx.clock.now());
      await req.audit({ action: 'lists.add', target: `list:${o}/${b.kind}`, after: { patterns: items.map((e) => e.pattern) } });
      return reply.code(201).send({ items });
    },
  });

  app.route({
    method: 'DELETE', url: '/api/v1/personal/lists/:id',
    config: { access: 'personal' },
    schema: { tags: ['lists'], summary: "Remove one of the caller's own entries", params: idParams, response: { 204: z.undefined(), ...errors(400, 404) } },
    handler: async (req, reply) => {
      const e = await entry(ctx, req.params.id);
      // Another owner's entry is answered exactly like a missing one.
      if (!e || !ownAddresses(req).includes(e.owner) || !(await repo.removeListEntry(e.owner, e.kind, e.pattern))) throw new ApiError('not_found', `no list entry ${req.params.id}`);
      await req.audit({ action: 'lists.delete', target: `list:${e.owner}/${e.kind}`, before: { pattern: e.pattern } });
      return reply.code(204).send();
    },
  });
};
