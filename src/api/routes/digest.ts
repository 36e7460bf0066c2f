/**
 * The Backup digest's unsubscribe link (docs/backup.md "Digest"; RFC 8058 one-click unsubscribe):
 *   - `GET /api/v1/backup/unsubscribe?token=…` shows a small static HTML page (no script) naming the address,
 *     with one button; it never unsubscribes by itself, because link scanners and mail previews open links;
 *   - `POST /api/v1/backup/unsubscribe?token=…` unsubscribes the token's address. This is also the RFC 8058
 *     one-click POST mail clients send, with the body `List-Unsubscribe=One-Click` as
 *     application/x-www-form-urlencoded or multipart/form-data (the body is accepted and ignored: the token is
 *     the authority). Browsers (Accept: text/html) get a page, other clients JSON.
 * Both are `public`: the signed, single-use token (src/backup/token.ts) is the authority. A malformed, tampered,
 * expired or already used token answers 400.
 *
 * Hostile input: the token (bounded: 1 KiB; checked in constant time before it is parsed) and the POST body
 * (at most 4 KiB, never interpreted). The pages carry `Content-Security-Policy: default-src 'none';
 * form-action 'self'` and escape the address they show.
 */
import { z } from 'zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RouteModule } from './index.ts';
import { ApiError, sendError } from '../errors.ts';
import { errors } from './schemas.ts';
import { need } from './problems.ts';

const PAGE_CSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const REASONS: Record<string, string> = {
  malformed: 'This unsubscribe link is not valid.',
  bad_signature: 'This unsubscribe link is not valid.',
  expired: 'This unsubscribe link has expired. Change your digest subscription in your personal Backup.',
  used: 'This unsubscribe link has already been used.',
};

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, body: string): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`
    + `<meta name="robots" content="noindex"><title>${esc(title)}</title></head>\n<body>\n<h1>${esc(title)}</h1>\n${body}\n</body></html>\n`;
}

function sendPage(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply.code(status).headers({
    'content-type': 'text/html; charset=utf-8', 'content-security-policy': PAGE_CSP, 'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store',
  }).send(html);
}

const wantsHtml = (req: FastifyRequest) => /\btext\/html\b/i.test(String(req.headers.accept ?? ''));

const tokenQuery = z.object({ token: z.string().min(1).max(1024).describe('the signed token of the digest link') });

export const digestRoutes: RouteModule = (app, ctx) => {
  const digest = () => need(ctx.backup, 'Backup').digest;

  // Own scope: RFC 8058 bodies are form-encoded; JSON stays the only body format of every other route.
  app.register(async (scope) => {
    const raw = (_req: FastifyRequest, body: string, done: (err: Error | null, body?: unknown) => void) => done(null, body);
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, raw);
    scope.addContentTypeParser('multipart/form-data', { parseAs: 'string', bodyLimit: 4096 }, raw);

    scope.route({
      method: 'GET', url: '/api/v1/backup/unsubscribe',
      config: { access: 'public' },
      schema: {
        tags: ['backup'], summary: 'The digest unsubscribe page (HTML with a button; does not unsubscribe by itself)',
        querystring: tokenQuery,
      },
      handler: async (req, reply) => {
        const { token } = req.query as z.output<typeof tokenQuery>;
        const v = await digest().verifyToken(token);
        if (!v.ok) return sendPage(reply, 400, page('Unsubscribe', `<p>${esc(REASONS[v.reason] ?? REASONS.malformed)}</p>`));
        const action = `?token=${encodeURIComponent(token)}`;
        return sendPage(reply, 200, page('Unsubscribe from the Backup digest',
          `<p>Stop the daily Backup digest for <strong>${esc(v.address)}</strong>?</p>\n`
          + `<form method="post" action="${esc(action)}"><input type="hidden" name="List-Unsubscribe" value="One-Click">`
          + `<button type="submit">Unsubscribe</button></form>`));
      },
    });

    scope.route({
      method: 'POST', url: '/api/v1/backup/unsubscribe',
      config: { access: 'public' },
      schema: {
        tags: ['backup'], summary: 'Unsubscribe the token\'s address from the digest (RFC 8058 one-click POST)',
        querystring: tokenQuery,
        response: { 200: z.object({ address: z.string(), subscribed: z.literal(false) }), ...errors(400) },
      },
      handler: async (req, reply) => {
        const { token } = req.query as z.output<typeof tokenQuery>;
        const r = await digest().unsubscribeByToken(token);
        if (!r.ok) {
          if (wantsHtml(req)) return sendPage(reply, 400, page('Unsubscribe', `<p>${esc(REASONS[r.reason] ?? REASONS.malformed)}</p>`));
          return sendError(reply, new ApiError('validation_failed', `${REASONS[r.reason] ?? REASONS.malformed} (${r.reason})`, [{ path: 'query.token', message: r.reason }]));
        }
        await req.audit({ action: 'backup.digest_unsubscribe', target: `address:${r.address}`, after: { subscribed: false, via: 'token' } });
        if (wantsHtml(req)) return sendPage(reply, 200, page('Unsubscribed', `<p><strong>${esc(r.address)}</strong> will no longer get the Backup digest.</p>`));
        return { address: r.address, subscribed: false as const };
      },
    });
  });
};
