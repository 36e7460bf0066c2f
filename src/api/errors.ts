/**
 * The API's one error shape: `{ "error": { "code", "message", "fields"? } }` with a stable code per status:
 * unauthenticated 401, forbidden 403, csrf_failed 403, password_change_required 403, not_found 404,
 * validation_failed 400 (with `fields`: the path of each bad field, e.g. `username` in the body, `query.limit`,
 * `params.id`), payload_too_large 413, unsupported_media_type 415, conflict 409, too_many_requests 429,
 * internal 500. A 500 never carries a stack or internals: the detail goes to the log with the request id, which
 * the message names.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AccountsError } from '../accounts/errors.ts';

export type ErrorCode = 'unauthenticated' | 'forbidden' | 'csrf_failed' | 'password_change_required' | 'not_found' | 'validation_failed'
  | 'conflict' | 'too_many_requests' | 'payload_too_large' | 'unsupported_media_type' | 'internal';

const STATUS: Record<ErrorCode, number> = {
  unauthenticated: 401, forbidden: 403, csrf_failed: 403, password_change_required: 403, not_found: 404, validation_failed: 400,
  conflict: 409, too_many_requests: 429, payload_too_large: 413, unsupported_media_type: 415, internal: 500,
};

export interface FieldProblem { path: string; message: string }

/** Throw from a handler (or a hook) to answer with this error. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly fields?: FieldProblem[];
  constructor(code: ErrorCode, message: string, fields?: FieldProblem[]) {
    super(message);
    this.code = code;
    this.status = STATUS[code];
    this.fields = fields;
  }
}

/** The error body's schema, for the OpenAPI document. */
export const errorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    fields: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
}).meta({ id: 'Error' });

export function sendError(reply: FastifyReply, e: ApiError): FastifyReply {
  return reply.code(e.status).type('application/json; charset=utf-8')
    .send(JSON.stringify({ error: { code: e.code, message: e.message, ...(e.fields ? { fields: e.fields } : {}) } }));
}

function fromAccounts(err: AccountsError): ApiError {
  if (err.code === 'validation_failed') return new ApiError('validation_failed', err.message, [{ path: err.field ?? '(body)', message: err.message }]);
  return new ApiError(err.code, err.message);
}

const CONTEXT_PREFIX: Record<string, string> = { body: '', querystring: 'query.', params: 'params.', headers: 'headers.' };

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof ApiError) return sendError(reply, err);
    if (err instanceof AccountsError) return sendError(reply, fromAccounts(err));
    if (hasZodFastifySchemaValidationErrors(err)) {
      const prefix = CONTEXT_PREFIX[(err as { validationContext?: string }).validationContext ?? 'body'] ?? '';
      const fields = err.validation.map((v) => {
        const path = v.instancePath.replace(/^\//, '').split('/').filter(Boolean).join('.');
        return { path: `${prefix}${path}`.replace(/\.$/, '') || '(body)', message: v.message ?? 'invalid' };
      });
      return sendError(reply, new ApiError('validation_failed', `invalid request: ${fields.map((f) => `${f.path}: ${f.message}`).slice(0, 5).join('; ')}`, fields));
    }
    const status = err.statusCode ?? 500;
    if (status === 413) return sendError(reply, new ApiError('payload_too_large', 'the request body is too large'));
    if (status === 415) return sendError(reply, new ApiError('unsupported_media_type', 'send the body as application/json'));
    if (status === 400) return sendError(reply, new ApiError('validation_failed', err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'the JSON body is empty' : 'the request body is not valid JSON', [{ path: '(body)', message: 'not valid JSON' }]));
    if (status === 404) return sendError(reply, new ApiError('not_found', 'not found'));
    if (status === 429) return sendError(reply, new ApiError('too_many_requests', 'too many requests; try again later'));
    req.log.error({ err, reqId: req.id, method: req.method, url: req.url.slice(0, 200) }, 'API request failed');
    return sendError(reply, new ApiError('internal', `internal error (request ${req.id}); the details are in the node's log`));
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, new ApiError('not_found', `no route ${req.method} ${req.url.split('?')[0].slice(0, 200)}`)));
}
