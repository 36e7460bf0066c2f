/**
 * The message queue list: summary and pause state on top, filters (state, sender, recipient, node; kept in the
 * page address), the table of queued messages (GET /api/v1/queue, oldest first, offset paging, remembered
 * columns and page size) and bulk actions on the selected messages (retry, hold, release, delete; delete asks
 * first; all show progress). Only accounts with queue.edit get the selection and the actions.
 */
import { useNavigate, useSearchParams } from 'react-router-dom';
import { Space, Tag, Typography } from 'antd';
import { api, call, type components, type paths } from '../../api/client';
import { useSession } from '../../auth/session';
import { DataTable, type BulkAction } from '../../components/DataTable';
import { FilterBar } from '../events/FilterBar';
import { fmtSize, fmtTime, pickFilters, type FilterField } from '../events/filters';
import { QueueSummary } from './QueueSummary';
import { queueAction } from './actions';

export type QueuedMessage = components['schemas']['QueuedMessage'];
/** The list's query as the API declares it (the filter values are strings from the address; the API validates them). */
type ListQuery = NonNullable<paths['/api/v1/queue']['get']['parameters']['query']>;

export const QUEUE_FILTERS: FilterField[] = [
  { name: 'state', label: 'State', kind: 'select', options: ['queued', 'held'] },
  { name: 'sender', label: 'Sender', kind: 'text', placeholder: 'contains' },
  { name: 'recipient', label: 'Recipient', kind: 'text', placeholder: 'contains' },
  { name: 'node', label: 'Node', kind: 'text' },
];

export function StateTag({ m }: { m: Pick<QueuedMessage, 'state' | 'attempts' | 'isBounce'> }) {
  return (
    <Space size={4}>
      {m.state === 'held' ? <Tag color="orange">held</Tag> : m.attempts > 0 ? <Tag color="gold">deferred</Tag> : <Tag color="blue">queued</Tag>}
      {m.isBounce && <Tag>bounce</Tag>}
    </Space>
  );
}

const bulk = (verb: 'retry' | 'hold' | 'release' | 'delete', label: string, confirm?: string): BulkAction<QueuedMessage> => ({
  key: verb, label, confirm, danger: verb === 'delete', run: (m) => queueAction(verb, m.id),
});

export function QueueList() {
  const [search] = useSearchParams();
  const navigate = useNavigate();
  const { can } = useSession();
  const filters = pickFilters(QUEUE_FILTERS, search);
  const edit = can('queue.edit');
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <QueueSummary />
      <div>
        <FilterBar fields={QUEUE_FILTERS} name="the queue" />
        <DataTable<QueuedMessage> id="queue" caption="Queued messages" rowKey={(m) => m.id} queryKey={['queue', 'list', filters]}
          onRowClick={(m) => navigate(`/queue/${m.id}`, { state: { back: `/queue?${search}` } })}
          fetch={async ({ limit, offset }) => {
            const r = await call(api.GET('/api/v1/queue', { params: { query: { ...filters, limit, offset } as ListQuery } }));
            return { items: r.items, hasMore: r.items.length === limit };
          }}
          bulkActions={edit ? [
            bulk('retry', 'Retry now'),
            bulk('hold', 'Hold'),
            bulk('release', 'Release'),
            bulk('delete', 'Delete', 'Delete the selected messages from the queue? They are not delivered and no bounce is sent.'),
          ] : undefined}
          columns={[
            { key: 'id', title: 'Queue id', dataIndex: 'id', render: (id: string) => <Typography.Text code>{id}</Typography.Text> },
            { key: 'state', title: 'State', render: (_: unknown, m: QueuedMessage) => <StateTag m={m} /> },
            { key: 'receivedAt', title: 'Received', dataIndex: 'receivedAt', render: (t: number) => fmtTime(t) },
            { key: 'sender', title: 'Sender', dataIndex: 'sender', render: (s: string) => s || '<>' },
            { key: 'recipients', title: 'Recipients', render: (_: unknown, m: QueuedMessage) => {
              const pending = m.recipients.filter((r) => r.state === 'pending').length;
              const more = m.recipients.length - 1;
              return <span title={`${pending} of ${m.recipients.length} pending`}>{m.recipients[0]?.address ?? '—'}{more > 0 ? <Typography.Text type="secondary">{` +${more}`}</Typography.Text> : null}</span>;
            } },
            { key: 'attempts', title: 'Attempts', dataIndex: 'attempts' },
            { key: 'lastError', title: 'Last error', dataIndex: 'lastError', render: (e: string | null) => (e ? <Typography.Text type="danger">{e.length > 60 ? e.slice(0, 59) + '…' : e}</Typography.Text> : '—') },
            { key: 'nextAttemptAt', title: 'Next attempt', dataIndex: 'nextAttemptAt', render: (t: number, m: QueuedMessage) => (m.state === 'held' ? 'on hold' : fmtTime(t)) },
            { key: 'pending', title: 'Pending recipients', defaultHidden: true, render: (_: unknown, m: QueuedMessage) => m.recipients.filter((r) => r.state === 'pending').length },
            { key: 'size', title: 'Size', dataIndex: 'size', defaultHidden: true, render: (n: number) => fmtSize(n) },
            { key: 'node', title: 'Node', dataIndex: 'node', defaultHidden: true },
            { key: 'expiresAt', title: 'Expires', dataIndex: 'expiresAt', defaultHidden: true, render: (t: number) => fmtTime(t) },
            { key: 'clientIp', title: 'Client IP', dataIndex: 'clientIp', defaultHidden: true },
          ]}
        />
      </div>
    </Space>
  );
}
