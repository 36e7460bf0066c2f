/**
 * Notification templates over the API (SPEC §4; docs/notifications.md): list (with the macros each kind of
 * template may use), one template, update (an edited shipped template or a custom `custom.NAME` one; audited with
 * before and after), reset to the shipped text (a custom template is deleted; audited), and a preview rendered
 * with sample macro values (of the stored template, or of unsaved text sent in the body). Access: settings.view
 * to read and preview, settings.edit to change.
 *
 * Hostile input: ids (checked by the templates service: shipped ids and custom.NAME only), template bodies
 * (subject one line ≤ 500, text ≤ 20,000, HTML ≤ 50,000 characters; refused with 400 and one field per
 * problem), and preview values (at most 50, names of macros, values ≤ 4,000 characters; values are sanitised by
 * the renderer for where they land).
 */
import { z } from 'zod';
import type { RouteModule } from './index.ts';
import { ApiError } from '../errors.ts';
import { errors } from './schemas.ts';
import { need, problemsError } from './problems.ts';
import { TemplateError, TemplateNotFoundError, TemplatesRepo, macrosFor, type Template } from '../../notifications/templates.ts';

const templateSchema = z.object({
  id: z.string(),
  kind: z.enum(['rule', 'system', 'custom']),
  subject: z.string(),
  text: z.string(),
  html: z.string().nullable(),
  edited: z.boolean().describe('the text differs from the shipped one (always true for custom templates)'),
  updatedAt: z.number().nullable(),
  macros: z.array(z.string()).describe('macro names (%NAME%) this kind of template may use'),
}).meta({ id: 'NotificationTemplate' });

const renderedSchema = z.object({ subject: z.string(), text: z.string(), html: z.string().nullable() });

const idParams = z.object({ id: z.string().min(1).max(80).describe('e.g. sender.antivirus, system.start, custom.my-note') });

const contentBody = z.object({
  subject: z.string().max(2000),
  text: z.string().max(100_000),
  html: z.string().max(200_000).nullable().optional(),
}).strict();

const withMacros = (t: Template) => ({ ...t, macros: [...macrosFor(t.kind)] });

function templateError(err: unknown): unknown {
  if (err instanceof TemplateError) return problemsError(err.problems);
  if (err instanceof TemplateNotFoundError) return new ApiError('not_found', err.message);
  return err;
}

export const notificationsRoutes: RouteModule = (app, ctx) => {
  const repo = () => need(ctx.templates, 'notification templates');

  app.route({
    method: 'GET', url: '/api/v1/notifications/templates',
    config: { access: 'settings.view' },
    schema: { tags: ['notifications'], summary: 'Every notification template (shipped, edited and custom)', response: { 200: z.object({ items: z.array(templateSchema) }), ...errors() } },
    handler: async () => ({ items: (await repo().list()).map(withMacros) }),
  });

  app.route({
    method: 'GET', url: '/api/v1/notifications/templates/:id',
    config: { access: 'settings.view' },
    schema: { tags: ['notifications'], summary: 'One notification template', params: idParams, response: { 200: templateSchema, ...errors(404) } },
    handler: async (req) => {
      const t = await repo().get(req.params.id);
      if (!t) throw new ApiError('not_found', `no template ${JSON.stringify(req.params.id.slice(0, 80))}`);
      return withMacros(t);
    },
  });

  app.route({
    method: 'PUT', url: '/api/v1/notifications/templates/:id',
    config: { access: 'settings.edit' },
    schema: {
      tags: ['notifications'], summary: 'Change a template (or create custom.NAME): subject, text and optional HTML with %MACROS%',
      params: idParams, body: contentBody, response: { 200: templateSchema, ...errors(400) },
    },
    handler: async (req) => {
      const r = repo();
      const before = await r.get(req.params.id);
      let after: Template;
      try { after = await r.update(req.params.id, { ...req.body, html: req.body.html ?? null }, ctx.clock.now()); } catch (err) { throw templateError(err); }
      await req.audit({ action: 'notifications.template_update', target: `template:${after.id}`, before: before && { subject: before.subject, text: before.text, html: before.html }, after: { subject: after.subject, text: after.text, html: after.html } });
      return withMacros(after);
    },
  });

  app.route({
    method: 'POST', url: '/api/v1/notifications/templates/:id/reset',
    config: { access: 'settings.edit' },
    schema: {
      tags: ['notifications'], summary: 'Back to the shipped text (a custom template is deleted)',
      params: idParams, response: { 200: z.object({ template: templateSchema.nullable().describe('what is in force now; null when a custom template was deleted') }), ...errors(404) },
    },
    handler: async (req) => {
      const r = repo();
      const before = await r.get(req.params.id);
      let now: Template | undefined;
      try { now = await r.reset(req.params.id); } catch (err) { throw templateError(err); }
      await req.audit({ action: 'notifications.template_reset', target: `template:${req.params.id}`, before: before && { subject: before.subject, text: before.text, html: before.html, edited: before.edited } });
      return { template: now ? withMacros(now) : null };
    },
  });

  app.route({
    method: 'POST', url: '/api/v1/notifications/templates/:id/preview',
    config: { access: 'settings.view' },
    schema: {
      tags: ['notifications'], summary: 'Render a template with sample macro values (or yours); `template` previews unsaved text',
      params: idParams,
      body: z.object({
        values: z.record(z.string().regex(/^[A-Z][A-Z0-9_]{0,39}$/, 'a macro name such as SENDER'), z.string().max(4000)).optional()
          .refine((v) => !v || Object.keys(v).length <= 50, 'at most 50 values').describe('macro values over the samples'),
        template: contentBody.optional(),
      }).strict().optional(),
      response: { 200: renderedSchema, ...errors(400, 404) },
    },
    handler: async (req) => {
      const b = req.body ?? {};
      if (!TemplatesRepo.validId(req.params.id)) throw new ApiError('not_found', `no template ${JSON.stringify(req.params.id.slice(0, 80))}`);
      try {
        return await repo().preview(req.params.id, b.values ?? {}, b.template === undefined ? undefined : { ...b.template, html: b.template.html ?? null });
      } catch (err) { throw templateError(err); }
    },
  });
};
