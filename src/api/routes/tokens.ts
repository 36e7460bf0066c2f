/**
 * API tokens (SPEC §8): anyone signed in lists, creates and revokes their own; `accounts.view` lists another
 * account's, `accounts.edit` revokes them. The secret is in the creation answer only. A token acts with its
 * owner's role.
 */
import { z } from 'zod';
import type { RouteModule } from './index.ts';
import { ApiError } from '../errors.ts';
import { errors, tokenSchema, usernameParams } from './schemas.ts';
import { MAX_TOKEN_DAYS } from '../../accounts/tokens.ts';

export const tokensRoutes: RouteModule = (app, ctx) => {
  const svc = ctx.accounts;

  app.route({
    method: 'GET', url: '/api/v1/tokens',
    config: { access: 'authenticated' },
    schema: { tags: ['tokens'], summary: 'Your API tokens', response: { 200: z.object({ items: z.array(tokenSchema) }), ...errors() } },
    handler: async (req) => ({ items: await svc.tokens.list(req.principal!.accountId) }),
  });

  app.route({
    method: 'POST', url: '/api/v1/tokens',
    config: { access: 'authenticated' },
    schema: {
      tags: ['tokens'], summary: 'Create an API token for yourself; the secret is shown only in this answer',
      body: z.object({ name: z.string().min(1).max(64), expiresInDays: z.number().int().min(1).max(MAX_TOKEN_DAYS).optional() }).strict(),
      response: { 201: z.object({ token: tokenSchema, secret: z.string() }), ...errors(400, 409) },
    },
    handler: async (req, reply) => {
      const r = await svc.tokens.create(req.principal!.accountId, req.body.name, req.body.expiresInDays);
      await req.audit({ action: 'tokens.create', target: `token:${r.token.id}`, after: r.token });
      return reply.code(201).send(r);
    },
  });

  app.route({
    method: 'DELETE', url: '/api/v1/tokens/:id',
    config: { access: 'authenticated' },
    schema: {
      tags: ['tokens'], summary: "Revoke one of your tokens (anyone's with accounts.edit)",
      params: z.object({ id: z.coerce.number().int().positive().max(2 ** 31) }),
      response: { 204: z.undefined(), ...errors(404) },
    },
    handler: async (req, reply) => {
      const p = req.principal!;
      const t = await svc.tokens.get(req.params.id);
      if (!t || (t.accountId !== p.accountId && !p.permissions.has('accounts.edit'))) throw new ApiError('not_found', `no token ${req.params.id}`);
      await svc.tokens.revoke(t.id);
      await req.audit({ action: 'tokens.revoke', target: `token:${t.id}`, before: t });
      return reply.code(204).send();
    },
  });

  app.route({
    method: 'GET', url: '/api/v1/accounts/:username/tokens',
    config: { access: 'accounts.view' },
    schema: { tags: ['tokens'], summary: "An account's API tokens", params: usernameParams, response: { 200: z.object({ items: z.array(tokenSchema) }), ...errors(404) } },
    handler: async (req) => ({ items: await svc.tokens.list((await svc.get(req.params.username)).id) }),
  });
};
