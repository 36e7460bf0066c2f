/**
 * Small formatting helpers of the Backup views (times from the API are ms since the epoch; shown in local time).
 * Input: API data (hostile strings are only ever rendered as text by React).
 */
import type { components } from '../../api/client';

export type BackupItem = components['schemas']['BackupItem'];
export type BackupView = components['schemas']['BackupView'];
export type BackupHistoryEntry = components['schemas']['BackupHistoryEntry'];

export const fmtTime = (t: number): string => new Date(t).toLocaleString();

export function fmtSize(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** The modules and statuses of SPEC §3 (the filter's choices; the API accepts any status string). */
export const MODULE_STATUSES: Record<string, readonly string[]> = {
  antivirus: ['infected', 'probably_infected', 'riskware', 'encrypted', 'macro', 'error', 'not_scanned', 'clean'],
  links: ['malicious', 'adware', 'riskware', 'error', 'not_scanned', 'clean'],
  antispam: ['spam', 'probable_spam', 'mass_mail', 'denylisted', 'trusted', 'error', 'not_scanned', 'clean'],
  antiphishing: ['phishing', 'error', 'not_scanned', 'clean'],
  content: ['size_exceeded', 'banned_type', 'banned_name', 'error', 'not_scanned', 'clean'],
  auth: ['fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'pass', 'error', 'not_scanned'],
};

export const ACTIONS = ['skip', 'delete_attachment', 'reject', 'delete'] as const;

