/**
 * Processing rules over the API (SPEC §2; docs/rules.md): list (presets marked), get, create, update (a partial
 * rule merged over the stored one, as `moat rules update`), delete, enable/disable, move one rule (to a position,
 * above or below another) and set the whole order. Every invariant is the store's (rules-repo.ts): presets cannot
 * be deleted or renamed, Default stays last, enabled and without criteria (409 for a refused change, 400 for an
 * invalid document, with one field per problem, e.g. `senders.0`). Nodes pick changes up within a second.
 *
 * Access: rules.view / rules.edit. A rule is named in paths by its id or its name.
 * Hostile input: whole rule documents (criteria compiled in the linear-time regex subset by policy/schema.ts).
 */
import { z } from 'zod';
import type { RouteModule } from './index.ts';
import { RulesRepo, RuleNotFoundError, RuleRefusedError, ruleToDoc, diffRules, type StoredRule, type MoveTarget } from '../../store/rules-repo.ts';
import { RuleValidationError, MODULE_ACTIONS, blockStatuses } from '../../policy/schema.ts';
import { AUDIENCES, MODES, PRESETS } from '../../policy/types.ts';
import { TYPE_CATEGORIES, type ModuleName } from '../../scan/types.ts';
import { ApiError } from '../errors.ts';
import { errors } from './schemas.ts';
import { problemsToFields } from './settings-write.ts';

// What a stored rule looks like in answers (already validated by policy/schema.ts when it was stored): typed per
// module, so the OpenAPI document (and the console's generated types) name each module's statuses and actions.
const blockView = (m: ModuleName) => z.object({
  statuses: z.array(z.enum(blockStatuses(m) as [string, ...string[]])),
  action: z.enum(MODULE_ACTIONS[m] as [string, ...string[]]),
  backup: z.boolean(),
  tag: z.string().describe('subject tag, e.g. [Spam]; empty for none'),
});
const notifyView = (m: ModuleName) => z.object({
  statuses: z.array(z.enum(blockStatuses(m) as [string, ...string[]])).describe('statuses that notify; empty = those that made a block fire'),
  sender: z.boolean(), recipients: z.boolean(), admins: z.boolean(),
  extra: z.array(z.string()),
  templates: z.partialRecord(z.enum(AUDIENCES), z.string()).optional().describe('template id per audience; absent = the shipped one'),
});
const optionsView = (m: ModuleName) => (m === 'content'
  ? z.object({ maxSizeKB: z.number().int().nullable(), bannedTypes: z.array(z.enum(TYPE_CATEGORIES)), typeMode: z.enum(['listed', 'not_listed']), bannedNames: z.array(z.string()), lookInsideArchives: z.boolean() }).optional()
  : m === 'auth' ? z.object({ temperrorIsViolation: z.boolean(), permerrorIsViolation: z.boolean(), dmarcDecides: z.boolean() }).optional()
    : z.object({}).optional());
const moduleView = (m: ModuleName) => z.object({ enabled: z.boolean(), blocks: z.array(blockView(m)), options: optionsView(m), notify: notifyView(m).optional() });
const modulesView = z.object({
  antivirus: moduleView('antivirus').optional(), links: moduleView('links').optional(), antispam: moduleView('antispam').optional(),
  antiphishing: moduleView('antiphishing').optional(), content: moduleView('content').optional(), auth: moduleView('auth').optional(),
}).meta({ id: 'RuleModules' });

const ruleSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  description: z.string(),
  enabled: z.boolean(),
  position: z.number().int().describe('1 = top; Default is last'),
  mode: z.enum(MODES),
  senders: z.array(z.string()),
  recipients: z.array(z.string()),
  modules: modulesView.describe('per module: enabled, blocks (statuses → action, backup, tag), options, notify'),
  preset: z.enum(PRESETS).nullable().describe('AllowList, DenyList or Default for the preset rules, else null'),
  banner: z.object({ statuses: z.array(z.string()).describe('MODULE:STATUS or MODULE:*'), text: z.string(), html: z.string().optional() }).optional(),
  disclaimer: z.object({ text: z.string(), html: z.string().optional() }).optional(),
  bcc: z.array(z.string()).optional(),
  headers: z.object({ add: z.array(z.tuple([z.string(), z.string()])), remove: z.array(z.string()), modify: z.array(z.tuple([z.string(), z.string()])) }).optional(),
  updatedAt: z.number(),
}).meta({ id: 'Rule' });
type RuleView = z.infer<typeof ruleSchema>;

const refParams = z.object({ id: z.string().min(1).max(100).describe('rule id or name') });
const ruleInput = z.record(z.string(), z.unknown()).describe('a rule document or part of one: name, description, enabled, mode, senders, recipients, modules, banner, disclaimer, bcc, headers');
const ref = z.union([z.number().int().positive(), z.string().min(1).max(100)]);
const moveBody = z.union([
  z.object({ to: z.number().int().min(1) }).strict(),
  z.object({ above: ref }).strict(),
  z.object({ below: ref }).strict(),
]).describe('{ "to": POSITION } | { "above": ID|NAME } | { "below": ID|NAME }');

function view(r: StoredRule): RuleView {
  return { ...r, preset: r.preset ?? null } as RuleView;
}

function fromRepo(err: unknown): never {
  if (err instanceof RuleValidationError) throw new ApiError('validation_failed', err.message.slice(0, 2000), problemsToFields(err.problems).map((f) => (f.path === '(rule)' ? { ...f, path: '(body)' } : f)));
  if (err instanceof RuleNotFoundError) throw new ApiError('not_found', err.message);
  if (err instanceof RuleRefusedError) throw new ApiError('conflict', err.message);
  throw err;
}

const refOf = (s: string): string | number => (/^\d+$/.test(s) ? Number(s) : s);

export const rulesRoutes: RouteModule = (app, ctx) => {
  const repo = new RulesRepo(ctx.db);
  const now = () => ctx.clock.now();

  app.route({
    method: 'GET', url: '/api/v1/rules',
    config: { access: 'rules.view' },
    schema: { tags: ['rules'], summary: 'All rules, top to bottom (presets marked; Default last)', response: { 200: z.object({ items: z.array(ruleSchema) }), ...errors() } },
    handler: async () => ({ items: (await repo.list()).map(view) }),
  });

  app.route({
    method: 'GET', url: '/api/v1/rules/:id',
    config: { access: 'rules.view' },
    schema: { tags: ['rules'], summary: 'One rule, by id or name', params: refParams, response: { 200: ruleSchema, ...errors(404) } },
    handler: async (req) => {
      const r = await repo.get(refOf(req.params.id));
      if (!r) throw new ApiError('not_found', new RuleNotFoundError(req.params.id).message);
      return view(r);
    },
  });

  app.route({
    method: 'POST', url: '/api/v1/rules',
    config: { access: 'rules.edit' },
    schema: {
      tags: ['rules'], summary: 'Create a rule (fields left out take the shipped settings); placed last above Default, or at `position`',
      body: ruleInput, response: { 201: ruleSchema, ...errors(400, 409) },
    },
    handler: async (req, reply) => {
      const { position, ...input } = req.body;
      if (position !== undefined && (typeof position !== 'number' || !Number.isInteger(position) || position < 1)) {
        throw new ApiError('validation_failed', 'position: expected a whole number from 1', [{ path: 'position', message: 'expected a whole number from 1' }]);
      }
      let r: StoredRule;
      try {
        r = await repo.create(input, now());
        if (position !== undefined && position !== r.position) r = await repo.move(r.id, { to: position as number }, now());
      } catch (err) { fromRepo(err); }
      await req.audit({ action: 'rules.create', target: `rule:${r.id}`, after: ruleToDoc(r) });
      return reply.code(201).send(view((await repo.get(r.id)) ?? r));
    },
  });

  app.route({
    method: 'PATCH', url: '/api/v1/rules/:id',
    config: { access: 'rules.edit' },
    schema: {
      tags: ['rules'], summary: 'Change a rule: the fields given replace the stored ones (each module given is merged over the stored module)',
      params: refParams, body: ruleInput, response: { 200: ruleSchema, ...errors(400, 404, 409) },
    },
    handler: async (req) => {
      let res: Awaited<ReturnType<RulesRepo['update']>>;
      try { res = await repo.update(refOf(req.params.id), req.body, now()); } catch (err) { fromRepo(err); }
      if (res.changed) {
        const changes = diffRules(ruleToDoc(res.before), ruleToDoc(res.after));
        await req.audit({
          action: 'rules.update', target: `rule:${res.after.id}`,
          before: Object.fromEntries(changes.map((c) => [c.path, c.before])), after: Object.fromEntries(changes.map((c) => [c.path, c.after])),
        });
      }
      return view(res.after);
    },
  });

  app.route({
    method: 'DELETE', url: '/api/v1/rules/:id',
    config: { access: 'rules.edit' },
    schema: { tags: ['rules'], summary: 'Delete a rule (never a preset: 409)', params: refParams, response: { 204: z.undefined(), ...errors(404, 409) } },
    handler: async (req, reply) => {
      let gone: StoredRule;
      try { gone = await repo.remove(refOf(req.params.id), now()); } catch (err) { fromRepo(err); }
      await req.audit({ action: 'rules.delete', target: `rule:${gone.id}`, before: ruleToDoc(gone) });
      return reply.code(204).send();
    },
  });

  for (const verb of ['enable', 'disable'] as const) {
    app.route({
      method: 'POST', url: `/api/v1/rules/:id/${verb}`,
      config: { access: 'rules.edit' },
      schema: { tags: ['rules'], summary: verb === 'enable' ? 'Enable a rule' : 'Disable a rule (not Default: 409)', params: refParams, response: { 200: ruleSchema, ...errors(404, 409) } },
      handler: async (req) => {
        let res: Awaited<ReturnType<RulesRepo['setEnabled']>>;
        try { res = await repo.setEnabled(refOf(req.params.id), verb === 'enable', now()); } catch (err) { fromRepo(err); }
        if (res.changed) await req.audit({ action: `rules.${verb}`, target: `rule:${res.rule.id}`, before: { enabled: verb !== 'enable' }, after: { enabled: verb === 'enable' } });
        return view(res.rule);
      },
    });
  }

  app.route({
    method: 'POST', url: '/api/v1/rules/:id/move',
    config: { access: 'rules.edit' },
    schema: {
      tags: ['rules'], summary: 'Move a rule to a position (1 = top) or just above / below another rule; Default cannot move',
      params: refParams, body: moveBody, response: { 200: z.object({ items: z.array(ruleSchema) }), ...errors(400, 404, 409) },
    },
    handler: async (req) => {
      const before = await repo.get(refOf(req.params.id));
      let moved: StoredRule;
      try { moved = await repo.move(refOf(req.params.id), req.body as MoveTarget, now()); } catch (err) { fromRepo(err); }
      if (before && before.position !== moved.position) {
        await req.audit({ action: 'rules.move', target: `rule:${moved.id}`, before: { position: before.position }, after: { position: moved.position } });
      }
      return { items: (await repo.list()).map(view) };
    },
  });

  app.route({
    method: 'PUT', url: '/api/v1/rules/order',
    config: { access: 'rules.edit' },
    schema: {
      tags: ['rules'], summary: 'Set the whole order: every rule but Default, by id or name, top first (Default stays last)',
      body: z.object({ order: z.array(ref).min(1).max(10_000) }).strict(),
      response: { 200: z.object({ items: z.array(ruleSchema) }), ...errors(400, 409) },
    },
    handler: async (req) => {
      const list = await repo.list();
      const movable = list.filter((r) => r.preset !== 'Default');
      const find = (x: string | number) => (typeof x === 'number' || /^\d+$/.test(x) ? list.find((r) => r.id === Number(x))
        : list.find((r) => r.name === x) ?? list.find((r) => r.name.toLowerCase() === x.toLowerCase()));
      const ids: number[] = [];
      const fields: { path: string; message: string }[] = [];
      req.body.order.forEach((x, i) => {
        const r = find(x);
        if (!r) fields.push({ path: `order.${i}`, message: `no rule ${JSON.stringify(x)}` });
        else if (r.preset === 'Default') fields.push({ path: `order.${i}`, message: 'the Default rule is always last: leave it out' });
        else if (ids.includes(r.id)) fields.push({ path: `order.${i}`, message: `${r.name} is listed twice` });
        else ids.push(r.id);
      });
      const missing = movable.filter((r) => !ids.includes(r.id));
      if (!fields.length && missing.length) fields.push({ path: 'order', message: `every rule but Default must be listed; missing: ${missing.map((r) => r.name).slice(0, 10).join(', ')}` });
      if (fields.length) throw new ApiError('validation_failed', `invalid order: ${fields.map((f) => `${f.path}: ${f.message}`).slice(0, 5).join('; ')}`, fields);
      const beforeOrder = movable.map((r) => r.name);
      // One move per rule, top first: each is atomic in the store, and after the last the order is the one asked.
      try { for (const [i, id] of ids.entries()) await repo.move(id, { to: i + 1 }, now()); } catch (err) { fromRepo(err); }
      const after = await repo.list();
      const afterOrder = after.filter((r) => r.preset !== 'Default').map((r) => r.name);
      if (JSON.stringify(beforeOrder) !== JSON.stringify(afterOrder)) await req.audit({ action: 'rules.order', target: 'rules', before: beforeOrder, after: afterOrder });
      return { items: after.map(view) };
    },
  });
};
