/**
 * Personal lists, administrator side (SPEC §4; docs/console.md "Personal lists"): every recipient's allowed and
 * denied senders. Search by owner (and kind, pattern), add several patterns at once (one per line: masks, re:,
 * IPs, CIDRs; a bad line is shown on the field with its line number and nothing is added), delete with
 * confirmation (one, or the selected with progress). For a searched owner the 500-entry limit is shown.
 */
import { useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Form, Input, Progress, Select, Space, Tag, Tooltip, Typography } from 'antd';
import { DeleteOutlined, PlusOutlined, SearchOutlined } from '@ant-design/icons';
import { api, call, problemText, type components } from '../../api/client';
import { useSession } from '../../auth/session';
import { useConfirm } from '../../components/confirm';
import { DataTable } from '../../components/DataTable';
import { PageHeader } from '../../shell/PageHeader';
import { AddEntries, MAX_ENTRIES } from './AddEntries';

type Entry = components['schemas']['ListEntry'];
interface Filters { owner?: string; kind?: 'allow' | 'deny'; pattern?: string }

function OwnerUsage({ owner }: { owner: string }) {
  const q = useQuery({ queryKey: ['lists', 'usage', owner], queryFn: () => call(api.GET('/api/v1/lists', { params: { query: { owner, limit: 1 } } })) });
  if (!q.data) return null;
  const n = q.data.total;
  return (
    <Space aria-label={`${owner} uses ${n} of ${MAX_ENTRIES} entries`} style={{ minWidth: 260 }}>
      <Typography.Text>{owner}: {n} of {MAX_ENTRIES} entries</Typography.Text>
      <Progress percent={Math.round((n / MAX_ENTRIES) * 100)} size="small" style={{ width: 120, margin: 0 }} status={n >= MAX_ENTRIES ? 'exception' : 'normal'} showInfo={false} />
    </Space>
  );
}

export default function ListsPage() {
  const { can } = useSession();
  const edit = can('lists.edit');
  const [filters, setFilters] = useState<Filters>({});
  const [adding, setAdding] = useState(false);
  const [form] = Form.useForm<Filters>();
  const confirm = useConfirm();
  const { message } = App.useApp();

  const removeOne = async (e: Entry, reload: () => void) => {
    if (!(await confirm({ title: `Remove ${e.pattern} from the ${e.kind === 'allow' ? 'allowlist' : 'denylist'} of ${e.owner}?` }))) return;
    try {
      await call(api.DELETE('/api/v1/lists/{id}', { params: { path: { id: e.id } } }));
      message.success(`Removed ${e.pattern}`);
      reload();
    } catch (err) { message.error(problemText(err)); }
  };

  return (
    <>
      <PageHeader title="Personal lists" subtitle={`Each recipient's allowed and denied senders (at most ${MAX_ENTRIES} entries per recipient). Allowed senders skip the anti-spam check; denied ones are marked denylisted.`}
        extra={edit && <Button type="primary" icon={<PlusOutlined />} onClick={() => setAdding(true)}>Add entries</Button>} />
      <Form form={form} name="lists-search" layout="inline" style={{ marginBottom: 12, rowGap: 8 }} aria-label="Search the lists"
        onFinish={(v) => setFilters({ owner: v.owner?.trim() || undefined, kind: v.kind || undefined, pattern: v.pattern?.trim() || undefined })}>
        <Form.Item name="owner" label="Owner" rules={[{ pattern: /^[^\s@]+@[^\s@]+$/, message: 'An address, e.g. alice@example.com' }]}>
          <Input placeholder="alice@example.com" allowClear style={{ width: 240 }} />
        </Form.Item>
        <Form.Item name="kind" label="List">
          <Select allowClear placeholder="both" style={{ width: 130 }} options={[{ value: 'allow', label: 'Allowed' }, { value: 'deny', label: 'Denied' }]} />
        </Form.Item>
        <Form.Item name="pattern" label="Pattern">
          <Input placeholder="exact pattern" allowClear style={{ width: 200 }} />
        </Form.Item>
        <Form.Item><Button htmlType="submit" icon={<SearchOutlined />}>Search</Button></Form.Item>
        {filters.owner && <Form.Item><OwnerUsage owner={filters.owner.toLowerCase()} /></Form.Item>}
      </Form>
      <ListsTable filters={filters} edit={edit} onRemove={removeOne} />
      {adding && <AddEntries initialOwner={filters.owner} onClose={() => setAdding(false)} />}
    </>
  );
}

function ListsTable({ filters, edit, onRemove }: { filters: Filters; edit: boolean; onRemove: (e: Entry, reload: () => void) => Promise<void>}) {
  const qc = useQueryClient();
  const reload = () => void qc.invalidateQueries({ queryKey: ['lists'] });
  return (
    <DataTable<Entry> id="lists" caption="Personal list entries" rowKey={(r) => String(r.id)} queryKey={['lists', 'entries', filters]}
      columns={[
        { key: 'owner', title: 'Owner', dataIndex: 'owner' },
        { key: 'kind', title: 'List', dataIndex: 'kind', render: (k: Entry['kind']) => (k === 'allow' ? <Tag color="green">Allowed</Tag> : <Tag color="red">Denied</Tag>) },
        { key: 'pattern', title: 'Sender pattern', dataIndex: 'pattern', render: (p: string) => <Typography.Text code>{p}</Typography.Text> },
        { key: 'createdAt', title: 'Added', dataIndex: 'createdAt', render: (t: number) => new Date(t).toLocaleString() },
        ...(edit ? [{
          key: 'actions', title: 'Actions',
          render: (_: unknown, e: Entry) => <Tooltip title="Remove"><Button type="text" danger size="small" icon={<DeleteOutlined />} aria-label={`Remove ${e.pattern} for ${e.owner}`} onClick={() => void onRemove(e, reload)} /></Tooltip>,
        }] : []),
      ]}
      fetch={async ({ limit, offset }) => {
        const r = await call(api.GET('/api/v1/lists', { params: { query: { ...filters, limit, offset } } }));
        return { items: r.items, total: r.total };
      }}
      bulkActions={edit ? [{ key: 'delete', label: 'Remove', danger: true, confirm: 'Remove the selected entries from their lists?', run: (e) => call(api.DELETE('/api/v1/lists/{id}', { params: { path: { id: e.id } } })) }] : undefined}
    />
  );
}
