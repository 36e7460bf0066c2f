/**
 * Personal mode, "My Backup" (SPEC §5 Personal Backup, §8): the signed-in end user's own Backup items only (the
 * API filters by the account's addresses; other recipients are not even shown), their view in the same
 * sandboxed frame as the admin's, and what `backup.personal` allows: delete their copy, deliver to themselves
 * and download, both only for items without threats. Only the options the administrator left on are offered
 * (GET /api/v1/personal/backup/options); should one be turned off meanwhile, the API's 403 is shown in words where
 * the button was pressed.
 */
import { Link, Route, Routes, useLocation, useNavigate, useParams } from 'react-router-dom';
import { Alert, App, Button, Result, Space, Spin, Tooltip, Typography } from 'antd';
import { ArrowLeftOutlined, DeleteOutlined, DownloadOutlined, SendOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiProblem, call, problemText } from '../../api/client';
import { useSession } from '../../auth/session';
import { useConfirm } from '../../components/confirm';
import { DataTable } from '../../components/DataTable';
import { PageHeader } from '../../shell/PageHeader';
import { BackupFilters, PERSONAL_FILTERS, useUrlFilters } from '../backup/BackupFilters';
import { ItemFields, MessageContent } from '../backup/MessageDetails';
import { backupColumns } from '../backup/columns';
import type { BackupItem } from '../backup/format';
import '../backup/backup.css';

/** What the administrator lets end users do (backup.personal); while unknown, nothing is offered. */
function usePersonalOptions() {
  const q = useQuery({ queryKey: ['personal', 'backup', 'options'], queryFn: () => call(api.GET('/api/v1/personal/backup/options')), staleTime: 60_000 });
  return q.data ?? { preview: false, delete: false, deliverToSelf: false };
}

function MyList() {
  const options = usePersonalOptions();
  const { me } = useSession();
  const navigate = useNavigate();
  const { search } = useLocation();
  const [filters, setFilters] = useUrlFilters(PERSONAL_FILTERS);
  const addresses = me?.addresses ?? [];
  return (
    <>
      <PageHeader title="My Backup" subtitle={addresses.length ? `Messages to ${addresses.join(', ')} that were kept instead of delivered, or delivered cleaned.` : undefined} />
      {!addresses.length && <Alert type="info" showIcon className="form-alert" title="Your account has no mail address, so it has no Backup messages. Ask your administrator to add your address." />}
      <BackupFilters value={filters} onChange={setFilters} personal />
      <DataTable<BackupItem>
        id="my-backup" caption="My Backup messages" rowKey={(r) => r.id} queryKey={['personal', 'backup', 'list', filters]}
        columns={backupColumns(true)}
        bulkActions={!options.delete ? [] : [{
          key: 'delete', label: 'Delete', danger: true, confirm: 'Delete the selected messages from your Backup? This cannot be undone.',
          run: (r) => call(api.DELETE('/api/v1/personal/backup/{id}', { params: { path: { id: r.id } } })),
        }]}
        fetch={async ({ limit, cursor, offset, sortField, sortOrder }) => {
          // The API sorts by the time received (newest first unless asked otherwise).
          const order = sortField === 'time' && sortOrder === 'ascend' ? 'oldest' as const : undefined;
          const r = await call(api.GET('/api/v1/personal/backup', { params: { query: { ...filters, limit, ...(order ? { order } : {}), ...(cursor ? { cursor } : { offset }) } } }));
          return { items: r.items, total: r.total ?? undefined, nextCursor: r.nextCursor };
        }}
        onRowClick={(r) => navigate(`/my/backup/${encodeURIComponent(r.id)}${search}`)}
      />
    </>
  );
}

function MyMessage() {
  const { id = '' } = useParams();
  const { search } = useLocation();
  const { message } = App.useApp();
  const confirm = useConfirm();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const options = usePersonalOptions();
  const back = `/my/backup${search}`;
  const path = { params: { path: { id } } };
  const item = useQuery({ queryKey: ['personal', 'backup', 'item', id], queryFn: () => call(api.GET('/api/v1/personal/backup/{id}', path)), retry: false, refetchOnMount: 'always' });
  const view = useQuery({ queryKey: ['personal', 'backup', 'view', id], queryFn: () => call(api.GET('/api/v1/personal/backup/{id}/view', path)), retry: false, enabled: item.isSuccess && options.preview, refetchOnMount: 'always' });
  const del = useMutation({
    mutationFn: () => call(api.DELETE('/api/v1/personal/backup/{id}', path)),
    onSuccess: async () => { message.success('Deleted from your Backup'); await qc.invalidateQueries({ queryKey: ['personal', 'backup', 'list'] }); navigate(back); },
    onError: (e) => message.error(problemText(e)),
  });
  const deliver = useMutation({
    mutationFn: () => call(api.POST('/api/v1/personal/backup/{id}/deliver', path)),
    onSuccess: (r) => { message.success(`Delivered to ${r.recipients.join(', ')}`); void qc.invalidateQueries({ queryKey: ['personal', 'backup', 'item', id] }); },
    onError: (e) => message.error(problemText(e)),
  });

  if (item.isError) {
    const notFound = item.error instanceof ApiProblem && item.error.status === 404;
    return <Result status={notFound ? '404' : 'error'} title={notFound ? 'No such message in your Backup' : 'The message could not be read'} subTitle={problemText(item.error)}
      extra={<Link to={back}>Back to my Backup</Link>} />;
  }
  if (!item.data) return <div className="page-loading"><Spin size="large" /></div>;
  const it = item.data.item;
  const threat = it.hasThreat;
  const why = 'Messages with a threat can be released only by an administrator.';
  return (
    <>
      <PageHeader title={it.subject || '(no subject)'} subtitle={`From ${it.sender || '<>'}`}
        extra={(
          <Space wrap>
            <Button icon={<ArrowLeftOutlined />} onClick={() => navigate(back)}>Back</Button>
            {options.deliverToSelf && <Tooltip title={threat ? why : undefined}>
              <Button type="primary" icon={<SendOutlined />} disabled={threat} loading={deliver.isPending} onClick={async () => {
                if (await confirm({ title: 'Deliver this message to your mailbox?', content: `It goes to ${it.recipients.join(', ')} as it was received.`, okText: 'Deliver', danger: false })) deliver.mutate();
              }}>Deliver to me</Button>
            </Tooltip>}
            {!threat && options.preview && <Button icon={<DownloadOutlined />} href={`/api/v1/personal/backup/${encodeURIComponent(it.id)}/eml`} download={`${it.id}.eml`}>Download .eml</Button>}
            {options.delete && <Button danger icon={<DeleteOutlined />} loading={del.isPending} onClick={async () => {
              if (await confirm({ title: 'Delete this message from your Backup?', content: 'You cannot get it back afterwards.' })) del.mutate();
            }}>Delete</Button>}
          </Space>
        )} />
      <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
        {threat && <Alert type="warning" showIcon title="This message carries a threat" description={<Typography.Text>{why} You can still see what it was and delete it.</Typography.Text>} />}
        <ItemFields item={it} personal />
        {view.isError && <Alert type="error" showIcon role="alert" title="The message cannot be shown" description={problemText(view.error)} />}
        {!options.preview && <Alert type="info" showIcon title="Your administrator has turned off viewing messages in your Backup." />}
        {view.isPending && !view.isError && options.preview && <Spin />}
        {view.data && !view.isError && <MessageContent view={view.data} history={item.data.history} />}
      </Space>
    </>
  );
}

export default function MyBackupPage() {
  return (
    <Routes>
      <Route index element={<MyList />} />
      <Route path=":id" element={<MyMessage />} />
    </Routes>
  );
}
