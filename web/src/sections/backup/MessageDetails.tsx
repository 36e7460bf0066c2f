/**
 * The body of one Backup message, for the admin view and the personal view alike: the index fields, the scan
 * results, then tabs with the message (sanitised HTML in the sandboxed frame, or the plain text), the headers,
 * the attachments, and the item's history. Every string comes from a hostile message: React renders it as
 * text; only the `html` field is shown as HTML, inside SafeHtmlFrame.
 */
import { Alert, Card, Descriptions, Empty, Space, Table, Tabs, Tag, Typography } from 'antd';
import { SafeHtmlFrame } from './SafeHtmlFrame';
import { fmtSize, fmtTime, type BackupHistoryEntry, type BackupItem, type BackupView } from './format';

export function ThreatTags({ item }: { item: BackupItem }) {
  if (!item.threats.length) return <Tag color="green">No threat</Tag>;
  return <Space size={4} wrap>{item.threats.map((t) => <Tag color="red" key={t}>{t}</Tag>)}</Space>;
}

/** Red for what made the item be kept, green for a clean result, plain for the rest (not scanned, none …). */
function statusColor(item: BackupItem, module: string, status: string): string | undefined {
  if (item.reason.split(/[,\s]+/).includes(`${module}:${status}`)) return 'red';
  if (status === 'clean' || status === 'pass') return 'green';
  return status === 'not_scanned' || status === 'none' ? undefined : 'orange';
}

export function ItemFields({ item, personal }: { item: BackupItem; personal?: boolean }) {
  const modules = Object.entries(item.modules);
  return (
    <Descriptions size="small" bordered column={{ xs: 1, sm: 1, md: 2 }} className="item-fields" styles={{ label: { whiteSpace: 'nowrap', width: 1 } }}
      items={[
        { key: 'time', label: 'Received', children: fmtTime(item.time) },
        { key: 'sender', label: 'Sender', children: item.sender || '<>' },
        { key: 'recipients', label: 'Recipients', children: item.recipients.join(', ') },
        { key: 'subject', label: 'Subject', children: item.subject || '(no subject)' },
        { key: 'threats', label: 'Threats', children: <ThreatTags item={item} /> },
        { key: 'reason', label: 'Kept because', children: item.reason || '—' },
        ...(personal ? [] : [
          { key: 'rule', label: 'Rule', children: item.rule },
          { key: 'action', label: 'Action', children: <Tag>{item.action}</Tag> },
          { key: 'client', label: 'Client', children: `${item.clientIp} (${item.helo})` },
          { key: 'node', label: 'Node', children: item.node },
          { key: 'queue', label: 'Queue id', children: item.deliveredAs ? `${item.queueId} (delivered as ${item.deliveredAs})` : item.queueId },
          { key: 'mid', label: 'Message-ID', children: item.messageId ?? '—' },
        ]),
        { key: 'size', label: 'Size', children: fmtSize(item.size) },
        { key: 'modules', label: 'Scan results', span: 'filled' as const, children: modules.length
          ? <Space size={4} wrap>{modules.map(([m, s]) => <Tag key={m} color={statusColor(item, m, s.status)}>{m}: {s.status}{s.reason ? ` (${s.reason})` : ''}</Tag>)}</Space>
          : '—' },
      ]} />
  );
}

function History({ history }: { history: BackupHistoryEntry[] }) {
  return (
    <Table<BackupHistoryEntry> size="small" rowKey={(h) => `${h.time}-${h.action}-${h.actor}`} pagination={false} dataSource={history}
      aria-label="History" scroll={{ x: 'max-content' }}
      columns={[
        { key: 'time', title: 'When', dataIndex: 'time', render: (t: number) => <span className="nowrap">{fmtTime(t)}</span> },
        { key: 'action', title: 'What', dataIndex: 'action', render: (a: string) => <Tag>{a}</Tag> },
        { key: 'actor', title: 'Who', dataIndex: 'actor' },
        { key: 'details', title: 'Details', dataIndex: 'details', render: (d: Record<string, unknown>) => Object.keys(d).length ? <Typography.Text code className="cell-clip" title={JSON.stringify(d)}>{JSON.stringify(d)}</Typography.Text> : '' },
      ]} />
  );
}

export function MessageContent({ view, history }: { view: BackupView; history?: BackupHistoryEntry[] }) {
  const title = `Message: ${view.item.subject || '(no subject)'}`;
  return (
    <Card size="small">
      {view.truncated && <Alert type="warning" showIcon className="form-alert" title={`Only the first ${fmtSize(view.parsedBytes)} of the message were read for this view; download it for the rest.`} />}
      {view.remoteContentBlocked > 0 && <Alert type="info" showIcon className="form-alert" title={`${view.remoteContentBlocked} remote image${view.remoteContentBlocked === 1 ? '' : 's'} or link${view.remoteContentBlocked === 1 ? '' : 's'} blocked: nothing is loaded from the Internet.`} />}
      <Tabs
        defaultActiveKey={view.html ? 'html' : 'text'}
        items={[
          ...(view.html !== null ? [{ key: 'html', label: 'Message', children: <SafeHtmlFrame html={view.html} title={title} /> }] : []),
          { key: 'text', label: 'Plain text', children: view.text !== null ? <pre className="message-text" data-testid="message-text">{view.text}</pre> : <Empty description="No plain-text part" /> },
          { key: 'headers', label: `Headers (${view.headers.length})`, children: (
            <div className="message-headers">
              <Table size="small" pagination={false} aria-label="Headers" rowKey={(_h, i) => String(i)} dataSource={view.headers.map((h, i) => ({ ...h, i }))}
                columns={[{ key: 'name', title: 'Name', dataIndex: 'name', width: 200, render: (n: string) => <strong>{n}</strong> }, { key: 'value', title: 'Value', dataIndex: 'value' }]} />
            </div>
          ) },
          { key: 'attachments', label: `Attachments (${view.attachments.length})`, children: (
            <Table size="small" pagination={false} aria-label="Attachments" rowKey={(a) => `${a.filename}-${a.contentId}-${a.size}-${a.mimeType}`} dataSource={view.attachments}
              locale={{ emptyText: 'No attachments' }}
              columns={[
                { key: 'filename', title: 'File name', dataIndex: 'filename', render: (f: string | null) => f ?? '(no name)' },
                { key: 'type', title: 'Type', dataIndex: 'mimeType' },
                { key: 'size', title: 'Size', dataIndex: 'size', render: (s: number) => fmtSize(s) },
                { key: 'inline', title: 'Inline', dataIndex: 'inline', render: (v: boolean) => (v ? 'yes' : 'no') },
              ]} />
          ) },
          ...(history ? [{ key: 'history', label: 'History', children: <History history={history} /> }] : []),
        ]}
      />
    </Card>
  );
}
