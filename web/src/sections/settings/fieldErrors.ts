/**
 * API validation errors onto the form fields that are really on screen. The API names the exact path
 * (`mta.trustedNetworks.1`, `siem.targets.0.tls.key`); the form may show a whole list in one field (tags), so a
 * problem goes to the longest registered field name that starts its path. What no field takes is returned for an
 * Alert above the form. Hostile input: none (API answers, rendered as text by React).
 */
import type { FormInstance } from 'antd';
import { ApiProblem, problemText } from '../../api/client';
import { pathOf } from '../../api/forms';

export function fieldErrors(form: FormInstance, err: unknown, prefix = ''): string[] {
  if (!(err instanceof ApiProblem)) return [problemText(err)];
  const registered = form.getFieldsError().map((f) => f.name);
  const errors = new Map<string, { name: (string | number)[]; errors: string[] }>();
  const rest: string[] = [];
  for (const f of err.fields) {
    const path = pathOf(f.path, prefix);
    let best: (string | number)[] | null = null;
    for (const name of registered) {
      if (name.length <= path.length && name.every((s, i) => String(s) === String(path[i])) && (!best || name.length > best.length)) best = name;
    }
    if (!best) { rest.push(`${f.path}: ${f.message}`); continue; }
    const key = best.join('.');
    const tail = path.slice(best.length);
    const extra = !tail.length ? '' : tail.length === 1 && typeof tail[0] === 'number' ? `entry ${tail[0] + 1}: ` : `${tail.join('.')}: `;
    const e = errors.get(key) ?? { name: best, errors: [] };
    e.errors.push(extra + f.message);
    errors.set(key, e);
  }
  if (errors.size) form.setFields([...errors.values()]);
  if (errors.size && rest.length === 0) return [];
  return rest.length ? rest : [err.message];
}
