/**
 * The Fastify app of a node: `buildApi(ctx)` registers everything and returns the app WITHOUT listening
 * (startHttp in server.ts listens; tests may also use `app.inject`). It serves:
 * - `GET /healthz`: public, for load balancers (200 while the node runs, 503 once it stops);
 * - the REST API under `/api/v1` (routes/index.ts lists the route files), JSON in and out, zod schemas through
 *   fastify-type-provider-zod, access declared per route (access.ts), one error shape (errors.ts);
 * - the web console at `/` (console.ts);
 * - `GET /api/openapi.json`: the OpenAPI 3 document of every /api/v1 route (public), and `/api/docs`: a
 *   browsable reference (swagger-ui) of the same document.
 *
 * Hostile input: everything. Bodies are JSON only, at most 1 MiB; unknown routes answer 404 JSON. Cheap to
 * build: no hashing, no store access at build time (many tests start a node).
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiContext } from './context.ts';
import { installAccess } from './access.ts';
import { installErrorHandlers } from './errors.ts';
import { SESSION_COOKIE } from '../accounts/sessions.ts';
import { ROUTES, type RouteModule } from './routes/index.ts';
import { registerConsole, type ConsoleOptions } from './console.ts';

export interface BuildOptions {
  /** Route files to register instead of routes/index.ts's list (tests). */
  routes?: readonly RouteModule[];
  /** Report the app as stopping (GET /healthz answers 503). */
  stopping?: () => boolean;
  /** The web console at / (console.ts): its build folder, or false for none. Default: web/dist. */
  console?: ConsoleOptions | false;
}

export async function buildApi(ctx: ApiContext, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.logger.child({ component: 'api' }) as FastifyBaseLogger,
    // No line per request; errors are logged by the error handler (errors.ts).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    // Query strings: no arrays from `a[]=`, at most 100 parameters (Fastify's default parser is flat).
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandlers(app);
  await app.register(fastifyCookie);
  installAccess(app, ctx);

  app.get('/healthz', { schema: { hide: true } }, async (_req, reply) => {
    const h = opts.stopping?.() ? { ok: false, stopping: true } : await ctx.health.health().catch((err: unknown) => ({ ok: false, error: (err as Error).message }));
    return reply.code(h.ok ? 200 : 503).send(h);
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Moat REST API', version: ctx.version, description: 'Administration API of Moat, the mail security gateway. See docs/api.md.' },
      components: {
        securitySchemes: {
          cookieAuth: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'Session from POST /api/v1/auth/login; state-changing requests also need the X-CSRF-Token header.' },
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'API token (moat_…), created with POST /api/v1/tokens or `moat tokens create`.' },
        },
      },
      tags: [
        { name: 'auth', description: 'Sign-in, sessions, own password' },
        { name: 'accounts', description: 'Local accounts' },
        { name: 'roles', description: 'Roles and permissions' },
        { name: 'tokens', description: 'API tokens' },
        { name: 'system', description: 'Node health' },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/api/docs', staticCSP: true, uiConfig: { withCredentials: true } as never });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(async (api) => {
    const zapi = api.withTypeProvider<ZodTypeProvider>();
    for (const register of opts.routes ?? ROUTES) register(zapi, ctx);
  });
  // The web console (web/dist) at / with its SPA fallback and security headers; /api/* 404s stay JSON.
  if (opts.console !== false) await registerConsole(app as unknown as FastifyInstance, opts.console ?? {});
  return app as unknown as FastifyInstance;
}
