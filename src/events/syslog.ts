/**
 * Syslog messages (RFC 5424) and their framing for the SIEM forwarder: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID
 * MSGID - MSG`, no structured data, MSG = the CEF text in UTF-8 (without a BOM: CEF receivers read it as plain
 * text). Header fields are reduced to printable US-ASCII and cut to RFC 5424's lengths (HOSTNAME 255, APP-NAME 48,
 * PROCID 128, MSGID 32). A message longer than the target's limit is cut on a UTF-8 boundary and never ends in
 * half a CEF escape. TCP and TLS use octet-counting framing (RFC 6587 §3.4.1, RFC 5425 §4.3): `<length> <message>`.
 */
import { SYSLOG_FACILITIES } from './settings.ts';

export type Facility = (typeof SYSLOG_FACILITIES)[number];

/** RFC 5424 severities 0..7 from a CEF severity 0..10. */
export function syslogSeverity(cef: number): number {
  if (cef >= 9) return 2; // critical
  if (cef >= 7) return 3; // error
  if (cef >= 4) return 4; // warning
  if (cef >= 2) return 5; // notice
  return 6; // informational
}

function field(s: string, max: number): string {
  const clean = s.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return clean || '-';
}

export interface SyslogHeader { facility: Facility; severity: number; time: number; hostname: string; appName: string; procId: string; msgId: string }

export function formatSyslog(h: SyslogHeader, msg: string): string {
  const pri = SYSLOG_FACILITIES.indexOf(h.facility) * 8 + Math.max(0, Math.min(7, h.severity));
  return `<${pri}>1 ${new Date(h.time).toISOString()} ${field(h.hostname, 255)} ${field(h.appName, 48)} ${field(h.procId, 128)} ${field(h.msgId, 32)} - ${msg}`;
}

/** The message as UTF-8, at most `max` bytes: cut on a character boundary, without a dangling `\` escape. */
export function encodeLimited(message: string, max: number): { bytes: Buffer; truncated: boolean } {
  const full = Buffer.from(message, 'utf8');
  if (full.length <= max) return { bytes: full, truncated: false };
  let end = max;
  while (end > 0 && (full[end] & 0xc0) === 0x80) end--;
  let cut = full.subarray(0, end);
  let slashes = 0;
  while (slashes < cut.length && cut[cut.length - 1 - slashes] === 0x5c) slashes++;
  if (slashes % 2 === 1) cut = cut.subarray(0, cut.length - 1);
  return { bytes: Buffer.from(cut), truncated: true };
}

/** RFC 6587 octet counting: `MSG-LEN SP SYSLOG-MSG`. */
export function octetFrame(bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${bytes.length} `, 'ascii'), bytes]);
}
