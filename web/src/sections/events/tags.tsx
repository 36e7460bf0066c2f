// Coloured tags for the exact SPEC strings (actions, module statuses, severities), always with the word itself.
import { Tag } from 'antd';

const ACTION_COLOR: Record<string, string> = { skip: 'green', delete_attachment: 'orange', reject: 'red', delete: 'volcano' };
const GOOD = new Set(['clean', 'pass', 'trusted', 'none', 'not_scanned']);
const WARN = new Set(['probable_spam', 'mass_mail', 'encrypted', 'macro', 'adware', 'softfail', 'neutral', 'error', 'temperror', 'permerror']);
const SEVERITY_COLOR: Record<string, string> = { info: 'blue', warning: 'gold', error: 'red', critical: 'magenta' };

export function ActionTag({ action }: { action: string }) {
  return <Tag color={ACTION_COLOR[action] ?? 'default'}>{action}</Tag>;
}

export function StatusTag({ status, prefix }: { status: string; prefix?: string }) {
  const color = GOOD.has(status) ? (status === 'not_scanned' ? 'default' : 'green') : WARN.has(status) ? 'gold' : 'red';
  return <Tag color={color}>{prefix ? `${prefix}: ${status}` : status}</Tag>;
}

export function SeverityTag({ severity }: { severity: string }) {
  return <Tag color={SEVERITY_COLOR[severity] ?? 'default'}>{severity}</Tag>;
}

/** Modules whose status is worth a look (not clean / not skipped), for the table's "Detections" column. */
export function notable(modules: Record<string, { status: string }>): [string, string][] {
  return Object.entries(modules).filter(([, m]) => !GOOD.has(m.status)).map(([k, m]) => [k, m.status]);
}
