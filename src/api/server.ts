/**
 * The HTTP listener (Fastify). Today: `GET /healthz` for load balancers and monitoring — 200 with the node's
 * name, version, settings version, queue size and open SMTP sessions while the node runs, 503 once it is
 * stopping. The REST API and the console mount here later; every route but /healthz will require auth.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { ListenAddress } from '../config/bootstrap.ts';

export interface HealthSource {
  health(): Promise<{ ok: boolean; [k: string]: unknown }>;
}

export async function startHttp(listen: ListenAddress, source: HealthSource): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  app.get('/healthz', async (_req, reply) => {
    const h = await source.health().catch((err) => ({ ok: false, error: (err as Error).message }));
    return reply.code(h.ok ? 200 : 503).send(h);
  });
  await app.listen({ host: listen.host, port: listen.port });
  return app;
}
