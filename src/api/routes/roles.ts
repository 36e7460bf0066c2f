/**
 * Roles and permissions (SPEC §8): the fixed roles and custom roles (name, description, permission subset).
 * Reading needs `accounts.view`, changing `accounts.edit`. A fixed role cannot be changed or deleted, a role in
 * use cannot be deleted (409). A caller cannot create or widen a role beyond its own permissions.
 */
import { z } from 'zod';
import type { RouteModule } from './index.ts';
import { PERMISSIONS, isPermission } from '../../accounts/permissions.ts';
import { ApiError } from '../errors.ts';
import { errors, permissionSchema, roleSchema } from './schemas.ts';
import type { Principal } from '../../accounts/principal.ts';

const nameParams = z.object({ name: z.string().min(1).max(64) });

function noEscalation(p: Principal | null, permissions: readonly string[] | undefined): void {
  // Unknown names are left to the role service, which refuses them as a validation error.
  const missing = (permissions ?? []).filter(isPermission).filter((x) => !p?.permissions.has(x));
  if (missing.length) throw new ApiError('forbidden', `you cannot grant permissions you do not hold (${missing.slice(0, 3).join(', ')})`);
}

export const rolesRoutes: RouteModule = (app, ctx) => {
  const roles = ctx.accounts.roles;

  app.route({
    method: 'GET', url: '/api/v1/permissions',
    config: { access: 'accounts.view' },
    schema: { tags: ['roles'], summary: 'Every permission a role can hold', response: { 200: z.object({ items: z.array(permissionSchema) }), ...errors() } },
    handler: async () => ({ items: [...PERMISSIONS] }),
  });

  app.route({
    method: 'GET', url: '/api/v1/roles',
    config: { access: 'accounts.view' },
    schema: { tags: ['roles'], summary: 'List roles (fixed and custom)', response: { 200: z.object({ items: z.array(roleSchema) }), ...errors() } },
    handler: async () => ({ items: await roles.list() }),
  });

  app.route({
    method: 'GET', url: '/api/v1/roles/:name',
    config: { access: 'accounts.view' },
    schema: { tags: ['roles'], summary: 'One role', params: nameParams, response: { 200: roleSchema, ...errors(404) } },
    handler: async (req) => {
      const r = await roles.find(req.params.name);
      if (!r) throw new ApiError('not_found', `no role ${req.params.name}`);
      return r;
    },
  });

  app.route({
    method: 'POST', url: '/api/v1/roles',
    config: { access: 'accounts.edit' },
    schema: {
      tags: ['roles'], summary: 'Create a custom role',
      body: z.object({ name: z.string().min(1).max(64), description: z.string().max(500).optional(), permissions: z.array(z.string().max(64)).max(100) }).strict(),
      response: { 201: roleSchema, ...errors(400, 409) },
    },
    handler: async (req, reply) => {
      noEscalation(req.principal, req.body.permissions);
      const r = await roles.create(req.body);
      await req.audit({ action: 'roles.create', target: `role:${r.name}`, after: r });
      return reply.code(201).send(r);
    },
  });

  app.route({
    method: 'PATCH', url: '/api/v1/roles/:name',
    config: { access: 'accounts.edit' },
    schema: {
      tags: ['roles'], summary: "Change a custom role's description or permissions",
      params: nameParams,
      body: z.object({ description: z.string().max(500).optional(), permissions: z.array(z.string().max(64)).max(100).optional() }).strict(),
      response: { 200: roleSchema, ...errors(400, 404, 409) },
    },
    handler: async (req) => {
      const current = await roles.find(req.params.name);
      if (current && !current.fixed) noEscalation(req.principal, [...current.permissions, ...(req.body.permissions ?? [])]);
      const { before, after } = await roles.update(req.params.name, req.body);
      await req.audit({ action: 'roles.update', target: `role:${after.name}`, before, after });
      return after;
    },
  });

  app.route({
    method: 'DELETE', url: '/api/v1/roles/:name',
    config: { access: 'accounts.edit' },
    schema: { tags: ['roles'], summary: 'Delete a custom role that no account holds', params: nameParams, response: { 204: z.undefined(), ...errors(404, 409) } },
    handler: async (req, reply) => {
      const current = await roles.find(req.params.name);
      if (current && !current.fixed) noEscalation(req.principal, current.permissions);
      const gone = await roles.remove(req.params.name);
      await req.audit({ action: 'roles.delete', target: `role:${gone.name}`, before: gone });
      return reply.code(204).send();
    },
  });
};
