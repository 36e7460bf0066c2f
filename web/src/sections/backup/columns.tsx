/** The Backup table's columns (admin and personal share them; personal hides the admin-only ones). */
import { Tag, Typography } from 'antd';
import type { DataColumn } from '../../components/DataTable';
import { ThreatTags } from './MessageDetails';
import { fmtSize, fmtTime, type BackupItem } from './format';

const clip = (s: string) => <span className="cell-clip" title={s}>{s}</span>;

export function backupColumns(personal = false): DataColumn<BackupItem>[] {
  return [
    { key: 'time', title: 'Received', dataIndex: 'time', sorter: true, render: (t: number) => <span className="nowrap">{fmtTime(t)}</span> },
    { key: 'sender', title: 'Sender', dataIndex: 'sender', render: (s: string) => clip(s || '<>') },
    { key: 'recipients', title: 'Recipients', dataIndex: 'recipients', render: (r: string[]) => clip(r.join(', ')) },
    { key: 'subject', title: 'Subject', dataIndex: 'subject', render: (s: string) => (s ? clip(s) : <Typography.Text type="secondary">(no subject)</Typography.Text>) },
    { key: 'threats', title: 'Threats', dataIndex: 'threats', render: (_t: string[], item) => <ThreatTags item={item} /> },
    { key: 'reason', title: 'Kept because', dataIndex: 'reason', defaultHidden: personal, render: (s: string) => clip(s) },
    ...(personal ? [] : [
      { key: 'action', title: 'Action', dataIndex: 'action', render: (a: string) => <Tag>{a}</Tag> },
      { key: 'rule', title: 'Rule', dataIndex: 'rule', defaultHidden: true },
      { key: 'clientIp', title: 'Client IP', dataIndex: 'clientIp', defaultHidden: true },
      { key: 'node', title: 'Node', dataIndex: 'node', defaultHidden: true },
      { key: 'queueId', title: 'Queue id', dataIndex: 'queueId', defaultHidden: true },
    ] satisfies DataColumn<BackupItem>[]),
    { key: 'size', title: 'Size', dataIndex: 'size', defaultHidden: true, render: (n: number) => fmtSize(n) },
  ];
}
