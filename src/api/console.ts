/**
 * Serves the built web console (web/dist, made by `npm run build:web`; docs/console.md) on the HTTP listener:
 * - files of the build: hashed assets under /assets/ with a year-long immutable cache, everything else
 *   (index.html, favicon) with `no-cache` so a new build is picked up at the next load;
 * - any other GET that is not under /api and does not name a file (e.g. /backup/123, /settings/tls): index.html,
 *   the console's router shows the page (SPA fallback); a missing file (a path whose last segment has an
 *   extension) is a 404, and /api/* stays the API's JSON 404;
 * - security headers on every console answer: a strict Content-Security-Policy (scripts only from the origin, no
 *   plugins, no <base>, not framable; styles may be inline because Ant Design injects them; frames only from the
 *   origin for the Backup message view), X-Content-Type-Options nosniff, Referrer-Policy same-origin.
 * When web/dist is missing the console paths answer 503 with the command that builds it.
 *
 * These routes carry no data and need no sign-in; they are hidden from the OpenAPI document.
 * Hostile input: the request path (decoded, no `..` or NUL; @fastify/send keeps every file inside the root).
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import { ApiError } from './errors.ts';

/** Where `npm run build:web` writes the console. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-src 'self'",
  "worker-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const IMMUTABLE = 'public, max-age=31536000, immutable';

export interface ConsoleOptions {
  /** The built console (default web/dist beside src/). */
  dir?: string;
}

function setSecurityHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', CONSOLE_CSP);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'same-origin');
  reply.header('x-frame-options', 'DENY');
  reply.header('cross-origin-opener-policy', 'same-origin');
}

/** The decoded path of the request, or null when it is not a path a console file could have. */
function cleanPath(url: string): string | null {
  let p: string;
  try { p = decodeURIComponent(url.split('?')[0].split('#')[0]); } catch { return null; }
  if (p.includes('\0') || p.includes('\\') || p.split('/').some((s) => s === '..')) return null;
  return p;
}

export async function registerConsole(app: FastifyInstance, opts: ConsoleOptions = {}): Promise<void> {
  const dir = resolve(opts.dir ?? DEFAULT_CONSOLE_DIR);
  await app.register(async (scope) => {
    await scope.register(fastifyStatic, { root: dir, serve: false, cacheControl: false, dotfiles: 'deny', index: false, etag: true, lastModified: true });
    scope.addHook('onRequest', async (_req, reply) => { setSecurityHeaders(reply); });

    const handler = async (req: FastifyRequest, reply: FastifyReply) => {
      const path = cleanPath(req.url);
      if (path === null) return reply.code(400).type('text/plain; charset=utf-8').send('bad path');
      if (path === '/api' || path.startsWith('/api/')) throw new ApiError('not_found', `no route ${req.method} ${path.slice(0, 200)}`);
      if (!existsSync(join(dir, 'index.html'))) {
        return reply.code(503).header('cache-control', 'no-store').type('text/plain; charset=utf-8')
          .send('The Moat console is not built. Run `npm run build:web` (npm start does it) and reload; the REST API is at /api/docs.');
      }
      const rel = path.replace(/^\/+/, '');
      if (rel) {
        const file = resolve(dir, rel);
        if (file.startsWith(dir + sep) && existsSync(file) && statSync(file).isFile()) {
          reply.header('cache-control', rel.startsWith('assets/') ? IMMUTABLE : 'no-cache');
          return reply.sendFile(rel);
        }
        // A missing file (the last segment has an extension): 404, not the console page.
        if (/\.[A-Za-z0-9]{1,8}$/.test(rel.split('/').pop() ?? '')) {
          return reply.code(404).header('cache-control', 'no-cache').type('text/plain; charset=utf-8').send('not found');
        }
      }
      reply.header('cache-control', 'no-cache');
      return reply.sendFile('index.html');
    };
    scope.get('/', { schema: { hide: true } }, handler);
    scope.get('/*', { schema: { hide: true } }, handler);
  });
}
