/**
 * Macros of notification templates (SPEC §4; docs/notifications.md): `%NAME%` is replaced by the value of NAME.
 * Unknown names stay as written (so a literal `%` needs no escaping), and a value never expands again.
 *
 * Hostile input: every value comes from the message or its envelope (sender, subject, attachment names, threat
 * names). Values are sanitised for where they land:
 *   - header (the Subject): control characters and line breaks become spaces (no header injection), each value
 *     at most 200 characters, the whole line at most 500;
 *   - text: control characters other than line breaks and tabs removed, each value at most 4,000 characters;
 *   - html: as text, then HTML-escaped (`& < > " '`), line breaks kept as they are.
 * Bidirectional overrides (U+202A–U+202E, U+2066–U+2069) are replaced by `?` everywhere: they disguise names.
 */

/** The macros of rule notifications, in the order of the docs' table. */
export const RULE_MACROS = [
  'SENDER', 'RECIPIENTS', 'SUBJECT', 'DATE', 'ACTION', 'MODULE', 'STATUS', 'THREATS', 'RULE_NAME', 'MESSAGE_ID', 'NODE',
  'ATTACHMENTS', 'REMOVED_ATTACHMENTS', 'NOTIFICATION_ID', 'QUEUE_ID', 'CLIENT_IP',
] as const;
export type RuleMacro = (typeof RULE_MACROS)[number];

/** The macros of system notifications. */
export const SYSTEM_MACROS = ['PROBLEM', 'SEVERITY', 'MESSAGE', 'STATE', 'SINCE', 'NODE', 'DATE', 'NOTIFICATION_ID'] as const;

export type MacroValues = Readonly<Record<string, string>>;
export type RenderMode = 'header' | 'text' | 'html';

const VALUE_MAX: Record<RenderMode, number> = { header: 200, text: 4000, html: 4000 };
const BIDI = /[\u202a-\u202e\u2066-\u2069]/g;

function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  return `${[...s.slice(0, max - 1)].join('').replace(/[\ud800-\udbff]$/, '')}…`;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A value made safe for `mode`. */
export function sanitize(value: string, mode: RenderMode): string {
  let v = value.replace(BIDI, '?');
  if (mode === 'header') v = v.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  else v = v.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '');
  v = clip(v, VALUE_MAX[mode]);
  return mode === 'html' ? escapeHtml(v) : v;
}

/** Replaces every `%NAME%` that has a value; see the header for how values are sanitised. */
export function render(template: string, values: MacroValues, mode: RenderMode): string {
  const out = template.replace(/%([A-Z][A-Z0-9_]{0,39})%/g, (m, name: string) => (Object.hasOwn(values, name) ? sanitize(values[name], mode) : m));
  return mode === 'header' ? clip(out.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim(), 500) : out;
}

/** A list value: items joined with `, `, at most `max` items (then `and N more`). */
export function listValue(items: readonly string[], max = 50): string {
  const uniq = [...new Set(items.filter((s) => s))];
  if (!uniq.length) return '(none)';
  return uniq.length > max ? `${uniq.slice(0, max).join(', ')} and ${uniq.length - max} more` : uniq.join(', ');
}
