/**
 * One Backup item for an administrator: the index fields, the message (sandboxed HTML, text, headers,
 * attachments) and its history, with the actions the account's role allows: deliver (original or other
 * recipients), download .eml, delete (asked first). Opening it records "viewed" in the history (the API does).
 */
import { useState } from 'react';
import { Link, useLocation, useNavigate, useParams } from 'react-router-dom';
import { Alert, App, Button, Result, Space, Spin } from 'antd';
import { ArrowLeftOutlined, DeleteOutlined, DownloadOutlined, SendOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiProblem, call, problemText } from '../../api/client';
import { useSession } from '../../auth/session';
import { useConfirm } from '../../components/confirm';
import { PageHeader } from '../../shell/PageHeader';
import { DeliverDialog } from './DeliverDialog';
import { ItemFields, MessageContent } from './MessageDetails';

export function BackupMessage() {
  const { id = '' } = useParams();
  const { can } = useSession();
  const { message } = App.useApp();
  const confirm = useConfirm();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [deliverOpen, setDeliverOpen] = useState(false);
  const { search } = useLocation();
  const back = `/backup${search}`;
  const path = { params: { path: { id } } };
  const item = useQuery({ queryKey: ['backup', 'item', id], queryFn: () => call(api.GET('/api/v1/backup/{id}', path)), retry: false, refetchOnMount: 'always' });
  const view = useQuery({ queryKey: ['backup', 'view', id], queryFn: () => call(api.GET('/api/v1/backup/{id}/view', path)), retry: false, enabled: item.isSuccess, refetchOnMount: 'always' });
  const del = useMutation({
    mutationFn: () => call(api.DELETE('/api/v1/backup/{id}', path)),
    onSuccess: async () => { message.success('Deleted from the Backup'); await qc.invalidateQueries({ queryKey: ['backup', 'list'] }); navigate(back); },
    onError: (e) => message.error(problemText(e)),
  });

  if (item.isError) {
    const notFound = item.error instanceof ApiProblem && item.error.status === 404;
    return <Result status={notFound ? '404' : 'error'} title={notFound ? 'No such Backup message' : 'The message could not be read'} subTitle={problemText(item.error)}
      extra={<Link to={back}>Back to the Backup</Link>} />;
  }
  if (!item.data) return <div className="page-loading"><Spin size="large" /></div>;
  const it = item.data.item;

  return (
    <>
      <PageHeader title={it.subject || '(no subject)'} subtitle={`From ${it.sender || '<>'}`}
        extra={(
          <Space wrap>
            <Button icon={<ArrowLeftOutlined />} onClick={() => navigate(back)}>Back</Button>
            {can('backup.deliver') && <Button type="primary" icon={<SendOutlined />} onClick={() => setDeliverOpen(true)}>Deliver…</Button>}
            {can('backup.download') && <Button icon={<DownloadOutlined />} href={`/api/v1/backup/${encodeURIComponent(it.id)}/eml`} download={`${it.id}.eml`}>Download .eml</Button>}
            {can('backup.delete') && <Button danger icon={<DeleteOutlined />} loading={del.isPending} onClick={async () => {
              if (await confirm({ title: 'Delete this message from the Backup?', content: 'It cannot be delivered or downloaded afterwards.' })) del.mutate();
            }}>Delete</Button>}
          </Space>
        )} />
      <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
        <ItemFields item={it} />
        {view.isError && <Alert type="error" showIcon role="alert" title="The message could not be shown" description={problemText(view.error)} />}
        {view.isPending && !view.isError && <Spin />}
        {view.data && !view.isError && <MessageContent view={view.data} history={item.data.history} />}
      </Space>
      {can('backup.deliver') && (
        <DeliverDialog item={it} open={deliverOpen} onClose={() => setDeliverOpen(false)} onDelivered={(to) => {
          setDeliverOpen(false);
          message.success(`Delivered to ${to.join(', ')}`);
          void qc.invalidateQueries({ queryKey: ['backup', 'item', id] });
        }} />
      )}
    </>
  );
}
