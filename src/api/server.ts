/**
 * The HTTP listener: `startHttp(listen, ctx)` builds the app (app.ts: /healthz for load balancers, the REST API,
 * the OpenAPI document) and listens on the bootstrap address. Close it with `app.close()`.
 */
import type { FastifyInstance } from 'fastify';
import type { ListenAddress } from '../config/bootstrap.ts';
import type { ApiContext } from './context.ts';
import { buildApi, type BuildOptions } from './app.ts';

export type { HealthSource } from './context.ts';

export async function startHttp(listen: ListenAddress, ctx: ApiContext, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = await buildApi(ctx, opts);
  await app.listen({ host: listen.host, port: listen.port });
  return app;
}
