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
