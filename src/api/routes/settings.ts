/**
 * The settings document over the API (SPEC §1, §9; docs/settings.md): read all or one section, replace all or one
 * section, merge-patch a section (RFC 7396: objects merge, `null` removes a field so its default applies, arrays
 * replace), export (optionally chosen groups, with the rules) and import with a dry-run diff.
 *
 * Access: settings.view to read, settings.edit to change; an import that carries rules also needs rules.edit.
 * Optimistic concurrency: every answer carries the version in force (and GET an ETag); a change sent with
 * `version` (body) or `If-Match` answers 409 `conflict` when another version is in force meanwhile.
 * Secrets (TLS private key, passwords) are never returned: see settings-write.ts.
 *
 * Hostile input: whole documents (≤ 1 MiB body); validation by the settings schema refuses them whole with one
 * field per problem; `__proto__`-style keys are refused.
 */
import { z } from 'zod';
import type { RouteModule } from './index.ts';
import { getPath, diffSettings, validateSettings, SettingsValidationError } from '../../config/settings.ts';
import { settingsSchema } from '../../config/settings-schema.ts';
import { RulesRepo, ruleToDoc, type RuleChange } from '../../store/rules-repo.ts';
import { RuleValidationError } from '../../policy/schema.ts';
import { ApiError } from '../errors.ts';
import { errors } from './schemas.ts';
import { changeSettings, expectedVersion, problemsToFields, redactChange, redactSettings, restoreSecrets } from './settings-write.ts';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** The sections of the document (its top-level keys), from the schema. */
export function settingsSections(): string[] {
  return Object.keys(settingsSchema.shape);
}

const doc = z.record(z.string(), z.unknown());
const changeSchema = z.object({ path: z.string(), before: z.unknown(), after: z.unknown() }).meta({ id: 'SettingsChange' });
const version = z.number().int().min(0).optional().describe('the settings version this change is based on (else If-Match); 409 when another is in force');
const changeBody = z.object({ version, settings: doc }).strict();
const sectionParams = z.object({ section: z.string().min(1).max(64) });
const changed = z.object({ version: z.number().int(), changes: z.array(changeSchema), settings: doc.describe('the document (or section) now in force, secrets hidden') });

/** RFC 7396 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown, path = ''): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const base = target !== null && typeof target === 'object' && !Array.isArray(target) ? target as Record<string, unknown> : {};
  const out = new Map(Object.entries(base));
  for (const [k, v] of Object.entries(patch)) {
    if (FORBIDDEN_KEYS.has(k)) throw new ApiError('validation_failed', `${path}${k}: not a settings field`, [{ path: `${path}${k}`, message: 'not a settings field' }]);
    if (v === null) out.delete(k); else out.set(k, mergePatch(base[k], v, `${path}${k}.`));
  }
  return Object.fromEntries(out);
}

function needSection(section: string): void {
  if (!settingsSections().includes(section)) throw new ApiError('not_found', `no settings section ${JSON.stringify(section.slice(0, 64))} (sections: ${settingsSections().join(', ')})`);
}

/** `only=a.b,rules` of export and import: settings paths and/or `rules`. */
function parseOnly(only: string | undefined): { paths: string[] | null; rules: boolean | null } {
  if (only === undefined) return { paths: null, rules: null };
  const list = only.split(',').map((p) => p.trim()).filter(Boolean);
  if (!list.length) throw new ApiError('validation_failed', 'only: name at least one settings path or rules', [{ path: 'query.only', message: 'empty' }]);
  for (const p of list) {
    if (p === 'rules') continue;
    if (!/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/.test(p) || p.split('.').some((x) => FORBIDDEN_KEYS.has(x))) {
      throw new ApiError('validation_failed', `only: ${JSON.stringify(p.slice(0, 100))} is not a settings path`, [{ path: 'query.only', message: `not a settings path: ${p.slice(0, 100)}` }]);
    }
  }
  return { paths: list.filter((p) => p !== 'rules'), rules: list.includes('rules') };
}

/** A copy of `value` at `path` in a fresh nested object. */
function placeAt(root: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = root;
  for (const p of parts.slice(0, -1)) {
    if (cur[p] === null || typeof cur[p] !== 'object') cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]] = value;
}

function setAt(root: unknown, path: string, value: unknown): unknown {
  const copy = structuredClone(root) as Record<string, unknown>;
  placeAt(copy, path, value);
  return copy;
}

export const settingsRoutes: RouteModule = (app, ctx) => {
  const rules = new RulesRepo(ctx.db);

  app.route({
    method: 'GET', url: '/api/v1/settings',
    config: { access: 'settings.view' },
    schema: { tags: ['settings'], summary: 'The whole settings document in force and its version (secrets hidden)', response: { 200: z.object({ version: z.number().int(), settings: doc }), ...errors() } },
    handler: async (_req, reply) => {
      await ctx.settings.refresh().catch(() => {});
      reply.header('etag', `"${ctx.settings.version}"`);
      return { version: ctx.settings.version, settings: redactSettings(ctx.settings.snapshot()) };
    },
  });

  app.route({
    method: 'PUT', url: '/api/v1/settings',
    config: { access: 'settings.edit' },
    schema: { tags: ['settings'], summary: 'Replace the whole settings document (fields left out take their defaults)', body: changeBody, response: { 200: changed, ...errors(400, 409) } },
    handler: async (req) => {
      const r = await changeSettings(ctx, req, {
        action: 'settings.update', target: 'settings', expected: expectedVersion(req, req.body.version),
        build: (cur) => restoreSecrets(req.body.settings, cur),
      });
      return { version: r.version, changes: r.changes, settings: redactSettings(r.after) };
    },
  });

  app.route({
    method: 'GET', url: '/api/v1/settings/export',
    config: { access: 'settings.view' },
    schema: {
      tags: ['settings'], summary: 'Export the settings (and the rules) as one versioned document; secrets hidden (an import keeps the stored ones)',
      querystring: z.object({ only: z.string().max(2000).optional().describe('comma-separated settings paths and/or `rules`, e.g. mta.domains,mta.relayHost,rules') }).strict(),
      response: { 200: z.object({ format: z.literal('moat-settings/1'), settingsVersion: z.number().int(), exportedAt: z.string(), settings: doc.optional(), rules: z.array(doc).optional() }), ...errors(400, 404) },
    },
    handler: async (req) => {
      const { paths, rules: withRules } = parseOnly(req.query.only);
      const s = redactSettings(ctx.settings.snapshot());
      let settings: Record<string, unknown> | undefined = s as unknown as Record<string, unknown>;
      if (paths) {
        settings = paths.length ? {} : undefined;
        for (const p of paths) {
          const v = getPath(s, p);
          if (v === undefined) throw new ApiError('not_found', `no setting ${p}`);
          placeAt(settings!, p, v);
        }
      }
      const out: { format: 'moat-settings/1'; settingsVersion: number; exportedAt: string; settings?: Record<string, unknown>; rules?: Record<string, unknown>[] } = {
        format: 'moat-settings/1', settingsVersion: ctx.settings.version, exportedAt: new Date(ctx.clock.now()).toISOString(),
      };
      if (settings) out.settings = settings;
      if (withRules !== false) out.rules = (await rules.list()).map((r) => ruleToDoc(r) as unknown as Record<string, unknown>);
      return out;
    },
  });

  app.route({
    method: 'POST', url: '/api/v1/settings/import',
    config: { access: 'settings.edit' },
    schema: {
      tags: ['settings'],
      summary: 'Import an exported document (or a bare settings document), or only the groups named by `only`; `dryRun=true` answers the differences and writes nothing',
      querystring: z.object({
        dryRun: z.enum(['true', 'false']).optional(),
        only: z.string().max(2000).optional().describe('comma-separated settings paths and/or `rules`'),
        version: z.coerce.number().int().min(0).optional().describe('the settings version this import is based on; 409 when another is in force'),
      }).strict(),
      body: doc,
      response: {
        200: z.object({
          dryRun: z.boolean(), version: z.number().int(), changes: z.array(changeSchema),
          ruleChanges: z.array(z.object({ kind: z.enum(['add', 'delete', 'change', 'order']), rule: z.string(), path: z.string().optional(), before: z.unknown().optional(), after: z.unknown().optional() })),
        }),
        ...errors(400, 404, 409),
      },
    },
    handler: async (req) => {
      const dryRun = req.query.dryRun === 'true';
      const body = req.body;
      const envelope = ['format', 'settings', 'rules'].some((k) => Object.hasOwn(body, k));
      const settingsBody = envelope ? body.settings : body;
      const rulesBody = envelope ? body.rules : undefined;
      const { paths, rules: onlyRules } = parseOnly(req.query.only);
      const withRules = paths ? !!onlyRules : rulesBody !== undefined;
      const withSettings = paths ? paths.length > 0 : settingsBody != null;
      if (!withRules && !withSettings) throw new ApiError('validation_failed', 'the document holds no settings and no rules', [{ path: '(body)', message: 'no settings and no rules' }]);
      if (withRules && rulesBody === undefined) throw new ApiError('validation_failed', 'the document has no rules', [{ path: 'rules', message: 'missing' }]);
      if (withSettings && (settingsBody === null || typeof settingsBody !== 'object' || Array.isArray(settingsBody))) {
        throw new ApiError('validation_failed', 'settings: expected an object', [{ path: envelope ? 'settings' : '(body)', message: 'expected an object' }]);
      }
      if (withRules && !req.principal?.permissions.has('rules.edit')) throw new ApiError('forbidden', 'importing rules needs the permission rules.edit');
      // Rules are checked before anything is written; settings are validated (and stored) by changeSettings.
      let rulePlan: RuleChange[] = [];
      if (withRules) {
        try { rulePlan = await rules.planImport(rulesBody); } catch (err) {
          if (err instanceof RuleValidationError) throw new ApiError('validation_failed', err.message.slice(0, 2000), problemsToFields(err.problems));
          throw err;
        }
      }
      const build = (cur: unknown) => {
        const restored = restoreSecrets(settingsBody, cur) as Record<string, unknown>;
        if (!paths) return restored;
        let merged: unknown = cur;
        for (const p of paths) {
          const v = getPath(restored, p);
          if (v === undefined) throw new ApiError('validation_failed', `the document has no ${p}`, [{ path: p, message: 'missing in the document' }]);
          merged = setAt(merged, p, v);
        }
        return merged;
      };
      let version = ctx.settings.version;
      let changes: ReturnType<typeof redactChange>[] = [];
      const expected = req.query.version;
      if (withSettings) {
        if (dryRun) {
          if (expected !== undefined && expected !== ctx.settings.version) throw new ApiError('conflict', `the settings changed meanwhile (version ${ctx.settings.version} is in force)`);
          try {
            changes = diffSettings(ctx.settings.snapshot(), validateSettings(build(structuredClone(ctx.settings.snapshot())))).map(redactChange);
          } catch (err) {
            if (err instanceof SettingsValidationError) throw new ApiError('validation_failed', err.message.slice(0, 2000), problemsToFields(err.problems));
            throw err;
          }
        } else {
          const r = await changeSettings(ctx, req, { action: 'settings.import', target: paths ? `settings:${paths.join(',')}` : 'settings', expected, build });
          version = r.version;
          changes = r.changes;
        }
      }
      let ruleChanges = rulePlan;
      if (withRules && !dryRun) {
        ruleChanges = await rules.importRules(rulesBody);
        if (ruleChanges.length) await req.audit({ action: 'rules.import', target: 'rules', after: ruleChanges });
      }
      return { dryRun, version, changes, ruleChanges };
    },
  });

  app.route({
    method: 'GET', url: '/api/v1/settings/:section',
    config: { access: 'settings.view' },
    schema: { tags: ['settings'], summary: 'One section of the settings (mta, scan, dkim, …), secrets hidden', params: sectionParams, response: { 200: z.object({ version: z.number().int(), section: z.string(), settings: z.unknown() }), ...errors(404) } },
    handler: async (req, reply) => {
      needSection(req.params.section);
      await ctx.settings.refresh().catch(() => {});
      reply.header('etag', `"${ctx.settings.version}"`);
      return { version: ctx.settings.version, section: req.params.section, settings: redactSettings(getPath(ctx.settings.snapshot(), req.params.section)) };
    },
  });

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method, url: '/api/v1/settings/:section',
      config: { access: 'settings.edit' },
      schema: {
        tags: ['settings'],
        summary: method === 'PUT' ? 'Replace one section (fields left out take their defaults)' : 'Change fields of one section (JSON merge patch, RFC 7396: null resets a field to its default)',
        params: sectionParams, body: changeBody, response: { 200: changed, ...errors(400, 404, 409) },
      },
      handler: async (req) => {
        const section = req.params.section;
        needSection(section);
        const r = await changeSettings(ctx, req, {
          action: 'settings.update', target: `settings:${section}`, expected: expectedVersion(req, req.body.version),
          build: (cur) => {
            const curSection = (cur as Record<string, unknown>)[section];
            const next = method === 'PUT' ? req.body.settings : mergePatch(curSection, req.body.settings, `${section}.`);
            return { ...cur, [section]: restoreSecrets(next, curSection, section) };
          },
        });
        return { version: r.version, changes: r.changes, settings: redactSettings((r.after as Record<string, unknown>)[section]) as Record<string, unknown> };
      },
    });
  }
};
