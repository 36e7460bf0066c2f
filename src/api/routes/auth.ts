/**
 * Sign-in and the signed-in user's own session (SPEC §8): POST /auth/login (public; sets the session cookie),
 * POST /auth/logout, GET /auth/me (account, role, permissions, addresses, mustChangePassword, csrfToken), POST
 * /auth/password (current + new). me, logout and password stay usable while a password change is due.
 *
 * Hostile input: user name and password (bounded; one answer for every failure, see accounts/login.ts); the
 * client IP is rate-limited (accounts.loginRatePerMinute).
 */
import { z } from 'zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RouteModule } from './index.ts';
import type { Principal } from '../../accounts/principal.ts';
import { SESSION_COOKIE } from '../../accounts/sessions.ts';
import { ApiError } from '../errors.ts';
import { errors, meSchema, password } from './schemas.ts';

export function meView(p: Principal): z.output<typeof meSchema> {
  return {
    username: p.username, role: p.role, permissions: [...p.permissions], personal: p.personal, addresses: [...p.addresses], source: p.source,
    via: p.via, mustChangePassword: p.mustChangePassword, csrfToken: p.csrfToken ?? null,
  };
}

function clearCookie(req: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'strict', secure: req.protocol === 'https' });
}

export const authRoutes: RouteModule = (app, ctx) => {
  app.route({
    method: 'POST', url: '/api/v1/auth/login',
    config: { access: 'public' },
    schema: {
      tags: ['auth'], summary: 'Sign in with user name and password; sets the session cookie',
      body: z.object({ username: z.string().min(1).max(256), password }),
      response: { 200: meSchema, ...errors(400, 429) },
    },
    handler: async (req, reply) => {
      if (!ctx.accounts.loginAllowed(req.ip)) throw new ApiError('too_many_requests', 'too many sign-in attempts from this address; wait a minute');
      const r = await ctx.accounts.login(req.body.username, req.body.password, { ip: req.ip, userAgent: req.headers['user-agent'] ?? null });
      if (!r) throw new ApiError('unauthenticated', 'wrong user name or password, or the account cannot sign in now');
      reply.setCookie(SESSION_COOKIE, r.sessionId, {
        path: '/', httpOnly: true, sameSite: 'strict', secure: req.protocol === 'https', maxAge: ctx.settings.snapshot().accounts.sessionLifetime,
      });
      return meView(r.principal);
    },
  });

  app.route({
    method: 'POST', url: '/api/v1/auth/logout',
    config: { access: 'authenticated', duringPasswordChange: true },
    schema: { tags: ['auth'], summary: 'End this session (and clear the cookie)', response: { 204: z.undefined(), ...errors() } },
    handler: async (req, reply) => {
      if (req.principal!.sessionHash) await ctx.accounts.sessions.end(req.principal!.sessionHash);
      clearCookie(req, reply);
      return reply.code(204).send();
    },
  });

  app.route({
    method: 'GET', url: '/api/v1/auth/me',
    config: { access: 'authenticated', duringPasswordChange: true },
    schema: { tags: ['auth'], summary: 'The signed-in account, its role, permissions, addresses and CSRF token', response: { 200: meSchema, ...errors() } },
    handler: async (req) => meView(req.principal!),
  });

  app.route({
    method: 'POST', url: '/api/v1/auth/password',
    config: { access: 'authenticated', duringPasswordChange: true },
    schema: {
      tags: ['auth'], summary: 'Change your own password (at least 12 characters, not your user name); ends your other sessions',
      body: z.object({ currentPassword: password, newPassword: password }),
      response: { 204: z.undefined(), ...errors(400, 409) },
    },
    handler: async (req, reply) => {
      await ctx.accounts.changeOwnPassword(req.principal!, req.body.currentPassword, req.body.newPassword);
      await req.audit({ action: 'auth.password', target: `account:${req.principal!.username}` });
      return reply.code(204).send();
    },
  });
};
