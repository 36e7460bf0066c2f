/**
 * Words for the product's exact strings (SPEC §2–§3): actions, modules and statuses as the console shows them,
 * and their colours. Sections use these so every page names things the same way.
 */
import { ACTIONS, MODULES, SEVERITIES, STATUSES, SYSTEM_EVENT_TYPES } from '../../../src/vocabulary.ts';

// The lists themselves are the server's (src/vocabulary.ts): the console never copies them.
export { ACTIONS, MODULES, SEVERITIES, STATUSES, SYSTEM_EVENT_TYPES };

export const ACTION_LABEL: Record<string, string> = {
  skip: 'Delivered', delete_attachment: 'Attachments removed', reject: 'Rejected', delete: 'Deleted',
};
export const ACTION_COLOR: Record<string, string> = {
  skip: '#2563eb', delete_attachment: '#d97706', reject: '#dc2626', delete: '#475569',
};

export const MODULE_LABEL: Record<string, string> = {
  antivirus: 'Anti-virus', links: 'Links', antispam: 'Anti-spam', antiphishing: 'Anti-phishing', content: 'Content filtering', auth: 'Sender authentication', sandbox: 'Sandbox',
};

export const STATUS_LABEL: Record<string, string> = {
  clean: 'Clean', infected: 'Infected', probably_infected: 'Probably infected', riskware: 'Riskware', encrypted: 'Encrypted', macro: 'Macro',
  error: 'Error', not_scanned: 'Not scanned', malicious: 'Malicious', adware: 'Adware', spam: 'Spam', probable_spam: 'Probable spam',
  mass_mail: 'Mass mail', denylisted: 'Denylisted', trusted: 'Trusted', phishing: 'Phishing', size_exceeded: 'Size exceeded',
  banned_type: 'Banned type', banned_name: 'Banned name', pass: 'Pass', fail: 'Fail', softfail: 'Soft fail', neutral: 'Neutral', none: 'None',
  temperror: 'Temporary error', permerror: 'Permanent error', violation: 'Violation', detected: 'Detected',
};

const STATUS_COLOR: Record<string, string> = {
  clean: '#16a34a', pass: '#16a34a', trusted: '#0d9488', not_scanned: '#94a3b8', none: '#94a3b8', neutral: '#94a3b8',
  error: '#f59e0b', temperror: '#f59e0b', permerror: '#f97316', encrypted: '#8b5cf6', macro: '#a855f7', mass_mail: '#60a5fa',
  probable_spam: '#fb923c', softfail: '#fb923c',
};
const DETECTION_PALETTE = ['#dc2626', '#b91c1c', '#e11d48', '#be123c', '#9f1239', '#ea580c'];

export function statusColor(status: string, i = 0): string {
  return STATUS_COLOR[status] ?? DETECTION_PALETTE[i % DETECTION_PALETTE.length];
}

export const label = (map: Record<string, string>, k: string) => map[k] ?? k.replace(/_/g, ' ');

/** 1234567 → "1,234,567" in the reader's locale. */
export const fmtCount = (n: number | null | undefined) => (n ?? 0).toLocaleString();

/** Seconds → "5 min", "3 h", "2 days". */
export function fmtAge(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} days`;
}
