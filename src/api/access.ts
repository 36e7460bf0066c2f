/**
 * Access control of the API: every route under /api/v1 declares who may call it in `config.access`, and the
 * app refuses to start when one does not (the `onRoute` hook throws). A route outside /api/v1 that declares
 * `config.access` (GET /metrics) is checked the same way. Values:
 * - `'public'`: anyone (sign-in);
 * - `'authenticated'`: any signed-in account or token (own profile, own tokens, health);
 * - `'personal'`: any signed-in account, acting only on its own addresses (`request.principal.addresses`);
 * - a permission such as `'rules.edit'` (accounts/permissions.ts): accounts whose role holds it.
 *
 * The check runs in `onRequest`, before the body is parsed or validated, so 401/403 come before 400. Order:
 * credentials (a Bearer token when an Authorization header is sent, else the session cookie) → 401
 * `unauthenticated`; CSRF for cookie requests that change state (not GET/HEAD/OPTIONS) → 403 `csrf_failed`;
 * a due password change (sessions only) → 403 `password_change_required` unless the route sets
 * `config.duringPasswordChange`; the permission → 403 `forbidden`.
 */
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { isPermission, type Permission } from '../accounts/permissions.ts';
import { SESSION_COOKIE, csrfMatches } from '../accounts/sessions.ts';
import type { Principal } from '../accounts/principal.ts';
import type { ApiContext } from './context.ts';
import { ApiError, sendError } from './errors.ts';

export type Access = 'public' | 'authenticated' | 'personal' | Permission;

export interface AuditInput { action: string; target: string; before?: unknown; after?: unknown }

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route (required under /api/v1). */
    access?: Access;
    /** The route stays usable while the password must be changed (me, logout, password). */
    duringPasswordChange?: boolean;
  }
  interface FastifyRequest {
    /** The signed-in account (null on public routes without credentials). */
    principal: Principal | null;
    /** Records an audit entry for a change made by this request (actor, source `api`, client IP). Never throws. */
    audit(entry: AuditInput): Promise<void>;
  }
}

export const API_PREFIX = '/api/v1';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isAccess(a: unknown): a is Access {
  return a === 'public' || a === 'authenticated' || a === 'personal' || (typeof a === 'string' && isPermission(a));
}

function describeAccess(a: Access): string {
  if (a === 'public') return 'Access: public.';
  if (a === 'authenticated') return 'Access: any signed-in account or API token.';
  if (a === 'personal') return "Access: any signed-in account; acts only on the account's own addresses.";
  return `Access: permission \`${a}\`.`;
}

/** The onRoute check, and the OpenAPI security/description of each route from its access. */
export function checkRoute(route: RouteOptions): void {
  const url = route.url ?? '';
  // Outside /api/v1 a route is checked only when it declares access (GET /metrics); others stay open (/healthz).
  if (!url.startsWith(API_PREFIX) && route.config?.access === undefined) return;
  const access = route.config?.access;
  if (!isAccess(access)) {
    throw new Error(`API route ${String(route.method)} ${url} declares no valid config.access ('public' | 'authenticated' | 'personal' | a permission); got ${JSON.stringify(access)}`);
  }
  const schema = (route.schema ??= {}) as Record<string, unknown>;
  schema.security = access === 'public' ? [] : [{ cookieAuth: [] }, { bearerAuth: [] }];
  const line = describeAccess(access);
  // Fastify hands the GET route's schema to its automatic HEAD route too: add the line once.
  if (typeof schema.description !== 'string' || !schema.description.includes(line)) schema.description = [schema.description, line].filter(Boolean).join('\n\n');
}

function bearer(req: FastifyRequest): string | undefined | null {
  const h = req.headers.authorization;
  if (h === undefined) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1] : undefined;
}

async function authenticate(ctx: ApiContext, req: FastifyRequest): Promise<Principal | null> {
  const b = bearer(req);
  if (b !== null) return b ? ctx.accounts.principalFromToken(b) : null;
  return ctx.accounts.principalFromSession(req.cookies?.[SESSION_COOKIE]);
}

export function installAccess(app: FastifyInstance, ctx: ApiContext): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('audit', async function audit(this: FastifyRequest, e: AuditInput) {
    try {
      await ctx.audit.audit({ actor: this.principal?.username ?? 'anonymous', source: 'api', ip: this.ip, action: e.action, target: e.target, before: e.before, after: e.after, time: ctx.clock.now() });
    } catch (err) {
      ctx.logger.error({ err: (err as Error).message, action: e.action, target: e.target }, 'audit entry could not be recorded');
    }
  });
  app.addHook('onRoute', checkRoute);
  app.addHook('onRequest', async (req, reply) => {
    const access = req.routeOptions.config?.access;
    // Every route that declares access is checked, also outside /api/v1 (GET /metrics).
    if (!access) return;
    const principal = await authenticate(ctx, req);
    req.principal = principal;
    if (access === 'public') return;
    if (!principal) return sendError(reply, new ApiError('unauthenticated', 'sign in (session cookie) or send an API token (Authorization: Bearer …)'));
    if (principal.via === 'session' && !SAFE_METHODS.has(req.method)) {
      const given = req.headers['x-csrf-token'];
      if (!csrfMatches(principal.csrfToken!, Array.isArray(given) ? given[0] : given)) {
        return sendError(reply, new ApiError('csrf_failed', 'missing or wrong X-CSRF-Token header (take it from the sign-in answer or GET /api/v1/auth/me)'));
      }
    }
    if (principal.via === 'session' && principal.mustChangePassword && !req.routeOptions.config.duringPasswordChange) {
      return sendError(reply, new ApiError('password_change_required', 'the password must be changed first: POST /api/v1/auth/password'));
    }
    if (access !== 'authenticated' && access !== 'personal' && !principal.permissions.has(access)) {
      return sendError(reply, new ApiError('forbidden', `this needs the permission ${access}`));
    }
  });
}
