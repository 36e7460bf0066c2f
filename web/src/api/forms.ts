/**
 * Shows an API error where it happened: `showFieldErrors(form, err)` puts each `fields[].path` of a
 * validation_failed answer on the matching Ant Design form field (paths like `name`, `mta.domains.0.route`,
 * `query.limit` → ['query','limit']; a `prefix` strips what the form does not have, e.g. 'mta.'), and returns
 * the problems no field took, for an Alert above the form.
 */
import type { FormInstance } from 'antd';
import { ApiProblem, problemText, type FieldProblem } from './client';

export function pathOf(path: string, prefix = ''): (string | number)[] {
  const p = prefix && path.startsWith(prefix) ? path.slice(prefix.length) : path;
  return p.split('.').filter(Boolean).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** Returns the messages that could not be shown on a field (including the whole message when no field matched). */
export function showFieldErrors(form: FormInstance, err: unknown, prefix = ''): string[] {
  if (!(err instanceof ApiProblem)) return [problemText(err)];
  const known = new Set(Object.keys(flatten(form.getFieldsValue(true))));
  const onFields: { name: (string | number)[]; errors: string[] }[] = [];
  const rest: FieldProblem[] = [];
  for (const f of err.fields) {
    const name = pathOf(f.path, prefix);
    if (known.has(name.join('.')) || known.has(String(name[0]))) onFields.push({ name, errors: [f.message] });
    else rest.push(f);
  }
  if (onFields.length) form.setFields(onFields);
  if (onFields.length && rest.length === 0) return [];
  return rest.length ? rest.map((f) => `${f.path}: ${f.message}`) : [err.message];
}

function flatten(v: unknown, base = '', out: Record<string, true> = {}): Record<string, true> {
  if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const key = base ? `${base}.${k}` : k;
      out[key] = true;
      flatten(x, key, out);
    }
  }
  return out;
}
