/**
 * API validation errors onto the editor's fields: each `fields[].path` of a 400 (`senders.1`,
 * `modules.antivirus.blocks.0.statuses.1`, `headers.add.0.0`) goes to the deepest field of the form it names
 * (the registered field with the longest matching prefix: a list of statuses is one Select), so the message
 * sits next to what the administrator typed. Returns the messages no field took, for an Alert above the form.
 */
import type { FormInstance } from 'antd';
import { ApiProblem, problemText } from '../../api/client';
import { pathOf } from '../../api/forms';

export function placeFieldErrors(form: FormInstance, err: unknown): string[] {
  if (!(err instanceof ApiProblem) || !err.fields.length) return [problemText(err)];
  const registered = new Map(form.getFieldsError().map((f) => [f.name.join('.'), f.name]));
  const byField = new Map<string, { name: (string | number)[]; errors: string[] }>();
  const rest: string[] = [];
  for (const f of err.fields) {
    const path = pathOf(f.path);
    let hit: (string | number)[] | undefined;
    for (let n = path.length; n > 0 && !hit; n--) hit = registered.get(path.slice(0, n).join('.'));
    if (!hit) { rest.push(`${f.path}: ${f.message}`); continue; }
    const key = hit.join('.');
    const e = byField.get(key) ?? { name: hit, errors: [] };
    e.errors.push(f.message);
    byField.set(key, e);
  }
  form.setFields([...byField.values()]);
  return rest;
}
