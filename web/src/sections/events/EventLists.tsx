/**
 * The three event tables (traffic, system, audit): each a DataTable over GET /api/v1/events/KIND with the
 * filters of the page address, keyset paging (each page asks with the previous page's `nextCursor`), columns the
 * user may show or hide (remembered per table), and a click (or Enter) on a row opening its detail.
 */
import { useNavigate, useSearchParams } from 'react-router-dom';
import { Space, Tag, Typography } from 'antd';
import { PaperClipOutlined } from '@ant-design/icons';
import { api, call, type components, type paths } from '../../api/client';
import { DataTable } from '../../components/DataTable';
import { filtersFromSearch, fmtSize, fmtTime } from './filters';
import { ActionTag, SeverityTag, StatusTag, notable } from './tags';

export type TrafficEvent = components['schemas']['TrafficEvent'];
export type SystemEvent = components['schemas']['SystemEvent'];
export type AuditEvent = components['schemas']['AuditEvent'];

/** A list's query as the API declares it (filter values are strings from the address; the API validates them). */
type Query<K extends 'traffic' | 'system' | 'audit'> = NonNullable<paths[`/api/v1/events/${K}`]['get']['parameters']['query']>;

const clip = (s: string, n = 60) => (s.length > n ? s.slice(0, n - 1) + '…' : s);

export function TrafficList() {
  const [search] = useSearchParams();
  const navigate = useNavigate();
  const filters = filtersFromSearch('traffic', search);
  return (
    <DataTable<TrafficEvent> id="events-traffic" caption="Traffic events" rowKey={(r) => String(r.id)} queryKey={['events', 'traffic', filters]}
      onRowClick={(r) => navigate(`/events/traffic/${r.id}`, { state: { back: `/events/traffic?${search}` } })}
      fetch={async ({ limit, cursor }) => {
        const r = await call(api.GET('/api/v1/events/traffic', { params: { query: { ...filters, limit, cursor } as Query<'traffic'> } }));
        return { items: r.items, nextCursor: r.nextCursor };
      }}
      columns={[
        { key: 'time', title: 'Time', dataIndex: 'time', render: (t: number) => fmtTime(t) },
        { key: 'sender', title: 'Sender', dataIndex: 'sender', render: (s: string) => s || <Typography.Text type="secondary">&lt;&gt;</Typography.Text> },
        { key: 'recipients', title: 'Recipients', dataIndex: 'recipients', render: (r: string[]) => clip(r.join(', ')) },
        { key: 'subject', title: 'Subject', dataIndex: 'subject', render: (s: string) => clip(s) },
        { key: 'action', title: 'Action', dataIndex: 'action', render: (a: string) => <ActionTag action={a} /> },
        { key: 'detections', title: 'Detections', render: (_: unknown, r: TrafficEvent) => {
          const n = notable(r.modules);
          return n.length ? <Space size={4} wrap>{n.map(([m, s]) => <StatusTag key={m} prefix={m} status={s} />)}</Space> : <Typography.Text type="secondary">none</Typography.Text>;
        } },
        { key: 'rule', title: 'Rule', dataIndex: 'rule' },
        { key: 'backup', title: 'Backup', dataIndex: 'backup', render: (b: boolean) => (b ? <Tag icon={<PaperClipOutlined />} color="purple">kept</Tag> : null) },
        { key: 'clientIp', title: 'Client IP', dataIndex: 'clientIp', defaultHidden: true },
        { key: 'size', title: 'Size', dataIndex: 'size', defaultHidden: true, render: (n: number) => fmtSize(n) },
        { key: 'queueId', title: 'Queue id', dataIndex: 'queueId', defaultHidden: true },
        { key: 'messageId', title: 'Message-ID', dataIndex: 'messageId', defaultHidden: true, render: (s: string | null) => (s ? clip(s, 40) : '—') },
        { key: 'node', title: 'Node', dataIndex: 'node', defaultHidden: true },
      ]}
    />
  );
}

export function SystemList() {
  const [search] = useSearchParams();
  const navigate = useNavigate();
  const filters = filtersFromSearch('system', search);
  return (
    <DataTable<SystemEvent> id="events-system" caption="System events" rowKey={(r) => String(r.id)} queryKey={['events', 'system', filters]}
      onRowClick={(r) => navigate(`/events/system/${r.id}`, { state: { back: `/events/system?${search}` } })}
      fetch={async ({ limit, cursor }) => {
        const r = await call(api.GET('/api/v1/events/system', { params: { query: { ...filters, limit, cursor } as Query<'system'> } }));
        return { items: r.items, nextCursor: r.nextCursor };
      }}
      columns={[
        { key: 'time', title: 'Time', dataIndex: 'time', render: (t: number) => fmtTime(t) },
        { key: 'severity', title: 'Severity', dataIndex: 'severity', render: (s: string) => <SeverityTag severity={s} /> },
        { key: 'type', title: 'Type', dataIndex: 'type' },
        { key: 'message', title: 'Message', dataIndex: 'message', render: (s: string) => clip(s, 100) },
        { key: 'node', title: 'Node', dataIndex: 'node' },
      ]}
    />
  );
}

export function AuditList() {
  const [search] = useSearchParams();
  const navigate = useNavigate();
  const filters = filtersFromSearch('audit', search);
  return (
    <DataTable<AuditEvent> id="events-audit" caption="Audit trail" rowKey={(r) => String(r.id)} queryKey={['events', 'audit', filters]}
      onRowClick={(r) => navigate(`/events/audit/${r.id}`, { state: { back: `/events/audit?${search}` } })}
      fetch={async ({ limit, cursor }) => {
        const r = await call(api.GET('/api/v1/events/audit', { params: { query: { ...filters, limit, cursor } as Query<'audit'> } }));
        return { items: r.items, nextCursor: r.nextCursor };
      }}
      columns={[
        { key: 'time', title: 'Time', dataIndex: 'time', render: (t: number) => fmtTime(t) },
        { key: 'actor', title: 'Actor', dataIndex: 'actor' },
        { key: 'action', title: 'Action', dataIndex: 'action', render: (a: string) => <Typography.Text code>{a}</Typography.Text> },
        { key: 'target', title: 'Target', dataIndex: 'target', render: (s: string) => clip(s) },
        { key: 'source', title: 'Source', dataIndex: 'source' },
        { key: 'ip', title: 'Source IP', dataIndex: 'ip', render: (s: string | null) => s ?? '—' },
      ]}
    />
  );
}
