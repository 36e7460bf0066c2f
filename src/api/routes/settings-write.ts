/**
 * What the configuration routes (settings, domains, tls, queue pause) share: secrets kept out of every answer,
 * and one way to change the settings document.
 *
 * Secrets: a settings field is secret when its name is `key`, `password`, `passphrase`, `secret`, `token`, or ends
 * in `Key`, `Password`, `Passphrase`, `Secret` or `Token` (e.g. `mta.tls.certificate.key`,
 * `scan.antispam.rspamd.password`, `siem.targets.N.tls.key`); not `publicKey`, not `tokenDays`. Every answer shows
 * a set secret as SECRET_PLACEHOLDER, and a document sent back with the placeholder keeps the stored value.
 *
 * Changes: serialised in this process (one at a time: refresh, compare the version the caller saw, validate,
 * store), so two API requests never overwrite each other silently; a version written meanwhile by another process
 * (CLI, another node) makes the store refuse the save (SettingsConflictError) and the request answers 409.
 * Validation problems answer 400 `validation_failed` with one field per problem (`mta.maxRecipients`).
 *
 * Hostile input: documents, versions and If-Match headers from API clients; paths are never built from input
 * keys outside the settings schema (validation refuses unknown keys).
 */
import type { FastifyRequest } from 'fastify';
import { SettingsValidationError, diffSettings, validateSettings, type Change } from '../../config/settings.ts';
import type { Settings } from '../../config/settings-schema.ts';
import { SettingsConflictError } from '../../store/settings-repo.ts';
import { ApiError, type FieldProblem } from '../errors.ts';
import type { ApiContext } from '../context.ts';

export const SECRET_PLACEHOLDER = '********';

const SECRET_FIELD = /^(key|password|passphrase|secret|token)$|[a-z0-9](Key|Password|Passphrase|Secret|Token)$/;
const NOT_SECRET = new Set(['publicKey']);

export function isSecretField(name: string): boolean {
  return SECRET_FIELD.test(name) && !NOT_SECRET.has(name);
}

/** A deep copy of `doc` with every set secret field replaced by the placeholder. */
export function redactSettings<T>(doc: T): T {
  const walk = (v: unknown, depth: number): unknown => {
    if (v === null || typeof v !== 'object' || depth > 64) return v;
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    // Object.fromEntries defines own properties, so a `__proto__` key stays a key (and validation refuses it).
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, isSecretField(k) && typeof x === 'string' && x !== '' ? SECRET_PLACEHOLDER : walk(x, depth + 1)]));
  };
  return walk(doc, 0) as T;
}

/**
 * `next` with every placeholder at a secret field replaced by the value stored at the same path in `current`.
 * A placeholder where nothing is stored is a validation problem (it would be taken as the secret itself).
 */
export function restoreSecrets(next: unknown, current: unknown, prefix = ''): unknown {
  const problems: FieldProblem[] = [];
  const walk = (v: unknown, cur: unknown, path: string, depth: number): unknown => {
    if (v === null || typeof v !== 'object' || depth > 64) return v;
    const curObj = cur !== null && typeof cur === 'object' ? cur as Record<string, unknown> : undefined;
    if (Array.isArray(v)) return v.map((x, i) => walk(x, Array.isArray(cur) ? cur[i] : undefined, `${path}${i}.`, depth + 1));
    return Object.fromEntries(Object.entries(v).map(([k, x]) => {
      const stored = curObj && Object.hasOwn(curObj, k) ? curObj[k] : undefined;
      if (!isSecretField(k) || x !== SECRET_PLACEHOLDER) return [k, walk(x, stored, `${path}${k}.`, depth + 1)];
      if (typeof stored !== 'string' || stored === '') problems.push({ path: `${path}${k}`, message: `${SECRET_PLACEHOLDER} keeps the stored secret, but none is stored here: send the value` });
      return [k, stored];
    }));
  };
  const r = walk(next, current, prefix ? `${prefix}.` : '', 0);
  if (problems.length) throw new ApiError('validation_failed', `invalid settings: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, problems);
  return r;
}

/** `path: message` lines (settings and rules validation) as API field problems. */
export function problemsToFields(problems: readonly string[]): FieldProblem[] {
  return problems.map((p) => {
    const i = p.indexOf(': ');
    return i < 0 ? { path: '(body)', message: p } : { path: p.slice(0, i), message: p.slice(i + 2) };
  });
}

/** A change as shown to API clients and recorded in the audit trail: secret values replaced. */
export function redactChange(c: Change): Change {
  const last = c.path.split('.').pop() ?? '';
  const hide = (v: unknown) => (isSecretField(last) && typeof v === 'string' && v !== '' ? SECRET_PLACEHOLDER : redactSettings(v));
  return { path: c.path, before: hide(c.before), after: hide(c.after) };
}

/** The version the caller based its change on: `version` of the body, else the If-Match header (`"12"` or `12`). */
export function expectedVersion(req: FastifyRequest, bodyVersion: number | undefined): number | undefined {
  if (bodyVersion !== undefined) return bodyVersion;
  const h = req.headers['if-match'];
  const v = Array.isArray(h) ? h[0] : h;
  if (v === undefined || v.trim() === '*') return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(v);
  if (!m) throw new ApiError('validation_failed', 'If-Match must be a settings version, e.g. "12"', [{ path: 'headers.if-match', message: 'expected a settings version' }]);
  return Number(m[1]);
}

const locks = new WeakMap<object, Promise<unknown>>();

/** Runs `fn` after every earlier settings change of this process has finished. */
function serialised<T>(key: object, fn: () => Promise<T>): Promise<T> {
  const prev = locks.get(key) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  locks.set(key, run.catch(() => {}));
  return run;
}

export interface SettingsChangeResult { version: number; changes: Change[]; before: Settings; after: Settings }

/**
 * Changes the settings: `build` gets the document in force (a mutable deep copy, secrets included) and returns
 * the next one. 409 when `expected` is given and is not the version in force; 400 with fields when the result is
 * invalid. The audit entry (`action`, `target`, before/after of each changed path, secrets hidden) is recorded
 * when something changed (`audit: false`: the caller records its own). `dryRun`: validated and diffed, nothing
 * stored or audited.
 */
export async function changeSettings(
  ctx: ApiContext, req: FastifyRequest,
  o: { action: string; target: string; expected?: number; dryRun?: boolean; audit?: boolean; build: (current: Settings) => unknown },
): Promise<SettingsChangeResult> {
  return serialised(ctx.settings, async () => {
    try { await ctx.settings.refresh(); } catch (err) {
      // A newer stored version this node cannot use: the change goes on top of it, as the CLI's would.
      if (!(err instanceof SettingsValidationError)) throw err;
    }
    const before = ctx.settings.snapshot();
    if (o.expected !== undefined && o.expected !== ctx.settings.version) {
      throw new ApiError('conflict', `the settings changed meanwhile (you sent version ${o.expected}, version ${ctx.settings.version} is in force): reload and try again`);
    }
    const next = o.build(structuredClone(before) as Settings);
    let changes: Change[];
    try {
      changes = o.dryRun ? diffSettings(before, validateSettings(next)) : await ctx.settings.replace(next, `api:${req.principal?.username ?? 'anonymous'}`);
    } catch (err) {
      if (err instanceof SettingsValidationError) throw new ApiError('validation_failed', err.message.slice(0, 2000), problemsToFields(err.problems));
      if (err instanceof SettingsConflictError) throw new ApiError('conflict', 'the settings changed meanwhile (written by another node or the CLI): reload and try again');
      throw err;
    }
    const shown = changes.map(redactChange);
    if (!o.dryRun && changes.length && o.audit !== false) {
      await req.audit({
        action: o.action, target: o.target,
        before: Object.fromEntries(shown.map((c) => [c.path, c.before])), after: Object.fromEntries(shown.map((c) => [c.path, c.after])),
      });
    }
    return { version: ctx.settings.version, changes: shown, before, after: o.dryRun ? before : ctx.settings.snapshot() };
  });
}
