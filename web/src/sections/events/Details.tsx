/**
 * The detail of one event (GET /api/v1/events/KIND/ID):
 * - traffic: the message's envelope and ids, and every module's status, reason, detections and details; links to
 *   its Backup item (when it was kept: found by its queue id) and to its queue entry (the copy queued for delivery), and to the other
 *   events of the same message;
 * - system: type, severity, message and details;
 * - audit: who, from where, what, and the before/after as a readable table of changed paths (diff.ts).
 * Everything from the API is text rendered by React (escaped); nothing is rendered as HTML.
 */
import { Link, useLocation, useNavigate, useParams } from 'react-router-dom';
import { useQuery } from '@tanstack/react-query';
import { Alert, Button, Card, Descriptions, Empty, Space, Spin, Table, Tag, Typography } from 'antd';
import { ArrowLeftOutlined, InboxOutlined, MailOutlined, SearchOutlined } from '@ant-design/icons';
import { api, call, problemText } from '../../api/client';
import { useSession } from '../../auth/session';
import { fmtSize, fmtTime, type EventKind } from './filters';
import { ActionTag, SeverityTag, StatusTag } from './tags';
import { diff, flatten, type DiffRow } from './diff';
import type { AuditEvent, SystemEvent, TrafficEvent } from './EventLists';

function BackButton({ kind }: { kind: EventKind }) {
  const navigate = useNavigate();
  const back = (useLocation().state as { back?: string } | null)?.back ?? `/events/${kind}`;
  return <Button icon={<ArrowLeftOutlined />} onClick={() => navigate(back)}>Back to the list</Button>;
}

function useEvent<T>(kind: EventKind, id: number) {
  return useQuery({
    queryKey: ['events', kind, 'one', id], enabled: Number.isSafeInteger(id) && id > 0,
    queryFn: async () => {
      if (kind === 'traffic') return await call(api.GET('/api/v1/events/traffic/{id}', { params: { path: { id } } })) as T;
      if (kind === 'system') return await call(api.GET('/api/v1/events/system/{id}', { params: { path: { id } } })) as T;
      return await call(api.GET('/api/v1/events/audit/{id}', { params: { path: { id } } })) as T;
    },
  });
}

function Frame({ kind, q, children }: { kind: EventKind; q: { isPending: boolean; error: unknown }; children: () => React.ReactNode }) {
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <BackButton kind={kind} />
      {q.error ? <Alert type="error" showIcon title={problemText(q.error)} />
        : q.isPending ? <div className="page-loading"><Spin /></div> : children()}
    </Space>
  );
}

/** `key: value` lines of a details object (numbers, strings, lists), as text. */
function DetailsList({ details }: { details: Record<string, unknown> | null | undefined }) {
  if (!details || Object.keys(details).length === 0) return <Typography.Text type="secondary">—</Typography.Text>;
  const rows = [...flatten(details).entries()].slice(0, 200);
  return (
    <dl className="kv-list">
      {rows.map(([k, v]) => (
        <div key={k} className="kv-row"><dt>{k}</dt><dd>{v.startsWith('"') ? v.slice(1, -1) : v}</dd></div>
      ))}
    </dl>
  );
}

/**
 * The Backup item of a traffic event kept in Backup: found by the queue id the message was received under
 * (GET /api/v1/backup?queueId=…), linked by its item id. Said in words when it is no longer there (deleted or
 * evicted by the size cap or age).
 */
function BackupLink({ queueId }: { queueId: string }) {
  const q = useQuery({
    queryKey: ['backup', 'by-queue-id', queueId],
    queryFn: () => call(api.GET('/api/v1/backup', { params: { query: { queueId, limit: 1, count: 'false' } } })),
  });
  const item = q.data?.items[0];
  if (q.isPending) return <Button icon={<InboxOutlined />} loading>Open in Backup</Button>;
  if (!item) return <Tag>{q.error ? problemText(q.error) : 'no longer in Backup'}</Tag>;
  return <Link to={`/backup/${encodeURIComponent(item.id)}`}><Button icon={<InboxOutlined />}>Open in Backup</Button></Link>;
}

export function TrafficDetail() {
  const id = Number(useParams().id);
  const q = useEvent<TrafficEvent>('traffic', id);
  const { can } = useSession();
  return (
    <Frame kind="traffic" q={q}>{() => {
      const e = q.data!;
      const queueEntry = e.deliveredAs;
      const modules = Object.entries(e.modules);
      return (
        <>
          <Card title={<span>Message <Typography.Text code>{e.queueId}</Typography.Text></span>}
            extra={<Space wrap>
              {e.backup && can('backup.view') && <BackupLink queueId={e.queueId} />}
              {queueEntry && can('queue.view') && (
                <Link to={`/queue/${encodeURIComponent(queueEntry)}`}><Button icon={<MailOutlined />}>Queue entry</Button></Link>
              )}
              <Link to={`/events/traffic?queueId=${encodeURIComponent(e.queueId)}`}><Button icon={<SearchOutlined />}>All events of this message</Button></Link>
            </Space>}>
            <Descriptions bordered size="small" column={{ xs: 1, md: 2 }} items={[
              { key: 'time', label: 'Time', children: fmtTime(e.time) },
              { key: 'node', label: 'Node', children: e.node },
              { key: 'sender', label: 'Sender', children: e.sender || '<>' },
              { key: 'recipients', label: 'Recipients', children: e.recipients.join(', ') },
              { key: 'subject', label: 'Subject', children: e.subject || '—', span: 'filled' },
              { key: 'action', label: 'Action', children: <ActionTag action={e.action} /> },
              { key: 'rule', label: 'Rule', children: e.rule },
              { key: 'backup', label: 'Backup', children: e.backup ? <Tag color="purple">kept in Backup</Tag> : 'not kept' },
              { key: 'size', label: 'Size', children: fmtSize(e.size) },
              { key: 'clientIp', label: 'Client IP', children: e.clientIp },
              { key: 'helo', label: 'HELO', children: e.helo || '—' },
              { key: 'queueId', label: 'Queue id (received)', children: e.queueId },
              { key: 'deliveredAs', label: 'Queued for delivery as', children: e.deliveredAs ?? 'not queued (no delivery)' },
              { key: 'messageId', label: 'Message-ID', children: e.messageId ?? '—', span: 'filled' },
            ]} />
          </Card>
          <Card title="Scan modules">
            <Table size="small" pagination={false} rowKey={(r) => r[0]} dataSource={modules} scroll={{ x: 'max-content' }} aria-label="Scan modules"
              locale={{ emptyText: <Empty description="No module ran (the rule did not scan)" /> }}
              columns={[
                { key: 'module', title: 'Module', render: (_, [m]) => <Typography.Text strong>{m}</Typography.Text> },
                { key: 'status', title: 'Status', render: (_, [, s]) => <StatusTag status={s.status} /> },
                { key: 'reason', title: 'Reason', render: (_, [, s]) => s.reason ?? '—' },
                { key: 'detections', title: 'Detections', render: (_, [, s]) => (s.detections?.length
                  ? <ul className="plain-list">{s.detections.map((d, i) => <li key={i}><Typography.Text strong>{d.name}</Typography.Text> ({d.status}{d.part ? `, in ${d.part}` : ''})</li>)}</ul>
                  : '—') },
                { key: 'details', title: 'Details', render: (_, [, s]) => <DetailsList details={s.details} /> },
              ]} />
          </Card>
        </>
      );
    }}</Frame>
  );
}

export function SystemDetail() {
  const id = Number(useParams().id);
  const q = useEvent<SystemEvent>('system', id);
  return (
    <Frame kind="system" q={q}>{() => {
      const e = q.data!;
      return (
        <Card title={<span>System event: {e.type}</span>}>
          <Descriptions bordered size="small" column={1} items={[
            { key: 'time', label: 'Time', children: fmtTime(e.time) },
            { key: 'severity', label: 'Severity', children: <SeverityTag severity={e.severity} /> },
            { key: 'type', label: 'Type', children: e.type },
            { key: 'node', label: 'Node', children: e.node },
            { key: 'message', label: 'Message', children: e.message },
            { key: 'details', label: 'Details', children: <DetailsList details={e.details} /> },
          ]} />
        </Card>
      );
    }}</Frame>
  );
}

const CHANGE_COLOR: Record<DiffRow['change'], string> = { added: 'green', removed: 'red', changed: 'gold', same: 'default' };

export function AuditDetail() {
  const id = Number(useParams().id);
  const q = useEvent<AuditEvent>('audit', id);
  return (
    <Frame kind="audit" q={q}>{() => {
      const e = q.data!;
      const rows = diff(e.before, e.after);
      return (
        <>
          <Card title={<span>Audit entry: <Typography.Text code>{e.action}</Typography.Text></span>}>
            <Descriptions bordered size="small" column={{ xs: 1, md: 2 }} items={[
              { key: 'time', label: 'Time', children: fmtTime(e.time) },
              { key: 'actor', label: 'Actor', children: e.actor },
              { key: 'action', label: 'Action', children: e.action },
              { key: 'target', label: 'Target', children: e.target },
              { key: 'source', label: 'Source', children: e.source },
              { key: 'ip', label: 'Source IP', children: e.ip ?? '—' },
            ]} />
          </Card>
          <Card title="Before and after">
            <Table<DiffRow> size="small" rowKey="path" dataSource={rows} pagination={rows.length > 50 ? { pageSize: 50 } : false} scroll={{ x: 'max-content' }}
              aria-label="Before and after" locale={{ emptyText: <Empty description="Nothing recorded before or after" /> }}
              columns={[
                { key: 'path', title: 'Field', dataIndex: 'path', render: (p: string) => <Typography.Text code>{p}</Typography.Text> },
                { key: 'change', title: 'Change', dataIndex: 'change', render: (c: DiffRow['change']) => <Tag color={CHANGE_COLOR[c]}>{c === 'same' ? 'unchanged' : c}</Tag> },
                { key: 'before', title: 'Before', dataIndex: 'before', render: (v: string | undefined, r: DiffRow) => (v === undefined ? '—' : <span className={r.change === 'same' ? undefined : 'diff-before'}>{v}</span>) },
                { key: 'after', title: 'After', dataIndex: 'after', render: (v: string | undefined, r: DiffRow) => (v === undefined ? '—' : <span className={r.change === 'same' ? undefined : 'diff-after'}>{v}</span>) },
              ]} />
          </Card>
        </>
      );
    }}</Frame>
  );
}
