/**
 * One queued message (GET /api/v1/queue/ID): envelope, state, attempts, next attempt, last error, and each
 * recipient with its state, attempts and last reply from the next hop; actions retry now, hold / release and
 * delete (asks first) for accounts with queue.edit; a link to its traffic events. Refreshed every 5 seconds. A message that has left the
 * queue (delivered, bounced or deleted) answers 404: said in words, with the way back.
 */
import { Link, useLocation, useNavigate, useParams } from 'react-router-dom';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Descriptions, Result, Space, Spin, Table, Tag, Typography } from 'antd';
import { ArrowLeftOutlined, DeleteOutlined, PauseOutlined, PlayCircleOutlined, RedoOutlined, SearchOutlined } from '@ant-design/icons';
import { api, ApiProblem, call, problemText, type components } from '../../api/client';
import { useSession } from '../../auth/session';
import { useConfirm } from '../../components/confirm';
import { fmtSize, fmtTime } from '../events/filters';
import { queueAction, VERB_TEXT, type QueueVerb } from './actions';
import { StateTag } from './QueueList';

type Recipient = components['schemas']['QueuedRecipient'];
const RCPT_COLOR: Record<Recipient['state'], string> = { pending: 'gold', delivered: 'green', failed: 'red' };

export function QueueDetail() {
  const id = (useParams().id ?? '').toUpperCase();
  const navigate = useNavigate();
  const back = (useLocation().state as { back?: string } | null)?.back ?? '/queue';
  const { can } = useSession();
  const { message } = App.useApp();
  const confirm = useConfirm();
  const qc = useQueryClient();
  const q = useQuery({ queryKey: ['queue', 'one', id], queryFn: () => call(api.GET('/api/v1/queue/{id}', { params: { path: { id } } })), retry: false, refetchInterval: 5_000 });
  const act = useMutation({
    mutationFn: (verb: QueueVerb) => queueAction(verb, id),
    onSuccess: async (_r, verb) => {
      message.success(VERB_TEXT[verb].done);
      if (verb === 'delete') { await qc.invalidateQueries({ queryKey: ['queue'] }); navigate(back); return; }
      await qc.invalidateQueries({ queryKey: ['queue'] });
    },
    onError: (err) => { message.error(problemText(err)); },
  });

  const del = async () => {
    if (await confirm({ title: `Delete message ${id} from the queue?`, content: 'It will not be delivered to any pending recipient, and no bounce is sent to the sender.', okText: 'Delete' })) act.mutate('delete');
  };

  const backButton = <Button icon={<ArrowLeftOutlined />} onClick={() => navigate(back)}>Back to the queue</Button>;
  if (q.isPending) return <Space orientation="vertical">{backButton}<div className="page-loading"><Spin /></div></Space>;
  if (q.error) {
    const gone = q.error instanceof ApiProblem && q.error.status === 404;
    return (
      <Space orientation="vertical" style={{ width: '100%' }}>
        {backButton}
        {gone
          ? <Result status="info" title={`Message ${id} is not in the queue`} subTitle="It was delivered, bounced or deleted. Its traffic events tell what happened."
              extra={can('events.view') && <Link to={`/events/traffic?queueId=${encodeURIComponent(id)}`}><Button icon={<SearchOutlined />}>Traffic events</Button></Link>} />
          : <Alert type="error" showIcon title={problemText(q.error)} />}
      </Space>
    );
  }
  const m = q.data;
  const edit = can('queue.edit');
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      {backButton}
      <Card title={<span>Queued message <Typography.Text code>{m.id}</Typography.Text></span>}
        extra={<Space wrap>
          {edit && m.state !== 'held' && <Button icon={<RedoOutlined />} loading={act.isPending && act.variables === 'retry'} onClick={() => act.mutate('retry')}>Retry now</Button>}
          {edit && m.state !== 'held' && <Button icon={<PauseOutlined />} loading={act.isPending && act.variables === 'hold'} onClick={() => act.mutate('hold')}>Hold</Button>}
          {edit && m.state === 'held' && <Button icon={<PlayCircleOutlined />} loading={act.isPending && act.variables === 'release'} onClick={() => act.mutate('release')}>Release</Button>}
          {edit && <Button danger icon={<DeleteOutlined />} loading={act.isPending && act.variables === 'delete'} onClick={() => void del()}>Delete</Button>}
          {can('events.view') && <Link to={`/events/traffic?queueId=${encodeURIComponent(m.id)}`}><Button icon={<SearchOutlined />}>Traffic events</Button></Link>}
        </Space>}>
        <Descriptions bordered size="small" column={{ xs: 1, md: 2 }} items={[
          { key: 'state', label: 'State', children: <StateTag m={m} /> },
          { key: 'node', label: 'Node', children: m.node },
          { key: 'sender', label: 'Sender', children: m.sender || '<> (bounce)' },
          { key: 'size', label: 'Size', children: fmtSize(m.size) },
          { key: 'received', label: 'Received', children: fmtTime(m.receivedAt) },
          { key: 'expires', label: 'Expires', children: fmtTime(m.expiresAt) },
          { key: 'attempts', label: 'Attempts', children: m.attempts },
          { key: 'next', label: 'Next attempt', children: m.state === 'held' ? 'on hold' : fmtTime(m.nextAttemptAt) },
          { key: 'lastError', label: 'Last error', span: 'filled', children: m.lastError ? <Typography.Text type="danger">{m.lastError}</Typography.Text> : '—' },
          { key: 'client', label: 'Client', children: `${m.clientIp}${m.helo ? ` (${m.helo})` : ''}` },
          { key: 'messageId', label: 'Message-ID', children: m.messageId ?? '—' },
        ]} />
      </Card>
      <Card title="Recipients">
        <Table<Recipient> size="small" rowKey="idx" dataSource={m.recipients} pagination={m.recipients.length > 50 ? { pageSize: 50 } : false}
          scroll={{ x: 'max-content' }} aria-label="Recipients"
          columns={[
            { key: 'address', title: 'Recipient', dataIndex: 'address' },
            { key: 'state', title: 'State', dataIndex: 'state', render: (s: Recipient['state']) => <Tag color={RCPT_COLOR[s]}>{s}</Tag> },
            { key: 'attempts', title: 'Attempts', dataIndex: 'attempts' },
            { key: 'lastResponse', title: 'Last response', dataIndex: 'lastResponse', render: (r: string | null) => r ?? '—' },
          ]} />
      </Card>
    </Space>
  );
}
