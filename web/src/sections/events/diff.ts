/**
 * Before/after of an audit entry made readable: both values flattened to `path → value` (objects by key, arrays
 * by index; dotted keys such as settings paths kept as they are), then one row per path with what changed.
 * Values are data from the API: rendered as text by React, never as HTML. Bounded: at most `max` rows.
 */

export interface DiffRow { path: string; before: string | undefined; after: string | undefined; change: 'added' | 'removed' | 'changed' | 'same' }

function show(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** `{ a: { b: 1 }, c: [x] }` → `{ 'a.b': '1', 'c.0': '"x"' }` (empty objects/arrays kept as `{}` / `[]`). */
export function flatten(v: unknown, prefix = '', out: Map<string, string> = new Map(), depth = 0): Map<string, string> {
  if (v !== null && typeof v === 'object' && depth < 12) {
    const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v as Record<string, unknown>);
    if (entries.length === 0) out.set(prefix || '(value)', Array.isArray(v) ? '[]' : '{}');
    for (const [k, x] of entries) flatten(x, prefix ? `${prefix}.${k}` : k, out, depth + 1);
  } else if (v !== undefined) {
    out.set(prefix || '(value)', show(v));
  }
  return out;
}

export function diff(before: unknown, after: unknown, max = 500): DiffRow[] {
  const b = flatten(before);
  const a = flatten(after);
  const paths = [...new Set([...b.keys(), ...a.keys()])];
  const rows: DiffRow[] = paths.map((path) => {
    const x = b.get(path);
    const y = a.get(path);
    const change = x === undefined ? 'added' : y === undefined ? 'removed' : x === y ? 'same' : 'changed';
    return { path, before: x, after: y, change };
  });
  // Changes first, in path order; unchanged context after.
  rows.sort((p, q) => Number(p.change === 'same') - Number(q.change === 'same') || p.path.localeCompare(q.path));
  return rows.slice(0, max);
}
