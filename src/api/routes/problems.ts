/**
 * Small helpers shared by the record routes (Backup, events, notifications, statistics): turning a service's
 * validation failure (a ZodError, or a list of problems) into the API's `validation_failed` answer, and reaching
 * a service of ApiContext that a node always provides but a bare test context may leave out.
 *
 * Hostile input: the messages quoted back come from zod and the services (field paths and reasons), never
 * from internals; at most 20 fields are listed.
 */
import { ZodError } from 'zod';
import { ApiError, type FieldProblem } from '../errors.ts';

/** A ZodError from a service → 400 validation_failed, each path under `prefix` (e.g. `query.`), without a first segment `drop`. */
export function zodProblem(err: ZodError, prefix = '', drop?: string): ApiError {
  const fields: FieldProblem[] = err.issues.slice(0, 20).map((i) => {
    const segs = i.path.map(String);
    if (drop !== undefined && segs[0] === drop) segs.shift();
    const path = i.code === 'unrecognized_keys' ? i.keys.join(',') : segs.join('.');
    return { path: `${prefix}${path}`.replace(/\.$/, '') || '(body)', message: i.code === 'unrecognized_keys' ? 'unknown field' : i.message };
  });
  return new ApiError('validation_failed', `invalid request: ${fields.slice(0, 5).map((f) => `${f.path}: ${f.message}`).join('; ')}`, fields);
}

/** `problems` written as `field: reason` (events, templates) → 400 validation_failed. */
export function problemsError(problems: readonly string[], prefix = ''): ApiError {
  const fields = problems.slice(0, 20).map((p) => {
    const i = p.indexOf(': ');
    return i > 0 ? { path: `${prefix}${p.slice(0, i)}`, message: p.slice(i + 2) } : { path: prefix.replace(/\.$/, '') || '(body)', message: p };
  });
  return new ApiError('validation_failed', `invalid request: ${problems.slice(0, 5).join('; ')}`, fields);
}

/** Runs `fn`, answering a ZodError it throws as 400 (paths under `prefix`, a first segment `drop` left out). */
export async function validated<T>(fn: () => Promise<T>, prefix = '', drop?: string): Promise<T> {
  try { return await fn(); } catch (err) {
    if (err instanceof ZodError) throw zodProblem(err, prefix, drop);
    throw err;
  }
}

/** The service, or a 500 saying this node runs without it (never the case on a real node). */
export function need<T>(service: T | undefined, name: string): T {
  if (service === undefined) throw new Error(`the ${name} service is not available in this API context`);
  return service;
}
