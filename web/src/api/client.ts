/**
 * The console's one way to call the REST API: `api` is openapi-fetch typed with the generated schema.d.ts (from
 * the server's OpenAPI document, never hand-copied), so paths, parameters, bodies and answers are checked by the
 * compiler. Use it through `call()`:
 *
 *     const data = await call(api.GET('/api/v1/domains'));
 *     await call(api.POST('/api/v1/domains', { body: { name, local: true, route } }));
 *
 * `call()` returns the data of a 2xx answer and throws an `ApiProblem` (status, code, message, fields) for any
 * other, which the UI shows where it happened (forms.ts maps `fields[].path` onto form fields).
 *
 * The middleware sends the session cookie (same origin), adds `X-CSRF-Token` to every state-changing request (the
 * token comes from sign-in or GET /api/v1/auth/me, set with `setCsrfToken`), and reports 401 (session expired or
 * ended) and 403 password_change_required to the session (auth/session.tsx), which goes back to sign-in.
 *
 * Hostile input: API answers are data only; they are rendered through React (escaped), never as HTML.
 */
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';

export type { paths, components } from './schema';

/** One problem with one field, as the API reports it (`path` like `name`, `query.limit`, `mta.domains.0.route`). */
export interface FieldProblem { path: string; message: string }

/** A failed API call: HTTP status, the API's stable code (docs/api.md) and a message in words. */
export class ApiProblem extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: FieldProblem[];
  constructor(status: number, code: string, message: string, fields: FieldProblem[] = []) {
    super(message);
    this.name = 'ApiProblem';
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

let csrfToken: string | null = null;
/** Set by the session after sign-in and after GET /auth/me; cleared at sign-out. */
export function setCsrfToken(token: string | null): void { csrfToken = token; }

type SessionListener = (problem: ApiProblem) => void;
const sessionListeners = new Set<SessionListener>();
/** The session subscribes: called for 401 (signed out / expired) and 403 password_change_required. */
export function onSessionProblem(fn: SessionListener): () => void {
  sessionListeners.add(fn);
  return () => { sessionListeners.delete(fn); };
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

const sessionMiddleware: Middleware = {
  onRequest({ request }) {
    if (!SAFE.has(request.method.toUpperCase()) && csrfToken) request.headers.set('X-CSRF-Token', csrfToken);
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin', headers: { Accept: 'application/json' } });
api.use(sessionMiddleware);

/** Turns any answer body into an ApiProblem (the API's `{ error: { code, message, fields } }` or a plain status). */
export function toProblem(status: number, body: unknown): ApiProblem {
  const e = (body as { error?: { code?: unknown; message?: unknown; fields?: unknown } } | null)?.error;
  if (e && typeof e.code === 'string' && typeof e.message === 'string') {
    const fields = Array.isArray(e.fields) ? e.fields.filter((f): f is FieldProblem => typeof f?.path === 'string' && typeof f?.message === 'string') : [];
    return new ApiProblem(status, e.code, e.message, fields);
  }
  if (status === 0) return new ApiProblem(0, 'network', 'Moat did not answer: check that the node is running and the network');
  return new ApiProblem(status, 'http_' + status, `the server answered ${status}`);
}

/** What openapi-fetch resolves to (data on 2xx, error otherwise). */
interface FetchResult<T> { data?: T; error?: unknown; response: Response }

/**
 * Awaits an openapi-fetch call: the data of a 2xx answer (undefined for 204), else throws an ApiProblem. A 401
 * (except from sign-in itself) and 403 password_change_required also go to the session listeners.
 */
export async function call<T>(request: Promise<FetchResult<T>>): Promise<T> {
  let r: FetchResult<T>;
  try {
    r = await request;
  } catch {
    throw toProblem(0, null);
  }
  if (r.response.ok) return r.data as T;
  const problem = toProblem(r.response.status, r.error);
  const isLogin = r.response.url.endsWith('/api/v1/auth/login');
  if ((problem.status === 401 && !isLogin) || problem.code === 'password_change_required') for (const l of sessionListeners) l(problem);
  throw problem;
}

/** A message in words for any thrown value (for notifications and Alerts). */
export function problemText(err: unknown): string {
  if (err instanceof ApiProblem) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
