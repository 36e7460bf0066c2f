/**
 * Local accounts (SPEC §8): list, get, create, update (role, disabled, addresses), delete, unlock, reset
 * password. Reading needs `accounts.view`, changing `accounts.edit`; the rules (admin protected, no privilege
 * escalation, password policy) are in accounts/service.ts. Every change is audited, without password hashes.
 *
 * Hostile input: user names, roles, addresses, passwords (bounded here, checked in the service).
 */
import { z } from 'zod';
import type { RouteModule } from './index.ts';
import { accountSchema, addresses, errors, password, usernameParams } from './schemas.ts';

export const accountsRoutes: RouteModule = (app, ctx) => {
  const svc = ctx.accounts;

  app.route({
    method: 'GET', url: '/api/v1/accounts',
    config: { access: 'accounts.view' },
    schema: { tags: ['accounts'], summary: 'List accounts', response: { 200: z.object({ items: z.array(accountSchema) }), ...errors() } },
    handler: async () => ({ items: (await svc.accounts.list()).map((a) => svc.view(a)) }),
  });

  app.route({
    method: 'GET', url: '/api/v1/accounts/:username',
    config: { access: 'accounts.view' },
    schema: { tags: ['accounts'], summary: 'One account', params: usernameParams, response: { 200: accountSchema, ...errors(404) } },
    handler: async (req) => svc.view(await svc.get(req.params.username)),
  });

  app.route({
    method: 'POST', url: '/api/v1/accounts',
    config: { access: 'accounts.edit' },
    schema: {
      tags: ['accounts'], summary: 'Create a local account; without a password one is generated and returned once',
      body: z.object({
        username: z.string().min(1).max(128),
        role: z.string().min(1).max(64),
        password: password.optional(),
        addresses: addresses.optional(),
        disabled: z.boolean().optional(),
        mustChangePassword: z.boolean().optional().describe('default true: the password must be changed at first sign-in'),
      }).strict(),
      response: { 201: z.object({ account: accountSchema, generatedPassword: z.string().optional() }), ...errors(400, 409) },
    },
    handler: async (req, reply) => {
      const r = await svc.create(req.principal, req.body);
      const view = svc.view(r.account);
      await req.audit({ action: 'accounts.create', target: `account:${view.username}`, after: view });
      return reply.code(201).send({ account: view, ...(r.generatedPassword ? { generatedPassword: r.generatedPassword } : {}) });
    },
  });

  app.route({
    method: 'PATCH', url: '/api/v1/accounts/:username',
    config: { access: 'accounts.edit' },
    schema: {
      tags: ['accounts'], summary: "Change an account's role, disabled flag or addresses",
      params: usernameParams,
      body: z.object({ role: z.string().min(1).max(64).optional(), disabled: z.boolean().optional(), addresses: addresses.optional() }).strict(),
      response: { 200: accountSchema, ...errors(400, 404, 409) },
    },
    handler: async (req) => {
      const { before, after } = await svc.update(req.principal, req.params.username, req.body);
      const view = svc.view(after);
      await req.audit({ action: 'accounts.update', target: `account:${view.username}`, before: svc.view(before), after: view });
      return view;
    },
  });

  app.route({
    method: 'DELETE', url: '/api/v1/accounts/:username',
    config: { access: 'accounts.edit' },
    schema: { tags: ['accounts'], summary: 'Delete an account (not admin, not yourself); its sessions and tokens end', params: usernameParams, response: { 204: z.undefined(), ...errors(404, 409) } },
    handler: async (req, reply) => {
      const gone = await svc.remove(req.principal, req.params.username);
      await req.audit({ action: 'accounts.delete', target: `account:${gone.username}`, before: svc.view(gone) });
      return reply.code(204).send();
    },
  });

  app.route({
    method: 'POST', url: '/api/v1/accounts/:username/unlock',
    config: { access: 'accounts.edit' },
    schema: { tags: ['accounts'], summary: 'Unlock an account locked after failed sign-ins', params: usernameParams, response: { 200: accountSchema, ...errors(404) } },
    handler: async (req) => {
      const a = svc.view(await svc.unlock(req.principal, req.params.username));
      await req.audit({ action: 'accounts.unlock', target: `account:${a.username}` });
      return a;
    },
  });

  app.route({
    method: 'POST', url: '/api/v1/accounts/:username/password',
    config: { access: 'accounts.edit' },
    schema: {
      tags: ['accounts'], summary: "Set (or generate) an account's password; by default it must be changed at the next sign-in",
      params: usernameParams,
      body: z.object({ password: password.optional(), mustChangePassword: z.boolean().optional() }).strict().optional(),
      response: { 200: z.object({ generatedPassword: z.string().optional() }), ...errors(400, 404, 409) },
    },
    handler: async (req) => {
      const r = await svc.resetPassword(req.principal, req.params.username, { password: req.body?.password, mustChange: req.body?.mustChangePassword });
      await req.audit({ action: 'accounts.password_reset', target: `account:${req.params.username.toLowerCase()}` });
      return r.generatedPassword ? { generatedPassword: r.generatedPassword } : {};
    },
  });
};
