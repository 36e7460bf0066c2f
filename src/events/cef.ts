/**
 * ArcSight Common Event Format (CEF rev. 25) payloads for the SIEM forwarder: one event class per kind, with the
 * signature ids `traffic:<action>`, `system:<type>` and `audit:<action>`, and the standard extension keys where
 * they exist (rt, dvchost, src, suser, duser, msg, act, in, externalId; csN/cnN with their labels otherwise).
 *
 * Hostile input: every field may carry text from the outside (subjects, addresses, HELO names, audit targets).
 * Header fields escape `\` and `|` (and newlines become spaces); extension values escape `\`, `=` and newlines
 * (`\n`, `\r`), so a subject can never start a new extension or a new syslog line. Long values are cut at
 * 1,023 characters for csN (CEF's documented length) and 4,000 for msg.
 *
 * CEF layout: `CEF:0|Moat|Moat|<version>|<signature id>|<name>|<severity 0-10>|<extensions>`.
 */
import type { TrafficEvent } from '../disposition/intake.ts';
import type { Severity, SystemEventType } from './types.ts';
import type { EventKind } from './query.ts';

export interface CefEvent { kind: EventKind; signature: string; name: string; severity: number; extensions: [string, string | number | null | undefined][] }

export function escapeHeader(s: string): string {
  return s.replace(/[\\|]/g, (c) => `\\${c}`).replace(/[\r\n]+/g, ' ');
}

export function escapeExtension(s: string): string {
  return s.replace(/[\\=]/g, (c) => `\\${c}`).replace(/\r\n|\n/g, '\\n').replace(/\r/g, '\\r');
}

function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n) : s;
}

export function formatCef(e: CefEvent, version: string): string {
  const head = ['CEF:0', 'Moat', 'Moat', version, e.signature, e.name, String(Math.max(0, Math.min(10, Math.round(e.severity))))].map((h, i) => (i === 0 ? h : escapeHeader(h))).join('|');
  const present = (v: unknown) => v !== null && v !== undefined && v !== '';
  const has = new Map(e.extensions.map(([k, v]) => [k, present(v)]));
  // A csNLabel / cnNLabel goes only with its value.
  const ext = e.extensions.filter(([k, v]) => present(v) && (!k.endsWith('Label') || has.get(k.slice(0, -5)) === true))
    .map(([k, v]) => `${k}=${escapeExtension(clip(String(v), k === 'msg' ? 4000 : 1023))}`).join(' ');
  return `${head}|${ext}`;
}

const THREATS = new Set(['infected', 'probably_infected', 'riskware', 'malicious', 'phishing', 'detected']);
const SUSPICIOUS = new Set(['spam', 'probable_spam', 'denylisted', 'adware', 'banned_type', 'banned_name', 'size_exceeded', 'encrypted', 'macro', 'fail']);
const ACTION_SEVERITY: Record<string, number> = { skip: 1, delete_attachment: 5, reject: 6, delete: 6 };
const ACTION_NAME: Record<string, string> = {
  skip: 'Message delivered', delete_attachment: 'Message delivered without attachments', reject: 'Message rejected', delete: 'Message deleted',
};

/** 0..10: the action's weight, raised to 8 by a threat and to 5 by a suspicious status. */
export function trafficSeverity(e: Pick<TrafficEvent, 'action' | 'modules'>): number {
  let sev = ACTION_SEVERITY[e.action] ?? 3;
  for (const m of Object.values(e.modules)) {
    if (THREATS.has(m.status)) sev = Math.max(sev, 8);
    else if (SUSPICIOUS.has(m.status)) sev = Math.max(sev, 5);
    else if (m.status === 'error') sev = Math.max(sev, 3);
  }
  return sev;
}

export function trafficCef(e: TrafficEvent & { id?: number }): CefEvent {
  const statuses = Object.entries(e.modules).map(([m, v]) => `${m}:${v.status}`).join(',');
  return {
    kind: 'traffic', signature: `traffic:${e.action}`, name: ACTION_NAME[e.action] ?? `Message ${e.action}`, severity: trafficSeverity(e),
    extensions: [
      ['rt', e.time], ['dvchost', e.node], ['externalId', e.id], ['src', e.clientIp], ['suser', e.sender], ['duser', e.recipients.join(',')],
      ['msg', e.subject], ['act', e.action], ['in', e.size],
      ['cs1Label', 'rule'], ['cs1', e.rule], ['cs2Label', 'queueId'], ['cs2', e.queueId], ['cs3Label', 'messageId'], ['cs3', e.messageId],
      ['cs4Label', 'statuses'], ['cs4', statuses], ['cs5Label', 'deliveredAs'], ['cs5', e.deliveredAs], ['cs6Label', 'helo'], ['cs6', e.helo],
      ['cn1Label', 'backup'], ['cn1', e.backup ? 1 : 0],
    ],
  };
}

const SYSTEM_SEVERITY: Record<Severity, number> = { info: 2, warning: 5, error: 7, critical: 10 };

export function systemCef(e: { id?: number; time: number; node: string; type: SystemEventType; severity: Severity; message: string; details?: Record<string, unknown> | null }): CefEvent {
  return {
    kind: 'system', signature: `system:${e.type}`, name: e.type.replace(/[._]/g, ' '), severity: SYSTEM_SEVERITY[e.severity] ?? 5,
    extensions: [
      ['rt', e.time], ['dvchost', e.node], ['externalId', e.id], ['msg', e.message],
      ['cs1Label', 'details'], ['cs1', e.details ? JSON.stringify(e.details) : null],
    ],
  };
}

const IP_RE = /^[0-9a-f:.]+$/i;

export function auditCef(e: { id?: number; time: number; node: string; actor: string; source: string; ip: string | null; action: string; target: string; before?: unknown; after?: unknown }): CefEvent {
  return {
    kind: 'audit', signature: `audit:${e.action}`, name: `Audit ${e.action}`, severity: 3,
    extensions: [
      ['rt', e.time], ['dvchost', e.node], ['externalId', e.id], ['suser', e.actor], ['src', e.ip && IP_RE.test(e.ip) ? e.ip : null], ['act', e.action],
      ['msg', `${e.actor} ${e.action} ${e.target}`],
      ['cs1Label', 'target'], ['cs1', e.target], ['cs2Label', 'source'], ['cs2', e.source],
      ['cs3Label', 'before'], ['cs3', e.before === undefined ? null : JSON.stringify(e.before)],
      ['cs4Label', 'after'], ['cs4', e.after === undefined ? null : JSON.stringify(e.after)],
    ],
  };
}
