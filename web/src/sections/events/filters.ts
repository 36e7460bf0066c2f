/**
 * The filters of each kind of event, as the API takes them (GET /api/v1/events/KIND; docs/api.md): which fields
 * the filter bar shows, and the conversion between the page address (`?sender=…&from=…`, so a filtered view can
 * be bookmarked and linked to from other sections) and the API's query.
 *
 * Hostile input: the address is typed by anyone; only the known filter names are read, values are bounded by the
 * API (which answers 400 per field for a bad one, shown under the table).
 */

import { ACTIONS, MODULES, SEVERITIES, STATUSES as MODULE_STATUSES, SYSTEM_EVENT_TYPES as SYSTEM_TYPES } from '../../lib/labels';

export type EventKind = 'traffic' | 'system' | 'audit';

export interface FilterField {
  name: string;
  label: string;
  kind: 'text' | 'select' | 'time' | 'bool';
  options?: readonly string[];
  placeholder?: string;
  /** Shown under "More filters" (unless it has a value). */
  more?: boolean;
}

// The server's own lists (src/vocabulary.ts through lib/labels), never copies.
export { ACTIONS, MODULES, SEVERITIES, SYSTEM_TYPES };
/** Every status of every module, each once (the API takes any of them with or without a module). */
export const STATUSES: readonly string[] = [...new Set(Object.values(MODULE_STATUSES).flat())];

const range: FilterField[] = [
  { name: 'from', label: 'From', kind: 'time' },
  { name: 'to', label: 'To', kind: 'time' },
];

export const FILTERS: Record<EventKind, FilterField[]> = {
  traffic: [
    ...range,
    { name: 'sender', label: 'Sender', kind: 'text', placeholder: 'address or @domain' },
    { name: 'recipient', label: 'Recipient', kind: 'text', placeholder: 'address or @domain' },
    { name: 'clientIp', label: 'Client IP', kind: 'text', more: true },
    { name: 'subject', label: 'Subject', kind: 'text', placeholder: 'contains' },
    { name: 'rule', label: 'Rule', kind: 'text', more: true },
    { name: 'action', label: 'Action', kind: 'select', options: ACTIONS },
    { name: 'module', label: 'Module', kind: 'select', options: MODULES },
    { name: 'status', label: 'Status', kind: 'select', options: STATUSES },
    { name: 'queueId', label: 'Queue id', kind: 'text', more: true },
    { name: 'messageId', label: 'Message-ID', kind: 'text', more: true },
    { name: 'node', label: 'Node', kind: 'text', more: true },
    { name: 'backup', label: 'Backup', kind: 'bool', more: true },
  ],
  system: [
    ...range,
    { name: 'type', label: 'Type', kind: 'select', options: SYSTEM_TYPES },
    { name: 'severity', label: 'Severity', kind: 'select', options: SEVERITIES },
    { name: 'node', label: 'Node', kind: 'text' },
  ],
  audit: [
    ...range,
    { name: 'actor', label: 'Actor', kind: 'text', placeholder: 'account' },
    { name: 'action', label: 'Action', kind: 'text', placeholder: 'e.g. queue.pause' },
    { name: 'target', label: 'Target', kind: 'text', placeholder: 'e.g. queue:sending' },
    { name: 'source', label: 'Source', kind: 'select', options: ['api', 'cli', 'system'] },
  ],
};

/** The filters of `kind` found in the page address (unknown names ignored, empty values dropped). */
export function filtersFromSearch(kind: EventKind, search: URLSearchParams): Record<string, string> {
  return pickFilters(FILTERS[kind], search);
}

/** The given filters found in the page address (unknown names ignored, empty values dropped). */
export function pickFilters(fields: readonly FilterField[], search: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fields) {
    const v = search.get(f.name)?.trim();
    if (v) out[f.name] = v.slice(0, 998);
  }
  return out;
}

/** ms since the epoch → the value of an <input type="datetime-local"> in local time. */
export function toLocalInput(ms: string | undefined): string {
  if (!ms || !/^\d+$/.test(ms)) return '';
  const d = new Date(Number(ms));
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The value of an <input type="datetime-local"> (local time) → ms since the epoch, or '' when empty/invalid. */
export function fromLocalInput(v: string | undefined): string {
  if (!v) return '';
  const t = new Date(v).getTime();
  return Number.isFinite(t) ? String(t) : '';
}

export function fmtTime(ms: number | null | undefined): string {
  return ms == null ? '—' : new Date(ms).toLocaleString();
}

export function fmtSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
