/**
 * Streamed exports of the event log (SPEC §6): CSV (RFC 4180, formula-neutralised cells, src/events/csv.ts),
 * a JSON array, or NDJSON (one JSON object per line), for traffic, system and audit events with the same filters
 * as the list. The result is a Node Readable that reads the store in keyset pages of 1,000 rows only when its
 * consumer asks for more (backpressure), so memory stays constant whatever the number of rows; an HTTP route can
 * pipe it as it is. Order: newest first. JSON objects are the detail objects of the service (times in ms); CSV
 * columns are every field, times as ISO 8601, a traffic event's modules as `<module>_status` columns plus a
 * `modules` column holding their JSON (reasons, detections, details).
 */
import { Readable } from 'node:stream';
import { MODULES } from '../scan/types.ts';
import { csvRow } from './csv.ts';
import type { EventKind } from './query.ts';
import type { StoredTrafficEvent } from '../store/events-repo.ts';
import type { SystemEvent } from '../store/system-events-repo.ts';
import type { AuditEvent } from '../store/audit-repo.ts';

export const EXPORT_FORMATS = ['csv', 'json', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8', json: 'application/json; charset=utf-8', ndjson: 'application/x-ndjson; charset=utf-8',
};

const iso = (t: number) => new Date(t).toISOString();

export const CSV_COLUMNS: Record<EventKind, readonly string[]> = {
  traffic: ['id', 'time', 'node', 'queue_id', 'delivered_as', 'message_id', 'client_ip', 'helo', 'sender', 'recipients', 'subject', 'size',
    'rule', 'action', 'backup', ...MODULES.map((m) => `${m}_status`), 'modules'],
  system: ['id', 'time', 'node', 'type', 'severity', 'message', 'details'],
  audit: ['id', 'time', 'actor', 'source', 'ip', 'action', 'target', 'before', 'after'],
};

function trafficCells(e: StoredTrafficEvent): unknown[] {
  return [e.id, iso(e.time), e.node, e.queueId, e.deliveredAs, e.messageId, e.clientIp, e.helo, e.sender, e.recipients.join(', '), e.subject, e.size,
    e.rule, e.action, e.backup, ...MODULES.map((m) => e.modules[m]?.status ?? ''), JSON.stringify(e.modules)];
}
function systemCells(e: SystemEvent): unknown[] {
  return [e.id, iso(e.time), e.node, e.type, e.severity, e.message, e.details ? JSON.stringify(e.details) : ''];
}
function auditCells(e: AuditEvent): unknown[] {
  const j = (v: unknown) => (v === undefined ? '' : JSON.stringify(v));
  return [e.id, iso(e.time), e.actor, e.source, e.ip, e.action, e.target, j(e.before), j(e.after)];
}

const CELLS = { traffic: trafficCells, system: systemCells, audit: auditCells } as Record<EventKind, (e: never) => unknown[]>;

/** Renders pages of rows as one text chunk per page. */
async function* render(kind: EventKind, format: ExportFormat, pages: AsyncIterable<object[]>): AsyncGenerator<string> {
  if (format === 'csv') yield csvRow(CSV_COLUMNS[kind]);
  if (format === 'json') yield '[';
  let first = true;
  for await (const page of pages) {
    let chunk = '';
    for (const row of page) {
      if (format === 'csv') chunk += csvRow(CELLS[kind](row as never));
      else if (format === 'ndjson') chunk += `${JSON.stringify(row)}\n`;
      else { chunk += `${first ? '\n' : ',\n'}${JSON.stringify(row)}`; first = false; }
    }
    if (chunk) yield chunk;
  }
  if (format === 'json') yield first ? ']\n' : '\n]\n';
}

/** A byte stream of the export; reads the next page only when the consumer wants more. */
export function exportStream(kind: EventKind, format: ExportFormat, pages: AsyncIterable<object[]>): Readable {
  return Readable.from(render(kind, format, pages), { objectMode: false, highWaterMark: 64 * 1024 });
}
